"""Answer bubbles of a gray scan that a pencil line runs into (ljun._lined_answers)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from _reading_helpers import (
    DEFAULT_ANSWERS,
    Scan,
    SheetSpec,
    bench_sheet,
    bubble_px,
    draw_dot,
    draw_line,
    ljun_template,
    pencil,
    scan_page,
)

from ljun._lined_answers import (
    GRAY_LINED_FILL_BODY_MIN,
    LINE_REACH_MIN,
    PATH_ONE_SIDE_MIN,
    LineTrace,
    beside_fill_candidates,
    gray_lined_fill_candidates,
    gray_lone_fill_candidates,
    line_only_candidates,
    line_trace,
    lined_answer_evidence,
)
from ljun._lone_mark import FILL_HALO_CONTACT_MAX
from ljun._stroke_end import stroke_evidence
from ljun.calibration import load_calibration
from ljun.pipeline import REFERENCE_DPI, analyse_sheet
from ljun.read import BubbleDarkness, sampling_pattern
from ljun.records import Page

CAL = load_calibration()
READ = CAL.read
BANDS = READ.gray
ITEM = 5  # blank in the sheets below but for what a test pencils there
UNSURE = (BANDS.blank_sure_max + BANDS.mark_min) / 2


# --- the candidates, on synthetic evidence ---------------------------------


def _bubbles(rows, *, halo, body, contact=1, inside=None) -> tuple[BubbleDarkness, np.ndarray]:
    """Bubbles of (I, O) ``rows``: every option's halo, body, halo contact
    as given (a scalar, or (I, O) like the rows); one answer grid."""
    evidence = np.asarray(rows, np.float32)
    n = evidence.size

    def full(value, dtype=np.float32):
        return np.broadcast_to(np.asarray(value, dtype), evidence.shape).ravel().copy()

    zeros = np.zeros(n, np.float32)
    bubbles = BubbleDarkness(
        darkness=zeros,
        core=zeros,
        quarter=zeros,
        body=full(body),
        halo=full(halo),
        halo_contact=full(contact, np.int16),
        inside=np.ones(n, bool) if inside is None else full(inside, bool),
        paper=np.full(n, 240.0, np.float32),
        bilevel=False,
    )
    grid = np.arange(n).reshape(evidence.shape)
    return bubbles, grid


def _lines(rows, **features) -> list[int]:
    bubbles, grid = _bubbles(rows, **features)
    evidence = np.asarray(rows, np.float32).ravel()
    return line_only_candidates(evidence, bubbles, [grid], READ).tolist()


def _fills(rows, **features) -> list[int]:
    bubbles, grid = _bubbles(rows, **features)
    evidence = np.asarray(rows, np.float32).ravel()
    return gray_lined_fill_candidates(evidence, bubbles, [grid], READ).tolist()


LINE = BANDS.line_halo_min


@pytest.mark.parametrize(
    ("value", "found"),
    [
        (BANDS.blank_sure_max, False),  # blank surely already
        (BANDS.blank_sure_max + 0.001, True),
        (UNSURE, True),
        (BANDS.marked_sure_min - 0.001, True),
        (BANDS.marked_sure_min, False),  # a sure mark is never a line here
    ],
)
def test_line_only_candidates_are_the_unsure_band(value, found):
    rows = [[0.0, value, 0.0, 0.0, 0.0]]
    assert _lines(rows, halo=LINE, body=0.0) == ([1] if found else [])


@pytest.mark.parametrize(
    ("halo", "body", "found"),
    [
        (LINE, 0.0, True),
        (LINE - 0.001, 0.0, False),  # no line runs into it
        (LINE, BANDS.blank_sure_max, True),
        (LINE, BANDS.blank_sure_max + 0.001, False),  # more than a line's path is dark
    ],
)
def test_line_only_candidate_edges(halo, body, found):
    rows = [[0.0, 0.0, UNSURE, 0.0, 0.0]]
    assert _lines(rows, halo=halo, body=body) == ([2] if found else [])


def test_a_line_beside_the_items_mark_is_a_candidate_and_a_bubble_off_the_scan_is_not():
    rows = [[0.6, UNSURE, 0.0, 0.0, 0.0], [0.0, UNSURE, 0.0, 0.0, 0.0]]
    inside = [[True] * 5, [True, False, True, True, True]]
    assert _lines(rows, halo=LINE, body=0.0, inside=inside) == [1]


@pytest.mark.parametrize(
    ("body", "contact", "other", "value", "found"),
    [
        (GRAY_LINED_FILL_BODY_MIN, 1, 0.0, UNSURE, True),
        (GRAY_LINED_FILL_BODY_MIN - 0.001, 1, 0.0, UNSURE, False),  # a line's path
        (GRAY_LINED_FILL_BODY_MIN, FILL_HALO_CONTACT_MAX, 0.0, UNSURE, True),
        (GRAY_LINED_FILL_BODY_MIN, FILL_HALO_CONTACT_MAX + 1, 0.0, UNSURE, False),
        (GRAY_LINED_FILL_BODY_MIN, 1, BANDS.blank_sure_max, UNSURE, True),
        (GRAY_LINED_FILL_BODY_MIN, 1, BANDS.blank_sure_max + 0.001, UNSURE, False),  # not alone
        (GRAY_LINED_FILL_BODY_MIN, 1, 0.0, BANDS.marked_sure_min, False),  # sure already
    ],
)
def test_gray_lined_fill_candidate_edges(body, contact, other, value, found):
    rows = [[other, 0.0, value, 0.0, 0.0]]
    assert _fills(rows, halo=LINE, body=body, contact=contact) == ([2] if found else [])


def test_a_fill_candidate_needs_a_line_in_its_halo():
    rows = [[0.0, 0.0, UNSURE, 0.0, 0.0]]
    assert _fills(rows, halo=LINE - 0.001, body=0.3) == []


# --- on synthetic gray sheets ----------------------------------------------


def _sheet(dpi: float) -> np.ndarray:
    answers = list(DEFAULT_ANSWERS)
    answers[ITEM - 1] = ""
    return pencil(SheetSpec(answers=tuple(answers)), dpi)


def _analyse(page: np.ndarray, dpi: float):
    image = scan_page(page, Scan(dpi=dpi, blur=0.8, noise=3, skew_deg=0.7))
    return image, analyse_sheet(Page(image, "lined", 1, dpi), ljun_template(), CAL)


def _stroke_into(page: np.ndarray, dpi: float, stop: float, *, gray: int = 110) -> None:
    """A stray stroke from 3 radii out that stops ``stop`` radii short of C's centre."""
    x, y, r = bubble_px("answers", ITEM, "C", dpi)
    draw_line(
        page,
        (x - 2.4 * r, y - 1.8 * r),
        (x - 0.8 * stop * r, y - 0.6 * stop * r),
        dpi,
        width_mm=0.45,
        gray=gray,
    )


