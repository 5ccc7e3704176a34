"""Decoding: identity grids, paket, validation rules and the barcode."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _reading_helpers import Scan, SheetSpec, ljun_template, synthetic_sheet

from ljun.calibration import DecodeCalibration, load_calibration
from ljun.decode import (
    BARCODE_PATTERN,
    barcode_paket,
    decode_barcode,
    decode_marks,
    format_nomor_peserta,
    format_tanggal_lahir,
    valid_kode_kompetensi,
    valid_nomor_peserta,
    valid_tanggal_lahir,
)
from ljun.nomor import luhn_check_digit
from ljun.read import BubbleDarkness
from ljun.register import REFERENCE_DPI, register

CAL = load_calibration()
GEOMETRY = ljun_template().geometry(REFERENCE_DPI)


def _bubbles(
    marks: dict[str, list[str | tuple[str, ...]]], *, faint: set[tuple[str, int]] = frozenset()
) -> BubbleDarkness:
    """Bubble features with firm marks where ``marks`` says (per field, per item).

    ``faint`` holds (field, item) whose mark is faint (unsure).
    """
    template = ljun_template()
    n = len(GEOMETRY)
    value = np.zeros(n, np.float32)
    for name, items in marks.items():
        options = template.field(name).options
        grid = GEOMETRY.grid(name)
        for item, chars in enumerate(items, start=1):
            for ch in chars if isinstance(chars, tuple) else (chars,):
                if ch and ch != " ":
                    value[grid[item - 1, options.index(ch)]] = (
                        0.25 if (name, item) in faint else 0.8
                    )
    zeros = np.zeros(n, np.float32)
    return BubbleDarkness(
        darkness=value,
        core=value,
        quarter=value,
        body=value,
        halo=zeros,
        halo_contact=np.zeros(n, np.int16),
        inside=np.ones(n, bool),
        paper=np.full(n, 250, np.float32),
        bilevel=False,
    )


def _decode(marks, calibration=CAL, **kwargs):
    return decode_marks(_bubbles(marks, **kwargs), GEOMETRY, ljun_template(), calibration)


GOOD = {
    "nama": list("SITI  AMINAH"),
    "nomor_peserta": list("21201050010010"),
    "tanggal_lahir": list("170895"),
    "kode_kompetensi": list("6018"),
    "paket": ["B"],
    "answers": list("ABCDE" * 8),
}


def test_a_clean_sheet_decodes_into_record_strings():
    decoded = _decode(GOOD)
    assert decoded.fields == {
        "nama": "SITI  AMINAH",
        "nomor_peserta": "2-12-01-05-001-001-0",
        "tanggal_lahir": "17-08-95",
        "kode_kompetensi": "6018",
        "paket": "B",
    }
    assert decoded.answers == tuple("ABCDE" * 8)
    assert decoded.flags == ()
    assert decoded.confidence.shape == (len(GEOMETRY),) and decoded.confidence.min() == 1.0


def test_multi_marked_identity_column_is_a_question_mark_and_a_flag():
    marks = dict(
        GOOD,
        nama=["S", ("I", "T"), "T", "I"],
        tanggal_lahir=list("17") + [("0", "8")] + list("895"),
    )
    decoded = _decode(marks)
    assert decoded.fields["nama"] == "S?TI"
    assert decoded.fields["tanggal_lahir"] == "17-?8-95"
    assert "multi_mark:nama:2" in decoded.flags and "multi_mark:tanggal_lahir:3" in decoded.flags
    assert "invalid:tanggal_lahir" in decoded.flags


def test_blank_digit_column_is_unreadable_and_invalid():
    marks = dict(GOOD, nomor_peserta=list("2120105001001") + [""])
    decoded = _decode(marks)
    assert decoded.fields["nomor_peserta"] == "2-12-01-05-001-001-?"
    assert "invalid:nomor_peserta" in decoded.flags


def test_answers_blank_multi_and_unsure():
    answers = list("ABCDE" * 8)
    answers[0] = ""
    answers[1] = ("A", "C")
    decoded = _decode(dict(GOOD, answers=answers), faint={("answers", 3)})
    assert decoded.answers[:3] == ("", "*", "C")
    assert "answer_multi:2" in decoded.flags
    assert "answer_unsure:3" in decoded.flags


def test_paket_none_and_double():
    assert "no_paket" in _decode(dict(GOOD, paket=[""])).flags
    decoded = _decode(dict(GOOD, paket=[("A", "S")]))
    assert decoded.fields["paket"] == "?" and "multi_mark:paket:1" in decoded.flags


def test_empty_name_grid_is_flagged():
    decoded = _decode(dict(GOOD, nama=[""]))
    assert decoded.fields["nama"] == "" and "blank:nama" in decoded.flags


def test_unknown_competency_code_is_invalid():
    assert "invalid:kode_kompetensi" in _decode(dict(GOOD, kode_kompetensi=list("0000"))).flags


def test_luhn_rule_is_applied_only_when_the_calibration_asks():
    body = "2120105001001"
    wrong = str((int(luhn_check_digit(body)) + 1) % 10)
    marks = dict(GOOD, nomor_peserta=list(body + wrong))
    luhn = dataclasses.replace(CAL, decode=DecodeCalibration(nomor_peserta_check="luhn"))
    assert "invalid:nomor_peserta" not in _decode(marks).flags
    assert "invalid:nomor_peserta" in _decode(marks, luhn).flags
    right = dict(GOOD, nomor_peserta=list(body + luhn_check_digit(body)))
    assert "invalid:nomor_peserta" not in _decode(right, luhn).flags


@pytest.mark.parametrize(
    "value, valid",
    [
        ("17-08-95", True),
        ("29-02-00", True),
        ("29-02-99", False),
        ("31-04-99", False),
        ("00-01-99", False),
        ("1?-08-95", False),
    ],
)
def test_tanggal_lahir_must_be_a_real_date(value, valid):
    assert valid_tanggal_lahir(value) is valid


def test_format_helpers():
    assert format_nomor_peserta("21201050010010") == "2-12-01-05-001-001-0"
    assert format_tanggal_lahir("010203") == "01-02-03"
    assert valid_nomor_peserta("2-12-01-05-001-001-0") and not valid_nomor_peserta(
        "2-12-01-05-001-001-?"
    )
    assert valid_kode_kompetensi("6018") and not valid_kode_kompetensi("60")


def test_barcode_paket():
    assert barcode_paket("LJUN-A-000123") == "A"
    assert barcode_paket("LJUN-X-000123") is None and barcode_paket("LJUN-A-123") is None
    assert BARCODE_PATTERN.fullmatch("LJUN-S-999999")


@pytest.mark.parametrize(
    "scan",
    [
        Scan(),
        Scan(skew_deg=8, rotated_180=True, margin=0.12),
        Scan(dpi=150, noise=6),
        Scan(dpi=300, bits=1, skew_deg=-3),
    ],
    ids=["upright", "upside-down", "150dpi-noise", "300dpi-bilevel"],
)
def test_barcode_is_read_through_the_homography(scan):
    sheet = synthetic_sheet(SheetSpec(barcode="LJUN-B-004711"), scan)
    registration = register(sheet.image, ljun_template(), CAL, dpi=scan.dpi)
    reading = decode_barcode(sheet.image, registration, ljun_template(), GEOMETRY)
    assert reading.text == "LJUN-B-004711" and reading.has_ink


def test_sheet_printed_without_barcode_has_an_empty_area():
    sheet = synthetic_sheet(SheetSpec(barcode=None), Scan())
    registration = register(sheet.image, ljun_template(), CAL, dpi=200)
    reading = decode_barcode(sheet.image, registration, ljun_template(), GEOMETRY)
    assert reading.text == "" and not reading.has_ink


# --------------------------------------------------------------------------- barcode grid


def _barcode_crop(text: str, *, grow_px: int, blur_px: float = 0.0) -> np.ndarray:
    """The barcode area as :func:`ljun.decode.barcode_crop` cuts it (10 px/mm),
    rendered, blurred, thresholded, and its bars grown by ``grow_px`` pixels
    each side: what a 1-bit scan set too dark makes of it."""
    import cv2

    from ljun.decode import BARCODE_MARGIN_MM
    from ljun.render import render_image

    template = ljun_template()
    area = template.barcode
    sheet = render_image(template, 254, barcode=text)  # 10 px/mm
    x0 = int(round((area.x_mm - BARCODE_MARGIN_MM) * 10))
    y0 = int(round((area.y_mm - BARCODE_MARGIN_MM) * 10))
    w = int(round((area.width_mm + 2 * BARCODE_MARGIN_MM) * 10))
    h = int(round((area.height_mm + 2 * BARCODE_MARGIN_MM) * 10))
    crop = sheet[y0 : y0 + h, x0 : x0 + w].astype(np.float32)
    if blur_px:
        crop = cv2.GaussianBlur(crop, (0, 0), blur_px)
    black = (crop < 128).astype(np.uint8)
    if grow_px:
        black = cv2.dilate(black, np.ones((1, 2 * grow_px + 1), np.uint8))
    return np.where(black > 0, 0, 255).astype(np.uint8)


def _zbar(crop: np.ndarray) -> list[str]:
    from pyzbar.pyzbar import ZBarSymbol
    from pyzbar.pyzbar import decode as zbar_decode

    return [f.data.decode() for f in zbar_decode(crop, symbols=[ZBarSymbol.CODE128])]


def _grid_allows(crop: np.ndarray, text: str) -> bool | None:
    """Whether the sheet barcode's module grid allows ``text``; None when the grid does not fit."""
    from ljun.decode import _grid_candidates

    candidates = _grid_candidates(crop, ljun_template())
    return None if candidates is None else candidates.allows(text)


