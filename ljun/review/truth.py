"""What a reviewed batch says the right readings are (``ljun calibrate --from-review``).

A reading batch (``ljun score``, ``ljun watch``) of the results store is
*reviewed* when operators have resolved or rejected at least one of its
sheets.  Its sheets then give a truth to fit the reading thresholds to,
sheet by sheet:

- a sheet an operator **resolved** (``review_state.status = 'resolved'``):
  its stored reading, which holds the operator's decided answers and
  identity fields (:func:`ljun.review.decisions.decide_sheet` writes them
  there) and the machine's sure values of the items nobody was asked about;
- a sheet that was **not sent to review** (no review state, latest score
  not in review): the machine's reading, taken as right — every item of it
  was read surely, which is what the fitting must keep;
- a sheet an operator **rejected** (not an LJUN sheet), and a sheet still in
  review (never opened, decided in part, or reopened by a supervisor), are
  left out and counted.

A sheet belongs to the batch that read it last (``pages.batch_id``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..records import SheetReading
from ..store import READING_SELECT, reading_from_row
from ..vocabulary import BatchKind

__all__ = [
    "READING_BATCH_KINDS",
    "ReviewedSheet",
    "ReviewedTruth",
    "batch_calibrations",
    "reviewed_batches",
    "reviewed_truth",
    "truth_record",
]

#: Kinds of batch that read scans (their sheets can be read again).
READING_BATCH_KINDS: tuple[str, ...] = (BatchKind.SCORE, BatchKind.WATCH)

# Review states (table review_state).
_RESOLVED, _REJECTED = "resolved", "rejected"


@dataclass(frozen=True)
class ReviewedSheet:
    """One sheet of a reviewed batch whose right reading is known.

    Attributes
    ----------
    page_id, batch_id : int
        The sheet and the batch that read it.
    source : str
        The scan file as ``ljun score`` was given it (relative to the folder
        it ran in, or absolute).
    page : int
        1-based page of ``source``.
    page_hash : str
        The page's identity (:func:`ljun.batch.page_hash`): the digest of the
        file's bytes and the page number, to check the file is unchanged.
    calibration : str
        The calibration that read it (``name@hash``, ``""`` before it was recorded).
    decided : bool
        True when an operator resolved it; False when it was not sent to
        review (the machine's reading is taken as right).
    truth : dict
        A result record (ARCHITECTURE.md §3) with the right values:
        ``source``, ``page``, ``template``, the identity fields, ``paket``,
        ``barcode`` and ``answers``.
    """

    page_id: int
    batch_id: int
    source: str
    page: int
    page_hash: str
    calibration: str
    decided: bool
    truth: dict[str, Any]


@dataclass(frozen=True)
class ReviewedTruth:
    """The usable sheets of some reviewed batches, and what was left out.

    ``rejected``: sheets an operator rejected; ``unresolved``: sheets still
    in review.  ``decided + machine == len(sheets)``.
    """

    batches: tuple[int, ...]
    sheets: tuple[ReviewedSheet, ...]
    rejected: int
    unresolved: int

    @property
    def decided(self) -> int:
        """Sheets an operator resolved."""
        return sum(sheet.decided for sheet in self.sheets)

    @property
    def machine(self) -> int:
        """Sheets not sent to review (the machine's reading is taken as right)."""
        return len(self.sheets) - self.decided


def truth_record(reading: SheetReading) -> dict[str, Any]:
    """The result-record fields of a :class:`~ljun.records.SheetReading` a truth needs."""
    return reading.result_fields()


def _kinds_sql() -> str:
    return ", ".join(f"'{kind}'" for kind in READING_BATCH_KINDS)


def reviewed_batches(db: sqlite3.Connection) -> list[int]:
    """Ids of the reading batches with at least one sheet resolved or rejected, oldest first."""
    rows = db.execute(
        "SELECT DISTINCT b.id FROM batches b JOIN pages p ON p.batch_id = b.id "
        "JOIN review_state rs ON rs.page_id = p.id "
        f"WHERE b.kind IN ({_kinds_sql()}) AND rs.status IN (?, ?) ORDER BY b.id",
        (_RESOLVED, _REJECTED),
    ).fetchall()
    return [int(row[0]) for row in rows]


def reviewed_truth(db: sqlite3.Connection, batches: Sequence[int]) -> ReviewedTruth:
    """The sheets of ``batches`` whose right reading is known (see the module docstring).

    Parameters
    ----------
    db : sqlite3.Connection
        The results store.
    batches : sequence of int
        Batch ids, as :func:`reviewed_batches` gives them.

    Returns
    -------
    ReviewedTruth
        The sheets in batch and scan order.
    """
    sheets: list[ReviewedSheet] = []
    rejected = unresolved = 0
    width = READING_SELECT.count(",") + 1
    for batch_id in batches:
        cursor = db.execute(
            f"SELECT p.id, p.page_hash, r.calibration, {READING_SELECT}, s.review, rs.status "
            "FROM pages p JOIN readings r ON r.page_id = p.id "
            "JOIN scores s ON s.id = (SELECT max(id) FROM scores WHERE page_id = p.id) "
            "LEFT JOIN review_state rs ON rs.page_id = p.id "
            "WHERE p.batch_id = ? ORDER BY p.ordinal",
            (batch_id,),
        )
        for row in cursor:
            page_id, page_hash, calibration = row[0], row[1], row[2]
            score_review, status = row[3 + width :]
            if status == _REJECTED:
                rejected += 1
                continue
            # As the review queue sees it: a sheet whose latest score is in
            # review is open, whatever its state says (ljun.review.queue).
            if score_review or status not in (None, _RESOLVED):
                unresolved += 1
                continue
            decided = status == _RESOLVED
            reading = reading_from_row(row[3 : 3 + width])
            if reading.failure is not None:  # a failed page is always in review
                unresolved += 1
                continue
            sheets.append(
                ReviewedSheet(
                    page_id=int(page_id),
                    batch_id=int(batch_id),
                    source=reading.source,
                    page=int(reading.page),
                    page_hash=page_hash,
                    calibration=calibration,
                    decided=decided,
                    truth=truth_record(reading),
                )
            )
    return ReviewedTruth(tuple(batches), tuple(sheets), rejected, unresolved)


def batch_calibrations(db: sqlite3.Connection, batches: Sequence[int]) -> dict[int, str]:
    """Per batch, the ``--calibration`` it was run with (``""`` when not recorded)."""
    found = {}
    for batch_id in batches:
        row = db.execute("SELECT arguments FROM batches WHERE id = ?", (batch_id,)).fetchone()
        arguments = json.loads(row[0]) if row else {}
        value = arguments.get("calibration") if isinstance(arguments, dict) else None
        found[batch_id] = value if isinstance(value, str) else ""
    return found