def _trace(image: np.ndarray, analysis, option: str) -> LineTrace:
    pattern = sampling_pattern(ljun_template(), REFERENCE_DPI)
    geometry = pattern.geometry
    index = geometry.grid("answers")[ITEM - 1, "ABCDE".index(option)]
    blank = np.ones(len(geometry.centres), bool)
    blank[index] = False
    return line_trace(
        image, analysis.registration, pattern, analysis.bubbles.paper, np.array([index]), blank
    )


def _reach(image: np.ndarray, analysis, option: str) -> float:
    return float(_trace(image, analysis, option).reach[0])


@pytest.mark.parametrize("dpi", [200.0, 300.0])
@pytest.mark.parametrize("stop", [0.0, 0.4])
def test_a_stroke_from_far_that_ends_inside_a_blank_bubble_needs_no_review(dpi, stop):
    """A stray stroke that ends in blank C (at its centre, or short of it),
    the item otherwise blank: blank, and no review (before: the lone-mark
    rule found a solid patch and sent it to review).  At 150 dpi the
    stroke's blurred edge pixels leave more beyond the band (0.14 mm² for
    this one): it may stay in review there (tests/test_lone_mark.py checks
    it is never a silent mark)."""
    page = _sheet(dpi)
    _stroke_into(page, dpi, stop)
    reading = _analyse(page, dpi)[1].reading
    assert reading.answers[ITEM - 1] == ""
    assert not reading.review, reading.flags


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
def test_a_stray_line_through_a_blank_bubble_needs_no_review(dpi):
    page = _sheet(dpi)
    x, y, r = bubble_px("answers", ITEM, "D", dpi)
    draw_line(page, (x - 1.0 * r, y - 3.5 * r), (x + 0.6 * r, y + 3.5 * r), dpi, gray=120)
    reading = _analyse(page, dpi)[1].reading
    assert reading.answers[ITEM - 1] == ""
    assert not reading.review, reading.flags