def test_merged_bars_still_fit_the_barcode_grid():
    crop = _barcode_crop("LJUN-S-987650", grow_px=2, blur_px=0.8)
    assert _zbar(crop) == []  # the bars are merged beyond zbar
    assert _grid_allows(crop, "LJUN-S-987650") is True


@pytest.mark.parametrize("grow_px", [0, 1, 2, 3])
@pytest.mark.parametrize("text", ["LJUN-A-000123", "LJUN-S-987650", "LJUN-B-810118"])
def test_a_1bit_barcode_reads_right_in_part_or_not_at_all(text, grow_px):
    """Filled spaces make symbol values alike: the reader then gives the
    paket alone or nothing (the sheet goes to review), never a near miss;
    and the grid that checks zbar's text never refuses the right one."""
    from ljun.decode import read_barcode_crop

    crop = _barcode_crop(text, grow_px=grow_px, blur_px=0.8)
    if text in _zbar(crop):
        assert _grid_allows(crop, text) in (None, True)
    reading = read_barcode_crop(crop, ljun_template(), bilevel=True)
    assert reading.has_ink
    assert reading.text in ("", text, text[:7] + "??????")


def test_the_barcode_grid_refuses_a_near_miss():
    """zbar's own check (mod 103) can pass a misread of ragged bars; the grid does not."""
    crop = _barcode_crop("LJUN-B-004711", grow_px=0)
    assert _zbar(crop) == ["LJUN-B-004711"]
    assert _grid_allows(crop, "LJUN-B-004711") is True
    assert _grid_allows(crop, "LJUN-B-004712") is False
    assert _grid_allows(crop, "LJUN-A-004711") is False


