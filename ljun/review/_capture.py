"""What review needs of a page, kept at scoring time: a small upright image.

A scan may be moved to ``done/`` or deleted after scoring, so the review page
cannot rely on it.  :func:`capture_review_image` turns a page image and its
registration into a compressed gray image of the sheet, **upright and in the
template's frame** (so the bubble grid is simply the template's geometry at
:data:`CAPTURE_DPI`), plus the bubble positions in that image.  A page that
could not be registered is kept as scanned, downscaled, without bubbles, so
an operator can still look at it.

Pure: no file or store I/O (the store side is :mod:`ljun.review._images`).

>>> import numpy as np
>>> from ljun.template import load_template
>>> template = load_template("ljun-teori-kejuruan")
>>> image = np.full((2339, 1654), 255, np.uint8)        # an A4 page at 200 dpi
>>> captured = capture_review_image(image, None, template, scan_dpi=200.0)
>>> captured.media_type, captured.registered, captured.centres.shape
('image/jpeg', False, (0, 2))
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..register import REFERENCE_DPI
from ..template import Template

__all__ = ["CAPTURE_DPI", "JPEG_QUALITY", "ReviewImage", "CapturedPage", "capture_review_image"]

#: Resolution of a kept review image, dots per inch.  120 dpi: an A4 sheet is
#: 992 x 1403 px (shown fitted to a 1366x768 screen), and a bubble (about
#: 5 mm) is about 24 px across, enough to see a faint mark or erasure residue
#: in the page's zoomed crops.  About 300 KB per page as JPEG (the bundled
#: samples: 250-350 KB; a sheet is a thousand printed rings, which JPEG, PNG
#: and WebP all find costly: 150 dpi would be about 450 KB).
CAPTURE_DPI = 120.0

#: JPEG quality (OpenCV's 0-100 scale) of a kept review image: pencil marks
#: and printed rings stay clean at 75 when zoomed 3x.
JPEG_QUALITY = 75

# Before the warp samples a scan of a higher resolution, it is averaged over
# k x k pixels, k = round(scan dpi / capture dpi) (2 for 200-300 dpi):
# bilinear sampling alone would alias 1-bit scans into noise.  A box filter
# on the scan and one warp cost half of an area-averaged resize and a warp
# (about 20 ms against 44 ms per page on the bundled samples).
_BOX_MIN = 2


@dataclass(frozen=True, eq=False)
class ReviewImage:
    """A page as review shows it.

    Attributes
    ----------
    data : bytes
        The compressed image (``media_type``).
    media_type : str
        ``image/jpeg``.
    width, height : int
        Its size in pixels.
    dpi : float
        Its resolution (:data:`CAPTURE_DPI` when registered).
    registered : bool
        True: the image is the sheet upright in the template's frame and
        ``centres``/``radii`` are the template's bubbles in it.  False: the
        page as scanned (registration failed), no bubbles.
    centres : (N, 2) ndarray of float32
        Bubble centres ``(x, y)`` in image pixels, in template geometry order
        (the order of ``SheetReading.darkness``); ``(0, 2)`` when not registered.
    radii : (N,) ndarray of float32
        Bubble radii in image pixels.
    """

    data: bytes
    media_type: str
    width: int
    height: int
    dpi: float
    registered: bool
    centres: np.ndarray
    radii: np.ndarray


@dataclass(frozen=True, eq=False)
class CapturedPage:
    """A review image with the identity of the page it shows.

    ``file_digest`` is the digest of the scan file's bytes (the store's
    ``file_digest_algorithm``) and ``page`` its
    1-based page number: ``ljun.batch.page_hash(file_digest, page)`` must be
    ``page_hash``, which is how the store checks the image belongs to the sheet.
    """

    page_hash: str
    file_digest: str
    page: int
    image: ReviewImage


def _pixel_scale(factor: float) -> np.ndarray:
    """3x3 map of pixel coordinates when an image is resized by ``factor``.

    Pixel centres sit at integer coordinates, so ``x' = (x + 0.5) * f - 0.5``.
    """
    offset = 0.5 * factor - 0.5
    return np.array([[factor, 0.0, offset], [0.0, factor, offset], [0.0, 0.0, 1.0]])


def _shrink(image: np.ndarray, factor: float) -> np.ndarray:
    if factor >= 1.0:
        return image
    height, width = image.shape
    size = (max(1, int(round(width * factor))), max(1, int(round(height * factor))))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _encode(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise ValueError("OpenCV could not encode a review image as JPEG")
    return encoded.tobytes()


def capture_review_image(
    image: np.ndarray,
    homography: np.ndarray | None,
    template: Template,
    *,
    scan_dpi: float | None = None,
    dpi: float = CAPTURE_DPI,
) -> ReviewImage:
    """The review image of one page.

    Parameters
    ----------
    image : (H, W) ndarray of uint8
        The scan, 0 black, 255 white.
    homography : (3, 3) ndarray of float64 or None
        :attr:`ljun.register.Registration.homography` (template pixels at
        :data:`ljun.register.REFERENCE_DPI` onto scan pixels), or ``None``
        when registration failed.
    template : Template
        The template the page was read with.
    scan_dpi : float, optional
        The scan's resolution: with a homography, its effective resolution
        (:attr:`~ljun.register.Registration.dpi`); without one, the file's
        (``None``: the page is scaled to the template's width).
    dpi : float, optional
        Resolution of the review image.

    Returns
    -------
    ReviewImage
    """
    width, height = template.size_px(dpi)
    if homography is None:
        scan_height, scan_width = image.shape
        factor = dpi / scan_dpi if scan_dpi else width / scan_width
        small = _shrink(image, factor)
        return ReviewImage(
            data=_encode(small),
            media_type="image/jpeg",
            width=int(small.shape[1]),
            height=int(small.shape[0]),
            dpi=float(scan_dpi * min(factor, 1.0)) if scan_dpi else dpi,
            registered=False,
            centres=np.zeros((0, 2), np.float32),
            radii=np.zeros(0, np.float32),
        )
    effective_dpi = scan_dpi if scan_dpi else dpi
    box = int(round(effective_dpi / dpi))
    source = cv2.blur(image, (box, box)) if box >= _BOX_MIN else image
    # review pixel -> reference template pixel -> scan pixel
    review_to_scan = np.asarray(homography, dtype=np.float64) @ _pixel_scale(REFERENCE_DPI / dpi)
    upright = cv2.warpPerspective(
        source,
        review_to_scan,
        (width, height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    )
    geometry = template.geometry(dpi)
    return ReviewImage(
        data=_encode(upright),
        media_type="image/jpeg",
        width=width,
        height=height,
        dpi=dpi,
        registered=True,
        centres=geometry.centres.astype(np.float32),
        radii=geometry.radii.astype(np.float32),
    )
