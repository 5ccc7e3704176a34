"""``ljun watch``: score every scan that arrives in an inbox folder, restart-safe.

Thin layer over :mod:`ljun.watch`: options, logging, signals, the worker pool.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..batch import default_workers, load_attendance
from ..calibration import load_calibration
from ..keys import load_answer_keys
from ..store import open_store
from ..template import load_template
from ..watch import (
    LOGGER,
    StatusLine,
    Watcher,
    WatchSettings,
    configure_logging,
    install_stop_signals,
    worker_pool,
)
from ._options import (
    attendance_option,
    calibration_option,
    db_option,
    key_option,
    template_option,
    workers_option,
)

__all__ = ["COMMANDS", "watch"]

#: Default seconds a file must keep its size and modification time before it is read.
DEFAULT_SETTLE_S = 2.0

#: Default seconds a file that is cut short (a stalled copy) is waited for.
DEFAULT_GIVE_UP_S = 300.0

#: Name of the log file written beside the results store when --log is not given.
DEFAULT_LOG_NAME = "ljun-watch.log"


@click.command()
@click.argument(
    "inbox", type=click.Path(exists=True, file_okay=False, writable=True, path_type=Path)
)
@key_option
@db_option
@click.option(
    "--done",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where scored files go, in a folder per day (YYYY-MM-DD). Default: INBOX/done.",
)
@click.option(
    "--quarantine",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where files no page of which can be read go, each with NAME.reason.txt. "
    "Default: INBOX/quarantine.",
)
@attendance_option
@workers_option
@template_option
@calibration_option
@click.option(
    "--poll",
    "poll_s",
    type=click.FloatRange(min=0.05),
    default=None,
    metavar="SECONDS",
    help="Look at the inbox every SECONDS instead of waiting for file-system events "
    "(network shares, where events do not arrive).",
)
@click.option(
    "--settle",
    "settle_s",
    type=click.FloatRange(min=0.0),
    default=DEFAULT_SETTLE_S,
    show_default=True,
    metavar="SECONDS",
    help="A file is read only after its size and modification time have not changed for this long.",
)
@click.option(
    "--give-up",
    "give_up_s",
    type=click.FloatRange(min=0.0),
    default=DEFAULT_GIVE_UP_S,
    show_default=True,
    metavar="SECONDS",
    help="A file cut short (a copy that stalled) is waited for this long, unchanged, "
    "then scored anyway: its missing pages are reported.",
)
@click.option(
    "--files-per-round",
    type=click.IntRange(min=1),
    default=None,
    help="Score at most this many files together. Default: the number of workers.",
)
@click.option(
    "--log",
    "log_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Rotating log file (5 MB x 5). Default: {DEFAULT_LOG_NAME} beside the store.",
)
@click.option(
    "--once",
    is_flag=True,
    help="Score what is in the inbox (waiting for files still arriving), then stop.",
)
def watch(
    inbox: Path,
    key_files: tuple[Path, ...],
    db: Path,
    done: Path | None,
    quarantine: Path | None,
    attendance_files: tuple[Path, ...],
    workers: int | None,
    template_name: str,
    calibration_file: str | None,
    poll_s: float | None,
    settle_s: float,
    give_up_s: float,
    files_per_round: int | None,
    log_file: Path | None,
    once: bool,
) -> int:
    """Score every scan that arrives in INBOX, for as long as it runs.

    Point the scanner software at INBOX.  Each complete file (its size
    unchanged for --settle seconds, and whole by its own structure; names
    like scan.tmp, ~scan.tif or .scan.tif are left until renamed) is scored
    exactly as `ljun score` does, stored in the results store (--db) in one
    transaction, and moved to done/YYYY-MM-DD/.  A file no page of which can
    be read goes to quarantine/ with NAME.reason.txt beside it.  Files that
    arrived while the watcher was stopped are taken at start.

    Safe to kill at any moment: after a restart every file is scored exactly
    once.  A file dropped twice (the same bytes under another name) is moved
    to done/ without being counted again.  One line per file goes to stdout
    and to the log file.  Ctrl-C or SIGTERM stops after the files being
    scored; `ljun status` shows what the store holds.

    \b
    Example:
      ljun watch /srv/scans/inbox --key paketA.json --key paketB.json \\
                 --key susulan.json --db /srv/scans/ljun.sqlite
    """
    template = load_template(template_name)
    keys = load_answer_keys(key_files)
    keys.check_items(template.field("answers").n_items, template=f"template {template.id}")
    calibration = load_calibration(calibration_file)
    attendance = load_attendance(attendance_files) if attendance_files else None
    inbox = inbox.resolve()
    done = (done or inbox / "done").resolve()
    quarantine = (quarantine or inbox / "quarantine").resolve()
    for folder, option in ((done, "--done"), (quarantine, "--quarantine")):
        if folder == inbox:
            raise click.BadParameter(f"{folder}: must not be the inbox itself", param_hint=option)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise click.BadParameter(
                f"{folder}: cannot be made: {exc}", param_hint=option
            ) from None
    worker_count = workers or default_workers()
    settings = WatchSettings(
        inbox=inbox,
        done=done,
        quarantine=quarantine,
        keys=keys,
        template=template,
        calibration=calibration,
        attendance=attendance,
        workers=worker_count,
        arguments={
            "inbox": str(inbox),
            "keys": [str(p) for p in key_files],
            "template": template.id,
            "calibration": calibration.source,
            "attendance": [str(p) for p in attendance_files],
            "workers": worker_count,
        },
    )
    status = StatusLine(sys.stdout, enabled=sys.stdout.isatty())
    configure_logging(log_file or db.parent / DEFAULT_LOG_NAME, status, sys.stdout)
    pool = worker_pool(worker_count) if worker_count > 1 else None
    try:
        with open_store(db) as store:
            watcher = Watcher(
                settings,
                store,
                settle_s=settle_s,
                give_up_s=give_up_s,
                poll_s=poll_s,
                files_per_round=files_per_round or worker_count,
                executor=pool,
                status=status,
            )
            restore = install_stop_signals(watcher)
            mode = f"polling every {poll_s:g} s" if poll_s is not None else "file-system events"
            LOGGER.info(
                f"watching {inbox} ({mode}, settle {settle_s:g} s, {worker_count} workers); "
                f"results in {db}, files to {done} and {quarantine}"
            )
            try:
                watcher.run(until_empty=once)
            finally:
                restore()
            totals = watcher.totals
            LOGGER.info(
                f"stopped: {totals.files} files, {totals.sheets} sheets, {totals.review} to "
                f"review, {totals.quarantined} quarantined, {totals.duplicates} duplicates"
            )
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return 0


COMMANDS = [watch]
