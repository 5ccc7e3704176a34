"""Operator accounts, login sessions and lock-out (tables ``users`` and ``sessions``).

Passwords are hashed with Argon2id with OWASP's recommended minimum
(:data:`ARGON2_MEMORY_KIB` of memory, :data:`ARGON2_TIME_COST` passes, one
lane: about 0.1 s per login on a 2-core office machine; argon2-cffi's default
profile, 64 MiB and 4 lanes, took 0.6 s there); the store never holds a
password, and a hash made with other parameters still verifies.  A session is a random
token in an HttpOnly cookie; the store keeps only its SHA-256, so a copy of
the store does not let anyone in.  After :data:`MAX_FAILED_LOGINS` wrong
passwords in a row an account is locked for :data:`LOCKOUT_SECONDS`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import secrets
import sqlite3
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..errors import LjunError
from ._db import now, transaction
from .audit import append_audit

__all__ = [
    "ROLES",
    "MAX_FAILED_LOGINS",
    "LOCKOUT_SECONDS",
    "SESSION_HOURS",
    "MIN_PASSWORD_LENGTH",
    "AccountError",
    "User",
    "Session",
    "add_user",
    "set_password",
    "list_users",
    "login",
    "session_for",
    "logout",
]

#: Roles: operators decide sheets; supervisors also reopen resolved ones.
ROLES: tuple[str, ...] = ("operator", "supervisor")

#: Wrong passwords in a row before an account is locked.
MAX_FAILED_LOGINS = 5

#: How long a locked account stays locked, seconds.
LOCKOUT_SECONDS = 300

#: A session ends this many hours after login (an office shift and some).
SESSION_HOURS = 12

#: Shortest password accepted, characters.
MIN_PASSWORD_LENGTH = 8

#: Argon2id parameters (OWASP Password Storage Cheat Sheet: m=19 MiB, t=2, p=1).
ARGON2_MEMORY_KIB = 19456
ARGON2_TIME_COST = 2
ARGON2_LANES = 1

_HASHER = PasswordHasher(
    time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_LANES
)
# Verified when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("ljun-no-such-user")


class AccountError(LjunError, ValueError):
    """An account cannot be added or changed (name taken, unknown, weak password ...)."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    locked_until: str | None = None


@dataclass(frozen=True)
class Session:
    """A logged-in operator: who, and the CSRF token their forms must carry."""

    user: User
    csrf_token: str
    language: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"the password is too short: at least {MIN_PASSWORD_LENGTH} characters, please"
        )


def add_user(
    db: sqlite3.Connection, name: str, password: str, *, role: str = "operator", by: str
) -> User:
    """Add an account (audited as ``user_add``)."""
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if not name or not name.isprintable() or name.strip() != name or len(name) > 64:
        raise AccountError(f"user name {name!r}: 1-64 printable characters, no outer spaces")
    _check_password(password)
    digest = _HASHER.hash(password)
    with transaction(db):
        if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise AccountError(f"user {name!r} exists already (change the password: users passwd)")
        cursor = db.execute(
            "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
            (name, role, digest, now()),
        )
        append_audit(db, operator=by, action="user_add", field="user", new=f"{name} ({role})")
    return User(int(cursor.lastrowid or 0), name, role)


def set_password(db: sqlite3.Connection, name: str, password: str, *, by: str) -> None:
    """Change a password, unlock the account and end its sessions (audited)."""
    _check_password(password)
    digest = _HASHER.hash(password)
    with transaction(db):
        row = db.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise AccountError(f"no user {name!r} (add one: ljun users add {name})")
        db.execute(
            "UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL "
            "WHERE id = ?",
            (digest, row[0]),
        )
        db.execute("DELETE FROM sessions WHERE user_id = ?", (row[0],))
        append_audit(db, operator=by, action="user_passwd", field="user", new=name)


def list_users(db: sqlite3.Connection) -> list[User]:
    """Every account, by name."""
    rows = db.execute("SELECT id, name, role, locked_until FROM users ORDER BY name").fetchall()
    return [User(*row) for row in rows]


def _stamp(moment: _dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def login(
    db: sqlite3.Connection, name: str, password: str, *, language: str = "id"
) -> tuple[Session, str] | str:
    """Check a password; on success start a session.

    Returns
    -------
    (Session, str) or str
        The session and its cookie token; or the reason it failed:
        ``"locked"`` (too many wrong passwords lately) or ``"wrong"``
        (unknown name or wrong password; not told apart).
    """
    row = db.execute(
        "SELECT id, name, role, password_hash, failed_logins, locked_until FROM users "
        "WHERE name = ?",
        (name,),
    ).fetchone()
    moment = _dt.datetime.now(_dt.UTC)
    if row is None:
        with contextlib.suppress(VerificationError):  # wrong, as intended: only the time matters
            _HASHER.verify(_DUMMY_HASH, password)
        return "wrong"
    user_id, user_name, role, digest, failed, locked_until = row
    if locked_until and _dt.datetime.fromisoformat(locked_until) > moment:
        return "locked"
    try:
        _HASHER.verify(digest, password)
    except (VerificationError, InvalidHashError):
        failed = int(failed) + 1
        lock = _stamp(moment + _dt.timedelta(seconds=LOCKOUT_SECONDS))
        with transaction(db):
            db.execute(
                "UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?",
                (
                    0 if failed >= MAX_FAILED_LOGINS else failed,
                    lock if failed >= MAX_FAILED_LOGINS else None,
                    user_id,
                ),
            )
        return "locked" if failed >= MAX_FAILED_LOGINS else "wrong"
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    with transaction(db):
        db.execute(
            "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?", (user_id,)
        )
        db.execute("DELETE FROM sessions WHERE expires_at < ?", (_stamp(moment),))
        db.execute(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, language, created_at, "
            "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                _token_hash(token),
                user_id,
                csrf,
                language,
                _stamp(moment),
                _stamp(moment + _dt.timedelta(hours=SESSION_HOURS)),
            ),
        )
    return Session(User(user_id, user_name, role), csrf, language), token


def session_for(db: sqlite3.Connection, token: str | None) -> Session | None:
    """The live session of a cookie token, or ``None``."""
    if not token:
        return None
    row = db.execute(
        "SELECT u.id, u.name, u.role, s.csrf_token, s.language, s.expires_at FROM sessions s "
        "JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
        (_token_hash(token),),
    ).fetchone()
    if row is None or row[5] < _stamp(_dt.datetime.now(_dt.UTC)):
        return None
    return Session(User(row[0], row[1], row[2]), row[3], row[4])


def set_language(db: sqlite3.Connection, token: str, language: str) -> None:
    """Remember the page language of a session."""
    with transaction(db):
        db.execute(
            "UPDATE sessions SET language = ? WHERE token_hash = ?", (language, _token_hash(token))
        )


def logout(db: sqlite3.Connection, token: str | None) -> None:
    """End a session."""
    if token:
        with transaction(db):
            db.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))
