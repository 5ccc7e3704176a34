"""The bubble kernel: sampling pattern, darkness features, bands, item decisions;
and the calibration file that holds the thresholds."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from _reading_helpers import (
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

from ljun.calibration import Bands, load_calibration, parse_calibration
from ljun.errors import CalibrationError, LjunError
from ljun.pipeline import analyse_sheet
from ljun.read import (
    BLANK_SURE,
    BLANK_UNSURE,
    CLIPPED_BLANK_DROP,
    CLIPPED_PAPER_MIN,
    HALO_TOUCH_MIN,
    INNER_POINTS,
    MARKED_SURE,
    MARKED_UNSURE,
    BubbleDarkness,
    classify,
    decide_items,
    is_bilevel,
    mark_evidence,
    measure_darkness,
    sampling_pattern,
)
from ljun.records import Page
from ljun.register import REFERENCE_DPI, Registration, register

CAL = load_calibration()
READ = CAL.read


def _index(name: str, item: int, option: str) -> int:
    template = ljun_template()
    return int(
        template.geometry(REFERENCE_DPI).grid(name)[
            item - 1, template.field(name).options.index(option)
        ]
    )


def _evidence(page: np.ndarray, scan: Scan | None = None) -> np.ndarray:
    scan = scan if scan is not None else Scan()
    image = scan_page(page, scan)
    registration = register(image, ljun_template(), CAL, dpi=scan.dpi)
    assert isinstance(registration, Registration)
    bubbles = measure_darkness(image, registration, sampling_pattern(ljun_template()))
    return mark_evidence(bubbles, READ)


# --------------------------------------------------------------------------- pattern


def test_sampling_pattern_points_sit_where_they_belong():
    pattern = sampling_pattern(ljun_template())
    geometry = pattern.geometry
    offsets = pattern.points - geometry.centres[:, None, :].astype(np.float32)
    distance = np.linalg.norm(offsets, axis=2) / geometry.radii[:, None]
    assert distance[:, pattern.inner].max() <= 0.72 + 1e-3  # inside the ring
    assert distance[:, pattern.core].max() <= 0.4 + 1e-3  # the centre
    assert distance[:, pattern.paper].min() >= 1.3  # beside the bubble
    halo = distance[:, pattern.halo]
    assert halo.min() > 1.0 and np.median(halo) <= 1.4 + 1e-3 and halo.max() <= 1.8 + 1e-3
    # Every group of alike bubbles samples only its own members.
    assert np.all(pattern.group[pattern.members] == np.arange(len(pattern.members))[:, None])


def test_sampling_pattern_is_cached_per_template_and_dpi():
    assert sampling_pattern(ljun_template()) is sampling_pattern(ljun_template(), REFERENCE_DPI)


# --------------------------------------------------------------------------- bands and decisions


def test_classify_puts_evidence_in_four_bands():
    bands = Bands(
        blank_sure_max=0.2,
        mark_min=0.3,
        marked_sure_min=0.4,
        core_offset=0.0,
        line_halo_min=0.2,
        line_allowance=0.0,
    )
    assert classify(np.array([0.0, 0.2, 0.25, 0.3, 0.39, 0.4, 1.0]), bands).tolist() == [
        BLANK_SURE,
        BLANK_SURE,
        BLANK_UNSURE,
        MARKED_UNSURE,
        MARKED_UNSURE,
        MARKED_SURE,
        MARKED_SURE,
    ]


@pytest.mark.parametrize("kind", ["gray", "bilevel", "dithered"])
def test_classify_agrees_with_the_item_decision_at_the_band_edges(kind):
    """A look sets a bubble's evidence to exactly ``blank_sure_max`` or
    ``marked_sure_min`` (float32): ``classify`` puts it in the band
    ``decide_items`` and ``Bands.unsure`` do (before: float64 made the
    float32 0.2 blank-unsure to ``classify`` alone)."""
    bands = getattr(load_calibration().read, kind)
    edges = np.array([[bands.blank_sure_max, bands.marked_sure_min]], np.float32)
    band = classify(edges, bands)
    assert band.tolist() == [[BLANK_SURE, MARKED_SURE]]
    unsure = (band == BLANK_UNSURE) | (band == MARKED_UNSURE)
    assert (unsure == bands.unsure(edges)).all()
    decision = decide_items(edges[:, :1], bands, load_calibration().read)
    assert not decision.unsure[0]  # blank-sure to the item decision too


@pytest.mark.parametrize(
    "row, count, choice, unsure",
    [
        ([0.01, 0.80, 0.02, 0.00, 0.01], 1, 1, False),  # one firm mark
        ([0.01, 0.02, 0.00, 0.03, 0.01], 0, None, False),  # blank
        ([0.75, 0.02, 0.80, 0.00, 0.01], 2, None, False),  # two firm marks
        ([0.12, 0.02, 0.80, 0.00, 0.01], 1, 2, False),  # erasure residue far lighter than the mark
        ([0.38, 0.02, 0.80, 0.00, 0.01], 1, 2, True),  # residue too close to the mark to be sure
        ([0.00, 0.25, 0.00, 0.00, 0.00], 1, 1, True),  # a faint mark alone
        ([0.00, 0.21, 0.00, 0.00, 0.00], 0, None, True),  # a smudge or a fainter mark
    ],
)
def test_decide_items_reads_a_question_from_its_bubbles_together(row, count, choice, unsure):
    decision = decide_items(np.array([row], np.float32), READ.gray, READ)
    assert int(decision.count[0]) == count
    if choice is not None:
        assert int(decision.choice[0]) == choice
    assert bool(decision.unsure[0]) is unsure
    assert (decision.confidence[0] < 1).any() == unsure


def test_a_bubble_off_the_scan_makes_its_item_unsure():
    inside = np.ones((1, 5), bool)
    inside[0, 4] = False
    decision = decide_items(
        np.array([[0.0, 0.8, 0.0, 0.0, 0.0]], np.float32), READ.gray, READ, inside
    )
    assert decision.unsure[0] and decision.confidence[0, 4] == 0


def test_mark_evidence_discounts_a_line_running_through_the_bubble():
    n = 3
    bubbles = BubbleDarkness(
        darkness=np.array([0.05, 0.05, 0.6], np.float32),
        core=np.array([0.7, 0.7, 0.8], np.float32),
        quarter=np.array([0.6, 0.6, 0.8], np.float32),
        body=np.array([0.01, 0.0, 0.55], np.float32),
        halo=np.array([0.6, 0.0, 0.6], np.float32),
        halo_contact=np.array([2, 0, 15], np.int16),
        inside=np.ones(n, bool),
        paper=np.full(n, 250, np.float32),
        bilevel=False,
    )
    evidence = mark_evidence(bubbles, READ)
    assert evidence[0] == pytest.approx(0.05)  # a line: only its mean darkness counts (gray)
    # a tick (no line outside): its dark quarter or its centre less the letter allowance
    assert evidence[1] == pytest.approx(max(0.6, 0.7 - READ.gray.core_offset))
    assert evidence[2] == pytest.approx(0.8)  # an overfill touches the halo all round


def test_is_bilevel():
    assert is_bilevel(
        np.where(np.random.default_rng(0).random((300, 200)) > 0.5, 255, 0).astype(np.uint8)
    )
    assert not is_bilevel(np.random.default_rng(0).integers(0, 256, (300, 200), dtype=np.uint8))


# --------------------------------------------------------------------------- the kernel on sheets


def test_kernel_separates_marks_from_blank_bubbles():
    # Regression: the default answers repeat A, B, C, D, E; blank levels
    # measured on evenly spaced members of each letter's group fell in step
    # with that pattern, took only marked bubbles, and read the marks blank.
    evidence = _evidence(pencil(SheetSpec(), 200))
    marked = np.zeros_like(evidence, bool)
    spec = SheetSpec()
    for item, letter in enumerate(spec.answers, start=1):
        marked[_index("answers", item, letter)] = True
    for column, ch in enumerate(spec.nama, start=1):
        if ch != " ":
            marked[_index("nama", column, ch)] = True
    answers_and_name = np.zeros_like(marked)
    answers_and_name[ljun_template().geometry(REFERENCE_DPI).grid("answers").ravel()] = True
    answers_and_name[ljun_template().geometry(REFERENCE_DPI).grid("nama").ravel()] = True
    assert evidence[marked].min() >= READ.gray.marked_sure_min
    assert evidence[answers_and_name & ~marked].max() <= READ.gray.blank_sure_max


def test_a_student_answering_the_same_letter_everywhere_keeps_the_marks():
    evidence = _evidence(pencil(SheetSpec(answers=("C",) * 40), 200))
    chosen = [_index("answers", item, "C") for item in range(1, 41)]
    assert evidence[chosen].min() >= READ.gray.marked_sure_min


def test_a_small_dot_and_a_tick_are_marks():
    spec = SheetSpec(answers=("",) * 40)
    page = pencil(spec, 200)
    draw_dot(page, "answers", 3, "B", 200, fraction=0.38, gray=55)
    draw_tick(page, "answers", 7, "D", 200)
    evidence = _evidence(page)
    assert evidence[_index("answers", 3, "B")] >= READ.gray.marked_sure_min
    assert evidence[_index("answers", 7, "D")] >= READ.gray.marked_sure_min


def test_erasure_residue_is_light():
    page = pencil(SheetSpec(answers=("",) * 40, residue=(("answers", 5, "C", 225),)), 200)
    evidence = _evidence(page)
    assert evidence[_index("answers", 5, "C")] <= READ.gray.blank_sure_max


@pytest.mark.parametrize("scan", [Scan(), Scan(dpi=300, bits=1)], ids=["gray", "bilevel"])
def test_regression_stray_line_through_a_row_of_bubbles_is_not_read_as_marks(scan):
    # A pencil line along the row of 'O' bubbles of the name grid was read as
    # the letter O in every column it crossed (its dark quarter looks like a tick).
    page = pencil(SheetSpec(nama=""), scan.dpi)
    x0, y0, _ = bubble_px("nama", 3, "O", scan.dpi)
    x1, y1, _ = bubble_px("nama", 12, "O", scan.dpi)
    lift = scan.dpi / 100
    draw_line(page, (x0, y0 + lift), (x1, y1 - lift), scan.dpi, width_mm=0.45, gray=110)
    evidence = _evidence(page, scan)
    bands = READ.bilevel if scan.bits == 1 else READ.gray
    crossed = [_index("nama", column, "O") for column in range(4, 12)]
    assert evidence[crossed].max() <= bands.blank_sure_max


def test_regression_letter_counters_filled_by_a_1bit_threshold_are_not_marks():
    # At 150 dpi a 1-bit threshold fills the counters of O, D, 9 ... in some
    # bubbles; read against a fixed blank level they looked like dots.
    spec = SheetSpec()
    image = scan_page(pencil(spec, 150), Scan(dpi=150, bits=1, blur=0.9))
    registration = register(image, ljun_template(), CAL, dpi=150)
    bubbles = measure_darkness(image, registration, sampling_pattern(ljun_template()))
    assert bubbles.bilevel
    evidence = mark_evidence(bubbles, READ)
    blank = np.ones_like(evidence, bool)
    for item, letter in enumerate(spec.answers, start=1):
        blank[_index("answers", item, letter)] = False
    answers = ljun_template().geometry(REFERENCE_DPI).grid("answers").ravel()
    assert evidence[answers][blank[answers]].max() <= READ.bilevel.blank_sure_max


# --------------------------------------------------------------------------- calibration


def test_default_calibration_loads_into_frozen_dataclasses():
    calibration = load_calibration()
    assert calibration.source.endswith("default.json")
    with pytest.raises(AttributeError):
        calibration.read.gray.mark_min = 0.1  # type: ignore[misc]
    assert calibration.decode.nomor_peserta_check in ("none", "luhn")


def _default_document() -> dict:
    from ljun.calibration import resolve_calibration_path

    return json.loads(resolve_calibration_path().read_text("utf-8"))


def test_calibration_errors_name_the_file_the_key_and_the_fix(tmp_path):
    document = _default_document()
    del document["read"]["gray"]["mark_min"]
    document["read"]["mark_ratio"] = 7
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(document))
    with pytest.raises(CalibrationError) as info:
        load_calibration(path)
    message = str(info.value)
    assert str(path) in message
    assert "$.read.gray" in message and "mark_min" in message and "fix:" in message
    assert "$.read.mark_ratio" in message
    assert isinstance(info.value, (LjunError, ValueError))


def test_calibration_bands_must_be_ordered():
    document = _default_document()
    document["read"]["bilevel"]["blank_sure_max"] = 0.9
    with pytest.raises(
        CalibrationError, match=r"\$\.read\.bilevel: blank_sure_max must be below mark_min"
    ):
        parse_calibration(document, source="x.json")


def test_calibration_file_not_found_or_not_json(tmp_path):
    with pytest.raises(CalibrationError, match="not found"):
        load_calibration(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{ nope")
    with pytest.raises(CalibrationError, match="not valid JSON at line 1"):
        load_calibration(bad)


def test_inner_points_constant_matches_pattern():
    pattern = sampling_pattern(ljun_template())
    assert pattern.inner.stop - pattern.inner.start == INNER_POINTS


# --------------------------------------------------------------------------- no silent error (hard level)


def _bubbles(*, bilevel: bool, paper_clipped: bool = False, **features) -> BubbleDarkness:
    """One row of five bubbles; ``features`` give per-bubble lists (default 0)."""
    n = len(next(iter(features.values())))
    zeros = np.zeros(n, np.float32)
    value = {k: np.asarray(v, np.float32) for k, v in features.items()}
    return BubbleDarkness(
        darkness=value.get("darkness", zeros),
        core=value.get("core", zeros),
        quarter=value.get("quarter", zeros),
        body=value.get("body", zeros),
        halo=value.get("halo", zeros),
        halo_contact=np.asarray(features.get("halo_contact", np.zeros(n)), np.int16),
        inside=np.ones(n, bool),
        paper=np.full(n, 250, np.float32),
        bilevel=bilevel,
        paper_clipped=paper_clipped,
    )


def _decide(bubbles: BubbleDarkness):
    bands = READ.bilevel if bubbles.bilevel else READ.gray
    return decide_items(mark_evidence(bubbles, READ)[None, :], bands, READ)


def test_regression_small_dot_on_a_gray_scan_is_not_read_blank_surely():
    # Features of a 0.3-radius dot in option B on a hard 200-dpi gray scan
    # (bench seed 20240601, sheet 53): its centre was discounted by a letter
    # allowance larger than a printed letter leaves on gray, and it read blank.
    bubbles = _bubbles(
        bilevel=False, core=[0.035, 0.284, 0.012, 0.025, 0.0], quarter=[0, 0.005, 0, 0.012, 0.022]
    )
    decision = _decide(bubbles)
    assert decision.unsure[0]


def test_regression_residue_over_the_printed_letter_on_a_1bit_scan_is_not_a_sure_mark():
    # Erasure residue alone in its question tipped the letter D's strokes
    # over a 1-bit threshold: black centre points, nothing elsewhere (bench
    # seed 20240601, sheet 74); it read as a sure D.
    bubbles = _bubbles(
        bilevel=True,
        core=[0.0, 0.0, 0.0, 0.758, 0.0],
        quarter=[0, 0, 0, 0.173, 0],
        darkness=[0, 0, 0, 0.043, 0],
    )
    decision = _decide(bubbles)
    assert decision.unsure[0]


def test_regression_residue_beside_a_fill_on_a_1bit_scan_is_not_a_sure_second_mark():
    # On a 1-bit scan a fill's evidence saturates at 1 and residue speckles
    # can fill two thirds of the darkest quarter: above the multi-mark ratio.
    bubbles = _bubbles(
        bilevel=True,
        quarter=[1.0, 0.67, 0, 0, 0],
        darkness=[1.0, 0.15, 0, 0, 0],
        body=[1.0, 0.0, 0, 0, 0],
    )
    decision = _decide(bubbles)
    assert decision.unsure[0]


def test_regression_tick_spilling_over_the_ring_is_not_taken_for_a_stray_line():
    # A tick whose stroke ran over the ring (halo 0.24 in 3 directions, inside
    # twice as dark) took the stray-line branch and read blank surely (seed
    # 4242, hard sheet 38).  A line crossing is as dark outside as inside.
    tick = dict(
        darkness=[0.0, 0.165],
        core=[0.0, 0.591],
        quarter=[0.0, 0.463],
        body=[0.0, 0.064],
        halo=[0.0, 0.244],
        halo_contact=[0, 3],
    )
    evidence = mark_evidence(_bubbles(bilevel=False, **tick), READ)
    assert evidence[1] > READ.gray.blank_sure_max
    line = dict(tick, halo=[0.0, 0.5])
    assert mark_evidence(_bubbles(bilevel=False, **line), READ)[1] <= READ.gray.blank_sure_max


def test_regression_small_dot_drawn_on_a_gray_sheet_goes_to_review():
    # The same on a drawn sheet: a dot of 0.2 bubble radii (the generator
    # draws 0.22-0.40) read blank-sure while its centre was discounted by 0.15.
    page = pencil(SheetSpec(answers=("",) * 40), 200)
    draw_dot(page, "answers", 3, "B", 200, fraction=0.2, gray=100)
    evidence = _evidence(page)
    assert evidence[_index("answers", 3, "B")] > READ.gray.blank_sure_max


def test_is_dithered_tells_error_diffusion_from_a_threshold():
    from PIL import Image

    from ljun.read import is_dithered

    ramp = np.tile(np.linspace(0, 255, 400, dtype=np.float32), (200, 1)).astype(np.uint8)
    dithered = np.asarray(Image.fromarray(ramp).convert("1")).astype(np.uint8) * 255
    thresholded = np.where(ramp < 128, 0, 255).astype(np.uint8)
    assert is_dithered(dithered)
    assert not is_dithered(thresholded)
    assert not is_dithered(np.full((50, 50), 255, np.uint8))  # no black at all


def test_dithered_bubbles_use_the_dithered_bands():
    from ljun.read import bands_for

    gray = _bubbles(bilevel=False, darkness=[0.0] * 5)
    bilevel = _bubbles(bilevel=True, darkness=[0.0] * 5)
    dithered = dataclasses.replace(bilevel, dithered=True)
    assert bands_for(gray, READ) is READ.gray
    assert bands_for(bilevel, READ) is READ.bilevel
    assert bands_for(dithered, READ) is READ.dithered


def test_a_dithered_scan_is_read_by_its_dot_density():
    """A sheet scanned in a dithered B/W mode reads exactly and surely: its
    dots are averaged before sampling and judged with the dithered bands."""
    from _reading_helpers import synthetic_sheet
    from PIL import Image

    from ljun.decode import decode_marks
    from ljun.pipeline import analyse_sheet
    from ljun.records import Page

    sheet = synthetic_sheet(scan=Scan(noise=2))
    dithered = np.asarray(Image.fromarray(sheet.image).convert("1")).astype(np.uint8) * 255
    analysis = analyse_sheet(Page(dithered, "dithered", 1, 200.0), ljun_template(), CAL)
    assert analysis.bubbles is not None
    assert analysis.bubbles.bilevel and analysis.bubbles.dithered
    geometry = sampling_pattern(ljun_template(), REFERENCE_DPI).geometry
    marks = decode_marks(analysis.bubbles, geometry, ljun_template(), CAL)
    assert list(marks.answers) == list(sheet.expected["answers"])
    assert not [f for f in marks.flags if "unsure" in f]


def _decide_any(bubbles: BubbleDarkness):
    from ljun.read import bands_for

    return decide_items(mark_evidence(bubbles, READ)[None, :], bands_for(bubbles, READ), READ)


def test_regression_a_stray_line_on_an_adaptive_scan_is_no_sure_second_mark():
    """bench_read seed 5101, hard, sheet 129 (1-bit adaptive B/W mode): a
    stray line through C, its edges doubled by the adaptive threshold,
    touched 7 halo directions (one more than a line may) and read as a sure
    second mark beside D: answer ``*`` without review."""
    bubbles = _bubbles(
        bilevel=True,
        darkness=[0.0, 0.0, 0.225, 0.998, 0.207],
        core=[-0.01, -0.067, 0.258, 0.965, 0.729],
        quarter=[0.0, 0.0, 0.888, 1.0, 0.816],
        body=[0.0, 0.0, 0.004, 0.997, 0.003],
        halo=[0.0, 1.0, 1.0, 1.0, 1.0],
        halo_contact=[0, 3, 7, 15, 3],
    )
    decision = _decide_any(bubbles)
    assert decision.unsure[0]
    assert decision.choice[0] == 3


def test_regression_a_dot_on_a_dithered_scan_beside_a_faint_halo_is_not_sure_blank():
    """bench_read seed 5102, hard, sheet 55 (150 dpi, dithered): a dot whose
    halo caught dither dots in 4 directions took the stray-line branch and
    read blank surely.  Its centre is darker than the halo: unsure."""
    bubbles = dataclasses.replace(
        _bubbles(
            bilevel=True,
            darkness=[0.001, 0.075, 0.002, 0.0, 0.002],
            core=[0.018, 0.529, -0.008, 0.009, -0.001],
            quarter=[0.003, 0.287, 0.007, 0.001, 0.007],
            body=[0.0, 0.004, 0.0, 0.0, 0.0],
            halo=[0.067, 0.325, 0.122, 0.086, 0.086],
            halo_contact=[0, 4, 0, 0, 0],
        ),
        dithered=True,
    )
    decision = _decide_any(bubbles)
    assert decision.unsure[0]


def test_a_stray_line_through_a_blank_bubble_still_reads_blank_surely():
    """The spill rule counts the inside only where it is darker than the
    halo: a line as dark outside as inside stays a sure blank."""
    bubbles = _bubbles(
        bilevel=False,
        darkness=[0.0, 0.12, 0.0, 0.0, 0.0],
        core=[0.0, 0.35, 0.0, 0.0, 0.0],
        quarter=[0.0, 0.4, 0.0, 0.0, 0.0],
        body=[0.0, 0.02, 0.0, 0.0, 0.0],
        halo=[0.0, 0.45, 0.0, 0.0, 0.0],
        halo_contact=[0, 4, 0, 0, 0],
    )
    decision = _decide_any(bubbles)
    assert not decision.unsure[0] and decision.count[0] == 0


def test_regression_a_dot_beside_a_line_grazing_the_ring_is_not_sure_blank():
    """bench_read seed 5101, hard, sheet 135 (200 dpi, 1-bit adaptive): a
    stray line ran just below the row, touching the ring of D in 3
    directions; the clear dot in D's centre took the stray-line branch and
    read blank surely.  A line through the centre darkens the quarter too;
    this centre is far darker than the quarter: unsure."""
    bubbles = _bubbles(
        bilevel=True,
        darkness=[0.0, 0.0, 0.0, 0.062, 0.0],
        core=[0.0, 0.0, 0.0, 1.0, 0.0],
        quarter=[0.0, 0.0, 0.0, 0.25, 0.0],
        body=[0.0, 0.0, 0.0, 0.0, 0.0],
        halo=[0.0, 0.129, 1.0, 1.0, 0.831],
        halo_contact=[0, 0, 5, 3, 2],
    )
    decision = _decide_any(bubbles)
    assert decision.unsure[0]
    assert decision.count[0] <= 1


def _group_level_by_lexsort(values: np.ndarray, pattern) -> np.ndarray:
    """The blank level of each bubble's group the plain way: sort the whole
    sheet by (group, value) and pick each group's BLANK_QUANTILE."""
    from ljun.read import BLANK_QUANTILE, GROUP_LEVEL_MAX_EXCESS

    group = pattern.group
    order = np.lexsort((values, group))
    counts = np.bincount(group, minlength=len(pattern.members))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = starts + np.floor(BLANK_QUANTILE * np.maximum(counts - 1, 0)).astype(np.intp)
    level = values[order][position]
    return np.minimum(level, np.median(level) + GROUP_LEVEL_MAX_EXCESS)[group]


