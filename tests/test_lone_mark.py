"""A lone dot or tick in an answer item of a 1-bit scan (ljun._lone_mark)."""

from __future__ import annotations

import dataclasses

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
    draw_tick,
    ljun_template,
    pencil,
    scan_page,
)

from ljun._closer_look import solid_square
from ljun._lone_mark import (
    BLANK_ITEM_LOOK_FROM,
    LINE_BAND_HALF_MM,
    LINE_RESIDUE_MAX_MM2,
    LINED_FILL_BODY_MIN,
    LINED_FILL_HALO_MAX,
    SOLID_PATCH_MIN_MM2,
    SOLID_PATCH_RADIUS_MM,
    filled_candidates,
    lined_candidates,
    lined_fill_candidates,
    lone_candidates,
    off_band_area,
    solid_area,
    thin_second_marks,
)
from ljun.calibration import load_calibration
from ljun.pipeline import analyse_sheet
from ljun.read import BubbleDarkness
from ljun.records import Page

CAL = load_calibration()
READ = CAL.read
BANDS = READ.bilevel
ITEM = 5  # blank in the sheets below but for what a test pencils there


# --- solid_area: what survives the erosion ---------------------------------


def _disc(side: int, radius_px: float) -> np.ndarray:
    y, x = np.mgrid[:side, :side] - side // 2
    return (x**2 + y**2 <= radius_px**2)[None]


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
def test_the_smallest_generated_dot_is_a_solid_patch(dpi):
    """A dot of radius 0.45 mm (the generator's smallest: 0.22 of a 2 mm
    radius) keeps more than SOLID_PATCH_MIN_MM2 after erosion."""
    mask = _disc(41, 0.45 * dpi / 25.4)
    assert solid_area(mask, dpi)[0] >= SOLID_PATCH_MIN_MM2


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
def test_specks_and_thin_edges_are_no_solid_patch(dpi):
    """Erasure residue on a 1-bit scan is specks of one or two pixels; a
    letter's stroke thickened by the threshold is an edge a pixel wide.
    Neither survives erosion (but a pixel where two edges cross), however
    much of it there is."""
    specks = np.zeros((1, 41, 41), bool)
    specks[0, ::3, ::3] = True
    specks[0, 1::6, 1::6] = True  # some specks of two pixels
    edge = np.zeros((1, 41, 41), bool)
    edge[0, 5:36, 20] = True
    edge[0, 20, 5:36] = True
    assert specks.sum() * (25.4 / dpi) ** 2 > SOLID_PATCH_MIN_MM2
    assert solid_area(specks, dpi)[0] == 0.0
    assert solid_area(edge, dpi)[0] < SOLID_PATCH_MIN_MM2 / 2


def test_the_erosion_radius_follows_the_resolution():
    """A square of side 2 * radius + 1 pixels erodes to one pixel."""
    for dpi in (150.0, 200.0, 300.0):
        radius = max(1, int(round(SOLID_PATCH_RADIUS_MM * dpi / 25.4)))
        mask = np.zeros((1, 21, 21), bool)
        mask[0, 5 : 6 + 2 * radius, 5 : 6 + 2 * radius] = True
        assert solid_area(mask, dpi)[0] == pytest.approx((25.4 / dpi) ** 2)


# --- off_band_area: a stray line is a straight band -------------------------


