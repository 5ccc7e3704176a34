"""Hostile answer keys and inputs: a clear message, never a traceback, never the key (issue 10)."""

from __future__ import annotations

import json

import pytest

from ljun.cli import EXIT_USAGE

# A key's answers: what must never appear in an error message.
_ANSWERS = list("BDACE" * 8)
_SECRET = "BDACEBDACE"

# Nesting far beyond Python's recursion limit.
_DEEP = 100_000


def _score_with_key(run_cli, tmp_path, document_text: str):
    key = tmp_path / "paketA.json"
    key.write_text(document_text, "utf-8")
    (tmp_path / "a.tif").write_bytes(b"")
    return run_cli("score", tmp_path / "a.tif", "--key", key, "--db", tmp_path / "s.sqlite")


def test_deeply_nested_key_is_a_clear_error(run_cli, tmp_path):
    """Regression: a 100,000-deep nested key JSON ended in a RecursionError traceback."""
    text = '{"paket": "A", "answers": ' + "[" * _DEEP + "]" * _DEEP + "}"
    result = _score_with_key(run_cli, tmp_path, text)
    assert result.exit_code == EXIT_USAGE
    assert "nested too deeply" in result.stderr and "paketA.json" in result.stderr
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr


@pytest.mark.parametrize(
    "document",
    [
        {"paket": "A", "answers": "".join(_ANSWERS)},  # a string instead of a list
        {"paket": "A", "answers": [_ANSWERS]},  # the list nested once too often
        [{"paket": "A", "answers": _ANSWERS}],  # a list of keys
        {"paket": "A", "answers": _ANSWERS + _ANSWERS * 3},  # too many answers
        {"paket": "A", "answers": _ANSWERS, "cancelled": _ANSWERS},
    ],
)
def test_key_errors_never_print_the_answers(run_cli, tmp_path, document):
    """Regression: two key-error messages printed the whole (confidential) answer key."""
    result = _score_with_key(run_cli, tmp_path, json.dumps(document))
    assert result.exit_code == EXIT_USAGE
    assert "paketA.json" in result.stderr
    flat = result.stderr.replace("'", "").replace('"', "").replace(", ", "").replace(",", "")
    assert _SECRET not in flat, result.stderr


def test_deeply_nested_theory_results_line_is_a_clear_error(run_cli, tmp_path):
    results = tmp_path / "hasil.jsonl"
    results.write_text("[" * _DEEP + "]" * _DEEP + "\n", "utf-8")
    praktik = tmp_path / "praktik.csv"
    praktik.write_text("nomor_peserta,nama,kode_kompetensi,nilai_praktik\n", "utf-8")
    result = run_cli("grade", "--results", results, "--praktik", praktik)
    assert result.exit_code == EXIT_USAGE
    assert "nested too deeply" in result.stderr and "Traceback" not in result.stderr
