"""``ljun audit verify|show``: the review decisions' hash-chained audit trail."""

from __future__ import annotations

from pathlib import Path

import click

from ..review.audit import audit_entries, verify_audit
from ..store import DEFAULT_STORE, open_store

__all__ = ["COMMANDS", "audit", "EXIT_TAMPERED"]

#: Exit code of ``ljun audit verify`` when the chain is broken.
EXIT_TAMPERED = 1

_DB_OPTION = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(DEFAULT_STORE),
    help=f"Results store (SQLite file). Default: {DEFAULT_STORE} in the current folder.",
)


@click.group()
def audit() -> None:
    """Check and list the audit trail of operator changes.

    \b
    Example:
      ljun audit verify --db ljun.sqlite
      ljun audit show --db ljun.sqlite --sheet amplop-002.tif
    """


@audit.command()
@_DB_OPTION
def verify(db: Path) -> int:
    """Check the hash chain; name the first entry altered, removed or reordered.

    Exit 0 when the chain holds (the head hash is printed: keep it with the
    office's records to detect entries removed at the end), 1 when it is
    broken, 2 when the store cannot be read.

    \b
    Example:
      ljun audit verify --db ljun.sqlite
    """
    with open_store(db, create=False) as store:
        report = verify_audit(store.connection)
    if report.ok:
        click.echo(f"audit trail intact: {report.entries} entries, head {report.head}")
        return 0
    click.echo(f"ljun: audit trail BROKEN at entry {report.first_bad}: {report.problem}", err=True)
    return EXIT_TAMPERED


@audit.command()
@_DB_OPTION
@click.option("--sheet", default="", help="Only entries whose sheet contains this text.")
@click.option("--operator", default="", help="Only entries by this operator.")
def show(db: Path, sheet: str, operator: str) -> int:
    """List the entries, oldest first: id, time, operator, action, sheet, field, old → new, reason.

    \b
    Example:
      ljun audit show --db ljun.sqlite --operator sari
    """
    with open_store(db, create=False) as store:
        for entry in audit_entries(store.connection):
            if sheet and sheet not in entry.sheet or operator and entry.operator != operator:
                continue
            click.echo(
                f"{entry.id}\t{entry.at}\t{entry.operator}\t{entry.action}\t{entry.sheet}\t"
                f"{entry.field}\t{entry.old_value!r} → {entry.new_value!r}\t{entry.reason}"
            )
    return 0


COMMANDS = [audit]
