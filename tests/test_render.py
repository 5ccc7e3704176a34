"""Rendering: the printed sheet agrees with the geometry; PDF, PNG and TIFF outputs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ljun.render import RING_GRAY, code128_modules, render_image, sheet_primitives

# Ring pixels are darker than this; printed option letters (lighter ink) are not.
RING_THRESHOLD = (RING_GRAY + 160) // 2


def _ring_centres(image: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Measure each printed ring's centre as the darkness-weighted centroid of
    ring pixels in a window just larger than the ring."""
    found = np.empty_like(centres)
    for k, ((x, y), r) in enumerate(zip(centres, radii)):
        half = int(np.ceil(r + 3))
        x0, y0 = int(round(x)) - half, int(round(y)) - half
        window = image[y0 : y0 + 2 * half + 1, x0 : x0 + 2 * half + 1].astype(np.float64)
        weight = np.clip(RING_THRESHOLD - window, 0, None)
        ys, xs = np.mgrid[0 : window.shape[0], 0 : window.shape[1]]
        found[k] = (
            x0 + (weight * xs).sum() / weight.sum(),
            y0 + (weight * ys).sum() / weight.sum(),
        )
    return found


@pytest.mark.parametrize("dpi", [150, 200, 300])
def test_rendered_rings_lie_where_geometry_says(tmp_path, ljun_template, run_cli, dpi):
    out = tmp_path / f"sheet-{dpi}.png"
    assert (
        run_cli("template", "render", "ljun-teori-kejuruan", "--dpi", dpi, "--out", out).exit_code
        == 0
    )
    with Image.open(out) as png:
        # PNG stores pixels per metre as an integer, hence the tolerance.
        assert png.info["dpi"] == pytest.approx((dpi, dpi), abs=0.05)
        image = np.asarray(png.convert("L"))
    geometry = ljun_template.geometry(dpi)
    assert image.shape == (geometry.height, geometry.width)
    found = _ring_centres(image, geometry.centres, geometry.radii)
    error = np.abs(found - geometry.centres)
    assert error.max() < 0.5, f"worst ring is {error.max():.2f} px off"


def test_ring_measurement_notices_a_misplaced_ring(ljun_template):
    """The agreement test above can fail: shift the rendering by one pixel."""
    geometry = ljun_template.geometry(150)
    image = render_image(ljun_template, 150)
    shifted = np.roll(image, 1, axis=1)
    found = _ring_centres(shifted, geometry.centres, geometry.radii)
    assert np.abs(found - geometry.centres)[:, 0].min() > 0.5


def test_fiducials_are_solid_and_the_ring_has_a_hole(ljun_template):
    image = render_image(ljun_template, 200)
    geometry = ljun_template.geometry(200)
    for (x, y), shape in zip(geometry.fiducials, geometry.fiducial_shapes):
        centre = image[int(round(y)), int(round(x))]
        edge = image[int(round(y)), int(round(x + geometry.fiducial_sizes[0] * 0.4))]
        assert edge == 0
        assert centre == (255 if shape == "ring" else 0)


def test_upside_down_render_differs_at_the_ring_corner(ljun_template):
    image = render_image(ljun_template, 150)
    turned = image[::-1, ::-1]
    geometry = ljun_template.geometry(150)
    ring = geometry.fiducial_shapes.index("ring")
    x, y = np.round(geometry.fiducials[ring]).astype(int)
    assert image[y, x] == 255 and turned[y, x] == 0


def test_barcode_prints_and_decodes(tmp_path, run_cli):
    from pyzbar import pyzbar

    out = tmp_path / "sheet.png"
    result = run_cli(
        "template",
        "render",
        "ljun-teori-kejuruan",
        "--dpi",
        "200",
        "--out",
        out,
        "--barcode",
        "LJUN-A-000123",
    )
    assert result.exit_code == 0
    with Image.open(out) as png:
        decoded = pyzbar.decode(png.convert("L"))
    assert [d.data.decode() for d in decoded] == ["LJUN-A-000123"]
    assert decoded[0].type == "CODE128"


def test_code128_pattern_has_start_and_stop():
    modules = code128_modules("LJUN-B-000001")
    assert modules.startswith("11010010000")  # START B
    assert modules.endswith("1100011101011")  # STOP


def test_pdf_is_one_a4_vector_page(tmp_path, ljun_template, run_cli):
    from pdf2image import convert_from_path, pdfinfo_from_path

    out = tmp_path / "sheet.pdf"
    assert run_cli("template", "render", "ljun-teori-kejuruan", "--out", out).exit_code == 0
    info = pdfinfo_from_path(str(out))
    assert info["Pages"] == 1
    assert info["Page size"].startswith("595.276 x 841.89")
    # Vector: the drawing holds every bubble as a circle, not a picture.
    assert b"/Subtype /Image" not in out.read_bytes()
    page = np.asarray(convert_from_path(str(out), dpi=100, grayscale=True)[0])
    geometry = ljun_template.geometry(100)
    # The ring of question 1 option A shows where the geometry puts it.
    x, y = geometry.centres[geometry.grid("answers")[0, 0]]
    r = geometry.radii[0]
    assert page[int(round(y)), int(round(x + geometry.radii[-1]))] < 200
    assert page[int(round(y - 3 * r)), int(round(x))] > 200


def test_tiff_output_carries_dpi(tmp_path, run_cli):
    out = tmp_path / "sheet.tif"
    assert (
        run_cli("template", "render", "ljun-teori-kejuruan", "--dpi", "150", "--out", out).exit_code
        == 0
    )
    with Image.open(out) as tif:
        assert tif.size == (1240, 1754)
        assert tif.info["dpi"] == pytest.approx((150, 150))
        assert tif.mode == "L"


def test_unknown_output_format_is_refused(tmp_path, run_cli):
    result = run_cli("template", "render", "ljun-teori-kejuruan", "--out", tmp_path / "sheet.bmp")
    assert result.exit_code == 2
    assert "use one of .pdf, .png, .tif, .tiff" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_render_leaves_no_partial_file_when_it_fails(tmp_path, ljun_template, monkeypatch):
    from ljun import render

    def broken(*args, **kwargs):
        raise MemoryError("simulated")

    monkeypatch.setattr(render.Image.Image, "save", broken)
    out = tmp_path / "sheet.png"
    out.write_bytes(b"previous")
    with pytest.raises(MemoryError):
        render.write_sheet(ljun_template, out, dpi=100)
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.png"]


def test_every_bubble_has_a_ring_and_its_label(ljun_template):
    from ljun.render import Circle, Text

    primitives = sheet_primitives(ljun_template)
    circles = [p for p in primitives if isinstance(p, Circle)]
    assert len(circles) == len(ljun_template.geometry(200))
    labels = {(p.text, round(p.x, 3), round(p.y, 3)) for p in primitives if isinstance(p, Text)}
    assert all(
        (o, round(c.cx, 3), round(c.cy, 3)) in labels
        for c, o in zip(circles, ljun_template.geometry(200).option)
    )
