"""End-to-end benchmark of ``ljun score`` against ARCHITECTURE.md §4.

Measures, in one run on the same files:

* the floor: decoding every page of the TIFF batches with tifffile, nothing else;
* ``ljun score`` end to end with one worker (load, register, read, decode,
  score, store, export), per sheet, and the ratio to the floor (target ≤ 2×)
  and sheets/s per core (target ≥ 50);
* peak memory (RSS) of ``ljun score`` for a small and a larger batch of the
  same kind: flat in batch size (target: a 10,000-page batch under 300 MB).

Each ``ljun score`` run happens in a fresh process (``--child``), so its peak
RSS is its own.  Sheets are generated with ``ljun.samples`` (moderate, 200 dpi,
8-bit gray, no blank pages) and written twice: as the generator writes them
(LZW) and uncompressed, the two ways scanners write gray TIFFs.

Usage::

    .venv/bin/python bench/bench_score.py [--sheets 200] [--memory-sheets 1000]
        [--json bench/out/bench_score.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# ARCHITECTURE.md §4 targets.
TARGET_SHEETS_PER_S_PER_CORE = 50.0
TARGET_RATIO_TO_DECODE = 2.0
TARGET_RSS_MB = 300.0

SHEETS_PER_TIFF = 20  # one envelope: a room holds at most 20 students
SEED = 4242


def _make_batches(out: Path, sheets: int, *, compression: str | None) -> list[Path]:
    """Write ``sheets`` generated sheets as multi-page gray TIFFs of 20 pages."""
    from ljun.samples import answer_keys, generate_sheets
    from ljun.template import load_template

    template = load_template("ljun-teori-kejuruan")
    out.mkdir(parents=True, exist_ok=True)
    for paket, key in answer_keys(SEED).items():
        name = {"A": "paketA.json", "B": "paketB.json", "S": "susulan.json"}[paket]
        (out / name).write_text(json.dumps(key))
    files: list[Path] = []
    writer = None
    for n, sheet in enumerate(
        generate_sheets(
            template,
            count=sheets,
            seed=SEED,
            level="moderate",
            dpi=200,
            bits=8,
            include_special_pages=False,
        )
    ):
        if n % SHEETS_PER_TIFF == 0:
            if writer is not None:
                writer.close()
            files.append(out / f"amplop-{len(files) + 1:04d}.tif")
            writer = tifffile.TiffWriter(files[-1])
        writer.write(
            sheet.image,
            compression=compression,
            resolution=(200, 200),
            resolutionunit="INCH",
            photometric="minisblack",
        )
    if writer is not None:
        writer.close()
    return files


def _decode_seconds(files: list[Path]) -> tuple[float, int]:
    """Seconds to decode every page of ``files`` (best of 3), and the page count."""
    best, pages = float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        pages = 0
        for path in files:
            with tifffile.TiffFile(path) as tif:
                for page in tif.pages:
                    image = page.asarray()
                    pages += 1
                    del image
        best = min(best, time.perf_counter() - started)
    return best, pages


def _score_in_child(folder: Path, workdir: Path) -> dict:
    """Run ``ljun score`` with one worker in a fresh process; its time and peak RSS."""
    keys = [folder / "paketA.json", folder / "paketB.json", folder / "susulan.json"]
    args = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        str(folder),
        "--",
        "score",
        str(folder),
        *sum((["--key", str(k)] for k in keys), []),
        "--workers",
        "1",
        "--db",
        str(workdir / "bench.sqlite"),
        "--out",
        str(workdir / "results.jsonl"),
        "--no-progress",
    ]
    done = subprocess.run(args, capture_output=True, text=True, cwd=REPO, check=False)
    if done.returncode != 0:
        raise SystemExit(f"ljun score failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _child(argv: list[str]) -> int:
    """In the child: run the CLI, then print its wall time and peak RSS as JSON."""
    from ljun.cli import main

    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        stdout = sys.stdout
        sys.stdout = quiet
        try:
            code = main(argv)
        finally:
            sys.stdout = stdout
    seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"exit": code, "seconds": seconds, "peak_rss_mb": rss_mb}))
    return code


def main() -> int:
    if "--child" in sys.argv:
        return _child(sys.argv[sys.argv.index("--") + 1 :])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sheets", type=int, default=200, help="sheets for the speed runs")
    parser.add_argument(
        "--memory-sheets",
        type=int,
        default=1000,
        help="sheets of the larger batch for the memory run",
    )
    parser.add_argument("--json", type=Path, default=HERE / "out" / "bench_score.json")
    options = parser.parse_args()

    report: dict = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "targets": {
            "sheets_per_s_per_core": TARGET_SHEETS_PER_S_PER_CORE,
            "ratio_to_decode": TARGET_RATIO_TO_DECODE,
            "rss_mb": TARGET_RSS_MB,
        },
        "speed": [],
    }
    with tempfile.TemporaryDirectory(prefix="ljun-bench-") as tmp:
        root = Path(tmp)
        lzw = _make_batches(root / "lzw", options.sheets, compression="lzw")
        raw_dir = root / "raw"
        raw_dir.mkdir()
        for name in ("paketA.json", "paketB.json", "susulan.json"):
            shutil.copy(root / "lzw" / name, raw_dir / name)
        raw = []
        for path in lzw:
            raw.append(raw_dir / path.name)
            with tifffile.TiffFile(path) as tif, tifffile.TiffWriter(raw[-1]) as writer:
                for page in tif.pages:
                    writer.write(
                        page.asarray(),
                        resolution=(200, 200),
                        resolutionunit="INCH",
                        photometric="minisblack",
                    )
        for label, files in (("gray LZW", lzw), ("gray uncompressed", raw)):
            decode_s, pages = _decode_seconds(files)
            run_dir = root / f"run-{label.split()[-1]}"
            run_dir.mkdir()
            run = _score_in_child(files[0].parent, run_dir)
            per_sheet = run["seconds"] / pages
            report["speed"].append(
                {
                    "tiff": label,
                    "pages": pages,
                    "decode_ms_per_page": 1000 * decode_s / pages,
                    "score_ms_per_sheet": 1000 * per_sheet,
                    "sheets_per_s_per_core": 1 / per_sheet,
                    "ratio_to_decode": per_sheet / (decode_s / pages),
                    "peak_rss_mb": run["peak_rss_mb"],
                }
            )

        memory = []
        for sheets in sorted({min(options.sheets, options.memory_sheets), options.memory_sheets}):
            folder = root / f"mem-{sheets}"
            _make_batches(folder, sheets, compression="lzw")
            run_dir = root / f"run-mem-{sheets}"
            run_dir.mkdir()
            run = _score_in_child(folder, run_dir)
            memory.append(
                {"sheets": sheets, "peak_rss_mb": run["peak_rss_mb"], "seconds": run["seconds"]}
            )
        report["memory"] = memory

    print(
        f"{'TIFF':<20}{'pages':>7}{'decode ms':>11}{'score ms':>10}{'sheets/s':>10}"
        f"{'× decode':>10}{'RSS MB':>8}"
    )
    for row in report["speed"]:
        print(
            f"{row['tiff']:<20}{row['pages']:>7}{row['decode_ms_per_page']:>11.1f}"
            f"{row['score_ms_per_sheet']:>10.1f}{row['sheets_per_s_per_core']:>10.1f}"
            f"{row['ratio_to_decode']:>10.2f}{row['peak_rss_mb']:>8.0f}"
        )
    print(
        f"targets: ≥ {TARGET_SHEETS_PER_S_PER_CORE:.0f} sheets/s per core, ≤ "
        f"{TARGET_RATIO_TO_DECODE:.0f}× decode, < {TARGET_RSS_MB:.0f} MB RSS"
    )
    print("memory (ljun score, 1 worker):")
    for row in report["memory"]:
        print(
            f"  {row['sheets']:>6} sheets: peak RSS {row['peak_rss_mb']:.0f} MB "
            f"({row['seconds']:.1f} s)"
        )
    growth = np.diff([row["peak_rss_mb"] for row in report["memory"]])
    report["rss_growth_mb"] = float(growth.sum()) if growth.size else 0.0
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(report, indent=1))
    print(f"wrote {options.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
