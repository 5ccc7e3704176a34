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

ROUNDS = int(os.environ.get("LJUN_CRASH_ROUNDS", "5"))
FILES_PER_ROUND = 2
# A round lives this long (s) before SIGKILL, at random: from before the
# watcher has even opened the store to well into scoring.
KILL_AFTER_S = (0.2, 3.0)


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path_factory):
    seed = int(os.environ.get("LJUN_CRASH_SEED", "20261203"))
    chance = random.Random(seed)
    bases = make_scans(tmp_path_factory.mktemp("scans"), count=6, seed=5)
    root = tmp_path_factory.mktemp("crash")
    inbox, db = root / "inbox", root / "ljun.sqlite"
    inbox.mkdir()
    dropped: list[bytes] = []
    kills = 0
    for number in range(ROUNDS):
        # Odd rounds poll instead of watching events; every third reads in
        # two worker processes (killed with the watcher, they must not linger).
        extra = (("--poll", "0.2") if number % 2 else ()) + (
            ("--workers", "2") if number % 3 == 2 else ()
        )
        watcher = start_watcher(inbox, bases[0].parent, db, *extra)
        started = time.monotonic()
        kill_at = started + chance.uniform(*KILL_AFTER_S)
        for k in range(FILES_PER_ROUND):
            time.sleep(max(0.0, min(chance.uniform(0.0, 0.8), kill_at - time.monotonic())))
            # Distinct bytes for every drop (a trailer after the TIFF's data),
            # so each file is new sheets, not a duplicate.
            base = bases[chance.randrange(len(bases))].read_bytes()
            data = base + f"\0round {number} file {k}".encode()
            target = inbox / f"r{number:02d}-{k}.tif"
            if chance.random() < 0.5:
                drop_via_tmp(data, target)
            else:
                target.write_bytes(data)
            dropped.append(data)
        time.sleep(max(0.0, kill_at - time.monotonic()))
        if watcher.poll() is None:
            watcher.send_signal(signal.SIGKILL)
            kills += 1
        watcher.wait(timeout=30)

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
        f"{len(stored)} sheets stored once each; batches killed mid-way: "
        f"{sum(1 for s in statuses_all(db) if s == 'interrupted')}; files found scored "
        f"but not moved: {log.count('already in the store')}; integrity ok"
    )


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
