"""``ljun samples make``: generated scans of filled-in sheets, with ground truth."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..samples import FORMATS, LEVEL_NAMES, MIXED, make_samples, planned_pages
from ..samples._generate import SCAN_COLORS
from ..template import DEFAULT_TEMPLATE, load_template

__all__ = ["COMMANDS", "samples"]


class _DpiType(click.ParamType):
    """A resolution in dpi, or ``mixed``."""

    name = "DPI"

    def convert(self, value, param, ctx):
        if isinstance(value, int) or value == MIXED:
            return value
        try:
            return int(value)
        except ValueError:
            self.fail(
                f"{value!r} is not a resolution; give a number such as 200, or {MIXED!r}",
                param,
                ctx,
            )


@click.group()
def samples() -> None:
    """Generate realistic scans of filled-in LJUN sheets with known truth.

    Real scans are confidential and scarce; generated ones let operators try
    a scanner or template and developers test and benchmark the reading.
    """


@samples.command()
@click.option(
    "--template",
    "template_name",
    default=DEFAULT_TEMPLATE,
    show_default=True,
    metavar="TEMPLATE",
    help="Template JSON file or id of a bundled template.",
)
@click.option(
    "--count", type=click.IntRange(1, None), required=True, help="Number of students' sheets."
)
@click.option(
    "--seed",
    type=click.IntRange(0, None),
    default=1,
    show_default=True,
    help="The same seed (and ljun version) gives the same sheets.",
)
@click.option(
    "--level",
    type=click.Choice(LEVEL_NAMES),
    default="moderate",
    show_default=True,
    help="easy: clean grey, small skew; moderate: an office batch; hard: the worst case.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output folder (created; must be empty unless --force).",
)
@click.option(
    "--dpi",
    type=_DpiType(),
    default="200",
    show_default=True,
    help="Scan resolution (100-600), or 'mixed' (envelopes cycle 200, 300, 150).",
)
@click.option(
    "--bits",
    type=click.Choice(["8", "1", MIXED]),
    default="8",
    show_default=True,
    help="8-bit grey, 1-bit black and white, or 'mixed' (envelopes cycle 1, 1, 1, 8).",
)
@click.option(
    "--scan-color",
    type=click.Choice(SCAN_COLORS),
    default="gray",
    show_default=True,
    help="What 8-bit pages record: gray, RGB colour, or 'dropout' (gray under a lamp of the "
    "template's print colour: the printed bubbles vanish).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="tiff",
    show_default=True,
    help="Scan files: multi-page TIFF or PDF per envelope, single PNG/JPEG pages, or "
    "'mixed' (envelopes cycle PDF, TIFF, PNG/JPEG folder, TIFF).",
)
@click.option(
    "--pages-per-file",
    type=click.IntRange(0, None),
    default=0,
    show_default=True,
    help="Split an envelope's TIFF/PDF batch into files of at most this many pages (0: one file).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Processes generating envelopes in parallel.",
)
@click.option(
    "--special-pages/--no-special-pages",
    default=None,
    help="Put blank and non-LJUN pages into batches (default: at moderate and hard).",
)
@click.option(
    "--force", is_flag=True, help="Write into a non-empty folder, replacing a previous set."
)
def make(
    template_name: str,
    count: int,
    seed: int,
    level: str,
    out: Path,
    dpi: int | str,
    bits: str,
    scan_color: str,
    fmt: str,
    pages_per_file: int,
    workers: int,
    special_pages: bool | None,
    force: bool,
) -> None:
    """Write a sample set: scans, truth.jsonl, answer keys, attendance lists, practical scores.

    One multi-page file per sealed envelope (a room of at most 20, sorted by
    participant number); truth.jsonl holds the result record each scanned
    page must read as (source relative to --out, 1-based page).

    \b
    Example:
      ljun samples make --count 200 --seed 1 --level moderate --out /tmp/sets/moderate --workers 2
      ljun samples make --template ljk-provinsi-60 --scan-color rgb --count 40 --out /tmp/sets/ljk
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    template = load_template(template_name)
    n_bits: int | str = bits if bits == MIXED else int(bits)
    total = planned_pages(count, seed, level, include_special_pages=special_pages)
    started = time.perf_counter()
    console = Console(stderr=True)
    with Progress(
        TextColumn("generating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("pages"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        bar = progress.add_task("pages", total=total)
        result = make_samples(
            template,
            out,
            count=count,
            seed=seed,
            level=level,
            dpi=dpi,
            bits=n_bits,
            fmt=fmt,
            pages_per_file=pages_per_file,
            workers=workers,
            include_special_pages=special_pages,
            overwrite=force,
            on_page=lambda n: progress.advance(bar, n),
            scan_color=scan_color,
        )
    elapsed = time.perf_counter() - started
    click.echo(
        f"wrote {result.sheets} sheets ({result.pages} pages) in {result.envelopes} envelope(s) to "
        f"{result.out_dir}: {len(result.scan_files)} scan file(s), truth.jsonl, answer keys, "
        f"attendance lists, praktik.csv ({elapsed:.1f} s, {result.pages / max(elapsed, 1e-9):.1f} pages/s)"
    )


COMMANDS = [samples]
