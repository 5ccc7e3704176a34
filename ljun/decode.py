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
import re
from dataclasses import dataclass

import cv2
import numpy as np

from .calibration import Calibration, DecodeCalibration
from .kompetensi import competency_codes
from .nomor import NOMOR_PESERTA_DIGITS, format_nomor_peserta, luhn_valid
from .read import BubbleDarkness, decide_items, mark_evidence
from .register import Registration
from .render import BARCODE_TEXT_MM
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
) -> DecodedMarks:
    """Decode every field of the sheet from the bubbles' darkness.

    Parameters
    ----------
    bubbles : BubbleDarkness
        From :func:`ljun.read.measure_darkness` over ``geometry``.
    geometry : BubbleGeometry
    template : Template
    calibration : Calibration
    """
    read_cal = calibration.read
    bands = read_cal.bilevel if bubbles.bilevel else read_cal.gray
    evidence = mark_evidence(bubbles, read_cal)
    flags: list[str] = []
    confidence = np.ones(len(geometry), dtype=np.float32)
    fields: dict[str, str] = {}
    answers: tuple[str, ...] = ()
    for fld in template.fields:
        grid = geometry.grid(fld.name)
        decision = decide_items(evidence[grid], bands, read_cal, bubbles.inside[grid])
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
    image: np.ndarray, registration: Registration, template: Template, geometry: BubbleGeometry
) -> BarcodeReading:
    """Decode the Code 128 in the template's barcode area with pyzbar."""
    from pyzbar.pyzbar import ZBarSymbol
    from pyzbar.pyzbar import decode as zbar_decode

    crop = barcode_crop(image, registration, template, geometry)
    if crop.size == 0:
        return BarcodeReading(text="", has_ink=False)
    bars = _bar_band(crop, template)
    paper = float(np.percentile(crop, 90))
    has_ink = bool(np.mean(bars < paper * BARCODE_INK_FRACTION) > BARCODE_INK_MIN)
    if not has_ink:
        return BarcodeReading(text="", has_ink=False)
    for image in _barcode_candidates(crop, template):
        found = zbar_decode(image, symbols=[ZBarSymbol.CODE128])
        texts = sorted({f.data.decode("ascii", "replace") for f in found})
        if len(texts) == 1:
            return BarcodeReading(text=texts[0], has_ink=True)
    return BarcodeReading(text="", has_ink=True)


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
