"""Answer keys: the minimal form, richer fields, validation messages, key sets."""

from __future__ import annotations

import json

import pytest
from _score_helpers import KEY_A, KODE, key_document, make_key, write_key
from hypothesis import given
from hypothesis import strategies as st

from ljun.errors import AnswerKeyError
from ljun.keys import AnswerKeySet, load_answer_key, load_answer_keys, parse_answer_key


def test_minimal_form_is_accepted(tmp_path):
    path = write_key(tmp_path, "paketA.json", {"paket": "A", "answers": list(KEY_A)})
    key = load_answer_key(path)
    assert key.paket == "A"
    assert key.items == 40
    assert key.answers[0] == frozenset({"A"}) and key.answers[39] == frozenset({"E"})
    assert key.cancelled == frozenset() and key.kode_kompetensi is None
    assert key.source == str(path)


@pytest.mark.parametrize("spelling", ["S", "Susulan"])
def test_susulan_is_paket_s(spelling):
    assert make_key(spelling).paket == "S"


def test_rich_fields():
    key = parse_answer_key(
        key_document(
            "B",
            ["A", ["B", "C"], "D"],
            items=3,
            cancelled=[2],
            kode_kompetensi=KODE,
            title="UKK 2012",
            note="item 2 corrected",
        )
    )
    assert key.paket == "B" and key.kode_kompetensi == KODE and key.items == 3
    assert key.answers[1] == frozenset({"B", "C"})
    assert key.cancelled == frozenset({2})
    assert key.describe() == f"Paket B, kode {KODE}"


def test_bad_letter_names_file_path_and_fix(tmp_path):
    answers = list(KEY_A)
    answers[2] = "F"
    path = write_key(tmp_path, "paketA.json", key_document("A", answers))
    with pytest.raises(AnswerKeyError) as caught:
        load_answer_key(path)
    message = str(caught.value)
    assert str(path) in message
    assert "$.answers[2] (entry 3)" in message and "'F'" in message
    assert "fix: write one letter A-E" in message


def test_lower_case_letter_is_refused():
    with pytest.raises(AnswerKeyError, match=r"\$\.answers\[0\].*'a' is not an answer"):
        parse_answer_key(key_document("A", ["a", "B"]))


def test_every_problem_is_listed():
    with pytest.raises(AnswerKeyError) as caught:
        parse_answer_key({"paket": "C", "answers": ["A", "X"], "colour": "red"}, source="k.json")
    message = str(caught.value)
    assert message.startswith("answer key k.json: 3 problems:")
    assert (
        "$.paket" in message and "$.answers[1]" in message and "'colour' was unexpected" in message
    )


def test_stated_item_count_must_match_the_answers():
    with pytest.raises(AnswerKeyError, match=r"39 answers but \$\.items says 40"):
        parse_answer_key(key_document("A", KEY_A[:39], items=40), source="paketA.json")


def test_minimal_key_must_cover_every_answer_row():
    short = AnswerKeySet.from_keys(
        [parse_answer_key(key_document("A", KEY_A[:39]), source="paketA.json")]
    )
    with pytest.raises(AnswerKeyError, match=r"paketA\.json.*39 answers.*has 40 answer rows"):
        short.check_items(40)


def test_key_with_stated_fewer_items_fits_the_sheet():
    AnswerKeySet.from_keys([parse_answer_key(key_document("A", KEY_A[:30], items=30))]).check_items(
        40
    )


def test_key_longer_than_the_sheet_is_refused():
    long_key = AnswerKeySet.from_keys([parse_answer_key(key_document("A", KEY_A + ("A",)))])
    with pytest.raises(AnswerKeyError, match="41 answers.*only 40 answer rows"):
        long_key.check_items(40)


def test_cancelled_item_must_exist():
    with pytest.raises(AnswerKeyError, match=r"\$\.cancelled: item\(s\) 41 do not exist"):
        parse_answer_key(key_document("A", KEY_A, cancelled=[3, 41]))