@pytest.mark.parametrize("dpi", [200.0, 300.0])
def test_a_slash_whose_end_runs_over_the_ring_is_no_sure_blank(dpi):
    """Safety: a student's slash (a tick of one stroke) in C whose upper end
    runs just over the ring, 1.3 radii from the centre, lies in one straight
    band as a line's path does, but does not run on: it is a mark or a
    review, never a sure blank."""
    page = _sheet(dpi)
    x, y, r = bubble_px("answers", ITEM, "C", dpi)
    draw_line(
        page, (x - 0.7 * r, y + 0.6 * r), (x + 1.0 * r, y - 0.83 * r), dpi, width_mm=0.5, gray=110
    )
    reading = _analyse(page, dpi)[1].reading
    assert reading.answers[ITEM - 1] == "C" or f"answer_unsure:{ITEM}" in reading.flags


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
def test_a_dot_on_a_stray_line_on_a_gray_scan_is_no_sure_blank(dpi):
    """Safety: the generator's smallest dot (0.22 of the radius) on the path
    of a stray line through C: the band holds the line, not the dot."""
    page = _sheet(dpi)
    draw_dot(page, "answers", ITEM, "C", dpi, fraction=0.22, gray=110)
    x, y, r = bubble_px("answers", ITEM, "C", dpi)
    draw_line(page, (x - 3 * r, y - 0.4 * r), (x + 3 * r, y + 0.4 * r), dpi, gray=120)
    reading = _analyse(page, dpi)[1].reading
    assert reading.answers[ITEM - 1] == "C" or f"answer_unsure:{ITEM}" in reading.flags


@pytest.mark.parametrize("dpi", [200.0, 300.0])
@pytest.mark.parametrize("blur", [0.8, 1.2])
def test_a_wide_dark_line_through_a_blank_bubble_needs_no_review(dpi, blur):
    """A stray line as wide as the generator draws them (0.5 mm), dark and
    blurred, askew between two of the band's fixed directions, through
    blank D: beyond the fixed band (``LINE_BAND_HALF_MM``) where the closer
    look finds it, blank without review in a band along the line's own
    direction and width (before: reviewed).  At 150 dpi its edge pixels
    still leave more than the bound beyond the band (0.34 mm²): reviewed."""
    page = _sheet(dpi)
    x, y, r = bubble_px("answers", ITEM, "D", dpi)
    draw_line(
        page, (x - 1.0 * r, y - 3.5 * r), (x + 0.6 * r, y + 3.5 * r), dpi, width_mm=0.5, gray=60
    )
    image = scan_page(page, Scan(dpi=dpi, blur=blur, noise=3, skew_deg=0.7))
    reading = analyse_sheet(Page(image, "lined", 1, dpi), ljun_template(), CAL).reading
    assert reading.answers[ITEM - 1] == ""
    assert not reading.review, reading.flags


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
@pytest.mark.parametrize("blur", [0.8, 1.2])
def test_a_dot_on_a_wide_dark_line_is_no_sure_blank(dpi, blur):
    """Safety: the generator's smallest dot on the path of a wide dark
    line through C: the band fitted to the line's width holds the line,
    not the dot."""
    page = _sheet(dpi)
    draw_dot(page, "answers", ITEM, "C", dpi, fraction=0.22, gray=110)
    x, y, r = bubble_px("answers", ITEM, "C", dpi)
    draw_line(page, (x - 3 * r, y - 0.4 * r), (x + 3 * r, y + 0.4 * r), dpi, width_mm=0.5, gray=60)
    image = scan_page(page, Scan(dpi=dpi, blur=blur, noise=3, skew_deg=0.7))
    reading = analyse_sheet(Page(image, "lined", 1, dpi), ljun_template(), CAL).reading
    assert reading.answers[ITEM - 1] == "C" or f"answer_unsure:{ITEM}" in reading.flags


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
@pytest.mark.parametrize("start", [1.3, 1.5])
@pytest.mark.parametrize("blot", [0.0, 0.25])
def test_a_short_stroke_from_just_beyond_the_ring_is_no_sure_mark(dpi, start, blot):
    """Safety of ``GRAY_SPILL_FILL_OFF_BAND_MIN_MM2``: a wide short stroke
    that starts just beyond C's ring (``start`` radii out, so its pencil
    does not run on to ``LINE_REACH_MIN``) and ends inside, with a blot at
    its end or none, in an item otherwise blank: never a sure C."""
    page = _sheet(dpi)
    x, y, r = bubble_px("answers", ITEM, "C", dpi)
    draw_line(page, (x + start * r, y - 0.5 * r), (x + 0.1 * r, y), dpi, width_mm=0.75, gray=90)
    if blot:
        draw_dot(page, "answers", ITEM, "C", dpi, fraction=blot, gray=90)
    reading = _analyse(page, dpi)[1].reading
    assert reading.answers[ITEM - 1] == "" or f"answer_unsure:{ITEM}" in reading.flags


