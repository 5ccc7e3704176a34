"""PDF pages as a scanner wrote them: the embedded image, not a re-rendering.

A scanner PDF holds one compressed image per page (CCITT Group 4 for black
and white, JPEG for gray or colour).  :func:`pdf_pages` takes that image as
it is, decoded by PDFium (``pypdfium2``) at its own resolution, instead of
rasterising the page again; only a page that is not a single upright image
covering the page (a page with text or drawings, a rotated page, an image
placed on part of the page) is rendered, by PDFium in this process, at
:data:`ljun.load.PDF_RENDER_DPI`.  A PDF that PDFium cannot open at all goes
to the ``pdftoppm`` loader of :mod:`ljun.load` (poppler may read what PDFium
does not).

A CCITT Group 4 page (black and white) is decoded from its raw stream
instead (:func:`_g4_gray`): by libtiff, the stream wrapped as the one strip
of a TIFF in memory (:mod:`ljun._fax`), else by ``imagecodecs``' own CCITT
decoder.  PDFium's decoder made a CCITT PDF page cost 4 ms more than the
same page in a Group 4 TIFF; imagecodecs' is a third faster than PDFium's,
libtiff about 3 ms a 200-dpi A4 page faster again.  PDFium does not tell a
stream's ``/DecodeParms``, so :class:`FaxParameters` reads them from the
image's dictionary in the file (:func:`fax_parameters`); whatever it does
not understand, or a stream it cannot find once, is left to PDFium.

Why pypdfium2 rather than pikepdf: PDFium decodes every image filter a
scanner writes (CCITT, DCT, Flate, JBIG2) itself, in C, and renders the
fallback pages in the same library and process; pikepdf (qpdf) hands back
the compressed stream, so CCITT and JBIG2 would need another decoder, and a
page that is not a single image would still need poppler.

Failure reasons are those of :mod:`ljun.load`.
"""

from __future__ import annotations

import functools
import mmap
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from ._fax import FaxDecodeError, fax_bits, fax_gray
from .load import PDF_RENDER_DPI, PT_PER_INCH, PageLoadError, pdf_truncation, to_gray
from .load import _check_size as check_size
from .records import Page, PageFailure
from .vocabulary import FailureReason

__all__ = ["pdf_pages", "pdf_page_count", "page_image", "decode_only", "PAGE_COVER_TOLERANCE"]

#: An image counts as "the page" when its placement box matches the page's
#: media box within this fraction of the page size on every side (scanner
#: PDFs place the image exactly on the page; 1 % allows rounding of points).
PAGE_COVER_TOLERANCE = 0.01

# PDFium is not thread-safe: one document at a time per process
# (worker processes each have their own).
_PDFIUM_LOCK = threading.RLock()

# pypdfium2 bitmap formats (FPDFBitmap_*): gray, BGR, BGRx, BGRA.
_BITMAP_GRAY = 1

#: Files up to this size are searched for their CCITT images' parameters
#: (read once, whole); a larger PDF's pages are decoded by PDFium.
FAX_SEARCH_MAX_BYTES = 256 * 1024 * 1024

#: A CCITT stream is found in the file by this many of its first bytes.
_FAX_KEY_BYTES = 64

# TIFF's Compression value of CCITT Group 4 (T.6), the only scheme /K < 0 names.
_GROUP_4 = 4


def pdf_page_count(source: str) -> int:
    """Number of pages of a PDF, from its page tree (nothing is decoded).

    Raises
    ------
    PageLoadError
        ``encrypted_pdf`` or ``corrupt_pdf``.
    """
    with _PDFIUM_LOCK:
        document = _open(source)
        try:
            return len(document)
        finally:
            document.close()


