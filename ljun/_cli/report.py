"""``ljun report``: item analysis and score distributions of stored results.

A thin call into :mod:`ljun.report`: read the store, build the report,
write HTML or XLSX, print the key checks.
"""

from __future__ import annotations

import datetime as _dt
import sys
from pathlib import Path

import click
from rich.console import Console

from .. import __version__
from ..errors import StoreError
from ..keys import PAKET_NAMES, normalise_paket
from ..report import (
    ItemFlag,
    build_report,
    item_flag_text,
    load_report_input,
    write_html,
    write_xlsx,
)
from ..store import DEFAULT_STORE, open_store

__all__ = ["COMMANDS", "report"]

#: Output suffixes of ``ljun report`` and the format each selects.
REPORT_FORMATS = {".html": "html", ".htm": "html", ".xlsx": "xlsx"}

_TITLE = "LJUN item analysis"


def _paket_option(
    context: click.Context, parameter: click.Parameter, value: str | None
) -> str | None:
    if value is None:
        return None
    code = normalise_paket(value) or normalise_paket(value.upper())
    if code is None:
        raise click.BadParameter(f"{value!r}: write A, B or S (Susulan)")
    return code


def _kode_option(
    context: click.Context, parameter: click.Parameter, value: str | None
) -> str | None:
    if value is not None and not (len(value) == 4 and value.isdigit()):
        raise click.BadParameter(f"{value!r}: a kode kompetensi is 4 digits, e.g. 6018")
    return value


@click.command()
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(DEFAULT_STORE),
    help=f"Results store (SQLite file) written by `ljun score`. Default: {DEFAULT_STORE}.",
)
@click.option(
    "--batch",
    "batch_ids",
    multiple=True,
    type=click.IntRange(min=1),
    metavar="ID",
    help="Only the sheets of this batch (the number `ljun score` prints); repeat for more. "
    "Default: every sheet in the store.",
)
@click.option(
    "--paket",
    callback=_paket_option,
    metavar="A|B|S",
    help="Only this paket (S = Susulan).",
)
@click.option(
    "--kode",
    callback=_kode_option,
    metavar="KKKK",
    help="Only sheets of this kode kompetensi (4 digits).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The report: .html (one file with its plots, opens offline) or .xlsx (the same "
    "tables, one sheet each).",
)
@click.option("--comma", is_flag=True, help="Indonesian decimal comma (7,50) in the HTML.")
def report(
    db: Path,
    batch_ids: tuple[int, ...],
    paket: str | None,
    kode: str | None,
    out: Path,
    comma: bool,
) -> int:
    """Item analysis and score distributions per paket, as HTML or XLSX.

    Per paket (and per competency where it has its own key): sheets, mean,
    median, sd, min, max, a histogram, KR-20 reliability and the standard
    error of measurement.  Per item: difficulty, point-biserial against the
    rest score, the upper/lower 27 % index and how many marked A-E, nothing
    or more than one; flagged when very hard or very easy, when weaker
    students did better, and "check the key for item N" when most of the
    top group chose another letter than the key.  Per school and envelope
    (scan file): sheets, mean and spread, attendance and duplicates.

    A report made while sheets are still in review says so on top.

    \b
    Example:
      ljun report --db ljun.sqlite --out report.html
      ljun report --db ljun.sqlite --batch 3 --paket A --out report.xlsx
    """
    fmt = REPORT_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise click.BadParameter(
            f"{out}: the suffix must be one of {', '.join(REPORT_FORMATS)}", param_hint="--out"
        )
    with open_store(db, create=False) as store:
        inputs = load_report_input(
            store, batches=batch_ids or None, paket=paket, kode_kompetensi=kode
        )
    if not inputs.sheets:
        chosen = [f"--batch {b}" for b in batch_ids]
        chosen += [f"--paket {paket}"] if paket else []
        chosen += [f"--kode {kode}"] if kode else []
        raise StoreError(
            f"results store {db}: no sheet matches {' '.join(chosen) or '(the store is empty)'} "
            "(fix: run `ljun score` first, or widen the choice)"
        )
    result = build_report(inputs.sheets, inputs.keys, attendance=inputs.attendance)
    if fmt == "html":
        made = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        batches = ", ".join(f"{b.id} ({b.kind}, {b.started_at[:10]})" for b in inputs.batches)
        meta = [f"Results store: {db}", f"Batches: {batches}"]
        if paket or kode:
            parts = [PAKET_NAMES[paket]] if paket else []
            parts += [f"kode kompetensi {kode}"] if kode else []
            meta.append(f"Only: {', '.join(parts)}")
        meta.append(f"Made {made} by ljun {__version__}")
        write_html(result, out, title=_TITLE, meta=meta, comma=comma)
    else:
        write_xlsx(result, out)

    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    console.print(
        f"{result.sheets} sheets, {result.scored} scored, {result.in_review} in review; "
        f"{len(result.groups)} group(s): {', '.join(g.label for g in result.groups) or '-'}",
        markup=False,
    )
    if result.in_review:
        console.print("review is not finished: the report says so on top", markup=False)
    for group, item in result.key_checks:
        text = item_flag_text(ItemFlag.CHECK_KEY, item)
        console.print(f"{group.label}: {text}; the key says {item.key}", markup=False)
    click.echo(f"wrote {out}")
    return 0


COMMANDS = [report]