def test_cancelled_items_are_listed_once():
    with pytest.raises(AnswerKeyError, match="list each item number once"):
        parse_answer_key(key_document("A", KEY_A, cancelled=[3, 3]))


def test_unknown_kode_kompetensi_is_refused():
    with pytest.raises(AnswerKeyError, match="'0000' is not a kode kompetensi of Lampiran 2"):
        parse_answer_key(key_document("A", KEY_A, kode_kompetensi="0000"))


def test_duplicate_paket_names_both_files(tmp_path):
    first = write_key(tmp_path, "paketA.json", key_document("A"))
    second = write_key(tmp_path, "paketA-copy.json", key_document("A", ["B"] * 40))
    with pytest.raises(AnswerKeyError) as caught:
        load_answer_keys([first, second])
    assert str(first) in str(caught.value) and str(second) in str(caught.value)
    assert "Paket A already has a key" in str(caught.value)


def test_s_and_susulan_are_the_same_paket():
    with pytest.raises(AnswerKeyError, match="Paket Susulan already has a key"):
        AnswerKeySet.from_keys([make_key("S"), make_key("Susulan")])


def test_competency_key_and_general_key_of_one_paket_coexist():
    general = make_key("A")
    specific = make_key("A", ["B"] * 40, kode_kompetensi=KODE)
    keys = AnswerKeySet.from_keys([general, specific])
    assert keys.select("A", KODE) is specific
    assert keys.select("A", "1014") is general
    assert keys.select("A", "") is general
    assert keys.select("B", KODE) is None
    assert keys.pakets() == ("A",)


def test_two_keys_for_one_competency_are_refused():
    with pytest.raises(AnswerKeyError, match=f"Paket A, kode {KODE} already has a key"):
        AnswerKeySet.from_keys(
            [make_key("A", kode_kompetensi=KODE), make_key("A", ["C"] * 40, kode_kompetensi=KODE)]
        )


def test_missing_file_is_named(tmp_path):
    with pytest.raises(AnswerKeyError, match=r"paketX\.json: no such file"):
        load_answer_key(tmp_path / "paketX.json")


def test_malformed_json_gives_line_and_column(tmp_path):
    path = tmp_path / "paketA.json"
    path.write_text('{"paket": "A",\n "answers": ["A", "B",]}', encoding="utf-8")
    with pytest.raises(AnswerKeyError, match=r"paketA\.json: not valid JSON at line 2 column"):
        load_answer_key(path)


def test_a_list_is_not_a_key():
    with pytest.raises(AnswerKeyError, match=r"at \$: a list of 2 entries is not of type 'object'"):
        parse_answer_key(["A", "B"])


def test_content_hash_ignores_layout_and_spelling(tmp_path):
    compact = write_key(tmp_path, "a.json", {"paket": "S", "answers": list(KEY_A)})
    spaced = tmp_path / "b.json"
    spaced.write_text(
        json.dumps({"answers": list(KEY_A), "paket": "Susulan", "note": "same key"}, indent=4),
        encoding="utf-8",
    )
    assert load_answer_key(compact).content_hash == load_answer_key(spaced).content_hash
    other = make_key("S", ("B",) + KEY_A[1:])
    assert other.content_hash != load_answer_key(compact).content_hash
    cancelled = make_key("S", KEY_A, cancelled=[1])
    assert cancelled.content_hash != load_answer_key(compact).content_hash


answer = st.one_of(
    st.sampled_from("ABCDE"),
    st.lists(st.sampled_from("ABCDE"), min_size=1, max_size=5, unique=True),
)


@given(
    paket=st.sampled_from(["A", "B", "S", "Susulan"]),
    answers=st.lists(answer, min_size=1, max_size=60),
    data=st.data(),
)
def test_document_round_trip(paket, answers, data):
    cancelled = data.draw(st.sets(st.integers(1, len(answers))))
    key = parse_answer_key({"paket": paket, "answers": answers, "cancelled": sorted(cancelled)})
    again = parse_answer_key(key.to_document())
    assert again.content_hash == key.content_hash
    assert (again.paket, again.answers, again.cancelled) == (key.paket, key.answers, key.cancelled)
