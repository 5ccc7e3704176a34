"""Schema migrations of the results store: numbered steps, each in one transaction.

The store's layout is the list :data:`MIGRATIONS`, applied in order.  A step
is never edited once it has landed: a change of layout is a new step at the
end.  Each store file records the steps it has (table ``schema_migrations``)
and their count in ``PRAGMA user_version``, so

- a new file gets every step, one transaction each;
- an older file gets the steps it lacks, one transaction each, the first
  time a newer ljun opens it (a crash between two steps leaves a file that is
  consistent at the earlier step, and the next open goes on from there);
- a file with a step this ljun does not know was written by a newer ljun,
  and is refused rather than misread.

Files written before this module existed have ``user_version = 1`` and no
``schema_migrations`` table: they hold exactly step 1.

Steps run with foreign keys off (SQLite cannot change that inside a
transaction), so a step may rebuild a table as SQLite's documentation
describes (create ``new_X``, copy, drop ``X``, rename).  A step's SQL is split
into statements with :func:`sqlite3.complete_statement`, so triggers (whose
bodies hold ``;``) are allowed.

Where a feature adds tables, it adds a step here and documents the tables in
``docs/ARCHITECTURE.md``.
"""

from __future__ import annotations

import datetime as _dt
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import StoreError

__all__ = ["Migration", "MIGRATIONS", "SCHEMA_VERSION", "migrate", "applied_migrations"]


@dataclass(frozen=True)
class Migration:
    """One step of the store's layout.

    Attributes
    ----------
    name : str
        Unique and stable, ``NNNN_what`` (``0002_calibration_per_sheet``).
    sql : str
        The statements of the step, run in one transaction.
    """

    name: str
    sql: str


_INITIAL = """
CREATE TABLE batches (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('score', 'rescore')),
    status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    template TEXT NOT NULL,
    arguments TEXT NOT NULL DEFAULT '{}',
    summary TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE answer_keys (
    hash TEXT PRIMARY KEY,
    paket TEXT NOT NULL,
    kode_kompetensi TEXT,
    items INTEGER NOT NULL,
    document TEXT NOT NULL,
    first_source TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE TABLE batch_keys (
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    key_hash TEXT NOT NULL REFERENCES answer_keys(hash),
    source TEXT NOT NULL,
    PRIMARY KEY (batch_id, key_hash)
);
CREATE TABLE pages (
    id INTEGER PRIMARY KEY,
    page_hash TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    page INTEGER NOT NULL,
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    ordinal INTEGER NOT NULL
);
CREATE INDEX pages_batch ON pages(batch_id, ordinal);
CREATE TABLE readings (
    page_id INTEGER PRIMARY KEY REFERENCES pages(id),
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    template TEXT NOT NULL,
    nomor_peserta TEXT NOT NULL,
    nama TEXT NOT NULL,
    tanggal_lahir TEXT NOT NULL,
    kode_kompetensi TEXT NOT NULL,
    paket TEXT NOT NULL,
    barcode TEXT NOT NULL,
    answers TEXT NOT NULL,
    flags TEXT NOT NULL,
    review INTEGER NOT NULL,
    failure TEXT,
    batch_flags TEXT NOT NULL,
    darkness BLOB NOT NULL,
    confidence BLOB NOT NULL
);
CREATE TABLE scores (
    id INTEGER PRIMARY KEY,
    page_id INTEGER NOT NULL REFERENCES pages(id),
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    key_hash TEXT REFERENCES answer_keys(hash),
    correct INTEGER,
    score TEXT,
    flags TEXT NOT NULL,
    review INTEGER NOT NULL
);
CREATE INDEX scores_page ON scores(page_id, id);
CREATE TABLE reconciliation (
    id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    kind TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    page INTEGER NOT NULL DEFAULT 0,
    nomor_peserta TEXT NOT NULL DEFAULT '',
    barcode TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX reconciliation_batch ON reconciliation(batch_id, kind);
"""

# Batches of new kinds (the watcher's, review decisions) and the status
# ``interrupted`` (a run killed before it finished, found by the next run);
# the kind is checked in code (ljun.vocabulary.BatchKind), not by SQLite.
# Each reading records the calibration that read it (name and content hash).
_BATCH_KINDS_AND_CALIBRATION = """
CREATE TABLE new_batches (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed', 'interrupted')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    template TEXT NOT NULL,
    arguments TEXT NOT NULL DEFAULT '{}',
    summary TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO new_batches SELECT id, kind, status, started_at, finished_at, template, arguments,
    summary FROM batches;
DROP TABLE batches;
ALTER TABLE new_batches RENAME TO batches;
ALTER TABLE readings ADD COLUMN calibration TEXT NOT NULL DEFAULT '';
CREATE INDEX readings_nomor ON readings(nomor_peserta);
CREATE INDEX readings_barcode ON readings(barcode);
"""

