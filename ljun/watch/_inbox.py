"""The inbox as the watcher sees it: which files are there, which have settled.

:class:`Inbox` keeps a :class:`~ljun.watch._settle.Settling` per candidate
file and says which are ready.  :meth:`Inbox.update` takes a listing (name,
size, mtime) and the time, so the decisions are tested without a clock, a
thread or a file system; :meth:`Inbox.scan` makes the listing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ._settle import Completeness, Settling, completeness, is_candidate, observe

__all__ = ["Inbox", "Listing", "list_inbox"]


@dataclass(frozen=True)
class Listing:
    """One file of the inbox at one look: its name, size (bytes) and mtime (ns)."""

    name: str
    size: int
    mtime_ns: int


def list_inbox(inbox: Path) -> list[Listing]:
    """The candidate files directly in ``inbox`` (not in its sub-folders), by name.

    Temporary names (``*.tmp``, ``~*``, ``.*``) and files that are not scans
    are left out; a file removed while being listed is skipped.
    """
    found = []
    with os.scandir(inbox) as entries:
        for entry in entries:
            if not is_candidate(entry.name):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                stat = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            found.append(Listing(entry.name, stat.st_size, stat.st_mtime_ns))
    return sorted(found, key=lambda listing: listing.name)


class Inbox:
    """Which files of the inbox are complete and may be scored.

    Parameters
    ----------
    folder : Path
        The inbox.
    settle_s : float
        Seconds a file must keep its size and mtime before it is looked at.
    give_up_s : float
        Seconds a file whose structure says it is cut short is waited for
        (unchanged) before it is scored anyway (its missing pages reported).
    check : callable, optional
        ``path -> Completeness`` (default :func:`completeness`); an
        :class:`OSError` means the file is gone or not readable yet.
    """

    def __init__(
        self,
        folder: Path,
        *,
        settle_s: float,
        give_up_s: float,
        check: Callable[[Path], Completeness] = completeness,
    ) -> None:
        self.folder = folder
        self.settle_s = settle_s
        self.give_up_s = max(give_up_s, settle_s)
        self._check = check
        self._files: dict[str, Settling] = {}

    def __len__(self) -> int:
        return len(self._files)

    def scan(self, now: float) -> list[Path]:
        """Look at the inbox now; return the files ready to be scored (see :meth:`update`)."""
        return self.update(list_inbox(self.folder), now)

    def update(self, listing: Iterable[Listing], now: float) -> list[Path]:
        """Record a look at the inbox at monotonic time ``now``; return the ready files.

        A file is ready when its size and mtime have not changed for
        ``settle_s`` and it is whole (or not an image at all, which waiting
        would not change), or when it is cut short but has not changed for
        ``give_up_s``.  Files no longer listed are forgotten.
        """
        listed = {}
        for item in listing:
            listed[item.name] = observe(
                self._files.get(item.name), size=item.size, mtime_ns=item.mtime_ns, now=now
            )
        self._files = listed
        ready = []
        for name, settling in listed.items():
            unchanged = settling.unchanged_for(now)
            if unchanged < self.settle_s:
                continue
            path = self.folder / name
            try:
                state = self._check(path)
            except OSError:
                continue  # gone, or locked by the program still writing it
            if state != Completeness.CUT_SHORT or unchanged >= self.give_up_s:
                ready.append(path)
        return ready

    def next_look(self, now: float) -> float | None:
        """Seconds until a file being waited for may be ready; ``None`` when none is."""
        waits = []
        for settling in self._files.values():
            unchanged = settling.unchanged_for(now)
            if unchanged < self.settle_s:
                waits.append(self.settle_s - unchanged)
            elif unchanged < self.give_up_s:
                waits.append(min(self.settle_s, self.give_up_s - unchanged))
        return max(min(waits), 0.0) if waits else None

    def forget(self, path: Path) -> None:
        """Stop tracking ``path`` (it was moved away)."""
        self._files.pop(path.name, None)
