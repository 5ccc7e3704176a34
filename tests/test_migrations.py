"""Store migrations: numbered steps, each in one transaction, older files upgraded in place."""

from __future__ import annotations

import sqlite3

import pytest
from _score_helpers import key_set, make_reading

from ljun import _migrations
from ljun._migrations import MIGRATIONS, SCHEMA_VERSION, Migration, applied_migrations
from ljun.errors import StoreError
from ljun.score import score_sheet
from ljun.store import open_store

# A results store as ljun 0.1.0 wrote it (schema version 1, no migration
# ledger), with one complete batch of one sheet and one batch left running.
_VERSION_1_ROWS = """
INSERT INTO batches VALUES (1, 'score', 'complete', '2026-11-01T08:00:00+00:00',
    '2026-11-01T08:00:05+00:00', 'ljun-teori-kejuruan', '{}', '{"sheets": 1}');
INSERT INTO batches VALUES (2, 'score', 'running', '2026-11-01T09:00:00+00:00', NULL,
    'ljun-teori-kejuruan', '{}', '{}');
INSERT INTO pages VALUES (1, 'hash-1', 'envelope1.tif', 1, 1, 1);
INSERT INTO readings VALUES (1, 1, 'ljun-teori-kejuruan', '4-12-05-01-001-001-7', 'SITI', '01-02-05',
    '1023', 'A', '', '["A","B"]', '[]', 0, NULL, '[]', x'', x'');
INSERT INTO scores VALUES (1, 1, 1, NULL, 2, '10.00', '[]', 0);
"""


def _version_1_store(path):
    with sqlite3.connect(path) as raw:
        raw.executescript(MIGRATIONS[0].sql)
        raw.executescript(_VERSION_1_ROWS)
        raw.execute("PRAGMA user_version = 1")
    raw.close()


def test_a_version_1_store_is_upgraded_and_keeps_its_results(tmp_path):
    path = tmp_path / "old.sqlite"
    _version_1_store(path)
    with open_store(path) as store:
        records = list(store.result_records())
        assert [(r["source"], r["nomor_peserta"], str(r["score"])) for r in records] == [
            ("envelope1.tif", "4-12-05-01-001-001-7", "10.00")
        ]
        assert [b.status for b in store.batches()] == ["complete", "running"]
        # The new layout works on the upgraded file: a batch records its calibration.
        writer = store.begin_batch(template="ljun-teori-kejuruan", calibration="default@abc")
        writer.stage(score_sheet(make_reading(), key_set()), page_hash="hash-2", file_index=0)
        writer.commit(keys=key_set())
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert applied_migrations(raw) == [m.name for m in MIGRATIONS]
        calibrations = raw.execute("SELECT calibration FROM readings ORDER BY page_id").fetchall()
        assert calibrations == [("",), ("default@abc",)]
        raw.execute("UPDATE batches SET status = 'interrupted' WHERE id = 2")  # allowed now
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_new_store_records_every_step(tmp_path):
    path = tmp_path / "new.sqlite"
    open_store(path).close()
    with sqlite3.connect(path) as raw:
        assert applied_migrations(raw) == [m.name for m in MIGRATIONS]
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_a_store_with_a_step_this_ljun_does_not_know_is_refused(tmp_path):
    path = tmp_path / "future.sqlite"
    open_store(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("INSERT INTO schema_migrations VALUES ('9999_from_the_future', 'now')")
    raw.close()
    with pytest.raises(StoreError, match="newer ljun"):
        open_store(path)


def test_a_failing_step_leaves_the_file_at_the_step_before(tmp_path, monkeypatch):
    path = tmp_path / "old.sqlite"
    _version_1_store(path)
    broken = Migration(
        "0002_broken", "ALTER TABLE readings ADD COLUMN x TEXT;\nSELECT * FROM nowhere;"
    )
    monkeypatch.setattr(_migrations, "MIGRATIONS", (MIGRATIONS[0], broken))
    with pytest.raises(StoreError, match="0002_broken .*no such table: nowhere.*step before"):
        open_store(path)
    monkeypatch.undo()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
        columns = [row[1] for row in raw.execute("PRAGMA table_info(readings)")]
        assert "x" not in columns
    raw.close()
    with open_store(path) as store:  # the real steps still apply afterwards
        assert store.count("pages") == 1


def test_statements_are_split_so_triggers_keep_their_bodies():
    sql = (
        "CREATE TABLE t (x);\n"
        "CREATE TRIGGER t_no_update BEFORE UPDATE ON t BEGIN\n"
        "  SELECT RAISE(ABORT, 'append only');\n"
        "END;\n"
    )
    statements = list(_migrations._statements(sql))
    assert len(statements) == 2
    assert statements[1].strip().endswith("END;")


def _score(store, scan):
    from ljun.batch import run_batch
    from ljun.calibration import load_calibration
    from ljun.keys import load_answer_keys
    from ljun.template import load_template

    samples = scan.parent
    keys = load_answer_keys([samples / "paketA.json", samples / "paketB.json"])
    return run_batch(
        [scan],
        keys=keys,
        store=store,
        template=load_template("ljun-teori-kejuruan"),
        calibration=load_calibration(),
    )


def test_a_store_that_held_sheets_keeps_sha256_so_its_pages_keep_their_identity(
    tmp_path, repo_root
):
    import hashlib
    import shutil

    from ljun.batch import page_hash

    scan = tmp_path / "amplop-004.tif"
    shutil.copy(repo_root / "samples" / "scans" / "amplop-004.tif", scan)
    for key in ("paketA.json", "paketB.json"):
        shutil.copy(repo_root / "samples" / "scans" / key, tmp_path / key)
    old_identity = page_hash(hashlib.sha256(scan.read_bytes()).hexdigest(), 1)
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as raw:
        raw.executescript(MIGRATIONS[0].sql)
        raw.executescript(_VERSION_1_ROWS.replace("'hash-1'", f"'{old_identity}'"))
        raw.execute("PRAGMA user_version = 1")
    raw.close()
    with open_store(path) as store:
        assert store.file_digest_algorithm == "sha256"
        result = _score(store, scan)
    with sqlite3.connect(path) as raw:
        rows = dict(raw.execute("SELECT page_hash, source FROM pages").fetchall())
    raw.close()
    # The sheet stored under the old identity is this scan's page 1, read again.
    assert rows[old_identity] == str(scan)
    assert len(rows) == result.summary["pages"]


def test_a_new_store_identifies_files_by_blake3(tmp_path, repo_root):
    import shutil

    import blake3

    from ljun.batch import page_hash

    scan = tmp_path / "amplop-004.tif"
    shutil.copy(repo_root / "samples" / "scans" / "amplop-004.tif", scan)
    for key in ("paketA.json", "paketB.json"):
        shutil.copy(repo_root / "samples" / "scans" / key, tmp_path / key)
    with open_store(tmp_path / "new.sqlite") as store:
        assert store.file_digest_algorithm == "blake3"
        _score(store, scan)
        hashes = {row[0] for row in store.connection.execute("SELECT page_hash FROM pages")}
    digest = blake3.blake3(scan.read_bytes()).hexdigest()
    assert page_hash(digest, 1) in hashes