def pdf_pages(
    source: str,
    max_pixels: int,
    *,
    pages: Iterable[int] | None = None,
    fallback: Callable[[str, int], Iterator[Page | PageFailure]] | None = None,
    weights: tuple[float, float, float] | None = None,
) -> Iterator[Page | PageFailure]:
    """The pages of a PDF, in order, as gray images.

    Parameters
    ----------
    source : str
        The file.
    max_pixels : int
        Pages with more pixels are refused as ``too_large`` before decoding.
    pages : iterable of int, optional
        0-based page indices to read (a page range shared out to a worker);
        default every page.  Indices past the end are ignored.
    fallback : callable, optional
        ``fallback(source, max_pixels)`` reads the whole file when PDFium
        cannot open it (not for an encrypted PDF).
    weights : (3,) tuple of float, optional
        How colour pages' R, G, B make the gray (``ljun._color``); default luma.

    Yields
    ------
    Page or PageFailure
        ``Page.dpi`` is the embedded image's resolution (its pixels per inch
        of the page), or :data:`~ljun.load.PDF_RENDER_DPI` for a rendered page.
    """
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        try:
            document = _open(source)
        except PageLoadError as exc:
            if exc.reason == FailureReason.ENCRYPTED_PDF or fallback is None:
                yield PageFailure(source, 0, exc.reason, exc.detail)
            else:
                yield from fallback(source, max_pixels)
            return
    try:
        n_pages = len(document)
        if n_pages <= 0:
            yield PageFailure(
                source, 0, FailureReason.CORRUPT_PDF, f"{source}: the PDF has no pages"
            )
            return
        wanted = range(n_pages) if pages is None else [i for i in pages if 0 <= i < n_pages]
        fax = fax_parameters(source)
        read: list[int] = []
        for index in wanted:
            number = index + 1
            where = f"{source} page {number}"
            try:
                with _PDFIUM_LOCK:
                    gray, dpi, bilevel = page_image(
                        document, index, max_pixels, where=where, weights=weights, fax=fax
                    )
            except PageLoadError as exc:
                yield PageFailure(source, number, exc.reason, exc.detail)
                continue
            except pdfium.PdfiumError as exc:
                yield PageFailure(
                    source, number, FailureReason.CORRUPT_PDF, f"{where}: cannot be read: {exc}"
                )
                continue
            yield Page(image=gray, source=source, page=number, dpi=dpi, bilevel=bilevel)
            read.append(number)
        # PDFium reads what it can of a damaged file without a word; the page
        # tree says whether pages are missing (checked once per file: by the
        # part that reads its last page).
        if not wanted or wanted[-1] == n_pages - 1:
            damaged = pdf_truncation(source, n_pages, read)
            if damaged is not None:
                yield damaged
    finally:
        with _PDFIUM_LOCK:
            document.close()


def _open(source: str):  # -> pypdfium2.PdfDocument
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(source)
    except pdfium.PdfiumError as exc:
        text = str(exc)
        if "password" in text.lower() or "security" in text.lower():
            raise PageLoadError(
                FailureReason.ENCRYPTED_PDF,
                f"{source}: the PDF is password-protected; export the scan without a password",
            ) from None
        raise PageLoadError(
            FailureReason.CORRUPT_PDF, f"{source}: the PDF cannot be read: {text}"
        ) from None
    except OSError as exc:
        raise PageLoadError(
            FailureReason.UNREADABLE_FILE, f"{source}: cannot be opened: {exc.strerror or exc}"
        ) from None


def page_image(
    document,
    index: int,
    max_pixels: int,
    *,
    where: str,
    weights: tuple[float, float, float] | None = None,
    fax: Callable[[bytes], FaxParameters | None] | None = None,
) -> tuple[np.ndarray, float, bool]:
    """One page as a gray image and its dpi: the embedded scan if the page is one.

    Parameters
    ----------
    document : pypdfium2.PdfDocument
    index : int
        0-based page index.
    max_pixels : int
        Decompression-bomb guard, checked before decoding.
    where : str
        The page's name in messages.
    weights : (3,) tuple of float, optional
        How a colour page's R, G, B make the gray (``ljun._color``); default luma.
    fax : callable, optional
        The parameters of a CCITT stream of this file, given its raw bytes
        (:func:`fax_parameters`); without it PDFium decodes CCITT pages.

    Returns
    -------
    gray : (H, W) ndarray of uint8
    dpi : float
    bilevel : bool
        The page was a CCITT Group 4 image decoded here: every pixel is 0 or
        255 (:attr:`ljun.records.Page.bilevel`).
    """
    page = document[index]
    try:
        width_pt, height_pt = page.get_size()
        image = _single_page_image(page, width_pt, height_pt)
        if image is not None:
            metadata = image.get_metadata()
            check_size(where, int(metadata.width), int(metadata.height), max_pixels)
            gray = _jpeg_gray(image, where, weights)
            bilevel = False
            if gray is None and fax is not None:
                gray = _g4_gray(image, metadata, fax)
                bilevel = gray is not None
            if gray is None:
                # The image's own bitmap belongs to PDFium: dropped, not closed.
                gray = _bitmap_gray(image.get_bitmap(render=False), where, weights)
            dpi = gray.shape[1] / (width_pt / PT_PER_INCH)
            return gray, float(dpi), bilevel
        scale = PDF_RENDER_DPI / PT_PER_INCH
        check_size(where, int(round(width_pt * scale)), int(round(height_pt * scale)), max_pixels)
        bitmap = page.render(scale=scale, grayscale=weights is None)
        try:
            gray = _bitmap_gray(bitmap, where, weights)
        finally:
            bitmap.close()
        return gray, float(PDF_RENDER_DPI), False
    finally:
        page.close()


