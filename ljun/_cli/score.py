"""``ljun score``, ``ljun rescore``, ``ljun export``: scanner batches to scores.

Thin calls into :mod:`ljun.batch`, :mod:`ljun.store` and :mod:`ljun.export`;
this module only parses options, shows progress and prints summaries.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from .._io import output_error
from .._safe import printable
from ..batch import (
    BatchResult,
    FileResult,
    default_workers,
    load_attendance,
    run_batch,
    start_worker_server,
)
from ..batch import (
    rescore as rescore_store,
)
from ..calibration import load_calibration
from ..export import EXPORT_FORMATS, export_records
from ..keys import PAKET_NAMES, AnswerKeySet, load_answer_keys
from ..numbers import format_score
from ..store import ResultsStore, open_store
from ..template import load_template
from ..vocabulary import LOAD_FAILURES, FailureReason
from ._options import (
    attendance_option,
    calibration_option,
    db_option,
    key_option,
    template_option,
    workers_option,
)

__all__ = ["COMMANDS", "score", "rescore", "export"]

# Per-file lines in the summary are shown up to this many files; beyond,
# only files with a sheet in review (the rest are in the store).
_MAX_FILE_LINES = 50

# Absent participants listed by number in the summary, at most.
_MAX_ABSENT_LINES = 20

_OUT_HELP = (
    "Also write the results to this file; the suffix picks the format: "
    f"{', '.join(EXPORT_FORMATS)}."
)
_COMMA_HELP = "Write scores with the Indonesian decimal comma (7,50) in CSV and the summary."


def _check_out(out: Path | None) -> None:
    if out is not None and out.suffix.lower() not in EXPORT_FORMATS:
        raise click.BadParameter(
            f"{out}: the suffix must be one of {', '.join(EXPORT_FORMATS)}", param_hint="--out"
        )
    if out is not None:
        # Before a long batch, not after it: the nearest existing folder must be one.
        folder = out.absolute().parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise output_error(out, OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)))


def _score_text(value: Decimal | str | None, comma: bool) -> str:
    return "-" if value is None else format_score(Decimal(value), comma=comma)


def _console() -> Console:
    # Looked up at call time, so tests that capture sys.stdout see the output.
    return Console(file=sys.stdout, highlight=False, soft_wrap=True)


@click.command()
@click.argument("scans", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@key_option
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help=_OUT_HELP
)
@db_option
@workers_option
@template_option
@calibration_option
@attendance_option
@click.option("--comma", is_flag=True, help=_COMMA_HELP)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show the progress bar. Default: when stderr is a terminal.",
)
@click.option(
    "--dask",
    "cluster",
    metavar="local[:N]",
    default=None,
    help="Read the pages on a local Dask cluster of N worker processes (default: one per "
    "core) instead of --workers. Needs pip install 'ljun[dask]'.",
)
@click.option(
    "--scheduler",
    metavar="tcp://HOST:8786",
    default=None,
    help="Read the pages on the Dask cluster of this scheduler; every worker must reach "
    "the scan files under the same paths. The store stays on this machine.",
)
def score(
    scans: tuple[Path, ...],
    key_files: tuple[Path, ...],
    out: Path | None,
    db: Path,
    workers: int | None,
    template_name: str,
    calibration_file: str | None,
    attendance_files: tuple[Path, ...],
    comma: bool,
    progress: bool | None,
    cluster: str | None,
    scheduler: str | None,
) -> int:
    """Read, score and store scanned LJUN sheets.

    SCANS are files and folders in any order (folders are searched
    recursively for .tif/.tiff/.pdf/.png/.jpg/.jpeg); multi-page TIFF and
    PDF are read page by page.  Each sheet is scored with the key of the
    paket it reads (and of its kode kompetensi where keys are per
    competency).  Sheets the machine is unsure of, that could not be read,
    whose paket has no key or that reconciliation flags (same nomor peserta
    or barcode twice, not on the attendance list) are sent to review.

    Everything is stored in the results store (--db); re-running the same
    files updates their sheets instead of adding them again.  Exit code 0
    when every page was scored or sent to review, 2 on bad arguments or
    unusable keys, 74 when the store or --out cannot be written (disk full).

    \b
    Example:
      ljun score scans/ --key paketA.json --key paketB.json --key susulan.json \\
                 --out results.xlsx
      ljun score /shared/scans --key paketA.json --scheduler tcp://10.0.0.5:8786
    """
    _check_out(out)
    if cluster is not None and scheduler is not None:
        raise click.UsageError("give --dask or --scheduler, not both")
    if scheduler is not None and "://" not in scheduler:
        raise click.BadParameter(
            f"{scheduler!r} is not a scheduler address such as tcp://HOST:8786",
            param_hint="--scheduler",
        )
    worker_count = workers or default_workers()
    if worker_count > 1 and cluster is None and scheduler is None:
        start_worker_server()  # imports on another core while the inputs load
    template = load_template(template_name)
    keys = load_answer_keys(key_files)
    keys.check_items(template.field("answers").n_items, template=f"template {template.id}")
    calibration = load_calibration(calibration_file)
    attendance = load_attendance(attendance_files) if attendance_files else None
    arguments = {
        "scans": [str(p) for p in scans],
        "keys": [str(p) for p in key_files],
        "template": template.id,
        "calibration": calibration.source,
        "attendance": [str(p) for p in attendance_files],
        "workers": worker_count,
        "dask": cluster or scheduler,
    }
    err_console = Console(file=sys.stderr)
    show_progress = err_console.is_terminal if progress is None else progress
    with contextlib.ExitStack() as stack:
        executor = None
        if cluster is not None or scheduler is not None:
            from .._dask import dask_executor

            executor = stack.enter_context(dask_executor(cluster or scheduler or ""))
        store = stack.enter_context(open_store(db))
        _report_interrupted(store)
        with _BatchProgress(err_console, enabled=show_progress) as bar:
            result = run_batch(
                scans,
                keys=keys,
                store=store,
                template=template,
                calibration=calibration,
                workers=worker_count,
                executor=executor,
                attendance=attendance,
                arguments=arguments,
                on_files=bar.start,
                on_file_done=bar.file_done,
                on_pages=bar.pages_done,
            )
        # Export before printing: a closed stdout (`| head`) must not cost the file.
        written = None
        if out is not None:
            written = export_records(store.result_records(batch=result.batch_id), out, comma=comma)
        _print_batch_summary(result, keys, db=db, comma=comma)
        if written is not None:
            click.echo(f"wrote {written} records to {printable(out)}")
    return 0


def _report_interrupted(store: ResultsStore) -> None:
    """Mark batches a dead process left ``running`` as ``interrupted``, and say so."""
    for batch in store.mark_interrupted():
        click.echo(
            f"warning: batch {batch.id} ({batch.kind}, started {batch.started_at}) was "
            "interrupted: the process running it died before it finished; none of its "
            "sheets were stored, so score those files again",
            err=True,
        )


class _BatchProgress:
    """A rich progress bar over files, counting sheets and sheets/s."""

    def __init__(self, console: Console, *, enabled: bool) -> None:
        self._progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files  {task.fields[sheets]} sheets  {task.fields[rate]} sheets/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
            transient=False,
        )
        self._task: Any = None
        self._sheets = 0
        self._started = time.perf_counter()

    def __enter__(self) -> _BatchProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.__exit__(*exc_info)  # type: ignore[arg-type]

    def start(self, files: int) -> None:
        self._started = time.perf_counter()
        self._task = self._progress.add_task("scoring", total=files, sheets=0, rate="0.0")

    def file_done(self, result: FileResult) -> None:
        for page, error in result.errors:
            self._progress.console.print(
                f"warning: {printable(result.source)} page {page}: reader error: "
                f"{printable(error)}",
                markup=False,
            )
        damaged = [r.page for _, r in result.readings if r.failure == FailureReason.TRUNCATED]
        if damaged:
            loaded = sum(r.failure not in LOAD_FAILURES for _, r in result.readings)
            self._progress.console.print(
                f"warning: {printable(result.source)}: damaged file, {loaded} page(s) read; "
                f"page(s) {', '.join(map(str, damaged))} and maybe later ones missing, sent "
                "to review as 'truncated' (copy or scan the file again)",
                markup=False,
                soft_wrap=True,
            )
        self._progress.update(self._task, advance=1)

    def pages_done(self, pages: int) -> None:
        self._sheets += pages
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        self._progress.update(self._task, sheets=self._sheets, rate=f"{self._sheets / elapsed:.1f}")


def _print_batch_summary(result: BatchResult, keys: AnswerKeySet, *, db: Path, comma: bool) -> None:
    summary = result.summary
    console = _console()
    overview = Table(title=f"Batch {result.batch_id} — stored in {db}", show_header=False)
    overview.add_column("what")
    overview.add_column("count", justify="right")
    rows: list[tuple[str, Any]] = [
        ("files", summary["files"]),
        ("sheets read", summary["pages"]),
        ("scored", summary["scored"]),
        ("sent to review", summary["review"]),
        ("failed (not read)", summary["failed"]),
    ]
    if summary["duplicate_pages"]:
        rows.append(("same page given twice (skipped)", summary["duplicate_pages"]))
    if summary["reader_errors"]:
        rows.append(("pages with a reader error", summary["reader_errors"]))
    if summary["reasons"].get(FailureReason.TRUNCATED):
        rows.append(
            (
                "damaged files: pages missing (truncated)",
                summary["reasons"][FailureReason.TRUNCATED],
            )
        )
    rows.append(("sheets/s", summary["sheets_per_second"] or "-"))
    for label, value in rows:
        overview.add_row(label, str(value))
    console.print(overview)

    _print_paket_table(console, summary["pakets"], comma=comma)
    _print_reasons(console, summary["reasons"])

    reconciliation = Table(title="Reconciliation", show_header=False)
    reconciliation.add_column("what")
    reconciliation.add_column("count", justify="right")
    reconciliation.add_row(
        "same nomor peserta on 2+ sheets", str(summary["duplicate_nomor_peserta"])
    )
    reconciliation.add_row("same barcode on 2+ sheets", str(summary["duplicate_barcode"]))
    if summary["attendance_listed"] is not None:
        reconciliation.add_row("on the attendance lists", str(summary["attendance_listed"]))
        reconciliation.add_row("absent (marked on the list, no sheet)", str(summary["absent"]))
        reconciliation.add_row(
            "listed, but no sheet read with that nomor", str(summary["missing_sheet"])
        )
        reconciliation.add_row("sheets not on any list", str(summary["not_on_attendance"]))
        reconciliation.add_row(
            "sheets of participants marked absent", str(summary["marked_absent"])
        )
    reconciliation.add_row(
        "sheets with an unread nomor peserta", str(summary["unread_nomor_peserta"])
    )
    console.print(reconciliation)

    for kind, label in (("missing_sheet", "no sheet read for"), ("absent", "absent")):
        numbers = [e.nomor_peserta for e in result.reconciliation if e.kind == kind]
        if numbers:
            shown = ", ".join(numbers[:_MAX_ABSENT_LINES])
            more = (
                f" and {len(numbers) - _MAX_ABSENT_LINES} more"
                if len(numbers) > _MAX_ABSENT_LINES
                else ""
            )
            console.print(f"{label}: {shown}{more}")

    _print_files(console, result)
    missing = [p for p in ("A", "B", "S") if p not in keys.pakets()]
    if missing:
        console.print(f"no key given for: {', '.join(PAKET_NAMES[p] for p in missing)}")


def _print_paket_table(
    console: Console, pakets: Mapping[str, Mapping[str, Any]], *, comma: bool
) -> None:
    table = Table(title="By paket")
    table.add_column("paket")
    table.add_column("sheets", justify="right")
    table.add_column("scored", justify="right")
    table.add_column("mean score", justify="right")
    for paket, entry in pakets.items():
        table.add_row(
            PAKET_NAMES.get(paket, "unread paket"),
            str(entry["sheets"]),
            str(entry["scored"]),
            _score_text(entry["mean"], comma),
        )
    console.print(table)


def _print_reasons(console: Console, reasons: Mapping[str, int]) -> None:
    if not reasons:
        return
    table = Table(title="Flags (sheets)")
    table.add_column("reason")
    table.add_column("sheets", justify="right")
    for reason, count in reasons.items():
        table.add_row(reason, str(count))
    console.print(table)


def _print_files(console: Console, result: BatchResult) -> None:
    lines = [e for e in result.reconciliation if e.kind == "file_pages"]
    counts = [(e.source, json.loads(e.detail)) for e in lines]
    if len(counts) > _MAX_FILE_LINES:
        hidden = sum(1 for _, c in counts if not c["review"])
        counts = [(s, c) for s, c in counts if c["review"]]
        note = f"{hidden} other files: every sheet scored, none in review"
    else:
        note = ""
    if counts:
        table = Table(title="By file")
        for name in ("file", "pages", "scored", "review", "failed"):
            table.add_column(name, justify="left" if name == "file" else "right")
        for source, c in counts:
            table.add_row(
                printable(source),
                str(c["pages"]),
                str(c["scored"]),
                str(c["review"]),
                str(c["failed"]),
            )
        console.print(table)
    if note:
        console.print(note)


@click.command()
@db_option
@key_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Afterwards write every sheet's current result to this file "
    f"({', '.join(EXPORT_FORMATS)}).",
)
@click.option("--comma", is_flag=True, help=_COMMA_HELP)
def rescore(db: Path, key_files: tuple[Path, ...], out: Path | None, comma: bool) -> int:
    """Score the stored sheets again with corrected keys, without rescanning.

    After a key correction or a cancelled item, give the corrected key(s):
    every stored sheet of a paket (and kode kompetensi) that one of the keys
    is for gets a new score; other sheets keep theirs.  The old scores stay
    in the store's history with the key that gave them.

    \b
    Example:
      ljun rescore --db ljun.sqlite --key paketA-corrected.json --out results.csv
    """
    _check_out(out)
    keys = load_answer_keys(key_files)
    with open_store(db, create=False) as store:
        _report_interrupted(store)
        answer_rows = store.answer_rows()
        if answer_rows:
            keys.check_items(answer_rows, template="the stored sheets")
        last = store.last_batch(kind="score")
        template_id = last.template if last else ""
        result = rescore_store(
            store, keys, template=template_id, arguments={"keys": [str(p) for p in key_files]}
        )
        console = _console()
        table = Table(title=f"Rescore {result.batch_id} — {db}", show_header=False)
        table.add_column("what")
        table.add_column("count", justify="right")
        table.add_row("sheets rescored", str(result.rescored))
        table.add_row("score or flags changed", str(result.changed))
        table.add_row("kept (not read, or no key given for their paket)", str(result.kept))
        console.print(table)
        _print_paket_table(console, result.summary["pakets"], comma=comma)
        if out is not None:
            written = export_records(store.result_records(), out, comma=comma)
            click.echo(f"wrote {written} records to {printable(out)}")
    return 0


@click.command()
@db_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help=_OUT_HELP.replace("Also write", "Write"),
)
@click.option(
    "--batch",
    "batch_id",
    type=click.IntRange(min=1),
    default=None,
    help="Only the sheets of this batch (see the batch number `ljun score` prints). "
    "Default: every sheet in the store.",
)
@click.option(
    "--comma", is_flag=True, help="Write scores with the Indonesian decimal comma (7,50) in CSV."
)
@click.option(
    "--corrections",
    is_flag=True,
    help="Write every correction made on the review page instead (CSV or JSONL): when, "
    "operator, sheet, field, item, old and new value, reason.",
)
def export(db: Path, out: Path, batch_id: int | None, comma: bool, corrections: bool) -> int:
    """Write the current result of stored sheets to CSV, JSONL or XLSX.

    One record per sheet (its latest score), with the keys source, page,
    template, nomor_peserta, nama, tanggal_lahir, kode_kompetensi, paket,
    barcode, answers, correct, score, flags, review.  The file is written
    atomically: it appears complete or not at all.

    \b
    Example:
      ljun export --db ljun.sqlite --out hasil.xlsx
      ljun export --db ljun.sqlite --corrections --out koreksi.csv
    """
    if corrections:
        from ..review.corrections import write_corrections

        with open_store(db, create=False) as store:
            written = write_corrections(store.connection, out)
        click.echo(f"wrote {written} corrections to {out}")
        return 0
    _check_out(out)
    with open_store(db, create=False) as store:
        if batch_id is not None:
            store.batch(batch_id)
        written = export_records(store.result_records(batch=batch_id), out, comma=comma)
    click.echo(f"wrote {written} records to {printable(out)}")
    return 0


COMMANDS = [score, rescore, export]