def test_group_levels_of_several_features_at_once_equal_one_by_one():
    from ljun.read import _group_levels

    pattern = sampling_pattern(ljun_template())
    rng = np.random.default_rng(3)
    n = len(pattern.group)
    features = rng.normal(0.0, 0.05, (4, n)).astype(np.float32)
    # Marks: most of one group dark (its level must not follow them past the
    # cap), a few dark bubbles everywhere, ties.
    features[1, pattern.group == pattern.group[0]] = 0.9
    features[2, rng.choice(n, 60, replace=False)] = 0.8
    features[3, :] = np.round(features[3, :], 1)
    levels = _group_levels(features, pattern)
    assert levels.shape == (4, n)
    for row, level in zip(features, levels):
        np.testing.assert_array_equal(level, _group_level_by_lexsort(row, pattern))


def test_the_kernels_points_sampled_in_registrations_pass_read_the_same():
    import dataclasses

    from ljun.register import sample_scan

    spec = SheetSpec()
    image = scan_page(pencil(spec, 200), Scan(skew_deg=1.5, shift_px=(9, -6)))
    pattern = sampling_pattern(ljun_template())
    shared = register(image, ljun_template(), CAL, dpi=200, sample_points=pattern.points)
    assert isinstance(shared, Registration)
    assert shared.sampled is not None and shared.sampled.points is pattern.points
    scan, gray = sample_scan(image, shared.homography, pattern.points)
    np.testing.assert_array_equal(shared.sampled.gray, gray)
    np.testing.assert_array_equal(shared.sampled.scan, scan)
    alone = dataclasses.replace(shared, sampled=None)
    with_samples = measure_darkness(image, shared, pattern)
    without = measure_darkness(image, alone, pattern)
    for name in ("darkness", "core", "quarter", "body", "halo", "halo_contact", "inside", "paper"):
        np.testing.assert_array_equal(getattr(with_samples, name), getattr(without, name), name)
    # Samples taken at another array of points are not used for the pattern's.
    foreign = dataclasses.replace(
        shared.sampled, points=pattern.points.copy(), gray=np.zeros_like(gray)
    )
    other = dataclasses.replace(shared, sampled=foreign)
    np.testing.assert_array_equal(
        measure_darkness(image, other, pattern).darkness, without.darkness
    )


