"""Data shipped inside the package, found by name: templates and calibrations.

The repository's ``templates/answer_sheets/`` and ``calibration/`` are the
sources people edit; ``ljun/data/templates`` and ``ljun/data/calibration`` link
to them, so an installed wheel carries them and they are found whatever the
current folder is.
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

__all__ = ["bundled_folder", "bundled_names", "find_file_or_bundled"]


def bundled_folder(kind: str) -> Path:
    """The folder of bundled ``kind`` files (``templates`` or ``calibration``)."""
    return Path(str(importlib.resources.files("ljun") / "data" / kind))


def bundled_names(folder: Path) -> list[str]:
    """Names (file stems) of the JSON files in ``folder``, sorted."""
    return sorted(p.stem for p in folder.glob("*.json"))


def find_file_or_bundled(name: str | os.PathLike[str], folder: Path) -> Path | None:
    """``name`` as a file path if it is one, else the bundled ``folder/name.json``, else ``None``.

    Only a bare name (no folder, no suffix) is looked up among the bundled files.
    """
    path = Path(name)
    if path.is_file():
        return path
    if path.suffix == "" and path.parent == Path("."):
        bundled = folder / f"{path.name}.json"
        if bundled.is_file():
            return bundled
    return None
