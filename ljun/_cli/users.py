"""``ljun users add|passwd|list``: the review page's operator accounts."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click

from ..review.auth import ROLES, add_user, list_users, set_password
from ..store import DEFAULT_STORE, open_store

__all__ = ["COMMANDS", "users"]

_DB_OPTION = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(DEFAULT_STORE),
    help=f"Results store (SQLite file). Default: {DEFAULT_STORE} in the current folder.",
)
_STDIN_OPTION = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of stdin instead of asking (for scripts).",
)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _by() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this environment
        return "cli"


@click.group()
def users() -> None:
    """Operator accounts of the review page (``ljun review``).

    Passwords are stored as Argon2id hashes; every change is in the audit
    trail (``ljun audit show``).

    \b
    Example:
      ljun users add sari --role supervisor
      ljun users list
    """


@users.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="operator",
    show_default=True,
    help="operator: decides sheets; supervisor: also reopens resolved sheets.",
)
@_DB_OPTION
@_STDIN_OPTION
def add(name: str, role: str, db: Path, password_stdin: bool) -> int:
    """Add an account; asks for its password twice.

    \b
    Example:
      ljun users add sari --db ljun.sqlite --role operator
    """
    password = _password(password_stdin)
    with open_store(db, create=False) as store:
        user = add_user(store.connection, name, password, role=role, by=_by())
    click.echo(f"added {user.name} ({user.role})")
    return 0


@users.command("passwd")
@click.argument("name")
@_DB_OPTION
@_STDIN_OPTION
def passwd(name: str, db: Path, password_stdin: bool) -> int:
    """Set a new password (also unlocks the account and ends its sessions).

    \b
    Example:
      ljun users passwd sari --db ljun.sqlite
    """
    password = _password(password_stdin)
    with open_store(db, create=False) as store:
        set_password(store.connection, name, password, by=_by())
    click.echo(f"password of {name} changed")
    return 0


@users.command("list")
@_DB_OPTION
def list_(db: Path) -> int:
    """List the accounts: name, role, locked until.

    \b
    Example:
      ljun users list --db ljun.sqlite
    """
    with open_store(db, create=False) as store:
        for user in list_users(store.connection):
            locked = f"  locked until {user.locked_until}" if user.locked_until else ""
            click.echo(f"{user.name}\t{user.role}{locked}")
    return 0


COMMANDS = [users]
