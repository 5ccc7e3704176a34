"""Decoding: bubble decisions into answers, identity strings, paket and barcode.

Pure functions over the kernel's output (:mod:`ljun.read`):

* :func:`decode_marks` turns every field's bubble darkness into the strings of
  a result record (ARCHITECTURE.md §3) plus flags, and the per-bubble confidence;
* :func:`decode_barcode` reads the Code 128 in the template's barcode area
  through the homography (an upright crop, never a page warp) with pyzbar;
* the validators (:func:`valid_nomor_peserta`, :func:`valid_tanggal_lahir`,
  :func:`valid_kode_kompetensi`, :func:`barcode_paket`) check what was read.

Conventions (ARCHITECTURE.md §3): ``nomor_peserta`` ``X-XX-XX-XX-XXX-XXX-X``,
``tanggal_lahir`` ``DD-MM-YY``, ``?`` per unreadable column; ``nama``
upper-case letters and spaces (a blank column is a space), trailing spaces
stripped; ``paket`` ``A``/``B``/``S``, ``""`` unmarked, ``?`` multiply marked;
``answers`` the letter, ``""`` blank, ``"*"`` more than one mark.

The flags this module gives are listed in :mod:`ljun.pipeline`.

>>> format_nomor_peserta("21201050010010")
'2-12-01-05-001-001-0'
>>> valid_tanggal_lahir("29-02-00"), valid_tanggal_lahir("31-04-99")
(True, False)
>>> barcode_paket("LJUN-S-000123")
'S'
"""

from __future__ import annotations

import datetime
import functools
import re
from dataclasses import dataclass

import cv2
import numpy as np

from .calibration import Bands, Calibration, DecodeCalibration, ReadCalibration
from .kompetensi import competency_codes
from .nomor import NOMOR_PESERTA_DIGITS, format_nomor_peserta, luhn_valid
from .read import (
    BubbleDarkness,
    ItemDecision,
    bands_for,
    decide_items,
    is_bilevel,
    mark_evidence,
)
from .register import Registration, gray_quantile
from .render import BARCODE_QUIET_MODULES, BARCODE_TEXT_MM
from .template import BubbleGeometry, Template
from .vocabulary import BLANK, MULTI, UNREAD, Flag

__all__ = [
    "NOMOR_PESERTA_DIGITS",
    "BARCODE_PATTERN",
    "DecodedMarks",
    "BarcodeReading",
    "decode_marks",
    "decode_barcode",
    "format_nomor_peserta",
    "format_tanggal_lahir",
    "valid_nomor_peserta",
    "valid_tanggal_lahir",
    "valid_kode_kompetensi",
    "luhn_valid",
    "barcode_paket",
]

#: Sheet barcodes: ``LJUN-<paket>-<serial of 6 digits>``.
BARCODE_PATTERN = re.compile(r"LJUN-(?P<paket>[ABS])-(?P<serial>[0-9]{6})")

# The barcode crop is sampled at no less than this many pixels per mm, so
# that a 0.26 mm Code 128 module spans at least 2.5 pixels whatever the scan
# dpi (zbar needs about 2; 150-dpi scans have 5.9 px/mm).
BARCODE_MIN_PX_PER_MM = 10.0
# Margin around the template's barcode area in the crop (mm): room for a
# slightly misplaced print.
BARCODE_MARGIN_MM = 1.5
# The barcode area holds bars when more than this fraction of the crop is ink;
# an empty area (a sheet printed without a barcode) is not an error.
BARCODE_INK_MIN = 0.05
# Ink in the barcode crop: darker than this fraction of the paper level.
BARCODE_INK_FRACTION = 0.5
# Where the bars are in the barcode area (mm from its top; the printed text
# takes the bottom BARCODE_TEXT_MM): see ljun.render._barcode_primitives.
BARCODE_BAR_TOP_MM = 1.0
# Column profiles are averaged over these parts of the bars' height (fractions).
BARCODE_PROFILE_BANDS = ((0.15, 0.85), (0.3, 0.6))
# Rows of the profile image handed to zbar (it wants a 2-D image).
BARCODE_PROFILE_ROWS = 12

