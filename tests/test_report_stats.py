"""The item-analysis formulas: by hand, against scipy, and in degenerate cases."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from ljun.report._stats import (
    BLANK_CODE,
    MULTIPLE_CODE,
    difficulty,
    discrimination_index,
    encode_choices,
    extreme_groups,
    histogram,
    kr20,
    option_counts,
    rest_point_biserial,
    standard_error_of_measurement,
    summarise_scores,
)

# Five sheets, four items, worked by hand below.
HAND = np.array(
    [
        [1, 1, 1, 0],
        [1, 1, 0, 1],
        [1, 0, 1, 0],
        [0, 1, 0, 0],
        [1, 0, 0, 0],
    ]
)


def _alpha(matrix: np.ndarray) -> float:
    """Cronbach's alpha from the covariance matrix: equals KR-20 on 0/1 items."""
    covariance = np.cov(matrix.T, ddof=0)
    k = matrix.shape[1]
    return k / (k - 1) * (1 - np.trace(covariance) / covariance.sum())


def _random_matrix(seed: int, sheets: int, items: int) -> np.ndarray:
    """Right/wrong answers of students of varying ability (so items correlate)."""
    rng = np.random.default_rng(seed)
    ability = rng.normal(size=(sheets, 1))
    ease = rng.normal(size=(1, items))
    return (rng.random((sheets, items)) < 1 / (1 + np.exp(-(ability + ease)))).astype(np.int8)


# --------------------------------------------------------------------------- hand-computed


def test_difficulty_by_hand():
    assert difficulty(HAND).tolist() == [0.8, 0.6, 0.4, 0.2]


def test_rest_point_biserial_by_hand():
    # Item 1 against the rest (items 2-4): x = 1 1 1 0 1, rest = 2 2 1 1 0.
    # mean x 0.8, mean rest 1.2; Sxy = .16+.16-.04+.16-.24 = 0.2, Sxx = 0.8, Syy = 2.8.
    r = rest_point_biserial(HAND)
    assert r[0] == pytest.approx(0.2 / math.sqrt(0.8 * 2.8))
    # Item 4: x = 0 1 0 0 0, rest = 3 2 2 1 1 -> Sxy = -.24+.16-.04+.16+.16 = 0.2, Syy = 2.8.
    assert r[3] == pytest.approx(0.2 / math.sqrt(0.8 * 2.8))


def test_kr20_by_hand():
    # Totals 3 3 2 1 1: mean 2, population variance 0.8; sum pq = .16+.24+.24+.16 = .8
    # KR-20 = 4/3 * (1 - 0.8/0.8) = 0.
    assert kr20(HAND) == pytest.approx(0.0)
    # A Guttman pattern: totals 3 2 1 0, variance 1.25, sum pq 0.625 -> 1.5 * 0.5.
    guttman = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0]])
    assert kr20(guttman) == pytest.approx(0.75)


def test_extreme_groups_and_discrimination_by_hand():
    totals = HAND.sum(axis=1)  # 3 3 2 1 1; groups of round(1.35) = 1 sheet
    upper, lower = extreme_groups(totals)
    assert np.flatnonzero(upper).tolist() == [1]  # of the two 3s, the later sheet
    assert np.flatnonzero(lower).tolist() == [3]  # of the two 1s, the earlier sheet
    # Upper sheet 2 (1 1 0 1) minus lower sheet 4 (0 1 0 0).
    assert discrimination_index(HAND, totals).tolist() == [1.0, 0.0, 0.0, 1.0]


def test_option_counts_by_hand():
    choices = encode_choices([["A", "C"], ["A", ""], ["B", "*"], ["A", "C"]], 2)
    counts = option_counts(choices)
    assert counts[0].tolist() == [3, 1, 0, 0, 0, 0, 0]
    assert counts[1].tolist() == [0, 0, 2, 0, 0, 1, 1]
    upper = option_counts(choices, np.array([True, False, True, False]))
    assert upper[:, :2].tolist() == [[1, 1], [0, 0]]
    assert upper.sum() == 4


def test_encode_choices_pads_and_marks_unknown_letters_as_multiple():
    assert encode_choices([["A"], ["F", "E", "D"]], 2).tolist() == [
        [0, BLANK_CODE],
        [MULTIPLE_CODE, 4],
    ]


def test_sem_by_hand():
    assert standard_error_of_measurement(1.5, 0.84) == pytest.approx(0.6)
    assert math.isnan(standard_error_of_measurement(1.5, float("nan")))


