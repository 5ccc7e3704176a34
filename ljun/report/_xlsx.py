"""The report as a workbook: the HTML page's tables, one sheet each.

Numbers are number cells (two or three decimals shown; the viewer's locale
picks the separator, so ``--comma`` changes nothing here, as in the XLSX
export); an undefined statistic is an empty cell.  Text that comes from
outside ljun (file names, labels) is always a text cell, even when it starts
with ``=``, ``+``, ``-`` or ``@``: a spreadsheet never runs it as a formula.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

from .._io import atomic_write
from ._analysis import GroupReport, Report, UnitReport, item_flag_text
from ._stats import CATEGORIES, OPTIONS, ScoreSummary

__all__ = ["write_xlsx", "SHEET_NAMES"]

#: Names of the fixed sheets; each group adds ``Items <label>`` (cut to 31 characters).
SHEET_NAMES = {
    "summary": "Summary",
    "checks": "Key checks",
    "schools": "Schools",
    "envelopes": "Envelopes",
}

# Excel's limit on a sheet name, and characters it refuses in one.
_SHEET_NAME_MAX = 31
_SHEET_NAME_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})

# Text starting with one of these would be read as a formula by a spreadsheet.
_FORMULA_START = ("=", "+", "-", "@")

_SCORE_FORMAT = "0.00"
_STAT_FORMAT = "0.000"
_PERCENT_FORMAT = "0.0%"


def _sheet_name(label: str, taken: set[str]) -> str:
    base = f"Items {label}".translate(_SHEET_NAME_FORBIDDEN)[:_SHEET_NAME_MAX]
    name, n = base, 2
    while name in taken:
        suffix = f" {n}"
        name = base[: _SHEET_NAME_MAX - len(suffix)] + suffix
        n += 1
    taken.add(name)
    return name


class _Sheet:
    """Appends rows to a worksheet, typing each cell."""

    def __init__(self, worksheet: Any) -> None:
        self._ws = worksheet
        self._row = 0

    def header(self, titles: Sequence[str], *, freeze: bool = True) -> None:
        from openpyxl.styles import Font

        self._row += 1
        for column, title in enumerate(titles, start=1):
            cell = self._text(column, title)
            cell.font = Font(bold=True)
        if freeze:
            self._ws.freeze_panes = self._ws.cell(row=self._row + 1, column=1)

    def _text(self, column: int, text: str) -> Any:
        cell = self._ws.cell(row=self._row, column=column)
        cell.value = text
        # openpyxl types "=..." as a formula; outside text must stay text.
        cell.data_type = "s"
        return cell

    def row(self, values: Iterable[Any]) -> None:
        """One row; a value is text, an int, ``None``, or ``(number, format)``."""
        self._row += 1
        for column, value in enumerate(values, start=1):
            if isinstance(value, str):
                self._text(column, value)
            elif isinstance(value, tuple):
                number, number_format = value
                if number is None or (isinstance(number, float) and math.isnan(number)):
                    continue
                cell = self._ws.cell(row=self._row, column=column, value=number)
                cell.number_format = number_format
            elif value is not None:
                self._ws.cell(row=self._row, column=column, value=value)

    def widths(self, widths: Sequence[float]) -> None:
        from openpyxl.utils import get_column_letter

        for column, width in enumerate(widths, start=1):
            self._ws.column_dimensions[get_column_letter(column)].width = width


def _score(value: float) -> tuple[float, str]:
    return (value, _SCORE_FORMAT)


def _summary_cells(summary: ScoreSummary) -> list[Any]:
    return [
        _score(summary.mean),
        _score(summary.median),
        _score(summary.sd),
        _score(summary.minimum),
        _score(summary.maximum),
    ]


def _fill_summary(sheet: _Sheet, report: Report) -> None:
    sheet.header(("", "count"))
    sheet.row(("sheets", report.sheets))
    sheet.row(("scored", report.scored))
    sheet.row(("in review", report.in_review))
    sheet.row(("not scored", report.sheets - report.scored))
    for reason, count in report.unscored_reasons.items():
        sheet.row((f"not scored: {reason}", count))
    attendance = report.attendance
    if attendance.checked:
        if attendance.listed is not None:
            sheet.row(("on the attendance lists", attendance.listed))
        sheet.row(("listed, no sheet", len(attendance.missing)))
        sheet.row(("of whom marked absent", len(attendance.marked_absent)))
    else:
        sheet.row(("attendance lists", "not given"))
    sheet.row(())
    sheet.header(
        freeze=False,
        titles=(
            "group",
            "paket",
            "kode kompetensi",
            "sheets scored",
            "in review",
            "share in review",
            "mean",
            "median",
            "sd",
            "min",
            "max",
            "mean items right",
            "items",
            "KR-20",
            "SEM (score points)",
        ),
    )
    for group in report.groups:
        share = group.in_review / group.sheets if group.sheets else None
        sheet.row(
            (
                group.label,
                group.key.paket,
                group.key.kode_kompetensi or "",
                group.sheets,
                group.in_review,
                (share, _PERCENT_FORMAT),
                *_summary_cells(group.summary),
                (group.raw_summary.mean, "0.0"),
                group.key.items,
                (group.kr20, _STAT_FORMAT),
                _score(group.sem),
            )
        )
    sheet.widths((28, 8, 10, 9, 9, 9, 8, 8, 8, 8, 8, 10, 8, 8, 10))


def _fill_checks(sheet: _Sheet, report: Report) -> None:
    sheet.header(("group", "item", "key", "top group chose", "flag"))
    for group in report.groups:
        for item in group.items:
            for flag in item.flags:
                sheet.row(
                    (
                        group.label,
                        item.number,
                        item.key,
                        item.top_choice,
                        item_flag_text(flag, item),
                    )
                )
    sheet.widths((28, 6, 6, 10, 60))


def _fill_items(sheet: _Sheet, group: GroupReport) -> None:
    sheet.header(
        (
            "item",
            "key",
            "cancelled",
            "p",
            "r (rest)",
            "D 27 %",
            *CATEGORIES,
            *(f"top {o}" for o in OPTIONS),
            *(f"bottom {o}" for o in OPTIONS),
            "flags",
        )
    )
    for item in group.items:
        stats: list[Any] = [
            (item.difficulty, _STAT_FORMAT),
            (item.point_biserial, _STAT_FORMAT),
            (item.discrimination, _STAT_FORMAT),
        ]
        if item.cancelled:
            stats = [None, None, None]
        sheet.row(
            (
                item.number,
                item.key,
                "yes" if item.cancelled else "",
                *stats,
                *item.counts,
                *item.upper[: len(OPTIONS)],
                *item.lower[: len(OPTIONS)],
                "; ".join(item_flag_text(f, item) for f in item.flags),
            )
        )
    sheet.widths((6, 6, 9, 7, 8, 8, *([6] * (len(CATEGORIES) + 2 * len(OPTIONS))), 50))


def _fill_units(sheet: _Sheet, units: Sequence[UnitReport], *, title: str, school: bool) -> None:
    headers = [title, "sheets", "scored", "in review", "mean", "median", "sd", "min", "max"]
    if school:
        headers.append("listed, no sheet")
    headers += ["not on list", "marked absent", "on 2+ sheets", "also in"]
    sheet.header(headers)
    for unit in units:
        values: list[Any] = [
            unit.name,
            unit.sheets,
            unit.scored,
            unit.in_review,
            *_summary_cells(unit.summary),
        ]
        if school:
            values.append(unit.missing)
        values += [unit.not_on_list, unit.marked_absent, unit.duplicates, ", ".join(unit.also_in)]
        sheet.row(values)
    sheet.widths((40, 8, 8, 9, 8, 8, 8, 8, 8, 10, 10, 10, 10, 40))


def write_xlsx(report: Report, path: str | os.PathLike[str]) -> None:
    """Write the report's tables to an XLSX workbook at ``path``, atomically."""
    from openpyxl import Workbook  # imported here: only this writer needs it

    workbook = Workbook()
    summary = workbook.active
    summary.title = SHEET_NAMES["summary"]
    _fill_summary(_Sheet(summary), report)
    _fill_checks(_Sheet(workbook.create_sheet(SHEET_NAMES["checks"])), report)
    taken = set(SHEET_NAMES.values())
    for group in report.groups:
        _fill_items(_Sheet(workbook.create_sheet(_sheet_name(group.label, taken))), group)
    _fill_units(
        _Sheet(workbook.create_sheet(SHEET_NAMES["schools"])),
        report.schools,
        title="school (prov-dist-school)",
        school=True,
    )
    _fill_units(
        _Sheet(workbook.create_sheet(SHEET_NAMES["envelopes"])),
        report.envelopes,
        title="envelope (scan file)",
        school=False,
    )
    with atomic_write(path, "wb") as handle:
        workbook.save(handle)