# Grid decoding of the sheet barcode (when zbar fails: bars merged by a 1-bit
# threshold or blur).  The sheet barcode LJUN-<paket>-<6 digits> is always
# written the same way (render.code128_modules): Start B, "LJUN-<paket>-" in
# code set B, Code C, three digit pairs, the check symbol, Stop: 13 symbols
# of 11 modules and a 13-module Stop, spread with BARCODE_QUIET_MODULES of
# quiet zone each side over the template's barcode width.
_C128_START_B, _C128_CODE_C = 104, 99
_C128_SYMBOL_MODULES = 11
# Symbol slots that carry the paket letter and the three digit pairs.
_C128_PAKET_SLOT = 6
_C128_PAIR_SLOTS = (9, 10, 11)
_C128_CHECK_SLOT = 12
# The grid is searched within this distance (mm) of where the registration
# puts it, in steps of 1/BARCODE_SUBSAMPLES module, and over these relative
# module widths (print and scan scale beyond the homography's).
BARCODE_GRID_SEARCH_MM = 0.9
BARCODE_GRID_SCALES = (0.985, 0.99, 0.995, 1.0, 1.005, 1.01, 1.015)
# Profile samples per module.
BARCODE_SUBSAMPLES = 6
# How far (subsamples, each side) a scan may have grown (+) or thinned (-)
# the bars: blur and a 1-bit threshold merge the 1-module spaces.
BARCODE_GROWTH = (-2, -1, 0, 1, 2, 3, 4, 5)
#: The grid fit is accepted when the symbols every sheet barcode shares
#: (start, ``LJUN-``, ``-``, Code C, Stop) differ from their predicted
#: profile by at most this mean squared darkness (0 perfect, 1 inverted).
BARCODE_GRID_FIT_MAX = 0.08
#: A symbol value stays a candidate while its squared error over the
#: symbol's 11 x BARCODE_SUBSAMPLES samples is within this of the best
#: value's (2 = a third of a module wrong); a reading is accepted only
#: when exactly one combination of candidates agrees with a candidate of
#: the check symbol.  Fitted on generated 1-bit scans where zbar failed.
BARCODE_GRID_TOLERANCE = 2.0
# At most this many candidates per symbol are combined.
BARCODE_GRID_CANDIDATES = 12


@dataclass(frozen=True, eq=False)
class DecodedMarks:
    """Everything the bubbles say, with flags and per-bubble confidence.

    Attributes
    ----------
    fields : dict of str to str
        ``nama``, ``nomor_peserta``, ``tanggal_lahir``, ``kode_kompetensi``,
        ``paket`` in record format (absent fields are ``""``).
    answers : tuple of str
        One string per item.
    flags : tuple of str
        See :mod:`ljun.pipeline`.
    confidence : (N,) ndarray of float32
        Per bubble, geometry order: 1 sure, towards 0 near a boundary.
    evidence : (N,) ndarray of float32
        Per bubble, geometry order: the mark evidence the decisions were
        made on (:func:`ljun.read.mark_evidence`).
    """

    fields: dict[str, str]
    answers: tuple[str, ...]
    flags: tuple[str, ...]
    confidence: np.ndarray
    evidence: np.ndarray


@dataclass(frozen=True)
class BarcodeReading:
    """The barcode found in the template's barcode area.

    ``text`` is ``""`` when nothing decoded; ``has_ink`` says whether the area
    holds printed bars at all.
    """

    text: str
    has_ink: bool


