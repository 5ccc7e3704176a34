"""End-to-end benchmark of ``ljun score`` (ARCHITECTURE.md §4), built on :mod:`ljun.bench`.

Speed (``--sheets N``): N generated sheets written in every scanner format
(gray: TIFF uncompressed / LZW / Deflate, JPEG, PDF of JPEG pages; 1-bit:
Group 4 TIFF, PNG, PDF of CCITT pages), measured by
:func:`ljun.bench.run_bench` in one run: the decode floor, CPU ms per sheet
of each stage and end to end, the ratio, sheets/s per core, scaling to all
cores.  This is what ``ljun bench --generate N`` prints, for both modes.

Memory (``--memory-pages 1000,5000,10000``): peak RSS of one ``ljun score``
batch (one worker, a fresh process) against the batch size.  The batch is
built from ``--distinct`` generated 1-bit sheets (Group 4 TIFF envelopes of
20 pages, the cheapest pages to decode, so the run is as short as it can
be), copied under other names with one byte appended to each copy: every
file hashes differently, so no page is a duplicate of another (the same
participants appear many times, which reconciliation flags — more work for
it, not less).

Usage::

    .venv/bin/python bench/bench_score.py --sheets 100
    .venv/bin/python bench/bench_score.py --sheets 0 --memory-pages 1000,5000,10000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from ljun.bench import (
    TARGET_RSS_MB,
    _end_to_end_child,
    _in_fresh_process,
    format_report,
    generate_scans,
    run_bench,
)

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "out" / "bench_score.json"


def speed(sheets: int, repeat: int, root: Path) -> list[dict]:
    reports = []
    for mode in ("gray", "1bit"):
        made = generate_scans(root / f"speed-{mode}", count=sheets, mode=mode)
        report = run_bench(
            [made.folder],
            key_files=made.keys,
            truth=made.truth,
            repeat=repeat,
            generated={"sheets": sheets, "mode": mode, "dpi": 200, "level": "moderate"},
            on_step=lambda text: print(f"  {text}", file=sys.stderr),
        )
        print(format_report(report), flush=True)
        reports.append(report)
    return reports


def memory(sizes: list[int], distinct: int, root: Path) -> list[dict]:
    made = generate_scans(root / "distinct", count=distinct, mode="1bit", formats=("tif-g4",))
    originals = list(made.files)
    pages_per_copy = distinct
    rows = []
    for size in sizes:
        folder = root / f"batch-{size}"
        folder.mkdir()
        copies = -(-size // pages_per_copy)
        for copy in range(copies):
            for original in originals:
                target = folder / f"{copy:05d}-{original.name}"
                shutil.copyfile(original, target)
                with open(target, "ab") as handle:  # one byte past the TIFF's data
                    handle.write(copy.to_bytes(4, "little"))
        run_dir = root / f"run-{size}"
        run_dir.mkdir()
        started = time.perf_counter()
        child = _in_fresh_process(
            _end_to_end_child,
            [("all", [str(folder)])],
            [str(k) for k in made.keys],
            str(run_dir),
            1,
        )
        figures = child["groups"]["all"]
        row = {
            "pages": figures["pages"],
            "peak_rss_mb": round(child["peak_rss_mb"], 1),
            "cpu_s": round(figures["cpu_s"], 1),
            "wall_s": round(time.perf_counter() - started, 1),
            "load_average": round(os.getloadavg()[0], 1),
        }
        print(
            f"  {row['pages']:>6} pages: peak RSS {row['peak_rss_mb']:.0f} MB "
            f"({row['cpu_s']:.0f} s CPU, {row['wall_s']:.0f} s wall, load {row['load_average']})",
            flush=True,
        )
        rows.append(row)
        shutil.rmtree(folder)
        shutil.rmtree(run_dir)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sheets", type=int, default=100, help="generated sheets for speed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--memory-pages", default="1000", help="comma-separated batch sizes, 0 or '' for none"
    )
    parser.add_argument("--distinct", type=int, default=100, help="distinct generated sheets")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    options = parser.parse_args()
    sizes = [int(s) for s in options.memory_pages.split(",") if s.strip() and int(s) > 0]
    result: dict = {"speed": [], "memory": []}
    with tempfile.TemporaryDirectory(prefix="ljun-bench-score-") as tmp:
        root = Path(tmp)
        if options.sheets > 0:
            result["speed"] = speed(options.sheets, options.repeat, root)
        if sizes:
            print(f"memory (ljun score, one worker; target < {TARGET_RSS_MB:.0f} MB):")
            result["memory"] = memory(sizes, options.distinct, root)
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(result, indent=1))
    print(f"wrote {options.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
