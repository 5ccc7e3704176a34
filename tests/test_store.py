"""The SQLite results store: schema, all-or-nothing batches, no duplicate sheets."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import numpy as np
import pytest
from _score_helpers import key_set, make_key, make_reading

from ljun.errors import StoreError
from ljun.keys import AnswerKeySet
from ljun.records import RESULT_KEYS
from ljun.score import score_sheet
from ljun.store import SCHEMA_VERSION, ReconciliationEntry, open_store


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "ljun.sqlite") as opened:
        yield opened


def _stage_batch(store, readings, keys=None):
    keys = keys or key_set()
    writer = store.begin_batch(template="ljun-teori-kejuruan")
    seqs = []
    for index, reading in enumerate(readings):
        scored = score_sheet(reading, keys)
        seqs.append(
            writer.stage(
                scored, page_hash=f"hash-{reading.source}-{reading.page}", file_index=index
            )
        )
    return writer, seqs


def _store_batch(store, readings, keys=None, **commit):
    keys = keys or key_set()
    writer, seqs = _stage_batch(store, readings, keys)
    writer.commit(keys=keys, **commit)
    return writer.batch_id


def test_new_store_has_the_schema_version(tmp_path):
    path = tmp_path / "new.sqlite"
    open_store(path).close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with open_store(path) as again:  # reopening keeps it
        assert again.count("pages") == 0


def test_store_of_a_newer_ljun_is_refused(tmp_path):
    path = tmp_path / "future.sqlite"
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer ljun"):
        open_store(path)


def test_other_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="not an ljun store"):
        open_store(path)


def test_file_that_is_not_sqlite_is_refused(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("source,page\n" * 100, encoding="utf-8")
    with pytest.raises(StoreError, match=r"results\.csv: not an ljun results store"):
        open_store(path)


def test_missing_store_is_not_created_when_reading(tmp_path):
    with pytest.raises(StoreError, match="no such file"):
        open_store(tmp_path / "none.sqlite", create=False)
    assert not (tmp_path / "none.sqlite").exists()


def test_committed_batch_gives_records_in_file_order(store):
    readings = [make_reading(source=f"env{i}.tif", participant=i, correct=20 + i) for i in range(3)]
    writer = store.begin_batch(template="ljun-teori-kejuruan")
    keys = key_set()
    # Staged out of order, as parallel workers may finish.
    for index in (2, 0, 1):
        writer.stage(score_sheet(readings[index], keys), page_hash=f"h{index}", file_index=index)
    writer.commit(keys=keys, summary={"sheets": 3})
    records = list(store.result_records())
    assert [r["source"] for r in records] == ["env0.tif", "env1.tif", "env2.tif"]
    assert [r["correct"] for r in records] == [20, 21, 22]
    first = records[0]
    assert tuple(first) == RESULT_KEYS
    assert first["score"] == Decimal("5.00") and isinstance(first["score"], Decimal)
    assert first["answers"] == list(readings[0].answers)
    assert first["review"] is False and first["flags"] == []
    info = store.batch(writer.batch_id)
    assert info.status == "complete" and info.summary == {"sheets": 3}


def test_pages_of_one_file_are_ordered_by_page(store):
    readings = [make_reading(source="env.tif", page=p, participant=p) for p in (3, 1, 2)]
    writer = store.begin_batch(template="t")
    for reading in readings:
        writer.stage(score_sheet(reading, key_set()), page_hash=f"p{reading.page}", file_index=0)
    writer.commit(keys=key_set())
    assert [r["page"] for r in store.result_records()] == [1, 2, 3]


def test_bubble_arrays_round_trip_as_float32(store):
    reading = make_reading(seed=7)
    _store_batch(store, [reading])
    (stored,) = store.stored_sheets()
    assert stored.reading.darkness.dtype == np.float32
    np.testing.assert_array_equal(stored.reading.darkness, reading.darkness)
    np.testing.assert_array_equal(stored.reading.confidence, reading.confidence)
    assert stored.reading.answers == reading.answers
    assert stored.reading.nomor_peserta == reading.nomor_peserta


def test_failed_reading_is_stored_without_score(store):
    _store_batch(store, [make_reading(failure="blank_page")])
    (record,) = store.result_records()
    assert record["score"] is None and record["correct"] is None
    assert record["review"] is True and record["flags"] == ["blank_page"]
    (stored,) = store.stored_sheets()
    assert stored.reading.failure == "blank_page" and stored.reading.darkness.size == 0


def test_nothing_is_stored_before_commit(store, tmp_path):
    writer, _ = _stage_batch(store, [make_reading()])
    with open_store(tmp_path / "ljun.sqlite") as reader:
        assert reader.count("pages") == 0
        assert reader.batches()[-1].status == "running"
    writer.commit(keys=key_set())
    with open_store(tmp_path / "ljun.sqlite") as reader:
        assert reader.count("pages") == 1


def test_aborted_batch_leaves_the_earlier_results(store):
    _store_batch(store, [make_reading(source="first.tif")])
    writer, _ = _stage_batch(store, [make_reading(source="second.tif", participant=2)])
    writer.abort()
    assert [r["source"] for r in store.result_records()] == ["first.tif"]
    assert [b.status for b in store.batches()] == ["complete", "failed"]


def test_failure_during_commit_stores_nothing(store, monkeypatch):
    writer, _ = _stage_batch(store, [make_reading(source="a.tif"), make_reading(source="b.tif")])

    def broken(*args, **kwargs):
        raise RuntimeError("disk unplugged")

    entries = (ReconciliationEntry(kind="absent", nomor_peserta="4-12-01-02-001-001-0"),)

    def exploding_entries():
        yield from entries
        broken()

    with pytest.raises(RuntimeError, match="disk unplugged"):
        writer.commit(keys=key_set(), reconciliation=exploding_entries())
    assert store.count("pages") == 0 and store.count("scores") == 0
    assert store.count("reconciliation") == 0
    assert store.batches()[-1].status == "failed"


def test_database_error_during_commit_is_a_store_error(store):
    _store_batch(store, [make_reading(source="first.tif")])
    writer, _ = _stage_batch(store, [make_reading(source="second.tif")])
    broken_entry = ReconciliationEntry(kind=None)  # violates NOT NULL
    with pytest.raises(StoreError, match="could not be stored, nothing of it was kept"):
        writer.commit(keys=key_set(), reconciliation=[broken_entry])
    assert [r["source"] for r in store.result_records()] == ["first.tif"]


def test_locked_store_is_a_store_error(tmp_path):
    path = tmp_path / "ljun.sqlite"
    open_store(path).close()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with open_store(path) as store:
            store._db.execute("PRAGMA busy_timeout = 50")
            with pytest.raises(StoreError, match="cannot start writing"):
                store.begin_batch(template="t")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def test_same_pages_again_do_not_duplicate_sheets(store):
    readings = [make_reading(source=f"env{i}.tif", participant=i) for i in range(4)]
    first = _store_batch(store, readings)
    second = _store_batch(store, readings)
    assert store.count("pages") == 4 and store.count("readings") == 4
    records = list(store.result_records())
    assert len(records) == 4
    assert list(store.result_records(batch=first)) == []
    assert len(list(store.result_records(batch=second))) == 4
    assert store.count("scores") == 8  # the score history keeps both runs


def test_reread_page_takes_the_new_reading(store):
    _store_batch(store, [make_reading(correct=10)])
    _store_batch(store, [make_reading(correct=35)])
    (record,) = store.result_records()
    assert record["correct"] == 35


def test_same_page_hash_twice_in_one_batch_is_stored_once(store):
    keys = key_set()
    writer = store.begin_batch(template="t")
    for index, source in enumerate(("a.tif", "copy/a.tif")):
        writer.stage(
            score_sheet(make_reading(source=source), keys), page_hash="same", file_index=index
        )
    writer.commit(keys=keys)
    assert [r["source"] for r in store.result_records()] == ["a.tif"]


def test_flagged_sheet_goes_to_review_and_keeps_its_score(store):
    keys = key_set()
    writer = store.begin_batch(template="t")
    seq = writer.stage(score_sheet(make_reading(), keys), page_hash="h", file_index=0)
    writer.flag(seq, ("duplicate_nomor_peserta",))
    writer.commit(keys=keys)
    (record,) = store.result_records()
    assert record["flags"] == ["duplicate_nomor_peserta"] and record["review"] is True
    assert record["score"] == Decimal("7.50")
    (stored,) = store.stored_sheets()
    assert stored.batch_flags == ("duplicate_nomor_peserta",)
    assert stored.reading.flags == ()  # the reading's own flags stay apart


def test_keys_are_stored_once_by_content(store):
    _store_batch(store, [make_reading()])
    _store_batch(store, [make_reading(participant=2)])
    assert store.count("answer_keys") == 3
    assert store.count("batch_keys") == 6
    key = make_key("A")
    assert store.answer_key(key.content_hash).answers == key.answers


def test_reconciliation_entries_are_kept_per_batch(store):
    entry = ReconciliationEntry(
        kind="absent",
        nomor_peserta="4-12-01-02-001-009-0",
        detail="on the attendance list, no sheet scanned",
    )
    batch = _store_batch(store, [make_reading()], reconciliation=[entry])
    assert store.reconciliation(batch) == [entry]


def test_rescore_adds_a_score_row_and_keeps_the_history(store):
    _store_batch(store, [make_reading(correct=30)])
    corrected = AnswerKeySet.from_keys([make_key("A", cancelled=[40])])
    (stored,) = store.stored_sheets()
    assert stored.score == Decimal("7.50")
    store.record_rescore(
        template="t",
        keys=corrected,
        rescored=[(stored.page_id, score_sheet(stored.reading, corrected))],
        summary=lambda: {"rescored": 1},
    )
    (record,) = store.result_records()
    assert record["correct"] == 31 and record["score"] == Decimal("7.75")
    assert store.count("scores") == 2 and store.count("pages") == 1
    last = store.last_batch()
    assert last.kind == "rescore" and last.summary == {"rescored": 1}


def test_failed_rescore_keeps_the_old_scores(store):
    _store_batch(store, [make_reading(source="a.tif"), make_reading(source="b.tif")])
    corrected = AnswerKeySet.from_keys([make_key("A", cancelled=[40])])

    def rescored():
        for stored in store.stored_sheets():
            yield stored.page_id, score_sheet(stored.reading, corrected)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.record_rescore(template="t", keys=corrected, rescored=rescored())
    assert [r["score"] for r in store.result_records()] == [Decimal("7.50")] * 2
    assert store.count("scores") == 2
    assert store.last_batch(complete=False).status == "failed"
