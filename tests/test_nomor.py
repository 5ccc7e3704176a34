"""The nomor peserta: written forms and the Luhn check digit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ljun.nomor import (
    NomorPesertaError,
    format_nomor_peserta,
    luhn_check_digit,
    luhn_valid,
    normalise_nomor_peserta,
    parse_nomor_peserta,
)

bodies = st.text(alphabet="0123456789", min_size=13, max_size=13)


@given(bodies)
def test_check_digit_makes_a_valid_number(body):
    assert luhn_valid(body + luhn_check_digit(body))


@given(bodies, st.integers(0, 12), st.integers(1, 9))
def test_any_single_wrong_digit_is_caught(body, position, change):
    number = body + luhn_check_digit(body)
    wrong = number[:position] + str((int(number[position]) + change) % 10) + number[position + 1 :]
    assert not luhn_valid(wrong)


@given(bodies)
def test_written_form_round_trips(body):
    digits = body + "0"
    written = format_nomor_peserta(digits)
    assert written.count("-") == 6 and len(written) == 20
    assert normalise_nomor_peserta(written) == written
    assert parse_nomor_peserta(written).digits == digits


def test_unreadable_digits_keep_their_place():
    assert format_nomor_peserta("4120501045?127") == "4-12-05-01-045-?12-7"


@pytest.mark.parametrize(
    "text", ["4-12-05-01-045-?12-7", "4120501045012", "4-1205-01-045-012-7", "abc"]
)
def test_not_a_nomor_peserta(text):
    with pytest.raises(NomorPesertaError):
        parse_nomor_peserta(text)


def test_luhn_refuses_non_digits():
    assert not luhn_valid("7992739871?")
