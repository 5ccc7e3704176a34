"""Helpers for the ``ljun watch`` tests: small generated scans, drops, a watcher subprocess."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ljun.batch import file_digest, page_hash

KEY_NAMES = ("paketA.json", "paketB.json", "susulan.json")

# What the watcher is started with in tests: a short settling time, so a test
# does not wait seconds for each file, and a short give-up time for cut files.
SETTLE_S = 0.4
GIVE_UP_S = 2.0


def make_scans(folder: Path, *, count: int, seed: int) -> list[Path]:
    """``count`` one-page TIFF scans (1-bit, 150 dpi: small and quick), keys beside them."""
    from ljun.samples import make_samples
    from ljun.template import load_template

    result = make_samples(
        load_template("ljun-teori-kejuruan"),
        folder,
        count=count,
        seed=seed,
        level="easy",
        dpi=150,
        bits=1,
        fmt="tiff",
        pages_per_file=1,
        include_special_pages=False,
    )
    return [folder / name for name in result.scan_files]


def key_options(folder: Path) -> list[str]:
    return [arg for name in KEY_NAMES for arg in ("--key", str(folder / name))]


def copy_slowly(
    data: bytes, target: Path, *, chunks: int, pause_s: float, stall_s: float = 0.0
) -> None:
    """Write ``data`` to ``target`` in ``chunks`` pieces, ``pause_s`` apart.

    Half-way the copy stalls for ``stall_s`` (a network hiccup longer than
    the settling time): only the file's structure tells it is not done.
    """
    step = max(1, len(data) // chunks)
    with open(target, "wb") as handle:
        for number, start in enumerate(range(0, len(data), step)):
            handle.write(data[start : start + step])
            handle.flush()
            os.fsync(handle.fileno())
            time.sleep(stall_s if number == chunks // 2 else pause_s)


def drop_via_tmp(data: bytes, target: Path) -> None:
    """Write ``target`` as scanner software does: ``NAME.tmp`` first, renamed when done."""
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def start_watcher(
    inbox: Path, keys: Path, db: Path, *extra: str, log: Path | None = None
) -> subprocess.Popen[str]:
    """``ljun watch`` as a real subprocess (stdout and stderr to files beside the store)."""
    out = open(db.with_suffix(".stdout"), "a", encoding="utf-8")  # noqa: SIM115 -- owned by the child
    command = [
        sys.executable,
        "-m",
        "ljun",
        "watch",
        str(inbox),
        *key_options(keys),
        "--db",
        str(db),
        "--settle",
        str(SETTLE_S),
        "--give-up",
        str(GIVE_UP_S),
        "--workers",
        "1",
        "--log",
        str(log or db.with_suffix(".log")),
        *extra,
    ]
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, text=True)
    out.close()
    return process


def stop_watcher(process: subprocess.Popen[str], *, timeout: float = 60.0) -> int:
    """SIGTERM, then wait for a clean exit; return the exit code."""
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=timeout)


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def scan_names(folder: Path) -> list[str]:
    """Scan files directly in ``folder`` (what the watcher still has to take)."""
    from ljun.watch import is_candidate

    return sorted(p.name for p in folder.iterdir() if p.is_file() and is_candidate(p.name))


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def expected_page_hashes(files: list[Path], pages: int = 1) -> set[str]:
    """The page identities the store must hold for these files' bytes."""
    return {page_hash(file_digest(f), p) for f in files for p in range(1, pages + 1)}


def stored_page_hashes(db: Path) -> list[str]:
    with sqlite3.connect(db) as connection:
        return [row[0] for row in connection.execute("SELECT page_hash FROM pages")]


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