def _single_page_image(page, width_pt: float, height_pt: float):  # -> PdfImage | None
    """The page's image object when the page is exactly one upright image covering it."""
    import pypdfium2.raw as pdfium_c

    if page.get_rotation() % 360 != 0:
        return None
    objects = list(page.get_objects(max_depth=1))
    if len(objects) != 1 or objects[0].type != pdfium_c.FPDF_PAGEOBJ_IMAGE:
        return None
    image = objects[0]
    matrix = image.get_matrix()
    # Upright and unflipped: a > 0, d > 0, no shear or rotation.
    if not (matrix.a > 0 and matrix.d > 0 and matrix.b == 0 and matrix.c == 0):
        return None
    left, bottom, right, top = image.get_bounds()
    tolerance_x, tolerance_y = PAGE_COVER_TOLERANCE * width_pt, PAGE_COVER_TOLERANCE * height_pt
    if (
        abs(left) > tolerance_x
        or abs(bottom) > tolerance_y
        or abs(right - width_pt) > tolerance_x
        or abs(top - height_pt) > tolerance_y
    ):
        return None
    return image


def _jpeg_gray(
    image, where: str, weights: tuple[float, float, float] | None = None
) -> np.ndarray | None:
    """A JPEG page decoded by OpenCV (libjpeg-turbo: a third faster than PDFium's
    decoder, same pixels); None when the image is not plain JPEG."""
    if image.get_filters() != ["DCTDecode"]:
        return None
    import cv2

    data = np.frombuffer(image.get_data(decode_simple=False), np.uint8)
    # IMREAD_UNCHANGED keeps a gray JPEG gray without a colour round trip.
    pixels = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if pixels is None:
        return None
    if pixels.ndim == 3:
        pixels = pixels[..., 2::-1]  # OpenCV's BGR to RGB for to_gray
    return to_gray(pixels, where=where, weights=weights)


def _bitmap_gray(
    bitmap, where: str, weights: tuple[float, float, float] | None = None
) -> np.ndarray:
    # to_numpy() is a view of PDFium's buffer, freed with the bitmap: copy out.
    pixels = bitmap.to_numpy()
    if bitmap.format == _BITMAP_GRAY:
        return np.array(pixels if pixels.ndim == 2 else pixels[..., 0], dtype=np.uint8, order="C")
    # BGR / BGRx / BGRA: to RGB order for to_gray (alpha dropped there; it copies).
    return to_gray(pixels[..., 2::-1], where=where, weights=weights)


# --------------------------------------------------------------------------- CCITT


@dataclass(frozen=True)
class FaxParameters:
    """What decoding a CCITT Group 4 image stream needs besides its bytes.

    Attributes
    ----------
    columns, rows : int
        The image's size in pixels (``/Columns``; ``/Rows``, 0 when absent).
    white_is_1 : bool
        Whether imagecodecs' 1 (the code's black runs) is white on the page:
        from ``/BlackIs1`` and the image's ``/Decode`` array.
    """

    columns: int
    rows: int
    white_is_1: bool


