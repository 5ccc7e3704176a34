"""What ``ljun report`` reads from the results store: sheets with their key, attendance."""

from __future__ import annotations

import pytest
from _score_helpers import key_set, make_reading, nomor

from ljun.errors import StoreError
from ljun.report import load_report_input
from ljun.score import score_sheet
from ljun.store import ReconciliationEntry, open_store


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "ljun.sqlite") as opened:
        yield opened


def _store_batch(store, readings, *, attendance=False, reconciliation=()):
    keys = key_set()
    writer = store.begin_batch(
        template="ljun-teori-kejuruan",
        arguments={"attendance": ["daftar_hadir"] if attendance else []},
    )
    for index, reading in enumerate(readings):
        writer.stage(
            score_sheet(reading, keys),
            page_hash=f"hash-{reading.source}-{reading.page}",
            file_index=index,
        )
    writer.commit(keys=keys, reconciliation=reconciliation)
    return writer.batch_id


def test_report_records_carry_batch_and_key(store):
    first = _store_batch(store, [make_reading(source="a.tif", participant=1)])
    second = _store_batch(
        store,
        [
            make_reading(source="b.tif", participant=2, paket="B"),
            make_reading(source="c.tif", failure="no_fiducials"),
        ],
    )
    records = list(store.report_records(batches=[second]))
    assert [r["source"] for r in records] == ["b.tif", "c.tif"]
    assert (
        records[0]["batch"] == second
        and records[0]["key_hash"] == key_set().select("B", "").content_hash
    )
    assert records[1]["key_hash"] is None and records[1]["score"] is None
    assert [r["batch"] for r in store.report_records()] == [first, second, second]


def test_load_report_input_filters_and_keys(store):
    _store_batch(
        store,
        [
            make_reading(source="a.tif", participant=1, paket="A"),
            make_reading(source="b.tif", participant=2, paket="B", kode="1023"),
        ],
    )
    only_a = load_report_input(store, paket="A")
    assert [s.source for s in only_a.sheets] == ["a.tif"]
    assert [k.paket for k in only_a.keys.values()] == ["A"]
    assert [s.source for s in load_report_input(store, kode_kompetensi="1023").sheets] == ["b.tif"]
    with pytest.raises(StoreError, match="no batch 9"):
        load_report_input(store, batches=[9])


def test_a_participant_scanned_in_a_later_batch_is_not_missing(store):
    listed = [
        ReconciliationEntry(kind="missing_sheet", nomor_peserta=nomor(2)),
        ReconciliationEntry(kind="absent", nomor_peserta=nomor(3)),
    ]
    first = _store_batch(
        store, [make_reading(source="a.tif", participant=1)], attendance=True, reconciliation=listed
    )
    # Participant 2's envelope came late, in a batch of its own.
    second = _store_batch(store, [make_reading(source="late.tif", participant=2)])
    everything = load_report_input(store).attendance
    assert everything.checked and everything.missing == (nomor(3),)
    assert everything.marked_absent == (nomor(3),)
    first_only = load_report_input(store, batches=[first]).attendance
    assert first_only.missing == (nomor(2), nomor(3))
    assert not load_report_input(store, batches=[second]).attendance.checked
