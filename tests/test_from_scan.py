"""``ljun template from-scan``: a template proposed from a blank sheet.

Every bundled design, rendered blank (and as a skewed, noisy scan on a dark
scanner background), must come back with every bubble centre within 0.5 mm
of the original and every answer item's number.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from ljun._color import pencil_channel_weights
from ljun._fromscan import propose_template
from ljun.calibration import load_calibration
from ljun.load import to_gray
from ljun.pipeline import analyse_sheet
from ljun.records import Page
from ljun.render import render_image
from ljun.samples import generate_sheets
from ljun.template import bundled_template_ids, check_template, load_template, parse_template

DPI = 200
# The bar: every bubble centre within this of the design (mm).
CENTRE_TOLERANCE_MM = 0.5


def _assert_reproduces(original, proposed) -> None:
    assert check_template(proposed) == []
    assert [f.name for f in proposed.fields] == [
        n
        for n in ("nama", "nomor_peserta", "tanggal_lahir", "kode_kompetensi", "paket", "answers")
        if original.has_field(n)
    ]
    for fld in original.fields:
        items, centres = fld.bubbles_mm()
        got = proposed.field(fld.name)
        got_items, got_centres = got.bubbles_mm()
        assert got.options == fld.options, fld.name
        assert np.array_equal(got_items, items), fld.name
        assert got_centres.shape == centres.shape, fld.name
        assert np.abs(got_centres - centres).max() < CENTRE_TOLERANCE_MM, fld.name
    assert len(proposed.fiducials) == len(original.fiducials)
    assert [f.shape for f in proposed.fiducials] == [f.shape for f in original.fiducials]
    assert (proposed.timing_track is None) == (original.timing_track is None)
    if original.timing_track is not None:
        assert proposed.timing_track.count == original.timing_track.count
        assert (
            np.abs(proposed.timing_track.centres_mm() - original.timing_track.centres_mm()).max()
            < CENTRE_TOLERANCE_MM
        )


@pytest.mark.parametrize("design", bundled_template_ids())
def test_from_scan_of_a_blank_render_reproduces_the_design(run_cli, tmp_path, design):
    original = load_template(design)
    blank = tmp_path / "blank.png"
    Image.fromarray(render_image(original, DPI)).save(blank, dpi=(DPI, DPI))
    out = tmp_path / "kita.json"
    result = run_cli("template", "from-scan", str(blank), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "kita.preview.png").stat().st_size > 0
    document = json.loads(out.read_text("utf-8"))
    assert document["id"] == "kita"
    _assert_reproduces(original, parse_template(document))
    assert run_cli("template", "check", str(out)).exit_code == 0


def _skewed_noisy_scan(image: np.ndarray, angle_deg: float, seed: int) -> np.ndarray:
    """The page on a dark scanner background, turned, blurred and noisy."""
    margin = 120
    h, w = image.shape
    canvas = np.full((h + 2 * margin, w + 2 * margin), 35, np.uint8)
    canvas[margin : margin + h, margin : margin + w] = image
    height, width = canvas.shape
    turn = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle_deg, 1.0)
    scan = cv2.warpAffine(canvas, turn, (width, height), flags=cv2.INTER_LINEAR, borderValue=35)
    rng = np.random.default_rng(seed)
    blurred = cv2.GaussianBlur(scan.astype(np.float32), (0, 0), 0.8)
    return np.clip(blurred + rng.normal(0, 8, scan.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    ("design", "angle"), [("ljun-teori-kejuruan", -7.0), ("ljk-provinsi-60", 5.0)]
)
def test_from_scan_of_a_skewed_noisy_scan_reproduces_the_design(design, angle):
    original = load_template(design)
    scan = _skewed_noisy_scan(render_image(original, DPI), angle, seed=16)
    proposal = propose_template(scan, DPI, template_id="kita")
    assert proposal.notes == ()
    assert abs(abs(proposal.rotation_deg) - abs(angle)) < 0.3
    _assert_reproduces(original, parse_template(proposal.document))


def test_from_scan_reads_the_master_pdf(run_cli, tmp_path):
    pdf = tmp_path / "master.pdf"
    assert run_cli("template", "render", "ljk-provinsi-60", "--out", str(pdf)).exit_code == 0
    out = tmp_path / "dari-pdf.json"
    result = run_cli("template", "from-scan", str(pdf), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    _assert_reproduces(
        load_template("ljk-provinsi-60"), parse_template(json.loads(out.read_text()))
    )


def test_from_scan_of_a_page_without_bubbles_is_refused(run_cli, tmp_path):
    page = tmp_path / "empty.png"
    Image.fromarray(np.full((400, 300), 250, np.uint8)).save(page, dpi=(50, 50))
    out = tmp_path / "x.json"
    result = run_cli("template", "from-scan", str(page), "--out", str(out))
    assert result.exit_code == 2
    assert "empty.png" in result.stderr and "no bubble grid" in result.stderr
    assert not out.exists()


def test_from_scan_of_a_missing_file_names_it(run_cli, tmp_path):
    result = run_cli(
        "template", "from-scan", str(tmp_path / "nope.png"), "--out", str(tmp_path / "x.json")
    )
    assert result.exit_code == 2 and "nope.png" in result.stderr


def test_a_template_from_a_blank_reads_scans_of_the_design(tmp_path):
    # The office's round: blank → from-scan → (print colour named) → score.
    original = load_template("ljk-provinsi-60")
    proposal = propose_template(render_image(original, DPI), DPI, template_id="kita")
    document = dict(proposal.document, print_color="#f0443c")
    assert len(document["boxes"]) == len(original.boxes) + 1  # and the barcode's frame
    ours = parse_template(document)
    weights = pencil_channel_weights(ours.print_color)
    for scan_color in ("gray", "dropout"):
        (sheet,) = generate_sheets(
            original,
            count=1,
            seed=8,
            level="easy",
            scan_color=scan_color,
            include_special_pages=False,
        )
        page = Page(image=to_gray(sheet.image, weights=weights), source="x", page=1, dpi=DPI)
        reading = analyse_sheet(page, ours, load_calibration()).reading
        assert list(reading.answers) == sheet.truth["answers"], scan_color
        assert reading.nomor_peserta == sheet.truth["nomor_peserta"]
        assert reading.nama == sheet.truth["nama"] and not reading.review, reading.flags
