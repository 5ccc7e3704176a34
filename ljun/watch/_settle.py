"""When is a file in the inbox complete?  Names, a settling time and the file's own structure.

Scanner software writes a scan in one of two ways: under its final name,
growing as pages come; or under a temporary name (``scan.tmp``,
``~scan.tif``, ``.scan.tif``, ``scan.tif.part``) that is renamed when the
file is done.  A file is taken only when

1. its name is not a temporary one (:func:`is_candidate`);
2. its size and modification time have not changed for the settling time
   (:class:`Settling`, a pure record updated by :func:`observe`);
3. it is whole by its own structure (:func:`completeness`): every TIFF page's
   strips and the next page's directory lie inside the file, a PDF ends with
   ``%%EOF``, a PNG with its ``IEND`` chunk, a JPEG with its end marker.  A file
   whose structure says "cut short" is waited for (a copy stalled longer than
   the settling time) until it has not changed for the give-up time; then it
   is scored anyway and its missing pages are reported.  A file that is not an
   image at all never becomes one: it is scored at once, and goes to
   quarantine.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import BinaryIO

from ..load import SCAN_SUFFIXES

__all__ = [
    "Completeness",
    "Settling",
    "completeness",
    "is_candidate",
    "is_temporary_name",
    "observe",
]

# Name endings scanner and copy programs use for files still being written.
TEMPORARY_SUFFIXES: tuple[str, ...] = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".!ut")

# A PDF's last ``%%EOF`` may be followed by a line end and padding; look this
# far back from the end for it (bytes; the PDF reference allows 1024).
_PDF_EOF_WINDOW = 1024

# A JPEG's end-of-image marker may be followed by a few padding bytes.
_JPEG_EOI_WINDOW = 64

# TIFF tags that locate a page's image data (TIFF 6.0, section 8 and 15).
_STRIP_OFFSETS, _STRIP_BYTE_COUNTS = 273, 279
_TILE_OFFSETS, _TILE_BYTE_COUNTS = 324, 325

# Bytes per value of each TIFF field type (TIFF 6.0 section 2; BigTIFF adds 16-18).
_TIFF_TYPE_SIZES = {
    1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4,
    16: 8, 17: 8, 18: 8,
}  # fmt: skip
_TIFF_INT_FORMATS = {1: "B", 3: "H", 4: "I", 13: "I", 16: "Q", 18: "Q"}

# The signatures the files start with: TIFF (little/big endian, classic and
# BigTIFF), PDF, PNG, JPEG.
_MAGICS: tuple[bytes, ...] = (
    b"II*\0",
    b"MM\0*",
    b"II+\0",
    b"MM\0+",
    b"%PDF",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8",
)

# More directories than this in one TIFF is a loop in a broken file, not a batch.
_MAX_TIFF_PAGES = 100_000


def is_temporary_name(name: str) -> bool:
    """True for a name scanner or copy software uses while a file is being written.

    >>> [is_temporary_name(n) for n in ("scan.tmp", "~scan.tif", ".scan.tif", "scan.tif")]
    [True, True, True, False]
    """
    lowered = name.lower()
    return name.startswith((".", "~")) or lowered.endswith(TEMPORARY_SUFFIXES)


def is_candidate(name: str) -> bool:
    """True for a file name the watcher takes: a scan suffix, not a temporary name.

    >>> [is_candidate(n) for n in ("a.TIF", "a.pdf", "a.tif.tmp", "notes.txt", "Thumbs.db")]
    [True, True, False, False, False]
    """
    return not is_temporary_name(name) and name.lower().endswith(SCAN_SUFFIXES)


@dataclass(frozen=True)
class Settling:
    """What the watcher has seen of one file: its size and mtime, and since when.

    Attributes
    ----------
    size : int
        Bytes, at the last look.
    mtime_ns : int
        Modification time in ns, at the last look.
    unchanged_since : float
        Monotonic time (s) of the first look that saw this size and mtime.
    """

    size: int
    mtime_ns: int
    unchanged_since: float

    def unchanged_for(self, now: float) -> float:
        """Seconds the file has kept its size and mtime, as of monotonic ``now``."""
        return now - self.unchanged_since


def observe(previous: Settling | None, *, size: int, mtime_ns: int, now: float) -> Settling:
    """The file's :class:`Settling` after a look at ``now`` (monotonic seconds).

    >>> first = observe(None, size=10, mtime_ns=1, now=5.0)
    >>> observe(first, size=10, mtime_ns=1, now=7.5).unchanged_for(8.0)
    3.0
    >>> observe(first, size=20, mtime_ns=2, now=7.5).unchanged_for(8.0)
    0.5
    """
    if previous is not None and (previous.size, previous.mtime_ns) == (size, mtime_ns):
        return previous
    if previous is None:
        return Settling(size, mtime_ns, now)
    return replace(previous, size=size, mtime_ns=mtime_ns, unchanged_since=now)


class Completeness(StrEnum):
    """What a file's own structure says about it."""

    WHOLE = "whole"  # every part it points to is there
    CUT_SHORT = "cut_short"  # a known format, with parts beyond the end of the file
    FOREIGN = "foreign"  # not a TIFF, PDF, PNG or JPEG: waiting will not help


