"""Scoring a reading: counts, half-up rounding, key choice, flags, the record."""

from __future__ import annotations

from decimal import Decimal

import pytest
from _score_helpers import KEY_A, KODE, answers_with, key_set, make_key, make_reading
from hypothesis import given
from hypothesis import strategies as st

from ljun.keys import AnswerKeySet
from ljun.records import RESULT_KEYS
from ljun.score import count_correct, score_sheet, score_value, with_flags


@pytest.mark.parametrize(
    ("correct", "items", "expected"),
    [
        (40, 40, "10.00"),
        (0, 40, "0.00"),
        (30, 40, "7.50"),
        (33, 40, "8.25"),
        (1, 16, "0.63"),  # 0.625: an exact half, up (banker's rounding gives 0.62)
        (3, 16, "1.88"),  # 1.875
        (5, 16, "3.13"),  # 3.125
        (13, 16, "8.13"),  # 8.125
        (1, 80, "0.13"),  # 0.125
        (1, 3, "3.33"),
        (2, 3, "6.67"),
        (7, 9, "7.78"),
    ],
)
def test_score_is_rounded_half_up(correct, items, expected):
    value = score_value(correct, items)
    assert value == Decimal(expected)
    assert str(value) == expected  # exactly two decimals


@given(items=st.integers(1, 200), data=st.data())
def test_score_matches_exact_rational_rounding(items, data):
    correct = data.draw(st.integers(0, items))
    # correct / items * 10 in hundredths, rounded half up, in integers only.
    hundredths = (2 * correct * 1000 + items) // (2 * items)
    assert score_value(correct, items) == Decimal(hundredths) / 100


@pytest.mark.parametrize(("correct", "items"), [(-1, 40), (41, 40), (0, 0)])
def test_impossible_counts_are_refused(correct, items):
    with pytest.raises(ValueError):
        score_value(correct, items)


def test_blank_and_multiple_marks_score_zero():
    answers = ("",) * 10 + ("*",) * 10 + KEY_A[20:]
    assert count_correct(answers, make_key("A")) == 20


def test_cancelled_item_gives_every_sheet_the_point():
    key = make_key("A", KEY_A, cancelled=[1, 2, 3])
    wrong_on_1 = ("E",) + KEY_A[1:]
    blank_on_2 = KEY_A[:1] + ("",) + KEY_A[2:]
    multi_on_3 = KEY_A[:2] + ("*",) + KEY_A[3:]
    for answers in (wrong_on_1, blank_on_2, multi_on_3, KEY_A):
        assert count_correct(answers, key) == 40


def test_item_with_several_accepted_answers():
    key = make_key("A", [["A", "C"]] + list(KEY_A[1:]))
    assert count_correct(("C",) + KEY_A[1:], key) == 40
    assert count_correct(("A",) + KEY_A[1:], key) == 40
    assert count_correct(("B",) + KEY_A[1:], key) == 39
    assert count_correct(("*",) + KEY_A[1:], key) == 39


def test_missing_answers_count_as_blank():
    key = make_key("A")
    assert count_correct(KEY_A[:10], key) == 10


def test_score_sheet_with_the_paket_key():
    for paket, correct in (("A", 30), ("B", 12), ("S", 40)):
        scored = score_sheet(make_reading(paket=paket, correct=correct), key_set())
        assert scored.key is not None and scored.key.paket == paket
        assert scored.correct == correct
        assert scored.score == score_value(correct, 40)
        assert scored.review is False and scored.flags == ()


def test_the_reading_review_and_flags_are_kept():
    reading = make_reading(flags=("faint_mark",), review=True)
    scored = score_sheet(reading, key_set())
    assert scored.score == Decimal("7.50")
    assert scored.review and scored.flags == ("faint_mark",)


def test_failed_reading_has_no_score_and_goes_to_review():
    scored = score_sheet(make_reading(failure="no_fiducials"), key_set())
    assert (scored.correct, scored.score, scored.key) == (None, None, None)
    assert scored.review and scored.flags == ("no_fiducials",)


def test_paket_without_key_goes_to_review():
    scored = score_sheet(make_reading(paket="S"), key_set("A", "B"))
    assert scored.score is None and scored.correct is None
    assert scored.review and "no_key:S" in scored.flags


@pytest.mark.parametrize(("paket", "flag"), [("", "no_paket"), ("?", "multi_mark:paket:1")])
def test_unread_paket_without_barcode_goes_to_review(paket, flag):
    scored = score_sheet(make_reading(paket=paket, barcode=""), key_set())
    assert scored.score is None and scored.review and scored.flags == (flag,)


def test_flag_the_pipeline_gave_is_not_repeated():
    reading = make_reading(paket="", barcode="", flags=("no_paket",), review=True)
    assert score_sheet(reading, key_set()).flags == ("no_paket",)


def test_unread_paket_is_taken_from_the_barcode_and_reviewed():
    reading = make_reading(paket="B", correct=20)
    reading = make_reading(paket="", answers=reading.answers, barcode="LJUN-B-000007")
    scored = score_sheet(reading, key_set())
    assert scored.key.paket == "B" and scored.correct == 20
    assert scored.review and "paket_from_barcode" in scored.flags


def test_barcode_of_another_paket_is_flagged():
    scored = score_sheet(make_reading(paket="A", barcode="LJUN-B-000001"), key_set())
    assert scored.key.paket == "A"  # the bubbled paket is scored ...
    assert scored.review and "barcode_paket_mismatch" in scored.flags  # ... and checked


def test_foreign_barcode_is_not_a_paket():
    scored = score_sheet(make_reading(barcode="TK-A-0001"), key_set())
    assert not scored.review and scored.flags == ()


def test_competency_key_wins_over_the_general_key():
    general = make_key("A")
    specific = make_key("A", ["A"] * 40, kode_kompetensi=KODE)
    keys = AnswerKeySet.from_keys([general, specific])
    answers = ("A",) * 40
    assert score_sheet(make_reading(answers=answers, kode=KODE), keys).correct == 40
    other = score_sheet(make_reading(answers=answers, kode="1014"), keys)
    assert other.key is general and other.correct == 8
    unread = score_sheet(make_reading(answers=answers, kode="60?8"), keys)
    assert unread.key is general


def test_only_competency_keys_leave_other_competencies_unscored():
    keys = AnswerKeySet.from_keys([make_key("A", kode_kompetensi=KODE)])
    scored = score_sheet(make_reading(kode="1014"), keys)
    assert scored.score is None and "no_key:A" in scored.flags


def test_unknown_kode_kompetensi_goes_to_review():
    scored = score_sheet(make_reading(kode="0000"), key_set())
    assert scored.score == Decimal("7.50")
    assert scored.review and "invalid:kode_kompetensi" in scored.flags


def test_record_has_the_design_keys():
    scored = score_sheet(make_reading(source="env1.tif", page=3, correct=33), key_set())
    record = scored.record()
    assert tuple(record) == RESULT_KEYS
    assert record["source"] == "env1.tif" and record["page"] == 3
    assert record["answers"] == list(answers_with(33))
    assert record["correct"] == 33 and record["score"] == Decimal("8.25")
    assert record["flags"] == [] and record["review"] is False


def test_with_flags_adds_once_and_sends_to_review():
    scored = score_sheet(make_reading(), key_set())
    flagged = with_flags(scored, "duplicate_barcode", "duplicate_barcode")
    assert flagged.flags == ("duplicate_barcode",) and flagged.review
    assert flagged.score == scored.score
    assert with_flags(scored) is scored
