"""Every correction people made, as an export (``ljun export --corrections``).

One record per changed value, oldest first, with the keys of
:data:`CORRECTION_KEYS`: when and by whom, which sheet (file, page, and the
nomor peserta it reads now), which field and item (question number or
identity column; 0 for a field typed whole), the machine's value, the
person's value and the reason.  CSV or JSONL, written atomically; text cells
that a spreadsheet would take for a formula are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._io import atomic_write
from ..errors import LjunError

__all__ = ["CORRECTION_KEYS", "CORRECTION_FORMATS", "correction_records", "write_corrections"]

#: Keys of one correction record, in CSV column order.
CORRECTION_KEYS: tuple[str, ...] = (
    "at",
    "operator",
    "source",
    "page",
    "nomor_peserta",
    "field",
    "item",
    "old_value",
    "new_value",
    "reason",
)

#: Output suffixes of the corrections export.
CORRECTION_FORMATS: tuple[str, ...] = (".csv", ".jsonl")

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def correction_records(db: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    """Every stored decision that changed a value, oldest first."""
    cursor = db.execute(
        "SELECT d.at, d.operator, p.source, p.page, r.nomor_peserta, d.field, d.item, "
        "d.old_value, d.new_value, d.reason FROM decisions d JOIN pages p ON p.id = d.page_id "
        "JOIN readings r ON r.page_id = d.page_id ORDER BY d.id"
    )
    for row in cursor:
        yield dict(zip(CORRECTION_KEYS, row))


def _safe(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def write_corrections(db: sqlite3.Connection, out: str | os.PathLike[str]) -> int:
    """Write :func:`correction_records` to ``out`` (``.csv`` or ``.jsonl``); return the count."""
    suffix = Path(out).suffix.lower()
    if suffix not in CORRECTION_FORMATS:
        raise LjunError(
            f"{out}: corrections are written as {' or '.join(CORRECTION_FORMATS)} "
            "(fix: change the file's suffix)"
        )
    count = 0
    with atomic_write(out, "w", encoding="utf-8", newline="") as handle:
        if suffix == ".csv":
            writer = csv.writer(handle)
            writer.writerow(CORRECTION_KEYS)
            for record in correction_records(db):
                writer.writerow([_safe(record[key]) for key in CORRECTION_KEYS])
                count += 1
        else:
            for record in correction_records(db):
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
    return count
