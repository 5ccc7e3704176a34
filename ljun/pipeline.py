"""The reading pipeline: one scanned page in, one :class:`~ljun.records.SheetReading` out.

:func:`read_sheet` chains the pure stages register -> read -> decode and
routes the sheet to review.  It never raises for what is on the page: a page
that cannot be registered gives a reading with ``failure`` set, ``review``
true and the reason as its flag.  :func:`reading_from_failure` does the same
for a page the loader could not read.

The reading keeps, per bubble in geometry order, the mark evidence each
decision was made on (``SheetReading.darkness``, see
:func:`ljun.read.mark_evidence`) and its confidence (1 sure, down to 0 on a
decision boundary); :func:`analyse_sheet` also keeps the registration and
every feature of the kernel.

Flags
-----
The flag words and failure reasons are the closed vocabulary of
:mod:`ljun.vocabulary`, which says what each means; a sheet goes to review
when it carries any flag that is not informational
(:func:`ljun.vocabulary.needs_review`).

"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ._closer_look import closer_evidence
from ._identity_column import identity_column_evidence
from ._lined_answers import lined_answer_evidence
from ._lone_mark import lone_mark_evidence
from ._stroke_end import stroke_end_evidence
from ._track import track_stretched
from .calibration import Calibration
from .decode import barcode_paket, barcode_serial_read, decode_barcode, decode_marks
from .read import BubbleDarkness, measure_darkness, sampling_pattern, scan_kind
from .records import Page, PageFailure, SheetReading
from .register import REFERENCE_DPI, Registration, RegistrationFailure, register
from .template import Template
from .vocabulary import PAKETS, Flag, needs_review

__all__ = [
    "LONE_MARK_LOOKS",
    "SheetAnalysis",
    "read_sheet",
    "analyse_sheet",
    "reading_from_failure",
]


#: The looks that settle unsure bubbles the kernel and the closer look left,
#: in order; each takes the evidence the one before it gave (same
#: arguments: the scan, its registration and sampling pattern, the
#: template, the bubbles' features, the evidence, the read calibration) and
#: returns it with some bubbles settled.  ``ljun._stroke_end`` comes after
#: them all.
LONE_MARK_LOOKS = (lone_mark_evidence, lined_answer_evidence, identity_column_evidence)


@dataclass(frozen=True, eq=False)
class SheetAnalysis:
    """A reading together with the intermediate results behind it.

    For debugging, overlays and benchmarks; ``registration`` and ``bubbles``
    are ``None`` when registration failed.
    """

    reading: SheetReading
    registration: Registration | None
    bubbles: BubbleDarkness | None


def read_sheet(page: Page, template: Template, calibration: Calibration) -> SheetReading:
    """Read one scanned page: register, read every bubble, decode, route to review.

    Parameters
    ----------
    page : Page
        The scan (``page.dpi`` may be ``None``: the scale comes from the fiducials).
    template : Template
    calibration : Calibration

    Returns
    -------
    SheetReading
        Never raises for bad page content; see the module docstring for flags.
    """
    return analyse_sheet(page, template, calibration).reading


def analyse_sheet(
    page: Page,
    template: Template,
    calibration: Calibration,
    *,
    stage_seconds: dict[str, float] | None = None,
) -> SheetAnalysis:
    """:func:`read_sheet`, keeping the registration and bubble darkness.

    ``stage_seconds`` (benchmarks, see :mod:`ljun.bench`), when given, gets
    the CPU seconds of this thread spent in ``register``, ``read`` (the
    bubble kernel) and ``decode`` (marks, barcode, review routing).
    """
    clock = time.thread_time
    pattern = sampling_pattern(template, REFERENCE_DPI)
    geometry = pattern.geometry
    started = clock()
    kind = scan_kind(page.image, bilevel=page.bilevel)
    # The reading kernel's points are sampled in registration's own pass over
    # the page, except on a dithered scan (read blurred, see measure_darkness).
    registration = register(
        page.image,
        template,
        calibration,
        dpi=page.dpi,
        sample_points=None if kind.dithered else pattern.points,
    )
    registered = clock()
    if stage_seconds is not None:
        stage_seconds["register"] = registered - started
    if isinstance(registration, RegistrationFailure):
        reason = registration.reason
        reading = SheetReading(
            source=page.source,
            page=page.page,
            template=template.id,
            flags=(reason,),
            review=True,
            failure=reason,
        )
        return SheetAnalysis(reading=reading, registration=None, bubbles=None)

    bubbles = measure_darkness(page.image, registration, pattern, kind=kind)
    measured = clock()
    closer = closer_evidence(
        page.image, registration, pattern, bubbles, calibration.read, template=template
    )
    evidence = closer
    for look in LONE_MARK_LOOKS:
        evidence = look(
            page.image, registration, pattern, template, bubbles, evidence, calibration.read
        )
    # Last: a letter the looks above settled as a fill is not looked at
    # again, and a stroke's end made unsure stays unsure.
    evidence = stroke_end_evidence(
        page.image,
        registration,
        pattern,
        template,
        bubbles,
        evidence,
        calibration.read,
        kernel_evidence=closer,
    )
    marks = decode_marks(bubbles, geometry, template, calibration, evidence=evidence)
    flags = list(marks.flags)
    if registration.orientation != 0:
        flags.append(Flag.ROTATED)
    reg_cal = calibration.register
    # Rings printed in a dropout colour vanish from a dropout (or channel-read)
    # scan; the printed box lines then vouch for the fit.
    rings = registration.form_match if template.print_color else registration.ring_match
    # A timing track off its places means paper stretched between the corner marks.
    stretched = template.timing_track is not None and track_stretched(
        page.image,
        registration.homography,
        template,
        REFERENCE_DPI,
        paper=registration.paper_level,
        ink=registration.ink_level,
    )
    if (
        registration.residual_mm > reg_cal.residual_review_mm
        or rings < reg_cal.form_match_review
        or stretched
    ):
        flags.append(Flag.REGISTRATION_UNSURE)

    barcode_text = ""
    if template.barcode is not None:
        barcode = decode_barcode(
            page.image, registration, template, geometry, bilevel=bubbles.bilevel
        )
        barcode_text = barcode.text
        if barcode.text:
            named = barcode_paket(barcode.text)
            if named is None:
                flags.append(Flag.INVALID.at("barcode"))
            elif marks.fields.get("paket", "") in PAKETS and named != marks.fields["paket"]:
                flags.append(Flag.BARCODE_PAKET_MISMATCH)
            if not barcode_serial_read(barcode.text):
                flags.append(Flag.BARCODE_SERIAL_UNREAD)
        elif barcode.has_ink:
            flags.append(Flag.UNREADABLE.at("barcode"))
        else:
            flags.append(Flag.NO_BARCODE)

    fields = marks.fields
    reading = SheetReading(
        source=page.source,
        page=page.page,
        template=template.id,
        nomor_peserta=fields.get("nomor_peserta", ""),
        nama=fields.get("nama", ""),
        tanggal_lahir=fields.get("tanggal_lahir", ""),
        kode_kompetensi=fields.get("kode_kompetensi", ""),
        paket=fields.get("paket", ""),
        barcode=barcode_text,
        answers=marks.answers,
        flags=tuple(flags),
        review=needs_review(flags),
        darkness=marks.evidence,
        confidence=marks.confidence,
        failure=None,
    )
    if stage_seconds is not None:
        stage_seconds["read"] = measured - registered
        stage_seconds["decode"] = clock() - measured
    return SheetAnalysis(reading=reading, registration=registration, bubbles=bubbles)


def reading_from_failure(failure: PageFailure, template: Template) -> SheetReading:
    """A reading routed to review for a page the loader could not read."""
    return SheetReading(
        source=failure.source,
        page=failure.page,
        template=template.id,
        flags=(failure.reason,),
        review=True,
        failure=failure.reason,
    )
