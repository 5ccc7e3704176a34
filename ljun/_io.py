"""Small I/O helpers shared by the edges (CLI, exporters, store, renderers).

Files ljun writes (exports, the results store) hold answer keys, names, birth
dates and scores, so they are created readable by their owner only (0600),
whatever the umask; set the environment variable :data:`SHARED_FILES_ENV`
(``LJUN_SHARED_FILES=1``) to let the umask decide instead, as a plain
``open()`` would.

A file that cannot be written (full disk, unwritable folder) raises
:class:`~ljun.errors.OutputError` with one line naming the file and the
cause (:func:`output_error`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ._safe import printable
from .errors import LjunError, OutputError

__all__ = [
    "SHARED_FILES_ENV",
    "atomic_write",
    "atomic_write_bytes",
    "file_mode",
    "output_error",
    "remove_stale_parts",
]

#: Environment variable: ``1`` (or ``yes``/``true``) makes written files follow the umask.
SHARED_FILES_ENV = "LJUN_SHARED_FILES"

# Permissions of a file ljun writes unless SHARED_FILES_ENV is set: owner read/write.
_PRIVATE_MODE = 0o600
# What a plain open() asks for before the umask.
_OPEN_MODE = 0o666

# What to do about each cause of a write failure.
_FIXES: dict[int, str] = {
    errno.ENOSPC: "free some disk space or write to another disk",
    errno.EDQUOT: "free some disk space or write to another disk",
    errno.EACCES: "choose a folder you may write to",
    errno.EPERM: "choose a folder you may write to",
    errno.EROFS: "the disk is read-only; write to another disk",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "the path is a folder; give a file name",
}


def file_mode() -> int:
    """Permissions for a new file: 0600, or what the umask allows with ``LJUN_SHARED_FILES=1``."""
    if os.environ.get(SHARED_FILES_ENV, "").strip().lower() in ("1", "yes", "true"):
        umask = os.umask(0)
        os.umask(umask)
        return _OPEN_MODE & ~umask
    return _PRIVATE_MODE


def output_error(path: str | os.PathLike[str], exc: OSError, *, what: str = "") -> OutputError:
    """One clear line for a failed write: the file, the cause and what to do.

    >>> print(output_error("out/x.csv", OSError(13, "Permission denied")))
    cannot write out/x.csv: Permission denied (fix: choose a folder you may write to)
    """
    cause = exc.strerror or str(exc) or type(exc).__name__
    fix = _FIXES.get(exc.errno or 0)
    where = f"{what} " if what else ""
    return OutputError(
        f"cannot write {where}{printable(os.fspath(path))}: {cause}"
        + (f" (fix: {fix})" if fix else "")
    )


def _part_prefix(target: Path) -> str:
    return f".{target.name}."


def remove_stale_parts(path: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary ``.part`` files a killed writer of ``path`` left beside it.

    A writer holds an exclusive ``flock`` on its ``.part`` file while it
    writes (:func:`atomic_write`); a ``.part`` file nobody holds is left over
    from a process that died, and is removed.  Returns the files removed.
    """
    target = Path(path)
    removed: list[Path] = []
    try:
        candidates = [
            p
            for p in target.parent.iterdir()
            if p.name.startswith(_part_prefix(target)) and p.name.endswith(".part")
        ]
    except OSError:
        return removed
    for part in candidates:
        try:
            fd = os.open(part, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live writer holds it
        else:
            with contextlib.suppress(OSError):
                part.unlink()
                removed.append(part)
        finally:
            os.close(fd)
    return removed


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "w", **open_kwargs: object
) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it over ``path``.

    A reader never sees a half-written file: if the block raises, the
    temporary file is removed and ``path`` is left as it was.  The file is
    created with :func:`file_mode`; ``.part`` files of earlier writers that
    died are removed first (:func:`remove_stale_parts`).

    Raises
    ------
    OutputError
        When the file cannot be written (disk full, no permission ...): one
        line naming ``path`` and the cause.
    """
    target = Path(path)
    try:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            # mkdir's own words ("File exists") would not say what is wrong.
            raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)) from None
        remove_stale_parts(target)
        fd, tmp_name = tempfile.mkstemp(
            prefix=_part_prefix(target), suffix=".part", dir=target.parent
        )
    except OSError as exc:
        raise output_error(target, exc) from None
    try:
        # Held until the file is renamed: marks it as being written (see remove_stale_parts).
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.fchmod(fd, file_mode())
        with open(tmp_name, mode, **open_kwargs) as handle:  # type: ignore[call-overload]
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError) and not isinstance(exc, LjunError):
            raise output_error(target, exc) from None
        raise
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, then rename)."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)
