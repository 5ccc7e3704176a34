"""Classical item analysis on a sheets × items matrix: pure NumPy, no I/O.

Every function takes arrays and returns arrays or numbers.  A statistic
that is undefined for the data (a correlation with a constant, a
reliability with one item or one sheet) is ``nan``, never an exception:
the report shows it as "–".

Inputs
------
``correct`` : (S, I) ndarray of bool or {0, 1}
    Whether sheet ``s`` got item ``i`` right.
``choices`` : (S, I) ndarray of int8
    What sheet ``s`` marked on item ``i``: ``0``–``4`` for A–E,
    :data:`BLANK_CODE` for no mark, :data:`MULTIPLE_CODE` for more than one.

Variances and standard deviations are population ones (``ddof=0``), the
convention of KR-20 (Kuder & Richardson 1937), so that the SEM
``sd · √(1 − KR-20)`` uses one and the same spread.

>>> correct = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0]])
>>> difficulty(correct).tolist()
[0.75, 0.5, 0.25]
>>> round(kr20(correct), 4)
0.75
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "OPTIONS",
    "BLANK_CODE",
    "MULTIPLE_CODE",
    "CATEGORIES",
    "GROUP_FRACTION",
    "encode_choices",
    "difficulty",
    "rest_point_biserial",
    "extreme_groups",
    "discrimination_index",
    "option_counts",
    "kr20",
    "standard_error_of_measurement",
    "ScoreSummary",
    "summarise_scores",
    "histogram",
]

#: The answer options of an item, in code order 0–4.
OPTIONS: tuple[str, ...] = ("A", "B", "C", "D", "E")
#: Code of an item left blank.
BLANK_CODE = len(OPTIONS)
#: Code of an item with more than one mark.
MULTIPLE_CODE = len(OPTIONS) + 1
#: Column names of :func:`option_counts`: A–E, blank, multiple.
CATEGORIES: tuple[str, ...] = (*OPTIONS, "blank", "multiple")

#: Share of sheets in each of the upper and lower groups: Kelley's (1939) 27 %,
#: which maximises the difference between the groups for a normal score
#: distribution.
GROUP_FRACTION = 0.27


def encode_choices(answers: list[list[str]] | list[tuple[str, ...]], items: int) -> np.ndarray:
    """Answer strings as read (``"C"``, ``""``, ``"*"``) to a choice-code matrix.

    Parameters
    ----------
    answers : list of sequences of str
        One sequence per sheet; items missing at the end count as blank, a
        letter outside A–E as a multiple mark (it cannot be a single option).
    items : int
        Columns of the result.

    Returns
    -------
    (S, items) ndarray of int8

    >>> encode_choices([["A", "", "*"], ["E"]], 3).tolist()
    [[0, 5, 6], [4, 5, 5]]
    """
    codes = {letter: code for code, letter in enumerate(OPTIONS)}
    codes[""] = BLANK_CODE
    out = np.full((len(answers), items), BLANK_CODE, dtype=np.int8)
    for s, row in enumerate(answers):
        for i, mark in enumerate(row[:items]):
            out[s, i] = codes.get(mark, MULTIPLE_CODE)
    return out


def difficulty(correct: np.ndarray) -> np.ndarray:
    """Difficulty index *p* of each item: the share of sheets that got it right.

    Parameters
    ----------
    correct : (S, I) ndarray of bool or {0, 1}

    Returns
    -------
    (I,) ndarray of float64
        In [0, 1]; ``nan`` for every item when there is no sheet.
    """
    matrix = np.asarray(correct, dtype=np.float64)
    if matrix.shape[0] == 0:
        return np.full(matrix.shape[1], np.nan)
    return matrix.mean(axis=0)


def _pearson_columns(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson's r of each column of ``x`` with the same column of ``y``; ``nan`` if constant."""
    dx = x - x.mean(axis=0)
    dy = y - y.mean(axis=0)
    sxx = (dx * dx).sum(axis=0)
    syy = (dy * dy).sum(axis=0)
    sxy = (dx * dy).sum(axis=0)
    denominator = np.sqrt(sxx * syy)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = sxy / denominator
    # Rounding can leave a constant column a tiny nonzero spread; treat as constant.
    constant = (sxx <= _CONSTANT_TOLERANCE) | (syy <= _CONSTANT_TOLERANCE)
    r = np.where(constant, np.nan, r)
    return np.clip(r, -1.0, 1.0)


