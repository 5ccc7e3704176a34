"""Attendance lists (daftar hadir): who should have a sheet in a batch."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import AttendanceError
from ..nomor import normalise_nomor_peserta

__all__ = ["Attendance", "attendance_files", "load_attendance", "ATTENDANCE_COLUMN", "HADIR_COLUMN"]

# Columns of an attendance list: the participant number, and (optional)
# whether they were present.
ATTENDANCE_COLUMN = "nomor_peserta"
HADIR_COLUMN = "hadir"


@dataclass(frozen=True)
class Attendance:
    """Who is on the attendance lists (daftar hadir) of a batch.

    Attributes
    ----------
    listed : frozenset of str
        Every participant number on the lists (display form).
    marked_absent : frozenset of str
        Those a list's ``hadir`` column marks absent and no list marks
        present (a subset of ``listed``): a participant absent from the main
        sitting who sat the Susulan is present.
    """

    listed: frozenset[str]
    marked_absent: frozenset[str] = frozenset()


# Values of the optional ``hadir`` column: present, or absent (tidak hadir,
# and the register's S/I/A: sakit, izin, alpa).  Empty means not recorded.
_HADIR_PRESENT = frozenset({"ya", "y", "hadir", "h", "yes", "true", "1"})
_HADIR_ABSENT = frozenset(
    {
        "tidak",
        "t",
        "tidak hadir",
        "absen",
        "alpa",
        "a",
        "sakit",
        "s",
        "izin",
        "i",
        "no",
        "n",
        "false",
        "0",
    }
)


def attendance_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The attendance list files under ``paths``: files as given, folders' ``*.csv`` sorted."""
    found: list[Path] = []
    for path in map(Path, paths):
        found += sorted(path.glob("*.csv")) if path.is_dir() else [path]
    return found


def load_attendance(paths: Iterable[str | os.PathLike[str]]) -> Attendance:
    """Read attendance list CSVs (one per room or envelope), or folders of them.

    Each file needs a header with a ``nomor_peserta`` column; an optional
    ``hadir`` column says who was present (``ya``/``tidak``, ``H``/``S``/``I``/``A``).
    Other columns are ignored; the delimiter may be ``,`` or ``;``; blank
    lines are skipped.

    Raises
    ------
    AttendanceError
        For a file that cannot be read, no ``nomor_peserta`` column, a value
        that is not 14 digits or an unknown ``hadir`` value, naming the file
        and line.
    """
    listed: set[str] = set()
    absent: set[str] = set()
    present: set[str] = set()
    for path in attendance_files(paths):
        name = os.fspath(path)
        try:
            text = Path(name).read_text("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise AttendanceError(f"attendance list {name}: cannot be read: {exc}") from None
        first_line = text.split("\n", 1)[0]
        delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        header = [cell.strip().lower() for cell in next(reader, [])]
        if ATTENDANCE_COLUMN not in header:
            raise AttendanceError(
                f"attendance list {name} line 1: no {ATTENDANCE_COLUMN} column "
                f"(fix: a header line naming the columns, one of them {ATTENDANCE_COLUMN})"
            )
        column = header.index(ATTENDANCE_COLUMN)
        hadir = header.index(HADIR_COLUMN) if HADIR_COLUMN in header else None
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            value = row[column].strip() if column < len(row) else ""
            nomor = normalise_nomor_peserta(value)
            if nomor is None:
                raise AttendanceError(
                    f"attendance list {name} line {reader.line_num}: {value!r} is not a "
                    f"nomor peserta (fix: 14 digits, e.g. 4-12-01-02-001-005-0)"
                )
            listed.add(nomor)
            mark = row[hadir].strip().lower() if hadir is not None and hadir < len(row) else ""
            if mark in _HADIR_ABSENT:
                absent.add(nomor)
            elif mark in _HADIR_PRESENT:
                present.add(nomor)
            elif mark:
                raise AttendanceError(
                    f"attendance list {name} line {reader.line_num}: hadir {mark!r} is neither "
                    "present nor absent (fix: write ya or tidak, or H, S, I, A)"
                )
    # Absent from the main sitting but present at the Susulan: present.
    return Attendance(frozenset(listed), frozenset(absent - present))
