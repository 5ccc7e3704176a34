"""The sheet barcode read by synthesis, read in part, and what a part-read barcode does downstream."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import cv2
import numpy as np
import pytest
from _reading_helpers import Scan, SheetSpec, ljun_template, synthetic_sheet

from ljun.batch._reconcile import SheetSummary, reconcile
from ljun.calibration import load_calibration
from ljun.decode import (
    BARCODE_MARGIN_MM,
    barcode_paket,
    barcode_serial_read,
    read_barcode_crop,
    read_sheet_barcode_model,
)
from ljun.pipeline import read_sheet
from ljun.records import Page
from ljun.vocabulary import Flag, needs_review

CAL = load_calibration()

#: Barcode crops (:func:`ljun.decode.barcode_crop`) of generated scans that
#: zbar and the module grid could not read, named by the barcode printed.
CROPS = Path(__file__).parent / "data" / "barcode"


def _crop(name: str) -> np.ndarray:
    image = cv2.imread(str(CROPS / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
    assert image is not None, name
    return image


def _zbar(crop: np.ndarray) -> list[str]:
    from pyzbar.pyzbar import ZBarSymbol
    from pyzbar.pyzbar import decode as zbar_decode

    from ljun.decode import _barcode_candidates

    return [
        f.data.decode()
        for image in _barcode_candidates(crop, ljun_template())
        for f in zbar_decode(image, symbols=[ZBarSymbol.CODE128])
    ]


# --------------------------------------------------------------------------- real crops


@pytest.mark.parametrize(
    "name",
    [
        "LJUN-B-546271_150dpi_1bit_dither",  # moderate/hard dither at 150 dpi
        "LJUN-A-546201_150dpi_gray",  # hard: blur 0.2 mm on a 0.3 mm module
    ],
)
def test_blurred_and_dithered_barcodes_are_read_by_synthesis(name):
    crop = _crop(name)
    text = name.split("_")[0]
    assert _zbar(crop) == []
    reading = read_sheet_barcode_model(crop, ljun_template())
    assert reading.text == text and reading.paket == text[5]


def test_merged_bars_at_150_dpi_one_bit_give_the_paket_alone():
    """Moderate level, 150 dpi, 1-bit threshold (seed 8111, sheet 172): the
    1-module spaces are closed; serials that merge alike cannot be told
    apart, the paket symbol can."""
    crop = _crop("LJUN-S-546244_150dpi_1bit_threshold")
    assert _zbar(crop) == []
    reading = read_sheet_barcode_model(crop, ljun_template())
    assert reading.paket == "S" and reading.text in ("", "LJUN-S-546244")


def test_texts_that_merge_alike_are_not_read():
    """Regression (a first version read LJUN-A-459975): under a heavy 1-bit
    threshold the pairs 54 60 and 45 99 merge to the same bars and give the
    same check symbol; the reading must be the truth or nothing."""
    crop = _crop("LJUN-A-546075_200dpi_1bit_threshold")
    reading = read_sheet_barcode_model(crop, ljun_template())
    assert reading.text in ("", "LJUN-A-546075") and reading.paket == "A"


def test_a_barcode_the_old_grid_reader_read_wrong_reads_right():
    """Regression (silent risk on main): hard level, 300 dpi, 1-bit adaptive
    (dev seed 8112, sheet 147): the module grid's dilation model read
    LJUN-B-773663, one combination agreeing with the check symbol;
    synthesis reads the truth, and the decode path takes synthesis."""
    crop = _crop("LJUN-B-898763_300dpi_1bit_adaptive")
    assert _zbar(crop) == []
    assert read_sheet_barcode_model(crop, ljun_template()).text == "LJUN-B-898763"
    assert read_barcode_crop(crop, ljun_template(), bilevel=True).text == "LJUN-B-898763"


@pytest.mark.parametrize("name", [p.stem for p in sorted(CROPS.glob("*.png"))])
def test_every_real_crop_reads_right_or_its_paket_alone(name):
    text = name.split("_")[0]
    reading = read_barcode_crop(_crop(name), ljun_template(), bilevel="1bit" in name)
    assert reading.text in (text, f"LJUN-{text[5]}-??????")


# --------------------------------------------------------------------------- synthetic profiles


def _printed_crop(text: str, *, blur_mm: float, threshold: float | None) -> np.ndarray:
    """The barcode area at 10 px/mm as barcode_crop cuts it, blurred by
    ``blur_mm`` (Gaussian sigma) and, when ``threshold`` is given (fraction
    of white), turned 1-bit."""
    from ljun.render import render_image

    template = ljun_template()
    area = template.barcode
    assert area is not None
    sheet = render_image(template, 254, barcode=text).astype(np.float32)  # 10 px/mm
    x0 = int(round((area.x_mm - BARCODE_MARGIN_MM) * 10))
    y0 = int(round((area.y_mm - BARCODE_MARGIN_MM) * 10))
    w = int(round((area.width_mm + 2 * BARCODE_MARGIN_MM) * 10))
    h = int(round((area.height_mm + 2 * BARCODE_MARGIN_MM) * 10))
    crop = cv2.GaussianBlur(sheet[y0 : y0 + h, x0 : x0 + w], (0, 0), blur_mm * 10)
    if threshold is not None:
        crop = np.where(crop < threshold * 255, 0.0, 255.0)
    return crop.astype(np.uint8)


@pytest.mark.parametrize("text", ["LJUN-A-000123", "LJUN-S-987650", "LJUN-B-546073"])
def test_a_soft_gray_barcode_is_read_by_synthesis(text):
    crop = _printed_crop(text, blur_mm=0.2, threshold=None)
    assert read_sheet_barcode_model(crop, ljun_template()).text == text


@pytest.mark.parametrize("threshold", [0.6, 0.7, 0.75])
@pytest.mark.parametrize("text", ["LJUN-A-000123", "LJUN-S-987650", "LJUN-B-546073"])
def test_a_blurred_one_bit_barcode_reads_right_or_its_paket_alone(text, threshold):
    """Blur 0.15 mm, then a threshold that grows the bars (a dark B/W setting)."""
    crop = _printed_crop(text, blur_mm=0.15, threshold=threshold)
    reading = read_sheet_barcode_model(crop, ljun_template())
    assert reading.text in ("", text) and reading.paket == text[5]


def test_synthesis_reads_nothing_from_one_block_or_another_barcode():
    block = _printed_crop("LJUN-A-000123", blur_mm=0.4, threshold=0.9)
    assert read_sheet_barcode_model(block, ljun_template()).text == ""
    foreign = _printed_crop("TK-A-0001", blur_mm=0.05, threshold=None)
    assert read_sheet_barcode_model(foreign, ljun_template()) == read_sheet_barcode_model(
        np.full_like(foreign, 255), ljun_template()
    )


# --------------------------------------------------------------------------- downstream


def test_part_read_barcode_names_its_paket():
    assert barcode_paket("LJUN-S-??????") == "S" and not barcode_serial_read("LJUN-S-??????")
    assert barcode_serial_read("LJUN-S-000123") and barcode_paket("LJUN-S-00?123") is None


def _scan(paket: str):
    # 150 dpi, 1-bit, blurred: the serial's bars merge, the paket symbol does not.
    sheet = synthetic_sheet(
        SheetSpec(paket=paket, barcode="LJUN-B-546073"), Scan(dpi=150, blur=1.0, bits=1)
    )
    return read_sheet(Page(sheet.image, "x", 1, 150.0), ljun_template(), CAL)


def test_a_sheet_whose_barcode_serial_is_unread_is_not_reviewed_for_it():
    reading = _scan("B")
    assert reading.barcode == "LJUN-B-??????"
    assert Flag.BARCODE_SERIAL_UNREAD in reading.flags
    assert not needs_review([Flag.BARCODE_SERIAL_UNREAD]) and not reading.review


def test_a_part_read_barcode_still_checks_the_paket():
    reading = _scan("A")
    assert reading.barcode == "LJUN-B-??????"
    assert Flag.BARCODE_PAKET_MISMATCH in reading.flags and reading.review


def test_part_read_barcodes_are_never_duplicates():
    sheets = [
        SheetSummary(i, 0, "a.tif", i + 1, f"2-12-01-05-001-00{i}-0", "LJUN-A-??????", "A",
                     Decimal("5"), (Flag.BARCODE_SERIAL_UNREAD,), False, False)
        for i in range(2)
    ]  # fmt: skip
    assert reconcile(sheets).flags == {}


def test_a_foreign_barcode_is_kept_and_reviewed():
    """zbar's text that is no sheet barcode waits for the grid and synthesis;
    when neither reads (the bars are not the sheet barcode's), it is kept."""
    sheet = synthetic_sheet(SheetSpec(barcode="TK-A-0001"), Scan())
    reading = read_sheet(Page(sheet.image, "x", 1, 200.0), ljun_template(), CAL)
    assert reading.barcode == "TK-A-0001"
    assert Flag.INVALID.at("barcode") in reading.flags and reading.review