def test_regression_a_dot_under_a_faint_smudge_on_a_gray_scan_is_not_sure_blank():
    """bench_read seed 7301, hard, sheet 79 (300 dpi gray, noise 12, blur
    2.3 px): a smudge darkened the halo of question 23 to about 0.2 all
    along; B's clear dot took the stray-line branch and read blank surely.
    Its centre is far darker than its darkest quarter: unsure, B."""
    bubbles = _bubbles(
        bilevel=False,
        darkness=[0.016, 0.037, 0.011, 0.008, 0.026],
        core=[-0.006, 0.534, 0.039, 0.017, -0.011],
        quarter=[0.011, 0.056, 0.006, -0.006, 0.028],
        body=[0.019, 0.028, 0.017, 0.016, 0.025],
        halo=[0.220, 0.208, 0.155, 0.140, 0.257],
        halo_contact=[5, 2, 2, 0, 7],
    )
    decision = _decide_any(bubbles)
    assert decision.unsure[0]
    assert decision.choice[0] == 1


# --------------------------------------------------------------------------- paper clipped to white


def test_on_clipped_paper_a_faint_bubble_is_no_sure_blank():
    """On a gray scan whose paper is clipped to white, evidence within
    CLIPPED_BLANK_DROP under blank_sure_max, no ink in the halo, is raised
    by CLIPPED_BLANK_DROP, up to the middle of the blank-unsure band (no
    more a sure blank, still read blank); below that, with ink in the halo (a line, a stroke's
    end), and on paper that is not clipped, the kernel's evidence stands."""
    gray = READ.gray
    edge = gray.blank_sure_max - CLIPPED_BLANK_DROP
    quarter = [edge - 0.005, edge + 0.005, gray.blank_sure_max - 0.001, 0.19, gray.mark_min]
    halo = [0.0, 0.0, HALO_TOUCH_MIN - 0.01, HALO_TOUCH_MIN, 0.0]
    contact = [0, 0, 0, 1, 0]
    features = {"quarter": quarter, "halo": halo, "halo_contact": contact}
    clipped = mark_evidence(_bubbles(bilevel=False, paper_clipped=True, **features), READ)
    plain = mark_evidence(_bubbles(bilevel=False, **features), READ)
    raised = np.minimum(
        plain + np.float32(CLIPPED_BLANK_DROP), np.float32(gray.blank_unsure_middle)
    )
    np.testing.assert_array_equal(clipped, [plain[0], raised[1], raised[2], plain[3], plain[4]])
    assert clipped[1] == plain[1] + np.float32(CLIPPED_BLANK_DROP)  # raised by the drop
    assert clipped[2] == np.float32(gray.blank_unsure_middle)  # ... up to the middle
    assert (classify(plain[:4], gray) == BLANK_SURE).all()
    assert (classify(clipped[1:3], gray) == BLANK_UNSURE).all()  # still read blank