# Sum of squared deviations at or below this is a constant column (the values
# are item scores and counts: exact small integers, so any real spread is ≥ 1/S).
_CONSTANT_TOLERANCE = 1e-12


def rest_point_biserial(correct: np.ndarray) -> np.ndarray:
    """Point-biserial correlation of each item with the rest score.

    The rest score of item *i* is the sheet's total without item *i*
    ("corrected item-total correlation"), so an item is not correlated with
    itself.

    Parameters
    ----------
    correct : (S, I) ndarray of bool or {0, 1}

    Returns
    -------
    (I,) ndarray of float64
        In [-1, 1]; ``nan`` where the item or its rest score is the same on
        every sheet (all right, nobody right, one sheet).
    """
    matrix = np.asarray(correct, dtype=np.float64)
    if matrix.shape[0] < 2:
        return np.full(matrix.shape[1], np.nan)
    rest = matrix.sum(axis=1, keepdims=True) - matrix
    return _pearson_columns(matrix, rest)


def extreme_groups(
    totals: np.ndarray, fraction: float = GROUP_FRACTION
) -> tuple[np.ndarray, np.ndarray]:
    """The upper and lower groups: the ``fraction`` of sheets with the highest and lowest totals.

    Each group holds ``round(fraction · S)`` sheets, at least one when
    there are two sheets or more (none with fewer).  Ties at a group's edge
    are broken by sheet order, so the groups always have the same size.

    Parameters
    ----------
    totals : (S,) ndarray
        Total (or score) of each sheet.

    Returns
    -------
    upper, lower : (S,) ndarray of bool
        Membership masks; they never overlap.

    >>> upper, lower = extreme_groups(np.array([5, 9, 1, 7, 3, 8, 2, 6, 4, 0]))
    >>> np.flatnonzero(upper).tolist(), np.flatnonzero(lower).tolist()
    ([1, 3, 5], [2, 6, 9])
    """
    values = np.asarray(totals)
    count = values.shape[0]
    upper = np.zeros(count, dtype=bool)
    lower = np.zeros(count, dtype=bool)
    if count < 2:
        return upper, lower
    size = max(1, int(np.floor(fraction * count + 0.5)))
    order = np.argsort(values, kind="stable")
    lower[order[:size]] = True
    # Highest totals; among equal totals the later sheet, mirroring the lower group.
    upper[order[::-1][:size]] = True
    return upper, lower


