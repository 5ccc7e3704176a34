"""Reconciliation: duplicates and attendance mismatches, within a batch and across the store.

- the same nomor peserta on two or more sheets: each gets
  ``duplicate_nomor_peserta`` and goes to review, whether the other sheet is in
  this batch or was stored by an earlier one (a folder watcher scores a few
  files at a time); the same for the barcode (``duplicate_barcode``);
- with attendance lists (:mod:`ljun.batch._attendance`): participants the list
  marks absent (``absent``) or present but without a sheet (``missing_sheet``),
  sheets whose nomor peserta is on no list (flag ``not_on_attendance``) or
  marked absent (flag ``marked_absent``);
- pages counted per file (``file_pages`` entries).

Flagged sheets keep their score and go to review: a person decides.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ..score import ScoredSheet
from ..store import ReconciliationEntry, StoredIdentity
from ..vocabulary import UNREAD, Flag, ReconciliationKind
from ._attendance import Attendance

__all__ = ["SheetSummary", "Reconciliation", "reconcile", "file_entries", "complete_identity"]


@dataclass(frozen=True)
class SheetSummary:
    """What reconciliation and the summary need of one scored sheet (kept in memory).

    ``seq`` is the sheet's staging number in the store's batch writer.
    """

    seq: int
    file_index: int
    source: str
    page: int
    nomor_peserta: str
    barcode: str
    paket: str
    score: Decimal | None
    flags: tuple[str, ...]
    review: bool
    failed: bool

    @classmethod
    def of(cls, scored: ScoredSheet, *, seq: int, file_index: int) -> SheetSummary:
        reading = scored.reading
        return cls(
            seq,
            file_index,
            reading.source,
            reading.page,
            reading.nomor_peserta,
            reading.barcode,
            scored.key.paket if scored.key else reading.paket,
            scored.score,
            scored.flags,
            scored.review,
            reading.failure is not None,
        )


@dataclass(frozen=True)
class Reconciliation:
    """What :func:`reconcile` found.

    Attributes
    ----------
    flags : mapping of int to tuple of str
        Flags to add, by sheet ``seq``; such sheets go to review.
    entries : tuple of ReconciliationEntry
        Findings to store and show (duplicates, absent, not on the list).
    absent : tuple of str
        Participants on the attendance lists without a sheet (marked absent
        or not), sorted.
    earlier_flags : mapping of int to tuple of str
        Flags to add to sheets stored by earlier batches, by their
        ``page_id``: the other half of a duplicate across batches.
    """

    flags: Mapping[int, tuple[str, ...]]
    entries: tuple[ReconciliationEntry, ...]
    absent: tuple[str, ...] = ()
    earlier_flags: Mapping[int, tuple[str, ...]] = field(default_factory=dict)


def complete_identity(identity: str) -> bool:
    """True for an identity read in full (no ``?``): only those can be matched."""
    return bool(identity) and UNREAD not in identity


def reconcile(
    sheets: Sequence[SheetSummary],
    attendance: Attendance | None = None,
    earlier: Sequence[StoredIdentity] = (),
) -> Reconciliation:
    """Find duplicates and attendance mismatches among a batch's sheets.

    Parameters
    ----------
    sheets : sequence of SheetSummary
        The batch's sheets in file-and-page order.
    attendance : Attendance, optional
        The attendance lists; ``None`` when none was given.
    earlier : sequence of StoredIdentity, optional
        Sheets already in the store, from other files, that share a nomor
        peserta or barcode with this batch
        (:meth:`ljun.store.ResultsStore.identities_matching`).

    Returns
    -------
    Reconciliation
        Flags: ``duplicate_nomor_peserta``, ``duplicate_barcode``,
        ``not_on_attendance`` (nomor on no list), ``marked_absent`` (a sheet
        of someone the list marks absent).  Entries: those, plus ``absent``
        (marked absent, no sheet) and ``missing_sheet`` (listed and not
        marked absent, but no sheet with that nomor).  Only fully read
        identities take part: a nomor peserta with ``?`` is already in
        review and cannot be matched.
    """
    findings = _Findings()
    _find_duplicates(findings, sheets, earlier)
    absent: tuple[str, ...] = ()
    if attendance is not None:
        absent = _check_attendance(findings, sheets, attendance)
    return Reconciliation(
        {seq: tuple(f) for seq, f in findings.flags.items()},
        tuple(findings.entries),
        absent,
        {page_id: tuple(f) for page_id, f in findings.earlier_flags.items()},
    )


@dataclass
class _Findings:
    flags: defaultdict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    earlier_flags: defaultdict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    entries: list[ReconciliationEntry] = field(default_factory=list)

    def add(self, kind: Flag, sheet: SheetSummary | StoredIdentity, detail: str) -> None:
        """Flag ``sheet`` (of this batch or an earlier one) and record the finding."""
        if isinstance(sheet, SheetSummary):
            self.flags[sheet.seq].append(kind)
        else:
            self.earlier_flags[sheet.page_id].append(kind)
        self.entries.append(
            ReconciliationEntry(
                kind=kind,
                source=sheet.source,
                page=sheet.page,
                nomor_peserta=sheet.nomor_peserta,
                barcode=sheet.barcode,
                detail=detail,
            )
        )


def _where(sheet: SheetSummary | StoredIdentity) -> str:
    if isinstance(sheet, SheetSummary):
        return f"{sheet.source} page {sheet.page}"
    return f"{sheet.source} page {sheet.page} (batch {sheet.batch_id})"


#: A duplicate's entry names at most this many of the other sheets: a
#: participant scanned a hundred times (a test batch copied over and over)
#: made a hundred entries of a hundred names each, 120 MB in a 10,000-page
#: batch.
OTHERS_NAMED = 5


def _others(group: Sequence[SheetSummary | StoredIdentity], sheet: object) -> str:
    """Where the other sheets of a duplicate ``group`` are, the first
    ``OTHERS_NAMED`` of them by name."""
    others = [o for o in group if o is not sheet]
    named = "; ".join(_where(o) for o in others[:OTHERS_NAMED])
    rest = len(others) - OTHERS_NAMED
    return f"{named}; and {rest} more" if rest > 0 else named


def _find_duplicates(
    findings: _Findings, sheets: Sequence[SheetSummary], earlier: Sequence[StoredIdentity]
) -> None:
    candidates: list[SheetSummary | StoredIdentity] = [*sheets, *earlier]
    for attribute, flag in (
        ("nomor_peserta", Flag.DUPLICATE_NOMOR_PESERTA),
        ("barcode", Flag.DUPLICATE_BARCODE),
    ):
        groups: defaultdict[str, list[SheetSummary | StoredIdentity]] = defaultdict(list)
        for sheet in candidates:
            value = getattr(sheet, attribute)
            if complete_identity(value):
                groups[value].append(sheet)
        for group in groups.values():
            # Earlier sheets only matter beside a sheet of this batch.
            if len(group) > 1 and any(isinstance(s, SheetSummary) for s in group):
                for sheet in group:
                    findings.add(flag, sheet, f"also on {_others(group, sheet)}")


def _check_attendance(
    findings: _Findings, sheets: Sequence[SheetSummary], attendance: Attendance
) -> tuple[str, ...]:
    for sheet in sheets:
        if not complete_identity(sheet.nomor_peserta):
            continue
        if sheet.nomor_peserta not in attendance.listed:
            findings.add(Flag.NOT_ON_ATTENDANCE, sheet, "nomor peserta on no attendance list")
        elif sheet.nomor_peserta in attendance.marked_absent:
            findings.add(
                Flag.MARKED_ABSENT, sheet, "the attendance list marks this participant absent"
            )
    scanned = {sheet.nomor_peserta for sheet in sheets}
    absent = tuple(sorted(attendance.listed - scanned))
    for number in absent:
        if number in attendance.marked_absent:
            kind, detail = (
                ReconciliationKind.ABSENT,
                "marked absent on the attendance list, no sheet",
            )
        else:
            kind, detail = (
                ReconciliationKind.MISSING_SHEET,
                "on the attendance list, no sheet read with this nomor peserta",
            )
        findings.entries.append(ReconciliationEntry(kind=kind, nomor_peserta=number, detail=detail))
    return absent


def file_entries(sheets: Sequence[SheetSummary]) -> list[ReconciliationEntry]:
    """One ``file_pages`` entry per file: its pages, scored, in review, failed."""
    per_file: dict[int, list[SheetSummary]] = defaultdict(list)
    for sheet in sheets:
        per_file[sheet.file_index].append(sheet)
    entries = []
    for index in sorted(per_file):
        group = per_file[index]
        counts = {
            "pages": len(group),
            "scored": sum(s.score is not None for s in group),
            "review": sum(s.review for s in group),
            "failed": sum(s.failed for s in group),
        }
        entries.append(
            ReconciliationEntry(
                kind=ReconciliationKind.FILE_PAGES,
                source=group[0].source,
                detail=json.dumps(counts),
            )
        )
    return entries
