"""read_sheet end to end: exact readings on synthetic and generated scans,
review routing, and failures that never stop a batch."""

from __future__ import annotations

import numpy as np
import pytest
from _reading_helpers import Scan, SheetSpec, ljun_template, random_spec, synthetic_sheet

from ljun.calibration import load_calibration
from ljun.pipeline import analyse_sheet, read_sheet, reading_from_failure
from ljun.records import Page, PageFailure, SheetReading
from ljun.template import load_template
from ljun.vocabulary import INFO_FLAGS, needs_review

CAL = load_calibration()
RECORD_FIELDS = (
    "nomor_peserta",
    "nama",
    "tanggal_lahir",
    "kode_kompetensi",
    "paket",
    "barcode",
    "answers",
)


def _record(reading: SheetReading) -> dict:
    return {key: getattr(reading, key) for key in RECORD_FIELDS}


def _read(image: np.ndarray, dpi: float | None, template=None) -> SheetReading:
    template = template or ljun_template()
    return read_sheet(Page(image=image, source="scan.tif", page=3, dpi=dpi), template, CAL)


# Every bundled design is read by the same pipeline (ljk-provinsi-60: timing
# track, identical corner squares, red dropout print, 60 answers).
DESIGNS = ("ljun-teori-kejuruan", "ljk-provinsi-60")


@pytest.mark.parametrize("bits", [8, 1])
@pytest.mark.parametrize(
    "scan",
    [
        Scan(dpi=150, skew_deg=-10.0, margin=0.15),
        Scan(dpi=200, skew_deg=4.0, scale=1.03, shift_px=(25, -15)),
        Scan(dpi=200, skew_deg=-2.0, rotated_180=True, noise=6.0),
        Scan(dpi=300, skew_deg=10.0, scale=0.97, rotated_180=True, blur=1.0, margin=0.15),
    ],
    ids=[
        "150dpi-skew-10",
        "200dpi-skew+4-scale+3",
        "200dpi-upside-down-noise",
        "300dpi-skew+10-upside-down-blur",
    ],
)
def test_read_sheet_gives_the_exact_reading(scan, bits):
    spec = random_spec(
        np.random.default_rng(int(scan.dpi) + bits), multi_rate=0.05, blank_rate=0.05
    )
    sheet = synthetic_sheet(spec, Scan(**{**scan.__dict__, "bits": bits}))
    reading = _read(sheet.image, scan.dpi if bits == 8 else None)
    assert _record(reading) == sheet.expected
    assert reading.review is False, reading.flags
    assert ("rotated" in reading.flags) == scan.rotated_180
    assert reading.failure is None and reading.source == "scan.tif" and reading.page == 3
    assert (
        reading.darkness.shape == reading.confidence.shape == (len(ljun_template().geometry(200)),)
    )


@pytest.mark.parametrize("design", DESIGNS)
def test_generated_sheets_read_as_their_truth_or_go_to_review(design):
    from ljun.samples import generate_sheets

    template = load_template(design)
    checked = 0
    for sheet in generate_sheets(
        template, count=6, seed=4242, level="moderate", dpi="mixed", bits="mixed"
    ):
        reading = _read(sheet.image, float(sheet.dpi), template)
        if sheet.kind != "ljun":
            assert reading.review and reading.failure in (
                "blank_page",
                "wrong_template",
                "no_fiducials",
            )
            continue
        truth = {key: sheet.truth[key] for key in RECORD_FIELDS}
        truth["answers"] = tuple(truth["answers"])
        assert _record(reading) == truth or reading.review, (sheet.index, reading.flags)
        checked += 1
    assert checked == 6


@pytest.mark.parametrize("design", DESIGNS)
def test_easy_generated_sheets_need_no_review(design):
    from ljun.samples import generate_sheets

    template = load_template(design)
    for sheet in generate_sheets(template, count=3, seed=77, level="easy"):
        reading = _read(sheet.image, None, template)
        truth = {key: sheet.truth[key] for key in RECORD_FIELDS}
        truth["answers"] = tuple(truth["answers"])
        assert _record(reading) == truth
        assert not reading.review, reading.flags


def test_identity_problems_send_the_sheet_to_review():
    spec = SheetSpec(
        nama=("B", ("U", "V"), "D", "I"), tanggal_lahir="310295", paket="", kode_kompetensi="0000"
    )
    reading = _read(synthetic_sheet(spec).image, 200)
    assert reading.review
    assert reading.nama == "B?DI" and reading.paket == ""
    for flag in (
        "multi_mark:nama:2",
        "invalid:tanggal_lahir",
        "no_paket",
        "invalid:kode_kompetensi",
    ):
        assert flag in reading.flags


def test_barcode_naming_another_paket_is_flagged():
    reading = _read(synthetic_sheet(SheetSpec(paket="A", barcode="LJUN-B-000001")).image, 200)
    assert reading.barcode == "LJUN-B-000001" and reading.paket == "A"
    assert "barcode_paket_mismatch" in reading.flags and reading.review


def test_blank_page_is_a_failure_reading_routed_to_review():
    reading = _read(np.full((2339, 1654), 252, np.uint8), 200)
    assert reading.failure == "blank_page" and reading.flags == ("blank_page",) and reading.review
    assert reading.answers == () and reading.darkness.size == 0


def test_reading_from_a_load_failure():
    reading = reading_from_failure(
        PageFailure("batch.tif", 7, "truncated", "cut short"), ljun_template()
    )
    assert (reading.source, reading.page, reading.failure, reading.flags, reading.review) == (
        "batch.tif",
        7,
        "truncated",
        ("truncated",),
        True,
    )


def test_read_sheet_never_raises_on_page_content():
    rng = np.random.default_rng(3)
    for image in (
        rng.integers(0, 256, (1200, 900), dtype=np.uint8),
        np.zeros((50, 3000), np.uint8),
        np.zeros((3, 3), np.uint8),
    ):
        reading = _read(image, None)
        assert reading.review and reading.failure is not None


def test_flag_vocabulary():
    assert {"rotated", "answer_multi", "no_barcode", "barcode_serial_unread"} == INFO_FLAGS
    assert not needs_review(["rotated", "answer_multi:4", "no_barcode"])
    assert needs_review(["rotated", "unsure:nama:3"])


def test_analysis_keeps_the_evidence_behind_each_decision():
    sheet = synthetic_sheet(SheetSpec())
    analysis = analyse_sheet(Page(sheet.image, "x", 1, 200.0), ljun_template(), CAL)
    assert analysis.registration and analysis.bubbles is not None
    spec = SheetSpec()
    marks = (
        sum(ch != " " for ch in spec.nama)
        + len(spec.nomor_peserta)
        + len(spec.tanggal_lahir)
        + len(spec.kode_kompetensi)
        + len(spec.paket)
        + sum(len(a) for a in spec.answers)
    )
    assert int(np.sum(analysis.reading.darkness >= CAL.read.gray.marked_sure_min)) == marks
    assert analysis.reading.confidence.min() == 1.0