def fax_parameters(source: str | os.PathLike[str]) -> Callable[[bytes], FaxParameters | None]:
    """The Group 4 parameters of the CCITT images of a PDF, looked up by a stream's raw bytes.

    The file is searched once, at the first lookup (a PDF of JPEG pages is
    never searched).  The lookup gives None, and PDFium decodes the page,
    for a stream it cannot find, one found with differing parameters, and
    any dictionary it does not fully understand: Group 3 (``/K`` ≥ 0),
    byte-aligned rows, parameters given by reference, a chain of filters.
    """
    found: Mapping[bytes, set[FaxParameters | None]] | None = None

    def lookup(raw: bytes) -> FaxParameters | None:
        nonlocal found
        if found is None:
            try:
                stat = os.stat(source)
            except OSError:
                return None  # PDFium has read it, or says why not
            # Once per file and process: the parts of a large file a worker reads share it.
            found = _search_fax_images(os.fspath(source), stat.st_size, stat.st_mtime_ns)
        candidates = found.get(bytes(raw[:_FAX_KEY_BYTES]), set())
        return next(iter(candidates)) if len(candidates) == 1 else None

    return lookup


# An image dictionary is searched for this far around its filter's name.
_FAX_DICTIONARY_MAX = 4096
_OBJECT_HEAD = re.compile(rb"(?:^|\s)\d+\s+\d+\s+obj$")
_STREAM_DATA = re.compile(rb"stream(?:\r\n|\n|\r)")
_FAX_ENTRY = {
    key: re.compile(pattern)
    for key, pattern in {
        "K": rb"/K\s+(-?\d+)",
        "Columns": rb"/Columns\s+(\d+)",
        "Rows": rb"/Rows\s+(\d+)",
        "BlackIs1": rb"/BlackIs1\s+(true|false)",
        "EncodedByteAlign": rb"/EncodedByteAlign\s+(true|false)",
        "Decode": rb"/Decode\s*\[\s*([0-9.]+)\s+([0-9.]+)\s*\]",
    }.items()
}
# Parameters by reference, more than one filter, or a mask: left to PDFium.
_FAX_NOT_UNDERSTOOD = re.compile(
    rb"/DecodeParms\s+\d+\s+\d+\s+R|/Filter\s*\[[^\]]*/\w+[^\]]*/\w+|/ImageMask\s+true"
)


