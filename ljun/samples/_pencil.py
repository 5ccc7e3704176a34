"""2B-pencil marks drawn on a rendered sheet.

The page is a float32 *reflectance* image (1 = white paper, 0 = black); a
pencil layer of darkness ``d`` multiplies it by ``1 - d``, so marks stack the
way graphite does (a mark over erasure residue is darker, a fill over a
printed ring darker still).

A fill is built from what a scan of real pencil shows:

- an outline that is not a circle (low-order wobble of the radius, an
  off-centre hand, a rough edge where the graphite stops);
- the strokes: overlapping back-and-forth lines in one direction, whose
  pressure profile leaves a faint hatch texture;
- pressure that drifts across the mark;
- grain: graphite sits on the paper's tooth and misses the valleys, so light
  marks are speckled and heavy ones nearly solid.

Each mark is drawn in a small patch around its bubble, so a sheet of ~90
marks costs a few milliseconds.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..template import MM_PER_INCH

__all__ = [
    "Mark",
    "PencilStyle",
    "grain_texture",
    "draw_fill",
    "draw_tick",
    "draw_stroke_path",
    "draw_smudge",
    "draw_glyph",
    "composite",
]

# Width of a 2B pencil line on paper (a sharpened lead draws 0.4–0.7 mm).
PENCIL_WIDTH_MM = (0.45, 0.75)
# Hatch: stroke spacing as a fraction of the line width (strokes overlap).
STROKE_SPACING = (0.55, 0.9)
# Depth of the hatch texture (darkness modulation across strokes).
HATCH_DEPTH = (0.08, 0.25)
# Radius wobble of a fill outline, relative sd per harmonic (2nd to 5th).
OUTLINE_WOBBLE_SD = 0.025
OUTLINE_HARMONICS = (2, 3, 5, 7)
# How far a hand fill sits off the bubble centre, relative sd of the radius.
CENTRE_OFFSET_SD = 0.05
# Roughness of a fill edge, in pixels of radius jitter per unit of grain.
EDGE_ROUGHNESS_PX = 1.2
# Where a partial fill stops: amplitude of the waver, relative to the radius.
CHORD_WAVER = 0.12
# Width of the soft rim where a fill's coverage goes from full to none (px).
EDGE_SOFTNESS_PX = 1.2
# Strokes waver sideways by this fraction of their spacing, with a wavelength
# of this many bubble radii.
STROKE_WOBBLE = 0.3
STROKE_WOBBLE_WAVELENGTH = 1.7
# A rubber's streaks: period (bubble radii), depth (fraction of the residue
# that varies), and the smear it leaves (sigma, bubble radii).
ERASER_STREAK_PERIOD = 0.6
ERASER_STREAK_DEPTH = 0.4
ERASER_SMEAR = 0.08
# The "core" of a mark whose darkness is reported: this fraction of its radius.
CORE_FRACTION = 0.6
# Pressure drift across a mark: relative change from one side to the other.
PRESSURE_DRIFT = 0.15
# Grain: how much of the darkness the paper's valleys lose.  Light marks show
# much more grain than heavy ones.
GRAIN_HEAVY = (0.10, 0.25)
GRAIN_LIGHT = (0.45, 0.75)
# Feature size of the paper's tooth, in mm (Gaussian sigma of the grain).
GRAIN_SIGMA_MM = 0.04
# The darkest a graphite layer gets (2B scans no darker than ~35 grey).
MAX_DARKNESS = 0.86
# Side of the cached grain texture, in pixels (marks sample windows from it).
GRAIN_TILE_PX = 768
# The grain texture is fixed (same on every run): it is paper, not a sample.
GRAIN_SEED = 20120204


@dataclass(frozen=True)
class Mark:
    """One pencil mark as drawn (not part of the truth).

    ``kind`` is ``fill``, ``overfill``, ``light``, ``partial``, ``tick``,
    ``dot``, ``residue`` (an erased mark) or ``multi`` (a fill that is one of
    a deliberate multi-mark); ``darkness`` the mean darkness of its core
    (0–1, before the scanner).  ``item`` is 1-based, ``option`` the bubble's
    label, as in ``ljun template geometry``.
    """

    field: str
    item: int
    option: str
    kind: str
    darkness: float

    def to_json(self) -> dict:
        return {
            "field": self.field,
            "item": self.item,
            "option": self.option,
            "kind": self.kind,
            "darkness": round(self.darkness, 3),
        }


@dataclass(frozen=True)
class PencilStyle:
    """How one student holds the pencil: the same for all their marks."""

    width_px: float
    stroke_angle: float
    spacing: float
    hatch_depth: float

    @classmethod
    def draw(cls, rng: np.random.Generator, dpi: float) -> PencilStyle:
        px_per_mm = dpi / MM_PER_INCH
        width = rng.uniform(*PENCIL_WIDTH_MM) * px_per_mm
        # Right-handed fills run mostly diagonal or horizontal.
        angle = rng.choice([rng.normal(0.6, 0.2), rng.normal(0.0, 0.15), rng.normal(1.4, 0.2)])
        return cls(
            width_px=max(1.5, width),
            stroke_angle=float(angle),
            spacing=float(rng.uniform(*STROKE_SPACING)),
            hatch_depth=float(rng.uniform(*HATCH_DEPTH)),
        )


@functools.lru_cache(maxsize=4)
def grain_texture(dpi: float) -> np.ndarray:
    """The paper-tooth texture at ``dpi``: ``(T, T)`` float32 in [0, 1], mean ~0.5."""
    rng = np.random.default_rng(GRAIN_SEED)
    noise = rng.standard_normal((GRAIN_TILE_PX, GRAIN_TILE_PX), dtype=np.float32)
    sigma = max(0.5, GRAIN_SIGMA_MM * dpi / MM_PER_INCH)
    smooth = cv2.GaussianBlur(noise, (0, 0), sigma).astype(np.float32)
    smooth /= smooth.std() + 1e-6
    # Fine fibres plus the tooth: a little of the raw noise stays.
    tex = 0.8 * smooth + 0.35 * noise
    tex = (tex - tex.mean()) / (tex.std() + 1e-6)
    return np.clip(0.5 + 0.22 * tex, 0.0, 1.0).astype(np.float32)


def _grain_window(rng: np.random.Generator, dpi: float, shape: tuple[int, int]) -> np.ndarray:
    tex = grain_texture(dpi)
    h, w = shape
    h, w = min(h, tex.shape[0]), min(w, tex.shape[1])
    y = int(rng.integers(0, tex.shape[0] - h + 1))
    x = int(rng.integers(0, tex.shape[1] - w + 1))
    window = tex[y : y + h, x : x + w]
    if window.shape != shape:  # a patch larger than the tile: tile it
        reps = (-(-shape[0] // h), -(-shape[1] // w))
        window = np.tile(window, reps)[: shape[0], : shape[1]]
    return window


def _streaked(tooth: np.ndarray, angle: float, width_px: float) -> np.ndarray:
    """Smear the grain along the stroke direction: graphite is laid in lines."""
    length = max(3, int(round(width_px * 1.5)) | 1)
    kernel = np.zeros((length, length), np.float32)
    c = (length - 1) / 2
    dx, dy = math.cos(angle) * c, math.sin(angle) * c
    cv2.line(
        kernel,
        (int(round(c - dx)), int(round(c - dy))),
        (int(round(c + dx)), int(round(c + dy))),
        1.0,
        1,
    )
    kernel /= kernel.sum()
    streaked = cv2.filter2D(tooth, -1, kernel, borderType=cv2.BORDER_REFLECT)
    # Filtering averages the grain away: restore its contrast around 0.5.
    spread = float(streaked.std()) + 1e-6
    return np.clip(0.5 + (streaked - 0.5) * np.float32(0.22 / spread), 0.0, 1.0)


def _patch_bounds(
    page_shape: tuple[int, int], cx: float, cy: float, half: float
) -> tuple[slice, slice, np.ndarray, np.ndarray] | None:
    """Slices of the page around ``(cx, cy)`` and local coordinates relative to it."""
    h, w = page_shape
    x0, x1 = max(0, int(math.floor(cx - half))), min(w, int(math.ceil(cx + half)) + 1)
    y0, y1 = max(0, int(math.floor(cy - half))), min(h, int(math.ceil(cy + half)) + 1)
    if x0 >= x1 or y0 >= y1:
        return None
    xs = np.arange(x0, x1, dtype=np.float32) - np.float32(cx)
    ys = np.arange(y0, y1, dtype=np.float32) - np.float32(cy)
    return slice(y0, y1), slice(x0, x1), xs[None, :], ys[:, None]


def composite(page: np.ndarray, sl: tuple[slice, slice], darkness: np.ndarray) -> None:
    """Lay a pencil layer of ``darkness`` (same shape as ``page[sl]``) on ``page``."""
    np.multiply(page[sl], 1.0 - np.clip(darkness, 0.0, MAX_DARKNESS), out=page[sl])


def draw_fill(
    page: np.ndarray,
    cx: float,
    cy: float,
    radius_px: float,
    *,
    darkness: float,
    style: PencilStyle,
    rng: np.random.Generator,
    dpi: float,
    fill_radius: float = 0.95,
    centre_offset: float = CENTRE_OFFSET_SD,
    chord: float | None = None,
    grain: tuple[float, float] = GRAIN_HEAVY,
    erased: bool = False,
) -> float:
    """Fill the bubble at ``(cx, cy)`` (pixels) with pencil; return the core darkness.

    Parameters
    ----------
    page : (H, W) ndarray of float32
        Reflectance, modified in place.
    radius_px : float
        The bubble's printed radius in pixels.
    darkness : float
        Darkness of the graphite layer (0–1) before grain and pressure.
    fill_radius : float
        Radius of the filled outline relative to ``radius_px`` (1.2 overfills).
    chord : float, optional
        Keep only the part of the outline on one side of a random chord at
        this signed distance from the centre (relative to the radius): a
        partial fill.
    erased : bool
        Rub the layer out: streaky, smeared, as a rubber leaves it.
    """
    r_fill = radius_px * fill_radius
    ox, oy = rng.normal(0.0, centre_offset * radius_px, 2)
    half = r_fill * 1.25 + abs(ox) + abs(oy) + 3
    bounds = _patch_bounds(page.shape, cx + ox, cy + oy, half)
    if bounds is None:
        return 0.0
    sy, sx, xs, ys = bounds
    shape = (sy.stop - sy.start, sx.stop - sx.start)
    rho = np.hypot(xs, ys)
    phi = np.arctan2(ys, xs)
    # Outline: the radius wobbles with a few low harmonics.
    outline = np.full(shape, r_fill, dtype=np.float32)
    for k in OUTLINE_HARMONICS:
        outline += np.float32(r_fill * rng.normal(0.0, OUTLINE_WOBBLE_SD)) * np.cos(
            k * phi + np.float32(rng.uniform(0, 2 * np.pi))
        )
    angle = style.stroke_angle + rng.normal(0.0, 0.15)
    tooth = _streaked(_grain_window(rng, dpi, shape), angle, style.width_px)
    # Rough edge: where the graphite stops depends on the tooth too.
    edge = outline - rho + EDGE_ROUGHNESS_PX * (tooth - 0.5) * 2
    coverage = np.clip(edge / EDGE_SOFTNESS_PX + 0.5, 0.0, 1.0)
    if chord is not None:
        theta = rng.uniform(0, 2 * np.pi)
        along = xs * np.float32(math.cos(theta)) + ys * np.float32(math.sin(theta))
        across = -xs * np.float32(math.sin(theta)) + ys * np.float32(math.cos(theta))
        # The hand stops along a wavering, ragged line, not a ruled one.
        waver = np.float32(CHORD_WAVER * radius_px) * np.sin(
            across * np.float32(2 * np.pi / radius_px) + np.float32(rng.uniform(0, 2 * np.pi))
        )
        ragged = chord * radius_px - along + waver + EDGE_ROUGHNESS_PX * (tooth - 0.5) * 2
        coverage *= np.clip(ragged / EDGE_SOFTNESS_PX + 0.5, 0.0, 1.0)
    # Strokes: overlapping lines leave a faint periodic hatch.
    v = -xs * np.float32(math.sin(angle)) + ys * np.float32(math.cos(angle))
    u = xs * np.float32(math.cos(angle)) + ys * np.float32(math.sin(angle))
    period = max(1.0, style.width_px * style.spacing)
    wobble = np.float32(STROKE_WOBBLE * period) * np.sin(
        u * np.float32(2 * np.pi / (radius_px * STROKE_WOBBLE_WAVELENGTH))
        + np.float32(rng.uniform(0, 2 * np.pi))
    )
    hatch = 1.0 - style.hatch_depth * 0.5 * (
        1.0 + np.cos((v + wobble) * np.float32(2 * np.pi / period))
    )
    # Pressure drifts across the mark.
    gx, gy = rng.normal(0.0, PRESSURE_DRIFT / 2, 2)
    pressure = 1.0 + (xs * np.float32(gx) + ys * np.float32(gy)) / np.float32(max(r_fill, 1.0))
    grain_amount = np.float32(rng.uniform(*grain))
    layer = darkness * hatch * pressure * (1.0 - grain_amount * tooth * 2 + grain_amount)
    layer = np.clip(layer, 0.0, 1.0) * coverage
    if erased:
        # A rubber leaves streaks along its stroke and smears the rest.
        streak_angle = rng.uniform(0, np.pi)
        w = xs * np.float32(math.cos(streak_angle)) + ys * np.float32(math.sin(streak_angle))
        period_px = max(3.0, radius_px * ERASER_STREAK_PERIOD)
        streaks = (1.0 - ERASER_STREAK_DEPTH) + ERASER_STREAK_DEPTH * np.sin(
            w * np.float32(2 * np.pi / period_px) + np.float32(rng.uniform(0, 2 * np.pi))
        )
        layer = cv2.GaussianBlur(
            (layer * streaks).astype(np.float32), (0, 0), max(0.8, radius_px * ERASER_SMEAR)
        )
    composite(page, (sy, sx), layer)
    core = rho < r_fill * CORE_FRACTION
    return float(layer[core].mean()) if core.any() else float(layer.max(initial=0.0))


def draw_tick(
    page: np.ndarray,
    cx: float,
    cy: float,
    radius_px: float,
    *,
    darkness: float,
    style: PencilStyle,
    rng: np.random.Generator,
    dpi: float,
) -> float:
    """A check mark (or a single slash) over the bubble instead of a fill."""
    r = radius_px
    if rng.random() < 0.6:
        pts = np.array(
            [[-0.6 * r, 0.0], [-0.15 * r, 0.55 * r], [0.7 * r, -0.75 * r]], dtype=np.float64
        )
    else:
        pts = np.array([[-0.7 * r, 0.6 * r], [0.7 * r, -0.6 * r]], dtype=np.float64)
    pts += rng.normal(0.0, 0.08 * r, pts.shape)
    draw_stroke_path(
        page, pts + (cx, cy), width_px=style.width_px, darkness=darkness, rng=rng, dpi=dpi
    )
    return darkness


def draw_stroke_path(
    page: np.ndarray,
    points: np.ndarray,
    *,
    width_px: float,
    darkness: float,
    rng: np.random.Generator,
    dpi: float,
    grain: tuple[float, float] = GRAIN_HEAVY,
) -> None:
    """A pencil line through ``points`` ((K, 2) pixel coordinates)."""
    pts = np.asarray(points, dtype=np.float64)
    margin = width_px + 3
    x0, y0 = np.floor(pts.min(axis=0) - margin).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0) + margin).astype(int)
    h, w = page.shape
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x0 >= x1 or y0 >= y1:
        return
    shape = (y1 - y0, x1 - x0)
    canvas = np.zeros(shape, dtype=np.float32)
    shift = 4
    local = np.round((pts - (x0, y0)) * (1 << shift)).astype(np.int32)
    cv2.polylines(canvas, [local], False, 1.0, max(1, int(round(width_px))), cv2.LINE_AA, shift)
    tooth = _grain_window(rng, dpi, shape)
    amount = np.float32(rng.uniform(*grain))
    layer = canvas * np.float32(darkness) * np.clip(1.0 - amount * tooth * 2 + amount, 0.0, 1.2)
    composite(page, (slice(y0, y1), slice(x0, x1)), layer)


def draw_smudge(
    page: np.ndarray,
    cx: float,
    cy: float,
    *,
    sigma_px: float,
    darkness: float,
    rng: np.random.Generator,
    dpi: float,
) -> None:
    """A graphite smear from the side of a hand: a soft, elongated, uneven cloud."""
    half = 3 * sigma_px
    bounds = _patch_bounds(page.shape, cx, cy, half)
    if bounds is None:
        return
    sy, sx, xs, ys = bounds
    angle = rng.uniform(0, np.pi)
    c, s = np.float32(math.cos(angle)), np.float32(math.sin(angle))
    u = (xs * c + ys * s) / np.float32(sigma_px)
    v = (-xs * s + ys * c) / np.float32(sigma_px * rng.uniform(0.3, 0.6))
    cloud = np.exp(-0.5 * (u * u + v * v))
    shape = cloud.shape
    tooth = _grain_window(rng, dpi, shape)
    layer = np.float32(darkness) * cloud * (0.6 + 0.8 * tooth)
    composite(page, (sy, sx), layer.astype(np.float32))


@functools.lru_cache(maxsize=256)
def _glyph_mask(char: str, size_px: int) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=size_px)
    side = int(size_px * 1.6) + 4
    canvas = Image.new("L", (side, side), 0)
    ImageDraw.Draw(canvas).text((side / 2, side / 2), char, fill=255, font=font, anchor="mm")
    return np.asarray(canvas, dtype=np.float32) / 255.0


def draw_glyph(
    page: np.ndarray,
    char: str,
    cx: float,
    cy: float,
    *,
    height_px: float,
    darkness: float,
    style: PencilStyle,
    rng: np.random.Generator,
    dpi: float,
) -> None:
    """A hand-printed character in a write-in box, centred near ``(cx, cy)``."""
    if not char.strip():
        return
    mask = _glyph_mask(char, max(6, int(round(height_px))))
    side = mask.shape[0]
    # A hand: slanted, rotated, a little too big or small, off-centre.
    rot = rng.normal(0.0, 6.0)
    scale = rng.uniform(0.85, 1.1)
    shear = rng.normal(0.15, 0.08)
    m = cv2.getRotationMatrix2D((side / 2, side / 2), rot, scale)
    m[0, 1] += -shear
    m[0, 2] += shear * side / 2
    warped = cv2.warpAffine(mask, m, (side, side), flags=cv2.INTER_LINEAR)
    # Pencil strokes are wider than the font's: thicken to the pencil width.
    k = max(1, int(round(style.width_px * 0.6)))
    if k > 1:
        warped = cv2.dilate(warped, np.ones((k, k), np.uint8))
    jx, jy = rng.normal(0.0, 0.06 * side, 2)
    x0 = int(round(cx + jx - side / 2))
    y0 = int(round(cy + jy - side / 2))
    h, w = page.shape
    ax0, ay0 = max(0, x0), max(0, y0)
    ax1, ay1 = min(w, x0 + side), min(h, y0 + side)
    if ax0 >= ax1 or ay0 >= ay1:
        return
    crop = warped[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0]
    tooth = _grain_window(rng, dpi, crop.shape)
    layer = crop * np.float32(darkness) * (1.3 - 0.6 * tooth)
    composite(page, (slice(ay0, ay1), slice(ax0, ax1)), layer)
