"""Text from outside made safe where it ends up: spreadsheet cells and the terminal.

Names, file paths, reasons and codes come from files ljun does not control (a
``praktik.csv`` typed by a school, a scan file named by a scanner or a
person).  Three places would act on such text instead of showing it:

- a spreadsheet opening a CSV turns a cell that starts with ``=``, ``+``,
  ``-`` or ``@`` (after leading blanks, which it strips) or with a tab or
  carriage return into a formula ("CSV injection", OWASP): :func:`csv_text`
  prefixes such a cell with ``'``, as OWASP recommends, so it shows as text;
  a plain number (``-5``, ``+7,50``) is left as it is;
- an XLSX cell holding a string that starts with ``=`` is written by openpyxl
  as a formula: :func:`xlsx_text_cell` writes it as a string cell instead
  (exactly the text, nothing prefixed), and escapes the control characters
  XML cannot hold;
- a terminal obeys control characters (colours, cursor moves, a fake prompt)
  in a printed file name: :func:`printable` shows them as ``\\x1b``.

>>> csv_text('=HYPERLINK("http://x","k")'), csv_text("Ani"), csv_text("-5"), csv_text(" @SUM(A1)")
('\\'=HYPERLINK("http://x","k")', 'Ani', '-5', "' @SUM(A1)")
>>> printable("scan\\x1b[2J.tif")
'scan\\\\x1b[2J.tif'
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["csv_text", "xlsx_text", "xlsx_text_cell", "printable"]

# First characters that make a spreadsheet read a cell as a formula (OWASP
# "CSV Injection"), with the full-width forms some spreadsheets accept too.
_FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")

# Characters a spreadsheet drops before it looks at the first one, and the two
# that OWASP lists as formula starts on their own (tab, carriage return).
_LEADING_BLANKS = " \t\r\n\x0b\x0c"
_CONTROL_START = frozenset("\t\r\n")

# A plain number (optionally signed, decimal point or comma, exponent): stays as it is.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")

# What OWASP prefixes a dangerous cell with: the spreadsheet shows it as text.
_TEXT_MARK = "'"

# Characters XML 1.0 (and so an XLSX cell) cannot hold: C0 controls but tab,
# line feed and carriage return (openpyxl's ILLEGAL_CHARACTERS_RE).
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

# Characters a terminal may act on: C0 and C1 controls, DEL, and the
# bidirectional overrides that make a name read backwards.
_TERMINAL_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_TERMINAL_CONTROL_KEEP_NEWLINE = re.compile(
    r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def csv_text(value: str) -> str:
    """A text cell for a CSV file that a spreadsheet shows as text, never runs.

    Cells starting (after blanks) with ``=``, ``+``, ``-``, ``@``, or starting
    with a tab, carriage return or line feed, get a leading ``'``; plain
    numbers and every other text are returned unchanged.
    """
    if not value:
        return value
    stripped = value.lstrip(_LEADING_BLANKS)
    if value[0] in _CONTROL_START:
        return _TEXT_MARK + value
    if stripped[:1] in _FORMULA_START and not _NUMBER.fullmatch(stripped):
        return _TEXT_MARK + value
    return value


def xlsx_text(value: str) -> str:
    """``value`` with the characters an XLSX cell cannot hold shown as ``\\x1b``."""
    return _XML_ILLEGAL.sub(_escape, value)


def xlsx_text_cell(sheet: Any, value: str) -> Any:
    """An openpyxl cell of ``sheet`` holding ``value`` as a string, never as a formula.

    Works for write-only and ordinary worksheets (``sheet.append`` takes it).
    """
    from openpyxl.cell import WriteOnlyCell  # imported here: only XLSX writers need it

    cell = WriteOnlyCell(sheet, value=xlsx_text(value))
    # openpyxl types a string starting with "=" as a formula; a string cell is shown as written.
    cell.data_type = "s"
    return cell


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """``str(text)`` with terminal control characters shown as ``\\xNN`` / ``\\uNNNN``.

    ``keep_newlines`` keeps line feeds (multi-line messages); every other
    control character is escaped.
    """
    pattern = _TERMINAL_CONTROL_KEEP_NEWLINE if keep_newlines else _TERMINAL_CONTROL
    return pattern.sub(_escape, str(text))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