@functools.lru_cache(maxsize=4)
def _search_fax_images(
    path: str, size: int, modified_ns: int
) -> Mapping[bytes, set[FaxParameters | None]]:
    """Every CCITT image dictionary of the file, by the first bytes of its
    stream (``size`` and ``modified_ns`` key the cache: a changed file is
    searched again)."""
    found: dict[bytes, set[FaxParameters | None]] = {}
    if not 0 < size <= FAX_SEARCH_MAX_BYTES:
        return found
    try:
        with (
            open(path, "rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            position = data.find(b"/CCITTFaxDecode")
            while position >= 0:
                # The dictionary runs from its object's "obj" to "stream".
                start = data.rfind(b"obj", max(0, position - _FAX_DICTIONARY_MAX), position)
                stream = _STREAM_DATA.search(data, position, position + _FAX_DICTIONARY_MAX)
                if start >= 0 and stream is not None:
                    key = data[stream.end() : stream.end() + _FAX_KEY_BYTES]
                    # "obj" may end a name inside the dictionary: then unsure.
                    head = _OBJECT_HEAD.search(data[max(0, start - 32) : start + 3])
                    dictionary = data[start + 3 : stream.start()]
                    found.setdefault(key, set()).add(_parse_fax(dictionary) if head else None)
                position = data.find(b"/CCITTFaxDecode", position + 1)
    except (OSError, ValueError):
        return {}  # PDFium has read it or says why not (ValueError: emptied meanwhile)
    return found


def _parse_fax(dictionary: bytes) -> FaxParameters | None:
    """The parameters in one image object's dictionary text, or None if unsure."""
    if _FAX_NOT_UNDERSTOOD.search(dictionary):
        return None
    # Parameters in an array go with a filter array, a dictionary with a
    # filter's name; PDFium ignores them otherwise, and so does this.
    parms_in_array = re.search(rb"/DecodeParms\s*\[", dictionary) is not None
    filter_in_array = re.search(rb"/Filter\s*\[", dictionary) is not None
    if b"/DecodeParms" in dictionary and parms_in_array != filter_in_array:
        return None
    values: dict[str, list[tuple[bytes, ...]]] = {
        key: pattern.findall(dictionary) for key, pattern in _FAX_ENTRY.items()
    }
    if any(len(found) > 1 for found in values.values()):
        return None  # a key twice: nested dictionaries this reading does not follow

    def one(key: str, default: bytes) -> bytes:
        found = values[key]
        return found[0] if found and isinstance(found[0], bytes) else default

    if int(one("K", b"0")) >= 0 or one("EncodedByteAlign", b"false") == b"true":
        return None  # Group 3, or rows padded to bytes: imagecodecs' G4 decoder reads neither
    decode = values["Decode"]
    inverted = bool(decode) and float(decode[0][0]) > float(decode[0][1])
    # PDF 32000-1 §7.4.6: the filter gives 0 for the code's black runs, 1 with
    # /BlackIs1 true; then DeviceGray reads 1 as white.  imagecodecs gives 1
    # for black runs.
    white_is_1 = (one("BlackIs1", b"false") == b"true") != inverted
    return FaxParameters(
        columns=int(one("Columns", b"1728")), rows=int(one("Rows", b"0")), white_is_1=white_is_1
    )


def _g4_stream(
    image, metadata, fax: Callable[[bytes], FaxParameters | None]
) -> tuple[bytes, FaxParameters, int, int] | None:
    """A CCITT Group 4 image's raw stream, its parameters, width and height; None
    when it is not one or its parameters are unknown or do not fit the image."""
    if image.get_filters() != ["CCITTFaxDecode"]:
        return None
    raw = bytes(image.get_data(decode_simple=False))
    parameters = fax(raw)
    width, height = int(metadata.width), int(metadata.height)
    if parameters is None or parameters.columns != width or parameters.rows not in (0, height):
        return None
    return raw, parameters, width, height


def _g4_gray(image, metadata, fax: Callable[[bytes], FaxParameters | None]) -> np.ndarray | None:
    """A CCITT Group 4 page decoded by libtiff (:func:`ljun._fax.fax_gray`), or by
    imagecodecs' own decoder when libtiff refuses it; None when it is not one, its
    parameters are unknown, or both decoders refuse it (PDFium decodes it then)."""
    stream = _g4_stream(image, metadata, fax)
    if stream is None:
        return None
    raw, parameters, width, height = stream
    try:
        return fax_gray(
            [raw],
            width=width,
            height=height,
            rows_per_strip=height,
            compression=_GROUP_4,
            white_is_1=parameters.white_is_1,
        )
    except FaxDecodeError:
        pass  # imagecodecs' own decoder may read what libtiff refuses
    import imagecodecs

    try:
        bits = imagecodecs.ccittfax4_decode(raw, height=height, width=width)
    except imagecodecs.Ccittfax4Error:
        return None
    if bits.shape != (height, width):
        return None
    if not parameters.white_is_1:
        np.subtract(1, bits, out=bits)
    return np.multiply(bits, 255, out=bits)


def decode_only(document, index: int, fax: Callable[[bytes], FaxParameters | None]) -> None:
    """Decode one page's image as :func:`page_image` would, and nothing more
    (the benchmark's floor): a CCITT Group 4 page by libtiff, to 0/1 without
    ljun's turn to 0/255 (imagecodecs' decoder if libtiff refuses it); any
    other page as :func:`page_image` reads it."""
    page = document[index]
    try:
        width_pt, height_pt = page.get_size()
        image = _single_page_image(page, width_pt, height_pt)
        stream = None if image is None else _g4_stream(image, image.get_metadata(), fax)
    finally:
        page.close()
    if stream is None:
        page_image(document, index, 1 << 62, where="floor", fax=fax)
        return
    raw, _, width, height = stream
    try:
        fax_bits([raw], width=width, height=height, rows_per_strip=height, compression=_GROUP_4)
    except FaxDecodeError:
        import imagecodecs

        imagecodecs.ccittfax4_decode(raw, height=height, width=width)
