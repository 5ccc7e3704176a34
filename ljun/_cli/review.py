"""``ljun review``: serve the operators' review page."""

from __future__ import annotations

from pathlib import Path

import click

from ..store import DEFAULT_STORE

__all__ = ["COMMANDS", "review"]

#: Where the page listens unless --host says otherwise: this machine only.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
#: Requests served at once (waitress worker threads).
DEFAULT_THREADS = 4


@click.command()
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(DEFAULT_STORE),
    help=f"Results store (SQLite file). Default: {DEFAULT_STORE} in the current folder.",
)
@click.option(
    "--host",
    default=DEFAULT_HOST,
    show_default=True,
    help="Address to listen on; 0.0.0.0 opens the page to the office network.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=DEFAULT_THREADS,
    show_default=True,
    help="Requests served at once.",
)
def review(db: Path, host: str, port: int, threads: int) -> int:
    """Serve the review page: operators decide what the machine was unsure of.

    Operators log in (accounts: ljun users add), work through the queue of
    sheets in review by keyboard, and every decision rescores the sheet in
    the store and is written to the audit trail (ljun audit verify).  The
    page speaks Bahasa Indonesia (English on request).  Stop with Ctrl-C.

    \b
    Example:
      ljun users add sari --db ljun.sqlite
      ljun review --db ljun.sqlite --port 8000
    """
    from ..review.app import create_app, serve  # Flask and waitress only for this command

    create_app(db)  # the store is checked before anything listens
    click.echo(f"ljun review: http://{host}:{port}/ (store {db}); Ctrl-C stops", err=True)
    try:
        serve(db, host=host, port=port, threads=threads)
    except (OSError, ValueError) as exc:  # port taken, no such address ...
        raise click.UsageError(
            f"cannot listen on {host}:{port}: {exc} (fix: another --port, or --host this "
            "machine has)"
        ) from None
    return 0


COMMANDS = [review]
