"""The store connection and transactions of the review page's tables."""

from __future__ import annotations

import datetime as _dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import StoreError

__all__ = ["now", "transaction"]


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` on an autocommit connection, ``ROLLBACK`` on error.

    Immediate: the write lock is taken before anything is read, so a check
    made inside (a sheet's version, the audit chain's head) still holds at
    the commit.
    """
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise StoreError(
            f"results store: cannot start writing: {exc} (another program is writing to it; "
            "try again when it is done)"
        ) from None
    try:
        yield db
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