# The certificate register (ljun.grade._registry): every certificate number
# ever issued (with the practical score it was issued for), never deleted and
# never reused (UNIQUE number, UNIQUE sequence per group), at most one number
# in force per participant; a row changes only once, when it is withdrawn.  certificate_events is the append-only audit of
# every issue and withdrawal.
_CERTIFICATES = """
CREATE TABLE certificates (
    id INTEGER PRIMARY KEY,
    nomor_sertifikat TEXT NOT NULL UNIQUE,
    nomor_peserta TEXT NOT NULL,
    provinsi TEXT NOT NULL,
    kabupaten_kota TEXT NOT NULL,
    kode_kompetensi TEXT NOT NULL,
    sequence INTEGER NOT NULL CHECK (sequence >= 1),
    nilai_praktik TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    withdrawn_at TEXT,
    withdrawn_reason TEXT,
    withdrawn_by TEXT,
    UNIQUE (provinsi, kabupaten_kota, kode_kompetensi, sequence)
);
CREATE UNIQUE INDEX certificates_in_force ON certificates(nomor_peserta)
    WHERE withdrawn_at IS NULL;
CREATE TRIGGER certificates_never_deleted BEFORE DELETE ON certificates
BEGIN
    SELECT RAISE(ABORT, 'certificate numbers are never deleted; withdraw them');
END;
CREATE TRIGGER certificates_only_withdrawn BEFORE UPDATE ON certificates
WHEN old.withdrawn_at IS NOT NULL OR new.withdrawn_at IS NULL
    OR new.id IS NOT old.id
    OR new.nomor_sertifikat IS NOT old.nomor_sertifikat
    OR new.nomor_peserta IS NOT old.nomor_peserta
    OR new.provinsi IS NOT old.provinsi
    OR new.kabupaten_kota IS NOT old.kabupaten_kota
    OR new.kode_kompetensi IS NOT old.kode_kompetensi
    OR new.sequence IS NOT old.sequence
    OR new.nilai_praktik IS NOT old.nilai_praktik
    OR new.issued_at IS NOT old.issued_at
    OR new.batch_id IS NOT old.batch_id
BEGIN
    SELECT RAISE(ABORT, 'an issued certificate number only changes by being withdrawn, once');
END;
CREATE TABLE certificate_events (
    id INTEGER PRIMARY KEY,
    certificate_id INTEGER NOT NULL REFERENCES certificates(id),
    event TEXT NOT NULL CHECK (event IN ('issue', 'withdraw')),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    batch_id INTEGER REFERENCES batches(id)
);
CREATE INDEX certificate_events_certificate ON certificate_events(certificate_id, id);
CREATE TRIGGER certificate_events_no_update BEFORE UPDATE ON certificate_events
BEGIN
    SELECT RAISE(ABORT, 'certificate_events is append-only');
END;
CREATE TRIGGER certificate_events_no_delete BEFORE DELETE ON certificate_events
BEGIN
    SELECT RAISE(ABORT, 'certificate_events is append-only');
END;
"""