def test_line_width_is_measured_beyond_the_ring():
    """The line's width comes from where it runs beyond the ring: the same
    for a line with a dot on its path inside the bubble as without."""
    dpi = 200.0
    widths = []
    for dot in (False, True):
        page = _sheet(dpi)
        if dot:
            draw_dot(page, "answers", ITEM, "C", dpi, fraction=0.3, gray=60)
        x, y, r = bubble_px("answers", ITEM, "C", dpi)
        draw_line(
            page, (x - 3 * r, y - 0.4 * r), (x + 3 * r, y + 0.4 * r), dpi, width_mm=0.5, gray=60
        )
        image, analysis = _analyse(page, dpi)
        widths.append(_trace(image, analysis, "C").width_mm[0])
    assert 0.45 <= widths[0] <= 0.9
    assert widths[1] == pytest.approx(widths[0], abs=0.05)


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
def test_line_reach_tells_a_line_from_far_from_a_slash(dpi):
    page = _sheet(dpi)
    _stroke_into(page, dpi, 0.0)
    x, y, r = bubble_px("answers", ITEM, "E", dpi)
    draw_line(page, (x - 0.7 * r, y + 0.6 * r), (x + 0.7 * r, y - 0.6 * r), dpi, width_mm=0.5)
    image, analysis = _analyse(page, dpi)
    assert _reach(image, analysis, "C") >= LINE_REACH_MIN + 0.2
    assert _reach(image, analysis, "E") < LINE_REACH_MIN - 0.2
    assert _reach(image, analysis, "B") == 0.0  # no pencil inside


# --- regressions on bench_read sheets -------------------------------------


@pytest.mark.parametrize(
    ("seed", "index", "item"),
    [
        (8601, 158, 35),  # a stroke from item 34's B ends in A
        (8602, 27, 20),  # a stray line through A
        (8603, 27, 36),  # a short stroke ends in E
        (8604, 160, 18),  # a light stroke from item 17 ends in A
        (8605, 178, 9),  # a short stroke ends in B
        (8605, 25, 32),  # a short stroke ends on E's letter, beside the mark in B
        (8602, 149, 4),  # a partial fill of E spilling over the ring
        (8605, 49, 30),  # a partial fill of B spilling over the ring
        (8621, 37, 4),  # a dark line 0.9 mm wide through A, on to item 5's B
        (8621, 40, 34),  # a dark line 0.9 mm wide through E, on to item 33's C
        (8626, 155, 39),  # a dark crescent over D spilling over the ring
        # a short stroke 0.85 mm wide ending in A beside the dot in D; its
        # run beyond the ring measured 0.69 mm wide from its cut ends
        (8638, 199, 4),
    ],
)
def test_regression_lined_answers_read_right_need_no_review(seed, index, item):
    """bench_read seeds 8601-8605 (dev), 8621, 8626 and 8638 (fresh, then spent),
    moderate 200-dpi gray: each sheet was reviewed for this one item
    (``answer_unsure``), read right."""
    sheet = bench_sheet(seed, index, "moderate", dpi=200, bits=8)
    page = Page(sheet.image, f"seed{seed}", index + 1, 200.0)
    reading = analyse_sheet(page, ljun_template(), CAL).reading
    assert reading.answers[item - 1] == sheet.truth["answers"][item - 1]
    assert f"answer_unsure:{item}" not in reading.flags
    assert not reading.review, reading.flags


