"""Scoring on Dask: sheets/s with 1 and 2 local Dask workers against one local process.

Generates a batch (or takes a folder), scores it with ``run_batch`` in one
process, then on a local Dask cluster of 1 and 2 worker processes (cluster
start-up is not counted: each cluster first scores the batch once to warm up),
and reports sheets/s and the scheduler's overhead per sheet (Dask with one
worker minus one plain process, per sheet).  Prints a table and writes JSON
under ``bench/out/``.

    .venv/bin/python bench/bench_dask.py --count 60
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from ljun._dask import dask_executor
from ljun.batch import run_batch
from ljun.calibration import load_calibration
from ljun.keys import load_answer_keys
from ljun.samples import make_samples
from ljun.store import open_store
from ljun.template import load_template

DEFAULT_JSON = Path(__file__).resolve().parent / "out" / "bench_dask.json"


def _score_seconds(folder: Path, db: Path, **options: object) -> tuple[float, int]:
    template = load_template("ljun-teori-kejuruan")
    keys = load_answer_keys([folder / n for n in ("paketA.json", "paketB.json", "susulan.json")])
    with open_store(db) as store:
        started = time.perf_counter()
        result = run_batch(
            [folder],
            keys=keys,
            store=store,
            template=template,
            calibration=load_calibration(),
            **options,  # type: ignore[arg-type]
        )
        return time.perf_counter() - started, int(result.summary["sheets"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=60, help="sheets to generate")
    parser.add_argument("--scans", type=Path, default=None, help="score this folder instead")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.scans
        if folder is None:
            folder = Path(tmp) / "scans"
            make_samples(
                load_template("ljun-teori-kejuruan"),
                folder,
                count=args.count,
                seed=4242,
                level="moderate",
                fmt="tiff",
                pages_per_file=5,
                include_special_pages=False,
            )
        rows = {}
        seconds, sheets = _score_seconds(folder, Path(tmp) / "plain.sqlite", workers=1)
        rows["1 process"] = seconds
        for workers in (1, 2):
            with dask_executor(f"local:{workers}") as executor:
                _score_seconds(folder, Path(tmp) / f"warm{workers}.sqlite", executor=executor)
                rows[f"dask, {workers} worker(s)"], _ = _score_seconds(
                    folder, Path(tmp) / f"dask{workers}.sqlite", executor=executor
                )
    overhead_ms = (rows["dask, 1 worker(s)"] - rows["1 process"]) / sheets * 1000
    print(f"{sheets} sheets")
    print(f"{'run':<22} {'seconds':>8} {'sheets/s':>9}")
    for name, seconds in rows.items():
        print(f"{name:<22} {seconds:8.2f} {sheets / seconds:9.1f}")
    print(f"scheduler overhead per sheet (dask 1 worker - 1 process): {overhead_ms:.1f} ms")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "sheets": sheets,
                "seconds": rows,
                "sheets_per_second": {k: sheets / v for k, v in rows.items()},
                "scheduler_overhead_ms_per_sheet": overhead_ms,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
