"""``ljun watch`` as a real subprocess on a real inbox: slow copies, corrupt files, duplicates."""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import signal
import sqlite3

import pytest
from _watch_helpers import (
    GIVE_UP_S,
    copy_slowly,
    expected_page_hashes,
    integrity,
    make_scans,
    scan_names,
    start_watcher,
    stop_watcher,
    stored_page_hashes,
    wait_for,
)

from ljun.batch import file_digest
from ljun.watch import REASON_SUFFIX


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    return make_scans(tmp_path_factory.mktemp("scans"), count=4, seed=11)


def _watched(db):
    """``name -> outcome`` of the watcher's journal; empty while the store is being made."""
    if not db.is_file():
        return {}
    with contextlib.closing(sqlite3.connect(db)) as connection:
        try:
            rows = connection.execute("SELECT name, outcome FROM watched_files").fetchall()
        except sqlite3.OperationalError:
            return {}  # the watcher is still creating the store
    return dict(rows)


def test_watch_scores_what_arrives_and_sorts_the_files(scans, tmp_path):
    inbox, db = tmp_path / "inbox", tmp_path / "ljun.sqlite"
    inbox.mkdir()
    # Arrived while the watcher was not running: taken at start.
    (inbox / "before.tif").write_bytes(scans[3].read_bytes())
    watcher = start_watcher(inbox, scans[0].parent, db)
    try:
        wait_for(lambda: _watched(db), timeout=60, what="the first file")
        # Copied slowly, with a stall longer than the settling time half-way.
        copy_slowly(scans[0].read_bytes(), inbox / "slow.tif", chunks=8, pause_s=0.1, stall_s=1.0)
        # Written under a temporary name, slowly, then renamed.
        copy_slowly(scans[2].read_bytes(), inbox / "renamed.tif.tmp", chunks=4, pause_s=0.3)
        assert "renamed.tif.tmp" not in _watched(db)
        os.replace(inbox / "renamed.tif.tmp", inbox / "renamed.tif")
        # A TIFF header and then garbage: never a whole file, so quarantined after --give-up.
        (inbox / "broken.tif").write_bytes(b"II*\0\x08\0\0\0" + b"\xff" * 5000)
        wait_for(lambda: "slow.tif" in _watched(db), timeout=60, what="slow.tif")
        # The same bytes as slow.tif under another name, after slow.tif was done.
        (inbox / "again.tif").write_bytes(scans[0].read_bytes())
        wait_for(
            lambda: len(_watched(db)) == 5 and not scan_names(inbox),
            timeout=60 + GIVE_UP_S,
            what="every file",
        )
    finally:
        code = stop_watcher(watcher)
    assert code == 0

    assert _watched(db) == {
        "before.tif": "done",
        "slow.tif": "done",
        "renamed.tif": "done",
        "broken.tif": "quarantine",
        "again.tif": "duplicate",
    }
    today = inbox / "done" / _dt.datetime.now().date().isoformat()
    assert sorted(p.name for p in today.iterdir()) == [
        "again.tif",
        "before.tif",
        "renamed.tif",
        "slow.tif",
    ]
    assert (today / "slow.tif").read_bytes() == scans[0].read_bytes()
    assert sorted(p.name for p in (inbox / "quarantine").iterdir()) == [
        "broken.tif",
        f"broken.tif{REASON_SUFFIX}",
    ]
    reason = (inbox / "quarantine" / f"broken.tif{REASON_SUFFIX}").read_text()
    assert "broken.tif" in reason and "no page" in reason
    assert sorted(p.name for p in inbox.iterdir()) == ["done", "quarantine"]

    # Every sheet once, keyed by the whole file's bytes: nothing was read half-copied.
    stored = stored_page_hashes(db)
    assert len(stored) == len(set(stored)) == 4  # three sheets and the broken file's failure
    assert expected_page_hashes([scans[0], scans[2], scans[3]]) <= set(stored)
    assert integrity(db) == "ok"
    with sqlite3.connect(db) as connection:
        batches = connection.execute("SELECT kind, status FROM batches").fetchall()
    assert batches and set(batches) == {("watch", "complete")}

    # One line per file, on stdout and in the log file.
    for output in (db.with_suffix(".stdout"), db.with_suffix(".log")):
        text = output.read_text()
        for line in (
            "done slow.tif: 1 sheets",
            "done renamed.tif: 1 sheets",
            "quarantine broken.tif",
            "duplicate again.tif: the same bytes as slow.tif",
        ):
            assert text.count(line) == 1, (line, text)
        assert "stopped: 5 files" in text
    assert "Traceback" not in db.with_suffix(".stdout").read_text()
    assert file_digest(today / "again.tif") == file_digest(today / "slow.tif")


def test_watch_polls_and_stops_cleanly_on_ctrl_c(scans, tmp_path):
    inbox, db = tmp_path / "inbox", tmp_path / "ljun.sqlite"
    inbox.mkdir()
    watcher = start_watcher(inbox, scans[0].parent, db, "--poll", "0.2")
    try:
        for k in (1, 2):
            (inbox / f"s{k}.tif").write_bytes(scans[k].read_bytes())
        wait_for(lambda: len(_watched(db)) == 2, timeout=60, what="both files")
    finally:
        watcher.send_signal(signal.SIGINT)
        code = watcher.wait(timeout=60)
    assert code == 0
    assert _watched(db) == {"s1.tif": "done", "s2.tif": "done"}
    output = db.with_suffix(".stdout").read_text()
    assert "polling every 0.2 s" in output and "SIGINT: stopping" in output
    assert "stopped: 2 files, 2 sheets" in output and "Traceback" not in output
