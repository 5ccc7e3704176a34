"""Where a file of the inbox goes when the watcher is done with it.

``done/YYYY-MM-DD/NAME`` (the local date it was done) or ``quarantine/NAME``
with ``quarantine/NAME.reason.txt`` beside it.  Scanner software often starts
its numbering again every day, so a name already taken gets a number
(``scan.tif`` -> ``scan (2).tif``): nothing is ever overwritten.
"""

from __future__ import annotations

import datetime as _dt
import errno
import os
import shutil
from pathlib import Path

from .._io import atomic_write

__all__ = ["day_folder", "free_name", "move_file", "reason_path", "write_reason"]

#: Suffix of the text file beside a quarantined file that says why it is there.
REASON_SUFFIX = ".reason.txt"


def day_folder(done: Path, day: _dt.date) -> Path:
    """``done/YYYY-MM-DD``: the folder of the files done on ``day``.

    >>> day_folder(Path("done"), _dt.date(2026, 12, 3)).as_posix()
    'done/2026-12-03'
    """
    return done / day.isoformat()


def free_name(folder: Path, name: str, taken: frozenset[str] = frozenset()) -> Path:
    """``folder / name``, or ``folder / "stem (N)suffix"`` with the first N not in use.

    A name is in use when a file of that name exists in ``folder``, or it is
    in ``taken`` (names promised to other files of the same round).  The
    reason file of a quarantined name counts as in use too.

    >>> free_name(Path("/nonexistent"), "scan.tif", frozenset({"scan.tif"})).name
    'scan (2).tif'
    """
    stem, suffix = os.path.splitext(name)
    candidate = name
    number = 1
    while (
        candidate in taken
        or (folder / candidate).exists()
        or (folder / (candidate + REASON_SUFFIX)).exists()
    ):
        number += 1
        candidate = f"{stem} ({number}){suffix}"
    return folder / candidate


def reason_path(quarantined: Path) -> Path:
    """``NAME.reason.txt`` beside a quarantined ``NAME``."""
    return quarantined.with_name(quarantined.name + REASON_SUFFIX)


def write_reason(quarantined: Path, text: str) -> Path:
    """Write why ``quarantined`` is in quarantine beside it (atomically); return that path."""
    target = reason_path(quarantined)
    with atomic_write(target, "w", encoding="utf-8") as handle:
        handle.write(text.rstrip("\n") + "\n")
    return target


def move_file(source: Path, destination: Path) -> None:
    """Move ``source`` to ``destination`` (its folder is made), never overwriting.

    A rename within one file system, which is atomic: the file is in exactly
    one of the two places at any moment.  Across file systems it is copied
    and then removed.

    Raises
    ------
    FileExistsError
        When ``destination`` exists already.
    OSError
        When the move fails.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.exists():
        raise FileExistsError(errno.EEXIST, "will not overwrite", str(destination))
    try:
        os.rename(source, destination)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.move(os.fspath(source), os.fspath(destination))