@pytest.mark.parametrize(("index", "clipped"), [(0, True), (1, False)])
def test_the_kernel_knows_a_scan_whose_paper_is_clipped_to_white(index, clipped):
    """bench_read hard seed 8701: sheet 0 was scanned with background
    removal (white point under the paper: paper reads 255), sheet 1
    without (paper about 218)."""
    sheet = bench_sheet(8701, index, "hard", dpi=200, bits=8)
    assert (sheet.scan["white_point"] is not None) == clipped
    analysis = analyse_sheet(Page(sheet.image, "seed8701", index + 1, 200.0), ljun_template(), CAL)
    assert analysis.registration is not None and analysis.bubbles is not None
    assert (analysis.registration.paper_level >= CLIPPED_PAPER_MIN) == clipped
    assert analysis.bubbles.paper_clipped == clipped


def test_a_1bit_scan_is_never_read_as_clipped_paper():
    image = scan_page(pencil(SheetSpec(), 200), Scan(dpi=200, bits=1))
    registration = register(image, ljun_template(), CAL, dpi=200)
    assert isinstance(registration, Registration)
    assert registration.paper_level >= CLIPPED_PAPER_MIN
    assert not measure_darkness(
        image, registration, sampling_pattern(ljun_template())
    ).paper_clipped