def decode_marks(
    bubbles: BubbleDarkness,
    geometry: BubbleGeometry,
    template: Template,
    calibration: Calibration,
    *,
    evidence: np.ndarray | None = None,
) -> DecodedMarks:
    """Decode every field of the sheet from the bubbles' darkness.

    Parameters
    ----------
    bubbles : BubbleDarkness
        From :func:`ljun.read.measure_darkness` over ``geometry``.
    geometry : BubbleGeometry
    template : Template
    calibration : Calibration
    evidence : (N,) ndarray of float32, optional
        The mark evidence to decide on; default
        :func:`ljun.read.mark_evidence` of ``bubbles``
        (:func:`ljun.pipeline.analyse_sheet` passes it after a closer look
        at the unsure bubbles, :func:`ljun._closer_look.closer_evidence`).
    """
    read_cal = calibration.read
    bands = bands_for(bubbles, read_cal)
    if evidence is None:
        evidence = mark_evidence(bubbles, read_cal)
    flags: list[str] = []
    confidence = np.ones(len(geometry), dtype=np.float32)
    fields: dict[str, str] = {}
    answers: tuple[str, ...] = ()
    decisions = decide_fields(evidence, bubbles.inside, geometry, bands, read_cal)
    for fld in template.fields:
        grid = geometry.grid(fld.name)
        decision = decisions[fld.name]
        confidence[grid] = decision.confidence
        if fld.kind == "answers":
            answers, answer_flags = _answers(decision, fld.options)
            flags += answer_flags
        elif fld.kind == "choice":
            fields[fld.name], choice_flags = _choice(fld.name, decision, fld.options)
            flags += choice_flags
        else:
            text, column_flags = _columns(fld.name, fld.kind, decision, fld.options)
            flags += column_flags
            fields[fld.name] = text
    flags += _validate(fields, calibration.decode)
    fields = _display(fields)
    return DecodedMarks(
        fields=fields, answers=answers, flags=tuple(flags), confidence=confidence, evidence=evidence
    )


def decide_fields(
    evidence: np.ndarray,
    inside: np.ndarray,
    geometry: BubbleGeometry,
    bands: Bands,
    calibration: ReadCalibration,
) -> dict[str, ItemDecision]:
    """:func:`ljun.read.decide_items` for every field of ``geometry`` in one call.

    The fields' items are stacked as rows of one array, short rows padded
    with bubbles of evidence -inf (never a mark, never the darkest, always
    sure), so each field's decision equals its own ``decide_items`` call
    (0.1 ms where six calls take 0.3 ms, warm).

    Parameters
    ----------
    evidence : (N,) ndarray of float32
        Mark evidence of every bubble (:func:`ljun.read.mark_evidence`).
    inside : (N,) ndarray of bool
        Bubbles on the scan.

    Returns
    -------
    dict of str to ItemDecision
        Per field name, the decision of its ``(items, options)`` grid.
    """
    slots, rows = _field_rows(geometry)
    padded = np.append(evidence.astype(np.float32), np.float32(-np.inf))[slots]
    on_scan = np.append(inside, True)[slots]
    stacked = decide_items(padded, bands, calibration, on_scan)
    decisions = {}
    for name, shape, row in zip(geometry.field_names, geometry.field_shapes, rows):
        options = shape[1]
        decisions[name] = ItemDecision(
            marked=stacked.marked[row, :options],
            count=stacked.count[row],
            choice=stacked.choice[row],
            unsure=stacked.unsure[row],
            confidence=stacked.confidence[row, :options],
        )
    return decisions


@functools.lru_cache(maxsize=8)
def _field_rows(geometry: BubbleGeometry) -> tuple[np.ndarray, tuple[slice, ...]]:
    """Every field's grid stacked: (items of all fields, most options) bubble
    indices, padded with N (one past the last bubble), and each field's rows."""
    grids = [geometry.grid(name) for name in geometry.field_names]
    width = max(grid.shape[1] for grid in grids)
    slots = np.full((sum(len(grid) for grid in grids), width), len(geometry), dtype=np.intp)
    rows, start = [], 0
    for grid in grids:
        slots[start : start + len(grid), : grid.shape[1]] = grid
        rows.append(slice(start, start + len(grid)))
        start += len(grid)
    slots.setflags(write=False)
    return slots, tuple(rows)


def _answers(decision, options: tuple[str, ...]) -> tuple[tuple[str, ...], list[str]]:
    letters = np.array(options, dtype=object)[decision.choice]
    answers = np.where(decision.count == 1, letters, np.where(decision.count == 0, BLANK, MULTI))
    flags = [Flag.ANSWER_UNSURE.at(i + 1) for i in np.flatnonzero(decision.unsure)]
    flags += [
        Flag.ANSWER_MULTI.at(i + 1) for i in np.flatnonzero((decision.count > 1) & ~decision.unsure)
    ]
    return tuple(str(a) for a in answers), flags


