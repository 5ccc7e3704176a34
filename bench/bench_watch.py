"""Benchmark of ``ljun watch``: latency from a file's last byte to its results, and throughput.

Measures, in one run on the same generated files (easy, 200 dpi, 8-bit gray,
one envelope of ``--pages`` pages per TIFF):

* **latency**: a running watcher (file-system events), files dropped one at
  a time; from the moment the file's last byte is written (the rename of a
  ``.tmp`` file, as scanner software does) to the moment its sheets are in the
  store (polled every 20 ms by another SQLite connection), for the default
  settling time and a short one;
* **memory**: peak resident memory of one watcher after a third of
  ``--memory-files`` one-page files and after all of them (flat: runs for days);
* **throughput**: sheets/s of ``ljun watch --once`` emptying an inbox holding
  every file, against ``ljun score`` on the same files, both with the same
  number of workers and both timed as whole processes (start-up included).

Usage::

    .venv/bin/python bench/bench_watch.py [--files 6] [--pages 5] [--workers 1]
        [--memory-files 90] [--json bench/out/bench_watch.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
KEYS = ("paketA.json", "paketB.json", "susulan.json")
SEED = 1203
POLL_STORE_S = 0.02


def _make(out: Path, files: int, pages: int) -> list[Path]:
    from ljun.samples import make_samples
    from ljun.template import load_template

    result = make_samples(
        load_template("ljun-teori-kejuruan"),
        out,
        count=files * pages,
        seed=SEED,
        level="easy",
        dpi=200,
        bits=8,
        fmt="tiff",
        pages_per_file=pages,
        include_special_pages=False,
    )
    return [out / name for name in result.scan_files]


def _keys(folder: Path) -> list[str]:
    return [a for name in KEYS for a in ("--key", str(folder / name))]


def _stored(db: Path, digest_hashes: set[str]) -> bool:
    if not db.is_file():
        return False
    with contextlib.closing(sqlite3.connect(db)) as connection:
        try:
            marks = ",".join("?" * len(digest_hashes))
            found = connection.execute(
                f"SELECT count(*) FROM pages WHERE page_hash IN ({marks})", sorted(digest_hashes)
            ).fetchone()[0]
        except sqlite3.OperationalError:
            return False
    return found == len(digest_hashes)


def _pages(path: Path) -> int:
    import tifffile

    with tifffile.TiffFile(path) as tiff:
        return len(tiff.pages)


def _latency(files: list[Path], work: Path, *, settle: float, workers: int) -> list[float]:
    from ljun.batch import file_digest, page_hash

    inbox, db = work / f"inbox-{settle:g}", work / f"latency-{settle:g}.sqlite"
    inbox.mkdir()
    watcher = subprocess.Popen(
        [sys.executable, "-m", "ljun", "watch", str(inbox), *_keys(files[0].parent),
         "--db", str(db), "--settle", str(settle), "--workers", str(workers),
         "--log", str(work / "latency.log")],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    latencies = []
    try:
        time.sleep(3.0)  # let it start: start-up is not what is measured
        for number, source in enumerate(files):
            data = source.read_bytes()
            pages = _pages(source)
            hashes = {page_hash(file_digest(source), p) for p in range(1, pages + 1)}
            temporary = inbox / f"scan{number}.tif.tmp"
            temporary.write_bytes(data)
            os.replace(temporary, inbox / f"scan{number}.tif")
            last_byte = time.perf_counter()
            deadline = last_byte + 300
            while not _stored(db, hashes):
                if time.perf_counter() > deadline:
                    raise SystemExit(f"{source.name}: not in the store after 300 s")
                time.sleep(POLL_STORE_S)
            latencies.append(time.perf_counter() - last_byte)
            time.sleep(0.5)
    finally:
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(timeout=120)
    return latencies


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):  # peak resident set size
            return int(line.split()[1]) / 1024
    return float("nan")


def _journal_rows(db: Path) -> int:
    if not db.is_file():
        return 0
    with contextlib.closing(sqlite3.connect(db)) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM watched_files").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def _memory(files: list[Path], work: Path, count: int) -> dict[str, float]:
    """Peak RSS of a watcher after a third of ``count`` one-page files and after all."""
    import tifffile

    singles = work / "singles"
    singles.mkdir()
    pages = []
    for source in files:
        with tifffile.TiffFile(source) as tiff:
            for number, page in enumerate(tiff.pages):
                path = singles / f"{source.stem}-{number}.tif"
                tifffile.imwrite(path, page.asarray(), compression="zlib")
                pages.append(path.read_bytes())
    inbox, db = work / "inbox-memory", work / "memory.sqlite"
    inbox.mkdir()
    watcher = subprocess.Popen(
        [sys.executable, "-m", "ljun", "watch", str(inbox), *_keys(files[0].parent),
         "--db", str(db), "--settle", "0", "--workers", "1", "--log", str(work / "memory.log")],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    marks: dict[str, float] = {}
    try:
        for number in range(count):
            # Distinct bytes (a trailer): every file is new sheets.
            data = pages[number % len(pages)] + f"\0copy {number}".encode()
            (inbox / f"m{number:04d}.tif").write_bytes(data)
        for done in (count // 3, count):
            while _journal_rows(db) < done:
                time.sleep(0.2)
            marks[f"after {done} files"] = round(_rss_mb(watcher.pid), 1)
    finally:
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(timeout=120)
    return marks


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--memory-files", type=int, default=90)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--json", default=str(HERE / "out" / "bench_watch.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_watch_") as temporary:
        work = Path(temporary)
        files = _make(work / "scans", args.files, args.pages)
        sheets = sum(_pages(f) for f in files)

        # Throughput: the same files through ljun score and ljun watch --once.
        score_s = _timed(
            [sys.executable, "-m", "ljun", "score", *map(str, files), *_keys(files[0].parent),
             "--db", str(work / "score.sqlite"), "--workers", str(args.workers),
             "--no-progress"]
        )  # fmt: skip
        inbox = work / "inbox"
        inbox.mkdir()
        for source in files:
            shutil.copy(source, inbox / source.name)
        watch_s = _timed(
            [sys.executable, "-m", "ljun", "watch", str(inbox), *_keys(files[0].parent),
             "--db", str(work / "watch.sqlite"), "--workers", str(args.workers),
             "--settle", "0", "--once", "--log", str(work / "watch.log")]
        )  # fmt: skip

        latency = (
            {}
            if args.skip_latency
            else {
                f"settle {settle:g} s": _latency(files, work, settle=settle, workers=args.workers)
                for settle in (2.0, 0.5)
            }
        )
        memory = _memory(files, work, args.memory_files) if args.memory_files else {}
    results = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores (shared)",
        "files": len(files),
        "max_pages_per_file": args.pages,
        "sheets": sheets,
        "workers": args.workers,
        "score_seconds": round(score_s, 2),
        "watch_once_seconds": round(watch_s, 2),
        "score_sheets_per_s": round(sheets / score_s, 2),
        "watch_sheets_per_s": round(sheets / watch_s, 2),
        "watch_vs_score": round(score_s / watch_s, 3),
        "watcher_peak_rss_mb": memory,
        "latency_s": {
            name: {
                "median": round(statistics.median(values), 2),
                "max": round(max(values), 2),
                "each": [round(v, 2) for v in values],
            }
            for name, values in latency.items()
        },
    }
    print(
        f"{sheets} sheets in {len(files)} files of up to {args.pages} pages, "
        f"{args.workers} worker(s)"
    )
    print(f"{'':28}{'seconds':>9}{'sheets/s':>10}")
    print(f"{'ljun score':28}{score_s:9.2f}{sheets / score_s:10.2f}")
    print(f"{'ljun watch --once':28}{watch_s:9.2f}{sheets / watch_s:10.2f}")
    print(f"watch / score throughput: {score_s / watch_s:.2f}")
    print("latency, last byte -> sheets in the store (s):")
    for name, entry in results["latency_s"].items():
        print(f"  {name:12} median {entry['median']:.2f}  max {entry['max']:.2f}")
    for name, megabytes in memory.items():
        print(f"watcher peak RSS {name}: {megabytes:.1f} MB")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