@pytest.mark.parametrize(
    ("seed", "index", "field", "item"),
    [
        (8701, 0, "answers", 27),  # a light D read blank
        (8704, 7, "answers", 8),  # a light E read blank
        (8618, 195, "nama", 11),  # a light N: "YULIA SUSA TI"
        (8707, 98, "nama", 11),  # a light R: "DWI SIREGA"
    ],
)
def test_regression_a_light_fill_on_clipped_paper_is_no_sure_blank(seed, index, field, item):
    """bench_read hard, 200-dpi gray scans with background removal (paper
    clipped to white; seeds 8701, 8704, 8707 dev, 8618 spent): a light fill
    lost part of its darkness to the clip (evidence 0.168-0.197), read
    blank surely, and the sheet was not reviewed.  Now it goes to review."""
    sheet = bench_sheet(seed, index, "hard", dpi=200, bits=8)
    assert sheet.scan["white_point"] is not None
    light = [m for m in sheet.scan["hard_marks"] if (m["field"], m["item"]) == (field, item)]
    assert [m["kind"] for m in light] == ["light"]
    reading = analyse_sheet(
        Page(sheet.image, f"seed{seed}", index + 1, 200.0), ljun_template(), CAL
    ).reading
    if field == "answers":
        assert reading.answers[item - 1] == sheet.truth["answers"][item - 1] or (
            f"answer_unsure:{item}" in reading.flags
        )
    else:
        assert reading.nama == sheet.truth["nama"] or f"unsure:nama:{item}" in reading.flags
    assert reading.review, reading.flags
