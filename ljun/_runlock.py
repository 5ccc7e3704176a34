"""Which batches of a results store are being written right now, by a live process.

A batch row is ``running`` from :meth:`~ljun.store.ResultsStore.begin_batch`
until its writer commits or aborts.  A process killed in between (``kill -9``,
power cut) leaves the row ``running`` forever; the next run must tell such a
row from a batch another process is still writing at this moment.

While a process writes batch ``N`` it holds a POSIX record lock on byte ``N``
of a sidecar file beside the store (``ljun.sqlite-lock``).  The kernel drops
the lock when the process dies, however it dies, so a ``running`` batch whose
byte nobody holds was left by a dead process (:func:`batch_is_live`).  Locks
of one process do not conflict with each other, so the batches this process
holds are also remembered here; and the lock file is kept open for the life of
the process, since closing any descriptor of it would drop every lock on it.
"""

from __future__ import annotations

import fcntl
import os
import threading

from ._io import file_mode

__all__ = ["lock_path", "hold_batch", "release_batch", "batch_is_live"]

#: Suffix of the lock file beside a store (``ljun.sqlite`` -> ``ljun.sqlite-lock``).
LOCK_SUFFIX = "-lock"

# Per lock file: its open descriptor and the batches this process holds.
_OPEN: dict[str, tuple[int, set[int]]] = {}
_GUARD = threading.Lock()


def lock_path(store_path: str) -> str:
    """The lock file of the store at ``store_path``."""
    return os.path.realpath(store_path) + LOCK_SUFFIX


def _lock_file(store_path: str) -> tuple[int, set[int]]:
    path = lock_path(store_path)
    entry = _OPEN.get(path)
    if entry is None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, file_mode())
        entry = _OPEN[path] = (fd, set())
    return entry


def hold_batch(store_path: str, batch_id: int) -> None:
    """Mark batch ``batch_id`` as written by this process, until :func:`release_batch`.

    Raises OSError when the lock file cannot be created or locked.
    """
    with _GUARD:
        fd, held = _lock_file(store_path)
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, batch_id)
        held.add(batch_id)


def release_batch(store_path: str, batch_id: int) -> None:
    """The batch is finished (committed or aborted): drop its lock."""
    with _GUARD:
        entry = _OPEN.get(lock_path(store_path))
        if entry is None or batch_id not in entry[1]:
            return
        fd, held = entry
        held.discard(batch_id)
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, batch_id)


def batch_is_live(store_path: str, batch_id: int) -> bool:
    """True when a live process (this one or another) is writing batch ``batch_id``.

    A lock file that cannot be opened counts as live: never mark a batch
    interrupted without proof.
    """
    with _GUARD:
        try:
            fd, held = _lock_file(store_path)
        except OSError:
            return True
        if batch_id in held:
            return True
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, batch_id)
        except OSError:
            return True  # another process holds it
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, batch_id)
        return False
