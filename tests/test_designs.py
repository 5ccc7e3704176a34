"""Provincial designs: timing tracks, identical corner squares, coloured print.

The bundled ``ljk-provinsi-60`` has four identical corner squares and a
timing track down its left edge (the only feature that tells up from down),
bubbles printed in a red dropout ink, a 20-column name grid and 60 answers.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile

from ljun import _track
from ljun._color import LUMA_WEIGHTS, pencil_channel_weights, to_pencil_gray
from ljun.batch import read_file
from ljun.calibration import load_calibration
from ljun.errors import TemplateError
from ljun.load import iter_file_pages, to_gray
from ljun.pipeline import analyse_sheet
from ljun.records import Page
from ljun.register import REFERENCE_DPI, Registration, map_points, register
from ljun.render import render_color_image, render_image
from ljun.samples import generate_sheets
from ljun.template import check_template, load_template, parse_template

DESIGN = "ljk-provinsi-60"
DESIGN_FILE = Path(__file__).resolve().parent.parent / "templates/answer_sheets" / f"{DESIGN}.json"
CAL = load_calibration()


@pytest.fixture(scope="module")
def design():
    return load_template(DESIGN)


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(DESIGN_FILE.read_text("utf-8"))


def _problems(doc: dict) -> list[str]:
    return check_template(parse_template(doc))


# --------------------------------------------------------------------------- template format


def test_the_design_has_what_the_issue_asks(design):
    assert design.timing_track is not None and design.timing_track.count >= 5
    assert {f.shape for f in design.fiducials} == {"square"}
    assert len({f.size_mm for f in design.fiducials}) == 1
    assert design.print_color is not None
    assert design.field("nama").n_items == 20 and len(design.field("nama").options) == 26
    assert design.field("nomor_peserta").n_items == 14
    assert design.field("answers").n_items >= 60
    # Answers are numbered down each block, then across: item 2 is below item 1.
    items, centres = design.field("answers").bubbles_mm()
    assert centres[1, 0, 0] == centres[0, 0, 0] and centres[1, 0, 1] > centres[0, 0, 1]


def test_identical_corners_without_a_track_are_refused_saying_what_to_add(document):
    doc = copy.deepcopy(document)
    del doc["timing_track"]
    problems = _problems(doc)
    assert len(problems) == 1
    assert "upside down" in problems[0] and "timing_track" in problems[0]
    assert "ring" in problems[0]


def test_a_track_on_both_edges_does_not_decide_either(document):
    # A bar top-left and one bottom-right: 180° maps the marks onto themselves.
    doc = copy.deepcopy(document)
    track = doc["timing_track"]
    track["first_mm"] = [5.5, 24]
    track["step_mm"] = [199, 249]
    track["count"] = 2
    problems = _problems(doc)
    assert any("timing_track" in p and "at least" in p for p in problems)
    assert any("upside down" in p for p in problems)


def test_an_extra_mark_off_centre_decides_orientation(document):
    doc = copy.deepcopy(document)
    del doc["timing_track"]
    doc["fiducials"].append({"x_mm": 105, "y_mm": 12, "size_mm": 6, "shape": "square"})
    template = parse_template(doc)
    assert check_template(template) == []
    registration = register(_rotate(render_image(template, 200)), template, CAL, dpi=200)
    assert isinstance(registration, Registration) and registration.orientation == 180


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        (lambda t: t.update(first_mm=[1, 24]), "off the page"),
        (lambda t: t.update(first_mm=[30, 180]), "overlaps a bubble"),
        (lambda t: t.update(step_mm=[0, 1]), "touch each other"),
        (lambda t: t.update(first_mm=[12, 5], step_mm=[0, 5]), "touches corner mark"),
    ],
    ids=["off-page", "on-bubbles", "bars-touch", "on-corner"],
)
def test_a_bad_track_is_named(document, spoil, words):
    doc = copy.deepcopy(document)
    spoil(doc["timing_track"])
    assert any(words in p for p in _problems(doc))


def test_print_color_must_be_a_hex_colour(document):
    doc = copy.deepcopy(document)
    doc["print_color"] = "red"
    with pytest.raises(TemplateError, match="print_color"):
        parse_template(doc)


def test_circle_corner_marks_render_as_discs(document):
    doc = copy.deepcopy(document)
    doc["fiducials"][0]["shape"] = "circle"
    template = parse_template(doc)
    assert check_template(template) == []
    image = render_image(template, 200)
    # Inside the disc but outside the inscribed circle's corner: paper.
    x, y = (int(round(v * 200 / 25.4)) for v in (12 - 2.8, 12 - 2.8))
    cx, cy = (int(round(12 * 200 / 25.4)),) * 2
    assert image[y, x] > 200 and image[cy, cx] < 50


# --------------------------------------------------------------------------- rendering


def test_colour_render_prints_bubbles_in_the_design_colour_and_the_rest_black(design):
    rgb = render_color_image(design, 200)
    gray = render_image(design, 200)
    assert rgb.shape == (*gray.shape, 3)
    geometry = design.geometry(200)
    # A point on a bubble ring: reddish (R high, G and B low).
    x, y = geometry.centres[0] + (geometry.radii[0], 0)
    ring = rgb[int(round(y)), int(round(x))].astype(int)
    assert ring[0] > 150 and ring[1] < 150 and ring[2] < 150
    # The corner marks and the track are black in every channel.
    fx, fy = np.round(geometry.fiducials[0]).astype(int)
    assert (rgb[fy, fx] < 30).all()
    bx, by = np.round(_track.track_points(design, 200)[0][0, 1]).astype(int)
    assert (rgb[by, bx] < 30).all()


def test_cli_renders_the_design(run_cli, tmp_path):
    out = tmp_path / "ljk.png"
    result = run_cli("template", "render", DESIGN, "--dpi", "100", "--out", str(out))
    assert result.exit_code == 0 and out.stat().st_size > 0


# --------------------------------------------------------------------------- registration


def _rotate(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image[::-1, ::-1])


@pytest.mark.parametrize("upside_down", [False, True], ids=["upright", "upside-down"])
def test_the_track_decides_which_way_up_a_blank_sheet_lies(design, upside_down):
    image = render_image(design, 200)
    if upside_down:
        image = _rotate(image)
    registration = register(image, design, CAL, dpi=200)
    assert isinstance(registration, Registration)
    assert registration.orientation == (180 if upside_down else 0)
    geometry = design.geometry(REFERENCE_DPI)
    predicted = map_points(registration.homography, geometry.centres)
    truth = (
        geometry.centres if not upside_down else np.array(image.shape[::-1]) - 1 - geometry.centres
    )
    assert np.abs(predicted - truth).max() < 1.0


def test_the_track_alone_tells_up_from_down_on_a_symmetric_form(document):
    # One answers block in the middle of the page: its rings look the same
    # upside down, so only the track can tell.
    doc = copy.deepcopy(document)
    doc["fields"] = [
        {
            "name": "answers",
            "kind": "answers",
            "options": ["A", "B", "C", "D", "E"],
            "blocks": [
                {
                    "first_item": 1,
                    "items": 9,
                    "origin_mm": [95, 128.5],
                    "item_step_mm": [0, 5],
                    "option_step_mm": [5, 0],
                }
            ],
        }
    ]
    doc["boxes"], doc["labels"] = [], []
    del doc["barcode"]
    template = parse_template(doc)
    assert check_template(template) == []
    image = _rotate(render_image(template, 200))
    registration = register(image, template, CAL, dpi=200)
    assert isinstance(registration, Registration) and registration.orientation == 180
    bars, gaps = _track.track_points(template, REFERENCE_DPI)
    found = _track.track_match(image, registration.homography, bars, gaps, paper=255.0, ink=0.0)
    assert found == 1.0


# --------------------------------------------------------------------------- colour


def test_pencil_is_read_in_the_channel_where_the_print_fades():
    assert pencil_channel_weights((240, 68, 60)) == (1.0, 0.0, 0.0)
    assert pencil_channel_weights((0, 174, 239)) == (0.0, 0.0, 1.0)
    assert pencil_channel_weights((20, 20, 60)) == LUMA_WEIGHTS  # dark in every channel
    rgb = np.array([[[240, 68, 60], [60, 60, 60]]], dtype=np.uint8)  # red print, pencil
    red = to_pencil_gray(rgb, pencil_channel_weights((240, 68, 60)))
    luma = to_gray(rgb)
    # In the red channel the print is near paper, the pencil as dark as ever.
    assert red[0, 0] > 200 and red[0, 1] == 60 and luma[0, 0] < 120


def test_loaders_read_a_colour_tiff_in_the_channel_given(tmp_path):
    rgb = np.zeros((40, 30, 3), dtype=np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    path = tmp_path / "colour.tif"
    tifffile.imwrite(path, rgb, photometric="rgb")
    (page,) = iter_file_pages(path, weights=(1.0, 0.0, 0.0))
    assert isinstance(page, Page) and page.image.shape == (40, 30)
    assert (page.image == 200).all()
    (page,) = iter_file_pages(path)
    assert abs(int(page.image[0, 0]) - round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)) <= 1


def _read(design, image: np.ndarray, dpi: float):
    weights = pencil_channel_weights(design.print_color)
    page = Page(image=to_gray(image, weights=weights), source="x", page=1, dpi=dpi)
    return analyse_sheet(page, design, CAL).reading


def _same_as_truth(reading, truth: dict) -> bool:
    keys = ("nomor_peserta", "nama", "tanggal_lahir", "kode_kompetensi", "paket", "barcode")
    return list(reading.answers) == truth["answers"] and all(
        getattr(reading, k) == truth[k] for k in keys
    )


@pytest.mark.parametrize(
    ("scan_color", "bits"),
    [("gray", 8), ("gray", 1), ("rgb", 8), ("dropout", 8)],
    ids=["gray", "1-bit", "colour", "dropout"],
)
def test_generated_sheets_of_the_design_read_right_or_go_to_review(design, scan_color, bits):
    sheets = list(
        generate_sheets(
            design,
            count=2,
            seed=16,
            level="easy",
            bits=bits,
            scan_color=scan_color,
            include_special_pages=False,
        )
    )
    for sheet in sheets:
        assert sheet.image.ndim == (3 if scan_color == "rgb" else 2)
        assert len(sheet.truth["answers"]) == design.field("answers").n_items
        for image, rotated in ((sheet.image, False), (_rotate(sheet.image), True)):
            reading = _read(design, image, sheet.dpi)
            assert reading.failure is None
            assert _same_as_truth(reading, sheet.truth) or reading.review
            assert ("rotated" in reading.flags) == rotated


def test_dropout_scans_lose_the_rings_but_keep_the_pencil(design):
    (sheet,) = generate_sheets(
        design, count=1, seed=16, level="easy", scan_color="dropout", include_special_pages=False
    )
    reading = _read(design, sheet.image, sheet.dpi)
    assert _same_as_truth(reading, sheet.truth) and not reading.review
    registration = register(sheet.image, design, CAL, dpi=sheet.dpi)
    assert isinstance(registration, Registration)
    assert registration.ring_match < 0.5 < registration.box_match


def test_score_reads_a_colour_tiff_batch_of_the_design(design, tmp_path):
    (sheet,) = generate_sheets(
        design, count=1, seed=5, level="easy", scan_color="rgb", include_special_pages=False
    )
    path = tmp_path / "colour.tif"
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, sheet.image, photometric="rgb", compression="lzw")
    path.write_bytes(buffer.getvalue())
    result = read_file(path, file_index=0, template=design, calibration=CAL)
    ((_, reading),) = result.readings
    assert _same_as_truth(reading, sheet.truth) or reading.review


@pytest.mark.parametrize("upside_down", [False, True], ids=["upright", "upside-down"])
def test_regression_circle_corner_marks_register_without_a_corner_residual(document, upside_down):
    # A disc has no corners; its circumscribed square's corners once counted
    # as a 2 mm residual and every sheet failed as residual_too_high.
    doc = copy.deepcopy(document)
    for fiducial in doc["fiducials"]:
        fiducial["shape"] = "circle"
    template = parse_template(doc)
    image = render_image(template, 200)
    if upside_down:
        image = _rotate(image)
    registration = register(image, template, CAL, dpi=200)
    assert isinstance(registration, Registration)
    assert registration.residual_mm < 0.1
    assert registration.orientation == (180 if upside_down else 0)


def test_cli_samples_of_the_design_score_as_their_truth(run_cli, tmp_path):
    sets = tmp_path / "set"
    made = run_cli(
        "samples",
        "make",
        "--template",
        DESIGN,
        "--scan-color",
        "rgb",
        "--count",
        "2",
        "--level",
        "easy",
        "--seed",
        "4",
        "--out",
        str(sets),
    )
    assert made.exit_code == 0, made.stderr
    key = json.loads((sets / "paketA.json").read_text())
    assert len(key["answers"]) == 60
    out = tmp_path / "hasil.jsonl"
    scored = run_cli(
        "score",
        str(sets),
        "--template",
        DESIGN,
        "--key",
        str(sets / "paketA.json"),
        "--key",
        str(sets / "paketB.json"),
        "--key",
        str(sets / "susulan.json"),
        "--db",
        str(tmp_path / "ljun.sqlite"),
        "--out",
        str(out),
        "--workers",
        "1",
    )
    assert scored.exit_code == 0, scored.stderr
    truth = [json.loads(line) for line in (sets / "truth.jsonl").read_text().splitlines()]
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(got) == len(truth) == 2
    for want, record in zip(truth, got):
        assert record["answers"] == want["answers"] and record["score"] == want["score"]
        assert record["nomor_peserta"] == want["nomor_peserta"] and not record["review"]


def _stretch_lower_half(image: np.ndarray, factor: float) -> np.ndarray:
    """Paper stretched by ``factor`` below the middle of the page (scan rows)."""
    h, w = image.shape
    rows = np.arange(h, dtype=np.float32)
    middle = h / 2
    source = np.where(rows > middle, middle + (rows - middle) / factor, rows).astype(np.float32)
    map_x = np.tile(np.arange(w, dtype=np.float32), (h, 1))
    map_y = np.tile(source[:, None], (1, w))
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderValue=255)


def test_a_sheet_stretched_between_its_corner_marks_goes_to_review(design):
    (sheet,) = generate_sheets(design, count=1, seed=11, level="easy", include_special_pages=False)
    upright = _read(design, sheet.image, sheet.dpi)
    assert not upright.review
    registration = register(sheet.image, design, CAL, dpi=sheet.dpi)
    offsets = _track.track_offsets_mm(
        sheet.image,
        registration.homography,
        design,
        REFERENCE_DPI,
        paper=registration.paper_level,
        ink=registration.ink_level,
    )
    assert np.abs(offsets).max() < 0.2
    # 1.5 % stretch of the lower half: the corner marks still fit (residual
    # small) but the track's bars in the middle are a millimetre off.
    stretched = _read(design, _stretch_lower_half(sheet.image, 1.015), sheet.dpi)
    assert stretched.review and "registration_unsure" in stretched.flags