def completeness(path: str | os.PathLike[str]) -> Completeness:
    """Whether the scan file at ``path`` is whole, by its own structure.

    Reads a few bytes at a time (the TIFF directories, the ends of the file),
    never the image data.  An empty file is :attr:`Completeness.CUT_SHORT`.

    Raises
    ------
    OSError
        When the file cannot be opened (gone, no permission).
    """
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return Completeness.CUT_SHORT
        head = handle.read(8)
        if len(head) < 8 and any(head.startswith(magic[: len(head)]) for magic in _MAGICS):
            return Completeness.CUT_SHORT  # shorter than its own signature
        if head[:4] in _MAGICS[:4]:
            return _tiff_completeness(handle, head, size)
        if head.startswith(b"%PDF"):
            return _tail_has(handle, size, b"%%EOF", _PDF_EOF_WINDOW)
        if head.startswith(_MAGICS[5]):
            return _tail_has(handle, size, b"IEND\xaeB`\x82", 0)
        if head.startswith(b"\xff\xd8"):
            return _tail_has(handle, size, b"\xff\xd9", _JPEG_EOI_WINDOW)
        return Completeness.FOREIGN


def _tail_has(handle: BinaryIO, size: int, marker: bytes, window: int) -> Completeness:
    handle.seek(max(0, size - window - len(marker)))
    return Completeness.WHOLE if marker in handle.read() else Completeness.CUT_SHORT


def _tiff_completeness(handle: BinaryIO, head: bytes, size: int) -> Completeness:
    order = "<" if head[:2] == b"II" else ">"
    big = head[2:4] in (b"+\0", b"\0+")
    if big:
        handle.seek(8)
        offset_bytes = handle.read(8)
        if len(offset_bytes) < 8:
            return Completeness.CUT_SHORT
        (offset,) = struct.unpack(order + "Q", offset_bytes)
        count_format, entry_size, next_format, value_size = "Q", 20, "Q", 8
    else:
        (offset,) = struct.unpack(order + "I", head[4:8])
        count_format, entry_size, next_format, value_size = "H", 12, "I", 4
    pages = 0
    while offset:
        pages += 1
        if pages > _MAX_TIFF_PAGES:
            return Completeness.FOREIGN
        count_size = struct.calcsize(count_format)
        handle.seek(offset)
        raw_count = handle.read(count_size)
        if len(raw_count) < count_size:
            return Completeness.CUT_SHORT
        (count,) = struct.unpack(order + count_format, raw_count)
        directory = handle.read(count * entry_size + struct.calcsize(next_format))
        if len(directory) < count * entry_size + struct.calcsize(next_format):
            return Completeness.CUT_SHORT
        located: dict[int, list[int]] = {}
        for k in range(count):
            entry = directory[k * entry_size : (k + 1) * entry_size]
            tag, kind = struct.unpack(order + "HH", entry[:4])
            if tag not in (_STRIP_OFFSETS, _STRIP_BYTE_COUNTS, _TILE_OFFSETS, _TILE_BYTE_COUNTS):
                continue
            values = _tiff_values(handle, order, entry, kind, value_size, size)
            if values is None:
                return Completeness.CUT_SHORT
            located[tag] = values
        for offsets_tag, counts_tag in (
            (_STRIP_OFFSETS, _STRIP_BYTE_COUNTS),
            (_TILE_OFFSETS, _TILE_BYTE_COUNTS),
        ):
            ends = zip(located.get(offsets_tag, ()), located.get(counts_tag, ()))
            if any(start + length > size for start, length in ends):
                return Completeness.CUT_SHORT
        (offset,) = struct.unpack(order + next_format, directory[count * entry_size :])
        if offset >= size:
            return Completeness.CUT_SHORT
    return Completeness.WHOLE if pages else Completeness.CUT_SHORT


def _tiff_values(
    handle: BinaryIO, order: str, entry: bytes, kind: int, value_size: int, size: int
) -> list[int] | None:
    """The integer values of one directory entry, or ``None`` when they lie beyond the end."""
    fmt = _TIFF_INT_FORMATS.get(kind)
    if fmt is None:
        return []
    count_format = "Q" if value_size == 8 else "I"
    (count,) = struct.unpack(order + count_format, entry[4 : 4 + value_size])
    width = _TIFF_TYPE_SIZES[kind] * count
    field = entry[4 + value_size :]
    if width > value_size:
        (where,) = struct.unpack(order + count_format, field)
        if where + width > size:
            return None
        position = handle.tell()
        handle.seek(where)
        field = handle.read(width)
        handle.seek(position)
    return list(struct.unpack(f"{order}{count}{fmt}", field[:width]))
