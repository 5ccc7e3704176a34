"""Fitting the reading thresholds from scans with known truth (``ljun calibrate``).

A scanner and its paper give the bubbles of a batch their own levels.  From
sheets whose right reading is known (generated ones, or reviewed ones),
:func:`measure_sheet` keeps each sheet's bubble features and which bubbles
are marks, and :func:`fit_bands` chooses, per kind of scan (``gray``,
``bilevel``, ``dithered``), the band edges of the mark evidence that give
**no silent error** on those sheets and, among those, the fewest sheets to
review: every candidate setting is replayed with the item rule of
:func:`ljun.read.decide_items` (fast, but the bubble rules only).

:func:`verify_fit` then checks the chosen setting with what ``ljun score``
does on the same sheets: the whole pipeline (:func:`ljun.pipeline.analyse_sheet`:
closer look, lone marks, identity checks, barcode) and scoring
(:func:`check_readings`), and measures silent errors, sheets to review and
needless reviews; a fitted kind with a silent error the replay did not
predict is tightened, restored, or refused (see :func:`verify_fit`).

Only the three band edges (``blank_sure_max``, ``mark_min``,
``marked_sure_min``) of each kind are fitted; the other thresholds are kept
from the starting calibration.  A kind with too few sheets keeps its bands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .calibration import Bands, Calibration
from .keys import AnswerKeySet
from .pipeline import analyse_sheet
from .read import BubbleDarkness, decide_items, mark_evidence
from .records import Page, SheetReading
from .template import BubbleGeometry, Template

__all__ = [
    "SCAN_KINDS",
    "MIN_SHEETS",
    "SheetSample",
    "BandFit",
    "Replay",
    "scan_kind",
    "truth_marks",
    "measure_sheet",
    "replay",
    "fit_bands",
    "fitted_calibration",
    "calibration_document",
    "CHECKED_FIELDS",
    "SheetCheck",
    "Outcome",
    "KindCheck",
    "Verification",
    "wrong_fields",
    "every_paket_keys",
    "check_readings",
    "tightened",
    "verify_fit",
    "settle_bands",
]

#: Kinds of scan with their own bands (keys of ``read`` in a calibration file).
SCAN_KINDS: tuple[str, ...] = ("gray", "bilevel", "dithered")
#: A kind of scan needs at least this many sheets to be fitted.
MIN_SHEETS = 10
# Candidate band edges (darkness): blank_sure_max from the first grid,
# marked_sure_min from the second; mark_min is their middle.
BLANK_EDGES = np.round(np.arange(0.04, 0.52, 0.02), 2)
MARKED_EDGES = np.round(np.arange(0.12, 1.0001, 0.02), 2)
# Band edges are at least this far apart (darkness): an unsure band.
MIN_BAND_WIDTH = 0.04
#: A setting must make no more silent errors on the fitting sheets with its
#: unsure band narrowed by this much on each side (darkness) either.
SAFETY_MARGIN = 0.03
# Marks per item: the truth's value for a blank item and one with 2+ marks.
_BLANK, _MULTI = "", "*"


@dataclass(frozen=True, eq=False)
class SheetSample:
    """One sheet's bubble features and its truth.

    Attributes
    ----------
    kind : str
        One of :data:`SCAN_KINDS`.
    bubbles : BubbleDarkness
    expected : dict of str to (I,) ndarray of int
        Per field, the option index each item must read: ``-1`` blank,
        ``-2`` more than one mark, ``-3`` unknown (not checked).
    truth : dict or None
        The truth as a result record (what :func:`wrong_fields` compares).
    reading : SheetReading or None
        What the whole pipeline read with the calibration it was measured
        with (:func:`measure_sheet`); its ``source`` and ``page`` say where
        the page is, to read it again (:func:`verify_fit`).
    """

    kind: str
    bubbles: BubbleDarkness
    expected: dict[str, np.ndarray]
    truth: Mapping[str, Any] | None = None
    reading: SheetReading | None = None


@dataclass(frozen=True)
class BandFit:
    """The fitted bands of one kind of scan and what they do on the sheets."""

    kind: str
    sheets: int
    bands: Bands
    result: Replay
    fitted: bool


def scan_kind(bubbles: BubbleDarkness) -> str:
    """``gray``, ``bilevel`` or ``dithered``."""
    if bubbles.dithered:
        return "dithered"
    return "bilevel" if bubbles.bilevel else "gray"


def truth_marks(truth: dict, template: Template, geometry: BubbleGeometry) -> dict[str, np.ndarray]:
    """Per field, the option index each item must read (see :class:`SheetSample`).

    ``truth`` is a result record (ARCHITECTURE.md §3): ``answers`` one string per
    item, identity fields as strings (hyphens in ``nomor_peserta`` and
    ``tanggal_lahir`` are layout, not columns).
    """
    expected: dict[str, np.ndarray] = {}
    for fld in template.fields:
        rows, _ = geometry.field_shapes[geometry.field_names.index(fld.name)]
        if fld.kind == "answers":
            values = list(truth.get("answers", []))
        elif fld.kind == "choice":
            values = [truth.get(fld.name, "")]
        else:
            text = str(truth.get(fld.name, "")).replace("-", "")
            values = list(text.ljust(rows)) if fld.kind == "letters" else list(text)
        codes = np.full(rows, -3, dtype=np.intp)
        for i, value in enumerate(values[:rows]):
            if value in (_BLANK, " "):
                codes[i] = -1
            elif value == _MULTI:
                codes[i] = -2
            elif value in fld.options:
                codes[i] = fld.options.index(value)
        expected[fld.name] = codes
    return expected


def measure_sheet(
    page: Page, truth: dict, template: Template, calibration: Calibration
) -> SheetSample | None:
    """Register and measure one page; ``None`` when it does not register."""
    analysis = analyse_sheet(page, template, calibration)
    if analysis.bubbles is None or analysis.registration is None:
        return None
    from .read import sampling_pattern
    from .register import REFERENCE_DPI

    geometry = sampling_pattern(template, REFERENCE_DPI).geometry
    return SheetSample(
        kind=scan_kind(analysis.bubbles),
        bubbles=analysis.bubbles,
        expected=truth_marks(truth, template, geometry),
        truth=truth,
        reading=analysis.reading,
    )


@dataclass(frozen=True, eq=False)
class Replay:
    """What a setting does on a set of sheets (bubble rules only).

    ``silent_sheets``: sheets read wrongly with no unsure item (and no other
    bubble reason for review); ``silent_items``: items read wrongly and
    surely, on any sheet; ``review``: sheets with an unsure item, or an
    identity column read ``?`` or a paket not marked; ``needless``: sheets
    to review whose bubbles were all read right.  ``wrong_sheets`` and
    ``review_sheets`` ``(S,)`` bool say which sheets (in ``samples`` order).
    """

    silent_sheets: int
    silent_items: int
    review: int
    needless: int = 0
    wrong_sheets: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    review_sheets: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def replay(
    samples: Sequence[SheetSample],
    calibration: Calibration,
    template: Template,
    geometry: BubbleGeometry,
    *,
    evidence: np.ndarray | None = None,
) -> Replay:
    """Replay the item rule of ``calibration`` over ``samples`` (one kind of scan).

    ``evidence`` ``(S, N)`` may be given (it depends on the bands only where a
    1-bit dot is capped to the middle of the unsure band, see
    :func:`_evidence`).  Only :func:`ljun.read.mark_evidence` and
    :func:`ljun.read.decide_items` are replayed: what the whole pipeline
    adds (the closer look, lone marks, identity checks, barcode, scoring)
    is measured by :func:`verify_fit`.
    """
    if not samples:
        return Replay(0, 0, 0)
    read_cal = calibration.read
    bands = getattr(read_cal, samples[0].kind)
    if evidence is None:
        evidence = np.stack([mark_evidence(s.bubbles, read_cal) for s in samples])  # (S, N)
    inside = np.stack([s.bubbles.inside for s in samples])
    wrong = np.zeros(len(samples), dtype=bool)
    review = np.zeros(len(samples), dtype=bool)
    silent_items = 0
    for fld in template.fields:
        grid = geometry.grid(fld.name)  # (I, O) bubble indices
        n_items, n_options = grid.shape
        decision = decide_items(
            evidence[:, grid].reshape(-1, n_options),
            bands,
            read_cal,
            inside[:, grid].reshape(-1, n_options),
        )
        count = decision.count.reshape(len(samples), n_items)
        choice = decision.choice.reshape(len(samples), n_items)
        unsure = decision.unsure.reshape(len(samples), n_items)
        read = np.where(count == 1, choice, np.where(count == 0, -1, -2))
        expected = np.stack([s.expected[fld.name] for s in samples])
        item_wrong = (read != expected) & (expected != -3)
        silent_items += int((item_wrong & ~unsure).sum())
        wrong |= item_wrong.any(axis=1)
        review |= unsure.any(axis=1)
        if fld.kind != "answers":
            review |= (count > 1).any(axis=1)  # multi_mark
            if fld.kind in ("digits", "choice"):
                review |= (count == 0).any(axis=1)  # '?' / no_paket
    return Replay(
        int((wrong & ~review).sum()),
        silent_items,
        int(review.sum()),
        int((review & ~wrong).sum()),
        wrong,
        review,
    )


def _evidence(
    samples: Sequence[SheetSample], calibration: Calibration
) -> tuple[np.ndarray, np.ndarray]:
    """Evidence ``(S, N)`` under ``calibration`` and where it was capped to the
    middle of the unsure band (1-bit dots, spilled strokes)."""
    read_cal = calibration.read
    bands = getattr(read_cal, samples[0].kind)
    evidence = np.stack([mark_evidence(s.bubbles, read_cal) for s in samples])
    cap = np.float32(bands.marked_unsure_middle)
    return evidence, evidence == cap


def fit_bands(
    samples: Sequence[SheetSample],
    calibration: Calibration,
    template: Template,
    geometry: BubbleGeometry,
    *,
    kinds: Sequence[str] = SCAN_KINDS,
) -> list[BandFit]:
    """Fit the band edges of each kind of scan in ``kinds`` (see the module docstring).

    Kinds not in ``kinds``, and kinds with fewer than :data:`MIN_SHEETS`
    sheets, keep their bands (``fitted`` false) and are only replayed.

    A setting is judged by its silent items with the unsure band narrowed by
    ``SAFETY_MARGIN`` on each side (so that sheets not seen, a little off
    the ones fitted, keep no silent error), then by its sheets to review,
    then by the width of its unsure band.
    """
    fits = []
    for kind in SCAN_KINDS:
        mine = [s for s in samples if s.kind == kind]
        current: Bands = getattr(calibration.read, kind)
        if len(mine) < MIN_SHEETS or kind not in kinds:
            result = replay(mine, calibration, template, geometry)
            fits.append(BandFit(kind, len(mine), current, result, fitted=False))
            continue
        evidence, capped = _evidence(mine, calibration)
        best: tuple[tuple, Bands, Replay] | None = None
        for blank in BLANK_EDGES:
            wide_enough = blank + MIN_BAND_WIDTH <= MARKED_EDGES
            for marked in MARKED_EDGES[wide_enough]:
                bands = replace(
                    current,
                    blank_sure_max=float(blank),
                    mark_min=float(round((blank + marked) / 2, 3)),
                    marked_sure_min=float(marked),
                )
                middle = np.float32(bands.marked_unsure_middle)
                trial_evidence = np.where(capped, middle, evidence)
                narrow = replace(
                    bands,
                    blank_sure_max=bands.blank_sure_max + SAFETY_MARGIN,
                    marked_sure_min=max(
                        bands.marked_sure_min - SAFETY_MARGIN,
                        bands.blank_sure_max + SAFETY_MARGIN + 1e-3,
                    ),
                    mark_min=min(
                        max(bands.mark_min, bands.blank_sure_max + SAFETY_MARGIN + 1e-3),
                        max(
                            bands.marked_sure_min - SAFETY_MARGIN,
                            bands.blank_sure_max + SAFETY_MARGIN + 1e-3,
                        ),
                    ),
                )
                margin = replay(
                    mine,
                    _with_bands(calibration, kind, narrow),
                    template,
                    geometry,
                    evidence=trial_evidence,
                )
                result = replay(
                    mine,
                    _with_bands(calibration, kind, bands),
                    template,
                    geometry,
                    evidence=trial_evidence,
                )
                key = (margin.silent_items, result.review, -(marked - blank))
                if best is None or key < best[0]:
                    best = (key, bands, result)
        assert best is not None
        fits.append(BandFit(kind, len(mine), best[1], best[2], fitted=True))
    return fits


def fitted_calibration(calibration: Calibration, fits: Sequence[BandFit]) -> Calibration:
    """``calibration`` with the fitted bands."""
    out = calibration
    for fit in fits:
        out = _with_bands(out, fit.kind, fit.bands)
    return out


def _with_bands(calibration: Calibration, kind: str, bands: Bands) -> Calibration:
    changes: dict[str, Any] = {kind: bands}  # kind names a Bands field of ReadCalibration
    return replace(calibration, read=replace(calibration.read, **changes))


def calibration_document(
    calibration: Calibration,
    *,
    description: str,
    derived_from: str,
    verification: Verification | None = None,
) -> dict:
    """The calibration as a JSON document (``ljun-calibration/1``).

    With ``verification``, its ``verification`` section records what the
    check with the whole pipeline measured (:meth:`Verification.document`).
    """
    from dataclasses import asdict

    from .calibration import CALIBRATION_FORMAT

    document = {
        "format": CALIBRATION_FORMAT,
        "description": description,
        "derived_from": derived_from,
        "register": asdict(calibration.register),
        "read": asdict(calibration.read),
        "decode": asdict(calibration.decode),
    }
    if verification is not None:
        document["verification"] = verification.document()
    return document


# --------------------------------------------------------------------------- the check

#: Result-record fields a reading is compared with the truth on (bench/bench_read.py's).
CHECKED_FIELDS: tuple[str, ...] = (
    "nomor_peserta",
    "nama",
    "tanggal_lahir",
    "kode_kompetensi",
    "paket",
    "barcode",
    "answers",
)
#: Of :data:`CHECKED_FIELDS`, those no bubble decides: no band edge sends them to review.
NOT_BUBBLE_FIELDS = frozenset({"barcode"})
#: A fitted kind whose check finds a silent error the replay did not is
#: tightened by this much on each side of its unsure band per step
#: (darkness; the fitting grid's step) ...
TIGHTEN_STEP = 0.02
#: ... at most this many steps, each checked again with the whole pipeline.
MAX_TIGHTEN_STEPS = 3
#: Silent errors named in the calibration document at most.
NAMED_SILENT = 20


@dataclass(frozen=True)
class SheetCheck:
    """One sheet as ``ljun score`` reads and routes it, against its truth.

    ``wrong`` names the fields of :data:`CHECKED_FIELDS` read differently
    from the truth (a barcode declared unread in part, ``LJUN-A-??????``
    with its paket right, is not wrong); ``review`` and ``flags`` are the
    scored sheet's, duplicates within the set included.
    """

    source: str
    page: int
    kind: str
    wrong: tuple[str, ...]
    review: bool
    flags: tuple[str, ...]

    @property
    def silent(self) -> bool:
        """Read wrong and not sent to review: a silent error."""
        return bool(self.wrong) and not self.review

    @property
    def needless(self) -> bool:
        """Sent to review although read right."""
        return self.review and not self.wrong

    @property
    def bands_decide(self) -> bool:
        """Whether a field read wrong is one the bubble bands decide."""
        return any(name not in NOT_BUBBLE_FIELDS for name in self.wrong)

    def describe(self) -> str:
        """``set/amplop-003.tif page 4 (gray): answers, nama read wrong``."""
        return f"{self.source} page {self.page} ({self.kind}): {', '.join(self.wrong)} read wrong"


@dataclass(frozen=True)
class Outcome:
    """Silent errors, sheets to review and needless reviews on a set of sheets."""

    sheets: int
    silent: int
    review: int
    needless: int

    @property
    def review_rate(self) -> float:
        """Share of the sheets sent to review."""
        return self.review / self.sheets if self.sheets else 0.0

    @property
    def needless_share(self) -> float:
        """Share of the reviewed sheets that were read right."""
        return self.needless / self.review if self.review else 0.0

    @classmethod
    def of_checks(cls, checks: Iterable[SheetCheck]) -> Outcome:
        """What ``checks`` measured."""
        mine = list(checks)
        return cls(
            len(mine),
            sum(c.silent for c in mine),
            sum(c.review for c in mine),
            sum(c.needless for c in mine),
        )

    @classmethod
    def of_replay(cls, result: Replay, sheets: int) -> Outcome:
        """What :func:`replay` predicted."""
        return cls(sheets, result.silent_sheets, result.review, result.needless)

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(
            self.sheets + other.sheets,
            self.silent + other.silent,
            self.review + other.review,
            self.needless + other.needless,
        )

    def document(self) -> dict[str, Any]:
        """Counts and rates for the calibration document."""
        return {
            "sheets": self.sheets,
            "silent_errors": self.silent,
            "review": self.review,
            "review_rate": round(self.review_rate, 4),
            "needless_reviews": self.needless,
        }


@dataclass(frozen=True)
class KindCheck:
    """One kind of scan at one setting: measured by the whole pipeline and
    predicted by the replay.  ``label`` is ``before``, ``fitted``, ``kept``,
    ``tightened N`` (steps of :data:`TIGHTEN_STEP`) or ``restored`` (the
    start's bands, the fitted ones having failed the check)."""

    kind: str
    bands: Bands
    label: str
    measured: Outcome
    predicted: Outcome


@dataclass(frozen=True, eq=False)
class Verification:
    """What :func:`verify_fit` found and decided.

    Attributes
    ----------
    fits : tuple of BandFit
        The fits as they stand after the check (tightened or restored).
    calibration : Calibration
        The calibration with those bands: the one to write.
    before, after : tuple of KindCheck
        Per kind with sheets: the start calibration and the checked one.
    checks : tuple of SheetCheck
        Per sheet (``samples`` order), with the checked calibration.
    unexplained : tuple of SheetCheck
        Silent errors of the checked calibration the replay did not predict
        and no band was changed for: in fields no bubble decides (the
        barcode), or of a kind whose bands were kept.  Printed and recorded.
    decisions : tuple of str
        What was changed after the check, and why (one line each).
    """

    fits: tuple[BandFit, ...]
    calibration: Calibration
    before: tuple[KindCheck, ...]
    after: tuple[KindCheck, ...]
    checks: tuple[SheetCheck, ...]
    unexplained: tuple[SheetCheck, ...]
    decisions: tuple[str, ...]

    @staticmethod
    def total(rows: Sequence[KindCheck]) -> tuple[Outcome, Outcome]:
        """Measured and predicted over every kind of ``rows``."""
        measured = predicted = Outcome(0, 0, 0, 0)
        for row in rows:
            measured, predicted = measured + row.measured, predicted + row.predicted
        return measured, predicted

    def document(self) -> dict[str, Any]:
        """The ``verification`` section of the calibration document."""
        measured, predicted = self.total(self.after)
        silent = [c for c in self.checks if c.silent]
        return {
            "method": (
                "every fitting sheet read and routed as ljun score does "
                "(ljun.pipeline.analyse_sheet, ljun.score.score_sheet with a key for every "
                "paket, duplicates within the set reconciled) with this calibration, "
                "compared with its truth"
            ),
            "measured": measured.document(),
            "predicted": predicted.document(),
            "kinds": {
                row.kind: {
                    "label": row.label,
                    "measured": row.measured.document(),
                    "predicted": row.predicted.document(),
                }
                for row in self.after
            },
            "silent_errors": [
                {"source": c.source, "page": c.page, "kind": c.kind, "fields": list(c.wrong)}
                for c in silent[:NAMED_SILENT]
            ],
            "decisions": list(self.decisions),
        }


def wrong_fields(reading: SheetReading, truth: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields of :data:`CHECKED_FIELDS` that ``reading`` reads differently from ``truth``.

    Fields the truth does not hold are not checked.  A barcode the reader
    declared unread in part (``LJUN-A-??????``, paket right) is not wrong
    (as in ``bench/bench_read.py``).

    >>> from ljun.records import SheetReading
    >>> reading = SheetReading(source="s.tif", page=1, template="t", paket="A",
    ...                        barcode="LJUN-A-??????", answers=("B", ""))
    >>> wrong_fields(reading, {"paket": "A", "barcode": "LJUN-A-123456", "answers": ["B", "C"]})
    ('answers',)
    """
    from .decode import barcode_read_in_part

    got = reading.result_fields()
    wrong = []
    for name in CHECKED_FIELDS:
        if name not in truth:
            continue
        value, expected = got[name], truth[name]
        if name == "answers":
            value, expected = list(value), list(expected)
        elif name == "barcode" and barcode_read_in_part(value, expected):
            continue  # declared unread, not wrong
        if value != expected:
            wrong.append(name)
    return tuple(wrong)


def every_paket_keys(template: Template) -> AnswerKeySet:
    """An :class:`~ljun.keys.AnswerKeySet` with a key for every paket.

    What a key says changes a sheet's score, never whether it goes to
    review; only a paket *without* key does (``no_key``), and that is the
    batch's keys, not the reading, so the check scores with every paket keyed.
    """
    from .keys import parse_answer_key
    from .register import REFERENCE_DPI
    from .vocabulary import PAKETS

    answers = next(f for f in template.fields if f.kind == "answers")
    items = template.geometry(REFERENCE_DPI).grid(answers.name).shape[0]
    return AnswerKeySet.from_keys(
        parse_answer_key({"paket": paket, "answers": [answers.options[0]] * items})
        for paket in PAKETS
    )


def check_readings(
    samples: Sequence[SheetSample], readings: Sequence[SheetReading], template: Template
) -> tuple[SheetCheck, ...]:
    """Score ``readings`` (one per sample) as ``ljun score`` does and compare them with the truth.

    Each reading is scored by :func:`ljun.score.score_sheet` (with
    :func:`every_paket_keys`) and the set is reconciled as one batch
    (:func:`ljun.batch.reconcile`: a nomor peserta or barcode on two sheets
    sends both to review).
    """
    from .batch import SheetSummary, reconcile
    from .score import score_sheet, with_flags

    keys = every_paket_keys(template)
    scored = [score_sheet(reading, keys) for reading in readings]
    found = reconcile([SheetSummary.of(s, seq=i, file_index=0) for i, s in enumerate(scored)])
    checks = []
    for i, (sample, sheet) in enumerate(zip(samples, scored, strict=True)):
        sheet = with_flags(sheet, *found.flags.get(i, ()))
        checks.append(
            SheetCheck(
                source=sheet.reading.source,
                page=sheet.reading.page,
                kind=sample.kind,
                wrong=wrong_fields(sheet.reading, sample.truth or {}),
                review=sheet.review,
                flags=sheet.flags,
            )
        )
    return tuple(checks)


def _named(checks: Sequence[SheetCheck], most: int = 3) -> str:
    """The first ``most`` sheets of ``checks`` by name, and how many more."""
    named = "; ".join(c.describe() for c in checks[:most])
    return named + (f"; and {len(checks) - most} more" if len(checks) > most else "")


def tightened(bands: Bands, steps: int) -> Bands:
    """``bands`` with the unsure band widened by ``steps`` × :data:`TIGHTEN_STEP` on each side.

    >>> from ljun.calibration import load_calibration
    >>> bands = tightened(load_calibration().read.gray, 2)
    >>> round(bands.blank_sure_max, 3), round(bands.mark_min, 3), round(bands.marked_sure_min, 3)
    (0.16, 0.235, 0.31)
    """
    if steps == 0:
        return bands
    blank = round(max(bands.blank_sure_max - steps * TIGHTEN_STEP, 0.0), 3)
    marked = round(min(bands.marked_sure_min + steps * TIGHTEN_STEP, 1.0), 3)
    return replace(
        bands, blank_sure_max=blank, mark_min=round((blank + marked) / 2, 3), marked_sure_min=marked
    )


#: Reads again the pages of the given samples: yields ``(index into them, page)``.
PageSource = Callable[[Sequence[SheetSample]], Iterable[tuple[int, Page]]]


def verify_fit(
    samples: Sequence[SheetSample],
    start: Calibration,
    fits: Sequence[BandFit],
    template: Template,
    geometry: BubbleGeometry,
    *,
    read_pages: PageSource,
    on_sheet: Callable[[str], None] | None = None,
) -> Verification:
    """Check fitted bands with the whole pipeline, as ``ljun score`` will read the same sheets.

    The replay of :func:`fit_bands` judges a setting by the bubble rules
    alone.  Here every sheet is read by :func:`ljun.pipeline.analyse_sheet`
    (closer look, lone marks, identity checks, barcode) with the fitted
    calibration and scored (:func:`check_readings`).  A sheet whose kind
    keeps the start's bands keeps the reading :func:`measure_sheet` made
    (the same pipeline with the same thresholds for it); the others are read
    again from ``read_pages``; ``on_sheet`` is called with the kind after
    each.

    Decision, per fitted kind: a silent error the replay did not predict, in
    a field the bands decide, is not accepted.  The kind's unsure band is
    widened step by step (:func:`tightened`, at most
    :data:`MAX_TIGHTEN_STEPS`), each step checked again, and the first
    step without such an error is kept.  If none is, the start's bands are
    restored when the start's own reading of these sheets has no such
    error; otherwise :class:`~ljun.errors.CalibrationError` names the
    sheets.  Silent errors no band decides (the barcode) and those of kinds
    whose bands were kept are not changed for: they are in
    :attr:`Verification.unexplained`, to be printed and recorded.

    Raises
    ------
    CalibrationError
        As above, or when a page cannot be read again.
    """
    check = _Check(samples, start, template, geometry, read_pages, on_sheet)
    before = [check.row(kind, start, check.start_checks, "before") for kind in check.kinds]
    state = _State(start, list(check.start_readings))
    final_fits = []
    for fit in fits:
        if not check.index_of[fit.kind]:
            final_fits.append(fit)
        elif not fit.fitted:
            state.current = _with_bands(state.current, fit.kind, fit.bands)
            final_fits.append(fit)
        else:
            final_fits.append(check.settle(fit, state))
    final = check_readings(samples, state.readings, template)
    after = [
        check.row(kind, state.current, final, state.labels.get(kind, "kept"))
        for kind in check.kinds
    ]
    unexplained = [
        final[i]
        for kind in check.kinds
        for i in check.unexplained(kind, final, check.predicted(kind, state.current)[1])
    ]
    return Verification(
        fits=tuple(final_fits),
        calibration=state.current,
        before=tuple(before),
        after=tuple(after),
        checks=final,
        unexplained=tuple(unexplained),
        decisions=tuple(state.decisions),
    )


@dataclass
class _State:
    """The calibration being checked, its readings, and what was decided."""

    current: Calibration
    readings: list[SheetReading]
    labels: dict[str, str] = field(default_factory=dict)
    decisions: list[str] = field(default_factory=list)


class _Check:
    """The sheets of :func:`verify_fit` and the steps it takes on them."""

    def __init__(
        self,
        samples: Sequence[SheetSample],
        start: Calibration,
        template: Template,
        geometry: BubbleGeometry,
        read_pages: PageSource,
        on_sheet: Callable[[str], None] | None,
    ) -> None:
        if any(s.reading is None for s in samples):
            raise ValueError("verify_fit needs samples made by measure_sheet (with their reading)")
        self.samples, self.start, self.template, self.geometry = samples, start, template, geometry
        self.read_pages, self.on_sheet = read_pages, on_sheet
        self.start_readings = [s.reading for s in samples if s.reading is not None]
        self.start_checks = check_readings(samples, self.start_readings, template)
        self.index_of = {k: [i for i, s in enumerate(samples) if s.kind == k] for k in SCAN_KINDS}
        self.kinds = [k for k in SCAN_KINDS if self.index_of[k]]

    def predicted(self, kind: str, calibration: Calibration) -> tuple[Replay, set[int]]:
        """The replay of ``kind`` and the sheets it predicts silent errors on."""
        mine = self.index_of[kind]
        result = replay([self.samples[i] for i in mine], calibration, self.template, self.geometry)
        silent = result.wrong_sheets & ~result.review_sheets
        return result, {i for i, s in zip(mine, silent, strict=True) if s}

    def unexplained(self, kind: str, checks: Sequence[SheetCheck], known: set[int]) -> list[int]:
        """Sheets of ``kind`` silent in ``checks`` but not in the replay (``known``)."""
        return [i for i in self.index_of[kind] if checks[i].silent and i not in known]

    def row(
        self, kind: str, calibration: Calibration, checks: Sequence[SheetCheck], label: str
    ) -> KindCheck:
        mine = self.index_of[kind]
        result, _ = self.predicted(kind, calibration)
        return KindCheck(
            kind,
            getattr(calibration.read, kind),
            label,
            Outcome.of_checks(checks[i] for i in mine),
            Outcome.of_replay(result, len(mine)),
        )

    def read_again(self, kind: str, calibration: Calibration) -> dict[int, SheetReading]:
        """The sheets of ``kind`` read again with ``calibration``, by sample index."""
        from .errors import CalibrationError

        mine = self.index_of[kind]
        out: dict[int, SheetReading] = {}
        for position, page in self.read_pages([self.samples[i] for i in mine]):
            out[mine[position]] = analyse_sheet(page, self.template, calibration).reading
            if self.on_sheet is not None:
                self.on_sheet(kind)
        missing = [self.start_readings[i] for i in mine if i not in out]
        if missing:
            where = ", ".join(f"{r.source} page {r.page}" for r in missing[:5])
            raise CalibrationError(
                f"{len(missing)} page(s) measured for the fit could not be read again to check "
                f"it ({where}); keep the scans in place and unchanged while ljun calibrate runs"
            )
        return out

    def settle(self, fit: BandFit, state: _State) -> BandFit:
        """The bands of a fitted kind that pass the check (see :func:`verify_fit`)."""
        kind = fit.kind
        start_bands: Bands = getattr(self.start.read, kind)
        trials: dict[Bands, tuple[Calibration, list[SheetReading], Replay]] = {}

        def bad_at(bands: Bands) -> list[SheetCheck]:
            trial = _with_bands(state.current, kind, bands)
            readings = list(state.readings)
            if bands != start_bands:
                for i, reading in self.read_again(kind, trial).items():
                    readings[i] = reading
            checks = check_readings(self.samples, readings, self.template)
            result, known = self.predicted(kind, trial)
            trials[bands] = (trial, readings, result)
            return [checks[i] for i in self.unexplained(kind, checks, known)]

        def bad_at_start() -> list[SheetCheck]:
            _, known = self.predicted(kind, self.start)
            return [self.start_checks[i] for i in self.unexplained(kind, self.start_checks, known)]

        bands, label, decision = settle_bands(kind, fit.bands, start_bands, bad_at, bad_at_start)
        state.labels[kind] = label
        if decision:
            state.decisions.append(decision)
        if label == "restored":
            state.current = _with_bands(state.current, kind, start_bands)
            for i in self.index_of[kind]:
                state.readings[i] = self.start_readings[i]
            result = self.predicted(kind, self.start)[0]
            return replace(fit, bands=start_bands, result=result, fitted=False)
        state.current, state.readings, result = trials[bands]
        return replace(fit, bands=bands, result=result)


def settle_bands(
    kind: str,
    fitted: Bands,
    start: Bands,
    silent_at: Callable[[Bands], Sequence[SheetCheck]],
    silent_at_start: Callable[[], Sequence[SheetCheck]],
) -> tuple[Bands, str, str]:
    """The decision of :func:`verify_fit` for one fitted kind of scan.

    Parameters
    ----------
    kind : str
    fitted, start : Bands
        The fitted bands and those of the start calibration.
    silent_at : callable
        The silent errors the check finds at some bands that the replay of
        the same bands did not predict (the whole pipeline is run there).
    silent_at_start : callable
        The same for the start calibration (whose reading is already made).

    Returns
    -------
    bands : Bands
        ``fitted``, ``tightened(fitted, N)`` or ``start``.
    label : str
        ``fitted``, ``tightened N`` or ``restored``.
    decision : str
        What was decided and why; ``""`` when the fitted bands passed.

    Raises
    ------
    CalibrationError
        When every setting tried, and ``start``, has such an error in a
        field the bands decide; the message names the sheets.

    Only errors in fields the bands decide (:attr:`SheetCheck.bands_decide`)
    count; ``silent_at`` is called for ``tightened(fitted, N)``, N = 0, 1, ...
    :data:`MAX_TIGHTEN_STEPS`, until one has none.
    """
    from .errors import CalibrationError

    first_bad: list[SheetCheck] = []
    for steps in range(MAX_TIGHTEN_STEPS + 1):
        bands = tightened(fitted, steps)
        bad = [c for c in silent_at(bands) if c.bands_decide]
        if not bad and not steps:
            return bands, "fitted", ""
        if not bad:
            return (
                bands,
                f"tightened {steps}",
                f"{kind}: the check found {len(first_bad)} silent error(s) the replay did not "
                f"predict ({_named(first_bad)}); unsure band widened by {steps} x "
                f"{TIGHTEN_STEP} on each side, which makes none",
            )
        first_bad = first_bad or bad
    start_bad = [c for c in silent_at_start() if c.bands_decide]
    if start_bad:
        raise CalibrationError(
            f"the check with ljun score's reading finds {len(start_bad)} {kind} sheet(s) "
            "read wrong without review that the band replay did not predict, with the "
            f"fitted bands, with the unsure band widened by up to {MAX_TIGHTEN_STEPS} x "
            f"{TIGHTEN_STEP} and with the start's bands: {_named(start_bad, 10)}.  Check "
            "their truth (a wrong truth there makes this); if it is right, the reader errs "
            "on them whatever the bands (report the sheets).  To fit the other kinds, "
            f"leave {kind} out of --fit"
        )
    return (
        start,
        "restored",
        f"{kind}: the fitted bands make {len(first_bad)} silent error(s) the replay did not "
        f"predict ({_named(first_bad)}), still with the unsure band widened by "
        f"{MAX_TIGHTEN_STEPS} x {TIGHTEN_STEP}; the start's bands, which make none, are kept",
    )
