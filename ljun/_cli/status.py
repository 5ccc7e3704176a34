"""``ljun status``: what the results store holds, at a glance."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from pathlib import Path

import click

from ..store import DEFAULT_STORE, StoreStatus, open_store

__all__ = ["COMMANDS", "status"]


def _local_midnight_utc() -> str:
    """The start of today (local time) as the store writes times: ISO, UTC, seconds."""
    midnight = _dt.datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(_dt.UTC).isoformat(timespec="seconds")


def _local(stamp: str | None) -> str:
    if not stamp:
        return "-"
    return _dt.datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _counts(counts: Mapping[str, int]) -> str:
    items = dict(counts)
    if not items:
        return "0"
    total = sum(items.values())
    return f"{total} ({', '.join(f'{n} {what}' for what, n in sorted(items.items()))})"


def _as_json(found: StoreStatus, db: Path) -> str:
    last = found.last_file
    batch = found.last_batch
    return json.dumps(
        {
            "store": str(db),
            "since": found.since,
            "batches_today": dict(found.batches_since),
            "sheets": found.sheets,
            "review": found.review,
            "failed": found.failed,
            "files_today": dict(found.files_since),
            "last_file": None
            if last is None
            else {
                "name": last.name,
                "outcome": last.outcome,
                "destination": last.destination,
                "pages": last.pages,
                "review": last.review,
                "failed": last.failed,
                "at": last.at,
            },
            "last_batch": None
            if batch is None
            else {
                "id": batch.id,
                "kind": batch.kind,
                "status": batch.status,
                "started_at": batch.started_at,
                "finished_at": batch.finished_at,
            },
        },
        indent=2,
    )


@click.command()
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(DEFAULT_STORE),
    help=f"Results store (SQLite file). Default: {DEFAULT_STORE} in the current folder.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def status(db: Path, as_json: bool) -> int:
    """Show what the results store holds: batches today, sheets, review, the last file.

    "Today" is since local midnight.  Sheets in review are those whose
    current score needs a person; failed sheets are pages that could not be
    read at all.  The last file seen is the newest file `ljun watch` took out
    of its inbox.  Reads only: safe while a watcher or a review page runs.

    \b
    Example:
      ljun status --db /srv/scans/ljun.sqlite
    """
    with open_store(db, create=False) as store:
        found = store.status(since=_local_midnight_utc())
    if as_json:
        click.echo(_as_json(found, db))
        return 0
    click.echo(f"results store {db}")
    click.echo(f"batches today:     {_counts(found.batches_since)}")
    click.echo(f"files today:       {_counts(found.files_since)}")
    click.echo(f"sheets:            {found.sheets}")
    click.echo(f"in review:         {found.review}")
    click.echo(f"failed (not read): {found.failed}")
    last = found.last_file
    if last is None:
        click.echo("last file seen:    - (no file from ljun watch yet)")
    else:
        click.echo(
            f"last file seen:    {last.name} at {_local(last.at)}: {last.outcome}, "
            f"{last.pages} sheets, {last.review} to review -> {last.destination}"
        )
    batch = found.last_batch
    if batch is not None:
        click.echo(
            f"last batch:        {batch.id} ({batch.kind}, {batch.status}) started "
            f"{_local(batch.started_at)}"
        )
    return 0


COMMANDS = [status]
