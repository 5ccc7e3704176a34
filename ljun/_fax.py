"""1-bit CCITT pages decoded by libtiff, straight into ljun's gray image.

A 1-bit Group 4 page (a black-and-white scanner's TIFF, or the CCITT image
of a scanner PDF) was decoded by imagecodecs' own CCITT decoder, strip by
strip, into 0/1 bytes (via tifffile, which makes them ``bool``), then turned
into 0/255 in two or three more passes.  libtiff's decoder is faster, and
imagecodecs' ``tiff_decode`` unpacks its rows straight into an array we
give it: :func:`fax_gray` wraps the page's compressed strips in a minimal
TIFF in memory (one directory: size, compression, fill order, strips; the
page's other tags are not needed to decode it), lets libtiff decode the
strips into the page's final ``uint8`` buffer as 0/1, and makes that 0/255
in place, in one pass, the right way round.  About 5 ms less a 200-dpi A4
page in a TIFF, 3 ms less in a PDF, the same pixels (``tests/test_load.py``,
``tests/test_pdf.py``).

A page libtiff refuses (a corrupt strip, a parameter it does not read) raises
:class:`FaxDecodeError`; the loaders then decode it as they did before, so a
damaged page is reported, or read, exactly as before.

Neither decoder looks at the photometric interpretation: both give 1 for the
code's black runs, and the caller says which value is white (TIFF: 1 when
MinIsBlack; PDF: ``/BlackIs1`` and ``/Decode``).
"""

from __future__ import annotations

import functools
import itertools
import struct
from collections.abc import Sequence

import numpy as np

from .errors import LjunError

__all__ = ["FAX_COMPRESSION", "FaxDecodeError", "fax_bits", "fax_gray", "fax_tiff"]

# TIFF 6.0 tags and field types used by the minimal TIFF (§2, §8, §11).
_IMAGE_WIDTH = 256
_IMAGE_LENGTH = 257
_BITS_PER_SAMPLE = 258
_COMPRESSION = 259
_PHOTOMETRIC = 262
_FILL_ORDER = 266
_STRIP_OFFSETS = 273
_SAMPLES_PER_PIXEL = 277
_ROWS_PER_STRIP = 278
_STRIP_BYTE_COUNTS = 279
_T4_OPTIONS = 292
_T6_OPTIONS = 293
_SHORT = 3
_LONG = 4
_MINISWHITE = 0

#: TIFF Compression values decoded here: CCITT Group 3 (T.4) and Group 4 (T.6),
#: with the tag holding their options (T4Options, T6Options).
FAX_COMPRESSION: dict[int, int] = {3: _T4_OPTIONS, 4: _T6_OPTIONS}

# Header of a little-endian classic TIFF whose first directory follows at byte 8.
_HEADER = b"II*\x00" + struct.pack("<I", 8)
# Bytes of the directory's entry count, one entry, and the next-directory offset.
_COUNT_BYTES = 2
_ENTRY_BYTES = 12
_NEXT_BYTES = 4
# Entries of the directory fax_tiff writes.
_ENTRIES = 11


class FaxDecodeError(LjunError, ValueError):
    """libtiff cannot decode these strips; the caller decodes them another way."""


class FaxDataError(FaxDecodeError):
    """libtiff, which decodes Group 4 here (:func:`libtiff_reads_group4`), finds
    these Group 4 strips damaged: another decoder would read garbage on."""


#: A Group 4 strip of 8 white rows: each row codes as vertical mode V0 (bit 1).
_WHITE_G4_STRIP = b"\xff"


@functools.lru_cache(maxsize=1)
def libtiff_reads_group4() -> bool:
    """Whether this imagecodecs' libtiff decodes Group 4 at all (a strip of
    white rows, once per process): only then is its refusal of a page's data
    a sign of damage, not of a build without CCITT codecs."""
    import imagecodecs

    white = np.ones((8, 16), np.uint8)
    strip = fax_tiff([_WHITE_G4_STRIP], width=16, height=8, rows_per_strip=8, compression=4)
    try:
        imagecodecs.tiff_decode(strip, out=white.view(np.bool_))
    except (RuntimeError, ValueError, ImportError):  # as in fax_bits
        return False
    return not white.any()


