"""The audit trail: every operator change, append-only and hash-chained.

Table ``audit`` (store step ``0004_review``): one row per change, with the
operator, the time (UTC), the sheet (``page_hash`` and ``source`` page), the
field, the old and new value and the reason.  Triggers refuse ``UPDATE`` and
``DELETE``; beyond that, each row carries ``hash`` = SHA-256 of its own
content and ``prev_hash``, the hash of the row before (:data:`GENESIS` for the
first).  Whoever drops the triggers and edits, deletes or reorders rows breaks
the chain, and :func:`verify_audit` names the first row that no longer fits.
(Removing rows *at the end* leaves a shorter valid chain: keep the head hash
that ``ljun audit verify`` prints with the office's records to catch that.)

>>> import sqlite3
>>> from ljun._migrations import migrate
>>> db = sqlite3.connect(":memory:", isolation_level=None)
>>> _ = migrate(db, ":memory:")
>>> _ = append_audit(db, operator="sari", action="decide", field="answers:12", old="", new="B")
>>> verify_audit(db).ok
True
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from ._db import now

__all__ = ["GENESIS", "AuditEntry", "AuditReport", "append_audit", "audit_entries", "verify_audit"]

#: ``prev_hash`` of the first entry.
GENESIS = "0" * 64

_COLUMNS = (
    "id, at, operator, action, page_hash, sheet, field, old_value, new_value, reason, "
    "prev_hash, hash"
)


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit trail."""

    id: int
    at: str
    operator: str
    action: str
    page_hash: str
    sheet: str
    field: str
    old_value: str
    new_value: str
    reason: str
    prev_hash: str
    hash: str

    def content_hash(self) -> str:
        """SHA-256 of everything in the row but its own hash (canonical JSON)."""
        content = [
            self.id,
            self.at,
            self.operator,
            self.action,
            self.page_hash,
            self.sheet,
            self.field,
            self.old_value,
            self.new_value,
            self.reason,
            self.prev_hash,
        ]
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditReport:
    """What :func:`verify_audit` found.

    ``first_bad`` is the id of the first entry that was altered, or that
    follows a removed or reordered entry; ``None`` when the chain holds.
    ``head`` is the hash of the last entry (:data:`GENESIS` when empty).
    """

    entries: int
    head: str
    first_bad: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.first_bad is None


def audit_entries(db: sqlite3.Connection) -> Iterator[AuditEntry]:
    """Every entry, in the order written."""
    for row in db.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY id"):
        yield AuditEntry(*row)


def append_audit(
    db: sqlite3.Connection,
    *,
    operator: str,
    action: str,
    page_hash: str = "",
    sheet: str = "",
    field: str = "",
    old: str = "",
    new: str = "",
    reason: str = "",
) -> AuditEntry:
    """Add one entry at the end of the chain.

    Call it inside the transaction that makes the change (``BEGIN
    IMMEDIATE``, see :func:`ljun.review._db.transaction`), so the change and
    its entry are stored together and no other writer slips in between
    reading the chain's head and appending.
    """
    last = db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    entry_id, prev_hash = (1, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
    draft = AuditEntry(
        entry_id, now(), operator, action, page_hash, sheet, field, old, new, reason, prev_hash, ""
    )
    entry = AuditEntry(**{**draft.__dict__, "hash": draft.content_hash()})
    db.execute(
        f"INSERT INTO audit ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        tuple(entry.__dict__.values()),
    )
    return entry


def verify_audit(db: sqlite3.Connection) -> AuditReport:
    """Walk the chain; report the first entry that was altered, removed or reordered."""
    expected_id, prev_hash, count = 1, GENESIS, 0
    for entry in audit_entries(db):
        count += 1
        if entry.id != expected_id:
            return AuditReport(
                count,
                prev_hash,
                entry.id,
                f"entry {entry.id} follows entry {expected_id - 1}: "
                f"{'entries were removed' if entry.id > expected_id else 'entries were reordered'} "
                "before it",
            )
        if entry.prev_hash != prev_hash:
            return AuditReport(
                count,
                prev_hash,
                entry.id,
                f"entry {entry.id} does not follow the entry before it "
                "(an entry before it was altered, removed or reordered)",
            )
        if entry.content_hash() != entry.hash:
            return AuditReport(
                count, prev_hash, entry.id, f"entry {entry.id} was altered after it was written"
            )
        expected_id, prev_hash = entry.id + 1, entry.hash
    return AuditReport(count, prev_hash)
