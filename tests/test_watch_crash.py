"""``kill -9`` of ``ljun watch`` at random moments while files keep arriving loses nothing.

Each round starts the real watcher, drops files into its inbox (some written
under a temporary name and renamed) and kills it with SIGKILL at a random
moment: starting, scoring, committing, journalling or moving.  After the
rounds one more watcher empties the inbox; then every file must be in
exactly one of ``done/`` and ``quarantine/``, every sheet in the store
exactly once, and SQLite's integrity check ``ok``.

The default suite runs a few rounds; ``LJUN_CRASH_ROUNDS=25 pytest -m crash``
runs more (the figure for the issue's note).
"""

from __future__ import annotations

import collections
import contextlib
import os
import random
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from _watch_helpers import (
    drop_via_tmp,
    expected_page_hashes,
    files_under,
    integrity,
    make_scans,
    scan_names,
    start_watcher,
    stored_page_hashes,
)

from ljun.batch import file_digest

pytestmark = pytest.mark.crash

ROUNDS = int(os.environ.get("LJUN_CRASH_ROUNDS", "4"))
FILES_PER_ROUND = 3
# A round lives this long (s) after the watcher is up, at random, before
# SIGKILL: while it takes the files waiting, scores, commits, moves, waits.
KILL_AFTER_S = (0.0, 2.5)


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path_factory):
    seed = int(os.environ.get("LJUN_CRASH_SEED", "20261203"))
    chance = random.Random(seed)
    bases = make_scans(tmp_path_factory.mktemp("scans"), count=6, seed=5)
    root = tmp_path_factory.mktemp("crash")
    inbox, db = root / "inbox", root / "ljun.sqlite"
    inbox.mkdir()
    dropped: list[bytes] = []
    kills = 0

    def drop(number: int, k: int) -> None:
        # Distinct bytes for every drop (a trailer after the TIFF's data), so
        # each file is new sheets, not a duplicate.
        base = bases[chance.randrange(len(bases))].read_bytes()
        data = base + f"\0round {number} file {k}".encode()
        target = inbox / f"r{number:02d}-{k}.tif"
        if chance.random() < 0.5:
            drop_via_tmp(data, target)
        else:
            target.write_bytes(data)
        dropped.append(data)

    for number in range(ROUNDS):
        # Odd rounds poll instead of watching events; every third reads in
        # two worker processes (killed with the watcher, they must not linger).
        extra = (("--poll", "0.2") if number % 2 else ()) + (
            ("--workers", "2") if number % 3 == 2 else ()
        )
        starts = _started(db)
        # One file arrives while the watcher is down, the others while it runs.
        drop(number, 0)
        watcher = start_watcher(inbox, bases[0].parent, db, *extra)
        deadline = time.monotonic() + 120
        while _started(db) == starts and watcher.poll() is None:
            assert time.monotonic() < deadline, "the watcher did not start"
            time.sleep(0.05)
        # Killed at a random moment after it is up: scanning, scoring,
        # committing, journalling or moving.
        kill_at = time.monotonic() + chance.uniform(*KILL_AFTER_S)
        for k in range(1, FILES_PER_ROUND):
            time.sleep(max(0.0, min(chance.uniform(0.0, 0.6), kill_at - time.monotonic())))
            drop(number, k)
        time.sleep(max(0.0, kill_at - time.monotonic()))
        if watcher.poll() is None:
            watcher.send_signal(signal.SIGKILL)
            kills += 1
        watcher.wait(timeout=30)

    moved_while_killed = len(files_under(inbox / "done"))
    final = start_watcher(inbox, bases[0].parent, db, "--once")
    assert final.wait(timeout=300) == 0, db.with_suffix(".stdout").read_text()[-2000:]
    assert kills >= ROUNDS - 1

    assert scan_names(inbox) == []
    placed = [
        p
        for p in files_under(inbox / "done") + files_under(inbox / "quarantine")
        if not p.name.endswith(".reason.txt")
    ]
    digests = collections.Counter(file_digest(p) for p in placed)
    wanted = collections.Counter(file_digest_of(data, root / "probe.bin") for data in dropped)
    assert digests == wanted  # each file in exactly one place, none lost, none copied
    assert files_under(inbox / "quarantine") == []

    stored = stored_page_hashes(db)
    assert len(stored) == len(set(stored))
    assert set(stored) == expected_page_hashes(placed)
    assert integrity(db) == "ok"
    with contextlib.closing(sqlite3.connect(db)) as connection:
        journal = collections.Counter(
            row[0] for row in connection.execute("SELECT digest FROM watched_files")
        )
        statuses = {row[0] for row in connection.execute("SELECT status FROM batches")}
    assert journal == collections.Counter(set(wanted))  # one journal row per file
    assert "running" not in statuses
    log = db.with_suffix(".log").read_text()
    print(
        f"\ncrash test: {ROUNDS} rounds, {kills} SIGKILLs, {len(dropped)} files, "
        f"{len(stored)} sheets stored once each; {moved_while_killed} files done by the "
        f"killed watchers; batches killed mid-way: "
        f"{sum(1 for s in statuses_all(db) if s == 'interrupted')}; files found scored "
        f"but not moved: {log.count('already in the store')}; integrity ok"
    )


def _started(db: Path) -> int:
    """How many watchers have said they are up (their first log line)."""
    out = db.with_suffix(".stdout")
    return out.read_text().count(" watching ") if out.is_file() else 0


def statuses_all(db) -> list[str]:
    with contextlib.closing(sqlite3.connect(db)) as connection:
        return [row[0] for row in connection.execute("SELECT status FROM batches")]


def file_digest_of(data: bytes, probe) -> str:
    probe.write_bytes(data)
    return file_digest(probe)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            # The parent pid is the 2nd field after the ")" that ends the name.
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_worker_processes_end_when_the_watcher_is_killed(tmp_path_factory):
    """Regression: after SIGKILL of the watcher its reader processes lived on, orphaned."""
    bases = make_scans(tmp_path_factory.mktemp("scans"), count=2, seed=9)
    root = tmp_path_factory.mktemp("orphans")
    inbox, db = root / "inbox", root / "ljun.sqlite"
    inbox.mkdir()
    for base in bases:
        (inbox / base.name).write_bytes(base.read_bytes())
    watcher = start_watcher(inbox, bases[0].parent, db, "--workers", "2")
    try:
        deadline = time.monotonic() + 120
        while scan_names(inbox) and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = _children(watcher.pid)
        assert workers, "the watcher has no worker processes"
    finally:
        watcher.send_signal(signal.SIGKILL)
        watcher.wait(timeout=30)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)