def test_histogram_puts_a_perfect_score_in_the_top_bin():
    counts, edges = histogram(np.array([0.0, 0.49, 0.5, 9.5, 10.0]), low=0, high=10, width=0.5)
    assert len(counts) == 20 and edges[0] == 0 and edges[-1] == 10
    assert counts[0] == 2 and counts[1] == 1 and counts[-1] == 2 and counts.sum() == 5


# --------------------------------------------------------------------------- against scipy / numpy


@pytest.mark.parametrize("seed", range(5))
def test_rest_point_biserial_matches_scipy(seed):
    matrix = _random_matrix(seed, sheets=60, items=12)
    ours = rest_point_biserial(matrix)
    for i in range(matrix.shape[1]):
        rest = matrix.sum(axis=1) - matrix[:, i]
        expected = scipy_stats.pointbiserialr(matrix[:, i], rest).statistic
        assert ours[i] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_kr20_equals_cronbach_alpha(seed):
    matrix = _random_matrix(seed, sheets=80, items=20)
    assert kr20(matrix) == pytest.approx(_alpha(matrix.astype(float)), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.floats(min_value=0, max_value=10, allow_nan=False),
        min_size=1,
        max_size=40,
    )
)
def test_summary_matches_scipy(values):
    scores = np.array(values)
    summary = summarise_scores(scores)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's skew of equal values
        described = scipy_stats.describe(scores, ddof=0)
    assert summary.count == described.nobs
    assert summary.mean == pytest.approx(described.mean)
    assert summary.sd == pytest.approx(math.sqrt(described.variance), abs=1e-9)
    assert (summary.minimum, summary.maximum) == described.minmax
    assert summary.median == pytest.approx(float(np.percentile(scores, 50)))


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=2**31))
def test_extreme_groups_are_27_percent_and_ordered(count, seed):
    totals = np.random.default_rng(seed).integers(0, 41, count)
    upper, lower = extreme_groups(totals)
    size = 0 if count < 2 else max(1, int(np.floor(0.27 * count + 0.5)))
    assert upper.sum() == lower.sum() == size
    assert not (upper & lower).any()
    if size:
        # Nobody outside a group has a more extreme total than someone in it.
        assert totals[upper].min() >= totals[~upper].max()
        assert totals[lower].max() <= totals[~lower].min()


# --------------------------------------------------------------------------- degenerate cases


def test_all_correct():
    matrix = np.ones((8, 5), dtype=np.int8)
    assert difficulty(matrix).tolist() == [1.0] * 5
    assert np.isnan(rest_point_biserial(matrix)).all()
    assert discrimination_index(matrix, matrix.sum(axis=1)).tolist() == [0.0] * 5
    assert math.isnan(kr20(matrix))


def test_one_sheet():
    matrix = np.array([[1, 0, 1]])
    assert difficulty(matrix).tolist() == [1.0, 0.0, 1.0]
    assert np.isnan(rest_point_biserial(matrix)).all()
    assert np.isnan(discrimination_index(matrix, matrix.sum(axis=1))).all()
    assert math.isnan(kr20(matrix))
    summary = summarise_scores(np.array([7.5]))
    assert (summary.mean, summary.median, summary.sd) == (7.5, 7.5, 0.0)


def test_no_sheet():
    matrix = np.zeros((0, 4))
    assert np.isnan(difficulty(matrix)).all()
    assert np.isnan(rest_point_biserial(matrix)).all()
    assert math.isnan(kr20(matrix))
    assert summarise_scores(np.array([])).count == 0
    assert option_counts(np.zeros((0, 4), dtype=np.int8)).sum() == 0


def test_zero_variance_of_the_totals():
    # Every sheet has 2 of 4 right, on different items: items vary, totals do not.
    matrix = np.array([[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0], [0, 1, 0, 1]])
    assert math.isnan(kr20(matrix))
    # Each item's rest score is 2 - item: perfectly negatively correlated.
    assert rest_point_biserial(matrix) == pytest.approx([-1.0] * 4)


def test_an_item_nobody_answered():
    choices = encode_choices([["A", ""], ["B", ""], ["A", ""]], 2)
    counts = option_counts(choices)
    assert counts[1].tolist() == [0, 0, 0, 0, 0, 3, 0]
    correct = np.array([[1, 0], [0, 0], [1, 0]])
    assert difficulty(correct)[1] == 0.0
    assert math.isnan(rest_point_biserial(correct)[1])
    # An item with no variance adds nothing to sum pq: KR-20 of 2 items, one constant.
    assert kr20(correct) == pytest.approx(2 * (1 - (2 / 9) / (2 / 9)))
