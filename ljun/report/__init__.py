"""``ljun report``: item analysis and score distributions of stored results.

:func:`build_report` (pure) turns sheets and keys into a :class:`Report`;
:func:`load_report_input` reads them from the results store;
:func:`write_html` and :func:`write_xlsx` write the report.
"""

from __future__ import annotations

from ._analysis import (
    AttendanceFindings,
    GroupReport,
    ItemAnalysis,
    ItemFlag,
    Report,
    ReportSheet,
    UnitReport,
    build_report,
    item_flag_text,
)
from ._html import render_html, write_html
from ._load import ReportInput, load_report_input
from ._xlsx import write_xlsx

__all__ = [
    "AttendanceFindings",
    "GroupReport",
    "ItemAnalysis",
    "ItemFlag",
    "Report",
    "ReportSheet",
    "UnitReport",
    "build_report",
    "item_flag_text",
    "ReportInput",
    "load_report_input",
    "render_html",
    "write_html",
    "write_xlsx",
]
