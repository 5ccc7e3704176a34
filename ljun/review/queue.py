"""The review queue: every sheet that needs a person, most urgent first.

A sheet is in the queue when its current score row says ``review``, or when
a person has already decided it (``review_state``): those count as resolved,
so the page can show "n of m resolved" and a supervisor can reopen them.

Order: pages that could not be registered first, then sheets with identity
problems (a sheet that cannot be matched to its participant holds up
grading), then the rest; within each, the least sure reading first (lowest
bubble confidence).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..vocabulary import flag_reason

__all__ = ["QueueEntry", "Queue", "load_queue", "IDENTITY_FIELDS"]

#: Identity fields whose problems come before answer problems.
IDENTITY_FIELDS = ("nomor_peserta", "nama", "tanggal_lahir", "kode_kompetensi", "paket")

# Urgency classes, most urgent first.
_FAILED, _IDENTITY, _OTHER = 0, 1, 2


@dataclass(frozen=True)
class QueueEntry:
    """One sheet of the queue."""

    page_id: int
    batch_id: int
    source: str
    page: int
    flags: tuple[str, ...]
    failure: str | None
    status: str
    urgency: int
    confidence: float

    @property
    def resolved(self) -> bool:
        return self.status in ("resolved", "rejected")

    @property
    def reasons(self) -> tuple[str, ...]:
        """The flags without item or column numbers (``answer_unsure``), each once."""
        return tuple(dict.fromkeys(flag_reason(f) for f in self.flags))


@dataclass(frozen=True)
class Queue:
    """The entries matching a filter, and counts over the whole queue."""

    entries: tuple[QueueEntry, ...]
    total: int
    resolved: int
    reasons: dict[str, int]
    batches: tuple[int, ...]

    @property
    def open(self) -> tuple[QueueEntry, ...]:
        return tuple(e for e in self.entries if not e.resolved)


def _urgency(flags: Sequence[str], failure: str | None) -> int:
    if failure is not None:
        return _FAILED
    for flag in flags:
        parts = flag.split(":")
        if (
            len(parts) > 1
            and parts[1] in IDENTITY_FIELDS
            or parts[0]
            in (
                "no_paket",
                "duplicate_nomor_peserta",
                "not_on_attendance",
            )
        ):
            return _IDENTITY
    return _OTHER


def load_queue(
    db: sqlite3.Connection,
    *,
    batch: int | None = None,
    source: str = "",
    reason: str = "",
) -> Queue:
    """The queue, filtered by batch, by file or envelope (a part of the path) and by reason."""
    rows = db.execute(
        "SELECT p.id, p.batch_id, p.source, p.page, s.flags, s.review, r.failure, "
        "r.confidence, rs.status FROM pages p JOIN readings r ON r.page_id = p.id "
        "JOIN scores s ON s.id = (SELECT max(id) FROM scores WHERE page_id = p.id) "
        "LEFT JOIN review_state rs ON rs.page_id = p.id "
        "WHERE s.review = 1 OR rs.page_id IS NOT NULL"
    ).fetchall()
    everything = []
    for page_id, batch_id, path, page, flags, review, failure, confidence, status in rows:
        flag_list = tuple(json.loads(flags))
        sure = np.frombuffer(confidence, np.float32)
        if review:
            status = "open"
        everything.append(
            QueueEntry(
                page_id=page_id,
                batch_id=batch_id,
                source=path,
                page=page,
                flags=flag_list,
                failure=failure,
                status=status or "open",
                urgency=_urgency(flag_list, failure),
                confidence=float(sure.min()) if sure.size else 0.0,
            )
        )
    everything.sort(key=lambda e: (e.resolved, e.urgency, e.confidence, e.source, e.page))
    reasons: Counter[str] = Counter()
    for entry in everything:
        if not entry.resolved:
            reasons.update(entry.reasons)
    chosen = [
        e
        for e in everything
        if (batch is None or e.batch_id == batch)
        and (not source or source in e.source)
        and (not reason or reason in e.reasons)
    ]
    return Queue(
        entries=tuple(chosen),
        total=len(everything),
        resolved=sum(e.resolved for e in everything),
        reasons=dict(reasons.most_common()),
        batches=tuple(sorted({e.batch_id for e in everything})),
    )
