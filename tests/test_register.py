"""Registration: fiducials, homography, orientation, and the failure reasons."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from _reading_helpers import (
    Scan,
    SheetSpec,
    ljun_template,
    pencil,
    scan_page,
    synthetic_sheet,
    template_to_scan,
)

from ljun.calibration import load_calibration
from ljun.register import REFERENCE_DPI, Registration, RegistrationFailure, map_points, register
from ljun.template import mm_to_px

CAL = load_calibration()


def _bubble_error(sheet, registration) -> float:
    """Largest distance (scan px) between predicted and true bubble centres."""
    geometry = ljun_template().geometry(REFERENCE_DPI)
    predicted = map_points(registration.homography, geometry.centres)
    truth = template_to_scan(geometry.centres, sheet.scan, sheet.page_shape)
    return float(np.max(np.linalg.norm(predicted - truth, axis=1)))


@pytest.mark.parametrize(
    "scan",
    [
        Scan(),
        Scan(skew_deg=10.0, shift_px=(35, -20), margin=0.15),
        Scan(skew_deg=-10.0, scale=1.03, margin=0.15),
        Scan(skew_deg=4.0, scale=0.97, rotated_180=True),
        Scan(dpi=150, skew_deg=-6.0, bits=1),
        Scan(dpi=300, skew_deg=7.0, noise=8.0, blur=1.2),
    ],
    ids=[
        "upright",
        "skew+10-shift",
        "skew-10-scale+3",
        "upside-down",
        "150dpi-bilevel",
        "300dpi-noise-blur",
    ],
)
@pytest.mark.parametrize("known_dpi", [True, False], ids=["dpi", "no-dpi"])
def test_register_puts_every_bubble_within_a_pixel(scan, known_dpi):
    sheet = synthetic_sheet(SheetSpec(), scan)
    registration = register(sheet.image, ljun_template(), CAL, dpi=scan.dpi if known_dpi else None)
    assert isinstance(registration, Registration) and registration
    assert _bubble_error(sheet, registration) < 1.0 * scan.dpi / 200
    assert registration.orientation == (180 if scan.rotated_180 else 0)
    assert registration.dpi == pytest.approx(scan.dpi * scan.scale, rel=0.01)
    assert registration.residual_mm < CAL.register.residual_review_mm
    assert registration.form_match > 0.85  # filled bubbles hide their rings


def test_ring_fiducial_decides_orientation_of_a_page_fed_upside_down():
    sheet = synthetic_sheet(SheetSpec(), Scan(rotated_180=True))
    registration = register(sheet.image, ljun_template(), CAL, dpi=200)
    # The template's top-left fiducial is found at the bottom-right of the scan.
    top_left = map_points(
        registration.homography, ljun_template().geometry(REFERENCE_DPI).fiducials[:1]
    )[0]
    height, width = sheet.image.shape
    assert top_left[0] > width / 2 and top_left[1] > height / 2


def test_blank_page_is_a_falsy_failure():
    failure = register(np.full((2339, 1654), 250, np.uint8), ljun_template(), CAL, dpi=200)
    assert isinstance(failure, RegistrationFailure)
    assert failure.reason == "blank_page"


def test_printed_page_without_corner_marks_is_wrong_template():
    page = np.full((2339, 1654), 255, np.uint8)
    for row in range(30):
        cv2.putText(
            page,
            "DAFTAR HADIR PESERTA UJIAN " * 2,
            (60, 120 + 70 * row),
            cv2.FONT_HERSHEY_SIMPLEX,
            1.2,
            0,
            2,
        )
    failure = register(page, ljun_template(), CAL, dpi=200)
    assert isinstance(failure, RegistrationFailure) and failure.reason == "wrong_template"


def test_sheet_with_a_corner_mark_torn_off_has_no_fiducials():
    page = pencil(SheetSpec(), 200)
    x, y = mm_to_px(np.array([198.0, 285.0]), 200)  # bottom-right fiducial
    half = int(mm_to_px(6.0, 200))
    page[int(y) - half : int(y) + half, int(x) - half : int(x) + half] = 255
    failure = register(scan_page(page, Scan(skew_deg=2)), ljun_template(), CAL, dpi=200)
    assert isinstance(failure, RegistrationFailure) and failure.reason == "no_fiducials"


def test_other_form_with_the_same_corner_marks_is_wrong_template():
    # Only the fiducials of the LJUN, nothing else of its form.
    page = np.full((2339, 1654), 255, np.uint8)
    template = ljun_template()
    for fid in template.fiducials:
        x0, y0 = mm_to_px(np.array([fid.x_mm - fid.size_mm / 2, fid.y_mm - fid.size_mm / 2]), 200)
        x1, y1 = mm_to_px(np.array([fid.x_mm + fid.size_mm / 2, fid.y_mm + fid.size_mm / 2]), 200)
        page[int(y0) : int(y1), int(x0) : int(x1)] = 0
        if fid.shape == "ring":
            cx, cy, r = int((x0 + x1) / 2), int((y0 + y1) / 2), int((x1 - x0) * 0.22)
            page[cy - r : cy + r, cx - r : cx + r] = 255
    for row in range(20):
        cv2.putText(
            page,
            "BERITA ACARA PELAKSANAAN UJIAN",
            (200, 400 + 80 * row),
            cv2.FONT_HERSHEY_SIMPLEX,
            1.2,
            0,
            2,
        )
    failure = register(page, template, CAL, dpi=200)
    assert isinstance(failure, RegistrationFailure) and failure.reason == "wrong_template"


def test_page_warped_in_one_field_has_residual_too_high():
    # Shift the answers grid by 1.5 mm, as a fold or a curl of the paper would.
    page = pencil(SheetSpec(), 200)
    top = int(mm_to_px(186.0, 200))
    bottom = int(mm_to_px(262.0, 200))
    shift = int(mm_to_px(1.5, 200) + 0.5)
    page[top:bottom, shift:] = page[top:bottom, :-shift].copy()
    failure = register(scan_page(page, Scan()), ljun_template(), CAL, dpi=200)
    assert isinstance(failure, RegistrationFailure) and failure.reason == "residual_too_high"


def test_regression_fiducial_cut_by_the_scan_edge_is_not_measured():
    # A page skewed past the edge of the scan loses part of a corner mark; its
    # centroid was taken as the mark's centre and put every bubble 4 px off.
    sheet = synthetic_sheet(SheetSpec(), Scan(skew_deg=10.0, shift_px=(35, -20), margin=0.08))
    result = register(sheet.image, ljun_template(), CAL, dpi=200)
    assert isinstance(result, RegistrationFailure) and result.reason == "no_fiducials"


def test_regression_dark_scanner_background_is_not_the_paper():
    # With a black ADF backing around a skewed page, the most common gray of
    # the scan was the background; taken as the paper level, no printed ring
    # looked dark and the sheet was called wrong_template.
    sheet = synthetic_sheet(SheetSpec(), Scan(skew_deg=6.0, margin=0.3))
    image = sheet.image.copy()
    page = np.zeros(image.shape, np.uint8)
    corners = template_to_scan(
        np.array([[-0.5, -0.5], [1653.5, -0.5], [1653.5, 2338.5], [-0.5, 2338.5]]),
        sheet.scan,
        sheet.page_shape,
    )
    cv2.fillPoly(page, [np.round(corners).astype(np.int32)], 1)
    image[page == 0] = 40  # dark backing wherever the page is not
    assert np.mean(image == 40) > 0.4
    registration = register(image, ljun_template(), CAL, dpi=200)
    assert registration and registration.paper_level > 200
    assert _bubble_error(sheet, registration) < 1.0


def test_register_never_raises_on_odd_images():
    for image in (
        np.zeros((5, 5), np.uint8),
        np.zeros((400, 300), np.uint8),
        np.random.default_rng(1).integers(0, 256, (600, 400), dtype=np.uint8),
    ):
        result = register(image, ljun_template(), CAL)
        assert isinstance(result, RegistrationFailure)


@pytest.mark.parametrize("percent", [0, 10, 50, 75, 90, 100])
def test_gray_quantile_is_the_partial_sort_quantile(percent):
    from ljun.register import gray_quantile

    rng = np.random.default_rng(percent)
    window = rng.integers(0, 256, (37, 53), dtype=np.uint8)
    for values in (window, window[5:30, 7:40], window[window > 100]):
        flat = values.ravel()
        rank = int(percent / 100.0 * (flat.size - 1))
        assert gray_quantile(values, percent) == float(np.partition(flat, rank)[rank])


def test_gray_quantile_with_a_mask_counts_only_the_masked_pixels():
    from ljun.register import gray_quantile

    rng = np.random.default_rng(11)
    window = rng.integers(0, 256, (41, 29), dtype=np.uint8)
    mask = (rng.random(window.shape) < 0.3).astype(np.uint8) * 255
    for percent in (10, 75):
        inside = window[mask != 0]
        rank = int(percent / 100.0 * (inside.size - 1))
        assert gray_quantile(window, percent, mask=mask) == float(np.partition(inside, rank)[rank])
