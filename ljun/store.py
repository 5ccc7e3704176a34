"""The results store: one SQLite file holding batches, pages, readings and scores.

Tables (schema version :data:`SCHEMA_VERSION`, kept in ``PRAGMA user_version``):

``batches``
    One row per ``ljun score`` or ``ljun rescore`` run: kind, status
    (``running``, ``complete``, ``failed``, ``interrupted``: left ``running``
    by a process that died, see :meth:`ResultsStore.mark_interrupted`), times,
    arguments and summary (JSON).
``answer_keys`` / ``batch_keys``
    Every key used, stored once by the SHA-256 of its canonical JSON, and
    which batch used which key file.
``pages``
    One row per scanned page (a *sheet*), identified by ``page_hash`` —
    the digest of the file's bytes (``store_settings.file_digest``: BLAKE3,
    or SHA-256 in stores made before it) and the page number — so re-running the
    same files never adds a sheet twice.  ``batch_id``/``ordinal`` place the
    page in the batch that read it last.
``readings``
    The latest reading of each page: identity fields, answers, the
    pipeline's flags and failure, the flags batch reconciliation added
    (``batch_flags``), and per-bubble ``darkness`` and ``confidence`` as
    float32 BLOBs (``ndarray.tobytes()``; about 4 KB each for the LJUN sheet).
``scores``
    Append-only: every time a page is scored or rescored, with the key's
    hash, ``correct``, ``score`` (decimal text), final flags and review.
    A page's current result is its latest score row.
``reconciliation``
    What batch reconciliation found: pages per file, duplicates, absent
    participants, sheets not on the attendance list.
``certificates`` / ``certificate_events``
    The certificate register (:attr:`ResultsStore.certificates`,
    :mod:`ljun.grade._registry`): every certificate number ``ljun grade``
    issued, with the ``grade`` batch that issued it; never deleted or
    reused, changed only by a withdrawal.  The events are the append-only
    audit of every issue and withdrawal.
``watched_files``
    The folder watcher's journal (``ljun watch``): every file it took out of
    its inbox, by content digest and name, what it did with it and where the
    file went (:class:`WatchedFile`).

Writes are all-or-nothing per batch.  A batch row is committed first with
status ``running``; its sheets are staged in a temporary table (on disk, so
memory stays flat in batch size, and without holding the database's write
lock while pages are being read); :meth:`BatchWriter.commit` then copies
everything in one short transaction that also marks the batch ``complete``.
A crash or Ctrl-C leaves the earlier results untouched and the batch row
``running`` (or ``failed``), with no sheet of it stored.

The database runs in WAL mode, so a review page can read while a batch is
being committed.

A new store file is created readable by its owner only (0600; SQLite gives its
``-wal`` and ``-shm`` files the same permissions), unless ``LJUN_SHARED_FILES=1``
(:func:`ljun._io.file_mode`).  A store that cannot be written (disk full,
read-only) raises :class:`~ljun.errors.StoreOutputError`, an
:class:`~ljun.errors.OutputError`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _runlock
from ._io import file_mode, output_error
from ._migrations import SCHEMA_VERSION, migrate
from .errors import StoreError, StoreOutputError
from .keys import AnswerKey, AnswerKeySet, parse_answer_key
from .records import RESULT_KEYS, SheetReading
from .score import ScoredSheet, add_flags
from .vocabulary import DIGEST_ALGORITHMS, DigestAlgorithm, FailureReason

if TYPE_CHECKING:
    from .grade._registry import CertificateRegistry

__all__ = [
    "SCHEMA_VERSION",
    "DEFAULT_STORE",
    "ResultsStore",
    "BatchWriter",
    "BatchInfo",
    "StoredSheet",
    "StoredIdentity",
    "READING_SELECT",
    "reading_from_row",
    "ReconciliationEntry",
    "WatchedFile",
    "StoreStatus",
    "open_store",
]

#: File name of the store when a command is given no ``--db``.
DEFAULT_STORE = "ljun.sqlite"

# Values per ``IN (...)`` query, well below SQLite's parameter limit.
_QUERY_CHUNK = 500

# How long a writer waits for another writer (e.g. the review page) before
# giving up: long enough for a large batch's final copy.
_BUSY_TIMEOUT_S = 60.0

# The columns of a reading, in one place: the ``readings`` table (its layout
# comes from ljun._migrations) and the staging table of a batch are both made
# of them, and a batch's commit copies them from one to the other.
_READING_COLUMNS: tuple[str, ...] = (
    "template",
    "nomor_peserta",
    "nama",
    "tanggal_lahir",
    "kode_kompetensi",
    "paket",
    "barcode",
    "answers",
    "flags",
    "review",
    "failure",
    "batch_flags",
    "darkness",
    "confidence",
    "calibration",
)

# The score columns a batch stages beside each reading (table ``scores``).
_SCORE_COLUMNS: tuple[str, ...] = ("key_hash", "correct", "score", "flags", "review")


def _staging_table(db: sqlite3.Connection) -> str:
    """``CREATE TEMP TABLE staged``: placement, every reading column, every score column.

    Staging lives in the connection's own temporary database, so filling it
    neither blocks other writers nor touches the store.  Reading columns are
    prefixed ``r_`` and score columns ``s_`` (both tables have ``flags`` and
    ``review``); their types are those of the store's tables.
    """
    types = {
        table: {
            row[1]: f"{row[2]} {'NOT NULL' if row[3] else ''}".strip()
            for row in db.execute(f"PRAGMA table_info({table})")
        }
        for table in ("readings", "scores")
    }
    columns = [
        "seq INTEGER PRIMARY KEY",
        "file_index INTEGER NOT NULL",
        "page_hash TEXT NOT NULL",
        "source TEXT NOT NULL",
        "page INTEGER NOT NULL",
    ]
    columns += [f"r_{name} {types['readings'][name]}" for name in _READING_COLUMNS]
    columns += [f"s_{name} {types['scores'][name]}" for name in _SCORE_COLUMNS]
    return f"CREATE TEMP TABLE IF NOT EXISTS staged ({', '.join(columns)})"


# SQLite result codes that mean the file could not be written or opened (disk
# full, I/O error, read-only), not that it is not a store: exit code EXIT_IO.
_IO_ERROR_NAMES = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_READONLY")


def _is_io_error(exc: sqlite3.Error) -> bool:
    return str(getattr(exc, "sqlite_errorname", "")).startswith(_IO_ERROR_NAMES)


def _store_error(message: str, exc: sqlite3.Error) -> StoreError:
    """A :class:`StoreError`, or a :class:`StoreOutputError` when ``exc`` is a write failure."""
    if _is_io_error(exc):
        return StoreOutputError(message)
    return StoreError(message)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _json_list(values: Iterable[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))


def _blob(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype=np.float32).tobytes()


@dataclass(frozen=True)
class BatchInfo:
    """One row of ``batches``: a ``score`` or ``rescore`` run."""

    id: int
    kind: str
    status: str
    started_at: str
    finished_at: str | None
    template: str
    arguments: Mapping[str, Any]
    summary: Mapping[str, Any]


@dataclass(frozen=True)
class ReconciliationEntry:
    """One finding of batch reconciliation.

    ``kind`` is ``file_pages`` (``detail`` holds the counts as JSON),
    ``duplicate_nomor_peserta``, ``duplicate_barcode``, ``duplicate_page``
    (the same page given twice), ``absent`` (on the attendance list, not
    scanned) or ``not_on_attendance`` (scanned, not on the list).
    """

    kind: str
    source: str = ""
    page: int = 0
    nomor_peserta: str = ""
    barcode: str = ""
    detail: str = ""


@dataclass(frozen=True)
class StoredIdentity:
    """Who a stored sheet says it is, and where it came from (for reconciliation)."""

    page_id: int
    batch_id: int
    source: str
    page: int
    nomor_peserta: str
    barcode: str


@dataclass(frozen=True)
class WatchedFile:
    """One row of the folder watcher's journal (table ``watched_files``).

    ``digest`` is the digest of the file's bytes (:func:`ljun.batch.file_digest`
    with the store's :attr:`ResultsStore.file_digest_algorithm`),
    ``name`` the file's name in ``inbox``, ``outcome`` a
    :class:`~ljun.vocabulary.WatchOutcome` and ``destination`` the path it
    was moved to.  ``batch_id`` is the batch that stored its sheets (``None``
    when none did now: a duplicate, or sheets stored before a crash);
    ``pages``, ``review`` and ``failed`` count its sheets; ``at`` is an ISO
    UTC time.
    """

    digest: str
    name: str
    inbox: str
    outcome: str
    destination: str
    batch_id: int | None = None
    pages: int = 0
    review: int = 0
    failed: int = 0
    detail: str = ""
    at: str = ""


@dataclass(frozen=True)
class StoreStatus:
    """What a store holds, for ``ljun status`` (see :meth:`ResultsStore.status`).

    ``batches_since`` counts batches started at or after ``since`` by status;
    ``sheets``, ``review`` (current score in review) and ``failed`` (no
    reading) count every stored sheet; ``files_since`` counts the watcher's
    files since ``since`` by outcome; ``last_file`` is its newest journal row.
    """

    since: str
    batches_since: Mapping[str, int]
    sheets: int
    review: int
    failed: int
    files_since: Mapping[str, int]
    last_file: WatchedFile | None
    last_batch: BatchInfo | None


@dataclass(frozen=True, eq=False)
class StoredSheet:
    """A stored page with its latest reading and current score, for rescoring.

    ``reading.darkness`` and ``reading.confidence`` are float32 arrays as
    stored; ``batch_flags`` are the flags batch reconciliation added;
    ``score``, ``flags`` and ``review`` are those of the latest score row.
    """

    page_id: int
    page_hash: str
    reading: SheetReading
    batch_flags: tuple[str, ...] = field(default=())
    score: Decimal | None = None
    flags: tuple[str, ...] = field(default=())
    review: bool = False


#: The columns :func:`reading_from_row` takes, as an SQL select list over
#: ``pages p JOIN readings r``.
READING_SELECT = (
    "p.source, p.page, r.template, r.nomor_peserta, r.nama, r.tanggal_lahir, "
    "r.kode_kompetensi, r.paket, r.barcode, r.answers, r.flags, r.review, r.failure, "
    "r.darkness, r.confidence"
)


def reading_from_row(row: Sequence[Any]) -> SheetReading:
    """A stored reading back as a :class:`SheetReading`, from the columns of :data:`READING_SELECT`."""
    (
        source,
        page,
        template,
        nomor,
        nama,
        tanggal,
        kode,
        paket,
        barcode,
        answers,
        flags,
        review,
        failure,
        darkness,
        confidence,
    ) = row
    return SheetReading(
        source=source,
        page=page,
        template=template,
        nomor_peserta=nomor,
        nama=nama,
        tanggal_lahir=tanggal,
        kode_kompetensi=kode,
        paket=paket,
        barcode=barcode,
        answers=tuple(json.loads(answers)),
        flags=tuple(json.loads(flags)),
        review=bool(review),
        failure=None if failure is None else FailureReason(failure),
        darkness=np.frombuffer(darkness, dtype=np.float32),
        confidence=np.frombuffer(confidence, dtype=np.float32),
    )


class ResultsStore:
    """A results store file; open one with :func:`open_store`.

    Use as a context manager (or call :meth:`close`).
    """

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self._db = connection
        self.path = path

    # ----------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The open connection (autocommit mode), for modules with own tables (ljun.review)."""
        return self._db

    @property
    def file_digest_algorithm(self) -> DigestAlgorithm:
        """The digest that identifies scan files in this store (:func:`file_digest_algorithm`)."""
        return file_digest_algorithm(self._db)

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----------------------------------------------------------------- writing

    def begin_batch(
        self,
        *,
        kind: str = "score",
        template: str,
        arguments: Mapping[str, Any] | None = None,
        calibration: str = "",
    ) -> BatchWriter:
        """Record a new batch as ``running`` and return its writer.

        ``calibration`` names the calibration that reads the batch's sheets
        (:attr:`ljun.calibration.Calibration.identity`); every reading of the
        batch records it.  Nothing of the batch is visible in the store until
        :meth:`BatchWriter.commit`.
        """
        try:
            with self._transaction():
                cursor = self._db.execute(
                    "INSERT INTO batches (kind, status, started_at, template, arguments) "
                    "VALUES (?, 'running', ?, ?, ?)",
                    (kind, _now(), template, json.dumps(dict(arguments or {}), default=str)),
                )
                batch_id = int(cursor.lastrowid or 0)
                # Held before the row is visible: no other run can take it for a dead one.
                if self.path != ":memory:":
                    _runlock.hold_batch(self.path, batch_id)
        except sqlite3.Error as exc:
            raise _store_error(
                f"results store {self.path}: cannot start a batch: {exc}", exc
            ) from None
        except OSError as exc:
            raise output_error(_runlock.lock_path(self.path), exc, what="the lock file") from None
        self._db.execute("DROP TABLE IF EXISTS temp.staged")
        self._db.execute(_staging_table(self._db))
        return BatchWriter(self, batch_id, calibration=calibration)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db, self.path)

    @property
    def certificates(self) -> CertificateRegistry:
        """The certificate register of this store (:mod:`ljun.grade._registry`)."""
        from .grade._registry import CertificateRegistry  # grading's own tables

        return CertificateRegistry(self._db, self.path, self._transaction)

    def mark_interrupted(self) -> list[BatchInfo]:
        """Mark ``interrupted`` every ``running`` batch whose process is gone; return them.

        A batch another live process is writing stays ``running``
        (:mod:`ljun._runlock`).  None of an interrupted batch's sheets were
        stored (a batch is stored in one transaction), so only its row changes.
        """
        if self.path == ":memory:":
            return []
        try:
            with self._transaction() as db:
                running = [
                    int(row[0])
                    for row in db.execute("SELECT id FROM batches WHERE status = 'running'")
                ]
                dead = [b for b in running if not _runlock.batch_is_live(self.path, b)]
                db.executemany(
                    "UPDATE batches SET status = 'interrupted' WHERE id = ?", ((b,) for b in dead)
                )
        except sqlite3.Error as exc:
            raise _store_error(
                f"results store {self.path}: cannot be written: {exc}", exc
            ) from None
        return [b for b in self.batches() if b.id in set(dead)]

    # ----------------------------------------------------------------- reading

    def result_records(self, *, batch: int | None = None) -> Iterator[dict[str, Any]]:
        """The latest result record of every sheet (ARCHITECTURE.md §3 keys, in order).

        Parameters
        ----------
        batch : int, optional
            Only the sheets that batch read last (its own results), in the
            batch's file-and-page order.

        Yields
        ------
        dict
            ``answers`` and ``flags`` as lists, ``correct`` int or ``None``,
            ``score`` a :class:`~decimal.Decimal` with 2 decimals or ``None``,
            ``review`` bool.  Ordered by batch, then file order and page.
        """
        where, parameters = ("WHERE p.batch_id = ?", (batch,)) if batch is not None else ("", ())
        cursor = self._db.execute(
            "SELECT p.source, p.page, r.template, r.nomor_peserta, r.nama, r.tanggal_lahir, "
            "r.kode_kompetensi, r.paket, r.barcode, r.answers, s.correct, s.score, s.flags, "
            "s.review FROM pages p JOIN readings r ON r.page_id = p.id "
            "JOIN scores s ON s.id = (SELECT max(id) FROM scores WHERE page_id = p.id) "
            f"{where} ORDER BY p.batch_id, p.ordinal",
            parameters,
        )
        for row in cursor:
            record = dict(zip(RESULT_KEYS, row))
            record["answers"] = json.loads(record["answers"])
            record["flags"] = json.loads(record["flags"])
            record["score"] = None if record["score"] is None else Decimal(record["score"])
            record["review"] = bool(record["review"])
            yield record

    def report_records(self, *, batches: Sequence[int] | None = None) -> Iterator[dict[str, Any]]:
        """:meth:`result_records` plus ``batch`` and ``key_hash``, for reports.

        ``batch`` is the batch that read the sheet last, ``key_hash`` the
        key of its current score (``None`` when unscored).  ``batches``
        limits the sheets to those the given batches read last.
        """
        where = ""
        parameters: tuple[int, ...] = ()
        if batches is not None:
            where = f"WHERE p.batch_id IN ({', '.join('?' * len(batches))})"
            parameters = tuple(batches)
        cursor = self._db.execute(
            "SELECT p.source, p.page, r.template, r.nomor_peserta, r.nama, r.tanggal_lahir, "
            "r.kode_kompetensi, r.paket, r.barcode, r.answers, s.correct, s.score, s.flags, "
            "s.review, p.batch_id, s.key_hash FROM pages p JOIN readings r ON r.page_id = p.id "
            "JOIN scores s ON s.id = (SELECT max(id) FROM scores WHERE page_id = p.id) "
            f"{where} ORDER BY p.batch_id, p.ordinal",
            parameters,
        )
        for row in cursor:
            record = dict(zip((*RESULT_KEYS, "batch", "key_hash"), row))
            record["answers"] = json.loads(record["answers"])
            record["flags"] = json.loads(record["flags"])
            record["score"] = None if record["score"] is None else Decimal(record["score"])
            record["review"] = bool(record["review"])
            yield record

    def stored_sheets(self) -> Iterator[StoredSheet]:
        """Every stored page with its latest reading, in result order."""
        cursor = self._db.execute(
            f"SELECT p.id, p.page_hash, {READING_SELECT}, r.batch_flags, s.score, s.flags, "
            "s.review FROM pages p JOIN readings r ON r.page_id = p.id "
            "JOIN scores s ON s.id = (SELECT max(id) FROM scores WHERE page_id = p.id) "
            "ORDER BY p.batch_id, p.ordinal"
        )
        width = READING_SELECT.count(",") + 1
        for row in cursor:
            page_id, page_hash = row[0], row[1]
            batch_flags, score, score_flags, score_review = row[2 + width :]
            yield StoredSheet(
                page_id,
                page_hash,
                reading_from_row(row[2 : 2 + width]),
                tuple(json.loads(batch_flags)),
                None if score is None else Decimal(score),
                tuple(json.loads(score_flags)),
                bool(score_review),
            )

    def identities_matching(
        self,
        *,
        nomor_peserta: Iterable[str] = (),
        barcodes: Iterable[str] = (),
        exclude_page_hashes: Iterable[str] = (),
    ) -> list[StoredIdentity]:
        """Stored sheets whose latest reading has one of these nomor peserta or barcodes.

        Pages whose hash is in ``exclude_page_hashes`` (the batch's own
        pages, about to be replaced) are left out.  Ordered by batch and
        place in the batch.
        """
        found: dict[int, StoredIdentity] = {}
        excluded = set(exclude_page_hashes)
        for column, values in (("nomor_peserta", nomor_peserta), ("barcode", barcodes)):
            wanted = sorted(set(values))
            # SQLite limits the number of parameters of one statement.
            for start in range(0, len(wanted), _QUERY_CHUNK):
                chunk = wanted[start : start + _QUERY_CHUNK]
                rows = self._db.execute(
                    "SELECT p.id, p.batch_id, p.source, p.page, r.nomor_peserta, r.barcode, "
                    f"p.page_hash FROM readings r JOIN pages p ON p.id = r.page_id "
                    f"WHERE r.{column} IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
                for row in rows:
                    if row[6] not in excluded:
                        found[row[0]] = StoredIdentity(*row[:6])
        return sorted(found.values(), key=lambda s: (s.batch_id, s.page_id))

    def batches(self) -> list[BatchInfo]:
        """Every batch, oldest first."""
        rows = self._db.execute(
            "SELECT id, kind, status, started_at, finished_at, template, arguments, summary "
            "FROM batches ORDER BY id"
        ).fetchall()
        return [
            BatchInfo(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), json.loads(r[7]))
            for r in rows
        ]

    def batch(self, batch_id: int) -> BatchInfo:
        """The batch ``batch_id``; :class:`StoreError` if there is none."""
        for info in self.batches():
            if info.id == batch_id:
                return info
        raise StoreError(f"results store {self.path}: no batch {batch_id}")

    def last_batch(self, *, kind: str | None = None, complete: bool = True) -> BatchInfo | None:
        """The newest batch (of ``kind``, complete only by default), or ``None``."""
        found = [
            b
            for b in self.batches()
            if (kind is None or b.kind == kind) and (not complete or b.status == "complete")
        ]
        return found[-1] if found else None

    def reconciliation(self, batch_id: int) -> list[ReconciliationEntry]:
        """What reconciliation found in batch ``batch_id``, in the order found."""
        rows = self._db.execute(
            "SELECT kind, source, page, nomor_peserta, barcode, detail FROM reconciliation "
            "WHERE batch_id = ? ORDER BY id",
            (batch_id,),
        ).fetchall()
        return [ReconciliationEntry(*row) for row in rows]

    def answer_key(self, content_hash: str) -> AnswerKey:
        """A stored key by its content hash."""
        row = self._db.execute(
            "SELECT document, first_source FROM answer_keys WHERE hash = ?", (content_hash,)
        ).fetchone()
        if row is None:
            raise StoreError(f"results store {self.path}: no answer key {content_hash}")
        return parse_answer_key(json.loads(row[0]), source=row[1])

    def answer_rows(self) -> int:
        """The most answers any stored reading has (0 for an empty store)."""
        row = self._db.execute(
            "SELECT max(json_array_length(answers)) FROM readings WHERE failure IS NULL"
        ).fetchone()
        return int(row[0] or 0)

    def count(self, table: str) -> int:
        """Rows in ``table`` (one of the store's tables)."""
        if table not in {
            "batches",
            "answer_keys",
            "batch_keys",
            "pages",
            "readings",
            "scores",
            "reconciliation",
            "certificates",
            "certificate_events",
            "watched_files",
        }:
            raise ValueError(f"no table {table!r} in the results store")
        return int(self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    # ----------------------------------------------------------------- watcher

    def record_watched(self, files: Iterable[WatchedFile]) -> None:
        """Add rows to the folder watcher's journal, all in one transaction."""
        rows = [
            (
                f.digest,
                f.name,
                f.inbox,
                f.outcome,
                f.destination,
                f.batch_id,
                f.pages,
                f.review,
                f.failed,
                f.detail,
                f.at or _now(),
            )
            for f in files
        ]
        try:
            with self._transaction() as db:
                db.executemany(
                    "INSERT INTO watched_files (digest, name, inbox, outcome, destination, "
                    "batch_id, pages, review, failed, detail, at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
        except sqlite3.Error as exc:
            raise StoreError(
                f"results store {self.path}: cannot record the watched files: {exc}"
            ) from exc

    def watched(self, digest: str) -> list[WatchedFile]:
        """The journal rows of files whose bytes hash to ``digest``, oldest first."""
        rows = self._db.execute(
            f"SELECT {_WATCHED_COLUMNS} FROM watched_files WHERE digest = ? ORDER BY id",
            (digest,),
        ).fetchall()
        return [WatchedFile(*row) for row in rows]

    def stored_pages(self, page_hashes: Iterable[str]) -> dict[str, tuple[str | None, bool]]:
        """``page_hash -> (failure, review)`` of those stored, by their latest score."""
        found: dict[str, tuple[str | None, bool]] = {}
        wanted = sorted(set(page_hashes))
        for start in range(0, len(wanted), _QUERY_CHUNK):
            chunk = wanted[start : start + _QUERY_CHUNK]
            rows = self._db.execute(
                "SELECT p.page_hash, r.failure, s.review FROM pages p "
                "JOIN readings r ON r.page_id = p.id "
                "JOIN scores s ON s.id = (SELECT max(id) FROM scores WHERE page_id = p.id) "
                f"WHERE p.page_hash IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            found.update({row[0]: (row[1], bool(row[2])) for row in rows})
        return found

    def status(self, *, since: str) -> StoreStatus:
        """Counts for ``ljun status``: batches and watched files since ``since`` (ISO UTC)."""
        db = self._db
        batches = dict(
            db.execute(
                "SELECT status, count(*) FROM batches WHERE started_at >= ? GROUP BY status",
                (since,),
            ).fetchall()
        )
        sheets, failed = db.execute("SELECT count(*), count(failure) FROM readings").fetchone()
        review = db.execute(
            "SELECT count(*) FROM pages p JOIN scores s ON s.id = "
            "(SELECT max(id) FROM scores WHERE page_id = p.id) WHERE s.review = 1"
        ).fetchone()[0]
        files = dict(
            db.execute(
                "SELECT outcome, count(*) FROM watched_files WHERE at >= ? GROUP BY outcome",
                (since,),
            ).fetchall()
        )
        last = db.execute(
            f"SELECT {_WATCHED_COLUMNS} FROM watched_files ORDER BY id DESC LIMIT 1"
        ).fetchone()
        every = self.batches()
        return StoreStatus(
            since=since,
            batches_since=batches,
            sheets=int(sheets),
            review=int(review),
            failed=int(failed),
            files_since=files,
            last_file=None if last is None else WatchedFile(*last),
            last_batch=every[-1] if every else None,
        )

    def record_rescore(
        self,
        *,
        template: str,
        keys: AnswerKeySet,
        rescored: Iterable[tuple[int, ScoredSheet]],
        arguments: Mapping[str, Any] | None = None,
        summary: Callable[[], Mapping[str, Any]] | None = None,
    ) -> int:
        """Store a rescore run in one transaction; return its batch id.

        ``rescored`` yields ``(page_id, scored)`` with the final flags
        (reconciliation flags included); it may read the store as it goes
        (:meth:`stored_sheets`).  ``summary`` is called once ``rescored`` is
        exhausted, and what it returns is stored with the batch.
        """
        writer = self.begin_batch(kind="rescore", template=template, arguments=arguments)
        try:
            with self._transaction():
                writer._insert_keys(keys)
                self._db.executemany(
                    "INSERT INTO scores (page_id, batch_id, key_hash, correct, score, flags, "
                    "review) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        (page_id, writer.batch_id, *_score_columns(scored))
                        for page_id, scored in rescored
                    ),
                )
                self._db.execute(
                    "UPDATE batches SET status = 'complete', finished_at = ?, summary = ? "
                    "WHERE id = ?",
                    (
                        _now(),
                        json.dumps(dict(summary() if summary else {}), default=str),
                        writer.batch_id,
                    ),
                )
        except sqlite3.Error as exc:
            writer.abort()
            raise _store_error(
                f"results store {self.path}: the rescore could not be stored, the earlier "
                f"scores stay: {exc}",
                exc,
            ) from None
        except BaseException:
            writer.abort()
            raise
        writer.finished = True
        writer._release()
        return writer.batch_id


_WATCHED_COLUMNS = (
    "digest, name, inbox, outcome, destination, batch_id, pages, review, failed, detail, at"
)


def _score_columns(scored: ScoredSheet) -> tuple[Any, ...]:
    return (
        scored.key.content_hash if scored.key is not None else None,
        scored.correct,
        None if scored.score is None else format(scored.score, "f"),
        _json_list(scored.flags),
        int(scored.review),
    )


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception."""

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self._db = connection
        self._path = path

    def __enter__(self) -> sqlite3.Connection:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(
                f"results store {self._path}: cannot start writing: {exc} (another program "
                "is writing to it; try again when it is done)"
            ) from None
        return self._db

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        elif self._db.in_transaction:  # SQLite may have rolled back already (disk full ...)
            self._db.execute("ROLLBACK")


class BatchWriter:
    """Collects one batch's sheets and stores them all at once.

    :meth:`stage` each scored sheet as it comes (any order), :meth:`flag`
    sheets that reconciliation finds, then :meth:`commit`.  Until then
    nothing of the batch is in the store; :meth:`abort` marks it failed.
    """

    def __init__(self, store: ResultsStore, batch_id: int, *, calibration: str = "") -> None:
        self._store = store
        self._calibration = calibration
        self._stored_flags: dict[int, list[str]] = {}
        self._db = store._db
        self.batch_id = batch_id
        self.finished = False

    def stage(self, scored: ScoredSheet, *, page_hash: str, file_index: int) -> int:
        """Stage one scored sheet; return its staging number (for :meth:`flag`).

        ``file_index`` is the file's position in the batch: the store orders
        a batch's sheets by it, then by page.
        """
        reading = scored.reading
        try:
            cursor = self._insert_staged(scored, page_hash, file_index)
        except sqlite3.Error as exc:
            raise _store_error(
                f"results store {self._store.path}: cannot stage sheet {reading.source} "
                f"page {reading.page} (temporary space full?): {exc}",
                exc,
            ) from None
        return int(cursor.lastrowid or 0)

    def _insert_staged(
        self, scored: ScoredSheet, page_hash: str, file_index: int
    ) -> sqlite3.Cursor:
        reading = scored.reading
        values = {
            "template": reading.template,
            "nomor_peserta": reading.nomor_peserta,
            "nama": reading.nama,
            "tanggal_lahir": reading.tanggal_lahir,
            "kode_kompetensi": reading.kode_kompetensi,
            "paket": reading.paket,
            "barcode": reading.barcode,
            "answers": _json_list(reading.answers),
            "flags": _json_list(reading.flags),
            "review": int(reading.review),
            "failure": reading.failure,
            "batch_flags": "[]",
            "darkness": _blob(reading.darkness),
            "confidence": _blob(reading.confidence),
            "calibration": self._calibration,
        }
        columns = ["file_index", "page_hash", "source", "page"]
        columns += [f"r_{name}" for name in _READING_COLUMNS]
        columns += [f"s_{name}" for name in _SCORE_COLUMNS]
        row = (
            file_index,
            page_hash,
            reading.source,
            reading.page,
            *(values[name] for name in _READING_COLUMNS),
            *_score_columns(scored),
        )
        return self._db.execute(
            f"INSERT INTO temp.staged ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            row,
        )

    def flag(self, seq: int, flags: Sequence[str]) -> None:
        """Add reconciliation ``flags`` to staged sheet ``seq`` and send it to review."""
        if not flags:
            return
        row = self._db.execute(
            "SELECT s_flags, r_batch_flags FROM temp.staged WHERE seq = ?", (seq,)
        ).fetchone()
        if row is None:
            raise StoreError(f"results store {self._store.path}: no staged sheet {seq}")
        self._db.execute(
            "UPDATE temp.staged SET s_flags = ?, r_batch_flags = ?, s_review = 1 WHERE seq = ?",
            (
                _json_list(add_flags(json.loads(row[0]), *flags)),
                _json_list(add_flags(json.loads(row[1]), *flags)),
                seq,
            ),
        )

    def flag_stored(self, page_id: int, flags: Sequence[str]) -> None:
        """Add reconciliation ``flags`` to a sheet an earlier batch stored; applied at commit.

        At :meth:`commit` the sheet gets a new score row (its latest score,
        the flags added, in review) and the flags join its ``batch_flags``,
        so a later rescore keeps them.
        """
        self._stored_flags.setdefault(page_id, []).extend(flags)

    def _apply_stored_flags(self, db: sqlite3.Connection) -> None:
        for page_id, flags in self._stored_flags.items():
            latest = db.execute(
                "SELECT key_hash, correct, score, flags FROM scores WHERE page_id = ? "
                "ORDER BY id DESC LIMIT 1",
                (page_id,),
            ).fetchone()
            batch_flags = db.execute(
                "SELECT batch_flags FROM readings WHERE page_id = ?", (page_id,)
            ).fetchone()
            if latest is None or batch_flags is None:
                continue
            db.execute(
                "INSERT INTO scores (page_id, batch_id, key_hash, correct, score, flags, review) "
                "VALUES (?, ?, ?, ?, ?, ?, 1)",
                (
                    page_id,
                    self.batch_id,
                    latest[0],
                    latest[1],
                    latest[2],
                    _json_list(add_flags(json.loads(latest[3]), *flags)),
                ),
            )
            db.execute(
                "UPDATE readings SET batch_flags = ? WHERE page_id = ?",
                (_json_list(add_flags(json.loads(batch_flags[0]), *flags)), page_id),
            )

    def _insert_keys(self, keys: AnswerKeySet) -> None:
        for key in keys:
            self._db.execute(
                "INSERT OR IGNORE INTO answer_keys (hash, paket, kode_kompetensi, items, "
                "document, first_source, added_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key.content_hash,
                    key.paket,
                    key.kode_kompetensi,
                    key.items,
                    key.canonical_json(),
                    key.source,
                    _now(),
                ),
            )
            self._db.execute(
                "INSERT OR IGNORE INTO batch_keys (batch_id, key_hash, source) VALUES (?, ?, ?)",
                (self.batch_id, key.content_hash, key.source),
            )

    def commit(
        self,
        *,
        keys: AnswerKeySet,
        reconciliation: Iterable[ReconciliationEntry] = (),
        summary: Mapping[str, Any] | None = None,
    ) -> None:
        """Copy the staged sheets into the store and mark the batch complete.

        One transaction: either all of it is stored or none.  A page already
        in the store (same ``page_hash``) gets the new reading and a new
        score row; it is not added again.  When a page hash was staged twice
        the first staging wins.
        """
        batch = self.batch_id
        try:
            with self._store._transaction() as db:
                self._insert_keys(keys)
                # First staging of each page hash, in file-then-page order.
                db.execute(
                    "CREATE TEMP TABLE ordered AS SELECT seq, row_number() OVER "
                    "(ORDER BY file_index, page, seq) AS ordinal FROM temp.staged "
                    "WHERE seq IN (SELECT min(seq) FROM temp.staged GROUP BY page_hash)"
                )
                db.execute(
                    "INSERT INTO pages (page_hash, source, page, batch_id, ordinal) "
                    "SELECT s.page_hash, s.source, s.page, ?, o.ordinal "
                    "FROM temp.staged s JOIN temp.ordered o ON o.seq = s.seq WHERE true "
                    "ON CONFLICT (page_hash) DO UPDATE SET source = excluded.source, "
                    "page = excluded.page, batch_id = excluded.batch_id, "
                    "ordinal = excluded.ordinal",
                    (batch,),
                )
                staged = (
                    "FROM temp.staged s JOIN temp.ordered o ON o.seq = s.seq "
                    "JOIN pages p ON p.page_hash = s.page_hash"
                )
                db.execute(
                    f"INSERT OR REPLACE INTO readings (page_id, batch_id, "
                    f"{', '.join(_READING_COLUMNS)}) SELECT p.id, ?, "
                    f"{', '.join(f's.r_{name}' for name in _READING_COLUMNS)} {staged}",
                    (batch,),
                )
                db.execute(
                    f"INSERT INTO scores (page_id, batch_id, {', '.join(_SCORE_COLUMNS)}) "
                    f"SELECT p.id, ?, {', '.join(f's.s_{name}' for name in _SCORE_COLUMNS)} "
                    f"{staged} ORDER BY o.ordinal",
                    (batch,),
                )
                self._apply_stored_flags(db)
                db.executemany(
                    "INSERT INTO reconciliation (batch_id, kind, source, page, nomor_peserta, "
                    "barcode, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        (batch, e.kind, e.source, e.page, e.nomor_peserta, e.barcode, e.detail)
                        for e in reconciliation
                    ),
                )
                db.execute(
                    "UPDATE batches SET status = 'complete', finished_at = ?, summary = ? "
                    "WHERE id = ?",
                    (_now(), json.dumps(dict(summary or {}), default=str), batch),
                )
                db.execute("DROP TABLE temp.ordered")
        except sqlite3.Error as exc:
            self.abort()
            raise _store_error(
                f"results store {self._store.path}: batch {batch} could not be stored, "
                f"nothing of it was kept: {exc}",
                exc,
            ) from None
        except BaseException:
            self.abort()
            raise
        self._drop_staging()
        self.finished = True
        self._release()

    def _release(self) -> None:
        if self._store.path != ":memory:":
            _runlock.release_batch(self._store.path, self.batch_id)

    def abort(self) -> None:
        """Mark the batch failed and drop what was staged; the store keeps its earlier state."""
        if self.finished:
            return
        self.finished = True
        try:
            self._db.execute("DROP TABLE IF EXISTS temp.ordered")
            self._drop_staging()
            with self._store._transaction():
                self._db.execute(
                    "UPDATE batches SET status = 'failed', finished_at = ? WHERE id = ?",
                    (_now(), self.batch_id),
                )
        except (sqlite3.Error, StoreError):
            # The batch stays 'running' (the next run marks it interrupted):
            # still no sheet of it is stored.
            pass
        self._release()

    def _drop_staging(self) -> None:
        self._db.execute("DROP TABLE IF EXISTS temp.staged")


def file_digest_algorithm(connection: sqlite3.Connection) -> DigestAlgorithm:
    """The digest that identifies scan files in the store open on ``connection``.

    BLAKE3 in a store made by this ljun, SHA-256 in one that held sheets
    before the choice was recorded (migration ``0006_file_digest``).
    """
    row = connection.execute(
        "SELECT value FROM store_settings WHERE name = 'file_digest'"
    ).fetchone()
    for algorithm in DIGEST_ALGORITHMS:
        if row is not None and row[0] == algorithm:
            return algorithm
    raise StoreError(
        f"results store: unknown file digest {row[0] if row else None!r} in store_settings "
        f"(this ljun knows {', '.join(DIGEST_ALGORITHMS)}); upgrade ljun"
    )


def open_store(path: str | os.PathLike[str], *, create: bool = True) -> ResultsStore:
    """Open (and if needed create) the results store at ``path``.

    Parameters
    ----------
    path : str or PathLike
        The SQLite file; ``":memory:"`` for a throw-away store.
    create : bool, optional
        Create the file when it does not exist (default).  With ``False`` a
        missing file is a :class:`StoreError`.

    Raises
    ------
    StoreError
        When the file is not an ljun store (or not SQLite), was written by a
        newer ljun, or cannot be opened.
    """
    name = os.fspath(path)
    if name != ":memory:":
        if not create and not Path(name).is_file():
            raise StoreError(
                f"results store {name}: no such file (fix: run `ljun score` first, or give "
                "--db the store it wrote)"
            )
        if Path(name).is_dir():
            raise StoreError(f"results store {name}: is a folder (fix: give a file name)")
    created = name != ":memory:" and _create_private(name)
    try:
        connection = sqlite3.connect(name, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        _remove_created(name, created)
        raise _store_error(f"results store {name}: cannot be opened: {exc}", exc) from None
    try:
        _prepare(connection, name)
    except sqlite3.DatabaseError as exc:
        connection.close()
        _remove_created(name, created)
        if _is_io_error(exc):
            raise StoreOutputError(
                f"results store {name}: cannot be written: {exc} (fix: free some disk space, "
                "or give --db a file on a disk you may write to)"
            ) from None
        raise StoreError(
            f"results store {name}: not an ljun results store ({exc}) "
            "(fix: give --db a new file name or an ljun.sqlite written by ljun score)"
        ) from None
    except StoreError:
        connection.close()
        _remove_created(name, created)
        raise
    return ResultsStore(connection, name)


def _create_private(name: str) -> bool:
    """Create an empty store file with :func:`~ljun._io.file_mode`; True if this call made it.

    SQLite gives the ``-wal`` and ``-shm`` files the permissions of the store file.
    """
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode())
    except FileExistsError:
        return False
    except OSError as exc:
        raise StoreOutputError(str(output_error(name, exc, what="results store"))) from None
    os.close(fd)
    return True


def _remove_created(name: str, created: bool) -> None:
    # A store this call created but could not set up leaves no empty file behind.
    if created:
        for leftover in (name, f"{name}-wal", f"{name}-shm", f"{name}-journal"):
            with contextlib.suppress(OSError):
                os.unlink(leftover)


def _prepare(connection: sqlite3.Connection, name: str) -> None:
    tables = {
        row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    if tables and "batches" not in tables:
        raise StoreError(
            f"results store {name}: an SQLite file with other tables, not an ljun store "
            "(fix: give --db a new file name)"
        )
    if name != ":memory:" and not tables:
        connection.execute("PRAGMA journal_mode = WAL")
    migrate(connection, name)
    connection.execute("PRAGMA foreign_keys = ON")
