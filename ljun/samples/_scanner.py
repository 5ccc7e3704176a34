"""A simulated document scanner: what happens to a sheet between desk and file.

:func:`scan_page` takes the sheet as drawn (float32 reflectance in the
template's geometry at ``dpi``) and returns the image a scanner writes plus a
record of what it did (``scan``): the page's pose on the scanner bed (skew,
shift, scale, slight perspective, fed upside down), paper tone and lamp
fall-off, blur, dust, sensor noise, tone curve, JPEG and the bilevel
threshold of a 1-bit scan.

The scan always holds the whole page: the bed is bigger than the page, and
the output is the page's bounding box plus a margin of scanner background on
every side, so no fiducial is cropped away even at ±10°.

``scan["homography"]`` maps pixel coordinates of the template geometry at
``dpi`` (``template.geometry(dpi)``) to pixel coordinates of the scan, so a
reader can be checked against the exact pose.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..template import MM_PER_INCH
from ._levels import Level

__all__ = ["scan_page", "pose_homography", "BILEVEL_MODES"]

#: B/W modes of a scanner's 1-bit output: ``threshold`` (a fixed fraction of
#: the paper under the lamp), ``dither`` (error diffusion: a light mark
#: becomes a speckled disc whose dot density is its darkness) and
#: ``adaptive`` (a pixel is black when dark in absolute terms or clearly
#: darker than its neighbourhood: a light mark keeps its edge and speckles
#: inside).
BILEVEL_MODES: tuple[str, ...] = ("threshold", "dither", "adaptive")

# A page edge casts a thin shadow on the scanner's backing: this much darker
# than the background, this wide (mm).
EDGE_SHADOW = 0.25
EDGE_SHADOW_MM = 0.3
# Dark background (black ADF backing), as a fraction of full scale.
DARK_BACKGROUND = (0.12, 0.30)
# Dust specks: radius (mm) and darkness.
DUST_RADIUS_MM = (0.05, 0.25)
DUST_DARKNESS = (0.3, 0.9)
# Background removal sets the white point this many noise sigmas below the
# darkest paper, so nearly all paper pixels clip to white.
WHITE_CLIP_NOISE_SIGMAS = 2.5
# Resolution of the lamp fall-off field (cells across the page).
ILLUMINATION_CELLS = (6, 8)
# Adaptive B/W mode: darker than this fraction of the paper is black
# whatever the neighbourhood (print and firm 2B fills).
ADAPTIVE_GLOBAL_FRACTION = 0.5


def pose_homography(
    width: int,
    height: int,
    *,
    skew_deg: float,
    scale: float,
    upside_down: bool,
    corner_shift: np.ndarray,
) -> np.ndarray:
    """Homography from page pixels to a frame centred on the page's centre.

    ``corner_shift`` is the ``(4, 2)`` perspective displacement of the page
    corners (TL, TR, BR, BL) in pixels.  Positive ``skew_deg`` turns the page
    clockwise as seen on screen (the image y axis points down).
    """
    cx, cy = (width - 1) / 2, (height - 1) / 2
    centre = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], dtype=np.float64)
    flip = np.diag([-1.0, -1.0, 1.0]) if upside_down else np.eye(3)
    a = math.radians(skew_deg)
    rotate = np.array(
        [
            [scale * math.cos(a), -scale * math.sin(a), 0],
            [scale * math.sin(a), scale * math.cos(a), 0],
            [0, 0, 1],
        ]
    )
    similarity = rotate @ flip @ centre
    corners = np.array(
        [[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5], [-0.5, height - 0.5]]
    )
    moved = _apply(similarity, corners)
    perspective = cv2.getPerspectiveTransform(
        moved.astype(np.float32), (moved + corner_shift).astype(np.float32)
    )
    return perspective @ similarity


def _apply(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.c_[points, np.ones(len(points))] @ h.T
    return pts[:, :2] / pts[:, 2:3]


def scan_page(
    page: np.ndarray,
    *,
    dpi: float,
    bits: int,
    level: Level,
    rng: np.random.Generator,
    reference_points: np.ndarray | None = None,
    bilevel_mode: str = "threshold",
) -> tuple[np.ndarray, dict]:
    """Scan a drawn page.

    Parameters
    ----------
    page : (H, W) ndarray of float32
        Reflectance (1 white) of the sheet at ``dpi``; not modified.
    dpi : float
        Resolution of both the drawn page and the scan.
    bits : {8, 1}
        8-bit grey, or 1-bit (values 0 and 255) as a scanner's B/W mode.
    bilevel_mode : {"threshold", "dither", "adaptive"}
        How a 1-bit scan turns grey into black and white (see
        :data:`BILEVEL_MODES`); ignored for 8-bit scans.
    reference_points : (K, 2) ndarray, optional
        Page pixel coordinates (e.g. fiducial centres) to report in the scan
        as ``scan["reference_points"]``.

    Returns
    -------
    image : (H', W') ndarray of uint8
        The scan; 0 black, 255 white.
    scan : dict
        What was done, JSON-ready (angles in degrees, lengths in pixels of the
        scan unless named ``_mm``).
    """
    px_per_mm = dpi / MM_PER_INCH
    height, width = page.shape
    skew = float(rng.uniform(-level.skew_max_deg, level.skew_max_deg))
    scale = float(1.0 + rng.uniform(-level.scale_max, level.scale_max))
    upside_down = bool(rng.random() < level.upside_down_probability)
    diagonal = math.hypot(width, height)
    corner_shift = rng.uniform(-1.0, 1.0, (4, 2)) * level.perspective_max * diagonal
    pose = pose_homography(
        width,
        height,
        skew_deg=skew,
        scale=scale,
        upside_down=upside_down,
        corner_shift=corner_shift,
    )
    corners = _apply(
        pose,
        np.array(
            [[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5], [-0.5, height - 0.5]]
        ),
    )
    margins = rng.uniform(*level.margin_mm, 4) * px_per_mm  # left, top, right, bottom
    lo = corners.min(axis=0) - margins[:2]
    hi = corners.max(axis=0) + margins[2:]
    out_w, out_h = (int(math.ceil(v)) for v in hi - lo)
    to_canvas = np.array([[1, 0, -lo[0]], [0, 1, -lo[1]], [0, 0, 1]], dtype=np.float64)
    homography = to_canvas @ pose
    page_corners = _apply(
        homography,
        np.array(
            [[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5], [-0.5, height - 0.5]]
        ),
    )
    centre = _apply(homography, np.array([[(width - 1) / 2, (height - 1) / 2]]))[0]
    shift = centre - ((out_w - 1) / 2, (out_h - 1) / 2)

    # Paper: tone of the sheet (recycled, yellowed, bright white).
    tone = float(rng.uniform(*level.paper_tone))
    dark_bg = bool(rng.random() < level.dark_background_probability)
    background = float(rng.uniform(*(DARK_BACKGROUND if dark_bg else level.background_tone)))
    # Warp in 0..1 reflectance with the paper tone; the background fills the rest.
    scanned = cv2.warpPerspective(
        page,
        homography,
        (out_w, out_h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=background / tone,
    )
    scanned = scanned.astype(np.float32) * np.float32(tone)
    # The page edge casts a thin shadow on the backing.
    shadow = max(1, int(round(EDGE_SHADOW_MM * px_per_mm)))
    cv2.polylines(
        scanned,
        [np.round(page_corners * 16).astype(np.int32)],
        True,
        float(background * (1 - EDGE_SHADOW)),
        shadow,
        cv2.LINE_AA,
        4,
    )
    # Dust on the glass.
    n_dust = int(rng.poisson(level.dust_mean))
    for _ in range(n_dust):
        x, y = rng.uniform(0, out_w), rng.uniform(0, out_h)
        r = rng.uniform(*DUST_RADIUS_MM) * px_per_mm
        cv2.circle(
            scanned,
            (int(x * 16), int(y * 16)),
            max(1, int(r * 16)),
            float(rng.uniform(0.05, 1 - DUST_DARKNESS[0]) * tone),
            -1,
            cv2.LINE_AA,
            4,
        )
    # Lamp fall-off: a smooth field across the bed.
    cells = rng.uniform(-1.0, 1.0, ILLUMINATION_CELLS).astype(np.float32)
    field = cv2.resize(cells, (out_w, out_h), interpolation=cv2.INTER_CUBIC)
    illumination = 1.0 - np.float32(level.illumination_variation / 2) * (1.0 + field)
    scanned *= illumination
    # Optics.
    blur = float(rng.uniform(*level.blur_sigma_mm) * px_per_mm)
    if blur > 0.2:
        scanned = cv2.GaussianBlur(scanned, (0, 0), blur)
    # Sensor noise in grey levels, then the tone curve (gamma) as a LUT.
    noise = float(rng.uniform(*level.noise_sigma))
    scanned *= np.float32(255.0)
    scanned += rng.standard_normal(scanned.shape, dtype=np.float32) * np.float32(noise)
    # Sensor signal before the output stage (grey levels, linear in reflectance).
    sensor = scanned
    white_point = None
    if rng.random() < level.white_clip_probability and bits == 8:
        # Background removal: the white point sits a little below the paper,
        # so paper and its noise clip to 255 and marks keep their contrast.
        white_point = float(
            255.0 * tone * (1.0 - level.illumination_variation) - WHITE_CLIP_NOISE_SIGMAS * noise
        )
        scanned = scanned * np.float32(255.0 / white_point)
    gamma = float(rng.uniform(*level.gamma))
    jpeg_quality = None
    threshold = None
    bilevel: dict = {}
    if bits == 1:
        # B/W mode thresholds the sensor signal at a fraction of the paper
        # white under the lamp where the pixel is, as a form scanner's
        # dynamic threshold follows the background.  The grey tone curve and
        # background removal are grey-output settings and do not move the
        # cut (thresholding after them, as this generator once did, moved it
        # by a tenth of paper white or more and wiped out 2B marks that an
        # operator sees on paper; see Level.bilevel_threshold).  ``gamma``
        # is drawn all the same, so the draws after it match a grey scan's.
        paper_white = illumination * np.float32(255.0 * tone)
        if bilevel_mode == "dither":
            image, bilevel = _dither(sensor / paper_white, level, rng)
        elif bilevel_mode == "adaptive":
            image, bilevel = _adaptive(sensor / paper_white, level, rng, px_per_mm)
        else:
            fraction = float(rng.uniform(*level.bilevel_threshold))
            threshold = float(255.0 * tone * (1.0 - level.illumination_variation / 2) * fraction)
            cut = illumination * np.float32(255.0 * tone * fraction)
            image = np.where(sensor >= cut, np.uint8(255), np.uint8(0))
            bilevel = {}
    else:
        image = np.clip(scanned, 0, 255).astype(np.uint8)
        lut = np.clip(np.round(255.0 * (np.arange(256) / 255.0) ** gamma), 0, 255).astype(np.uint8)
        image = cv2.LUT(image, lut)
        if rng.random() < level.jpeg_probability:
            jpeg_quality = int(rng.integers(level.jpeg_quality[0], level.jpeg_quality[1] + 1))
            ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
            image = np.asarray(cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE))
    scan = {
        "dpi": dpi,
        "bits": bits,
        "width": out_w,
        "height": out_h,
        "skew_deg": round(skew, 4),
        "rotated_180": upside_down,
        "scale": round(scale, 5),
        "shift_px": [round(float(v), 2) for v in shift],
        "perspective_px": round(float(np.abs(corner_shift).max()), 2),
        "homography": [[float(v) for v in row] for row in homography],
        "paper_tone": round(tone, 4),
        "background": round(background, 4),
        "dark_background": dark_bg,
        "illumination": level.illumination_variation,
        "blur_sigma_px": round(blur, 3),
        "noise_sigma": round(noise, 3),
        "white_point": None if white_point is None else round(white_point, 2),
        "gamma": round(gamma, 4),
        "dust": n_dust,
        "jpeg_quality": jpeg_quality,
        "bilevel_threshold": None if threshold is None else round(threshold, 2),
    }
    if bits == 1:
        scan["bilevel_mode"] = bilevel_mode
        scan.update(bilevel)
    if reference_points is not None:
        scan["reference_points"] = [
            [round(float(x), 2), round(float(y), 2)]
            for x, y in _apply(homography, np.asarray(reference_points, dtype=np.float64))
        ]
    return image, scan


def _dither(
    relative: np.ndarray, level: Level, rng: np.random.Generator
) -> tuple[np.ndarray, dict]:
    """Floyd–Steinberg error diffusion of ``relative`` reflectance (1 = paper).

    The scanner's brightness setting first maps the paper (and its noise)
    above white, as a B/W dither mode is set up for forms, so clean paper
    stays clean and a pencil layer of darkness ``d`` becomes black dots
    covering about ``d`` of its area.
    """
    from PIL import Image

    brightness = float(rng.uniform(*level.dither_brightness))
    gray = np.clip(relative * np.float32(255.0 * brightness), 0, 255).astype(np.uint8)
    dots = Image.fromarray(gray).convert("1", dither=Image.Dither.FLOYDSTEINBERG)
    image = np.where(np.asarray(dots), np.uint8(255), np.uint8(0))
    return image, {"dither_brightness": round(brightness, 4)}


def _adaptive(
    relative: np.ndarray, level: Level, rng: np.random.Generator, px_per_mm: float
) -> tuple[np.ndarray, dict]:
    """Adaptive threshold of ``relative`` reflectance (1 = paper).

    A pixel is black when it reflects less than ``ADAPTIVE_GLOBAL_FRACTION``
    of the paper (print, a firm fill) or less than ``1 - contrast`` of the
    mean of its neighbourhood (a window of ``window`` mm): the edges of a
    light mark turn black, its inside only where noise makes it darker
    than its surroundings.
    """
    window_mm = float(rng.uniform(*level.adaptive_window_mm))
    contrast = float(rng.uniform(*level.adaptive_contrast))
    size = max(3, int(round(window_mm * px_per_mm)) | 1)
    local = cv2.boxFilter(relative, -1, (size, size), borderType=cv2.BORDER_REPLICATE)
    black = (relative < np.float32(ADAPTIVE_GLOBAL_FRACTION)) | (
        relative < local * np.float32(1.0 - contrast)
    )
    image = np.where(black, np.uint8(0), np.uint8(255))
    return image, {
        "adaptive_window_mm": round(window_mm, 3),
        "adaptive_contrast": round(contrast, 4),
    }
