"""Loading scanned pages: files and folders in, a stream of pages out.

This is the input edge of the pipeline (ARCHITECTURE.md §2).  :func:`iter_pages`
expands files and folders (folders recursively, sorted) and yields one
:class:`~ljun.records.Page` per scanned page, or a
:class:`~ljun.records.PageFailure` for a page or file that cannot be read, so
one bad file never stops a batch.  Pages are read one at a time (multi-page
TIFF page by page, PDF page by page), so memory stays flat however large the
batch.

Supported: TIFF (8-bit gray, 1-bit Group 3/4 (decoded by libtiff, see
:mod:`ljun._fax`), LZW/Deflate/JPEG, RGB, palette, multi-page), PDF (each
page's embedded scan as it is, see :mod:`ljun._pdf`; other pages rendered
at :data:`PDF_RENDER_DPI`), PNG and JPEG.  The
format is recognised from the file's first bytes, not from its name, so a
text file called ``scan.tif`` is reported as ``unsupported_format``.

Failure reasons (``PageFailure.reason``):

``not_found``           the path does not exist (or vanished before reading)
``unreadable_file``     the file exists but cannot be opened (permissions, I/O error)
``empty_file``          zero bytes
``unsupported_format``  not a TIFF, PDF, PNG or JPEG (judged by content)
``too_large``           the page has more pixels than ``max_pixels`` (checked
                        from the header, before decoding: decompression-bomb guard)
``truncated``           the file ends early or its page directory is broken.  A
                        multi-page file whose page count cannot be trusted (a TIFF
                        whose page chain breaks off, a PDF cut short or whose page
                        tree counts more pages than could be read) gets, after the
                        pages that were read, one ``truncated`` failure numbered
                        one past the last page found, naming the pages read
                        (:func:`tiff_truncation`, :func:`pdf_truncation`); pages
                        whose pixel data is cut off are ``truncated`` too
``corrupt_image``       a page's pixel data cannot be decoded
``unsupported_image``   an image layout this loader does not handle (e.g. CMYK)
``encrypted_pdf``       the PDF needs a password
``corrupt_pdf``         the PDF cannot be parsed or a page cannot be rasterised
``pdf_tool_missing``    ``pdfinfo``/``pdftoppm`` (poppler-utils) are not installed

A split-by-file batch (worker processes) uses :func:`list_scan_files` and then
:func:`iter_file_pages` on each file.

>>> from ljun.load import SCAN_SUFFIXES
>>> ".tif" in SCAN_SUFFIXES and ".pdf" in SCAN_SUFFIXES
True
"""

from __future__ import annotations

import functools
import logging
import mmap
import os
import re
import struct
import subprocess
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from ._color import to_pencil_gray
from .errors import LjunError
from .records import Page, PageFailure
from .vocabulary import FailureReason

__all__ = [
    "SCAN_SUFFIXES",
    "DEFAULT_MAX_PIXELS",
    "PDF_RENDER_DPI",
    "iter_pages",
    "iter_file_pages",
    "list_scan_files",
    "to_gray",
    "PageLoadError",
    "quiet_tifffile",
    "tiff_truncation",
    "pdf_truncation",
    "tiff_fax_strips",
]

#: File name endings (lower case) picked up when a folder is walked.
SCAN_SUFFIXES: tuple[str, ...] = (".tif", ".tiff", ".pdf", ".png", ".jpg", ".jpeg")

#: Largest page accepted, in pixels.  An A3 sheet at 600 dpi is 7016 x 9921 =
#: 69.6 million pixels; anything larger is not a scanned answer sheet, and a
#: header claiming more (a 20000 x 20000 "image" is 400 MB decoded) is refused
#: before any pixel is decoded.
DEFAULT_MAX_PIXELS = 72_000_000

#: Resolution PDF pages are rasterised at (dots per inch).  200 dpi is the scan
#: resolution ARCHITECTURE.md §4 is specified at; the bubble kernel is exact at it.
PDF_RENDER_DPI = 200

# Seconds one pdfinfo/pdftoppm call may take before the page counts as corrupt
# (a malicious or broken PDF can make poppler spin).
PDF_TIMEOUT_S = 60

# Points per inch in PDF page sizes.
PT_PER_INCH = 72.0

# Centimetres per inch, for TIFF resolution given per centimetre.
CM_PER_INCH = 2.54

# TIFF ResolutionUnit values (TIFF 6.0, tag 296).
_RESUNIT_INCH = 2
_RESUNIT_CM = 3

# TIFF PhotometricInterpretation values (TIFF 6.0, tag 262).
_MINISWHITE = 0
_MINISBLACK = 1
_RGB = 2
_PALETTE = 3
_YCBCR = 6

