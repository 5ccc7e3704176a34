"""The fast paths of the 1-bit reading (issue 17) equal the plain arithmetic
they replace, on real generated 1-bit sheets: the speed-ups must not change
one reading."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
from _reading_helpers import bench_sheet, ljun_template

from ljun import decode
from ljun.calibration import load_calibration
from ljun.read import DITHER_ISOLATED_MIN, DITHER_PROBE_ROWS, is_dithered
from ljun.register import REFERENCE_DPI, Registration, gray_quantile, register, sample_scan

# ``import ljun.register`` binds the function: the module itself, for its privates.
_register = sys.modules["ljun.register"]

MODES = ("threshold", "dither", "adaptive")


@pytest.fixture(scope="module")
def sheets() -> dict[str, np.ndarray]:
    """One generated 200-dpi 1-bit sheet of each scanner B/W mode."""
    return {
        mode: bench_sheet(1717, index, "moderate", dpi=200, bits=1, bilevel_mode=mode).image
        for index, mode in enumerate(MODES)
    }


@pytest.fixture(scope="module")
def registrations(sheets) -> dict[str, Registration]:
    out = {}
    for mode, image in sheets.items():
        registration = register(image, ljun_template(), load_calibration(), dpi=200)
        assert isinstance(registration, Registration)
        out[mode] = registration
    return out


def _dithered_by_definition(image: np.ndarray) -> bool:
    """is_dithered as first written: 2-D slices of every DITHER_PROBE_ROWS-th row."""
    step = DITHER_PROBE_ROWS
    row = image[1:-1:step] == 0
    up = image[0:-2:step] == 0
    down = image[2::step] == 0
    centre, left, right = row[:, 1:-1], row[:, :-2], row[:, 2:]
    up, down = up[:, 1:-1], down[:, 1:-1]
    lone_black = centre & ~left & ~right & ~up & ~down
    lone_white = ~centre & left & right & up & down
    black = np.count_nonzero(centre)
    isolated = np.count_nonzero(lone_black) + np.count_nonzero(lone_white)
    return bool(black > 0 and isolated >= DITHER_ISOLATED_MIN * black)


def test_is_dithered_on_packed_bits_is_the_2d_definition(sheets):
    assert [is_dithered(image) for image in sheets.values()] == [False, True, False]
    rng = np.random.default_rng(17)
    images = list(sheets.values())
    # Crops whose isolated fraction sits near the edge, and odd sizes.
    images += [
        image[y : y + 97, x : x + 131]
        for image in sheets.values()
        for y, x in rng.integers(0, 1500, (20, 2))
    ]
    images += [
        (rng.random(shape) < density).astype(np.uint8) * 255
        for shape in ((1, 1), (2, 5), (3, 3), (12, 3), (12, 4), (28, 5), (301, 207))
        + tuple((29, width) for width in (7, 8, 9, 15, 16, 17, 23, 24, 25))
        for density in (0.1, 0.5, 0.9)
    ]
    images.append(rng.integers(0, 256, (300, 200), dtype=np.uint8))  # gray levels too
    for image in images:
        assert is_dithered(image) == _dithered_by_definition(image), image.shape


def test_sample_scan_two_channel_map_samples_as_separate_maps(sheets, registrations):
    image, homography = sheets["adaptive"], registrations["adaptive"].homography
    rng = np.random.default_rng(3)
    # The bubble centres, and points on and off the page (paper white there).
    points = [
        np.asarray(ljun_template().geometry(REFERENCE_DPI).centres, np.float32)[:, None, :],
        rng.uniform(-60.0, 2500.0, (400, 30, 2)).astype(np.float32),
    ]
    for template_points in points:
        scan, gray = sample_scan(image, homography, template_points)
        expected = cv2.remap(
            image,
            np.ascontiguousarray(scan[..., 0]),
            np.ascontiguousarray(scan[..., 1]),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=255,
        )
        np.testing.assert_array_equal(gray, expected)


def _refined_by_definition(image, centre, side, paper):
    """The fiducial's centroid, ink, paper beside it and centre gray, as
    _refine_fiducial first measured them (one histogram per quantile)."""
    half = int(np.ceil(side))
    cx, cy = int(round(centre[0])), int(round(centre[1]))
    x0, y0 = max(cx - half, 0), max(cy - half, 0)
    window = image[y0 : cy + half + 1, x0 : cx + half + 1]
    threshold = (gray_quantile(window, 10) + paper) / 2.0
    _, labels, stats, centroids = cv2.connectedComponentsWithStats(
        (window < threshold).astype(np.uint8), connectivity=8
    )
    large = stats[1:, cv2.CC_STAT_AREA] >= 0.25 * side * side
    dist = np.hypot(*(centroids[1:] - [cx - x0, cy - y0]).T)
    k = int(np.argmin(np.where(large, dist, np.inf))) + 1
    blob = cv2.inRange(labels, k, k)
    weight = np.where(blob != 0, np.maximum(np.float32(paper) - window, 0.0), 0.0)
    moments = cv2.moments(weight.astype(np.float32))
    mx = moments["m10"] / moments["m00"] + x0
    my = moments["m01"] / moments["m00"] + y0
    probe = max(1, int(round(0.12 * side)))
    px, py = int(round(mx)), int(round(my))
    patch = image[max(py - probe, 0) : py + probe + 1, max(px - probe, 0) : px + probe + 1]
    ink = gray_quantile(window, 10, mask=blob)
    local_paper = gray_quantile(window, 75, mask=cv2.bitwise_not(blob))
    return mx, my, float(patch.mean()), ink, local_paper


def test_refine_fiducial_measures_as_the_plain_arithmetic(sheets, registrations):
    geometry = ljun_template().geometry(REFERENCE_DPI)
    side = float(np.mean(geometry.fiducial_sizes))  # 200-dpi scans of the 200-dpi geometry
    rng = np.random.default_rng(5)
    for mode, image in sheets.items():
        for centre in registrations[mode].fiducials:
            for offset in [(0.0, 0.0), *rng.normal(0.0, 0.3 * side, (3, 2))]:
                for paper in (255.0, 231.0):
                    measured = _register._refine_fiducial(image, centre + offset, side, paper)
                    assert measured is not None
                    (mx, my), _, centre_gray, ink, local_paper = measured
                    assert (mx, my, centre_gray, ink, local_paper) == _refined_by_definition(
                        image, centre + offset, side, paper
                    )


@pytest.fixture(scope="module")
def barcode_crops(sheets, registrations) -> list[np.ndarray]:
    """The barcode crop of each generated sheet."""
    template = ljun_template()
    geometry = template.geometry(REFERENCE_DPI)
    return [
        decode.barcode_crop(image, registrations[mode], template, geometry)
        for mode, image in sheets.items()
    ]


def test_barcode_grid_check_with_cached_taps_reads_as_uncached(barcode_crops):
    template = ljun_template()
    crops = barcode_crops
    assert len({crop.shape for crop in crops}) == 1  # one size at 200 dpi: the cache serves all
    for crop in crops:
        decode._coarse_grid_taps.cache_clear()
        fresh = decode._grid_candidates(crop, template)
        assert fresh is not None
        assert decode._grid_candidates(crop, template) == fresh  # from the cache
    # The cached taps are those of the positions the search tries.
    area = template.barcode
    assert area is not None
    _, n_modules = decode._grid_size()
    _, shared, _ = decode._grid_models()
    start, shifts, widths = decode._grid_search(crops[0].shape[0], area, n_modules)
    at = (np.arange(n_modules * decode.BARCODE_SUBSAMPLES) + 0.5) / decode.BARCODE_SUBSAMPLES
    x = start + shifts[::3, None, None] + widths[None, :, None] * at[shared][None, None, :]
    taps = decode._coarse_grid_taps(crops[0].shape, area, 3)
    left, weight, right, keep = taps
    np.testing.assert_array_equal(right, left + 1)
    np.testing.assert_array_equal(keep, 1.0 - weight)
    profile = np.linspace(0.0, 1.0, crops[0].shape[1]) ** 2
    np.testing.assert_array_equal(
        decode._interpolate(profile, *taps), decode._profile_at(profile, x)
    )


def test_is_bilevel_in_one_test_is_the_definition(sheets):
    from ljun.read import BILEVEL_MAX_GRAY_FRACTION, BILEVEL_PROBE_STEP, is_bilevel

    rng = np.random.default_rng(11)
    gray = bench_sheet(1717, 3, "moderate", dpi=150, bits=8).image
    images = [*sheets.values(), gray, rng.integers(0, 256, (64, 48), dtype=np.uint8)]
    images += [
        np.where(rng.random((70, 70)) < 0.0005 * k, 128, 255).astype(np.uint8) for k in range(8)
    ]
    # Gray levels away from the middle band counted first, as many as the
    # limit allows and one more: the rest of the grid decides.
    sheet = sheets["threshold"]
    limit = int(BILEVEL_MAX_GRAY_FRACTION * sheet[::BILEVEL_PROBE_STEP, ::BILEVEL_PROBE_STEP].size)
    for extra in (limit - 1, limit, limit + 1, limit + 2):
        last = (len(sheet) - 1) // BILEVEL_PROBE_STEP * BILEVEL_PROBE_STEP  # the grid's last row
        for rows in (slice(0, 3 * BILEVEL_PROBE_STEP), slice(last - 2 * BILEVEL_PROBE_STEP, None)):
            speckled = sheet.copy()
            band = speckled[rows][::BILEVEL_PROBE_STEP, ::BILEVEL_PROBE_STEP]  # a view
            band[np.unravel_index(np.arange(extra), band.shape)] = 128
            images.append(speckled)
    for image in images:
        grid = image[::BILEVEL_PROBE_STEP, ::BILEVEL_PROBE_STEP]
        middle = np.count_nonzero((grid > 0) & (grid < 255))
        assert is_bilevel(image) == (middle <= BILEVEL_MAX_GRAY_FRACTION * grid.size)
    assert [is_bilevel(image) for image in images[:4]] == [True, True, True, False]
    # Grays at the top and at the bottom alike: within the limit, and over it.
    assert [is_bilevel(image) for image in images[-8:]] == [True] * 4 + [False] * 4


def test_zbar_code128_finds_what_pyzbar_finds(sheets, registrations):
    from pyzbar.pyzbar import ZBarSymbol
    from pyzbar.pyzbar import decode as zbar_decode

    template = ljun_template()
    geometry = template.geometry(REFERENCE_DPI)
    rng = np.random.default_rng(5)
    images = []
    for mode, image in sheets.items():
        crop = decode.barcode_crop(image, registrations[mode], template, geometry)
        images += list(decode._barcode_candidates(crop, template))
    noisy = [np.clip(i + rng.normal(0, 50, i.shape), 0, 255).astype(np.uint8) for i in images]
    images += noisy + [np.full((20, 30), 255, np.uint8), images[0][:, ::-1]]
    found = [decode.zbar_code128(image) for image in images]
    assert found == [
        [f.data for f in zbar_decode(image, symbols=[ZBarSymbol.CODE128])] for image in images
    ]
    assert sum(map(bool, found)) >= len(sheets)  # it reads barcodes: not all empty


def test_dithered_samples_blurred_in_their_box_are_the_whole_page_blurred(sheets, registrations):
    from ljun.read import _blurred_samples, sampling_pattern
    from ljun.register import sample_at, scan_positions

    image = sheets["dither"]
    points = sampling_pattern(ljun_template(), REFERENCE_DPI).points
    rng = np.random.default_rng(7)
    # The sheet where it lies, and moved so far that the bubbles' box meets
    # the page's edges or leaves the page.
    for dx, dy in [(0.0, 0.0), *rng.normal(0.0, 400.0, (4, 2)), (-1900.0, 0.0), (0.0, 2600.0)]:
        move = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])
        scan = scan_positions(move @ registrations["dither"].homography, points)
        for size in (3, 5, 9):
            np.testing.assert_array_equal(
                _blurred_samples(image, scan, size),
                sample_at(cv2.blur(image, (size, size)), scan),
            )


def test_paper_level_of_a_mostly_white_page_is_the_histograms(sheets):
    # A page more than half pure white skips the histogram: 255, as the
    # histogram would say, on real 1-bit pages, gray ones and crafted edges.
    gray = bench_sheet(1717, 3, "moderate", dpi=150, bits=8).image
    rng = np.random.default_rng(13)
    smalls = [_register._decimate(image, 4) for image in (*sheets.values(), gray)]
    assert [_register._mostly_white(small) for small in smalls] == [True] * 3 + [False]
    # Just over and just under half white, with the rest anywhere (a
    # second peak at 254, a dark backing, noise).
    for rest in (254, 250, 40, None):
        for white in (49, 50, 51, 60, 99):
            small = np.full((10, 10), 255, np.uint8)
            other = rng.integers(0, 255, 100 - white) if rest is None else rest
            small.ravel()[rng.permutation(100)[: 100 - white]] = other
            smalls.append(small)
    smalls += [rng.integers(200, 256, (40, 30), dtype=np.uint8) for _ in range(20)]
    # The whole count decides (the first row, probed, is about as white).
    crafted = [_register._mostly_white(small) for small in smalls[4:24]]
    assert crafted == [False, False, True, True, True] * 4
    for small in smalls:
        expected = _register._paper_level_of_histogram(small)
        assert _register.estimate_paper_level(small) == expected
        if _register._mostly_white(small):
            assert expected == 255.0


def _grown_by_definition(values: np.ndarray, pixels: int) -> np.ndarray:
    """_grow as first written: the square's maximum over an edge-padded copy."""
    out = values.copy()
    padded = np.pad(values, ((0, 0), (pixels, pixels), (pixels, pixels)), mode="edge")
    side = values.shape[1]
    for dy in range(2 * pixels + 1):
        for dx in range(2 * pixels + 1):
            np.maximum(out, padded[:, dy : dy + side, dx : dx + side], out=out)
    return out


