"""Reading what a report needs from the results store (the I/O edge of the report)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import StoreError
from ..keys import AnswerKey, normalise_paket
from ..store import BatchInfo, ResultsStore
from ._analysis import AttendanceFindings, ReportSheet

__all__ = ["ReportInput", "load_report_input"]

# Reconciliation kinds of participants on an attendance list without a sheet.
_LISTED_WITHOUT_SHEET = ("missing_sheet", "absent")


@dataclass(frozen=True)
class ReportInput:
    """The sheets, keys, attendance findings and batches a report is built from."""

    sheets: tuple[ReportSheet, ...]
    keys: dict[str, AnswerKey]
    attendance: AttendanceFindings
    batches: tuple[BatchInfo, ...]


def _sheet(record: dict) -> ReportSheet:
    return ReportSheet(
        source=record["source"],
        page=int(record["page"]),
        batch=int(record["batch"]),
        nomor_peserta=record["nomor_peserta"],
        kode_kompetensi=record["kode_kompetensi"],
        paket=record["paket"],
        answers=tuple(record["answers"]),
        correct=record["correct"],
        score=record["score"],
        flags=tuple(record["flags"]),
        review=record["review"],
        key_hash=record["key_hash"],
    )


def load_report_input(
    store: ResultsStore,
    *,
    batches: Sequence[int] | None = None,
    paket: str | None = None,
    kode_kompetensi: str | None = None,
) -> ReportInput:
    """The sheets (their current results) and everything else a report shows.

    Parameters
    ----------
    store : ResultsStore
    batches : sequence of int, optional
        Only the sheets these batches read last; default every sheet.
    paket : str, optional
        ``A``, ``B`` or ``S``: only sheets scored with (or, unscored, read
        as) that paket.
    kode_kompetensi : str, optional
        Only sheets that read this competency code.

    Raises
    ------
    StoreError
        When a batch does not exist.
    """
    known = {b.id: b for b in store.batches()}
    for batch in batches or ():
        if batch not in known:
            raise StoreError(
                f"results store {store.path}: no batch {batch} (fix: `ljun score` prints the "
                "batch number; leave out --batch to report on every sheet)"
            )
    known_keys: dict[str, AnswerKey] = {}
    keys: dict[str, AnswerKey] = {}
    sheets = []
    wanted_paket = normalise_paket(paket) if paket else None
    for record in store.report_records(batches=batches):
        sheet = _sheet(record)
        key = None
        if sheet.key_hash is not None:
            key = known_keys.get(sheet.key_hash)
            if key is None:
                key = known_keys[sheet.key_hash] = store.answer_key(sheet.key_hash)
        if wanted_paket and (key.paket if key else sheet.paket) != wanted_paket:
            continue
        if kode_kompetensi and sheet.kode_kompetensi != kode_kompetensi:
            continue
        sheets.append(sheet)
        if key is not None and sheet.key_hash is not None:
            keys[sheet.key_hash] = key
    read_by = sorted({s.batch for s in sheets})
    return ReportInput(
        sheets=tuple(sheets),
        keys=keys,
        attendance=_attendance(store, [known[b] for b in read_by], sheets),
        batches=tuple(known[b] for b in read_by),
    )


def _attendance(
    store: ResultsStore, batches: Sequence[BatchInfo], sheets: Sequence[ReportSheet]
) -> AttendanceFindings:
    with_lists = [b for b in batches if b.arguments.get("attendance")]
    if not with_lists:
        return AttendanceFindings()
    scanned = {s.nomor_peserta for s in sheets}
    missing: set[str] = set()
    marked: set[str] = set()
    for batch in with_lists:
        for entry in store.reconciliation(batch.id):
            # A participant another reported batch has a sheet of is not missing.
            if entry.kind in _LISTED_WITHOUT_SHEET and entry.nomor_peserta not in scanned:
                missing.add(entry.nomor_peserta)
                if entry.kind == "absent":
                    marked.add(entry.nomor_peserta)
    listed_counts = [b.summary.get("attendance_listed") for b in with_lists]
    listed = listed_counts[0] if len(listed_counts) == 1 else None
    return AttendanceFindings(
        checked=True,
        listed=listed if isinstance(listed, int) else None,
        missing=tuple(sorted(missing)),
        marked_absent=tuple(sorted(marked)),
    )
