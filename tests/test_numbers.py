"""Half-up rounding, score parsing and formatting (ljun.numbers)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ljun.errors import LjunError, ScoresFileError
from ljun.numbers import ScoreFormatError, format_score, parse_score, round_half_up

# Scores on the 0–10 scale with 2 decimals, as hundredths.
hundredths = st.integers(min_value=0, max_value=1000)


def _half_up_thousandths(thousandths: int) -> Decimal:
    """Reference: round a non-negative number of thousandths to hundredths, half up."""
    return Decimal((thousandths + 5) // 10) / 100


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8.265", "8.27"),  # Lampiran 3, semester 5 mean (16.53 / 2)
        ("2.675", "2.68"),
        ("1.005", "1.01"),
        ("7.5275", "7.53"),  # Lampiran 3, semester 4 mean (30.11 / 4)
        ("7.944", "7.94"),
        ("7.502", "7.50"),
        ("0.005", "0.01"),
        ("9.995", "10.00"),
        ("7", "7.00"),
    ],
)
def test_round_half_up_edge_cases_from_text(value: str, expected: str) -> None:
    assert round_half_up(value) == Decimal(expected)
    assert str(round_half_up(value)) == expected


@pytest.mark.parametrize(("value", "expected"), [(8.265, "8.27"), (2.675, "2.68"), (1.005, "1.01")])
def test_round_half_up_float_input_means_the_typed_value(value: float, expected: str) -> None:
    assert round_half_up(value) == Decimal(expected)


@pytest.mark.parametrize(("value", "expected"), [(2.675, "2.68"), (1.005, "1.01")])
def test_round_half_up_where_builtin_round_is_wrong(value: float, expected: str) -> None:
    # Binary 2.675 is 2.67499…, so round() goes down; the guide's half up goes up.
    assert round(value, 2) < float(expected)
    assert round_half_up(value) == Decimal(expected)


def test_round_half_up_negative_rounds_halves_away_from_zero() -> None:
    assert round_half_up("-2.675") == Decimal("-2.68")


def test_round_half_up_other_places() -> None:
    assert round_half_up("7.45", 1) == Decimal("7.5")
    assert round_half_up(Decimal("7.5"), 0) == Decimal("8")


@pytest.mark.parametrize("value", ["abc", "", "nan", "Infinity", "7,5"])
def test_round_half_up_rejects_non_numbers(value: str) -> None:
    with pytest.raises(ScoreFormatError):
        round_half_up(value)


@pytest.mark.parametrize("value", [True, None, [1]])
def test_round_half_up_rejects_other_types(value: object) -> None:
    with pytest.raises(TypeError):
        round_half_up(value)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=10**12))
def test_round_half_up_matches_integer_reference(thousandths: int) -> None:
    text = str(Decimal(thousandths) / 1000)
    assert round_half_up(text) == _half_up_thousandths(thousandths)


@given(st.integers(min_value=0, max_value=10**6))
def test_round_half_up_float_path_matches_integer_reference(thousandths: int) -> None:
    assert round_half_up(thousandths / 1000) == _half_up_thousandths(thousandths)


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-1000, max_value=1000)
)
def test_round_half_up_is_idempotent_and_close(value: Decimal) -> None:
    once = round_half_up(value)
    assert round_half_up(once) == once
    assert abs(once - value) <= Decimal("0.005")
    assert once.as_tuple().exponent == -2


def test_round_half_up_huge_number_keeps_every_digit() -> None:
    big = "1" * 40 + ".125"
    assert str(round_half_up(big)) == "1" * 40 + ".13"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7,50", "7.50"),
        ("7.50", "7.50"),
        ("7,5", "7.5"),
        ("10", "10"),
        (" 0,25 ", "0.25"),
        ("0", "0"),
    ],
)
def test_parse_score_accepts_comma_and_point(text: str, expected: str) -> None:
    assert parse_score(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "abc",
        "7,5,0",
        "1.234,5",
        "-1",
        "+7",
        "1e1",
        "7.",
        ",5",
        "NaN",
        "10,01",
        "11",
        "7,505",
        "7 5",
    ],
)
def test_parse_score_rejects_junk(text: str) -> None:
    with pytest.raises(ScoreFormatError) as caught:
        parse_score(text)
    # Callers may catch the file-error family or the built-in.
    assert isinstance(caught.value, ScoresFileError)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, LjunError)


def test_parse_score_message_quotes_the_text() -> None:
    with pytest.raises(ScoreFormatError, match="'7,5,0'"):
        parse_score("7,5,0")


def test_parse_score_other_scale() -> None:
    assert parse_score("85", maximum=Decimal(100)) == Decimal(85)
    assert parse_score("7,125", places=3) == Decimal("7.125")


@pytest.mark.parametrize(
    ("value", "comma", "expected"),
    [
        (Decimal("7.5"), False, "7.50"),
        (Decimal("7.5"), True, "7,50"),
        (Decimal("10"), True, "10,00"),
        (Decimal("0"), False, "0.00"),
        (Decimal("8.265"), False, "8.27"),
    ],
)
def test_format_score_always_two_decimals(value: Decimal, comma: bool, expected: str) -> None:
    assert format_score(value, comma=comma) == expected


@given(hundredths, st.booleans())
def test_format_then_parse_round_trips(score_hundredths: int, comma: bool) -> None:
    score = Decimal(score_hundredths) / 100
    text = format_score(score, comma=comma)
    assert ("," in text) is comma
    assert len(text.replace(",", ".").split(".")[1]) == 2
    assert parse_score(text) == score