def _eroded_by_definition(mask: np.ndarray, radius: int) -> np.ndarray:
    """solid_mask as first written: the disc's AND over a False-padded copy."""
    side = mask.shape[1]
    padded = np.pad(mask, ((0, 0), (radius, radius), (radius, radius)), constant_values=False)
    eroded = mask.copy()
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dx * dx + dy * dy <= radius * radius:
                shifted = padded[
                    :, radius + dy : radius + dy + side, radius + dx : radius + dx + side
                ]
                np.logical_and(eroded, shifted, out=eroded)
    return eroded


@pytest.mark.parametrize("side", [1, 2, 3, 4, 5, 9, 23])
def test_grow_and_solid_mask_without_padding_are_the_definitions(side):
    from ljun import _closer_look, _lone_mark
    from ljun.template import MM_PER_INCH

    rng = np.random.default_rng(side)
    values = rng.normal(0.0, 1.0, (6, side, side)).astype(np.float32)
    values[0] = 0.0  # ties
    values[1] = -values[1]
    for pixels in (1, 2, 3, 5):
        np.testing.assert_array_equal(
            _closer_look._grow(values, pixels), _grown_by_definition(values, pixels)
        )
    masks = rng.random((6, side, side)) < 0.8
    masks[0] = True
    for radius in (1, 2, 3, 4):
        # the dpi that makes solid_mask's radius this one
        dpi = radius / _lone_mark.SOLID_PATCH_RADIUS_MM * MM_PER_INCH
        np.testing.assert_array_equal(
            _lone_mark.solid_mask(masks, dpi), _eroded_by_definition(masks, radius)
        )


