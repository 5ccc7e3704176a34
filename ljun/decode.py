"""Decoding: bubble decisions into answers, identity strings, paket and barcode.

Pure functions over the kernel's output (:mod:`ljun.read`):

* :func:`decode_marks` turns every field's bubble darkness into the strings of
  a result record (ARCHITECTURE.md §3) plus flags, and the per-bubble confidence;
* :func:`decode_barcode` reads the Code 128 in the template's barcode area
  through the homography (an upright crop, never a page warp) with pyzbar,
  and by synthesis where zbar fails (:func:`read_sheet_barcode_model`); where
  synthesis reads the paket alone, the serial printed under the bars
  (:func:`printed_serial`), when the bars agree with it;
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
import itertools
import math
import re
from dataclasses import dataclass, field

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
from .register import Registration, count_below, gray_quantile
from .render import BARCODE_QUIET_MODULES, BARCODE_TEXT_MM
from .template import BarcodeArea, BubbleGeometry, Template
from .vocabulary import BLANK, MULTI, UNREAD, Flag

__all__ = [
    "NOMOR_PESERTA_DIGITS",
    "BARCODE_PATTERN",
    "DecodedMarks",
    "BarcodeReading",
    "decode_marks",
    "decode_barcode",
    "read_barcode_crop",
    "format_nomor_peserta",
    "format_tanggal_lahir",
    "valid_nomor_peserta",
    "valid_tanggal_lahir",
    "valid_kode_kompetensi",
    "luhn_valid",
    "barcode_paket",
    "barcode_serial_read",
    "barcode_read_in_part",
    "read_sheet_barcode_model",
]

#: Sheet barcodes: ``LJUN-<paket>-<serial of 6 digits>``.
BARCODE_PATTERN = re.compile(r"LJUN-(?P<paket>[ABS])-(?P<serial>[0-9]{6})")
#: A sheet barcode whose paket symbol was read but not its serial
#: (``LJUN-<paket>-??????``, see :func:`read_sheet_barcode_model`).
BARCODE_PAKET_ONLY_PATTERN = re.compile(r"LJUN-(?P<paket>[ABS])-(?P<serial>\?{6})")

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
# The values each of them can take: paket A, B or S (code set B), a digit
# pair 0-99 (code set C), a check symbol 0-102.
_C128_PAKET_VALUES = np.array([ord(p) - 32 for p in "ABS"])
_C128_PAIR_VALUES = np.arange(100)
_C128_CHECK_VALUES = np.arange(103)
# The grid is searched within this distance (mm) of where the registration
# puts it, in steps of 1/BARCODE_SUBSAMPLES module, and over these relative
# module widths (print and scan scale beyond the homography's).
BARCODE_GRID_SEARCH_MM = 0.9
BARCODE_GRID_SCALES = (0.985, 0.99, 0.995, 1.0, 1.005, 1.01, 1.015)
# Profile samples per module.
BARCODE_SUBSAMPLES = 6
# The grid's position is searched coarse to fine: every this many steps of
# the search first (half a module, where a bar's fit is still in its
# basin), then every step within one coarse step of the best.
BARCODE_GRID_COARSE = 3
# How far (subsamples, each side) a scan may have grown (+) or thinned (-)
# the bars: blur and a 1-bit threshold merge the 1-module spaces.
BARCODE_GROWTH = (-2, -1, 0, 1, 2, 3, 4, 5)
#: The grid fit is accepted when the symbols every sheet barcode shares
#: (start, ``LJUN-``, ``-``, Code C, Stop) differ from their predicted
#: profile by at most this mean squared darkness (0 perfect, 1 inverted).
BARCODE_GRID_FIT_MAX = 0.08
#: A symbol value stays a candidate while its squared error over the
#: symbol's 11 x BARCODE_SUBSAMPLES samples is within this of the best
#: value's (2 = a third of a module wrong); zbar's text on a 1-bit scan
#: must be made of candidates, its check symbol included.  Fitted on
#: generated 1-bit scans where zbar failed.
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
    # Python lists, not object arrays: 40 items, a fifth of the time.
    counts, choice, unsure = (
        decision.count.tolist(),
        decision.choice.tolist(),
        decision.unsure.tolist(),
    )
    answers = tuple(
        options[c] if n == 1 else BLANK if n == 0 else MULTI for n, c in zip(counts, choice)
    )
    flags = [Flag.ANSWER_UNSURE.at(i + 1) for i, u in enumerate(unsure) if u]
    flags += [
        Flag.ANSWER_MULTI.at(i + 1)
        for i, (n, u) in enumerate(zip(counts, unsure))
        if n > 1 and not u
    ]
    return answers, flags


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
    counts, choice = decision.count.tolist(), decision.choice.tolist()
    blank = " " if kind == "letters" else UNREAD
    value = "".join(
        options[c] if n == 1 else blank if n == 0 else UNREAD for n, c in zip(counts, choice)
    )
    flags = [Flag.MULTI_MARK.at(name, c + 1) for c, n in enumerate(counts) if n > 1]
    flags += [Flag.UNSURE.at(name, c + 1) for c, u in enumerate(decision.unsure.tolist()) if u]
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
    """The paket a sheet barcode names (``A``/``B``/``S``), ``None`` if not a sheet barcode.

    A barcode read in part (``LJUN-A-??????``: the paket symbol alone) names its paket too.

    >>> barcode_paket("LJUN-B-??????"), barcode_paket("LJUN-B-12??56")
    ('B', None)
    """
    match = BARCODE_PATTERN.fullmatch(text) or BARCODE_PAKET_ONLY_PATTERN.fullmatch(text)
    return match.group("paket") if match else None


def barcode_serial_read(text: str) -> bool:
    """False for a sheet barcode whose serial could not be read (``LJUN-A-??????``)."""
    return BARCODE_PAKET_ONLY_PATTERN.fullmatch(text) is None


def barcode_read_in_part(text: str, truth: str) -> bool:
    """``text`` is the barcode ``truth`` declared unread in part: its paket
    right, its serial unread (``LJUN-A-??????``); not a wrong reading.

    >>> barcode_read_in_part("LJUN-A-??????", "LJUN-A-123456")
    True
    >>> barcode_read_in_part("LJUN-B-??????", "LJUN-A-123456")
    False
    """
    return (
        text != truth
        and not barcode_serial_read(text)
        and barcode_paket(text) == barcode_paket(truth)
    )


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
    """Decode the Code 128 in the template's barcode area
    (:func:`read_barcode_crop` on :func:`barcode_crop`).

    ``bilevel`` is whether the scan is black and white
    (:func:`ljun.read.is_bilevel`), when the caller knows it already.
    """
    crop = barcode_crop(image, registration, template, geometry)
    if crop.size == 0:
        return BarcodeReading(text="", has_ink=False)
    if bilevel is None:
        bilevel = is_bilevel(image)
    return read_barcode_crop(crop, template, bilevel=bilevel)


def read_barcode_crop(crop: np.ndarray, template: Template, *, bilevel: bool) -> BarcodeReading:
    """Read the barcode area cut out by :func:`barcode_crop`.

    zbar first (on column profiles, then the crop; on a 1-bit scan its text
    must be allowed by the sheet barcode's module grid), then synthesis
    (:func:`read_sheet_barcode_model`), which may read the paket symbol
    alone: then the serial printed under the bars is read
    (:func:`printed_serial`: only when the bars agree with it), and if it
    is not, the text is ``LJUN-<paket>-??????``.  (The grid's own
    reading of merged bars was dropped: synthesis read every barcode it
    read, on generated hard and moderate scans, and the one it read wrong,
    a 300-dpi adaptive 1-bit scan, tests/test_barcode.py.)  A zbar text
    that is no sheet barcode is kept only when synthesis reads nothing (a
    foreign barcode: ``invalid:barcode``).
    """
    bars = _bar_band(crop, template)
    paper = gray_quantile(crop, 90)
    has_ink = _share_darker(bars, paper * BARCODE_INK_FRACTION) > BARCODE_INK_MIN
    if not has_ink:
        return BarcodeReading(text="", has_ink=False)
    foreign = ""
    # The grid of this crop, made once, when a zbar text on a 1-bit scan needs it.
    grid_of_crop = functools.cache(lambda: _grid_candidates(crop, template))
    for image in _barcode_candidates(crop, template):
        texts = sorted({data.decode("ascii", "replace") for data in zbar_code128(image)})
        if len(texts) != 1:
            continue
        text = texts[0]
        if not BARCODE_PATTERN.fullmatch(text):
            # A foreign barcode, or a misread that zbar's own check (mod
            # 103) let pass ("%JUN-A-520978" on blurred gray scans):
            # synthesis reads first.
            foreign = foreign or text
            continue
        # zbar can misread bars a 1-bit scan ragged: where the sheet
        # barcode's grid fits, it must allow zbar's text.  (Gray scans:
        # zbar alone, no misread into a sheet barcode seen.)
        grid = grid_of_crop() if bilevel else None
        if grid is not None and not grid.allows(text):
            continue
        return BarcodeReading(text=text, has_ink=True)
    model = read_sheet_barcode_model(crop, template)
    if model.paket and not model.text and model.ranked is not None:
        # The bars name the paket but not the serial: the digits printed
        # under them, where the bars agree.
        serial = printed_serial(crop, template, model.paket, model.ranked)
        if serial:
            return BarcodeReading(text=f"LJUN-{model.paket}-{serial}", has_ink=True)
    # A sure paket symbol says the bars are the sheet barcode's: a foreign
    # zbar text was a misread.
    paket_only = f"LJUN-{model.paket}-{BARCODE_SERIAL_UNREAD}" if model.paket else ""
    return BarcodeReading(text=model.text or paket_only or foreign, has_ink=True)


#: zbar's name for 8-bit gray pixels, the four characters "Y800" packed
#: little-endian (as zbar's ``zbar_fourcc``), spelled here rather than taken
#: from pyzbar's private table.
_GRAY8_FOURCC = int.from_bytes(b"Y800", "little")


def zbar_code128(image: np.ndarray) -> list[bytes]:
    """The data of every Code 128 symbol zbar finds in ``image``.

    What ``pyzbar.pyzbar.decode(image, symbols=[ZBarSymbol.CODE128])``
    finds, by the same zbar calls on a scanner set up the same way (every
    symbology off, Code 128 on), without what pyzbar adds to each symbol
    and ljun does not use (its outline, a convex hull in Python) and
    without switching the symbologies off one call each (zbar's
    ``ZBAR_NONE`` reaches them all): 0.09 instead of 0.16 ms a call.

    Parameters
    ----------
    image : (H, W) ndarray of uint8

    Returns
    -------
    list of bytes
        In zbar's order.
    """
    from ctypes import c_void_p, cast, string_at

    from pyzbar import wrapper as zbar
    from pyzbar.pyzbar import PyZbarError, ZBarSymbol

    pixels = np.ascontiguousarray(image, dtype=np.uint8).tobytes()
    height, width = image.shape
    found: list[bytes] = []
    scanner = zbar.zbar_image_scanner_create()
    if not scanner:
        raise PyZbarError("Could not create image scanner")
    try:
        enable = zbar.ZBarConfig.CFG_ENABLE
        zbar.zbar_image_scanner_set_config(scanner, ZBarSymbol.NONE, enable, 0)
        zbar.zbar_image_scanner_set_config(scanner, ZBarSymbol.CODE128, enable, 1)
        zimage = zbar.zbar_image_create()
        if not zimage:
            raise PyZbarError("Could not create zbar image")
        try:
            zbar.zbar_image_set_format(zimage, _GRAY8_FOURCC)
            zbar.zbar_image_set_size(zimage, width, height)
            # As pyzbar passes them (ctypes takes bytes where typeshed says it does not).
            address = cast(pixels, c_void_p)  # type: ignore[arg-type]
            zbar.zbar_image_set_data(zimage, address, len(pixels), None)
            if zbar.zbar_scan_image(scanner, zimage) < 0:
                raise PyZbarError("Unsupported image format")
            symbol = zbar.zbar_image_first_symbol(zimage)
            while symbol:
                found.append(
                    string_at(
                        zbar.zbar_symbol_get_data(symbol),
                        zbar.zbar_symbol_get_data_length(symbol),
                    )
                )
                symbol = zbar.zbar_symbol_next(symbol)
        finally:
            zbar.zbar_image_destroy(zimage)
    finally:
        zbar.zbar_image_scanner_destroy(scanner)
    return found


def _bar_band(crop: np.ndarray, template: Template) -> np.ndarray:
    """The part of the crop where bars are printed (inside the area's frame)."""
    area = template.barcode
    assert area is not None
    px_per_mm = crop.shape[0] / (area.height_mm + 2 * BARCODE_MARGIN_MM)
    top = int(round((BARCODE_MARGIN_MM + BARCODE_BAR_TOP_MM) * px_per_mm))
    bottom = int(round((BARCODE_MARGIN_MM + area.height_mm - BARCODE_TEXT_MM) * px_per_mm))
    inset = int(round((BARCODE_MARGIN_MM + BARCODE_BAR_TOP_MM) * px_per_mm))
    return crop[top:bottom, inset : crop.shape[1] - inset]


def _share_darker(values: np.ndarray, level: float) -> float:
    """The share of 2-D uint8 ``values`` below ``level`` (0 of none):
    ``np.mean(values < level)``, counted by OpenCV
    (:func:`ljun.register.count_below`; gray levels are integers: below
    ``level`` is below ``ceil(level)``), a tenth of the time."""
    if values.size == 0:
        return 0.0
    return count_below(values, math.ceil(level)) / values.size


def _column_means(rows: np.ndarray) -> np.ndarray:
    """The mean of each column of uint8 ``rows``, (w,) float64:
    ``rows.mean(axis=0)``, from OpenCV's integer column sums (exact, as
    numpy's float64 sums of integers are), a quarter of the time."""
    if len(rows) == 0:
        return rows.mean(axis=0)  # NaN, as numpy has it
    return cv2.reduce(rows, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S)[0] / len(rows)


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
        profile = _column_means(crop[top:bottom])
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
@functools.lru_cache(maxsize=1)
def _code128_patterns() -> tuple[np.ndarray, np.ndarray]:
    """Pattern table (106, 11) as 0/1 floats and the Stop pattern (13,), made once."""
    from barcode.charsets import code128

    table = np.array([[int(b) for b in code] for code in code128.CODES], dtype=np.float32)
    stop = np.array([int(b) for b in code128.STOP + "11"], dtype=np.float32)
    for array in (table, stop):
        array.setflags(write=False)
    return table, stop


def _grid_search(
    height: int, area: BarcodeArea, n_modules: int
) -> tuple[float, np.ndarray, np.ndarray]:
    """Where the sheet barcode's grid of ``n_modules`` may lie in a crop
    ``height`` pixels high (pixels).

    Returns the nominal left edge of its first module, the shifts around it
    (``BARCODE_GRID_SEARCH_MM`` either way, a subsample apart) and the
    module widths tried (``BARCODE_GRID_SCALES``).
    """
    module_mm = area.width_mm / (n_modules + 2 * BARCODE_QUIET_MODULES)
    px_per_mm = height / (area.height_mm + 2 * BARCODE_MARGIN_MM)
    module_px = module_mm * px_per_mm
    start = (BARCODE_MARGIN_MM + BARCODE_QUIET_MODULES * module_mm) * px_per_mm - 0.5
    shifts = np.arange(
        -BARCODE_GRID_SEARCH_MM * px_per_mm,
        BARCODE_GRID_SEARCH_MM * px_per_mm + 1e-9,
        module_px / BARCODE_SUBSAMPLES,
    )
    return start, shifts, module_px * np.asarray(BARCODE_GRID_SCALES)


def _grid_candidates(crop: np.ndarray, template: Template) -> _GridCandidates | None:
    """Close values of each variable symbol; ``None`` when the grid does not fit.

    The check of zbar's text on 1-bit scans (:func:`read_barcode_crop`).
    The sheet barcode ``LJUN-<paket>-<6 digits>`` always has the same
    module grid and shares most symbols (start, ``LJUN-``, ``-``, Code C,
    Stop); the column profile of the bars is fitted, over grid position,
    module width and how much the scan grew the bars, to what those shared
    symbols look like once grown (``BARCODE_GRID_FIT_MAX``); then every value
    the paket symbol, the three digit pairs and the check symbol can take is
    compared with its part of the profile, and those within
    ``BARCODE_GRID_TOLERANCE`` of the best are kept.
    """
    area = template.barcode
    if area is None or crop.size == 0:
        return None
    n_symbols, n_modules = _grid_size()
    profile = _bar_profile(crop, template)
    if profile is None:
        return None

    sub = BARCODE_SUBSAMPLES
    start, shifts, widths = _grid_search(crop.shape[0], area, n_modules)
    at = _module_samples(n_modules * sub)

    _, shared, predicted_by_growth = _grid_models()
    # Every grid is fitted on the samples all sheet barcodes share (the
    # variable symbols are read on the best grid only).
    model, model_energy = _shared_grid_model()

    def fit(taps: tuple[np.ndarray, ...]) -> tuple[float, int, int, int]:
        # Mean squared difference, as (o - g)^2 = o^2 - 2 o.g + g^2 (one matrix product).
        seen = _interpolate(profile, *taps)  # (S, W, shared samples)
        error = ((seen**2).sum(axis=-1)[..., None] - 2.0 * seen @ model.T + model_energy) / len(
            seen[0, 0]
        )
        s, w, g = np.unravel_index(np.argmin(error), error.shape)
        return float(error[s, w, g]), int(s), int(w), int(g)

    coarse = BARCODE_GRID_COARSE
    _, s_coarse, _, _ = fit(_coarse_grid_taps(crop.shape, area, coarse))
    first = max(s_coarse * coarse - coarse + 1, 0)
    x = _grid_positions(start, shifts[first : s_coarse * coarse + coarse], widths, at[shared])
    fitted, s_fine, w_best, g_best = fit(_profile_taps(x, len(profile)))
    s_best = first + s_fine
    if fitted > BARCODE_GRID_FIT_MAX:
        return None
    observed = _profile_at(profile, start + shifts[s_best] + widths[w_best] * at)
    seen = observed[: n_symbols * _C128_SYMBOL_MODULES * sub].reshape(
        n_symbols, _C128_SYMBOL_MODULES * sub
    )
    predicted = predicted_by_growth[g_best]  # (106, 11 * sub)
    # The cost of every value of each variable symbol: (5, 106).
    variable = [_C128_PAKET_SLOT, *_C128_PAIR_SLOTS, _C128_CHECK_SLOT]
    costs_of = ((seen[variable, None, :] - predicted[None, :, :]) ** 2).sum(axis=-1)
    cost = dict(zip(variable, costs_of))

    def close(slot: int, values: np.ndarray) -> tuple[int, ...]:
        costs = cost[slot][values]
        keep = values[costs <= costs.min() + BARCODE_GRID_TOLERANCE]
        return tuple(int(v) for v in keep[np.argsort(cost[slot][keep])][:BARCODE_GRID_CANDIDATES])

    return _GridCandidates(
        paket=close(_C128_PAKET_SLOT, _C128_PAKET_VALUES),
        pairs=tuple(close(slot, _C128_PAIR_VALUES) for slot in _C128_PAIR_SLOTS),
        check=close(_C128_CHECK_SLOT, _C128_CHECK_VALUES),
    )


def _bar_profile(crop: np.ndarray, template: Template) -> np.ndarray | None:
    """Darkness down each column of the bars, ``(w,)`` float64 0 paper .. 1 bar
    (the bars run the full height); ``None`` for a crop without contrast."""
    area = template.barcode
    assert area is not None
    px_per_mm = crop.shape[0] / (area.height_mm + 2 * BARCODE_MARGIN_MM)
    bar_top = BARCODE_MARGIN_MM + BARCODE_BAR_TOP_MM
    bar_bottom = BARCODE_MARGIN_MM + area.height_mm - BARCODE_TEXT_MM
    first, last = BARCODE_PROFILE_BANDS[0]
    rows = slice(
        int(round((bar_top + first * (bar_bottom - bar_top)) * px_per_mm)),
        int(round((bar_top + last * (bar_bottom - bar_top)) * px_per_mm)),
    )
    column = _column_means(crop[rows])
    # np.percentile(column, [95, 5]) from one sort, without its general
    # machinery (0.1 ms a call, more than the sort).
    ordered = np.sort(column)
    rank = np.array([0.95, 0.05]) * (len(ordered) - 1)
    below = rank.astype(np.intp)
    above = np.minimum(below + 1, len(ordered) - 1)
    paper, ink = ordered[below] + (ordered[above] - ordered[below]) * (rank - below)
    if paper - ink < 1.0:
        return None
    return np.clip((paper - column) / (paper - ink), 0.0, 1.0)


def _profile_at(profile: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The profile linearly interpolated at pixel positions ``x`` (any shape;
    np.interp's search is not needed: the positions are on a regular grid)."""
    return _interpolate(profile, *_profile_taps(x, len(profile)))


def _module_samples(n_samples: int) -> np.ndarray:
    """Where ``n_samples`` samples lie along the barcode, in modules:
    ``BARCODE_SUBSAMPLES`` a module, each in the middle of its part, (n_samples,)."""
    return (np.arange(n_samples) + 0.5) / BARCODE_SUBSAMPLES


def _grid_positions(
    start: float, shifts: np.ndarray, widths: np.ndarray, at: np.ndarray
) -> np.ndarray:
    """Pixel positions (S, W, A) of the samples ``at`` (modules) on the grids
    of every shift (S,) and module width (W,) from :func:`_grid_search`."""
    return start + shifts[:, None, None] + widths[None, :, None] * at[None, None, :]


def _profile_taps(x: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Where :func:`_profile_at` reads a profile of ``length`` at ``x``: the
    left sample (intp) and the weight of the next one (float64), shaped as ``x``."""
    x = np.clip(x, 0.0, length - 1.001)
    left = x.astype(np.intp)
    return left, x - left


def _interpolate(
    profile: np.ndarray,
    left: np.ndarray,
    weight: np.ndarray,
    right: np.ndarray | None = None,
    keep: np.ndarray | None = None,
) -> np.ndarray:
    """``profile`` between its samples ``left`` and ``left + 1``, ``weight`` of the way
    (``right`` and ``keep``, when given, are ``left + 1`` and ``1.0 - weight``)."""
    right = left + 1 if right is None else right
    keep = 1.0 - weight if keep is None else keep
    return profile[left] * keep + profile[right] * weight


@functools.lru_cache(maxsize=1)
def _grid_size() -> tuple[int, int]:
    """Symbols (Stop not counted) and modules of the sheet barcode."""
    _, stop = _code128_patterns()
    n_symbols = len(sheet_barcode_symbols("A", "000000"))
    return n_symbols, n_symbols * _C128_SYMBOL_MODULES + len(stop)


@functools.lru_cache(maxsize=1)
def _shared_grid_model() -> tuple[np.ndarray, np.ndarray]:
    """:func:`_grid_models`' grown symbols on the samples every sheet barcode
    shares ``(G, shared samples)``, and their squared sums ``(G,)``, made once."""
    grown, shared, _ = _grid_models()
    model = grown[:, shared]
    energy = (model**2).sum(axis=-1)
    for array in (model, energy):
        array.setflags(write=False)
    return model, energy


@functools.lru_cache(maxsize=4)
def _coarse_grid_taps(
    shape: tuple[int, ...], area: BarcodeArea, coarse: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_profile_taps` of the grids the coarse search of
    :func:`_grid_candidates` tries on a crop of ``shape`` (every
    ``coarse``-th shift of :func:`_grid_search`, every module
    width), at the samples all sheet barcodes share: (S, W, shared samples)
    each.  The same for every crop of that size (a batch's sheets at one
    resolution, up to the ``BARCODE_MIN_PX_PER_MM`` floor's 254 dpi), so
    made once: the search then only gathers the profile there (the grid
    check 1.0 to 0.75 ms a 200-dpi sheet), with the next sample and the left
    sample's weight (:func:`_interpolate`'s ``right`` and ``keep``)."""
    _, n_modules = _grid_size()
    _, shared, _ = _grid_models()
    start, shifts, widths = _grid_search(shape[0], area, n_modules)
    at = _module_samples(n_modules * BARCODE_SUBSAMPLES)
    x = _grid_positions(start, shifts[::coarse], widths, at[shared])
    left, weight = _profile_taps(x, shape[1])
    taps = (left, weight, left + 1, 1.0 - weight)
    for array in taps:
        array.setflags(write=False)
    return taps


@dataclass(frozen=True)
class _GridCandidates:
    """Symbol values close to the profile, per variable symbol of the sheet barcode."""

    paket: tuple[int, ...]
    pairs: tuple[tuple[int, ...], ...]
    check: tuple[int, ...]

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


def _shared_samples(margin_modules: int) -> tuple[np.ndarray, np.ndarray]:
    """The sheet barcode's module pattern (symbols of ``LJUN-A-000000`` and
    the Stop, ``BARCODE_SUBSAMPLES`` samples a module, 0 space 1 bar) and
    the mask of its samples every sheet barcode shares: all but the
    variable symbols (paket, digit pairs, check) and ``margin_modules``
    either side of each."""
    table, stop = _code128_patterns()
    sub = BARCODE_SUBSAMPLES
    reference = sheet_barcode_symbols("A", "000000")
    ideal = np.repeat(np.concatenate([table[v] for v in reference] + [stop]), sub)
    shared = np.ones(len(ideal), dtype=bool)
    for slot in (_C128_PAKET_SLOT, *_C128_PAIR_SLOTS, _C128_CHECK_SLOT):
        lo = slot * _C128_SYMBOL_MODULES * sub - margin_modules * sub
        hi = (slot + 1) * _C128_SYMBOL_MODULES * sub + margin_modules * sub
        shared[max(lo, 0) : hi] = False
    return ideal, shared


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
    table, _ = _code128_patterns()
    sub = BARCODE_SUBSAMPLES
    # The variable symbols and what their bars may grow into on either side.
    ideal, shared = _shared_samples(margin_modules=1)
    grown = np.stack([_grow(ideal, g) for g in BARCODE_GROWTH])
    context = np.concatenate(
        [np.zeros((len(table), sub)), np.repeat(table, sub, axis=1), np.ones((len(table), sub))],
        axis=1,
    )
    predicted = np.stack([_grow(context, g)[:, sub:-sub] for g in BARCODE_GROWTH])
    for array in (grown, shared, predicted):
        array.setflags(write=False)
    return grown, shared, predicted


def _grow(rows: np.ndarray, growth: int) -> np.ndarray:
    """Bars of 0/1 profiles (along the last axis) grown (``growth`` > 0) or
    thinned (< 0), ``growth`` samples each side."""
    if growth == 0:
        return rows.astype(np.float64)
    size = 2 * abs(growth) + 1
    edge = [(0, 0)] * (rows.ndim - 1) + [(abs(growth), abs(growth))]
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(rows, edge, mode="edge"), size, -1)
    return (windows.max(axis=-1) if growth > 0 else windows.min(axis=-1)).astype(np.float64)


# --------------------------------------------------------------------------- barcode model
#
# When zbar and the grid above both fail (bars blurred and then merged by a
# 1-bit threshold, or a soft gray scan), the sheet barcode is read by
# synthesis: the column profile is compared with what each candidate text
# looks like once printed, blurred (Gaussian, BARCODE_MODEL_SIGMAS) and put
# through the scanner's tone response (a ramp of centre tau and width kappa:
# a hard threshold at kappa ~ 0, a linear gray scan at kappa 1).  The blur
# and response are fitted on the symbols every sheet barcode shares, like
# the grid; then each variable symbol's values are costed in their context
# and the close combinations synthesised in full.  The check symbol is
# part of every synthesis, so a combination is costed on the check symbol
# it implies; a reading is accepted only when the best combination beats
# every other one by BARCODE_MODEL_MARGIN: a scan that merged the bars of
# two texts alike (54-60 and 45-99 share a check symbol and merge to the
# same bars under a heavy threshold) reads nothing rather than the wrong one.

#: Blur widths tried (Gaussian sigma in modules): 0.2 mm of optical blur on a
#: 0.3 mm module at the hard level, plus the scan's own pixel.
BARCODE_MODEL_SIGMAS = (0.15, 0.3, 0.45, 0.6, 0.75, 0.9)
#: Tone response centres (profile darkness 0..1 at which a blurred edge is
#: half dark): below 0.5 a 1-bit threshold that grows the bars.
BARCODE_MODEL_TAUS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
#: Tone response widths (darkness): 0.05 a hard threshold, 1 linear (gray).
BARCODE_MODEL_KAPPAS = (0.05, 0.3, 0.6, 1.0)
#: A variable symbol's value stays a candidate while its squared error in
#: context is within this of the best value's (profile samples, darkness^2).
BARCODE_MODEL_TOLERANCE = 2.0
#: At most this many candidates per variable symbol are combined.
BARCODE_MODEL_CANDIDATES = 10
#: The best combination must beat the second by this squared error over the
#: variable symbols (darkness^2 summed over samples).  On 599 generated
#: crops (hard and moderate, 150-300 dpi, gray and 1-bit; seeds 8111-8112)
#: a wrong best combination (the truth second) never won by more than
#: 0.65, all of them 1-bit threshold scans; three times that is asked.  A
#: right reading that wins by less gives the paket alone (no review).
BARCODE_MODEL_MARGIN = 2.0
#: The paket symbol (A, B or S: three patterns far apart) is read alone
#: when its best value beats the other two by this much in context (on
#: those crops no paket symbol was read wrong, and the smallest margin of
#: a right one was 3.4).
BARCODE_PAKET_MARGIN = 1.5
#: Characters of a serial the scan does not let us read.
BARCODE_SERIAL_UNREAD = UNREAD * 6


@dataclass(frozen=True)
class _ModelReading:
    """What the model read: the full text when sure, else the paket letter
    when sure; ``ranked`` every variable symbol's values by their cost in
    context (:func:`_rank_symbols`), when the model fitted."""

    text: str
    paket: str
    ranked: dict[int, tuple[np.ndarray, np.ndarray]] | None = field(default=None, compare=False)


def _blur_rows(rows: np.ndarray, sigma_modules: float) -> np.ndarray:
    """Each row of ``(C, n)`` blurred by a Gaussian of ``sigma_modules`` modules."""
    sigma = sigma_modules * BARCODE_SUBSAMPLES
    radius = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel = (kernel / kernel.sum()).astype(np.float32)
    return cv2.sepFilter2D(
        np.ascontiguousarray(rows, dtype=np.float32),
        -1,
        kernel,
        np.ones(1, np.float32),
        borderType=cv2.BORDER_REPLICATE,
    )


def _respond(blurred: np.ndarray, tau: float, kappa: float) -> np.ndarray:
    """The scanner's tone response: a ramp of centre ``tau`` and width ``kappa``."""
    return np.clip(0.5 + (blurred - tau) / kappa, 0.0, 1.0)


@functools.lru_cache(maxsize=1)
def _model_fits() -> tuple[tuple[tuple[float, float, float], ...], np.ndarray, np.ndarray]:
    """Every (sigma, tau, kappa), the mask of the shared samples and what the
    shared symbols look like under each model ``(M, n_samples)``."""
    # The variable symbols and two modules either side (what blur carries over).
    ideal, shared = _shared_samples(margin_modules=2)
    models, predicted = [], []
    for sigma in BARCODE_MODEL_SIGMAS:
        blurred = _blur_rows(ideal[None, :], sigma)[0]
        for tau in BARCODE_MODEL_TAUS:
            for kappa in BARCODE_MODEL_KAPPAS:
                models.append((sigma, tau, kappa))
                predicted.append(_respond(blurred, tau, kappa))
    out = np.asarray(predicted, dtype=np.float64)
    for array in (shared, out):
        array.setflags(write=False)
    return tuple(models), shared, out


def read_sheet_barcode_model(crop: np.ndarray, template: Template) -> _ModelReading:
    """Read the sheet barcode by synthesis (see the section comment above).

    Parameters
    ----------
    crop : (h, w) ndarray of uint8
        From :func:`barcode_crop`.
    template : Template

    Returns
    -------
    _ModelReading
        ``text`` the sheet barcode when one reading beats every other by
        ``BARCODE_MODEL_MARGIN``, else ``""``; ``paket`` the letter of the
        paket symbol when it beats the other two by ``BARCODE_PAKET_MARGIN``,
        else ``""``.
    """
    fitted = _fit_model(crop, template)
    if fitted is None:
        return _ModelReading(text="", paket="")
    observed, response = fitted
    ranked = _rank_symbols(observed, response)
    paket_values, paket_costs = ranked[_C128_PAKET_SLOT]
    paket = ""
    if paket_costs[1] - paket_costs[0] >= BARCODE_PAKET_MARGIN:
        paket = chr(int(paket_values[0]) + 32)
    text = _best_combination(observed, response, ranked)
    if text and paket and barcode_paket(text) != paket:
        text = ""
    return _ModelReading(text=text, paket=paket, ranked=ranked)


def _synthesise(rows: np.ndarray, response: tuple[float, float, float]) -> np.ndarray:
    """Symbol value rows ``(C, k)`` as the scan shows them, ``(C, samples)``;
    every row is followed by the Stop (it ends with the check symbol, or the
    Stop is beyond what is compared)."""
    table, stop = _code128_patterns()
    sigma, tau, kappa = response
    rows = np.asarray(rows, dtype=np.intp)
    modules = np.hstack([table[rows].reshape(len(rows), -1), np.tile(stop, (len(rows), 1))])
    return _respond(_blur_rows(np.repeat(modules, BARCODE_SUBSAMPLES, axis=1), sigma), tau, kappa)


def _fit_model(
    crop: np.ndarray, template: Template
) -> tuple[np.ndarray, tuple[float, float, float]] | None:
    """The profile on the best grid ``(n_samples,)`` and the best (sigma, tau,
    kappa), fitted on the shared symbols; ``None`` when nothing fits."""
    area = template.barcode
    if area is None or crop.size == 0:
        return None
    profile = _bar_profile(crop, template)
    if profile is None:
        return None
    models, shared, predicted = _model_fits()
    sub = BARCODE_SUBSAMPLES
    n_samples = shared.size
    start, shifts, widths = _grid_search(crop.shape[0], area, n_samples // sub)
    at = _module_samples(n_samples)
    seen = _profile_at(
        profile, _grid_positions(start, shifts, widths, at[shared])
    )  # (S, W, shared samples)
    model = predicted[:, shared]
    error = (
        (seen**2).sum(axis=-1)[..., None] - 2.0 * seen @ model.T + (model**2).sum(axis=-1)
    ) / np.count_nonzero(shared)
    s_best, w_best, m_best = np.unravel_index(np.argmin(error), error.shape)
    if error[s_best, w_best, m_best] > BARCODE_GRID_FIT_MAX:
        return None
    return _profile_at(profile, start + shifts[s_best] + widths[w_best] * at), models[m_best]


def _rank_symbols(
    observed: np.ndarray, response: tuple[float, float, float]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per variable slot, its allowed values sorted by squared error in
    context, and those errors.  Two passes: the second costs each symbol
    beside the first pass's best neighbours (the pair symbols are side by side)."""
    _, stop = _code128_patterns()
    sub = BARCODE_SUBSAMPLES
    span = _C128_SYMBOL_MODULES * sub
    variable = {
        _C128_PAKET_SLOT: [ord(p) - 32 for p in "ABS"],
        **{slot: list(range(100)) for slot in _C128_PAIR_SLOTS},
        _C128_CHECK_SLOT: list(range(103)),
    }
    values = sheet_barcode_symbols("A", "000000")
    ranked: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for _ in range(2):
        for slot, allowed in variable.items():
            # The check symbol has no right neighbour (the Stop follows).
            rows = np.tile(values[slot - 1 : slot + 2], (len(allowed), 1))
            rows[:, 1] = allowed
            # The symbol and a module either side, out of its window.
            local = _synthesise(rows, response)[:, span - sub : 2 * span + sub]
            lo = slot * span - sub
            cost = ((local - observed[None, lo : lo + span + 2 * sub]) ** 2).sum(axis=-1)
            order = np.argsort(cost, kind="stable")
            ranked[slot] = (np.asarray(allowed)[order], cost[order])
        for slot in variable:
            values[slot] = int(ranked[slot][0][0])
    return ranked


def _best_combination(
    observed: np.ndarray,
    response: tuple[float, float, float],
    ranked: dict[int, tuple[np.ndarray, np.ndarray]],
) -> str:
    """The text whose synthesis beats every other close combination by
    ``BARCODE_MODEL_MARGIN`` and whose check symbol is a close value, or ``""``."""
    close = {}
    for slot in (_C128_PAKET_SLOT, *_C128_PAIR_SLOTS):
        ranked_values, costs = ranked[slot]
        keep = ranked_values[costs <= costs[0] + BARCODE_MODEL_TOLERANCE]
        close[slot] = [int(v) for v in keep[:BARCODE_MODEL_CANDIDATES]]
    combos = np.array(list(itertools.product(*(close[slot] for slot in close))), dtype=np.intp)
    # Symbol rows from the "-" before the paket symbol to the check symbol.
    rows = np.empty((len(combos), _C128_CHECK_SLOT + 2 - _C128_PAKET_SLOT), dtype=np.intp)
    reference = sheet_barcode_symbols("A", "000000")
    rows[:] = reference[_C128_PAKET_SLOT - 1 :]
    rows[:, 1] = combos[:, 0]
    rows[:, 1 + _C128_PAIR_SLOTS[0] - _C128_PAKET_SLOT :][:, :3] = combos[:, 1:]
    # Code 128's check: the start value plus each symbol times its position.
    variable_slots = np.asarray((_C128_PAKET_SLOT, *_C128_PAIR_SLOTS))
    shared_sum = reference[0] + sum(
        i * v
        for i, v in enumerate(reference[1:_C128_CHECK_SLOT], start=1)
        if i not in variable_slots
    )
    rows[:, -1] = (shared_sum + combos @ variable_slots) % 103
    span = _C128_SYMBOL_MODULES * BARCODE_SUBSAMPLES
    sub = BARCODE_SUBSAMPLES
    # From a module before the paket symbol to a module into the Stop.
    first, last = span - sub, (_C128_CHECK_SLOT + 2 - _C128_PAKET_SLOT) * span + sub
    lo = (_C128_PAKET_SLOT - 1) * span
    target = observed[lo + first : lo + last]
    sse = ((_synthesise(rows, response)[:, first:last] - target[None, :]) ** 2).sum(axis=-1)
    order = np.argsort(sse, kind="stable")
    best = int(order[0])
    check_values, check_costs = ranked[_C128_CHECK_SLOT]
    check_cost = check_costs[check_values == rows[best, -1]]
    if not check_cost.size or check_cost[0] > check_costs[0] + BARCODE_MODEL_TOLERANCE:
        return ""
    if len(order) > 1 and sse[order[1]] - sse[best] < BARCODE_MODEL_MARGIN:
        return ""
    p, a, b, c = (int(v) for v in combos[best])
    return f"LJUN-{chr(p + 32)}-{a:02d}{b:02d}{c:02d}"


# --------------------------------------------------------------------------- printed serial
#
# Where the bars give the paket alone, the serial printed under them
# (ljun._barcode_text) is read, and the bars check it: each of its three
# digit pairs and the check symbol it implies must be among the bars' close
# values (within BARCODE_MODEL_TOLERANCE of their slot's best, as
# _best_combination's candidates).  The reading is the text's own (each
# cell's best digit): the bars confirm it and rule out every other reading
# of the text (digits within BARCODE_TEXT_TOLERANCE of a cell's best), or
# the serial stays unread; they never choose between digits the text leaves
# in doubt.  Measured on the dev seeds' paket-only barcodes
# (calibration/README.md, "seventh round: digits"): letting the bars choose
# read about 15 % more of them, but the text of one sheet was then
# accepted against the bars of another (same paket, serials a digit or two
# apart) seven times as often.

#: Every digit cell's best correlation must reach this: a text band without
#: legible digits (smudged, another font, no text) reads nothing.
BARCODE_TEXT_MIN = 0.5
#: Digits within this correlation of a cell's best are other readings of
#: the text: the bars must rule every such reading out but the text's own
#: (merged bars allow 96 and 98 alike, and a check symbol for each: the
#: printed 988230 read 968230, a 6 by 0.01, on a 1-bit crop, and the bars
#: allowed it).  On the dev seeds' paket-only barcodes the truth was never
#: further than 0.09 from its cell's best.
BARCODE_TEXT_TOLERANCE = 0.1
#: At most this many readings of the text are checked against the bars.
BARCODE_TEXT_COMBINATIONS = 4096


def printed_serial(
    crop: np.ndarray,
    template: Template,
    paket: str,
    ranked: dict[int, tuple[np.ndarray, np.ndarray]],
) -> str:
    """The 6-digit serial printed under the bars, when the bars agree; else ``""``.

    Parameters
    ----------
    crop : (h, w) ndarray of uint8
        From :func:`barcode_crop`.
    template : Template
    paket : str
        The paket the bars read (``A``, ``B`` or ``S``).
    ranked : dict
        The bars' costs of every value of each variable symbol
        (:func:`read_sheet_barcode_model`'s ``ranked``).
    """
    from ._barcode_text import printed_digit_score_sets

    # The font size whose prefix fits best first; the next only where the
    # bars do not agree with what the one before read.
    for scores in printed_digit_score_sets(crop, template, paket, margin_mm=BARCODE_MARGIN_MM):
        serial = agreed_serial(scores, paket, ranked)
        if serial:
            return serial
    return ""


def agreed_serial(
    scores: np.ndarray, paket: str, ranked: dict[int, tuple[np.ndarray, np.ndarray]]
) -> str:
    """The printed serial when the bars agree with it and with no other
    reading of the text, or ``""``.

    Parameters
    ----------
    scores : (6, 10) ndarray of float
        Correlation of each digit with each printed digit cell
        (:func:`ljun._barcode_text.printed_digit_scores`).
    paket : str
    ranked : dict
        As :func:`printed_serial`.

    >>> scores = np.full((6, 10), 0.2); scores[range(6), [5, 7, 2, 1, 5, 8]] = 0.9
    >>> bars = {slot: (np.arange(103), np.zeros(103)) for slot in (9, 10, 11, 12)}
    >>> agreed_serial(scores, "A", bars)
    '572158'
    """
    if scores.max(axis=1).min() < BARCODE_TEXT_MIN:
        return ""
    serial = "".join(str(int(d)) for d in scores.argmax(axis=1))
    digits = [np.flatnonzero(row >= row.max() - BARCODE_TEXT_TOLERANCE).tolist() for row in scores]
    if np.prod([len(d) for d in digits]) > BARCODE_TEXT_COMBINATIONS:
        return ""

    def close(slot: int) -> set[int]:
        values, costs = ranked[slot]
        return {int(v) for v in values[costs <= costs[0] + BARCODE_MODEL_TOLERANCE]}

    pairs = [close(slot) for slot in _C128_PAIR_SLOTS]
    checks = close(_C128_CHECK_SLOT)
    allowed = []
    for combination in itertools.product(*digits):
        candidate = "".join(str(d) for d in combination)
        values = sheet_barcode_symbols(paket, candidate)
        if (
            all(values[s] in c for s, c in zip(_C128_PAIR_SLOTS, pairs))
            and values[_C128_CHECK_SLOT] in checks
        ):
            allowed.append(candidate)
    return serial if allowed == [serial] else ""