# Errors the image decoders raise on bad data.  imagecodecs' errors derive from
# RuntimeError, tifffile's from ValueError, Pillow's from OSError/ValueError,
# zlib and struct have their own; a programming error (AttributeError,
# NameError, ...) is deliberately not in this list and still surfaces.
_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    OSError,
    RuntimeError,
    EOFError,
    IndexError,
    KeyError,
    MemoryError,
    struct.error,
    zlib.error,
)

# A logging level above CRITICAL: nothing is logged.
_SILENT_LOG_LEVEL = logging.CRITICAL + 1

_MAGIC_TIFF = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_MAGIC_PDF = b"%PDF"
_MAGIC_PNG = b"\x89PNG\r\n\x1a\n"
_MAGIC_JPEG = b"\xff\xd8\xff"
# A whole JPEG ends with this marker, perhaps padded with zeros up to a block
# (looked for in the last _JPEG_TAIL_BYTES bytes).
_JPEG_END_OF_IMAGE = b"\xff\xd9"
_JPEG_TAIL_BYTES = 4096
# A whole PNG ends with its IEND chunk (length 0, type, CRC).
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


class PageLoadError(LjunError, ValueError):
    """A page cannot be loaded; the loaders turn it into a PageFailure.

    ``reason`` is the failure's machine word (see the module docstring).
    """

    def __init__(self, reason: FailureReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# --------------------------------------------------------------------------- listing


def quiet_tifffile() -> None:
    """Silence tifffile's warnings about broken files in this process.

    The loader reports a broken TIFF as a page failure with its reason; the
    library's own log lines would only repeat that on stderr.  Called by the
    CLI and by batch worker processes, never at import time.
    """
    # tifffile logs a broken page chain at ERROR level: silence everything it logs.
    logging.getLogger("tifffile").setLevel(_SILENT_LOG_LEVEL)
    warnings.filterwarnings("ignore", module="tifffile")


def list_scan_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand files and folders into the list of files to read.

    Folders are walked recursively; their files with a suffix of
    :data:`SCAN_SUFFIXES` (any case) are taken in sorted path order, hidden
    files (name starting with ``.``, such as half-written ``.part`` files)
    skipped.  A path given explicitly is kept whatever its suffix, and so is a
    path that does not exist: :func:`iter_file_pages` then reports it as a
    failure, so the order of the arguments is the order of the results.

    Parameters
    ----------
    paths : iterable of str or PathLike
        Files and folders, as the user gave them.

    Returns
    -------
    list of Path
        Paths as given (folder entries joined onto the folder as given).
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = []
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found += [
                    Path(root) / name
                    for name in names
                    if not name.startswith(".") and name.lower().endswith(SCAN_SUFFIXES)
                ]
            files += sorted(found)
        else:
            files.append(path)
    return files


def iter_pages(
    paths: Iterable[str | os.PathLike[str]], *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Iterator[Page | PageFailure]:
    """Every page of every file under ``paths``, one at a time.

    Never raises for a bad or missing file: it yields a
    :class:`~ljun.records.PageFailure` for it (with ``page=0`` when the whole
    file could not be opened) and goes on with the next page or file.

    Parameters
    ----------
    paths : iterable of str or PathLike
        Files and folders (see :func:`list_scan_files`).
    max_pixels : int
        Pages with more pixels are refused as ``too_large`` before decoding.
    """
    for path in list_scan_files(paths):
        yield from iter_file_pages(path, max_pixels=max_pixels)


def iter_file_pages(
    path: str | os.PathLike[str],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    pages: range | None = None,
    weights: tuple[float, float, float] | None = None,
) -> Iterator[Page | PageFailure]:
    """The pages of one file, in order (see :func:`iter_pages`).

    The format is judged from the first bytes of the file.  ``pages`` (0-based
    page indices, a range shared out to one worker) reads only those pages;
    a failure of the whole file is reported whatever the range.  ``weights``
    turn colour pages into gray (``ljun._color.pencil_channel_weights`` of the
    template's print colour); None uses luma.
    """
    source = str(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except FileNotFoundError:
        yield PageFailure(source, 0, FailureReason.NOT_FOUND, f"{source}: no such file")
        return
    except OSError as exc:
        yield PageFailure(
            source,
            0,
            FailureReason.UNREADABLE_FILE,
            f"{source}: cannot be opened: {exc.strerror or exc}",
        )
        return
    if not head:
        yield PageFailure(
            source, 0, FailureReason.EMPTY_FILE, f"{source}: the file is empty (0 bytes)"
        )
        return
    reader: Callable[[str, int], Iterator[Page | PageFailure]]
    if head.startswith(_MAGIC_TIFF):
        reader = functools.partial(_tiff_pages, pages=pages, weights=weights)
    elif head.startswith(_MAGIC_PDF):
        from ._pdf import pdf_pages  # the embedded scans; pdftoppm only as a fallback

        reader = functools.partial(
            pdf_pages,
            pages=pages,
            fallback=functools.partial(_pdf_pages, weights=weights),
            weights=weights,
        )
    elif head.startswith(_MAGIC_PNG) or head.startswith(_MAGIC_JPEG):
        if pages is not None and 0 not in pages:
            return
        reader = functools.partial(_pillow_pages, weights=weights)
    else:
        yield PageFailure(
            source,
            0,
            FailureReason.UNSUPPORTED_FORMAT,
            f"{source}: not a TIFF, PDF, PNG or JPEG image (judged by its first bytes)",
        )
        return
    yield from reader(source, max_pixels)


# --------------------------------------------------------------------------- TIFF


def _tiff_pages(
    source: str,
    max_pixels: int,
    pages: range | None = None,
    weights: tuple[float, float, float] | None = None,
) -> Iterator[Page | PageFailure]:
    import tifffile

    try:
        tif = tifffile.TiffFile(source)
    except _DECODE_ERRORS as exc:
        yield PageFailure(
            source, 0, FailureReason.TRUNCATED, f"{source}: not a readable TIFF: {exc}"
        )
        return
    with tif:
        # Keep no page objects: a 10,000-page batch file must not grow memory.
        tif.pages.cache = False
        try:
            n_pages = len(tif.pages)
        except _DECODE_ERRORS as exc:
            yield PageFailure(
                source, 0, FailureReason.TRUNCATED, f"{source}: the page directory is broken: {exc}"
            )
            return
        if n_pages == 0:
            yield PageFailure(
                source, 0, FailureReason.TRUNCATED, f"{source}: the TIFF has no readable page"
            )
            return
        read: list[int] = []
        for index in range(n_pages) if pages is None else pages:
            if index >= n_pages:
                break
            number = index + 1
            try:
                tiff_page = tif.pages[index]
            except _DECODE_ERRORS as exc:
                # The directory chain is broken here: later pages cannot be reached.
                yield PageFailure(
                    source,
                    number,
                    FailureReason.TRUNCATED,
                    f"{source} page {number}: broken page directory: {exc}; "
                    f"{_pages_text(read)} read, later pages missing",
                )
                return
            try:
                yield _tiff_page(tiff_page, source, number, max_pixels, weights)
                read.append(number)
            except PageLoadError as exc:
                yield PageFailure(source, number, exc.reason, exc.detail)
    # A file read in parts is checked once, by the part that ends it.
    damaged = (
        tiff_truncation(source, n_pages, read) if pages is None or pages.stop >= n_pages else None
    )
    if damaged is not None:
        yield damaged


def _tiff_page(tiff_page, source: str, number: int, max_pixels: int, weights=None) -> Page:
    where = f"{source} page {number}"
    shape = tuple(int(s) for s in tiff_page.shape)
    if len(shape) < 2:
        raise PageLoadError(
            FailureReason.UNSUPPORTED_IMAGE, f"{where}: not a 2-D image (shape {shape})"
        )
    height, width = (shape[0], shape[1]) if len(shape) == 2 or shape[-1] <= 4 else shape[-2:]
    _check_size(where, width, height, max_pixels)
    _check_tiff_data(tiff_page, where)
    photometric = int(tiff_page.photometric)
    if photometric not in (_MINISWHITE, _MINISBLACK, _RGB, _PALETTE, _YCBCR):
        raise PageLoadError(
            FailureReason.UNSUPPORTED_IMAGE,
            f"{where}: photometric interpretation {photometric} (e.g. CMYK) is not supported; "
            "scan in gray or RGB",
        )
    gray = _tiff_fax_gray(tiff_page, photometric, where=where)
    if gray is not None:
        return Page(image=gray, source=source, page=number, dpi=_tiff_dpi(tiff_page), bilevel=True)
    try:
        pixels = tiff_page.asarray()
    except _DECODE_ERRORS as exc:
        raise PageLoadError(
            FailureReason.CORRUPT_IMAGE, f"{where}: pixel data cannot be decoded: {exc}"
        ) from None
    if photometric == _PALETTE:
        colormap = tiff_page.colormap
        if colormap is None:
            raise PageLoadError(
                FailureReason.UNSUPPORTED_IMAGE, f"{where}: palette image without a colour map"
            )
        # TIFF colour maps are 16-bit per channel; keep the top byte.
        rgb = (np.asarray(colormap)[:, np.asarray(pixels)] >> 8).astype(np.uint8)
        pixels = np.moveaxis(rgb, 0, -1)
    if pixels.ndim == 3 and pixels.shape[0] in (3, 4) and pixels.shape[-1] not in (3, 4):
        pixels = np.moveaxis(pixels, 0, -1)  # planar RGB (PlanarConfiguration 2)
    gray = to_gray(pixels, where=where, weights=weights)
    if photometric == _MINISWHITE:
        gray = 255 - gray
    return Page(image=gray, source=source, page=number, dpi=_tiff_dpi(tiff_page))


def _tiff_fax_gray(tiff_page, photometric: int, *, where: str = "page") -> np.ndarray | None:
    """A 1-bit CCITT Group 3/4 page decoded by libtiff (:func:`ljun._fax.fax_gray`),
    or None: the page is not one, or libtiff refuses it (tifffile decodes it then,
    and says what is wrong).

    Raises
    ------
    PageLoadError
        ``corrupt_image`` where libtiff finds Group 4 data damaged
        (:class:`ljun._fax.FaxDataError`): tifffile's decoder would read on
        and give garbage rows, which the reader could take for marks.
    """
    from ._fax import FaxDataError, FaxDecodeError, fax_gray

    fax = tiff_fax_strips(tiff_page) if photometric in (_MINISWHITE, _MINISBLACK) else None
    if fax is None:
        return None
    strips, layout = fax
    try:
        # The decoders give 1 for the code's black runs: white on a MinIsBlack page.
        return fax_gray(strips, white_is_1=photometric == _MINISBLACK, **layout)
    except FaxDataError as exc:
        raise PageLoadError(
            FailureReason.CORRUPT_IMAGE,
            f"{where}: the compressed data is damaged ({exc}); scan the page again",
        ) from None
    except FaxDecodeError:
        return None


def tiff_fax_strips(tiff_page) -> tuple[list[bytes], dict[str, int]] | None:
    """The compressed strips of a 1-bit CCITT Group 3/4 TIFF page and their layout
    (the keyword arguments of :func:`ljun._fax.fax_gray` but ``white_is_1``), read
    from its file; None for any other page, or strips past the end of the file."""
    from ._fax import FAX_COMPRESSION

    compression = int(tiff_page.compression)
    if (
        compression not in FAX_COMPRESSION
        or int(tiff_page.bitspersample) != 1
        or int(tiff_page.samplesperpixel) != 1
        or tiff_page.is_tiled
        or len(tiff_page.shape) != 2
    ):
        return None
    options = tiff_page.tags.get(FAX_COMPRESSION[compression])
    try:
        height, width = (int(s) for s in tiff_page.shape)
        layout = {
            "width": width,
            "height": height,
            "rows_per_strip": int(tiff_page.rowsperstrip),
            "compression": compression,
            "fill_order": int(tiff_page.fillorder),
            "options": 0 if options is None else int(options.value),
        }
        handle = tiff_page.parent.filehandle
        strips = []
        for offset, count in zip(tiff_page.dataoffsets, tiff_page.databytecounts):
            handle.seek(offset)
            strips.append(handle.read(count))
            if len(strips[-1]) != count:
                return None
    except (OSError, TypeError, ValueError):
        return None  # tifffile reads the page, or says what is wrong with it
    return strips, layout


def _tiff_dpi(tiff_page) -> float | None:
    try:
        x_res = float(tiff_page.resolution[0])
        unit = int(tiff_page.resolutionunit)
    except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError):
        return None
    if not np.isfinite(x_res) or x_res <= 0:
        return None
    if unit == _RESUNIT_INCH:
        return x_res
    if unit == _RESUNIT_CM:
        return x_res * CM_PER_INCH
    # Unit 1 ("no absolute unit"): the numbers are an aspect ratio, not a resolution.
    return None


# --------------------------------------------------------------------------- PNG / JPEG


def _pillow_pages(source: str, max_pixels: int, weights=None) -> Iterator[Page | PageFailure]:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            # Our own size check below replaces Pillow's warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source)
    except Image.DecompressionBombError as exc:
        # Pillow refuses, from the header, anything over twice its own limit.
        yield PageFailure(
            source,
            1,
            FailureReason.TOO_LARGE,
            f"{source}: {exc} Scan answer sheets at 150-300 dpi.",
        )
        return
    except _DECODE_ERRORS as exc:
        yield PageFailure(
            source, 0, FailureReason.TRUNCATED, f"{source}: not a readable image: {exc}"
        )
        return
    with image:
        try:
            width, height = image.size
            _check_size(source, width, height, max_pixels)
            dpi = _pillow_dpi(image)
            gray = _gray_by_opencv(source, image.format, image.mode)
            if gray is not None:
                yield Page(image=gray, source=source, page=1, dpi=dpi)
                return
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image.load()
            if image.mode == "1":
                yield Page(image=_bilevel_gray(image), source=source, page=1, dpi=dpi, bilevel=True)
                return
        except PageLoadError as exc:
            yield PageFailure(source, 1, exc.reason, exc.detail)
            return
        except _DECODE_ERRORS as exc:
            yield PageFailure(
                source,
                1,
                FailureReason.CORRUPT_IMAGE,
                f"{source}: pixel data cannot be decoded: {exc}",
            )
            return
        if image.mode in ("1", "L", "RGB", "RGBA", "I;16", "I;16B", "I", "F"):
            pixels = np.asarray(image)
        else:
            # Palette, LA, CMYK, YCbCr ...: let Pillow turn them into gray.
            pixels = np.asarray(image.convert("L"))
        try:
            gray = to_gray(pixels, where=source, weights=weights)
        except PageLoadError as exc:
            yield PageFailure(source, 1, exc.reason, exc.detail)
            return
    yield Page(image=gray, source=source, page=1, dpi=dpi)


def _gray_by_opencv(source: str, kind: str | None, mode: str) -> np.ndarray | None:
    """A complete gray JPEG or 8-bit gray PNG decoded by OpenCV; None to let
    Pillow decode the file.

    OpenCV's decoders fill the gray array in place, where Pillow's image
    needs a copy into NumPy: about 2 ms less a 200-dpi A4 page, the same
    pixels.  Only a file that ends with its format's end marker (JPEG:
    trailing zero padding allowed) is given to it, and only its image is
    taken: a cut or undecodable file is left to Pillow, whose message says
    what is wrong.  EXIF orientation is ignored, as Pillow does.  A 1-bit
    PNG is Pillow's (:func:`_bilevel_gray`): its decoder is the faster there.
    """
    if mode != "L" or kind not in ("JPEG", "PNG"):
        return None
    data = np.fromfile(source, np.uint8)
    if kind == "JPEG":
        tail = data[-_JPEG_TAIL_BYTES:]
        written = np.flatnonzero(tail)
        end = len(data) - len(tail) + int(written[-1]) + 1 if len(written) else 0
        whole = end >= 2 and bytes(data[end - 2 : end]) == _JPEG_END_OF_IMAGE
    else:
        whole = bytes(data[-len(_PNG_END) :]) == _PNG_END
    if not whole:
        return None
    pixels = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION)
    return pixels if pixels is not None and pixels.ndim == 2 else None


def _bilevel_gray(image) -> np.ndarray:
    """A loaded 1-bit (mode ``"1"``) Pillow image as a 0/255 gray page,
    (H, W) uint8, read-only.

    Pillow's raw ``"L"`` packer of a 1-bit image writes 255 for each white
    pixel and 0 for each black one (Pillow's ``pack1L``, in every release):
    one pass, where ``np.asarray`` gives ``bool`` that still needs turning
    into 0/255.  With Pillow's decoder, faster on 1-bit PNG than OpenCV's,
    a 200-dpi A4 page loads in about 1 ms less (4.4 ms decode and 0.6 ms
    out, against 5.9 ms), the same pixels.
    """
    width, height = image.size
    return np.frombuffer(image.tobytes("raw", "L"), np.uint8).reshape(height, width)


def _pillow_dpi(image) -> float | None:
    dpi = image.info.get("dpi")
    try:
        value = float(dpi[0])
    except (TypeError, ValueError, IndexError):
        return None
    # PNG files without a pHYs chunk sometimes report 72 or 0; both mean "unknown"
    # for a scan, which is never made at screen resolution.
    if not np.isfinite(value) or value < 1.5 * PT_PER_INCH:
        return None
    return value


# --------------------------------------------------------------------------- PDF


def _pdf_pages(source: str, max_pixels: int, weights=None) -> Iterator[Page | PageFailure]:
    from pdf2image import convert_from_path, pdfinfo_from_path
    from pdf2image.exceptions import (
        PDFPageCountError,
        PDFPopplerTimeoutError,
        PDFSyntaxError,
        PopplerNotInstalledError,
    )

    pdf_errors: tuple[type[Exception], ...] = (
        PDFPageCountError,
        PDFSyntaxError,
        PDFPopplerTimeoutError,
        subprocess.SubprocessError,
    )
    try:
        info = pdfinfo_from_path(source, timeout=PDF_TIMEOUT_S)
    except PopplerNotInstalledError:
        yield PageFailure(
            source,
            0,
            FailureReason.PDF_TOOL_MISSING,
            f"{source}: reading PDF needs poppler-utils (pdfinfo, pdftoppm); install it",
        )
        return
    except (*pdf_errors, *_DECODE_ERRORS) as exc:
        text = str(exc)
        if "password" in text.lower() or "encrypt" in text.lower():
            yield PageFailure(
                source,
                0,
                FailureReason.ENCRYPTED_PDF,
                f"{source}: the PDF is password-protected; export the scan without a password",
            )
        else:
            yield PageFailure(
                source,
                0,
                FailureReason.CORRUPT_PDF,
                f"{source}: the PDF cannot be read: {_one_line(text)}",
            )
        return
    try:
        n_pages = int(info["Pages"])
    except (KeyError, TypeError, ValueError):
        yield PageFailure(
            source, 0, FailureReason.CORRUPT_PDF, f"{source}: the PDF has no page count"
        )
        return
    if n_pages <= 0:
        yield PageFailure(source, 0, FailureReason.CORRUPT_PDF, f"{source}: the PDF has no pages")
        return
    try:
        # One more pdfinfo call lists every page's size (decompression-bomb guard).
        sizes = _pdf_page_sizes_pt(
            pdfinfo_from_path(source, first_page=1, last_page=n_pages, timeout=PDF_TIMEOUT_S),
            n_pages,
        )
    except (*pdf_errors, *_DECODE_ERRORS):
        sizes = {}
    read: list[int] = []
    for number in range(1, n_pages + 1):
        where = f"{source} page {number}"
        try:
            size = sizes.get(number)
            if size is not None:
                width = int(round(size[0] / PT_PER_INCH * PDF_RENDER_DPI))
                height = int(round(size[1] / PT_PER_INCH * PDF_RENDER_DPI))
                _check_size(where, width, height, max_pixels)
            images = convert_from_path(
                source,
                dpi=PDF_RENDER_DPI,
                first_page=number,
                last_page=number,
                grayscale=weights is None,
                timeout=PDF_TIMEOUT_S,
            )
        except PageLoadError as exc:
            yield PageFailure(source, number, exc.reason, exc.detail)
            continue
        except (*pdf_errors, *_DECODE_ERRORS) as exc:
            yield PageFailure(
                source,
                number,
                FailureReason.CORRUPT_PDF,
                f"{where}: cannot be rasterised: {_one_line(str(exc))}",
            )
            continue
        if len(images) != 1:
            yield PageFailure(
                source,
                number,
                FailureReason.CORRUPT_PDF,
                f"{where}: poppler returned no image for this page",
            )
            continue
        with images[0] as image:
            if weights is None:
                gray = np.asarray(image.convert("L"), dtype=np.uint8)
            else:
                gray = to_gray(np.asarray(image.convert("RGB")), where=where, weights=weights)
        yield Page(image=gray, source=source, page=number, dpi=float(PDF_RENDER_DPI))
        read.append(number)
    damaged = pdf_truncation(source, n_pages, read)
    if damaged is not None:
        yield damaged


def _pdf_page_sizes_pt(info: dict, n_pages: int) -> dict[int, tuple[float, float]]:
    """Width and height in points of each page, from a ranged pdfinfo answer."""
    sizes = {}
    for number in range(1, n_pages + 1):
        text = info.get(f"Page {number:4d} size") or (
            info.get("Page size") if n_pages == 1 else None
        )
        parts = str(text or "").split()
        try:
            sizes[number] = (float(parts[0]), float(parts[2]))
        except (IndexError, ValueError):
            continue
    return sizes


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


# --------------------------------------------------------------------------- truncation

# The structure checks below read a file's own page directory, apart from the
# decoder that read its pages, so a file the decoder silently read only part
# of (a TIFF cut in half, a PDF cut after an earlier revision) still says so.

# TIFF header: byte order mark -> struct prefix; version 42 (classic) or 43 (BigTIFF).
_TIFF_BYTE_ORDER = {b"II": "<", b"MM": ">"}
_TIFF_CLASSIC = 42
_TIFF_BIG = 43
# Bytes of one IFD entry: classic TIFF 12, BigTIFF 20 (TIFF 6.0 §2; BigTIFF spec).
_TIFF_ENTRY_BYTES = {_TIFF_CLASSIC: 12, _TIFF_BIG: 20}
# Pages walked at most: far more than any scanner batch file, bounds a looping chain.
_TIFF_MAX_PAGES = 100_000

# A PDF ends with "%%EOF" (ISO 32000-1 §7.5.5), then at most an end of line.
# Anything else after it (readers tolerate junk there) is taken as a sign of
# damage: a file cut inside an incremental update still holds the %%EOF of the
# revision before, a little way from its end.
_PDF_TAIL_BYTES = 1024
_PDF_TAIL_BLANKS = b" \t\r\n\x00\x0c"
_PDF_EOF = b"%%EOF"
# Page tree nodes (ISO 32000-1 §7.7.3.2): "/Type /Pages" with "/Count N"; the root
# has no "/Parent".  The last root in the file is that of the newest revision.
_PDF_PAGES_NODE = re.compile(rb"/Type\s*/Pages\b")
_PDF_COUNT = re.compile(rb"/Count\s+(\d+)")
_PDF_PARENT = re.compile(rb"/Parent\s")
_PDF_OBJ_START = re.compile(rb"\d+\s+\d+\s+obj\b")
_PDF_ENDOBJ = b"endobj"
# Bytes searched back from a page tree node for the start of its object.
_PDF_OBJ_LOOKBACK = 4096


def _pages_text(pages: list[int]) -> str:
    if not pages:
        return "no page"
    if pages == list(range(pages[0], pages[-1] + 1)):
        return f"page {pages[0]}" if len(pages) == 1 else f"pages {pages[0]}-{pages[-1]}"
    return "pages " + ", ".join(str(p) for p in pages)


def _truncated(source: str, found: int, read: list[int], why: str, missing: str) -> PageFailure:
    return PageFailure(
        source,
        found + 1,
        FailureReason.TRUNCATED,
        f"{source}: the file is damaged ({why}): {_pages_text(read)} of it read, {missing} "
        "(fix: copy or scan the file again; check the participants of these pages)",
    )


def _check_tiff_data(tiff_page, where: str) -> None:
    """Raise ``truncated`` when a page's pixel data runs past the end of its file."""
    try:
        size = os.fstat(tiff_page.parent.filehandle.fileno()).st_size
        ends = [int(o) + int(c) for o, c in zip(tiff_page.dataoffsets, tiff_page.databytecounts)]
    except (AttributeError, OSError, TypeError, ValueError):
        return
    if ends and max(ends) > size:
        raise PageLoadError(
            FailureReason.TRUNCATED,
            f"{where}: the pixel data is cut off (the file ends at byte {size:,}, the page "
            f"needs {max(ends):,}); copy or scan the file again",
        )


def _tiff_chain(path: str) -> tuple[int, str | None]:
    """Walk a TIFF's chain of page directories (IFDs) by hand.

    Returns the number of complete IFDs and, when the chain breaks off
    instead of ending with a zero offset, why.
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(16)
            order = _TIFF_BYTE_ORDER.get(head[:2])
            if order is None or len(head) < 8:
                return 0, "no TIFF header"
            version = struct.unpack(order + "H", head[2:4])[0]
            if version == _TIFF_BIG:
                offset_format, count_format = order + "Q", order + "Q"
                offset = struct.unpack(offset_format, head[8:16])[0]
            else:
                offset_format, count_format = order + "I", order + "H"
                offset = struct.unpack(offset_format, head[4:8])[0]
            offset_bytes = struct.calcsize(offset_format)
            count_bytes = struct.calcsize(count_format)
            entry_bytes = _TIFF_ENTRY_BYTES.get(version, _TIFF_ENTRY_BYTES[_TIFF_CLASSIC])
            seen: set[int] = set()
            pages = 0
            while offset:
                if offset in seen or pages >= _TIFF_MAX_PAGES:
                    return pages, "the page chain loops"
                seen.add(offset)
                if offset + count_bytes > size:
                    return pages, f"page {pages + 1}'s directory lies past the end of the file"
                handle.seek(offset)
                entries = struct.unpack(count_format, handle.read(count_bytes))[0]
                end = offset + count_bytes + entries * entry_bytes + offset_bytes
                if entries == 0 or end > size:
                    return pages, f"page {pages + 1}'s directory is cut off or broken"
                handle.seek(end - offset_bytes)
                offset = struct.unpack(offset_format, handle.read(offset_bytes))[0]
                pages += 1
    except (OSError, struct.error) as exc:
        return 0, f"cannot be read: {exc}"
    return pages, None


def tiff_truncation(source: str, pages_found: int, pages_read: list[int]) -> PageFailure | None:
    """A ``truncated`` failure when the TIFF's page count cannot be trusted, else ``None``.

    Parameters
    ----------
    source : str
        The TIFF file.
    pages_found : int
        Pages the decoder found (``len(tifffile.TiffFile(source).pages)``).
    pages_read : list of int
        1-based numbers of the pages that were read.

    The page directories are walked apart from the decoder (:func:`_tiff_chain`):
    a chain that breaks off (cut file, overwritten directory), or holds more
    pages than the decoder found, means pages are missing.
    """
    chained, broken = _tiff_chain(source)
    if broken is None and chained <= pages_found:
        return None
    why = broken or f"{chained} page directories, {pages_found} decoded"
    return _truncated(source, pages_found, pages_read, why, f"pages after {pages_found} missing")


def _pdf_structure(path: str) -> tuple[bool, int | None]:
    """Whether a PDF ends with ``%%EOF``, and its page tree's ``/Count`` (newest root).

    ``None`` for the count when no uncompressed page tree root is found
    (object streams hide it).
    """
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return False, None
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            ends = (
                data[max(0, size - _PDF_TAIL_BYTES) :].rstrip(_PDF_TAIL_BLANKS).endswith(_PDF_EOF)
            )
            count = None
            for node in _PDF_PAGES_NODE.finditer(data):
                starts = list(
                    _PDF_OBJ_START.finditer(
                        data, max(0, node.start() - _PDF_OBJ_LOOKBACK), node.start()
                    )
                )
                start = starts[-1].end() if starts else node.start()
                stop = data.find(_PDF_ENDOBJ, node.end())
                body = bytes(data[start : stop if stop >= 0 else node.end() + _PDF_OBJ_LOOKBACK])
                found = _PDF_COUNT.search(body)
                if found and not _PDF_PARENT.search(body):
                    count = int(found.group(1))
    return ends, count


def pdf_truncation(source: str, pages_found: int, pages_read: list[int]) -> PageFailure | None:
    """A ``truncated`` failure when the PDF's page count cannot be trusted, else ``None``.

    Parameters
    ----------
    source : str
        The PDF file.
    pages_found : int
        Pages the PDF reader found (``pdfinfo``'s count).
    pages_read : list of int
        1-based numbers of the pages that were read.

    The file's own structure decides: a PDF that does not end with ``%%EOF``
    (blanks aside) was cut short, and a page tree root counting more pages than were found
    means the reader fell back on an older, smaller revision of the file.
    """
    try:
        ends, declared = _pdf_structure(source)
    except (OSError, ValueError) as exc:
        return _truncated(source, pages_found, pages_read, f"cannot be read: {exc}", "")
    if declared is not None and declared > pages_found:
        missing = declared - pages_found
        return _truncated(
            source,
            pages_found,
            pages_read,
            f"its page tree counts {declared} pages, {pages_found} found",
            f"{missing} page{'s' if missing != 1 else ''} missing",
        )
    if not ends:
        return _truncated(
            source,
            pages_found,
            pages_read,
            "it does not end with %%EOF: cut short",
            f"pages after {pages_found} may be missing",
        )
    return None


# --------------------------------------------------------------------------- helpers


def _check_size(where: str, width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise PageLoadError(
            FailureReason.CORRUPT_IMAGE,
            f"{where}: the header gives an empty image ({width} x {height})",
        )
    if width * height > max_pixels:
        raise PageLoadError(
            FailureReason.TOO_LARGE,
            f"{where}: {width} x {height} pixels is more than the {max_pixels:,} allowed; "
            "scan answer sheets at 150-300 dpi",
        )


def to_gray(
    pixels: np.ndarray, *, where: str = "image", weights: tuple[float, float, float] | None = None
) -> np.ndarray:
    """Turn decoded pixels into a gray ``uint8`` image (0 black, 255 white).

    Parameters
    ----------
    pixels : (H, W) or (H, W, C) ndarray
        ``bool`` (1-bit, True = white), ``uint8``, ``uint16``, or float in
        ``[0, 1]``; ``C`` is 3 (RGB) or 4 (RGBA, alpha ignored) or 2 (gray +
        alpha).
    weights : (3,) tuple of float, optional
        How R, G, B make the gray (``ljun._color``); default luma.

    Returns
    -------
    (H, W) ndarray of uint8
        1-bit input becomes 0/255.

    >>> to_gray(np.array([[True, False]])).tolist()
    [[255, 0]]
    """
    array = np.asarray(pixels)
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * np.uint8(255)
    elif array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    elif array.dtype.kind == "f":
        array = np.clip(np.nan_to_num(array) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    elif array.dtype.kind in "iu" and array.dtype != np.uint8:
        # 32-bit gray (Pillow mode "I"): assume 16-bit data in it.
        array = np.clip(array >> 8, 0, 255).astype(np.uint8)
    if array.ndim == 3:
        channels = array.shape[2]
        if channels == 1 or channels == 2:
            array = array[:, :, 0]
        elif channels in (3, 4) and weights is not None:
            array = to_pencil_gray(array, weights)
        elif channels in (3, 4):
            array = cv2.cvtColor(np.ascontiguousarray(array[:, :, :3]), cv2.COLOR_RGB2GRAY)
        else:
            raise PageLoadError(
                FailureReason.UNSUPPORTED_IMAGE,
                f"{where}: {channels} colour channels are not supported",
            )
    if array.ndim != 2:
        raise PageLoadError(
            FailureReason.UNSUPPORTED_IMAGE, f"{where}: not a 2-D image (shape {array.shape})"
        )
    return np.ascontiguousarray(array, dtype=np.uint8)