def _choice(name: str, decision, options: tuple[str, ...]) -> tuple[str, list[str]]:
    count = int(decision.count[0])
    flags = []
    if count == 1:
        value = options[int(decision.choice[0])]
    elif count == 0:
        value = BLANK
        flags.append(f"no_{name}")  # no_paket: the only choice field
    else:
        value = UNREAD
        flags.append(Flag.MULTI_MARK.at(name, 1))
    if decision.unsure[0]:
        flags.append(Flag.UNSURE.at(name, 1))
    return value, flags


def _columns(name: str, kind: str, decision, options: tuple[str, ...]) -> tuple[str, list[str]]:
    """One character per column: the mark, blank, or ``?``."""
    chars = np.array(options, dtype=object)[decision.choice]
    blank = " " if kind == "letters" else UNREAD
    text = np.where(decision.count == 1, chars, np.where(decision.count == 0, blank, UNREAD))
    flags = [Flag.MULTI_MARK.at(name, c + 1) for c in np.flatnonzero(decision.count > 1)]
    flags += [Flag.UNSURE.at(name, c + 1) for c in np.flatnonzero(decision.unsure)]
    value = "".join(str(t) for t in text)
    if kind == "letters":
        value = value.rstrip(" ")
        if not value:
            flags.append(Flag.BLANK.at(name))
    return value, flags


def _validate(fields: dict[str, str], rules: DecodeCalibration) -> list[str]:
    flags = []
    if "nomor_peserta" in fields and not valid_nomor_peserta(
        fields["nomor_peserta"], rules.nomor_peserta_check
    ):
        flags.append(Flag.INVALID.at("nomor_peserta"))
    if "tanggal_lahir" in fields and not valid_tanggal_lahir(
        format_tanggal_lahir(fields["tanggal_lahir"])
    ):
        flags.append(Flag.INVALID.at("tanggal_lahir"))
    if "kode_kompetensi" in fields and not valid_kode_kompetensi(fields["kode_kompetensi"]):
        flags.append(Flag.INVALID.at("kode_kompetensi"))
    return flags


def _display(fields: dict[str, str]) -> dict[str, str]:
    out = dict(fields)
    if len(out.get("nomor_peserta", "")) == NOMOR_PESERTA_DIGITS:
        out["nomor_peserta"] = format_nomor_peserta(out["nomor_peserta"])
    if "tanggal_lahir" in out:
        out["tanggal_lahir"] = format_tanggal_lahir(out["tanggal_lahir"])
    return out


# --------------------------------------------------------------------------- formats


def format_tanggal_lahir(digits: str) -> str:
    """``DD-MM-YY`` from 6 characters (other lengths unchanged).

    >>> format_tanggal_lahir("170895")
    '17-08-95'
    """
    if len(digits) != 6:
        return digits
    return f"{digits[0:2]}-{digits[2:4]}-{digits[4:6]}"


def valid_nomor_peserta(value: str, check: str = "none") -> bool:
    """14 digits (hyphens allowed), and the check digit rule ``check`` holds."""
    digits = value.replace("-", "")
    if len(digits) != NOMOR_PESERTA_DIGITS or not digits.isdigit() or not digits.isascii():
        return False
    if check == "luhn":
        return luhn_valid(digits)
    return True


def valid_tanggal_lahir(value: str) -> bool:
    """``DD-MM-YY`` is a real date in 19YY or 20YY."""
    match = re.fullmatch(r"([0-9]{2})-([0-9]{2})-([0-9]{2})", value)
    if not match:
        return False
    day, month, year = (int(g) for g in match.groups())
    for century in (1900, 2000):
        try:
            datetime.date(century + year, month, day)
        except ValueError:
            continue
        return True
    return False


def valid_kode_kompetensi(value: str) -> bool:
    """The code is in the guide's Lampiran 2 list (:mod:`ljun.kompetensi`)."""
    return value in competency_codes()


