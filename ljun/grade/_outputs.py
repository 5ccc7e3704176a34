"""Grade lists as CSV and XLSX."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from .._io import atomic_write
from .._safe import csv_text, xlsx_text_cell
from ..export import save_workbook
from ..numbers import format_score
from ._grading import GradingReport

#: Columns of the grade list, one row per graded participant.  ``lulus_praktik``
#: is the practical pass (IX.2: Nilai Praktik >= 7.00), which decides the
#: certificate; the exam pass also depends on the national exam, decided
#: centrally.  ``sertifikat_baru`` is true when this run issued the number.
GRADE_COLUMNS: tuple[str, ...] = (
    "nomor_peserta",
    "nama",
    "kode_kompetensi",
    "kompetensi_keahlian",
    "nilai_teori",
    "nilai_praktik",
    "nilai_ukk",
    "lulus_praktik",
    "alasan",
    "nomor_sertifikat",
    "sertifikat_baru",
)

#: Columns added to the grade list when report-card data is given.
SCHOOL_GRADE_COLUMNS: tuple[str, ...] = ("nilai_rapor", "nilai_ujian_sekolah", "nilai_sekolah")

#: Columns of the summary per school and competency.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "provinsi",
    "kabupaten_kota",
    "sekolah",
    "kode_kompetensi",
    "kompetensi_keahlian",
    "peserta",
    "dinilai",
    "lulus_praktik",
    "tidak_lulus_praktik",
    "ditahan",
    "rata_teori",
    "rata_praktik",
    "rata_ukk",
)

#: Columns of the problem list.  ``nomor_sertifikat`` is the number on record
#: for the participant: reserved for a practical pass held back, or in conflict.
PROBLEM_COLUMNS: tuple[str, ...] = (
    "nomor_peserta",
    "nama",
    "kode_kompetensi",
    "masalah",
    "ditahan",
    "nomor_sertifikat",
    "keterangan",
)

# A cell is text, a whole number, an exact decimal, or empty.
Cell = str | int | Decimal | None


def grade_rows(report: GradingReport) -> list[dict[str, Cell]]:
    """One row per grade: :data:`GRADE_COLUMNS` (+ :data:`SCHOOL_GRADE_COLUMNS`).

    Scores stay Decimals (``None`` when unknown); ``lulus_praktik`` and
    ``sertifikat_baru`` are bools.
    """
    rows = []
    for g in report.grades:
        row: dict[str, Any] = {
            "nomor_peserta": g.nomor_peserta,
            "nama": g.nama,
            "kode_kompetensi": g.kode_kompetensi,
            "kompetensi_keahlian": g.kompetensi_keahlian,
            "nilai_teori": g.nilai_teori,
            "nilai_praktik": g.nilai_praktik,
            "nilai_ukk": g.nilai_ukk,
            "lulus_praktik": g.lulus_praktik,
            "alasan": g.alasan,
            "nomor_sertifikat": g.nomor_sertifikat,
            "sertifikat_baru": g.sertifikat_baru,
        }
        if report.with_school_grades:
            row["nilai_rapor"] = g.school.nilai_rapor if g.school else None
            row["nilai_ujian_sekolah"] = g.school.nilai_ujian_sekolah if g.school else None
            row["nilai_sekolah"] = g.school.nilai_sekolah if g.school else None
        rows.append(row)
    return rows


def summary_rows(report: GradingReport) -> list[dict[str, Cell]]:
    """One row per school and competency: :data:`SUMMARY_COLUMNS`."""
    return [{c: getattr(s, c) for c in SUMMARY_COLUMNS} for s in report.summary]


def problem_rows(report: GradingReport) -> list[dict[str, Cell]]:
    """One row per problem: :data:`PROBLEM_COLUMNS` (``ditahan`` is a bool)."""
    return [
        {
            "nomor_peserta": p.nomor_peserta,
            "nama": p.nama,
            "kode_kompetensi": p.kode_kompetensi,
            "masalah": str(p.kind),
            "ditahan": p.held_back,
            "nomor_sertifikat": p.nomor_sertifikat,
            "keterangan": p.detail,
        }
        for p in report.problems
    ]


def _grade_columns(report: GradingReport) -> tuple[str, ...]:
    return GRADE_COLUMNS + (SCHOOL_GRADE_COLUMNS if report.with_school_grades else ())


def _text_cell(value: Any, comma: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format_score(value, comma=comma)
    return csv_text(value) if isinstance(value, str) else str(value)


def _csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Cell]], comma: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_text_cell(row[c], comma) for c in columns])
    return out.getvalue()


def grades_csv_text(report: GradingReport, *, comma: bool = False) -> str:
    """The grade list as CSV text (bools as ``true``/``false``, scores with 2 decimals)."""
    return _csv_text(_grade_columns(report), grade_rows(report), comma)


def problems_csv_text(report: GradingReport) -> str:
    """The problem list as CSV text (:data:`PROBLEM_COLUMNS`)."""
    return _csv_text(PROBLEM_COLUMNS, problem_rows(report), comma=False)


def _write_text(path: str | Path, text: str) -> None:
    with atomic_write(path, "w", encoding="utf-8", newline="") as stream:
        stream.write(text)


def write_grades_csv(report: GradingReport, path: str | Path, *, comma: bool = False) -> None:
    """Write the grade list as CSV (UTF-8), atomically."""
    _write_text(path, grades_csv_text(report, comma=comma))


def write_problems_csv(report: GradingReport, path: str | Path) -> None:
    """Write the problem list as CSV (UTF-8), atomically."""
    _write_text(path, problems_csv_text(report))


#: Sheet names of the XLSX workbook (besides one per competency).
SUMMARY_SHEET = "Ringkasan"
PROBLEMS_SHEET = "Masalah"
RULES_SHEET = "Aturan"

# Excel's limit on sheet names, and the characters it forbids in them.
_SHEET_NAME_MAX = 31
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

# Number format of score cells: always 2 decimals, shown in the reader's locale.
_SCORE_FORMAT = "0.00"


def competency_sheet_name(kode: str, nama: str) -> str:
    """Sheet name of a competency: ``"6018 Akuntansi"``, cut to Excel's 31 characters."""
    return _SHEET_NAME_FORBIDDEN.sub(" ", f"{kode} {nama}")[:_SHEET_NAME_MAX].rstrip()


