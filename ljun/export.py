"""Exports of result records: CSV, JSONL and XLSX, each written atomically.

CSV and JSONL carry exactly the keys of ARCHITECTURE.md §3
(:data:`ljun.records.RESULT_KEYS`, in that order):

- CSV: ``answers`` and ``flags`` are JSON lists (``["A","","*"]``),
  ``review`` is ``true``/``false``, ``score`` is ``7.50`` (``7,50`` with
  ``comma=True``), an unscored sheet has empty ``correct`` and ``score``.
- JSONL: one JSON object per line; ``score`` is a JSON number written with 2
  decimals (``7.50``) or ``null``.
- XLSX, for offices: a ``Ringkasan`` (summary) sheet, then one sheet per
  paket (``Paket A``, ``Paket B``, ``Paket Susulan``, and ``Tanpa paket`` for
  sheets whose paket was not read).  Scores are number cells shown with two
  decimals, so a spreadsheet set to Indonesian shows ``7,50`` and can still
  sum them; ``comma`` does not change them.

Every text cell from outside (names, file paths, reasons) is written as text:
neutralised in CSV (a leading ``'`` before ``=``, ``+``, ``-``, ``@``, tab or
carriage return, as OWASP recommends for "CSV injection") and typed as a
string in XLSX, never a formula (:mod:`ljun._safe`); numbers stay numbers.
JSONL is JSON, never read as formulas, and carries the text unchanged.

Every writer consumes its records one at a time (memory stays flat) and
writes through :func:`ljun._io.atomic_write`: a failure half-way leaves no
partial file, and an existing file is replaced only when the new one is
complete.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from ._io import atomic_write, output_error
from ._safe import csv_text, xlsx_text_cell
from .errors import LjunError
from .keys import PAKET_NAMES, PAKETS
from .numbers import format_score, round_half_up
from .records import RESULT_KEYS

__all__ = [
    "EXPORT_FORMATS",
    "ExportError",
    "csv_row",
    "json_line",
    "write_csv",
    "write_jsonl",
    "write_xlsx",
    "export_records",
    "format_mean",
    "save_workbook",
]

#: Output suffixes and the format each selects.
EXPORT_FORMATS: dict[str, str] = {".csv": "csv", ".jsonl": "jsonl", ".xlsx": "xlsx"}

# Sheet names of the XLSX export (Excel allows at most 31 characters).
_SUMMARY_SHEET = "Ringkasan"
_NO_PAKET_SHEET = "Tanpa paket"

# Excel number format of a score cell: two decimals, separator from the viewer's locale.
_SCORE_NUMBER_FORMAT = "0.00"


class ExportError(LjunError, ValueError):
    """An export was asked for in a format ljun does not write."""


def csv_row(record: Mapping[str, Any], *, comma: bool = False) -> list[str]:
    """One result record as CSV cells, in :data:`RESULT_KEYS` order.

    >>> csv_row({"source": "a.tif", "page": 1, "template": "t", "nomor_peserta": "",
    ...          "nama": "", "tanggal_lahir": "", "kode_kompetensi": "", "paket": "A",
    ...          "barcode": "", "answers": ["A", "*"], "correct": 1,
    ...          "score": Decimal("5"), "flags": [], "review": False}, comma=True)[9:]
    ['["A","*"]', '1', '5,00', '[]', 'false']
    """
    cells = []
    for name in RESULT_KEYS:
        value = record[name]
        if name in ("answers", "flags"):
            cells.append(json.dumps(list(value), ensure_ascii=False, separators=(",", ":")))
        elif name == "review":
            cells.append("true" if value else "false")
        elif name == "score":
            cells.append("" if value is None else format_score(value, comma=comma))
        elif value is None:
            cells.append("")
        elif isinstance(value, str):
            cells.append(csv_text(value))  # names, file paths: never a formula
        else:
            cells.append(str(value))
    return cells


def json_line(record: Mapping[str, Any]) -> str:
    """One result record as a line of JSON (no newline), keys in :data:`RESULT_KEYS` order.

    >>> json_line({"source": "a.tif", "page": 1, "template": "t", "nomor_peserta": "",
    ...            "nama": "", "tanggal_lahir": "", "kode_kompetensi": "", "paket": "A",
    ...            "barcode": "", "answers": [], "correct": 3, "score": Decimal("7.5"),
    ...            "flags": [], "review": False})[-58:]
    '"correct": 3, "score": 7.50, "flags": [], "review": false}'
    """
    members = []
    for name in RESULT_KEYS:
        value = record[name]
        if name == "score" and value is not None:
            # A Decimal is not JSON-encodable, and a float would lose the
            # trailing zero: write the exact 2-decimal text as the number.
            text = format_score(value)
        else:
            text = json.dumps(
                list(value) if name in ("answers", "flags") else value, ensure_ascii=False
            )
        members.append(f"{json.dumps(name)}: {text}")
    return "{" + ", ".join(members) + "}"


def write_csv(
    records: Iterable[Mapping[str, Any]], path: str | os.PathLike[str], *, comma: bool = False
) -> int:
    """Write result records to a CSV file (header = :data:`RESULT_KEYS`); return the row count."""
    rows = 0
    with atomic_write(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(RESULT_KEYS)
        for record in records:
            writer.writerow(csv_row(record, comma=comma))
            rows += 1
    return rows


def write_jsonl(records: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write result records as JSON Lines; return the record count."""
    rows = 0
    with atomic_write(path, "w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            handle.write(json_line(record) + "\n")
            rows += 1
    return rows


def _paket_sheet(paket: str) -> str:
    return PAKET_NAMES[paket] if paket in PAKETS else _NO_PAKET_SHEET


def write_xlsx(records: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write an office workbook: a summary sheet, then one sheet per paket.

    Each paket sheet has the columns of :data:`RESULT_KEYS`; answers and
    flags are written as text (answers as a 40-letter string with ``-`` for
    blank and ``*`` for multiple, flags comma-separated).  Returns the
    number of records written.

    The workbook is built in openpyxl's write-only mode, which streams each
    sheet through a temporary file (memory stays flat); on failure those
    temporary files are removed and ``path`` is left as it was.
    """
    from openpyxl import Workbook  # imported here: only this export needs it

    workbook = Workbook(write_only=True)
    try:
        rows = _fill_workbook(workbook, records)
        with atomic_write(path, "wb") as handle:
            save_workbook(workbook, handle)
    except OSError as exc:
        _discard(workbook)
        # openpyxl streams each sheet through a temporary file first: a full
        # temporary folder fails here, before atomic_write could say so.
        if isinstance(exc, LjunError):
            raise
        raise output_error(path, exc) from None
    except BaseException:
        _discard(workbook)
        raise
    return rows


def _fill_workbook(workbook: Any, records: Iterable[Mapping[str, Any]]) -> int:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    bold = Font(bold=True)

    def header_row(sheet: Any, titles: Iterable[str]) -> list[Any]:
        cells = []
        for title in titles:
            cell = WriteOnlyCell(sheet, value=title)
            cell.font = bold
            cells.append(cell)
        return cells

    def score_cell(sheet: Any, value: Decimal) -> Any:
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = _SCORE_NUMBER_FORMAT
        return cell

    summary_sheet = workbook.create_sheet(_SUMMARY_SHEET)
    sheets: dict[str, Any] = {}
    counts: Counter[str] = Counter()
    scored: Counter[str] = Counter()
    review: Counter[str] = Counter()
    totals: defaultdict[str, Decimal] = defaultdict(Decimal)
    rows = 0
    for record in records:
        name = _paket_sheet(record["paket"])
        sheet = sheets.get(name)
        if sheet is None:
            sheet = sheets[name] = workbook.create_sheet(name)
            sheet.append(header_row(sheet, RESULT_KEYS))
        row: list[Any] = []
        for title in RESULT_KEYS:
            value = record[title]
            if title == "answers":
                value = "".join(a if a else "-" for a in value)
            elif title == "flags":
                value = ", ".join(value)
            elif title == "score" and value is not None:
                value = score_cell(sheet, Decimal(value))
            row.append(xlsx_text_cell(sheet, value) if isinstance(value, str) else value)
        sheet.append(row)
        counts[name] += 1
        review[name] += bool(record["review"])
        if record["score"] is not None:
            scored[name] += 1
            totals[name] += Decimal(record["score"])
        rows += 1

    summary_sheet.append(
        header_row(
            summary_sheet, ("Paket", "Lembar", "Dinilai", "Perlu diperiksa", "Rata-rata nilai")
        )
    )
    order = [PAKET_NAMES[p] for p in PAKETS] + [_NO_PAKET_SHEET]
    for name in (n for n in order if n in counts):
        mean = None
        if scored[name]:
            mean = score_cell(summary_sheet, format_mean(totals[name], scored[name]))
        summary_sheet.append([name, counts[name], scored[name], review[name], mean])
    summary_sheet.append(["Jumlah", rows, sum(scored.values()), sum(review.values()), None])
    return rows


def save_workbook(workbook: Any, handle: IO[bytes]) -> None:
    """``workbook.save(handle)``, leaving nothing behind when writing fails.

    openpyxl leaves its zip archive open when a write fails (disk full); the
    archive then tries to finish itself into the closed file when it is
    collected and prints a stray traceback after the one-line error.  Here a
    failed archive is detached from the file first: the file is discarded
    anyway (:func:`~ljun._io.atomic_write`).
    """
    from zipfile import ZIP_DEFLATED, ZipFile

    from openpyxl.writer.excel import ExcelWriter

    archive = ZipFile(handle, "w", ZIP_DEFLATED, allowZip64=True)
    try:
        ExcelWriter(workbook, archive).save()  # closes the archive when done
    except BaseException:
        archive.fp = None  # ZipFile.close() then does nothing
        raise


def _discard(workbook: Any) -> None:
    # Close every write-only sheet (its row generator and XML stream) and
    # remove its temporary file; openpyxl would otherwise leave the file
    # until exit and complain when the half-written stream is collected.
    for sheet in workbook.worksheets:
        if not sheet.closed:
            sheet.close()
        writer = getattr(sheet, "_writer", None)
        if writer is not None and os.path.exists(writer.out):
            writer.cleanup()


def format_mean(total: Decimal, count: int) -> Decimal:
    """``total / count`` rounded half up to 2 decimals (a mean score)."""
    return round_half_up(total / Decimal(count))


def export_records(
    records: Iterable[Mapping[str, Any]], path: str | os.PathLike[str], *, comma: bool = False
) -> int:
    """Write records in the format named by ``path``'s suffix; return the count.

    Raises
    ------
    ExportError
        When the suffix is not one of :data:`EXPORT_FORMATS`.
    """
    suffix = Path(path).suffix.lower()
    fmt = EXPORT_FORMATS.get(suffix)
    if fmt == "csv":
        return write_csv(records, path, comma=comma)
    if fmt == "jsonl":
        return write_jsonl(records, path)
    if fmt == "xlsx":
        return write_xlsx(records, path)
    raise ExportError(
        f"output {os.fspath(path)}: cannot write {suffix or 'a file without suffix'} "
        f"(fix: end the name in {', '.join(EXPORT_FORMATS)})"
    )