def test_the_barcode_grid_does_not_fit_another_barcode():
    """A foreign Code 128 in the area does not fit the sheet barcode's grid."""
    crop = _barcode_crop("TK-A-0001", grow_px=0)
    assert _grid_allows(crop, "LJUN-A-000123") in (None, False)


def test_sheet_barcode_symbols_match_the_renderer():
    import barcode.charsets.code128 as code128

    from ljun.decode import sheet_barcode_symbols
    from ljun.render import code128_modules

    for paket, serial in [("A", "000123"), ("B", "810118"), ("S", "999999")]:
        values = sheet_barcode_symbols(paket, serial)
        modules = "".join(code128.CODES[v] for v in values) + code128.STOP + "11"
        assert modules == code128_modules(f"LJUN-{paket}-{serial}")


def test_every_field_decided_in_one_call_equals_each_field_on_its_own():
    from ljun.decode import decide_fields
    from ljun.read import decide_items

    calibration = load_calibration().read
    bands = calibration.gray
    rng = np.random.default_rng(5)
    n = len(GEOMETRY)
    # Evidence across every band edge, with exact edge values and ties.
    evidence = rng.choice(
        [-0.1, 0.0, bands.blank_sure_max, bands.mark_min, bands.marked_sure_min, 0.3, 0.9],
        size=n,
    ).astype(np.float32)
    evidence += rng.normal(0, 0.02, n).astype(np.float32) * (rng.random(n) < 0.5)
    inside = rng.random(n) > 0.02
    decisions = decide_fields(evidence, inside, GEOMETRY, bands, calibration)
    assert list(decisions) == list(GEOMETRY.field_names)
    for name, decision in decisions.items():
        grid = GEOMETRY.grid(name)
        alone = decide_items(evidence[grid], bands, calibration, inside[grid])
        for part in ("marked", "count", "choice", "unsure", "confidence"):
            np.testing.assert_array_equal(getattr(decision, part), getattr(alone, part), part)


@pytest.mark.parametrize("shift_px", [-5, -2, 0, 1, 3, 6])
@pytest.mark.parametrize("grow_px", [0, 2])
def test_the_grid_search_coarse_to_fine_finds_the_grid_every_step_finds(
    monkeypatch, shift_px, grow_px
):
    """The grid's position is searched every third step, then finely around
    the best (twice as fast); it must end on the grid a search of every step
    ends on, wherever the bars sit against the steps."""
    import importlib

    decode = importlib.import_module("ljun.decode")
    crop = np.roll(_barcode_crop("LJUN-B-810118", grow_px=grow_px, blur_px=0.8), shift_px, axis=1)
    coarse_to_fine = decode._grid_candidates(crop, ljun_template())
    assert coarse_to_fine is not None and coarse_to_fine.allows("LJUN-B-810118")
    monkeypatch.setattr(decode, "BARCODE_GRID_COARSE", 1)
    assert decode._grid_candidates(crop, ljun_template()) == coarse_to_fine