def write_grades_xlsx(report: GradingReport, path: str | Path) -> None:
    """Write the workbook, atomically.

    Sheets: ``Ringkasan`` (summary per school and competency), one sheet per
    competency (``"6018 Akuntansi"``: its grades), ``Masalah`` (problems) and
    ``Aturan`` (the rule set used).  Scores are number cells with format
    ``0.00`` (the spreadsheet shows them with the reader's decimal separator);
    ``lulus_praktik``/``sertifikat_baru``/``ditahan`` are ``ya``/``tidak``.
    """
    from openpyxl import Workbook  # imported here: only this writer needs it

    workbook = Workbook()
    summary = workbook.active
    summary.title = SUMMARY_SHEET
    _fill_sheet(summary, SUMMARY_COLUMNS, summary_rows(report))
    columns = _grade_columns(report)
    by_competency: dict[tuple[str, str], list[dict[str, Cell]]] = defaultdict(list)
    for row in grade_rows(report):
        by_competency[(str(row["kode_kompetensi"]), str(row["kompetensi_keahlian"]))].append(row)
    for (kode, nama), rows in sorted(by_competency.items()):
        _fill_sheet(workbook.create_sheet(competency_sheet_name(kode, nama)), columns, rows)
    _fill_sheet(workbook.create_sheet(PROBLEMS_SHEET), PROBLEM_COLUMNS, problem_rows(report))
    rules = workbook.create_sheet(RULES_SHEET)
    r = report.rules
    for rule in (
        ("aturan", r.name),
        ("versi", r.version),
        ("judul", r.title),
        ("sumber", r.source),
        ("semester rapor", ", ".join(map(str, r.rapor_semesters))),
        ("berkas", r.path),
    ):
        rules.append([xlsx_text_cell(rules, v) if isinstance(v, str) else v for v in rule])
    with atomic_write(path, "wb") as stream:
        save_workbook(workbook, stream)  # no stray traceback on a full disk


def _fill_sheet(sheet: Any, columns: Sequence[str], rows: Sequence[Mapping[str, Cell]]) -> None:
    # Text from outside (names, reasons) goes in as string cells, never formulas (ljun._safe).
    sheet.append(list(columns))
    for row in rows:
        cells = []
        for column in columns:
            value = row[column]
            if isinstance(value, bool):
                value = "ya" if value else "tidak"
            cells.append(xlsx_text_cell(sheet, value) if isinstance(value, str) else value)
        sheet.append(cells)
    for row_cells in sheet.iter_rows(min_row=2):
        for cell in row_cells:
            if isinstance(cell.value, Decimal):
                cell.number_format = _SCORE_FORMAT
    sheet.freeze_panes = "A2"