def _band(side: int, dpi: float, width_mm: float, angle_deg: float) -> np.ndarray:
    y, x = np.mgrid[:side, :side] - side // 2
    t = np.deg2rad(angle_deg)
    across = np.abs(-np.sin(t) * x + np.cos(t) * y) * 25.4 / dpi
    return (across <= width_mm / 2)[None] & _disc(side, side // 2)


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
@pytest.mark.parametrize("angle", [0.0, 23.0, 45.0, 71.0, 95.0, 140.0])
def test_a_straight_line_leaves_nothing_beyond_its_band(dpi, angle):
    """A line as wide as the generator's widest stray line (0.5 mm; a
    threshold at half its darkness keeps its width), in any direction, fits
    the band."""
    width = 0.5
    mask = _band(int(3.4 * dpi / 25.4) | 1, dpi, width, angle)
    assert off_band_area(mask, dpi)[0] <= LINE_RESIDUE_MAX_MM2


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
def test_a_blob_or_a_dot_beside_a_line_is_ink_beyond_the_band(dpi):
    """A blob 1.4 mm across (a light mark's, seed 8222 sheet 138) and a
    line with a dot of 0.45 mm radius beside it leave more than
    LINE_RESIDUE_MAX_MM2 beyond the best band."""
    side = int(3.4 * dpi / 25.4) | 1
    blob = _disc(side, 0.7 * dpi / 25.4)
    assert off_band_area(blob, dpi)[0] > LINE_RESIDUE_MAX_MM2
    line = _band(side, dpi, 0.6, 30.0)
    dot = np.roll(_disc(side, 0.45 * dpi / 25.4), int(0.8 * dpi / 25.4), axis=1)
    assert off_band_area(line | dot, dpi)[0] > LINE_RESIDUE_MAX_MM2


def test_the_band_is_as_wide_as_its_half_width_says():
    """Nothing beyond a band exactly 2 * LINE_BAND_HALF_MM wide; one pixel
    row more is counted."""
    dpi = 200.0
    rows = int(round(2 * LINE_BAND_HALF_MM * dpi / 25.4))
    mask = np.zeros((1, 25, 25), bool)
    mask[0, 5 : 5 + rows, :] = True
    assert off_band_area(mask, dpi)[0] == 0.0
    mask[0, 5 + rows, :] = True
    assert off_band_area(mask, dpi)[0] == pytest.approx(25 * (25.4 / dpi) ** 2)


# --- lone_candidates: the item rule on synthetic evidence arrays -----------


def _bubbles(evidence_rows: np.ndarray, halo: np.ndarray | None = None) -> BubbleDarkness:
    n = evidence_rows.size
    zero = np.zeros(n, np.float32)
    return BubbleDarkness(
        darkness=zero,
        core=zero,
        quarter=zero,
        body=zero,
        halo=(zero if halo is None else halo.ravel()).astype(np.float32),
        halo_contact=np.zeros(n, np.int16),
        inside=np.ones(n, bool),
        paper=np.full(n, 230.0, np.float32),
        bilevel=True,
    )


def _candidates(rows, halo=None, *, lined_only=True):
    evidence = np.asarray(rows, np.float32)
    grid = np.arange(evidence.size).reshape(evidence.shape)
    halo_arr = None if halo is None else np.asarray(halo, np.float32)
    lone, crossed = lone_candidates(
        evidence.ravel(), _bubbles(evidence, halo_arr), [grid], READ, lined_only=lined_only
    )
    return lone.tolist(), crossed.tolist()


EPS = 1e-3
UNSURE = (BANDS.mark_min + BANDS.marked_sure_min) / 2


def test_an_unsure_bubble_alone_in_its_item_is_a_candidate():
    lone, crossed = _candidates([[0.0, 0.0, UNSURE, 0.0, 0.0]])
    assert lone == [2] and crossed == []


@pytest.mark.parametrize(
    ("other", "alone"),
    [(BANDS.blank_sure_max, True), (BANDS.blank_sure_max + EPS, False)],
)
def test_another_option_above_the_blank_sure_band_leaves_the_item_to_review(other, alone):
    """Edge ``blank_sure_max`` of the other options: at it, blank surely
    (the bubble is alone); above it another option carries ink."""
    lone, _ = _candidates([[other, 0.0, UNSURE, 0.0, 0.0]])
    assert (lone == [2]) is alone


@pytest.mark.parametrize(
    ("value", "looked"),
    [
        (BANDS.blank_sure_max, False),  # blank surely: nothing to decide
        (BANDS.blank_sure_max + EPS, True),
        (BANDS.marked_sure_min - EPS, True),
        (BANDS.marked_sure_min, False),  # a sure mark already
    ],
)
def test_only_bubbles_in_the_unsure_band_are_looked_at(value, looked):
    lone, _ = _candidates([[0.0, 0.0, value, 0.0, 0.0]])
    assert (lone == [2]) is looked


@pytest.mark.parametrize(
    ("halo", "alone"), [(BANDS.line_halo_min - EPS, True), (BANDS.line_halo_min, False)]
)
def test_a_line_in_the_halo_is_never_read_as_a_lone_mark(halo, alone):
    """Edge ``line_halo_min``: from it on a line runs into the bubble and
    explains its ink as well as a dot does."""
    lone, _ = _candidates([[0.0, 0.0, UNSURE, 0.0, 0.0]], halo=[[0, 0, halo, 0, 0]])
    assert (lone == [2]) is alone


@pytest.mark.parametrize(
    ("value", "crossed_expected"),
    [(BANDS.blank_sure_max, [1, 2]), (BANDS.blank_sure_max + EPS, [])],
)
def test_line_crossed_bubbles_of_an_item_read_blank_surely_are_looked_at(value, crossed_expected):
    """Every option blank-sure and a line in some halos: those bubbles are
    looked at (a dot under the line makes them unsure); with one option
    above the blank-sure band the item is unsure already."""
    halo = [[0.0, BANDS.line_halo_min, 1.0, 0.0, 0.0]]
    lone, crossed = _candidates([[0.0, 0.0, value, 0.0, 0.0]], halo=halo)
    assert crossed == crossed_expected
    assert lone == []


@pytest.mark.parametrize(
    ("value", "crossed_expected", "lone_expected"),
    [
        (0.0, [], []),
        (BLANK_ITEM_LOOK_FROM, [], []),
        (BLANK_ITEM_LOOK_FROM + EPS, [2], []),
        (BANDS.blank_sure_max, [2], []),
        (BANDS.blank_sure_max + EPS, [], [2]),
    ],
)
def test_inked_bubbles_of_an_answer_item_read_blank_are_looked_at(
    value, crossed_expected, lone_expected
):
    """Answer items (``lined_only=False``): a bubble of an item read blank
    surely with evidence above BLANK_ITEM_LOOK_FROM is looked at, a line in
    its halo or not (a partial fill along the ring lies outside the kernel's
    inner disc); an item with an option above the blank-sure band is not
    read blank (here a lone candidate)."""
    lone, crossed = _candidates([[0.0, 0.0, value, 0.0, 0.0]], lined_only=False)
    assert crossed == crossed_expected
    assert lone == lone_expected


def test_items_are_decided_row_by_row():
    rows = [
        [0.0, UNSURE, 0.0, 0.0, 0.0],  # lone
        [UNSURE, UNSURE, 0.0, 0.0, 0.0],  # two options with ink
        [0.0, 0.0, 0.0, 0.0, 1.0],  # a sure mark
        [0.0, 0.0, 0.0, 0.0, 0.0],  # blank
    ]
    lone, crossed = _candidates(rows)
    assert lone == [1] and crossed == []


def test_an_item_partly_off_the_scan_is_never_a_lone_mark():
    evidence = np.array([[0.0, 0.0, UNSURE, 0.0, 0.0]], np.float32)
    bubbles = dataclasses.replace(
        _bubbles(evidence), inside=np.array([False, True, True, True, True])
    )
    lone, _ = lone_candidates(evidence.ravel(), bubbles, [np.arange(5)[None]], READ)
    assert lone.tolist() == []


# --- lined_candidates: a line through the one unsure bubble of a column ----

GRAY = READ.gray


def _found(find, rows, body, halo=None, **fields):
    """What ``find`` (a candidate function of ``_lone_mark``) returns for one
    field of ``rows`` of evidence, with these bodies and halos, and other
    ``BubbleDarkness`` fields as given."""
    evidence = np.asarray(rows, np.float32)
    grid = np.arange(evidence.size).reshape(evidence.shape)
    bubbles = dataclasses.replace(
        _bubbles(evidence, None if halo is None else np.asarray(halo, np.float32)),
        body=np.asarray(body, np.float32).ravel(),
        **fields,
    )
    return find(evidence.ravel(), bubbles, [grid], READ).tolist()


def _lined(rows, halo, body, bilevel=False):
    return _found(lined_candidates, rows, body, halo, bilevel=bilevel)


LINED_UNSURE = (GRAY.blank_sure_max + GRAY.marked_sure_min) / 2


def test_the_one_unsure_bubble_of_a_column_a_line_runs_into_is_a_candidate():
    assert _lined([[0.0, LINED_UNSURE, 0.0]], [[0.0, GRAY.line_halo_min, 0.0]], [[0.0] * 3]) == [1]


@pytest.mark.parametrize(
    ("value", "halo", "body", "other", "lined"),
    [
        (np.nextafter(np.float32(GRAY.blank_sure_max), 1), GRAY.line_halo_min, 0.0, 0.0, True),
        (GRAY.blank_sure_max, GRAY.line_halo_min, 0.0, 0.0, False),  # blank surely already
        (GRAY.marked_sure_min, GRAY.line_halo_min, 0.0, 0.0, False),  # a mark surely
        (LINED_UNSURE, GRAY.line_halo_min - EPS, 0.0, 0.0, False),  # no line
        (LINED_UNSURE, GRAY.line_halo_min, GRAY.blank_sure_max + EPS, 0.0, False),  # a fill
        (LINED_UNSURE, GRAY.line_halo_min, 0.0, GRAY.blank_sure_max + EPS, False),  # two inked
        (LINED_UNSURE, GRAY.line_halo_min, 0.0, GRAY.marked_sure_min, True),  # beside the letter
        (LINED_UNSURE, GRAY.line_halo_min, 0.0, GRAY.marked_sure_min - EPS, False),  # two unsure
    ],
)
def test_lined_candidate_edges(value, halo, body, other, lined):
    got = _lined([[other, value, 0.0]], [[0.0, halo, 0.0]], [[0.0, body, 0.0]])
    assert got == ([1] if lined else [])


def test_a_line_beside_two_sure_letters_is_no_lined_candidate():
    sure = GRAY.marked_sure_min
    rows = [[sure, LINED_UNSURE, sure]]
    assert _lined(rows, [[0.0, GRAY.line_halo_min, 0.0]], [[0.0] * 3]) == []


def _filled(rows, halo, body, bilevel=False):
    return _found(filled_candidates, rows, body, halo, bilevel=bilevel)


@pytest.mark.parametrize(
    ("value", "halo", "body", "other", "filled"),
    [
        (LINED_UNSURE, GRAY.line_halo_min, 0.0, 0.0, True),
        (LINED_UNSURE, GRAY.line_halo_min, 0.6, 0.0, True),  # a fill's body: still looked at
        (np.nextafter(np.float32(GRAY.blank_sure_max), 1), GRAY.line_halo_min, 0.0, 0.0, True),
        (GRAY.blank_sure_max, GRAY.line_halo_min, 0.0, 0.0, False),  # blank surely already
        (GRAY.marked_sure_min, GRAY.line_halo_min, 0.0, 0.0, False),  # a mark surely
        (LINED_UNSURE, GRAY.line_halo_min - EPS, 0.0, 0.0, False),  # no line
        (LINED_UNSURE, GRAY.line_halo_min, 0.0, GRAY.blank_sure_max + EPS, False),  # two inked
        (LINED_UNSURE, GRAY.line_halo_min, 0.0, GRAY.marked_sure_min, False),  # a second mark
    ],
)
def test_filled_candidate_edges(value, halo, body, other, filled):
    got = _filled([[other, value, 0.0]], [[0.0, halo, 0.0]], [[0.0, body, 0.0]])
    assert got == ([1] if filled else [])


def test_columns_are_decided_one_by_one():
    rows = [[0.0, LINED_UNSURE, 0.0], [0.0, 0.0, 0.0], [LINED_UNSURE, 0.0, 0.0]]
    halo = [[0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]
    assert _lined(rows, halo, np.zeros((3, 3))) == [1, 6]


# --- lined_fill_candidates: a fill a line seems to touch, on evidence arrays


def _lined_fill(rows, halo, body):
    return _found(lined_fill_candidates, rows, body, halo)


GREY_HALO = (BANDS.line_halo_min + LINED_FILL_HALO_MAX) / 2


@pytest.mark.parametrize(
    ("value", "halo", "body", "other", "found"),
    [
        (UNSURE, GREY_HALO, LINED_FILL_BODY_MIN, 0.0, True),
        (UNSURE, BANDS.line_halo_min, LINED_FILL_BODY_MIN, 0.0, True),
        (UNSURE, BANDS.line_halo_min - EPS, LINED_FILL_BODY_MIN, 0.0, False),  # no line: lone
        (UNSURE, LINED_FILL_HALO_MAX - EPS, LINED_FILL_BODY_MIN, 0.0, True),
        (UNSURE, LINED_FILL_HALO_MAX, LINED_FILL_BODY_MIN, 0.0, False),  # a black line
        (UNSURE, GREY_HALO, LINED_FILL_BODY_MIN - EPS, 0.0, False),  # a line's path
        (UNSURE, GREY_HALO, LINED_FILL_BODY_MIN, BANDS.blank_sure_max + EPS, False),  # two inked
        (BANDS.blank_sure_max, GREY_HALO, LINED_FILL_BODY_MIN, 0.0, False),  # blank surely
        (BANDS.marked_sure_min, GREY_HALO, LINED_FILL_BODY_MIN, 0.0, False),  # a mark surely
    ],
)
def test_lined_fill_candidate_edges(value, halo, body, other, found):
    """Edges ``line_halo_min`` and ``LINED_FILL_HALO_MAX`` of the halo,
    ``LINED_FILL_BODY_MIN`` of the body; alone in its item, unsure."""
    got = _lined_fill([[other, value, 0.0]], [[0.0, halo, 0.0]], [[0.0, body, 0.0]])
    assert got == ([1] if found else [])


def test_regression_a_partial_fill_a_line_seems_to_touch_needs_no_review():
    """bench moderate dev seed 8501, sheet 182 (150 dpi, 1-bit threshold): a
    partial fill of E in answer 9 read right but kept unsure as a line's
    path (``answer_unsure:9``): a half moon spilling over the ring, a grey
    halo (0.22), its body dark (0.39) and 0.86 mm² of solid ink beyond the
    best straight band (``lined_fill_candidates``)."""
    seed, index, item, option = 8501, 182, 9, "E"
    sheet = bench_sheet(seed, index, "moderate", dpi=150, bits=1, bilevel_mode="threshold")
    assert sheet.truth["answers"][item - 1] == option
    page = Page(sheet.image, f"seed{seed}", index + 1, 150.0)
    reading = analyse_sheet(page, ljun_template(), CAL).reading
    assert reading.answers[item - 1] == option
    assert not reading.review, reading.flags


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
@pytest.mark.parametrize("stop", [0.0, 0.5])
def test_a_stroke_that_ends_inside_a_blank_bubble_is_no_silent_mark(dpi, stop):
    """A dark pencil stroke from outside that stops at the centre of blank
    C (or half way to the ring), the item otherwise blank: blank, or sent
    to review; never read as C without a flag (a stroke's end looks like a
    tick's, which the line rule keeps unsure)."""
    page = _sheet(dpi)
    x, y, r = bubble_px("answers", ITEM, "C", dpi)
    end = (x + stop * r * 0.6, y - stop * r * 0.8)
    draw_line(page, (x - 2.5 * r, y + 2.0 * r), end, dpi, width_mm=0.55, gray=70)
    reading = _read(page, dpi)
    assert reading.answers[ITEM - 1] == "" or f"answer_unsure:{ITEM}" in reading.flags


@pytest.mark.parametrize("bits", [8, 1])
def test_a_generated_stroke_that_ends_inside_a_blank_bubble_is_no_silent_mark(bits):
    """Generated moderate sheet (dev seed 8701, sheet 6, 200 dpi, gray and
    1-bit threshold): a short stroke ends in E of answer 28 (the truth: B)
    and one in 4 of the first tanggal lahir column."""
    scan = {"bilevel_mode": "threshold"} if bits == 1 else {}
    sheet = bench_sheet(8701, 6, "moderate", dpi=200, bits=bits, **scan)
    ends = {(e["field"], e["item"], e["option"]) for e in sheet.scan["stroke_ends"]}
    assert ends == {("answers", 28, "E"), ("tanggal_lahir", 1, "4")}
    reading = analyse_sheet(Page(sheet.image, "seed8701", 7, 200.0), ljun_template(), CAL).reading
    right = reading.answers[27] == sheet.truth["answers"][27]
    assert right or "answer_unsure:28" in reading.flags
    assert reading.tanggal_lahir == sheet.truth["tanggal_lahir"] or any(
        flag.startswith("unsure:tanggal_lahir") for flag in reading.flags
    )


# --- thin_second_marks: a sure second mark with a blank body ----------------


def _thin(rows, body):
    return _found(thin_second_marks, rows, body)


SURE = BANDS.marked_sure_min


@pytest.mark.parametrize(
    ("second", "body", "thin"),
    [
        (SURE, BANDS.blank_sure_max, True),  # all its ink in the darkest quarter
        (SURE, BANDS.blank_sure_max + EPS, False),  # ink in its body too: a fill
        (SURE - EPS, 0.0, False),  # not a sure mark: the item is unsure already
    ],
)
def test_thin_second_mark_edges(second, body, thin):
    """Edges ``marked_sure_min`` of the second mark and ``blank_sure_max``
    of its body, beside a whole fill."""
    got = _thin([[1.0, second, 0.0, 0.0, 0.0]], [[1.0, body, 0.0, 0.0, 0.0]])
    assert got == ([1] if thin else [])


def test_a_thin_sure_mark_alone_in_its_item_is_left_alone():
    assert _thin([[0.0, SURE, 0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0, 0.0, 0.0]]) == []


def test_both_thin_marks_of_an_item_are_found():
    assert _thin([[SURE, SURE, 0.0, 0.0, 0.0]], [[0.0] * 5]) == [0, 1]


def test_regression_a_stroke_over_residue_is_no_silent_second_mark():
    """bench moderate dev seed 8502, sheet 104 (150 dpi, 1-bit adaptive),
    with the generator's strokes that end in a bubble: a short stroke from
    D to E of answer 20 over light erasure residue in D came out as a black
    crescent in D (quarter 0.94, body 0.03, halo clean) and the item read
    as a sure multi-mark C and D, without review.  Now it goes to review."""
    sheet = bench_sheet(8502, 104, "moderate", dpi=150, bits=1, bilevel_mode="adaptive")
    assert sheet.truth["answers"][19] == "C"
    reading = analyse_sheet(Page(sheet.image, "seed8502", 105, 150.0), ljun_template(), CAL).reading
    assert reading.answers[19] == "C" or "answer_unsure:20" in reading.flags
    assert reading.review, reading.flags


def test_a_tick_ending_beside_a_gray_fill_is_no_sure_second_mark():
    """bench hard seed 8606, sheet 87 (300-dpi gray; a fresh seed of the
    sixth round's check): the tail of a tick ended in E of answer 31 beside
    the overfill in D (E's quarter 0.40, body 0.05, core 0.38) and the item
    read as a sure multi-mark D and E, without review.  Then it went to
    review; since the band a line's pencil must lie in follows the line's
    own width and direction (ljun._lined_answers.line_band_half), the tail,
    a wide stroke running on beyond the ring, is read as the line it is: D,
    and the sheet, read right, needs no review."""
    sheet = bench_sheet(8606, 87, "hard", dpi=300, bits=8)
    assert sheet.truth["answers"][30] == "D"
    reading = analyse_sheet(Page(sheet.image, "seed8606", 88, 300.0), ljun_template(), CAL).reading
    assert list(reading.answers) == sheet.truth["answers"]
    assert not reading.review, reading.flags


# --- whole sheets -----------------------------------------------------------


def _read(page: np.ndarray, dpi: float):
    image = scan_page(page, Scan(dpi=dpi, bits=1, blur=0.8, noise=3, skew_deg=0.7))
    return analyse_sheet(Page(image, "lone", 1, dpi), ljun_template(), CAL).reading


def _sheet(dpi: float, residue_gray: int | None = None) -> np.ndarray:
    answers = list(DEFAULT_ANSWERS)
    answers[ITEM - 1] = ""
    residue = () if residue_gray is None else (("answers", ITEM, "A", residue_gray),)
    return pencil(SheetSpec(answers=tuple(answers), residue=residue), dpi)


@pytest.mark.parametrize("dpi", [150.0, 300.0])
def test_a_lone_dot_on_a_1bit_scan_reads_surely(dpi):
    """A clear dot in C, the item's other options blank: read C without
    review (before: every 1-bit dot went to review)."""
    page = _sheet(dpi)
    draw_dot(page, "answers", ITEM, "C", dpi, fraction=0.22)
    reading = _read(page, dpi)
    assert reading.answers[ITEM - 1] == "C"
    assert not reading.review, reading.flags


def test_a_lone_tick_on_a_1bit_scan_reads_surely():
    dpi = 200.0
    page = _sheet(dpi)
    draw_tick(page, "answers", ITEM, "C", dpi)
    reading = _read(page, dpi)
    assert reading.answers[ITEM - 1] == "C"
    assert not reading.review, reading.flags


def test_a_dot_beside_ink_in_another_option_goes_to_review():
    """Dark residue in A beside the dot in C: two options carry ink, a
    person decides."""
    dpi = 200.0
    page = _sheet(dpi, residue_gray=110)
    draw_dot(page, "answers", ITEM, "C", dpi)
    reading = _read(page, dpi)
    assert reading.review
    assert f"answer_unsure:{ITEM}" in reading.flags


@pytest.mark.parametrize("dpi", [200.0, 300.0])
def test_regression_a_dot_under_a_stray_line_is_no_sure_blank(dpi):
    """bench_read seed 8122, hard, sheets 14 and 121 (1-bit threshold 200
    dpi, adaptive 300 dpi): a dot under a stray line took the line branch
    of the kernel and read blank surely (item 25 and 33; the sheets went to
    review for other dots only, which now read surely).  The item goes to
    review: a line explains the ink as well as a dot."""
    page = _sheet(dpi)
    draw_dot(page, "answers", ITEM, "C", dpi)
    cx, cy, r = bubble_px("answers", ITEM, "C", dpi)
    draw_line(page, (cx - 3 * r, cy - 0.6 * r), (cx + 3 * r, cy + 0.2 * r), dpi, gray=120)
    reading = _read(page, dpi)
    assert reading.review
    assert f"answer_unsure:{ITEM}" in reading.flags


def test_regression_a_tick_running_out_over_the_ring_on_a_gray_scan_is_no_sure_blank():
    """bench_read seed 8123, hard, sheet 65 (200-dpi gray): a tick on D of
    question 12 whose tail ran out over the ring took the kernel's line
    branch and read blank surely, the sheet not reviewed.  A line explains
    it as well as a tick: the question goes to review."""
    dpi = 300.0
    answers = list(DEFAULT_ANSWERS)
    answers[ITEM - 1] = ""
    page = pencil(SheetSpec(answers=tuple(answers)), dpi)
    cx, cy, r = bubble_px("answers", ITEM, "D", dpi)
    knee = (cx - 0.15 * r, cy + 0.45 * r)
    draw_line(page, (cx - 0.55 * r, cy - 0.05 * r), knee, dpi, width_mm=0.5, gray=110)
    draw_line(page, knee, (cx + 0.96 * r, cy - 1.6 * r), dpi, width_mm=0.5, gray=110)
    image = scan_page(page, Scan(dpi=dpi, blur=0.8, noise=3, skew_deg=0.7))
    reading = analyse_sheet(Page(image, "tick", 1, dpi), ljun_template(), CAL).reading
    assert reading.review
    assert f"answer_unsure:{ITEM}" in reading.flags


def test_regression_a_light_name_mark_made_a_ring_and_a_blob_is_no_sure_blank():
    """bench hard seed 8222, sheet 138 (150 dpi, adaptive 1-bit): a light
    mark (pencil darkness 0.31) of N in name column 7 came out as a thick
    ring and a blob, with a stroke into the ring from the bubble above; the
    kernel took it for a line and read it blank surely: ``IKA PA GARIBUAN``
    without review.  Line-crossed bubbles with a solid patch are looked at
    in identity columns too: it now goes to review."""
    template = ljun_template()
    sheet = bench_sheet(8222, 138, "hard", dpi=150, bits=1, bilevel_mode="adaptive")
    assert sheet.truth["nama"] == "IKA PANGARIBUAN"
    reading = analyse_sheet(Page(sheet.image, "seed8222", 139, 150.0), template, CAL).reading
    assert reading.review
    assert "unsure:nama:7" in reading.flags


@pytest.mark.parametrize("mode", ["threshold", "adaptive"])
def test_regression_a_partial_fill_along_the_ring_is_no_sure_blank(mode):
    """bench hard dev seed 8405, sheet 176 (300 dpi, 1-bit): a partial mark
    of E in answer 20 came out as a solid segment over the lower 40 % of the
    bubble, outside the kernel's inner disc but for 3 of its 48 points:
    evidence 0.055, read blank surely, no flag.  Every bubble of an answer
    item read blank is looked at now: it goes to review."""
    template = ljun_template()
    sheet = bench_sheet(8405, 176, "hard", dpi=300, bits=1, bilevel_mode=mode)
    assert sheet.truth["answers"][19] == "E"
    reading = analyse_sheet(Page(sheet.image, "seed8405", 177, 300.0), template, CAL).reading
    assert reading.review
    assert "answer_unsure:20" in reading.flags


def _stray_line_through_blank_name_columns(dpi: float) -> np.ndarray:
    """BUDI SANTOSO (12 letters) with a dark stray line across the blank
    name columns 13-19, through F of column 14 and K of column 18."""
    page = pencil(SheetSpec(), dpi)
    x0, y0, r = bubble_px("nama", 14, "F", dpi)
    x1, y1, _ = bubble_px("nama", 18, "K", dpi)
    draw_line(page, (x0 - 2 * r, y0), (x1 + 2 * r, y1), dpi, width_mm=0.45, gray=90)
    return page


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
def test_a_stray_line_through_blank_name_columns_of_a_1bit_scan_is_no_review(dpi):
    """The line leaves solid patches in the bubbles it crosses, but a
    straight band holds them: the columns read blank surely (before: the
    line-crossed rule sent the sheet to review, unsure:nama:13/14/18)."""
    reading = _read(_stray_line_through_blank_name_columns(dpi), dpi)
    assert reading.nama == "BUDI SANTOSO"
    assert not reading.review, reading.flags


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
def test_a_dot_on_a_stray_line_in_a_name_column_goes_to_review(dpi):
    """A dot of 0.3 bubble radius on the line's path in column 16: ink
    beyond the band, a person decides."""
    page = _stray_line_through_blank_name_columns(dpi)
    draw_dot(page, "nama", 16, "H", dpi, fraction=0.3)
    reading = _read(page, dpi)
    assert reading.review
    assert "unsure:nama:16" in reading.flags


def test_regression_stray_lines_through_blank_name_columns_need_no_review():
    """bench moderate dev seed 8401, sheet 177 (200 dpi, 1-bit threshold):
    stray lines through N of name columns 18 and 20, both columns blank,
    sent the sheet to review (unsure:nama:18, unsure:nama:20) although it
    read right.  Each line's excess ink lies in a straight band: no review."""
    template = ljun_template()
    sheet = bench_sheet(8401, 177, "moderate", dpi=200, bits=1, bilevel_mode="threshold")
    reading = analyse_sheet(Page(sheet.image, "seed8401", 178, 200.0), template, CAL).reading
    assert reading.nama == sheet.truth["nama"]
    assert not reading.review, reading.flags


def test_a_stray_line_through_the_centres_of_blank_name_bubbles_is_no_review():
    """A thin dark line through the middle of blank name bubbles (300 dpi,
    1-bit): the kernel kept K of column 15 unsure (its centre dark) and the
    name read ``BUDI SANTOSO  K``, reviewed.  A straight band holds the ink."""
    dpi = 300.0
    page = pencil(SheetSpec(), dpi)
    x0, y0, r = bubble_px("nama", 14, "F", dpi)
    x1, y1, _ = bubble_px("nama", 16, "P", dpi)
    draw_line(page, (x0 - 1.5 * r, y0 - 0.6 * r), (x1 + 1.5 * r, y1 + 0.6 * r), dpi, width_mm=0.35)
    reading = _read(page, dpi)
    assert reading.nama == "BUDI SANTOSO"
    assert not reading.review, reading.flags


@pytest.mark.parametrize("gray", [150, 175, 200])
def test_a_light_fill_under_a_stray_line_is_never_a_sure_blank(gray):
    """A light fill of K in blank name column 15 with the same line across
    it, on a gray scan: its body is pencil, so the line rule leaves it to
    the kernel: read K or reviewed, never a blank column without review.
    (The 1-bit threshold of these helpers drops a fill this light
    altogether: nothing is left to read.)"""
    dpi = 300.0
    bits = 8
    page = pencil(SheetSpec(residue=(("nama", 15, "K", gray),)), dpi)
    x0, y0, r = bubble_px("nama", 14, "F", dpi)
    x1, y1, _ = bubble_px("nama", 16, "P", dpi)
    draw_line(page, (x0 - 1.5 * r, y0 - 0.6 * r), (x1 + 1.5 * r, y1 + 0.6 * r), dpi, width_mm=0.35)
    image = scan_page(page, Scan(dpi=dpi, bits=bits, blur=0.8, noise=3, skew_deg=0.7))
    reading = analyse_sheet(Page(image, "lined", 1, dpi), ljun_template(), CAL).reading
    assert reading.review or reading.nama == "BUDI SANTOSO  K"


def test_regression_a_stray_line_through_a_blank_name_bubble_of_a_gray_scan_needs_no_review():
    """bench moderate dev seed 8402, sheet 172 (200 dpi gray): a wide light
    stray line through Q of blank name column 11 left its centre dark; the
    kernel kept it unsure, the name read ``DEWI PUTRAQWULANDARI``, reviewed.
    The line's ink lies in a straight band: column 11 reads blank surely."""
    sheet = bench_sheet(8402, 172, "moderate", dpi=200, bits=8)
    reading = analyse_sheet(Page(sheet.image, "seed8402", 173, 200.0), ljun_template(), CAL).reading
    assert reading.nama == sheet.truth["nama"]
    assert not reading.review, reading.flags


# --- identity columns: a fill spilled over the ring, a line beside a letter -


def test_regression_a_stroke_through_a_name_bubble_into_the_next_is_no_fill():
    """Hard fresh seed 8603, sheet 18 (200-dpi adaptive 1-bit): a short
    stroke through K into L of a blank name column.  K's ink reaches far
    beyond a straight band and holds a solid square, as a spilled fill's
    would, but its halo is touched in 5 directions: not a fill, the column
    stays unsure (it was read as K surely)."""
    sheet = bench_sheet(8603, 18, "hard", dpi=200, bits=1, bilevel_mode="adaptive")
    assert [(e["field"], e["item"], e["option"]) for e in sheet.scan["stroke_ends"]] == [
        ("nama", 8, "L")
    ]
    reading = analyse_sheet(Page(sheet.image, "seed8603", 19, 200.0), ljun_template(), CAL).reading
    assert reading.nama == sheet.truth["nama"] or "unsure:nama:8" in reading.flags
    assert reading.nama == sheet.truth["nama"] or reading.review


@pytest.mark.parametrize(
    ("seed", "index", "dpi", "bits", "mode", "flag"),
    [
        # A partial fill spilled over the ring, alone in its column: the
        # kernel's line rule kept it unsure (0.25 gray, 0.46 1-bit).
        (8502, 92, 200, 8, "adaptive", "unsure:nama:6"),
        (8503, 106, 200, 8, "dither", "unsure:nomor_peserta:12"),
        (8502, 25, 150, 1, "threshold", "unsure:nama:4"),
        (8502, 92, 150, 1, "adaptive", "unsure:nama:6"),
        # A stray line through a blank bubble beside the column's letter.
        (8502, 188, 200, 8, "threshold", "unsure:nama:7"),
        (8502, 20, 150, 1, "threshold", "unsure:nama:4"),
    ],
)
def test_regression_identity_columns_read_right_need_no_review(seed, index, dpi, bits, mode, flag):
    """bench moderate dev seeds 8502 and 8503 (200-dpi gray row and the
    mixed row): each sheet read right but went to review for one identity
    column (``flag``).  A fill with solid ink far beyond any straight band,
    a square of ``SOLID_INK_MM`` in it, reads as the column's letter surely; a line's band beside the column's
    sure letter reads blank surely: no review."""
    sheet = bench_sheet(seed, index, "moderate", dpi=dpi, bits=bits, bilevel_mode=mode)
    page = Page(sheet.image, f"seed{seed}", index + 1, float(dpi))
    reading = analyse_sheet(page, ljun_template(), CAL).reading
    for key in ("nama", "nomor_peserta", "tanggal_lahir", "kode_kompetensi", "paket"):
        assert getattr(reading, key) == sheet.truth[key], key
    assert flag not in reading.flags
    # No identity column to review (answer flags, from strokes the
    # generator draws since, may send some of these sheets to review).
    assert not [f for f in reading.flags if f.startswith(("unsure:", "invalid:"))], reading.flags


@pytest.mark.parametrize(
    ("seed", "index", "dpi", "bits", "mode", "flag"),
    [
        # (8501, 61, 300-dpi dithered, a line through A of a blank column:
        # read blank surely, right, since the seventh round; see
        # tests/test_identity_column.py.)
        (8501, 138, 200, 1, "adaptive", "unsure:nama:19"),  # a line thickened inside O
        # (8503, 49, 200-dpi gray: a speck of dust on C, now read blank
        # surely: tests/test_dust.py)
    ],
)
def test_identity_columns_read_wrong_still_go_to_review(seed, index, dpi, bits, mode, flag):
    """The same bench sets: blank name columns read as a letter (a stray
    line's ink), unsure; they must stay in review."""
    sheet = bench_sheet(seed, index, "moderate", dpi=dpi, bits=bits, bilevel_mode=mode)
    page = Page(sheet.image, f"seed{seed}", index + 1, float(dpi))
    reading = analyse_sheet(page, ljun_template(), CAL).reading
    assert reading.nama != sheet.truth["nama"]
    assert reading.review
    assert flag in reading.flags


def _line_beside_a_letter(dpi: float) -> tuple[np.ndarray, float, float, float]:
    """BUDI SANTOSO with a stray line through H of name column 3 (whose
    letter, D, is filled), running on across the blank columns around."""
    page = pencil(SheetSpec(), dpi)
    cx, cy, r = bubble_px("nama", 3, "H", dpi)
    draw_line(page, (cx - 3.5 * r, cy - 0.5 * r), (cx + 3.5 * r, cy + 0.3 * r), dpi, gray=100)
    return page, cx, cy, r


def test_a_dot_on_a_stray_line_beside_the_letter_of_a_column_goes_to_review():
    """A dot of 0.45 bubble radius on the line's path in H (150-dpi 1-bit,
    kept unsure by the kernel): a second mark as much as a line, beside D:
    ink beyond the line's band, a person decides.  (At 200 and 300 dpi, and
    on gray scans, the kernel itself reads a dot this small beside a firm
    letter as blank surely, before the line rule looks.)"""
    dpi = 150.0
    page, *_ = _line_beside_a_letter(dpi)
    draw_dot(page, "nama", 3, "H", dpi, fraction=0.45)
    image = scan_page(page, Scan(dpi=dpi, bits=1, blur=0.8, noise=3, skew_deg=0.7))
    reading = analyse_sheet(Page(image, "beside", 1, dpi), ljun_template(), CAL).reading
    assert reading.review
    assert "unsure:nama:3" in reading.flags


@pytest.mark.parametrize(("dpi", "bits"), [(150.0, 1), (200.0, 8), (300.0, 8)])
def test_a_dot_on_a_stray_line_in_a_blank_name_column_is_no_sure_letter(dpi, bits):
    """A dot on a line in blank name column 16 holds ink beyond the line's
    band, but too little for a fill (FILL_OFF_BAND_MIN_MM2): it stays in
    review, never read as H surely."""
    page = _stray_line_through_blank_name_columns(dpi)
    draw_dot(page, "nama", 16, "H", dpi, fraction=0.3)
    image = scan_page(page, Scan(dpi=dpi, bits=bits, blur=0.8, noise=3, skew_deg=0.7))
    reading = analyse_sheet(Page(image, "dot", 1, dpi), ljun_template(), CAL).reading
    assert reading.review
    assert "unsure:nama:16" in reading.flags


@pytest.mark.parametrize(("dpi", "bits"), [(150.0, 1), (200.0, 1), (200.0, 8), (300.0, 8)])
def test_a_tick_under_a_stray_line_in_a_blank_name_column_is_no_sure_letter(dpi, bits):
    """A tick on H of blank name column 16 under the stray line: its
    strokes reach beyond the line's band, but a stroke is no fill (no
    square of SOLID_INK_MM): never read as H without review."""
    page = _stray_line_through_blank_name_columns(dpi)
    draw_tick(page, "nama", 16, "H", dpi, gray=90)
    cx, cy, r = bubble_px("nama", 16, "H", dpi)
    draw_line(page, (cx - 0.65 * r, cy + 0.55 * r), (cx - 0.9 * r, cy - 0.2 * r), dpi, gray=90)
    image = scan_page(page, Scan(dpi=dpi, bits=bits, blur=0.8, noise=3, skew_deg=0.7))
    reading = analyse_sheet(Page(image, "tick", 1, dpi), ljun_template(), CAL).reading
    assert reading.review or reading.nama == "BUDI SANTOSO"


@pytest.mark.parametrize("dpi", [150.0, 200.0, 300.0])
def test_a_fill_holds_a_solid_square_and_a_stroke_does_not(dpi):
    """solid_square: a stroke 0.6 mm wide (a line's or a tick's path in
    the excess ink) holds no square of SOLID_INK_MM; a disc of 0.6 mm
    radius (a partial fill's body) does."""
    px = dpi / 25.4
    y, x = np.mgrid[:41, :41] - 20
    stroke = (np.abs(x + 0.3 * y) <= 0.3 * px * np.hypot(1, 0.3))[None]
    assert not solid_square(stroke, dpi)[0]
    assert solid_square(_disc(41, 0.6 * px), dpi)[0]


@pytest.mark.parametrize(
    ("seed", "index", "item", "mode"),
    [
        (8790, 122, 20, "adaptive"),
        (8708, 116, 32, "adaptive"),
        (8711, 174, 37, "threshold"),
        # Heavy residue in E that the adaptive threshold made a blob:
        # 0.375 of 1.11 mm² solid, no square (BLOB_SOLID_SHARE_MIN).
        (8630, 143, 40, "adaptive"),
    ],
)
def test_regression_residue_thickening_a_letter_at_200_dpi_is_no_sure_mark(seed, index, item, mode):
    """bench_read hard, 200-dpi 1-bit scans (seed 8790 sheet 122, B of
    item 20; dev seeds 8708 sheet 116, A of item 32, and 8711 sheet 174, E
    of item 37): erasure residue in a blank item thickened the printed
    letter to strokes three pixels wide, a one-pixel erosion kept their
    spine (0.20-0.28 mm² of solid ink) and the lone bubble read as a sure
    mark, without review; fresh seed 8630 sheet 143 (E of item 40, read E
    surely, a silent error), a blob.  Now the item goes to review."""
    sheet = bench_sheet(seed, index, "hard", dpi=200, bits=1, bilevel_mode=mode)
    assert sheet.truth["answers"][item - 1] == ""
    page = Page(sheet.image, f"seed{seed}", index + 1, 200.0)
    reading = analyse_sheet(page, ljun_template(), CAL).reading
    assert reading.answers[item - 1] == "" or f"answer_unsure:{item}" in reading.flags
    assert reading.review, reading.flags


@pytest.mark.parametrize("fraction", [0.22, 0.26, 0.3])
def test_a_lone_dot_at_200_dpi_still_reads_surely(fraction):
    """The stricter bound at 200 dpi (THIN_EROSION_SOLID_MIN_MM2) leaves a
    clean dot a sure mark, down to the generator's smallest (0.22 of the
    bubble's radius)."""
    dpi = 200.0
    page = _sheet(dpi)
    draw_dot(page, "answers", ITEM, "C", dpi, fraction=fraction)
    reading = _read(page, dpi)
    assert reading.answers[ITEM - 1] == "C"
    assert not reading.review, reading.flags


@pytest.mark.parametrize("mode", ["threshold", "adaptive"])
def test_regression_a_sliver_along_the_ring_of_a_name_bubble_is_no_sure_blank(mode):
    """bench_read hard, fresh seed 8615, sheet 188 (150-dpi 1-bit): a
    partial fill of N along the ring of name column 8, a crescent a straight
    band holds, was taken for a stray line and read blank surely: the name
    read "TEGUH A GGRAINI" without review.  Now N is unsure and the sheet
    goes to review, or (threshold: no ink leaves the ring, ninth round's
    ``ljun._identity_column.enclosed_fill``) N reads surely as N."""
    sheet = bench_sheet(8615, 188, "hard", dpi=150, bits=1, bilevel_mode=mode)
    assert sheet.truth["nama"] == "TEGUH ANGGRAINI"
    reading = analyse_sheet(Page(sheet.image, "seed8615", 189, 150.0), ljun_template(), CAL).reading
    assert reading.nama == "TEGUH ANGGRAINI" or "unsure:nama:8" in reading.flags
    assert reading.nama == "TEGUH ANGGRAINI" or reading.review, reading.flags


def test_ink_by_the_ring_on_one_side_is_a_sliver_and_a_chord_line_is_not():
    """The sliver test's centroid: a crescent inside the ring is far from
    the centre; a line through the middle is not (its ink is about the
    centre whatever its direction)."""
    from ljun._lone_mark import SLIVER_CENTROID_MIN, ink_centroid_offset

    side = 33
    y, x = np.mgrid[:side, :side] - side // 2
    inside = (x**2 + y**2 <= 16**2)[None]
    crescent = inside[0] & (x <= -10)
    line = inside[0] & (np.abs(y - x) <= 2)
    offsets = ink_centroid_offset(np.stack([crescent, line]), np.repeat(inside, 2, axis=0))
    assert offsets[0] >= SLIVER_CENTROID_MIN > offsets[1]


def test_a_small_blob_mostly_edge_without_a_square_is_unsquared_and_a_dot_is_not():
    """unsquared_blob: a small blob (under SPECKLED_FILL_AREA_MIN_MM2) with
    no square of SOLID_INK_MM whose solid ink is under BLOB_SOLID_SHARE_MIN
    of it; a square, a compact dot or a wider spread is not."""
    from ljun._lone_mark import (
        BLOB_SOLID_SHARE_MIN,
        SPECKLED_FILL_AREA_MIN_MM2,
        unsquared_blob,
    )

    dpi = 200.0
    px = dpi / 25.4
    y, x = np.mgrid[:33, :33] - 16
    blob = (np.abs(x) <= 0.25 * px) & (np.abs(y) <= 1.0 * px)  # 0.5 x 2 mm: no square
    square = _disc(33, 0.6 * px)[0]
    masks = np.stack([blob, square, blob])
    area = float(blob.sum()) / px**2
    assert area < SPECKLED_FILL_AREA_MIN_MM2
    edge = BLOB_SOLID_SHARE_MIN * area
    solid = np.array([edge - 0.01, edge - 0.01, edge + 0.01])
    assert unsquared_blob(masks, solid, dpi).tolist() == [True, False, False]
    spread = np.zeros((1, 33, 33), bool)
    spread[0, ::2, :] = True  # speckles over the disc: no square, a wide area
    assert not unsquared_blob(spread, np.zeros(1), dpi)[0]