# --- beside the item's fill, gray and 1-bit (branch ends) -------------------

FILL = 0.9  # a sure fill on every kind of scan


def _beside(rows, *, body, inside=None) -> list[int]:
    bubbles, grid = _bubbles(rows, halo=0.0, body=body, inside=inside)
    evidence = np.asarray(rows, np.float32).ravel()
    return beside_fill_candidates(evidence, bubbles, [grid], READ).tolist()


@pytest.mark.parametrize(
    ("fill_body", "body", "value", "found"),
    [
        (FILL, 0.0, UNSURE, True),
        (FILL, BANDS.blank_sure_max, UNSURE, True),
        (FILL, BANDS.blank_sure_max + 0.001, UNSURE, False),  # more than a path is dark
        (BANDS.marked_sure_min, 0.0, UNSURE, True),
        (BANDS.marked_sure_min - 0.001, 0.0, UNSURE, False),  # a thin sure mark is no fill
        (FILL, 0.0, BANDS.blank_sure_max, False),  # blank surely already
        (FILL, 0.0, BANDS.marked_sure_min - 0.001, True),
        (FILL, 0.0, BANDS.marked_sure_min, False),  # marked surely: a multiple mark
    ],
)
def test_beside_fill_candidate_edges(fill_body, body, value, found):
    rows = [[FILL, value, 0.0, 0.0, 0.0]]
    bodies = [[fill_body, body, 0.0, 0.0, 0.0]]
    assert _beside(rows, body=bodies) == ([1] if found else [])


def test_beside_fill_candidates_need_a_fill_in_the_item_on_the_scan():
    rows = [[0.0, UNSURE, 0.0, 0.0, 0.0], [FILL, UNSURE, 0.0, 0.0, 0.0]]
    bodies = [[0.0] * 5, [FILL, 0.0, 0.0, 0.0, 0.0]]
    assert _beside(rows, body=bodies) == [6]
    inside = [[True] * 5, [True, True, True, False, True]]
    assert _beside(rows, body=bodies, inside=inside) == []


def _bilevel_read(page: np.ndarray, dpi: float):
    image = scan_page(page, Scan(dpi=dpi, bits=1, blur=0.8, noise=3, skew_deg=0.7))
    return analyse_sheet(Page(image, "ends", 1, dpi), ljun_template(), CAL).reading


def _filled_sheet(dpi: float) -> np.ndarray:
    """Item ``ITEM`` answered A, the rest as ``DEFAULT_ANSWERS``."""
    answers = list(DEFAULT_ANSWERS)
    answers[ITEM - 1] = "A"
    return pencil(SheetSpec(answers=tuple(answers)), dpi)


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
def test_a_stroke_ending_beside_the_fill_on_a_1bit_scan_needs_no_review(dpi):
    """A stray stroke from far that stops inside blank C, the item's answer
    A filled: A, without review, on a 1-bit scan."""
    page = _filled_sheet(dpi)
    _stroke_into(page, dpi, 0.2, gray=90)
    reading = _bilevel_read(page, dpi)
    assert reading.answers[ITEM - 1] == "A"
    assert not reading.review, reading.flags


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
def test_a_stray_line_through_a_blank_bubble_of_a_1bit_scan_needs_no_review(dpi):
    page = _sheet(dpi)
    x, y, r = bubble_px("answers", ITEM, "D", dpi)
    draw_line(page, (x - 1.0 * r, y - 3.5 * r), (x + 0.6 * r, y + 3.5 * r), dpi, gray=100)
    reading = _bilevel_read(page, dpi)
    assert reading.answers[ITEM - 1] == ""
    assert not reading.review, reading.flags


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
def test_a_dot_on_a_stray_line_on_a_1bit_scan_is_no_sure_blank(dpi):
    """Safety: the generator's smallest dot on the path of a stray line
    through C, the item otherwise blank: C or a review, never blank surely
    (the band holds the dot but for 0.07-0.12 mm²)."""
    page = _sheet(dpi)
    draw_dot(page, "answers", ITEM, "C", dpi, fraction=0.22, gray=90)
    x, y, r = bubble_px("answers", ITEM, "C", dpi)
    draw_line(page, (x - 3 * r, y - 0.4 * r), (x + 3 * r, y + 0.4 * r), dpi, gray=100)
    reading = _bilevel_read(page, dpi)
    assert reading.answers[ITEM - 1] == "C" or f"answer_unsure:{ITEM}" in reading.flags