def barcode_paket(text: str) -> str | None:
    """The paket a sheet barcode names (``A``/``B``/``S``), ``None`` if not a sheet barcode."""
    match = BARCODE_PATTERN.fullmatch(text)
    return match.group("paket") if match else None


# --------------------------------------------------------------------------- barcode


def barcode_crop(
    image: np.ndarray, registration: Registration, template: Template, geometry: BubbleGeometry
) -> np.ndarray:
    """The template's barcode area cut out of the scan, upright.

    Returns
    -------
    (h, w) ndarray of uint8
        Sampled at ``max(scan resolution, BARCODE_MIN_PX_PER_MM)``; empty
        when the template has no barcode area.
    """
    area = template.barcode
    if area is None:
        return np.zeros((0, 0), np.uint8)
    px_per_mm = max(registration.dpi / 25.4, BARCODE_MIN_PX_PER_MM)
    x0, y0 = area.x_mm - BARCODE_MARGIN_MM, area.y_mm - BARCODE_MARGIN_MM
    width_mm = area.width_mm + 2 * BARCODE_MARGIN_MM
    height_mm = area.height_mm + 2 * BARCODE_MARGIN_MM
    out_w, out_h = int(round(width_mm * px_per_mm)), int(round(height_mm * px_per_mm))
    # crop pixel (u, v) -> paper mm -> template px -> scan px
    crop_to_mm = np.array(
        [
            [1 / px_per_mm, 0, x0 + 0.5 / px_per_mm],
            [0, 1 / px_per_mm, y0 + 0.5 / px_per_mm],
            [0, 0, 1],
        ]
    )
    scale = geometry.dpi / 25.4
    mm_to_template = np.array([[scale, 0, -0.5], [0, scale, -0.5], [0, 0, 1]])
    crop_to_scan = registration.homography @ mm_to_template @ crop_to_mm
    return cv2.warpPerspective(
        image,
        crop_to_scan,
        (out_w, out_h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    )


def decode_barcode(
    image: np.ndarray,
    registration: Registration,
    template: Template,
    geometry: BubbleGeometry,
    *,
    bilevel: bool | None = None,
) -> BarcodeReading:
    """Decode the Code 128 in the template's barcode area with pyzbar.

    ``bilevel`` is whether the scan is black and white
    (:func:`ljun.read.is_bilevel`), when the caller knows it already.
    """
    from pyzbar.pyzbar import ZBarSymbol
    from pyzbar.pyzbar import decode as zbar_decode

    crop = barcode_crop(image, registration, template, geometry)
    if crop.size == 0:
        return BarcodeReading(text="", has_ink=False)
    bars = _bar_band(crop, template)
    paper = gray_quantile(crop, 90)
    has_ink = bool(np.mean(bars < paper * BARCODE_INK_FRACTION) > BARCODE_INK_MIN)
    if not has_ink:
        return BarcodeReading(text="", has_ink=False)
    if bilevel is None:
        bilevel = is_bilevel(image)
    for image in _barcode_candidates(crop, template):
        found = zbar_decode(image, symbols=[ZBarSymbol.CODE128])
        texts = sorted({f.data.decode("ascii", "replace") for f in found})
        if len(texts) == 1:
            text = texts[0]
            # zbar's own check can pass a misread (mod 103) of bars a 1-bit
            # scan ragged: where the sheet barcode's grid fits, it must allow
            # zbar's text, and a text that is no sheet barcode gives way to a
            # clear grid reading.  (Gray scans: zbar alone, no misread seen.)
            grid = _grid_candidates(crop, template) if bilevel else None
            if grid is not None:
                if BARCODE_PATTERN.fullmatch(text) and not grid.allows(text):
                    continue
                readings = grid.readings()
                if not BARCODE_PATTERN.fullmatch(text) and len(readings) == 1:
                    text = readings[0]
            return BarcodeReading(text=text, has_ink=True)
    return BarcodeReading(text=decode_sheet_barcode_grid(crop, template), has_ink=True)


def _bar_band(crop: np.ndarray, template: Template) -> np.ndarray:
    """The part of the crop where bars are printed (inside the area's frame)."""
    area = template.barcode
    assert area is not None
    px_per_mm = crop.shape[0] / (area.height_mm + 2 * BARCODE_MARGIN_MM)
    top = int(round((BARCODE_MARGIN_MM + BARCODE_BAR_TOP_MM) * px_per_mm))
    bottom = int(round((BARCODE_MARGIN_MM + area.height_mm - BARCODE_TEXT_MM) * px_per_mm))
    inset = int(round((BARCODE_MARGIN_MM + BARCODE_BAR_TOP_MM) * px_per_mm))
    return crop[top:bottom, inset : crop.shape[1] - inset]


def _barcode_candidates(crop: np.ndarray, template: Template):
    """Images to try, cheapest and most robust first.

    A 1-D barcode's bars run the full height: averaging the middle of the
    bars down each column gives a clean profile even when noise, a 1-bit
    threshold or blur have ragged every single row.  The upright crop itself
    is the last resort.
    """
    area = template.barcode
    assert area is not None
    height_mm = area.height_mm + 2 * BARCODE_MARGIN_MM
    px_per_mm = crop.shape[0] / height_mm
    bar_top = BARCODE_MARGIN_MM + BARCODE_BAR_TOP_MM
    bar_bottom = BARCODE_MARGIN_MM + area.height_mm - BARCODE_TEXT_MM
    for start, stop in BARCODE_PROFILE_BANDS:
        top = int(round((bar_top + start * (bar_bottom - bar_top)) * px_per_mm))
        bottom = int(round((bar_top + stop * (bar_bottom - bar_top)) * px_per_mm))
        if bottom - top < 2:
            continue
        profile = crop[top:bottom].mean(axis=0)
        yield np.ascontiguousarray(
            np.tile(np.clip(profile + 0.5, 0, 255).astype(np.uint8), (BARCODE_PROFILE_ROWS, 1))
        )
    yield crop


# --------------------------------------------------------------------------- barcode grid


def sheet_barcode_symbols(paket: str, serial: str) -> list[int]:
    """Code 128 symbol values of ``LJUN-<paket>-<serial>`` as the renderer writes it.

    Start B, the text up to the serial in code set B, Code C, the serial in
    digit pairs, and the check symbol (the Stop is not a value).

    >>> sheet_barcode_symbols("A", "000123")
    [104, 44, 42, 53, 46, 13, 33, 13, 99, 0, 1, 23, 27]
    """
    values = [_C128_START_B, *(ord(ch) - 32 for ch in f"LJUN-{paket}-"), _C128_CODE_C]
    values += [int(serial[i : i + 2]) for i in range(0, len(serial), 2)]
    check = (values[0] + sum(i * v for i, v in enumerate(values[1:], start=1))) % 103
    return [*values, check]


@functools.lru_cache(maxsize=1)
def _code128_patterns() -> tuple[np.ndarray, np.ndarray]:
    """Pattern table (106, 11) as 0/1 floats and the Stop pattern (13,)."""
    from barcode.charsets import code128

    table = np.array([[int(b) for b in code] for code in code128.CODES], dtype=np.float32)
    stop = np.array([int(b) for b in code128.STOP + "11"], dtype=np.float32)
    return table, stop


def decode_sheet_barcode_grid(crop: np.ndarray, template: Template) -> str:
    """Read the sheet barcode on its known module grid, ``""`` when unsure.

    For bars a 1-bit threshold or blur merged, which zbar cannot separate.
    The sheet barcode ``LJUN-<paket>-<6 digits>`` always has the same
    module grid and shares most symbols (start, ``LJUN-``, ``-``, Code C,
    Stop); the column profile of the bars is fitted, over grid position,
    module width and how much the scan grew the bars, to what those shared
    symbols look like once grown; then every value the paket symbol, the
    three digit pairs and the check symbol can take is compared with its
    part of the profile.  The reading is accepted only when the shared
    symbols fit (``BARCODE_GRID_FIT_MAX``) and exactly one combination of
    close candidates agrees with a close candidate of the check symbol
    (``BARCODE_GRID_TOLERANCE``): a space the scan filled in makes values
    alike, and the check symbol tells them apart or the sheet goes to review.

    Parameters
    ----------
    crop : (h, w) ndarray of uint8
        From :func:`barcode_crop`.
    template : Template

    Returns
    -------
    str
        The barcode text, or ``""``.
    """
    candidates = _grid_candidates(crop, template)
    readings = candidates.readings() if candidates is not None else []
    return readings[0] if len(readings) == 1 else ""


def _grid_candidates(crop: np.ndarray, template: Template) -> _GridCandidates | None:
    """Close values of each variable symbol; ``None`` when the grid does not fit."""
    area = template.barcode
    if area is None or crop.size == 0:
        return None
    table, stop = _code128_patterns()
    reference = sheet_barcode_symbols("A", "000000")
    n_symbols = len(reference)
    n_modules = n_symbols * _C128_SYMBOL_MODULES + len(stop)
    module_mm = area.width_mm / (n_modules + 2 * BARCODE_QUIET_MODULES)
    px_per_mm = crop.shape[0] / (area.height_mm + 2 * BARCODE_MARGIN_MM)
    bar_top = BARCODE_MARGIN_MM + BARCODE_BAR_TOP_MM
    bar_bottom = BARCODE_MARGIN_MM + area.height_mm - BARCODE_TEXT_MM
    first, last = BARCODE_PROFILE_BANDS[0]
    rows = slice(
        int(round((bar_top + first * (bar_bottom - bar_top)) * px_per_mm)),
        int(round((bar_top + last * (bar_bottom - bar_top)) * px_per_mm)),
    )
    # Darkness down each column (the bars run the full height), 0 paper .. 1 bar.
    column = crop[rows].mean(axis=0, dtype=np.float64)
    paper, ink = np.percentile(column, [95, 5])
    if paper - ink < 1.0:
        return None
    profile = np.clip((paper - column) / (paper - ink), 0.0, 1.0)

    sub = BARCODE_SUBSAMPLES
    module_px = module_mm * px_per_mm
    start = (BARCODE_MARGIN_MM + BARCODE_QUIET_MODULES * module_mm) * px_per_mm - 0.5
    shifts = np.arange(
        -BARCODE_GRID_SEARCH_MM * px_per_mm,
        BARCODE_GRID_SEARCH_MM * px_per_mm + 1e-9,
        module_px / sub,
    )
    widths = module_px * np.asarray(BARCODE_GRID_SCALES)
    at = (np.arange(n_modules * sub) + 0.5) / sub  # sample positions, in modules

    grown, shared, predicted_by_growth = _grid_models()
    # Every grid is fitted on the samples all sheet barcodes share (the
    # variable symbols are read on the best grid only).
    seen_shared = _profile_at(
        profile, start + shifts[:, None, None] + widths[None, :, None] * at[shared][None, None, :]
    )  # (S, W, shared samples)
    model = grown[:, shared]
    # Mean squared difference, as (o - g)^2 = o^2 - 2 o.g + g^2 (one matrix product).
    error = (
        (seen_shared**2).sum(axis=-1)[..., None]
        - 2.0 * seen_shared @ model.T
        + (model**2).sum(axis=-1)
    ) / np.count_nonzero(shared)
    s_best, w_best, g_best = np.unravel_index(np.argmin(error), error.shape)
    if error[s_best, w_best, g_best] > BARCODE_GRID_FIT_MAX:
        return None
    observed = _profile_at(profile, start + shifts[s_best] + widths[w_best] * at)
    seen = observed[: n_symbols * _C128_SYMBOL_MODULES * sub].reshape(
        n_symbols, _C128_SYMBOL_MODULES * sub
    )
    predicted = predicted_by_growth[g_best]  # (106, 11 * sub)
    cost = ((seen[:, None, :] - predicted[None, :, :]) ** 2).sum(axis=-1)  # (n_symbols, 106)

    def close(slot: int, allowed: list[int]) -> tuple[int, ...]:
        values = np.asarray(allowed)
        costs = cost[slot, values]
        keep = values[costs <= costs.min() + BARCODE_GRID_TOLERANCE]
        return tuple(int(v) for v in keep[np.argsort(cost[slot, keep])][:BARCODE_GRID_CANDIDATES])

    return _GridCandidates(
        paket=close(_C128_PAKET_SLOT, [ord(p) - 32 for p in "ABS"]),
        pairs=tuple(close(slot, list(range(100))) for slot in _C128_PAIR_SLOTS),
        check=close(_C128_CHECK_SLOT, list(range(103))),
    )


def _profile_at(profile: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The profile linearly interpolated at pixel positions ``x`` (any shape;
    np.interp's search is not needed: the positions are on a regular grid)."""
    x = np.clip(x, 0.0, len(profile) - 1.001)
    left = x.astype(np.intp)
    frac = x - left
    return profile[left] * (1.0 - frac) + profile[left + 1] * frac


@dataclass(frozen=True)
class _GridCandidates:
    """Symbol values close to the profile, per variable symbol of the sheet barcode."""

    paket: tuple[int, ...]
    pairs: tuple[tuple[int, ...], ...]
    check: tuple[int, ...]

    def readings(self) -> list[str]:
        """Every text whose symbols are all candidates, the check symbol included."""
        out = []
        for p in self.paket:
            for a in self.pairs[0]:
                for b in self.pairs[1]:
                    for c in self.pairs[2]:
                        serial = f"{a:02d}{b:02d}{c:02d}"
                        if sheet_barcode_symbols(chr(p + 32), serial)[-1] in self.check:
                            out.append(f"LJUN-{chr(p + 32)}-{serial}")
        return out

    def allows(self, text: str) -> bool:
        """``text`` (a sheet barcode) is among the candidates' readings."""
        match = BARCODE_PATTERN.fullmatch(text)
        if match is None:
            return False
        values = sheet_barcode_symbols(match.group("paket"), match.group("serial"))
        return (
            values[_C128_PAKET_SLOT] in self.paket
            and all(values[s] in c for s, c in zip(_C128_PAIR_SLOTS, self.pairs))
            and values[_C128_CHECK_SLOT] in self.check
        )


@functools.lru_cache(maxsize=1)
def _grid_models() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the sheet barcode looks like on its grid, once per process.

    Returns the symbols every sheet barcode shares, grown by each of
    ``BARCODE_GROWTH`` ``(G, n_modules * BARCODE_SUBSAMPLES)``; the mask of
    the samples they alone decide; and every symbol value grown in its
    context ``(G, 106, 11 * BARCODE_SUBSAMPLES)``: a symbol follows a space
    (every symbol ends in one) and precedes a bar (every symbol and the
    stop begin with one).
    """
    table, stop = _code128_patterns()
    sub = BARCODE_SUBSAMPLES
    reference = sheet_barcode_symbols("A", "000000")
    ideal = np.repeat(np.concatenate([table[v] for v in reference] + [stop]), sub)
    grown = np.stack([_grow(ideal, g) for g in BARCODE_GROWTH])
    shared = np.ones(len(ideal), dtype=bool)
    for slot in (_C128_PAKET_SLOT, *_C128_PAIR_SLOTS, _C128_CHECK_SLOT):
        # The symbol and what its bars may grow into on either side.
        lo = slot * _C128_SYMBOL_MODULES * sub - sub
        hi = (slot + 1) * _C128_SYMBOL_MODULES * sub + sub
        shared[max(lo, 0) : hi] = False
    context = np.concatenate(
        [np.zeros((len(table), sub)), np.repeat(table, sub, axis=1), np.ones((len(table), sub))],
        axis=1,
    )
    predicted = np.stack(
        [np.stack([_grow(row, g) for row in context])[:, sub:-sub] for g in BARCODE_GROWTH]
    )
    for array in (grown, shared, predicted):
        array.setflags(write=False)
    return grown, shared, predicted


def _grow(row: np.ndarray, growth: int) -> np.ndarray:
    """Bars of a 0/1 profile grown (``growth`` > 0) or thinned (< 0), samples each side."""
    if growth == 0:
        return row.astype(np.float64)
    size = 2 * abs(growth) + 1
    padded = np.pad(row, abs(growth), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, size)
    return (windows.max(axis=1) if growth > 0 else windows.min(axis=1)).astype(np.float64)
