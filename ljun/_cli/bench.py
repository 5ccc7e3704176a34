"""``ljun bench``: the speed of ``ljun score`` on this machine, against the decode floor.

A thin call into :mod:`ljun.bench`: parse options, generate scans if asked,
print the table, write the JSON.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

from .._io import atomic_write
from ..bench import (
    FALLBACK_SHEETS,
    FORMATS,
    MODES,
    bundled_inputs,
    format_report,
    generate_scans,
    keys_beside,
    run_bench,
)
from ..samples import LEVEL_NAMES

__all__ = ["COMMANDS", "bench"]

_DEFAULT_JSON = "ljun-bench.json"


@click.command()
@click.argument("scans", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--key",
    "key_files",
    multiple=True,
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Answer key JSON; repeat per paket. Default: paketA/paketB/susulan.json beside "
    "the scans, if there.",
)
@click.option(
    "--truth",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="truth.jsonl of the scans (as `ljun samples make` writes it) to measure accuracy.",
)
@click.option(
    "--generate",
    "generate",
    type=click.IntRange(1, None),
    default=None,
    metavar="N",
    help="Generate N sheets (with truth) and benchmark those instead of SCANS.",
)
@click.option(
    "--level",
    type=click.Choice(LEVEL_NAMES),
    default="moderate",
    show_default=True,
    help="Difficulty of generated sheets.",
)
@click.option(
    "--dpi", type=click.IntRange(100, 600), default=200, show_default=True, help="Generated dpi."
)
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="gray",
    show_default=True,
    help="Generated scans in 8-bit gray or 1-bit black and white.",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(FORMATS),
    help="Format of the generated scans; repeat for several (one table row each). "
    "Default: every format of the mode (gray: tif-none tif-lzw tif-deflate jpeg pdf; "
    "1bit: tif-g4 png pdf).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Workers of the all-cores run. Default: one per core.",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Timed runs of each kind; the best is kept.",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(_DEFAULT_JSON),
    show_default=True,
    help="Where to write the report as JSON.",
)
@click.option(
    "--dask",
    "cluster",
    metavar="local[:N]|tcp://HOST:8786",
    default=None,
    help="Also score the whole batch on this Dask cluster (start-up not counted) and "
    "report sheets/s and the scheduler's cost per sheet.",
)
def bench(
    scans: tuple[Path, ...],
    key_files: tuple[Path, ...],
    truth: Path | None,
    generate: int | None,
    level: str,
    dpi: int,
    mode: str,
    formats: tuple[str, ...],
    workers: int | None,
    repeat: int,
    json_out: Path,
    cluster: str | None,
) -> int:
    """Measure ljun score on this machine against the decode floor.

    For each scan format it prints the floor (the fastest decode of the same
    pages), ljun score's CPU ms per sheet on one worker, the difference
    (target: at most 10 ms), their ratio, sheets/s per core and the median
    ms of each stage; then the speed on all cores, the peak memory and,
    when the truth is known, the accuracy.  Every figure comes from this
    one run, each timed run repeated and the best kept, so a busy machine
    shows in the load average, not as a false ratio.

    With no SCANS and no --generate it runs on the bundled samples/scans
    (under a minute on 2 cores).

    \b
    Examples:
      ljun bench
      ljun bench --generate 100 --mode gray --format tif-none --format pdf
      ljun bench scans/ --key paketA.json --key paketB.json --json bench.json
      ljun bench --generate 60 --mode gray --format tif-none --dask local:2
    """
    generated = None
    with tempfile.TemporaryDirectory(prefix="ljun-bench-scans-") as tmp:
        if generate is not None or (not scans and bundled_inputs() is None):
            count = generate or FALLBACK_SHEETS
            click.echo(f"generating {count} {mode} sheets at {dpi} dpi ...", err=True)
            made = generate_scans(
                tmp, count=count, level=level, dpi=dpi, mode=mode, formats=formats
            )
            paths: list[Path] = list(made.files)
            keys: list[Path] = list(key_files) or list(made.keys)
            truth = truth or made.truth
            generated = {
                "sheets": count,
                "level": level,
                "dpi": dpi,
                "mode": mode,
                "formats": sorted({f.parent.name for f in made.files}),
            }
        elif scans:
            paths, keys = list(scans), list(key_files) or keys_beside(scans)
        else:
            bundled = bundled_inputs()
            assert bundled is not None
            paths, keys, bundled_truth = bundled
            keys = list(key_files) or keys
            truth = truth or bundled_truth
        report = run_bench(
            paths,
            key_files=keys,
            truth=truth,
            workers=workers,
            repeat=repeat,
            generated=generated,
            dask=cluster,
            on_step=lambda text: click.echo(f"  {text}", err=True),
        )
    click.echo(format_report(report))
    with atomic_write(json_out, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1)
        handle.write("\n")
    click.echo(f"wrote {json_out}")
    sys.stdout.flush()
    return 0


COMMANDS = [bench]