@pytest.mark.parametrize("bits", [8, 1])
@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
def test_a_strokes_path_leaves_the_ring_one_way_a_line_through_it_both(dpi, bits):
    """The guard of the stroke's end beside a fill: a stroke that stops in
    C leaves its ring one way (``one_side`` near 1), a line through D (a dot
    may sit on its path) both ways (0.1-0.4: a neighbour's ring hides some)."""
    page = _filled_sheet(dpi)
    _stroke_into(page, dpi, 0.2, gray=90)
    x, y, r = bubble_px("answers", ITEM, "D", dpi)
    draw_line(page, (x - 1.0 * r, y - 3.5 * r), (x + 0.6 * r, y + 3.5 * r), dpi, gray=100)
    image = scan_page(page, Scan(dpi=dpi, bits=bits, blur=0.8, noise=3, skew_deg=0.7))
    analysis = analyse_sheet(Page(image, "ends", 1, dpi), ljun_template(), CAL)
    pattern = sampling_pattern(ljun_template(), REFERENCE_DPI)
    looked = pattern.geometry.grid("answers")[ITEM - 1, 2:4]  # C, D
    blank = np.ones(len(pattern.geometry.centres), bool)
    blank[looked] = False
    found = stroke_evidence(
        image, analysis.registration, pattern, ljun_template(), analysis.bubbles, looked, blank
    )
    assert found.one_side[0] >= PATH_ONE_SIDE_MIN + 0.2
    assert found.one_side[1] <= PATH_ONE_SIDE_MIN - 0.2


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
def test_a_slash_running_over_the_ring_on_a_1bit_scan_is_no_sure_blank(dpi):
    """Safety: a student's slash in C whose end runs just over the ring,
    the item otherwise blank: C or a review, never blank surely."""
    page = _sheet(dpi)
    x, y, r = bubble_px("answers", ITEM, "C", dpi)
    draw_line(
        page, (x - 0.7 * r, y + 0.6 * r), (x + 1.0 * r, y - 0.83 * r), dpi, width_mm=0.5, gray=90
    )
    reading = _bilevel_read(page, dpi)
    assert reading.answers[ITEM - 1] == "C" or reading.review, reading.flags


@pytest.mark.parametrize(
    ("seed", "index", "dpi", "bits", "mode", "item"),
    [
        (8606, 47, 200, 8, None, 13),  # a short stroke ends in C beside the fill in B
        (8606, 11, 200, 1, "threshold", 13),  # a line ends in A beside the fill in B
        (8606, 26, 150, 1, "threshold", 7),  # a short stroke's speck in B beside E
        (8607, 180, 150, 1, "threshold", 21),  # a stray line through B beside D
        (8606, 30, 150, 1, "threshold", 19),  # a partial fill of B a line touches
    ],
)
def test_regression_moderate_stroke_ends_and_lines_need_no_review(
    seed, index, dpi, bits, mode, item
):
    """bench_read dev seeds 8606 and 8607, moderate (200-dpi gray and mixed):
    each sheet was reviewed for this one item (``answer_unsure``), read
    right."""
    scan = {"bilevel_mode": mode} if mode else {}
    sheet = bench_sheet(seed, index, "moderate", dpi=dpi, bits=bits, **scan)
    page = Page(sheet.image, f"seed{seed}", index + 1, float(dpi))
    reading = analyse_sheet(page, ljun_template(), CAL).reading
    assert reading.answers[item - 1] == sheet.truth["answers"][item - 1]
    assert f"answer_unsure:{item}" not in reading.flags
    assert not reading.review, reading.flags


