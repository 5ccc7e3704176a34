"""Arrays worth keeping between runs: built once per machine, not once per process.

The sampling pattern of a template (:func:`ljun.read.sampling_pattern`)
takes 0.15-0.2 s of CPU to build (rendering the blank form, finding clean
paper around 963 bubbles): every ``ljun score``, every worker process and
every ``ljun watch`` round paid it.  :func:`cached_arrays` keeps such arrays
in an ``.npz`` file under the cache folder and loads them in a few
milliseconds.

A cached file is only used when everything that made it is the same: the
key holds what the caller names (the template, the dpi) plus the ljun
version, the text of the modules that compute the arrays, and the versions
of NumPy, OpenCV and Pillow.  Anything else is built afresh, so editing the
code can never leave a stale pattern in use.  A cache that cannot be read
or written (read-only home, full disk) only costs the time to build.

The folder is ``$LJUN_CACHE_DIR``, else ``$XDG_CACHE_HOME/ljun``, else
``~/.cache/ljun``; ``LJUN_CACHE_DIR=off`` turns the cache off.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast

import numpy as np

from ._io import atomic_write_bytes
from .errors import LjunError

__all__ = ["cache_folder", "cached_arrays"]

#: ``LJUN_CACHE_DIR`` set to this turns the cache off.
CACHE_OFF = "off"


def cache_folder() -> Path | None:
    """Where cached arrays live, or None when the cache is off."""
    chosen = os.environ.get("LJUN_CACHE_DIR")
    if chosen == CACHE_OFF:
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ljun"


@functools.lru_cache(maxsize=8)
def _code_identity(modules: tuple[str, ...]) -> str:
    """The ljun version, the text of ``modules`` (files of this package) and
    the versions of the libraries that compute with them."""
    import cv2
    import PIL

    from . import __version__  # here: ljun/__init__.py imports the reading stack

    digest = hashlib.sha256(
        f"{__version__}|{np.__version__}|{cv2.__version__}|{PIL.__version__}".encode()
    )
    package = Path(__file__).parent
    for module in modules:
        digest.update(module.encode())
        digest.update((package / module).read_bytes())
    return digest.hexdigest()


def cached_arrays(
    kind: str,
    key: Iterable[object],
    build: Callable[[], dict[str, np.ndarray]],
    *,
    modules: tuple[str, ...],
) -> dict[str, np.ndarray]:
    """The arrays ``build()`` makes, from the cache when they were made before.

    Parameters
    ----------
    kind : str
        What they are (a file name prefix: ``sampling-pattern``).
    key : iterable
        Everything the arrays depend on besides the code, as objects with a
        stable ``repr`` (a frozen template, a dpi).
    build : callable
        Makes the arrays when they are not cached (or the cache is off).
    modules : tuple of str
        File names, in this package, of the code that computes them.

    Returns
    -------
    dict of str to ndarray
        Read-only arrays.
    """
    folder = cache_folder()
    name = ""
    if folder is not None:
        digest = hashlib.sha256(_code_identity(modules).encode())
        for part in key:
            digest.update(repr(part).encode())
        name = f"{kind}-{digest.hexdigest()[:32]}.npz"
        arrays = _load(folder / name)
        if arrays is not None:
            return arrays
    arrays = build()
    if folder is not None:
        buffer = io.BytesIO()
        np.savez(buffer, **cast(dict[str, Any], arrays))
        # Only speed is lost when the cache cannot be written.
        with contextlib.suppress(OSError, LjunError):
            atomic_write_bytes(folder / name, buffer.getvalue())
    for array in arrays.values():
        array.setflags(write=False)
    return arrays


def _load(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # absent, unreadable or damaged: built again
    for array in arrays.values():
        array.setflags(write=False)
    return arrays
