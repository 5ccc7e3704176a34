"""Where a batch on several workers loses against one: measured, not timed.

Runs one real batch (``run_batch`` and the JSONL export, as ``ljun bench``
does) in a fresh process per run and reports what a shared, noisy machine
cannot blur much: the main process's own CPU per 100 pages (scoring, storing,
exports, taking the workers' results), and each worker's CPU, when it was
first seen, when it last worked and how long it then sat idle until the batch
ended (read from ``/proc`` every 20 ms; the sampler's own CPU is subtracted).
Wall times are printed too, but on a shared machine compare those only within
one run.  Prints a table and writes JSON lines.

    .venv/bin/python bench/bench_scaling.py DIR/tif-none/*.tif --keys DIR/paket*.json DIR/susulan.json

Run the same files with another checkout's code by ``PYTHONPATH=<checkout>``
(the JSON names the code that ran).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

DEFAULT_JSON = Path(__file__).resolve().parent / "out" / "bench_scaling.jsonl"
# How often the workers' CPU is read from /proc, seconds.
SAMPLE_S = 0.02
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of process ``pid`` (``/proc/PID/stat`` fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


class _WorkerSampler:
    """The CPU of the forkserver's children (the batch's workers) over time."""

    def __init__(self, server_pid: int | None) -> None:
        self.samples: dict[int, list[tuple[float, float]]] = {}
        self.own_cpu_s = 0.0
        self._server = server_pid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _WorkerSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        started = time.thread_time()
        while not self._stop.is_set():
            now = time.perf_counter()
            for pid in _children(self._server) if self._server else []:
                cpu = _cpu_seconds(pid)
                if cpu is not None:
                    self.samples.setdefault(pid, []).append((now, cpu))
            self._stop.wait(SAMPLE_S)
        self.own_cpu_s = time.thread_time() - started


def _one_run(workers: int, keys: list[str], files: list[str]) -> dict[str, Any]:
    """In this (fresh) process: start-up as ``ljun bench``, then one measured batch."""
    import ljun
    from ljun.batch import run_batch, start_worker_server

    if workers > 1:
        start_worker_server(wait=True)
    else:
        import importlib

        from ljun.batch._executor import WORKER_PRELOAD

        for module in WORKER_PRELOAD:
            importlib.import_module(module)
    import cv2

    cv2.setNumThreads(1 if workers == 1 else cv2.getNumThreads())
    from ljun.calibration import load_calibration
    from ljun.export import export_records
    from ljun.keys import load_answer_keys
    from ljun.read import sampling_pattern
    from ljun.register import REFERENCE_DPI
    from ljun.store import open_store
    from ljun.template import DEFAULT_TEMPLATE, load_template

    template = load_template(DEFAULT_TEMPLATE)
    calibration = load_calibration()
    answer_keys = load_answer_keys(keys)
    if workers == 1:
        sampling_pattern(template, REFERENCE_DPI)
    server_pid = None
    if workers > 1:
        from multiprocessing import forkserver

        server_pid = forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as folder, _WorkerSampler(server_pid) as sampler:
        load = os.getloadavg()[0]
        cpu0, wall0 = time.process_time(), time.perf_counter()
        with open_store(Path(folder) / "ljun.sqlite") as store:
            batch = run_batch(
                files, keys=answer_keys, store=store, template=template, calibration=calibration,
                workers=workers,
            )  # fmt: skip
            export_records(store.result_records(batch=batch.batch_id), Path(folder) / "r.jsonl")
        wall1, cpu1 = time.perf_counter(), time.process_time()
    pages = int(batch.summary["pages"])
    main_cpu = cpu1 - cpu0 - sampler.own_cpu_s
    per_worker = []
    for samples in sampler.samples.values():
        last_cpu = samples[-1][1]
        busy_until = next(t for t, cpu in samples if cpu == last_cpu)
        per_worker.append(
            {
                "cpu_s": round(last_cpu, 2),
                "first_seen_s": round(samples[0][0] - wall0, 2),
                "last_busy_s": round(busy_until - wall0, 2),
                "idle_at_end_s": round(wall1 - busy_until, 2),
            }
        )
    return {
        "code": str(Path(ljun.__file__).parent),
        "workers": workers,
        "pages": pages,
        "wall_s": round(wall1 - wall0, 3),
        "main_cpu_s_per_100_pages": round(100 * main_cpu / pages, 3) if pages else None,
        "workers_cpu": per_worker,
        "load_average": round(load, 2),
    }


def _row(run: dict[str, Any]) -> str:
    workers = run["workers_cpu"]
    cpu = " + ".join(f"{w['cpu_s']:.2f}" for w in workers) or "-"
    first = f"{min(w['first_seen_s'] for w in workers):.2f}" if workers else "-"
    ends = [w["last_busy_s"] for w in workers]
    spread = f"{max(ends) - min(ends):.2f}" if len(ends) > 1 else "-"
    return (
        f"{run['workers']:>7} {run['pages']:>5} {run['wall_s']:>7.2f} "
        f"{run['main_cpu_s_per_100_pages']:>10.3f} {cpu:>13} {first:>6} {spread:>6} "
        f"{run['load_average']:>5.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="scan files or folders (one batch)")
    parser.add_argument("--keys", nargs="+", required=True, help="answer key files")
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="JSON lines appended")
    parser.add_argument("--one-run", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_run is not None:
        print(json.dumps(_one_run(args.one_run, args.keys, args.files)))
        return
    args.json.parent.mkdir(parents=True, exist_ok=True)
    print("workers pages  wall s  main CPU s/100 p  workers CPU s  first  spread  load")
    for workers in args.workers:
        done = subprocess.run(
            [sys.executable, __file__, "--one-run", str(workers), *args.files, "--keys", *args.keys],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        run = json.loads(done.stdout.strip().splitlines()[-1])
        with args.json.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(run) + "\n")
        print(_row(run))


if __name__ == "__main__":
    main()