# --- lone fills of gray scans; strokes' ends beside a fill on dithered scans
# (seventh round, ticks) ------------------------------------------------------


def _lone(rows, **features) -> list[int]:
    bubbles, grid = _bubbles(rows, **features)
    evidence = np.asarray(rows, np.float32).ravel()
    return gray_lone_fill_candidates(evidence, bubbles, [grid], READ).tolist()


@pytest.mark.parametrize(
    ("other", "value", "found"),
    [
        (0.0, BANDS.mark_min, True),
        (0.0, BANDS.mark_min - 0.001, True),  # read blank, unsure: a fill by the ring
        (0.0, BANDS.blank_sure_max + 0.001, True),
        (0.0, BANDS.blank_sure_max, False),  # blank surely
        (0.0, BANDS.marked_sure_min - 0.001, True),
        (0.0, BANDS.marked_sure_min, False),  # sure already
        (BANDS.blank_sure_max, BANDS.mark_min, True),
        (BANDS.blank_sure_max + 0.001, BANDS.mark_min, False),  # not alone in its item
    ],
)
def test_gray_lone_fill_candidate_edges(other, value, found):
    rows = [[other, 0.0, value, 0.0, 0.0]]
    for halo in (0.0, LINE):  # a line in the halo or not
        assert _lone(rows, halo=halo, body=0.0) == ([2] if found else [])


def test_a_lone_fill_candidate_lies_on_the_scan():
    rows = [[0.0, 0.0, BANDS.mark_min, 0.0, 0.0]]
    assert _lone(rows, halo=0.0, body=0.0, inside=[[True, True, True, True, False]]) == []


def _crescent(page: np.ndarray, dpi: float, option: str, chord: float) -> None:
    """A partial fill of ``option`` of item ``ITEM``: the part of a disc of
    0.95 radii beyond ``chord`` radii below its centre, firm pencil."""
    x, y, r = bubble_px("answers", ITEM, option, dpi)
    layer = np.full_like(page, 255)
    centre = (int(round(x * 16)), int(round(y * 16)))
    cv2.circle(layer, centre, int(round(0.95 * r * 16)), 90, -1, cv2.LINE_AA, 4)
    rows = np.arange(page.shape[0])[:, None]
    layer[np.broadcast_to(rows - y < chord * r, layer.shape)] = 255
    np.minimum(page, layer, out=page)


def _settled_as_if_unsure(page: np.ndarray, dpi: float, option: str) -> float:
    """The evidence :func:`lined_answer_evidence` gives ``option`` of item
    ``ITEM`` on a gray scan of ``page`` when the kernel read it as the item's
    mark but unsure (the middle of the marked-unsure band), the item's other
    options blank."""
    image, analysis = _analyse(page, dpi)
    pattern = sampling_pattern(ljun_template(), REFERENCE_DPI)
    index = pattern.geometry.grid("answers")[ITEM - 1, "ABCDE".index(option)]
    evidence = np.asarray(analysis.reading.darkness, np.float32).copy()
    evidence[index] = np.float32(BANDS.marked_unsure_middle)
    settled = lined_answer_evidence(
        image,
        analysis.registration,
        pattern,
        ljun_template(),
        analysis.bubbles,
        evidence,
        READ,
    )
    return float(settled[index])


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
def test_a_partial_fill_by_the_ring_read_unsure_is_a_sure_mark(dpi):
    page = _sheet(dpi)
    _crescent(page, dpi, "C", 0.0)
    assert _settled_as_if_unsure(page, dpi, "C") >= BANDS.marked_sure_min


