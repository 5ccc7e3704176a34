"""Helpers for the grading tests: a real results store holding given theory records."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from ljun.keys import AnswerKeySet
from ljun.records import SheetReading
from ljun.score import ScoredSheet
from ljun.store import open_store


def write_store(path: Path, records: Iterable[Mapping[str, Any]] = ()) -> Path:
    """Store result records (ARCHITECTURE.md §3 keys) as one scored batch in a real store at ``path``.

    Each record becomes a sheet with that reading and score, as `ljun score`
    would have stored it (a record with the source and page of a stored sheet
    replaces its reading, as a rescan would); with no records the store is
    just created.
    """
    with open_store(path) as store:
        writer = store.begin_batch(template="ljun-teori-kejuruan")
        for index, record in enumerate(records):
            reading = SheetReading(
                source=str(record["source"]),
                page=int(record["page"]),
                template=str(record["template"]),
                nomor_peserta=str(record["nomor_peserta"]),
                nama=str(record["nama"]),
                tanggal_lahir=str(record["tanggal_lahir"]),
                kode_kompetensi=str(record["kode_kompetensi"]),
                paket=str(record["paket"]),
                barcode=str(record["barcode"]),
                answers=tuple(record["answers"]),
                flags=tuple(record["flags"]),
                review=bool(record["review"]),
            )
            score = record["score"]
            scored = ScoredSheet(
                reading,
                None,
                record["correct"],
                None if score is None else Decimal(str(score)),
                tuple(record["flags"]),
                bool(record["review"]),
            )
            # The same source and page is the same sheet: storing it again replaces it.
            page_hash = f"{record['source']}#{record['page']}"
            writer.stage(scored, page_hash=page_hash, file_index=index)
        writer.commit(keys=AnswerKeySet.from_keys([]))
    return path


def read_csv_text(text: str) -> list[dict[str, str]]:
    """Rows of CSV text as dicts."""
    return list(csv.DictReader(io.StringIO(text)))


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts."""
    return read_csv_text(path.read_text("utf-8"))