def fax_tiff(
    strips: Sequence[bytes],
    *,
    width: int,
    height: int,
    rows_per_strip: int,
    compression: int,
    fill_order: int = 1,
    options: int = 0,
) -> bytes:
    """A one-page 1-bit TIFF around CCITT-compressed strips, as bytes.

    Parameters
    ----------
    strips : sequence of bytes
        The compressed strips, top to bottom.
    width, height, rows_per_strip : int
        The page's size in pixels and the rows of each strip (the last may
        have fewer).
    compression : int
        3 (Group 3) or 4 (Group 4), a key of :data:`FAX_COMPRESSION`.
    fill_order : int
        1: a byte's first pixel is its high bit; 2: its low bit.
    options : int
        The page's T4Options (Group 3) or T6Options (Group 4).
    """
    if compression not in FAX_COMPRESSION:
        raise FaxDecodeError(f"compression {compression} is not CCITT Group 3 or 4")
    if not strips:
        raise FaxDecodeError("no strips")
    counts = [len(strip) for strip in strips]
    directory_end = len(_HEADER) + _COUNT_BYTES + _ENTRY_BYTES * _ENTRIES + _NEXT_BYTES
    # With more than one strip, the arrays of strip offsets and byte counts
    # (4 bytes a value) follow the directory; the strips follow them.
    first_strip = directory_end + (2 * 4 * len(strips) if len(strips) > 1 else 0)
    offsets = [first_strip, *(first_strip + end for end in itertools.accumulate(counts[:-1]))]
    entries: list[tuple[int, int, list[int]]] = [
        (_IMAGE_WIDTH, _LONG, [width]),
        (_IMAGE_LENGTH, _LONG, [height]),
        (_BITS_PER_SAMPLE, _SHORT, [1]),
        (_COMPRESSION, _SHORT, [compression]),
        (_PHOTOMETRIC, _SHORT, [_MINISWHITE]),  # not used by the decoder (see above)
        (_FILL_ORDER, _SHORT, [fill_order]),
        (_STRIP_OFFSETS, _LONG, offsets),
        (_SAMPLES_PER_PIXEL, _SHORT, [1]),
        (_ROWS_PER_STRIP, _LONG, [rows_per_strip]),
        (_STRIP_BYTE_COUNTS, _LONG, counts),
        (FAX_COMPRESSION[compression], _LONG, [options]),
    ]
    arrays = b""
    placed: list[tuple[int, int, int, bytes]] = []
    for tag, kind, values in entries:
        packed = struct.pack(f"<{len(values)}{'H' if kind == _SHORT else 'I'}", *values)
        if len(packed) <= 4:
            field = packed.ljust(4, b"\x00")
        else:
            field = struct.pack("<I", directory_end + len(arrays))
            arrays += packed
        placed.append((tag, kind, len(values), field))
    directory = struct.pack("<H", len(placed))
    directory += b"".join(
        struct.pack("<HHI", tag, kind, n) + field for tag, kind, n, field in placed
    )
    directory += struct.pack("<I", 0)
    return b"".join([_HEADER, directory, arrays, *strips])


def fax_bits(
    strips: Sequence[bytes],
    *,
    width: int,
    height: int,
    rows_per_strip: int,
    compression: int,
    fill_order: int = 1,
    options: int = 0,
) -> np.ndarray:
    """CCITT-compressed strips decoded by libtiff, one byte a pixel.

    Parameters are those of :func:`fax_tiff`.

    Returns
    -------
    (height, width) ndarray of uint8
        1 for the code's black runs, 0 for its white runs.

    Raises
    ------
    FaxDecodeError
        libtiff refuses the strips (corrupt, cut short, a mode it does not read).
    """
    import imagecodecs

    bits = np.empty((height, width), np.uint8)
    try:
        data = fax_tiff(
            strips,
            width=width,
            height=height,
            rows_per_strip=rows_per_strip,
            compression=compression,
            fill_order=fill_order,
            options=options,
        )
        # libtiff unpacks each row into our buffer as 0/1 (bool): no copy after.
        imagecodecs.tiff_decode(data, out=bits.view(np.bool_))
    except getattr(imagecodecs, "TiffError", ()) as exc:
        # libtiff read the data and refused it: damaged, where it reads Group 4.
        if compression == 4 and libtiff_reads_group4():
            raise FaxDataError(f"libtiff finds the Group 4 data damaged: {exc}") from None
        raise FaxDecodeError(f"libtiff cannot decode the CCITT data: {exc}") from None
    except (RuntimeError, ValueError, IndexError, MemoryError, ImportError, struct.error) as exc:
        # imagecodecs' TiffError is a RuntimeError; a shape it did not expect, or a
        # release that reads no 1-bit TIFF (before 2026.3.6), a ValueError; a build
        # without libtiff an ImportError; a value no TIFF field holds a struct.error.
        raise FaxDecodeError(f"libtiff cannot decode the CCITT data: {exc}") from None
    return bits


def fax_gray(
    strips: Sequence[bytes],
    *,
    width: int,
    height: int,
    rows_per_strip: int,
    compression: int,
    white_is_1: bool,
    fill_order: int = 1,
    options: int = 0,
) -> np.ndarray:
    """CCITT-compressed strips decoded by libtiff into a 0/255 gray page.

    Parameters are those of :func:`fax_tiff`, and

    white_is_1 : bool
        Whether the decoder's 1 (the code's black runs) is white on the page.

    Returns
    -------
    (height, width) ndarray of uint8
        0 black, 255 white.

    Raises
    ------
    FaxDecodeError
        As :func:`fax_bits`.
    """
    gray = fax_bits(
        strips,
        width=width,
        height=height,
        rows_per_strip=rows_per_strip,
        compression=compression,
        fill_order=fill_order,
        options=options,
    )
    # uint8 arithmetic wraps: 0 - 1 = 255, so 1 -> 255 and 0 -> 0 (white is 1), or
    # 1 + 255 = 0 and 0 + 255 = 255 (white is 0); one pass, in place.
    if white_is_1:
        return np.negative(gray, out=gray)
    return np.add(gray, np.uint8(255), out=gray)
