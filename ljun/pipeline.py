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
Short machine words, ``word`` or ``word:detail``; a sheet goes to review
when it carries any flag that is not informational.

Failures (no reading at all; ``failure`` is set):

``no_fiducials``            some corner marks found, but not all four where the template has them
``blank_page``              the page has (almost) no ink
``wrong_template``          no corner mark at all on a printed page, or corner
                            marks whose bubble rings and box lines are not where
                            this template has them
``residual_too_high``       the corner marks do not fit one sheet (warped, torn)
loader reasons              ``truncated``, ``too_large``, ``encrypted_pdf`` ...
                            (see :mod:`ljun.load`)

Review (the sheet was read, a person must look):

``answer_unsure:<item>``        a question's decision is near a boundary
                                (faint mark, residue close to the mark, smudge)
``unsure:<field>:<column>``     the same for an identity column (``paket``: column 1)
``multi_mark:<field>:<column>`` two or more marks in an identity column (read ``?``)
``no_paket``                    no paket bubble marked
``blank:nama``                  no letter marked in the name grid
``invalid:nomor_peserta``       not 14 digits, or the check digit fails (if enabled)
``invalid:tanggal_lahir``       not a real date DD-MM-YY
``invalid:kode_kompetensi``     not a code of the guide's Lampiran 2 list
``invalid:barcode``             a barcode was read but it is not ``LJUN-<paket>-<6 digits>``
``barcode_paket_mismatch``      the barcode's paket differs from the bubbled paket
``unreadable:barcode``          the barcode area holds bars that do not decode
``registration_unsure``         the fit is usable but worse than usual: corner-mark
                                residual above its review limit, or the bubble rings
                                not found (the form was recognised by its box lines only)

Informational (kept on the record, no review on their own):

``rotated``                     the sheet was fed upside down (or sideways) and read so
``answer_multi:<item>``         a question clearly has two or more marks (answer ``*``)
``no_barcode``                  the barcode area is empty (a sheet printed without one)

>>> needs_review(("rotated", "answer_multi:3")), needs_review(("answer_unsure:12",))
(False, True)
"""

from __future__ import annotations

from dataclasses import dataclass

from .calibration import Calibration
from .decode import barcode_paket, decode_barcode, decode_marks
from .read import BubbleDarkness, measure_darkness, sampling_pattern
from .records import Page, PageFailure, SheetReading
from .register import REFERENCE_DPI, Registration, register
from .template import Template

__all__ = [
    "INFO_FLAGS",
    "REGISTRATION_FAILURES",
    "SheetAnalysis",
    "read_sheet",
    "analyse_sheet",
    "reading_from_failure",
    "needs_review",
]

#: Flag words (the part before ``:``) that do not send a sheet to review.
INFO_FLAGS: frozenset[str] = frozenset({"rotated", "answer_multi", "no_barcode"})

#: Failure reasons of registration (``SheetReading.failure``).
REGISTRATION_FAILURES: tuple[str, ...] = (
    "no_fiducials",
    "blank_page",
    "wrong_template",
    "residual_too_high",
)


def needs_review(flags: tuple[str, ...] | list[str]) -> bool:
    """True when any flag is not informational (see the module docstring)."""
    return any(flag.split(":", 1)[0] not in INFO_FLAGS for flag in flags)


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


def analyse_sheet(page: Page, template: Template, calibration: Calibration) -> SheetAnalysis:
    """:func:`read_sheet`, keeping the registration and bubble darkness."""
    pattern = sampling_pattern(template, REFERENCE_DPI)
    geometry = pattern.geometry
    registration = register(page.image, template, calibration, dpi=page.dpi)
    if not registration:
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

    bubbles = measure_darkness(page.image, registration, pattern)
    marks = decode_marks(bubbles, geometry, template, calibration)
    flags = list(marks.flags)
    if registration.orientation != 0:
        flags.append("rotated")
    reg_cal = calibration.register
    if (
        registration.residual_mm > reg_cal.residual_review_mm
        or registration.ring_match < reg_cal.form_match_review
    ):
        flags.append("registration_unsure")

    barcode_text = ""
    if template.barcode is not None:
        barcode = decode_barcode(page.image, registration, template, geometry)
        barcode_text = barcode.text
        if barcode.text:
            named = barcode_paket(barcode.text)
            if named is None:
                flags.append("invalid:barcode")
            elif (
                marks.fields.get("paket", "") in ("A", "B", "S") and named != marks.fields["paket"]
            ):
                flags.append("barcode_paket_mismatch")
        elif barcode.has_ink:
            flags.append("unreadable:barcode")
        else:
            flags.append("no_barcode")

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