@pytest.mark.parametrize("width_mm", [0.5, 0.75, 0.9])
@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
def test_a_wide_strokes_end_read_as_a_mark_stays_unsure(dpi, width_mm):
    """Safety: a student's pencil stroke (0.45-0.75 mm wide) from 1.7 radii
    out that ends in C's centre, the item otherwise blank, taken by the
    kernel for C's mark (unsure): its pencil lies in one band, so it is no
    sure fill; the item goes to review."""
    page = _sheet(dpi)
    x, y, r = bubble_px("answers", ITEM, "C", dpi)
    draw_line(page, (x + 1.36 * r, y + 1.02 * r), (x, y), dpi, width_mm=width_mm, gray=90)
    assert _settled_as_if_unsure(page, dpi, "C") < BANDS.marked_sure_min


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
def test_a_thin_partial_fill_by_the_ring_reads_marked_or_goes_to_review(dpi):
    """Safety: a thin segment of firm pencil along C's ring (0.6 radii from
    the centre outwards), the item otherwise blank: C, or a review; never
    blank surely."""
    page = _sheet(dpi)
    _crescent(page, dpi, "C", 0.6)
    reading = _analyse(page, dpi)[1].reading
    assert reading.answers[ITEM - 1] == "C" or f"answer_unsure:{ITEM}" in reading.flags


@pytest.mark.parametrize(
    ("seed", "index", "level", "item"),
    [
        (8703, 85, "moderate", 30),  # a partial fill of E by the ring, no line
        (8704, 13, "moderate", 40),  # of E
        (8709, 12, "moderate", 23),  # of A
        (8745, 120, "moderate", 26),  # of E
        (8710, 24, "moderate", 1),  # of A, spilling over the ring
        (8756, 26, "easy", 37),  # of D, spilling over the ring in 3 directions
    ],
)
def test_regression_gray_lone_partial_fills_need_no_review(seed, index, level, item):
    """bench_read dev seeds, 200-dpi gray: each sheet was reviewed for this
    one item (``answer_unsure``), read right: a partial fill by the ring,
    the kernel's inner disc almost clean (evidence 0.23-0.26)."""
    sheet = bench_sheet(seed, index, level, dpi=200, bits=8)
    page = Page(sheet.image, f"seed{seed}", index + 1, 200.0)
    reading = analyse_sheet(page, ljun_template(), CAL).reading
    assert reading.answers[item - 1] == sheet.truth["answers"][item - 1]
    assert f"answer_unsure:{item}" not in reading.flags
    assert not reading.review, reading.flags


@pytest.mark.parametrize(
    ("seed", "index", "dpi", "item"),
    [
        (8701, 60, 300, 39),  # a short stroke ends in A beside the light fill in E
        (8701, 92, 200, 39),  # the same sheet's plan in another envelope
        (8501, 58, 300, 10),  # a short stroke ends in A beside the light fill in C
    ],
)
def test_regression_dithered_stroke_ends_beside_the_fill_need_no_review(seed, index, dpi, item):
    """bench_read dev seeds, moderate mixed, dithered 1-bit scans: each sheet
    was reviewed for this one item (8701: read as a multiple mark)."""
    sheet = bench_sheet(seed, index, "moderate", dpi=dpi, bits=1, bilevel_mode="dither")
    page = Page(sheet.image, f"seed{seed}", index + 1, float(dpi))
    reading = analyse_sheet(page, ljun_template(), CAL).reading
    assert reading.answers[item - 1] == sheet.truth["answers"][item - 1]
    assert f"answer_unsure:{item}" not in reading.flags
    assert not reading.review, reading.flags


def test_regression_a_partial_fill_by_the_ring_read_blank_unsure_reads_surely():
    """bench_read moderate 200-dpi gray, fresh seed 8617, sheet 79: a
    partial fill over the left third of E of answer 37 left the kernel's
    inner disc almost clean; E read blank, unsure, and the sheet went to
    review for it alone.  Its solid pencil reaches well beyond any straight
    band (no blank bubble's does), so it now reads E surely."""
    sheet = bench_sheet(8617, 79, "moderate", dpi=200, bits=8)
    assert sheet.truth["answers"][36] == "E"
    reading = analyse_sheet(Page(sheet.image, "seed8617", 80, 200.0), ljun_template(), CAL).reading
    assert reading.answers[36] == "E"
    assert not reading.review, reading.flags