def test_medians_without_numpys_machinery_are_numpys():
    from ljun.read import _row_median

    rng = np.random.default_rng(19)
    for shape in ((4, 61), (4, 60), (60, 7), (7, 60), (1, 1), (3, 2)):
        values = rng.normal(0.1, 0.3, shape).astype(np.float32)
        values[0, : shape[1] // 2] = values[0, 0]  # ties
        for array in (values, values.T):  # the transposed: a strided view, as read.py gives it
            expected = np.median(array, axis=1)
            assert _row_median(array).dtype == expected.dtype
            np.testing.assert_array_equal(_row_median(array), expected)
    for count in range(1, 9):
        for _ in range(50):
            values = [float(v) for v in rng.normal(200.0, 30.0, count).round(rng.integers(0, 3))]
            assert _register._median(values) == float(np.median(values))


def _corner_candidates_by_definition(
    ink_mask: np.ndarray, side_expected: float
) -> tuple[np.ndarray, np.ndarray]:
    """The corner search as first written: each corner's largest candidates,
    then the largest of those."""
    height, width = ink_mask.shape
    ch, cw = int(height * _register._CORNER_WINDOW), int(width * _register._CORNER_WINDOW)
    found, sides = [], []
    for y0, x0 in ((0, 0), (0, width - cw), (height - ch, 0), (height - ch, width - cw)):
        corner = ink_mask[y0 : y0 + ch, x0 : x0 + cw]
        centres, side, _ = _register._fiducial_candidates(corner, side_expected)
        found.append(centres + (x0, y0))
        sides.append(side)
    centres, side = np.concatenate(found), np.concatenate(sides)
    order = np.argsort(-side, kind="stable")[: _register._MAX_CANDIDATES]
    return centres[order], side[order]


def test_corner_search_judging_all_corners_together_is_corner_by_corner(sheets):
    calibration = load_calibration().register
    level = int(np.ceil(255 * calibration.fiducial_ink_fraction)) - 1
    masks = [
        cv2.threshold(_register._decimate(image, 4), level, 1, cv2.THRESH_BINARY_INV)[1]
        for image in sheets.values()
    ]
    # Ties: squares of equal area in every corner, more of them than are kept,
    # some corners with none, one or more than are kept; a corner of text.
    rng = np.random.default_rng(23)
    for counts in ((3, 3, 3, 3), (9, 0, 1, 4), (0, 0, 0, 0), (2, 12, 0, 5)):
        mask = np.zeros((240, 180), np.uint8)
        for corner, count in enumerate(counts):
            y0, x0 = (0 if corner < 2 else 168), (0 if corner % 2 == 0 else 126)
            for k in range(count):
                side = (12, 12, 11, 13)[k % 4]
                y, x = y0 + 2 + 18 * (k // 3), x0 + 2 + 17 * (k % 3)
                mask[y : y + side, x : x + side] = 1
        masks.append(mask)
        masks.append((rng.random((240, 180)) < 0.3).astype(np.uint8) | mask)
    for mask in masks:
        for side_expected in (12.0, 14.0, 4.0):
            centres, sides = _register._fiducial_candidates_in_corners(mask, side_expected)
            expected_centres, expected_sides = _corner_candidates_by_definition(mask, side_expected)
            np.testing.assert_array_equal(centres, expected_centres)
            np.testing.assert_array_equal(sides, expected_sides)
    # It finds the corner marks (not all empty), and ties that the order decides.
    assert all(len(_register._fiducial_candidates_in_corners(m, 12.0)[0]) >= 4 for m in masks[:3])
    assert len(_register._fiducial_candidates_in_corners(masks[5], 12.0)[0]) == 8


def test_layout_of_the_template_made_once_is_as_made_each_time():
    template = ljun_template()
    for dpi in (REFERENCE_DPI, 150.0, 300.0):
        geometry = template.geometry(dpi)
        t_order, zt0, zt0_energy, shift_index = _register._fiducial_layout(geometry)
        assert _register._fiducial_layout(geometry)[0] is t_order  # made once
        points = geometry.fiducials
        np.testing.assert_array_equal(t_order, _register._cyclic_order(points))
        zt = points[t_order, 0] + 1j * points[t_order, 1]
        np.testing.assert_array_equal(zt0, zt - zt.mean())
        assert zt0_energy == np.vdot(zt - zt.mean(), zt - zt.mean()).real
        f = len(points)
        np.testing.assert_array_equal(
            shift_index, (np.arange(f)[None, :] + np.arange(f)[:, None]) % f
        )
        assert not zt0.flags.writeable


def test_darkest_mean_in_its_negated_copy_is_the_partition_formula(sheets, registrations):
    from ljun.read import CORE_POINTS, INNER_POINTS, _darkest_mean, sampling_pattern

    pattern = sampling_pattern(ljun_template(), REFERENCE_DPI)
    rng = np.random.default_rng(29)
    arrays = []
    for mode, image in sheets.items():
        _, gray = sample_scan(image, registrations[mode].homography, pattern.points)
        darkness = (np.float32(250.0) - gray.astype(np.float32)) / np.float32(230.0)
        arrays += [darkness[:, pattern.core], darkness[:, pattern.inner]]  # strided views
    arrays.append(rng.normal(0.0, 1.0, (50, 48)).astype(np.float32).round(1))  # ties
    for values in arrays:
        for count in (1, CORE_POINTS, INNER_POINTS // 4, values.shape[1]):
            expected = -np.partition(-values, count - 1, axis=1)[:, :count].mean(axis=1)
            np.testing.assert_array_equal(_darkest_mean(values, count), expected)


def test_barcode_shares_and_column_means_by_opencv_are_numpys(sheets, registrations):
    template = ljun_template()
    geometry = template.geometry(REFERENCE_DPI)
    rng = np.random.default_rng(31)
    crops = [
        decode.barcode_crop(image, registrations[mode], template, geometry)
        for mode, image in sheets.items()
    ]
    crops.append(rng.integers(0, 256, (37, 61), dtype=np.uint8))
    for crop in crops:
        bars = decode._bar_band(crop, template)  # a strided view
        for values in (crop, bars, bars[:1]):
            for level in (-3.0, 0.0, 0.5, 57.0, 57.2, 127.5, 254.9, 255.0, 256.0, 300.0):
                assert decode._share_darker(values, level) == np.mean(values < level)
        for rows in (crop, crop[3:4], crop[10:30], bars[:, 5:]):
            means = decode._column_means(rows)
            assert means.dtype == np.float64
            np.testing.assert_array_equal(means, rows.mean(axis=0))
    assert decode._share_darker(np.zeros((0, 5), np.uint8), 100.0) == 0.0


def test_answers_and_columns_from_lists_are_the_object_array_definitions():
    from types import SimpleNamespace

    from ljun.vocabulary import BLANK, MULTI, UNREAD, Flag

    rng = np.random.default_rng(37)
    for _ in range(200):
        items, options = int(rng.integers(1, 41)), tuple("ABCDE"[: rng.integers(2, 6)])
        decision = SimpleNamespace(
            count=rng.choice([0, 0, 1, 1, 1, 2, 3], items),
            choice=rng.integers(0, len(options), items),
            unsure=rng.random(items) < 0.2,
        )
        letters = np.array(options, dtype=object)[decision.choice]
        answers = np.where(
            decision.count == 1, letters, np.where(decision.count == 0, BLANK, MULTI)
        )
        flags = [Flag.ANSWER_UNSURE.at(i + 1) for i in np.flatnonzero(decision.unsure)]
        flags += [
            Flag.ANSWER_MULTI.at(i + 1)
            for i in np.flatnonzero((decision.count > 1) & ~decision.unsure)
        ]
        assert decode._answers(decision, options) == (tuple(str(a) for a in answers), flags)
        for kind in ("letters", "digits"):
            blank = " " if kind == "letters" else UNREAD
            text = np.where(
                decision.count == 1, letters, np.where(decision.count == 0, blank, UNREAD)
            )
            flags = [Flag.MULTI_MARK.at("f", c + 1) for c in np.flatnonzero(decision.count > 1)]
            flags += [Flag.UNSURE.at("f", c + 1) for c in np.flatnonzero(decision.unsure)]
            value = "".join(str(t) for t in text)
            if kind == "letters":
                value = value.rstrip(" ")
                if not value:
                    flags.append(Flag.BLANK.at("f"))
            assert decode._columns("f", kind, decision, options) == (value, flags)


def test_gray_quantile_of_a_mostly_white_crop_is_the_histograms(barcode_crops):
    # Mostly white values skip the histogram: 255, as the histogram would say,
    # on the barcode crops of real 1-bit pages and crafted edges of the rank.
    arrays = list(barcode_crops)
    rng = np.random.default_rng(41)
    for size in (1, 2, 3, 10, 11, 101):
        for below in sorted({0, 1, size // 10, size // 10 + 1, size // 2, size - 1, size}):
            values = np.full(size, 255, np.uint8)
            values[rng.permutation(size)[:below]] = rng.integers(0, 255, below)
            arrays += [values, values.reshape(1, -1), values[::-1].reshape(-1, 1)]
    arrays.append(np.full((30, 40), 254, np.uint8))
    for values in arrays:
        for percent in (0, 10, 50, 89.9, 90, 90.1, 99, 100, -5, 150):
            expected = _register._histogram_quantile(_register._gray_histogram(values), percent)
            assert gray_quantile(values, percent) == expected, (values.shape, percent)
    assert [gray_quantile(crop, 90) for crop in arrays[:3]] == [255.0] * 3  # the fast path