# The review web page (ljun.review): operator accounts and their sessions,
# each sheet's review state (its version guards against two operators saving
# over each other), the operators' decisions, what review needs of each review
# page kept at scoring time (ljun.review._capture), and the audit trail:
# append-only (triggers refuse UPDATE and DELETE) and hash-chained (each entry
# holds the hash of the one before, so an edit made with the triggers dropped
# is found by `ljun audit verify`).
_REVIEW = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('operator', 'supervisor')),
    password_hash TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT 'id',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE review_state (
    page_id INTEGER PRIMARY KEY REFERENCES pages(id),
    status TEXT NOT NULL CHECK (status IN ('open', 'resolved', 'rejected')),
    version INTEGER NOT NULL,
    acknowledged TEXT NOT NULL DEFAULT '[]',
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    page_id INTEGER NOT NULL REFERENCES pages(id),
    operator TEXT NOT NULL,
    at TEXT NOT NULL,
    field TEXT NOT NULL,
    item INTEGER NOT NULL,
    old_value TEXT NOT NULL,
    new_value TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX decisions_page ON decisions(page_id, id);
CREATE TABLE review_images (
    page_hash TEXT PRIMARY KEY,
    file_digest TEXT NOT NULL,
    page INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    dpi REAL NOT NULL,
    registered INTEGER NOT NULL,
    image BLOB NOT NULL,
    image_sha256 TEXT NOT NULL,
    centres BLOB NOT NULL,
    radii BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    operator TEXT NOT NULL,
    action TEXT NOT NULL,
    page_hash TEXT NOT NULL DEFAULT '',
    sheet TEXT NOT NULL DEFAULT '',
    field TEXT NOT NULL DEFAULT '',
    old_value TEXT NOT NULL DEFAULT '',
    new_value TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
"""

# The folder watcher's journal (ljun watch): one row per file it took out of
# its inbox: the file's content (the digest of ljun.batch.page_hash),
# the name it had, what was done with it and where it went.  A file dropped
# again under another name is recognised by its digest; after a crash
# between storing a file's sheets and moving it, the row says where it goes.
_WATCH = """
CREATE TABLE watched_files (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL,
    name TEXT NOT NULL,
    inbox TEXT NOT NULL,
    outcome TEXT NOT NULL,
    destination TEXT NOT NULL,
    batch_id INTEGER REFERENCES batches(id),
    pages INTEGER NOT NULL DEFAULT 0,
    review INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);
CREATE INDEX watched_files_digest ON watched_files(digest);
"""

# Which digest identifies a scan file's bytes (ljun.batch.file_digest): BLAKE3
# in a new store; SHA-256, the only one before this step, in a store that
# already holds digests, so its pages keep their identity.
_FILE_DIGEST = """
CREATE TABLE store_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO store_settings (name, value)
SELECT 'file_digest',
       CASE WHEN EXISTS (SELECT 1 FROM readings)
              OR EXISTS (SELECT 1 FROM watched_files)
              OR EXISTS (SELECT 1 FROM review_images)
            THEN 'sha256' ELSE 'blake3' END;
"""

#: Every step of the layout, oldest first.  Append only.
MIGRATIONS: tuple[Migration, ...] = (
    Migration("0001_initial", _INITIAL),
    Migration("0002_batch_kinds_and_calibration", _BATCH_KINDS_AND_CALIBRATION),
    Migration("0003_certificates", _CERTIFICATES),
    Migration("0004_review", _REVIEW),
    Migration("0005_watch", _WATCH),
    Migration("0006_file_digest", _FILE_DIGEST),
)

#: The layout this ljun writes: ``PRAGMA user_version`` of an up-to-date store.
SCHEMA_VERSION = len(MIGRATIONS)

_LEDGER = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
)


def _statements(sql: str) -> Iterator[str]:
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip().strip(";").strip():
                yield pending
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {pending.strip()[:60]}")


def applied_migrations(connection: sqlite3.Connection) -> list[str]:
    """Names of the steps a store file holds, in the order applied."""
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    has_ledger = connection.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()[0]
    if not has_ledger:
        # Stores from before the ledger: version 1 is exactly the first step.
        names = [m.name for m in MIGRATIONS[:version]]
        return names + [f"step {n}" for n in range(len(names) + 1, version + 1)]
    return [
        row[0] for row in connection.execute("SELECT name FROM schema_migrations ORDER BY rowid")
    ]


def migrate(connection: sqlite3.Connection, name: str) -> list[str]:
    """Bring the store file open on ``connection`` up to :data:`SCHEMA_VERSION`.

    ``connection`` must be in autocommit mode (``isolation_level=None``) and
    outside a transaction.  Returns the names of the steps applied now.

    Raises
    ------
    StoreError
        When the file holds a step this ljun does not know (a newer ljun wrote
        it), or a step fails (the file stays at the step before).
    """
    known = [m.name for m in MIGRATIONS]
    done_now: list[str] = []
    if applied_migrations(connection) == known:
        return done_now  # up to date: no write lock needed
    for migration in MIGRATIONS:
        connection.execute("BEGIN IMMEDIATE")
        try:
            # Read under the write lock: another process may be migrating too.
            applied = applied_migrations(connection)
            version = int(connection.execute("PRAGMA user_version").fetchone()[0])
            unknown = [step for step in applied if step not in known]
            if unknown or max(version, len(applied)) > len(known):
                raise StoreError(
                    f"results store {name}: schema version {max(version, len(applied))} "
                    f"({', '.join(unknown) or 'more steps'}) was written by a newer ljun "
                    f"(this one reads up to {SCHEMA_VERSION}); upgrade ljun"
                )
            if migration.name in applied:
                connection.execute("ROLLBACK")
                continue
            for statement in _statements(migration.sql):
                connection.execute(statement)
            connection.execute(_LEDGER)
            stamp = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
            for step in applied + [migration.name]:
                connection.execute(
                    "INSERT OR IGNORE INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                    (step, stamp),
                )
            connection.execute(f"PRAGMA user_version = {len(applied) + 1}")
        except sqlite3.Error as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise StoreError(
                f"results store {name}: step {migration.name} of the layout failed ({exc}); "
                f"the file stays at the step before it"
            ) from exc
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        done_now.append(migration.name)
    return done_now
