"""Fitting the reading thresholds from scans with known truth (``ljun calibrate``).

A scanner and its paper give the bubbles of a batch their own levels.  From
sheets whose right reading is known (generated ones, or reviewed ones),
:func:`measure_sheet` keeps each sheet's bubble features and which bubbles
are marks, and :func:`fit_bands` chooses, per kind of scan (``gray``,
``bilevel``, ``dithered``), the band edges of the mark evidence that give
**no silent error** on those sheets and, among those, the fewest sheets to
review: every candidate setting is replayed with the item rule of
:func:`ljun.read.decide_items`, so what is printed is what ``ljun score``
will do on the same sheets.

Only the three band edges (``blank_sure_max``, ``mark_min``,
``marked_sure_min``) of each kind are fitted; the other thresholds are kept
from the starting calibration.  A kind with too few sheets keeps its bands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .calibration import Bands, Calibration
from .pipeline import analyse_sheet
from .read import BubbleDarkness, decide_items, mark_evidence
from .records import Page
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
    """

    kind: str
    bubbles: BubbleDarkness
    expected: dict[str, np.ndarray]


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
    )


@dataclass(frozen=True)
class Replay:
    """What a setting does on a set of sheets (bubble rules only).

    ``silent_sheets``: sheets read wrongly with no unsure item (and no other
    bubble reason for review); ``silent_items``: items read wrongly and
    surely, on any sheet; ``review``: sheets with an unsure item, or an
    identity column read ``?`` or a paket not marked.
    """

    silent_sheets: int
    silent_items: int
    review: int


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
    :func:`_evidence`).
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
    return Replay(int((wrong & ~review).sum()), silent_items, int(review.sum()))


def _evidence(
    samples: Sequence[SheetSample], calibration: Calibration
) -> tuple[np.ndarray, np.ndarray]:
    """Evidence ``(S, N)`` under ``calibration`` and where it was capped to the
    middle of the unsure band (1-bit dots, spilled strokes)."""
    read_cal = calibration.read
    bands = getattr(read_cal, samples[0].kind)
    evidence = np.stack([mark_evidence(s.bubbles, read_cal) for s in samples])
    cap = np.float32((bands.mark_min + bands.marked_sure_min) / 2)
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
                middle = np.float32((bands.mark_min + bands.marked_sure_min) / 2)
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


def calibration_document(calibration: Calibration, *, description: str, derived_from: str) -> dict:
    """The calibration as a JSON document (``ljun-calibration/1``)."""
    from dataclasses import asdict

    from .calibration import CALIBRATION_FORMAT

    return {
        "format": CALIBRATION_FORMAT,
        "description": description,
        "derived_from": derived_from,
        "register": asdict(calibration.register),
        "read": asdict(calibration.read),
        "decode": asdict(calibration.decode),
    }
