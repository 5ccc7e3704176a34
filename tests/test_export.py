"""Exports: CSV and JSONL with exactly the design keys, XLSX for offices, atomic writes."""

from __future__ import annotations

import csv
import json
import tempfile
from decimal import Decimal

import openpyxl
import pytest
from _score_helpers import nomor, record_of

from ljun.export import ExportError, export_records, write_csv, write_jsonl, write_xlsx
from ljun.records import RESULT_KEYS


def _records():
    return [
        record_of(source="env1.tif", page=1, paket="A", correct=30, score=Decimal("7.50")),
        record_of(
            source="env1.tif",
            page=2,
            paket="B",
            nomor_peserta=nomor(2),
            answers=["A", "", "*"] + ["B"] * 37,
            correct=33,
            score=Decimal("8.25"),
            flags=["faint_mark"],
            review=True,
        ),
        record_of(
            source="env1.tif",
            page=3,
            paket="",
            nomor_peserta="",
            nama="",
            tanggal_lahir="",
            kode_kompetensi="",
            barcode="",
            answers=[],
            correct=None,
            score=None,
            flags=["blank_page"],
            review=True,
        ),
        record_of(
            source="env2.pdf",
            page=1,
            paket="S",
            nama='SITI, AMINAH "S"',
            correct=40,
            score=Decimal("10.00"),
        ),
    ]


def test_csv_has_exactly_the_design_columns(tmp_path):
    path = tmp_path / "results.csv"
    assert write_csv(_records(), path) == 4
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == RESULT_KEYS
    first = dict(zip(rows[0], rows[1]))
    assert first["score"] == "7.50" and first["correct"] == "30" and first["review"] == "false"
    assert json.loads(first["answers"]) == record_of()["answers"]
    second = dict(zip(rows[0], rows[2]))
    assert second["answers"].startswith('["A","","*",')
    assert second["flags"] == '["faint_mark"]' and second["review"] == "true"
    blank = dict(zip(rows[0], rows[3]))
    assert blank["score"] == "" and blank["correct"] == "" and blank["answers"] == "[]"
    assert dict(zip(rows[0], rows[4]))["nama"] == 'SITI, AMINAH "S"'


def test_csv_with_indonesian_decimal_comma(tmp_path):
    path = tmp_path / "results.csv"
    write_csv(_records(), path, comma=True)
    with open(path, newline="", encoding="utf-8") as handle:
        scores = [row["score"] for row in csv.DictReader(handle)]
    assert scores == ["7,50", "8,25", "", "10,00"]


def test_jsonl_keys_in_order_and_scores_with_two_decimals(tmp_path):
    path = tmp_path / "results.jsonl"
    assert write_jsonl(_records(), path) == 4
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4
    assert '"score": 7.50,' in lines[0] and '"score": 10.00,' in lines[3]
    decoded = [json.loads(line) for line in lines]
    assert all(tuple(d) == RESULT_KEYS for d in decoded)
    assert [d["score"] for d in decoded] == [7.5, 8.25, None, 10.0]
    assert decoded[1]["answers"][:3] == ["A", "", "*"] and decoded[1]["review"] is True
    assert decoded[2]["correct"] is None and decoded[3]["nama"] == 'SITI, AMINAH "S"'


def test_xlsx_has_a_summary_and_one_sheet_per_paket(tmp_path):
    path = tmp_path / "results.xlsx"
    assert write_xlsx(_records(), path) == 4
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Ringkasan", "Paket A", "Paket B", "Tanpa paket", "Paket Susulan"]
    paket_a = list(book["Paket A"].iter_rows(values_only=True))
    assert paket_a[0] == RESULT_KEYS
    score_cell = book["Paket A"].cell(row=2, column=RESULT_KEYS.index("score") + 1)
    assert score_cell.value == 7.5 and score_cell.number_format == "0.00"
    b_row = dict(zip(RESULT_KEYS, list(book["Paket B"].iter_rows(values_only=True))[1]))
    assert b_row["answers"].startswith("A-*B") and b_row["flags"] == "faint_mark"
    summary = list(book["Ringkasan"].iter_rows(values_only=True))
    assert summary[0][0] == "Paket"
    by_name = {row[0]: row for row in summary[1:]}
    assert by_name["Paket A"][1:4] == (1, 1, 0)
    assert by_name["Tanpa paket"][1:4] == (1, 0, 1)
    assert by_name["Jumlah"][1:4] == (4, 3, 2)


@pytest.fixture(autouse=True)
def temporary_files_in_tmp_path(tmp_path, monkeypatch):
    """openpyxl streams sheets through temporary files: keep them in tmp_path, where
    the tests below check that none is left behind."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".xlsx"])
def test_failure_mid_write_leaves_no_partial_file(tmp_path, suffix):
    path = tmp_path / f"results{suffix}"

    def failing_records():
        yield from _records()[:2]
        raise RuntimeError("store went away")

    with pytest.raises(RuntimeError, match="store went away"):
        export_records(failing_records(), path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".xlsx"])
def test_failure_mid_write_keeps_the_previous_file(tmp_path, suffix):
    path = tmp_path / f"results{suffix}"
    export_records(_records(), path)
    before = path.read_bytes()

    def failing_records():
        yield _records()[0]
        raise KeyError("answers")

    with pytest.raises(KeyError):
        export_records(failing_records(), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_record_missing_a_key_fails_before_the_file_appears(tmp_path):
    broken = _records()
    del broken[1]["flags"]
    with pytest.raises(KeyError):
        write_csv(broken, tmp_path / "results.csv")
    assert not (tmp_path / "results.csv").exists()


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(ExportError, match=r"results\.txt: cannot write \.txt"):
        export_records(_records(), tmp_path / "results.txt")