def discrimination_index(correct: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Upper–lower discrimination index *D* = p(upper) − p(lower) of each item.

    Parameters
    ----------
    correct : (S, I) ndarray of bool or {0, 1}
    totals : (S,) ndarray
        What the groups are formed on (the total score).

    Returns
    -------
    (I,) ndarray of float64
        In [-1, 1]; ``nan`` with fewer than two sheets.
    """
    matrix = np.asarray(correct, dtype=np.float64)
    upper, lower = extreme_groups(totals)
    if not upper.any():
        return np.full(matrix.shape[1], np.nan)
    return matrix[upper].mean(axis=0) - matrix[lower].mean(axis=0)


def option_counts(choices: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """How many sheets marked each option of each item (distractor analysis).

    Parameters
    ----------
    choices : (S, I) ndarray of int8
        Codes as made by :func:`encode_choices`.
    mask : (S,) ndarray of bool, optional
        Count only these sheets (e.g. the upper group).

    Returns
    -------
    (I, 7) ndarray of int64
        Columns in :data:`CATEGORIES` order: A, B, C, D, E, blank, multiple.
    """
    codes = np.asarray(choices)
    if mask is not None:
        codes = codes[np.asarray(mask, dtype=bool)]
    n_categories = len(CATEGORIES)
    items = codes.shape[1]
    # One bincount over (item, code) pairs instead of a loop per item.
    flat = (np.arange(items)[None, :] * n_categories + codes.astype(np.int64)).ravel()
    return np.bincount(flat, minlength=items * n_categories).reshape(items, n_categories)


def kr20(correct: np.ndarray) -> float:
    """Kuder–Richardson formula 20: the reliability of a test of right/wrong items.

    KR-20 = k/(k−1) · (1 − Σ pᵢqᵢ / σ²), with *k* items, *pᵢ* the difficulty
    of item *i*, *qᵢ* = 1 − *pᵢ* and σ² the population variance of the totals.

    Parameters
    ----------
    correct : (S, I) ndarray of bool or {0, 1}

    Returns
    -------
    float
        At most 1 (it can be negative); ``nan`` with fewer than two items,
        fewer than two sheets, or when every sheet has the same total.
    """
    matrix = np.asarray(correct, dtype=np.float64)
    sheets, items = matrix.shape
    if items < 2 or sheets < 2:
        return float("nan")
    totals = matrix.sum(axis=1)
    variance = float(totals.var())
    if variance <= _CONSTANT_TOLERANCE:
        return float("nan")
    p = matrix.mean(axis=0)
    return float(items / (items - 1) * (1.0 - float((p * (1.0 - p)).sum()) / variance))


def standard_error_of_measurement(sd: float, reliability: float) -> float:
    """SEM = sd · √(1 − reliability), in the unit of ``sd``.

    A reliability above 1 cannot occur; one below 0 (possible for KR-20 on
    a poor test) gives an SEM above the sd, as the formula says.  ``nan``
    when either is ``nan``.

    >>> standard_error_of_measurement(2.0, 0.75)
    1.0
    """
    if np.isnan(sd) or np.isnan(reliability):
        return float("nan")
    return float(sd * np.sqrt(max(0.0, 1.0 - reliability)))


@dataclass(frozen=True)
class ScoreSummary:
    """Distribution of a group's scores (``nan`` everywhere when there is no score)."""

    count: int
    mean: float
    median: float
    sd: float
    minimum: float
    maximum: float


def summarise_scores(scores: np.ndarray) -> ScoreSummary:
    """Count, mean, median, population sd, min and max of ``scores`` ((S,) float).

    >>> summary = summarise_scores(np.array([5.0, 7.5, 10.0]))
    >>> summary.count, summary.mean, summary.median, round(summary.sd, 4), summary.maximum
    (3, 7.5, 7.5, 2.0412, 10.0)
    """
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        nan = float("nan")
        return ScoreSummary(0, nan, nan, nan, nan, nan)
    return ScoreSummary(
        count=int(values.size),
        mean=float(values.mean()),
        median=float(np.median(values)),
        sd=float(values.std()),
        minimum=float(values.min()),
        maximum=float(values.max()),
    )


def histogram(
    scores: np.ndarray, *, low: float, high: float, width: float
) -> tuple[np.ndarray, np.ndarray]:
    """Counts of ``scores`` in bins of ``width`` from ``low`` to ``high``.

    Bins are half-open ``[a, a + width)`` except the last, which includes
    ``high`` (a perfect score lands in the top bin).  Scores outside
    ``[low, high]`` are not counted.

    Returns
    -------
    counts : (B,) ndarray of int64
    edges : (B + 1,) ndarray of float64

    >>> histogram(np.array([0.0, 2.5, 9.75, 10.0]), low=0, high=10, width=5)[0].tolist()
    [2, 2]
    """
    bins = int(round((high - low) / width))
    edges = low + width * np.arange(bins + 1, dtype=np.float64)
    counts, _ = np.histogram(np.asarray(scores, dtype=np.float64), bins=edges)
    return counts.astype(np.int64), edges
