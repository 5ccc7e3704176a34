"""The bubble kernel: how dark is every bubble of a sheet, and is it a mark.

Reading is one vectorised pass over all N bubbles of the template (no Python
loop per bubble, no warp of the page):

1. :func:`sampling_pattern` (once per template and dpi, cached) places K
   points around every bubble, in template pixels: ``INNER_POINTS`` on a
   sunflower spiral inside the printed ring, off the printed option letter;
   ``CENTRE_POINTS`` in its centre (where a dot lands); ``PAPER_POINTS`` in
   the paper diagonally beside it; and a *halo* just outside the ring, in
   the middle of the clean paper along ``HALO_POINTS`` directions.
2. :func:`measure_darkness` maps the ``(N, K, 2)`` points through the
   registration's homography (one ``cv2.perspectiveTransform``), samples the
   scan with one ``cv2.remap`` (bilinear), and reduces along K: point
   darkness ``(paper - gray) / (paper - ink)`` (0 on the local paper, 1 as
   black as the fiducials), then per bubble the mean (``darkness``), the
   darkest quarter (``quarter``: a fill, a partial fill, a tick), the
   darkest centre points (``core``: a dot), the rest (``body``) and the halo
   (a pencil line running into the bubble).  Each feature is measured from
   the blank level of the bubbles printed alike (same option letter and
   size) on the same sheet, which absorbs what the scanner did to the
   printed letter (blur, a 1-bit threshold filling its counters).
3. :func:`mark_evidence` combines them into one number per bubble,
   :func:`classify` puts it in a confidence band (blank-sure, blank-unsure,
   marked-unsure, marked-sure; the bands differ for 1-bit scans) and
   :func:`decide_items` decides each question/column from its bubbles
   together: a bubble is a mark when it is dark enough *and* close enough
   to the darkest bubble of its item (erasure residue much lighter than the
   chosen mark is not a mark); anything near a boundary makes the item unsure.

>>> from ljun.calibration import load_calibration
>>> cal = load_calibration().read
>>> evidence = np.array([[0.02, 0.85, 0.01, 0.03, 0.0]], np.float32)
>>> decision = decide_items(evidence, cal.gray, cal)
>>> decision.choice.tolist(), decision.count.tolist(), decision.unsure.tolist()
([1], [1], [False])
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from ._cache import cached_arrays
from .calibration import Bands, ReadCalibration
from .register import Registration, sample_at, sample_scan, scan_positions
from .render import render_image
from .template import BubbleGeometry, Template

__all__ = [
    "BLANK_SURE",
    "BLANK_UNSURE",
    "MARKED_UNSURE",
    "MARKED_SURE",
    "BAND_NAMES",
    "INNER_POINTS",
    "PAPER_POINTS",
    "SamplingPattern",
    "BubbleDarkness",
    "ItemDecision",
    "sampling_pattern",
    "measure_darkness",
    "mark_evidence",
    "classify",
    "decide_items",
    "bands_for",
    "is_bilevel",
    "is_dithered",
    "ScanKind",
    "scan_kind",
]

#: Confidence bands of a bubble (values of :attr:`BubbleDarkness.band`).
BLANK_SURE, BLANK_UNSURE, MARKED_UNSURE, MARKED_SURE = 0, 1, 2, 3
BAND_NAMES = ("blank_sure", "blank_unsure", "marked_unsure", "marked_sure")

#: Sample points inside each bubble, on paper the printed option letter leaves
#: clean, spread evenly over a disc: their mean is the bubble's ``darkness``.
#: 48 points average scanner noise to about 1/7 of its per-pixel amplitude.
INNER_POINTS = 48
#: Clean points in the bubble's centre (0.4 r), where a student's dot lands
#: and every tick or slash passes; a pencil line grazing the ring does not
#: reach them.  The smallest dot (0.45 mm radius) covers at least 6.
CENTRE_POINTS = 24
# The inner points are chosen from this many spiral points (about 30 % of
# them fall on the option letter).
INNER_CANDIDATES = 160
# The inner points fill a disc of this fraction of the bubble radius: the printed
# ring (0.3 mm stroke) starts at 0.92 r; 0.72 r leaves 0.3-0.4 mm for blur and
# registration error at every supported dpi.  The centre points fill 0.4 r.
INNER_RADIUS_FRACTION = 0.72
CENTRE_RADIUS_FRACTION = 0.4
#: Paper points beside each bubble: 4 diagonals x 2 distances.  Bubbles are
#: 5-6 mm apart in rows and columns, so the diagonals are where the paper is.
PAPER_POINTS = 8
# Distances of the paper points from the bubble centre, in bubble radii: past
# an overfilled mark (about 1.25 r) and short of the diagonal neighbour.
PAPER_RADII = (1.45, 1.65)
#: Halo points on a circle just outside the printed ring: a stray pencil line
#: through a bubble crosses it, a tick or a dot inside the bubble does not.
#: 40 points are 0.4 mm apart, less than a pencil line is wide.
HALO_POINTS = 40
# Two halo rings, at 1/3 and 2/3 of the clean paper outside the ring: a light
# line broken into dashes by a 1-bit threshold still darkens one of them.
HALO_RING_FRACTIONS = (1.0 / 3.0, 2.0 / 3.0)
#: A halo direction counts as touched by a line when at least this dark, and
#: at least half as dark as the darkest direction.
HALO_TOUCH_MIN = 0.15
# Each halo point sits in the middle of the clean paper found along its
# direction between these distances (bubble radii) from the centre, and no
# further than HALO_MAX_FRACTION: identity bubbles are only 0.7 mm apart
# ring to ring, answers more in some directions.
HALO_SEARCH = (1.0, 1.8)
HALO_SEARCH_STEP = 0.02
HALO_MAX_FRACTION = 1.4
#: The darkest this many centre points make a bubble's ``core`` darkness: a
#: dot or a tick is dark in a small part of the bubble only.
CORE_POINTS = 6
# Render gray below which the blank form counts as printed ink.
PAPER_CLEAN_MIN_GRAY = 245
# Printed ink is grown by this many pixels (at FORM_DPI, 0.13 mm each) before
# choosing clean points: registration error and scanner blur.
FORM_INK_GROW_PX = 1
# Resolution the blank form is measured at.
FORM_DPI = 200
# Local paper darker than the page's paper by more than this fraction is not
# paper (a stray line or a neighbour's overfill on the paper points): the
# page's paper level is used instead.  Lamp fall-off stays within 10 %.
PAPER_LOCAL_MAX_DROP = 0.2
#: The blank level of a group of alike bubbles is this quantile of the
#: darkness of GROUP_SAMPLE of them, spread over the group: robust while up
#: to 3/4 of them are marked (an option chosen in most questions, a letter in
#: most name columns).
BLANK_QUANTILE = 0.25
GROUP_SAMPLE = 8
#: A group's blank level is at most this much darker than the whole sheet's
#: (darkness): the most a printed letter's counters filled by a 1-bit
#: threshold add, and less than any pencil mark adds.
GROUP_LEVEL_MAX_EXCESS = 0.35
_GOLDEN_RATIO = (np.sqrt(5.0) - 1.0) / 2.0
# A scan is black and white when fewer than this fraction of its pixels, on a
# grid of every BILEVEL_PROBE_STEP-th pixel, are neither 0 nor 255.
BILEVEL_MAX_GRAY_FRACTION = 0.001
BILEVEL_PROBE_STEP = 7
#: :func:`is_bilevel` counts the middle ``1 / BILEVEL_BANDS`` of the grid's rows first.
BILEVEL_BANDS = 8
#: A 1-bit scan is dithered (error diffusion) when isolated pixels (black
#: with its 4 neighbours white, or white with its 4 neighbours black),
#: counted on every DITHER_PROBE_ROWS-th row, are at least this fraction of
#: its black pixels.  Generated scans, 150-300 dpi, moderate and hard:
#: threshold and adaptive B/W modes <= 0.16 and dithered >= 0.30 on 320
#: sheets (every 3rd row); on 294 more (seeds 83-85) <= 0.216 (one noisy
#: 150-dpi hard sheet; the next 0.14) and >= 0.331.  The edge sits in the
#: middle of that gap.  Every 9th row is enough and three times cheaper
#: (3 ms to 1 ms a 200-dpi page): on those 294 sheets the fraction moved by
#: at most 0.02 and no page changed side.
DITHER_ISOLATED_MIN = 0.26
DITHER_PROBE_ROWS = 9
#: A dithered scan is averaged over a box of this size (mm, at least 3
#: pixels, odd) before it is sampled: its dot density is its darkness.
DITHER_SMOOTH_MM = 0.4
#: A dot under a faint line (or dither dots in its halo) is told from the
#: line by its centre: darker than the halo by at least 1/this.  The lines
#: crossing a centre in tests/test_read.py have centre/halo <= 1.08; the
#: dot of bench_read seed 5102 (hard, dithered) had 1.47.
SPILL_CENTRE_RATIO = 0.75
#: In a bubble a line runs into, a centre at least this many times as dark
#: as the darkest quarter is a dot of its own (unsure, never a sure blank):
#: a line across the centre darkens the quarter along its path as much
#: (tests/test_read.py: centre/quarter <= 1.17); the dot grazed by a line in
#: bench_read seed 5101 (hard, 1-bit adaptive) had 1.84.
DOT_CENTRE_OVER_QUARTER = 1.5
#: Strokes touching up to this many times ``line_contact_max`` halo
#: directions, with the rest of the bubble blank, may be lines too (see
#: :func:`mark_evidence`): never a sure mark.
NEAR_LINE_CONTACT_FACTOR = 2
#: A gray scan whose paper reads at least this level (of 255) has its paper
#: clipped to white: the scanner's background removal puts the white point
#: a little under the paper, so paper and its noise read 255 and a faint
#: mark loses the first part of its darkness with them.  Generated hard and
#: moderate 200-dpi gray scans (seeds 8701-8706): clipped paper 254-255,
#: unclipped at most 242.5.
CLIPPED_PAPER_MIN = 250.0
#: On such a scan the kernel is sure of a blank only this far under
#: ``blank_sure_max`` (:func:`mark_evidence`).  Hard 200-dpi gray, seeds
#: 8701-8706 (1,200 sheets, 362 clipped): on clipped scans light fills read
#: from 0.172 (evidence; 7 of 1,489 at or under the gray ``blank_sure_max``
#: of 0.20, all above 0.15), on the others from 0.237; erasure residue reads
#: 0.07 lower at the median (calibration/README.md, ninth round).
CLIPPED_BLANK_DROP = 0.05
# Golden angle (radians) of the sunflower spiral: evenly spread points.
_GOLDEN_ANGLE = np.pi * (3.0 - np.sqrt(5.0))
# Smallest paper-to-ink contrast (gray levels) used as the darkness scale, so
# that a washed-out scan cannot divide by almost zero.
MIN_CONTRAST = 32.0
# Darkest bubble of an item below this counts as 'no mark at all' for ratios.
_RATIO_FLOOR = 1e-3


@dataclass(frozen=True, eq=False)
class SamplingPattern:
    """Sample points of every bubble of a template, in template pixels.

    Attributes
    ----------
    geometry : BubbleGeometry
        The geometry the points belong to (its dpi is the points' scale).
    points : (N, K, 2) ndarray of float32
        Per bubble, in this order: ``INNER_POINTS`` inner points and
        ``CENTRE_POINTS`` centre points (clean paper inside the ring),
        ``PAPER_POINTS`` paper points beside the bubble, ``HALO_POINTS``
        halo points just outside the ring.
    group : (N,) ndarray of intp
        Bubbles printed alike (same option label, same size) share a group:
        the scan treats their printed letter alike, so the group's blank
        level is measured on every sheet (see :func:`measure_darkness`).
    members : (G, GROUP_SAMPLE) ndarray of intp
        Bubbles of each group the halo's blank level is measured on, spread
        over the group.
    """

    geometry: BubbleGeometry
    points: np.ndarray
    group: np.ndarray
    members: np.ndarray

    @property
    def inner(self) -> slice:
        return slice(0, INNER_POINTS)

    @property
    def core(self) -> slice:
        return slice(INNER_POINTS, INNER_POINTS + CENTRE_POINTS)

    @property
    def paper(self) -> slice:
        start = INNER_POINTS + CENTRE_POINTS
        return slice(start, start + PAPER_POINTS)

    @property
    def halo(self) -> slice:
        start = INNER_POINTS + CENTRE_POINTS + PAPER_POINTS
        return slice(start, start + HALO_POINTS * len(HALO_RING_FRACTIONS))


@dataclass(frozen=True, eq=False)
class BubbleDarkness:
    """Darkness of every bubble of one sheet, in geometry order.

    Darkness is 0 on the paper and 1 as black as the sheet's fiducials; every
    feature is measured from the sheet's blank level (the median bubble).

    Attributes
    ----------
    darkness : (N,) ndarray of float32
        Mean darkness over the bubble's clean inner points: the share of the
        bubble a mark covers times how dark it is.
    core : (N,) ndarray of float32
        Mean darkness of the ``CORE_POINTS`` darkest centre points: high for
        a dot or a tick too, which cover little of the bubble.
    quarter : (N,) ndarray of float32
        Mean darkness of the darkest quarter of the inner points: high for a
        partial fill (a firm mark over part of the bubble), unlike erasure
        residue, which is faint all over.
    body : (N,) ndarray of float32
        Mean darkness of the other three quarters of the inner points: paper
        beside a line or a tick, pencil where the bubble is filled.
    halo : (N,) ndarray of float32
        Darkness of the darkest direction of the halo (just outside the
        ring): a pencil line running into or through the bubble, or a mark
        spilling over its ring; about 0 for a tick, a dot or a fill.
    halo_contact : (N,) ndarray of int16
        Number of the ``HALO_POINTS`` directions the darkness touches: a line
        crossing touches a few, a spilled fill many.
    inside : (N,) ndarray of bool
        The bubble lies on the scanned image.
    paper : (N,) ndarray of float32
        Paper gray level beside each bubble.
    bilevel : bool
        The scan is black and white (1-bit): pencil and print were
        thresholded, which calls for other confidence bands.
    dithered : bool
        A 1-bit scan made by error diffusion: its dot density was measured
        (the scan smoothed by ``DITHER_SMOOTH_MM`` first), which calls for
        the ``dithered`` bands.
    paper_clipped : bool
        A gray scan whose paper is clipped to white (``CLIPPED_PAPER_MIN``):
        faint marks read lighter (see :func:`mark_evidence`).
    """

    darkness: np.ndarray
    core: np.ndarray
    quarter: np.ndarray
    body: np.ndarray
    halo: np.ndarray
    halo_contact: np.ndarray
    inside: np.ndarray
    paper: np.ndarray
    bilevel: bool
    dithered: bool = False
    paper_clipped: bool = False

    @property
    def thresholded(self) -> bool:
        """A 1-bit scan made by a threshold, fixed or adaptive (not
        dithered): pencil and print are black or white, with no dot density
        to read them through."""
        return self.bilevel and not self.dithered


@dataclass(frozen=True, eq=False)
class ItemDecision:
    """Decisions for the items (questions or columns) of one field.

    Attributes
    ----------
    marked : (I, O) ndarray of bool
        Bubbles taken as marks.
    count : (I,) ndarray of int
        Marks per item (0 blank, 1 a choice, 2+ multiple).
    choice : (I,) ndarray of int
        Option index of the darkest bubble (meaningful when ``count == 1``).
    unsure : (I,) ndarray of bool
        Some bubble of the item is near a decision boundary (or off the scan).
    confidence : (I, O) ndarray of float32
        Per bubble: 1 when sure, down to 0 on a decision boundary.
    """

    marked: np.ndarray
    count: np.ndarray
    choice: np.ndarray
    unsure: np.ndarray
    confidence: np.ndarray


def _spiral(n: int) -> np.ndarray:
    k = np.arange(n, dtype=np.float64)
    radius = np.sqrt((k + 0.5) / n)
    angle = k * _GOLDEN_ANGLE
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])


def sampling_pattern(template: Template, dpi: float = FORM_DPI) -> SamplingPattern:
    """Sample points and blank-form darkness for ``template`` at ``dpi`` (cached)."""
    return _sampling_pattern(template, float(dpi))


@functools.lru_cache(maxsize=8)
def _sampling_pattern(template: Template, dpi: float) -> SamplingPattern:
    # Built once per machine (ljun._cache): 0.15-0.2 s of every run and worker otherwise.
    arrays = cached_arrays(
        "sampling-pattern",
        (template, dpi),
        lambda: _pattern_arrays(template, dpi),
        modules=_PATTERN_MODULES,
    )
    return SamplingPattern(
        geometry=template.geometry(dpi),
        points=arrays["points"],
        group=arrays["group"],
        members=arrays["members"],
    )


# The code the sampling pattern comes from (its cache key, see ljun._cache).
_PATTERN_MODULES = ("read.py", "render.py", "template.py", "_cache.py")


def _pattern_arrays(template: Template, dpi: float) -> dict[str, np.ndarray]:
    """The arrays of :class:`SamplingPattern`: ``points``, ``group``, ``members``."""
    geometry = template.geometry(dpi)
    centres = geometry.centres
    radii = geometry.radii
    form = render_image(template, FORM_DPI)
    # Printed ink, grown by the registration and blur tolerance.
    grow = 2 * FORM_INK_GROW_PX + 1
    ink = cv2.dilate(
        (form < PAPER_CLEAN_MIN_GRAY).astype(np.uint8), np.ones((grow, grow), np.uint8)
    )

    def clean_points(unit: np.ndarray, count: int) -> np.ndarray:
        """``count`` points per bubble from ``unit`` (M, 2) offsets in radii, off the print."""
        candidates = centres[:, None, :] + radii[:, None, None] * unit[None, :, :]
        pixel = np.rint(_to_form_pixels(candidates, dpi)).astype(np.intp)
        x = np.clip(pixel[..., 0], 0, form.shape[1] - 1)
        y = np.clip(pixel[..., 1], 0, form.shape[0] - 1)
        clean = ink[y, x] == 0
        chosen = np.empty((len(centres), count, 2))
        for i in range(len(centres)):  # once per template and dpi, not in the kernel
            good = np.flatnonzero(clean[i])
            if len(good) == 0:
                good = np.arange(len(unit))
            # Evenly through the candidates' order (spiral or angle), repeating if short.
            pick = good[np.floor(np.arange(count) * len(good) / count).astype(np.intp)]
            chosen[i] = candidates[i, pick]
        return chosen

    inner = clean_points(_spiral(INNER_CANDIDATES) * INNER_RADIUS_FRACTION, INNER_POINTS)
    # The centre points cover the option letter too: a dot lands on it.  The
    # letter's own darkness is the group's blank level (see measure_darkness).
    centre_unit = _spiral(CENTRE_POINTS) * CENTRE_RADIUS_FRACTION
    centre = centres[:, None, :] + radii[:, None, None] * centre_unit[None, :, :]
    diagonals = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], dtype=np.float64) / np.sqrt(2.0)
    paper_unit = np.concatenate([r * diagonals for r in (*PAPER_RADII, 1.35, 1.8)])
    # Prefer the PAPER_RADII distances: take clean points in this order, first PAPER_POINTS.
    paper = _first_clean(centres, radii, paper_unit, PAPER_POINTS, ink, form.shape, dpi)
    halo = _halo_points(centres, radii, ink, form.shape, dpi)
    points = np.concatenate([inner, centre, paper, halo], axis=1).astype(np.float32)
    kinds = [(label, round(float(r), 1)) for label, r in zip(geometry.option, radii)]
    names = sorted(set(kinds))
    group = np.array([names.index(k) for k in kinds], dtype=np.intp)
    members = np.empty((len(names), GROUP_SAMPLE), dtype=np.intp)
    # Spread by the golden ratio, not evenly: an even stride can fall in step
    # with a pattern of answers (A, B, C, D, E, A, ...) and pick only marks.
    spread = np.mod(np.arange(GROUP_SAMPLE) * _GOLDEN_RATIO, 1.0)
    for g in range(len(names)):
        bubbles = np.flatnonzero(group == g)
        members[g] = bubbles[np.floor(spread * len(bubbles)).astype(np.intp)]
    return {"points": points, "group": group, "members": members}


def _halo_points(centres, radii, ink, shape, dpi) -> np.ndarray:
    """``HALO_POINTS`` directions around each bubble, one point per direction
    and halo ring: each ring at a fraction (``HALO_RING_FRACTIONS``) of the
    clean paper between the bubble's ring and the next print that way."""
    angles = np.linspace(0.0, 2.0 * np.pi, HALO_POINTS, endpoint=False)
    direction = np.column_stack([np.cos(angles), np.sin(angles)])  # (A, 2)
    steps = np.arange(HALO_SEARCH[0], HALO_SEARCH[1] + 1e-9, HALO_SEARCH_STEP)  # (S,)
    rays = (
        centres[:, None, None, :]
        + radii[:, None, None, None] * steps[None, None, :, None] * direction[None, :, None, :]
    )  # (N, A, S, 2)
    pixel = np.rint(_to_form_pixels(rays, dpi)).astype(np.intp)
    x = np.clip(pixel[..., 0], 0, shape[1] - 1)
    y = np.clip(pixel[..., 1], 0, shape[0] - 1)
    clean = ink[y, x] == 0  # (N, A, S)
    # First clean step after the ring, then the end of that clean run.
    first = np.argmax(clean, axis=2)
    after = np.arange(len(steps))[None, None, :] >= first[..., None]
    blocked = after & ~clean
    end = np.where(blocked.any(axis=2), np.argmax(blocked, axis=2), len(steps))
    last = np.minimum(end - 1, np.searchsorted(steps, HALO_MAX_FRACTION))
    rings = []
    for fraction in HALO_RING_FRACTIONS:
        at = np.rint(first + fraction * np.maximum(last - first, 0)).astype(np.intp)
        radius = np.where(clean.any(axis=2), steps[np.clip(at, 0, len(steps) - 1)], 1.3)
        rings.append(
            centres[:, None, :] + radii[:, None, None] * radius[..., None] * direction[None, :, :]
        )
    return np.concatenate(rings, axis=1)


def _first_clean(centres, radii, unit, count, ink, shape, dpi) -> np.ndarray:
    candidates = centres[:, None, :] + radii[:, None, None] * unit[None, :, :]
    pixel = np.rint(_to_form_pixels(candidates, dpi)).astype(np.intp)
    x = np.clip(pixel[..., 0], 0, shape[1] - 1)
    y = np.clip(pixel[..., 1], 0, shape[0] - 1)
    clean = ink[y, x] == 0
    chosen = np.empty((len(centres), count, 2))
    for i in range(len(centres)):
        good = [int(g) for g in np.flatnonzero(clean[i])] or list(range(len(unit)))
        chosen[i] = candidates[i, (good * count)[:count]]
    return chosen


def _to_form_pixels(points: np.ndarray, dpi: float) -> np.ndarray:
    # Pixel centres sit at integer coordinates: x_px = x_mm * dpi / 25.4 - 0.5.
    return (points + 0.5) * (FORM_DPI / dpi) - 0.5


def measure_darkness(
    image: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    *,
    kind: ScanKind | None = None,
) -> BubbleDarkness:
    """Darkness of every bubble of the sheet, in one vectorised pass.

    Parameters
    ----------
    image : (H, W) ndarray of uint8
        The scan.
    registration : Registration
        Its homography maps ``pattern.geometry`` pixels onto ``image``.
        When it carries the scan at ``pattern.points`` already
        (``register(..., sample_points=pattern.points)``), those samples are
        used instead of sampling the page again.
    pattern : SamplingPattern
        From :func:`sampling_pattern` for the same geometry.
    kind : ScanKind, optional
        :func:`scan_kind` of ``image``, when the caller knows it already.

    Returns
    -------
    BubbleDarkness
    """
    bilevel, dithered = kind if kind is not None else scan_kind(image)
    sampled = registration.sampled
    if dithered:
        size = max(3, int(round(DITHER_SMOOTH_MM * registration.dpi / 25.4)) | 1)
        scan_points = scan_positions(registration.homography, pattern.points)
        gray_levels = _blurred_samples(image, scan_points, size)
    elif sampled is not None and sampled.points is pattern.points:
        scan_points, gray_levels = sampled.scan, sampled.gray
    else:
        scan_points, gray_levels = sample_scan(image, registration.homography, pattern.points)
    map_x, map_y = scan_points[..., 0], scan_points[..., 1]
    gray = gray_levels.astype(np.float32)  # (N, K)
    page_paper = np.float32(registration.paper_level)
    # Median of the paper points: robust to a neighbour's overfill or a stray mark.
    paper = np.maximum(
        _row_median(gray[:, pattern.paper]), page_paper * (1.0 - PAPER_LOCAL_MAX_DROP)
    )
    contrast = np.maximum(paper - np.float32(registration.ink_level), MIN_CONTRAST)
    # (paper - gray) / contrast, in gray's buffer (no other use of it is left).
    point_darkness = np.subtract(paper[:, None], gray, out=gray)  # (N, K)
    point_darkness /= contrast[:, None]
    mean = point_darkness[:, pattern.inner].mean(axis=1)
    core = _darkest_mean(point_darkness[:, pattern.core], CORE_POINTS)
    quarter = _darkest_mean(point_darkness[:, pattern.inner], INNER_POINTS // 4)
    # The other three quarters: paper beside a line or a tick, pencil in a fill.
    body = (mean * INNER_POINTS - quarter * (INNER_POINTS // 4)) / (
        INNER_POINTS - INNER_POINTS // 4
    )
    # Most bubbles printed alike are blank: a low quantile of their group is
    # how this scan shows a blank one (letter counters filled by a 1-bit
    # threshold, rings thickened by blur ...).
    features = np.stack([mean, core, quarter, body])
    darkness, core, quarter, body = (features - _group_levels(features, pattern)).astype(np.float32)
    # The halo point by point (a blurred neighbour ring darkens the same
    # points of every bubble of a group), then per direction the darker ring.
    halo_points = point_darkness[:, pattern.halo]
    halo_points -= _group_point_level(halo_points, pattern)
    directions = _darker_ring(halo_points)
    halo = directions.max(axis=1)
    touched = directions >= np.maximum(0.5 * halo, HALO_TOUCH_MIN)[:, None]
    halo_contact = touched.sum(axis=1).astype(np.int16)
    height, width = image.shape
    centre_x = map_x[:, pattern.inner].mean(axis=1)
    centre_y = map_y[:, pattern.inner].mean(axis=1)
    inside = (centre_x >= 0) & (centre_x <= width - 1) & (centre_y >= 0) & (centre_y <= height - 1)
    return BubbleDarkness(
        darkness=darkness,
        core=core,
        quarter=quarter,
        body=body,
        halo=halo.astype(np.float32),
        halo_contact=halo_contact,
        inside=inside,
        paper=paper.astype(np.float32),
        bilevel=bilevel,
        dithered=dithered,
        paper_clipped=not bilevel and registration.paper_level >= CLIPPED_PAPER_MIN,
    )


def _darker_ring(halo_points: np.ndarray) -> np.ndarray:
    """Per halo direction the darker of the halo rings, (N, HALO_POINTS) from
    (N, rings * HALO_POINTS): ``reshape(N, rings, HALO_POINTS).max(axis=1)``
    as ``np.maximum`` of the rings in the same order, the same values (a
    reduction over an axis of two runs element by element: 66 -> 20 us)."""
    rings = halo_points.reshape(len(halo_points), len(HALO_RING_FRACTIONS), HALO_POINTS)
    return functools.reduce(np.maximum, rings.transpose(1, 0, 2))


def _blurred_samples(image: np.ndarray, scan: np.ndarray, size: int) -> np.ndarray:
    """The scan averaged over ``size`` x ``size`` boxes, at ``scan`` positions
    (P, M, 2): ``sample_at(cv2.blur(image, (size, size)), scan)``, but only
    the part of the page the samples reach is averaged (the bubbles' box:
    half a 200-dpi page, 1 ms less a dithered sheet).  The same samples: the
    box reaches half a box and a pixel beyond every pixel a sample reads, so
    no sample reads its edges (unless they are the page's), and its corner
    is whole pixels from the page's, so the positions shift exactly.

    Returns
    -------
    (P, M) ndarray of uint8
    """
    height, width = image.shape
    reach = size // 2 + 2  # half a box, and the bilinear sample's next pixel
    x, y = scan[..., 0], scan[..., 1]
    x0, x1 = _reached(x.min(), x.max(), reach, width)
    y0, y1 = _reached(y.min(), y.max(), reach, height)
    if x1 - x0 < size or y1 - y0 < size:  # (almost) off the page
        return sample_at(cv2.blur(image, (size, size)), scan)
    blurred = cv2.blur(image[y0:y1, x0:x1], (size, size))
    # (x, y) - (x0, y0) per position, one pass (numpy's broadcast over the
    # pairs takes 30 times longer); opencv-python's stubs lack the scalar form.
    shifted = cv2.subtract(scan, (float(x0), float(y0), 0.0, 0.0))  # type: ignore[call-overload]
    return sample_at(blurred, shifted)


def _reached(low: float, high: float, reach: int, length: int) -> tuple[int, int]:
    """Pixels ``low - reach`` to ``high + reach`` (ends rounded out) within
    ``0 .. length``, as a slice's start and stop; the whole length when the
    positions are not finite."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return 0, length
    start = int(min(max(np.floor(low) - reach, 0), length))
    return start, int(min(max(np.ceil(high) + reach + 1, start), length))


def _group_levels(features: np.ndarray, pattern: SamplingPattern) -> np.ndarray:
    """The blank level of each bubble's group, per bubble, for (F, N) features.

    The ``BLANK_QUANTILE`` of the whole group (robust while up to 3/4 of it
    is marked), but never more than ``GROUP_LEVEL_MAX_EXCESS`` above the
    sheet's own blank level: a group marked almost everywhere (a student who
    answered C to nearly every question) keeps its marks.  All features are
    sorted group by group in one call (:func:`_group_slots`).
    """
    slots, rank = _group_slots(pattern)
    padded = np.concatenate([features, np.full((len(features), 1), np.inf, features.dtype)], axis=1)
    ordered = np.sort(padded[:, slots], axis=2)  # (F, G, M)
    level = ordered[:, np.arange(len(rank)), rank]  # (F, G)
    # The sheet's blank level: the typical group's (most groups are mostly blank).
    sheet = _row_median(level)[:, None]
    return np.minimum(level, sheet + GROUP_LEVEL_MAX_EXCESS)[:, pattern.group]


@functools.lru_cache(maxsize=8)
def _group_slots(pattern: SamplingPattern) -> tuple[np.ndarray, np.ndarray]:
    """Each group's bubbles as a row, and the rank of its blank level.

    Returns ``slots`` (G, M) of intp, the bubbles of group g in row g padded
    with N (one past the last bubble: :func:`_group_levels` puts +inf there,
    so padding sorts last), and ``rank`` (G,) of intp, the position of the
    ``BLANK_QUANTILE`` in each sorted row.
    """
    group = pattern.group
    counts = np.bincount(group, minlength=len(pattern.members))
    slots = np.full((len(counts), int(counts.max())), len(group), dtype=np.intp)
    order = np.argsort(group, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    column = np.arange(len(group)) - np.repeat(starts, counts)
    slots[group[order], column] = order
    rank = np.floor(BLANK_QUANTILE * np.maximum(counts - 1, 0)).astype(np.intp)
    return slots, rank


def _group_point_level(values: np.ndarray, pattern: SamplingPattern) -> np.ndarray:
    """Like :func:`_group_levels` for (N, M) point darkness, column by column,
    from the group's ``GROUP_SAMPLE`` sample members (cheaper)."""
    sample = values[pattern.members.T]  # (S, G, M): member by member
    rank = int(BLANK_QUANTILE * (GROUP_SAMPLE - 1))
    level = smallest_in_order(sample, rank + 1)[rank]
    sheet = _row_median(level.T)
    return np.minimum(level, sheet + GROUP_LEVEL_MAX_EXCESS)[pattern.group]


def smallest_in_order(layers: np.ndarray, count: int) -> list[np.ndarray]:
    """The ``count`` smallest of each place across the ``layers`` of a
    (L, ...) array without NaN, in order: ``list(np.sort(layers,
    axis=0)[:count])``, the same values (``np.minimum`` and ``np.maximum``
    give one of their operands), by inserting layer after layer into the
    smallest so far.  On a few layers of many places this is a quarter of
    the time of a sort or partition across them (:func:`_group_point_level`,
    :func:`ljun._closer_look.closer_patches`).

    >>> [a.tolist() for a in smallest_in_order(np.array([[3.0, 0.0], [1.0, 5.0], [2.0, 4.0]]), 2)]
    [[1.0, 0.0], [2.0, 4.0]]
    """
    smallest = [layers[0]]
    for layer in layers[1:]:
        carried = layer
        for place, kept in enumerate(smallest):
            smallest[place] = np.minimum(kept, carried)
            carried = np.maximum(kept, carried)
        if len(smallest) < count:
            smallest.append(carried)
    return smallest


def _row_median(values: np.ndarray) -> np.ndarray:
    """Median of each row of a (N, M) array: ``np.median(values, axis=1)``
    by one sort of the short rows (three times faster), for values without
    NaN (the mean of the middle two in the values' own dtype, as there).

    >>> _row_median(np.array([[3.0, 1.0, 2.0, 9.0]])).tolist()
    [2.5]
    """
    ordered = np.sort(values, axis=1)
    middle = values.shape[1] // 2
    if values.shape[1] % 2:
        return ordered[:, middle]
    return (ordered[:, middle - 1] + ordered[:, middle]) / 2


class ScanKind(NamedTuple):
    """What kind of scan a page is: black and white, and if so dithered."""

    bilevel: bool
    dithered: bool


def scan_kind(image: np.ndarray, *, bilevel: bool = False) -> ScanKind:
    """:func:`is_bilevel` and :func:`is_dithered` of a page.

    ``bilevel``: the page is known to hold only 0 and 255 (its file holds it
    one bit a pixel, :attr:`ljun.records.Page.bilevel`), so
    :func:`is_bilevel`, which would find no gray level, is not asked (its
    sparse pass over the page: 0.05 ms on a 200-dpi page in cache, 0.1-0.2
    ms in the pipeline).
    """
    bilevel = bilevel or is_bilevel(image)
    return ScanKind(bilevel, bilevel and is_dithered(image))


def is_bilevel(image: np.ndarray) -> bool:
    """True for a black-and-white scan: (almost) no gray levels but 0 and 255.

    Judged on a sparse grid of pixels (a 1-bit scan converted to 8 bits has
    none; a gray scan has thousands even where it is clipped to white).

    >>> is_bilevel(np.array([[0, 255], [255, 0]], np.uint8))
    True
    """
    grid = image[::BILEVEL_PROBE_STEP, ::BILEVEL_PROBE_STEP]
    limit = BILEVEL_MAX_GRAY_FRACTION * grid.size
    # A band across the middle of the page first: on a gray scan its paper
    # alone has more gray levels than the whole grid may, and the rest of
    # the page need not be read (a gray page's test in a tenth of the time).
    # Otherwise the rest is counted too: the same count as the whole grid's.
    rows = len(grid)
    start = rows * (BILEVEL_BANDS - 1) // (2 * BILEVEL_BANDS)
    stop = start + max(rows // BILEVEL_BANDS, 1)
    middle = _gray_count(grid[start:stop])
    if middle > limit:
        return False
    middle += _gray_count(grid[:start]) + _gray_count(grid[stop:])
    return bool(middle <= limit)


def _gray_count(grid: np.ndarray) -> int:
    """How many of ``grid``'s uint8 values are neither 0 nor 255."""
    # 0 < v < 255 as one test: v - 1 wraps 0 round to 255 (a quarter less time).
    return int(np.count_nonzero(grid - np.uint8(1) < np.uint8(254)))


def is_dithered(image: np.ndarray) -> bool:
    """True for a 1-bit scan made by error diffusion (``DITHER_ISOLATED_MIN``).

    The probed rows, and the rows above and below them, are packed 8 pixels
    a byte (``np.packbits``: a bit is 1 where the pixel is not black), so a
    pixel's left and right neighbours are its row shifted by one bit and
    every test runs on an eighth of the memory: a sixth of the time of the
    same tests on one byte a pixel (0.7 -> 0.12 ms a 200-dpi page), the same
    counts.  The first and last pixel of a row (no neighbour on one side)
    and the bits that pad a row to whole bytes are no centres.

    >>> checkerboard = (np.indices((60, 60)).sum(axis=0) % 2 * 255).astype(np.uint8)
    >>> is_dithered(checkerboard)
    True
    >>> is_dithered(np.kron([[0, 255], [255, 0]], np.ones((30, 30))).astype(np.uint8))
    False
    """
    step = DITHER_PROBE_ROWS
    height, width = image.shape
    if width < 3 or height < 3:
        return False  # no pixel has all four neighbours
    # White (not black) bits of the probed rows and of their neighbours.
    white = np.packbits(image[1:-1:step], axis=1)
    up = np.packbits(image[0:-2:step], axis=1)
    down = np.packbits(image[2::step], axis=1)
    # A row's first pixel is its first byte's high bit: the left neighbour's
    # bits are the row shifted one bit towards the low end, the right's the other way.
    left = white >> 1
    left[:, 1:] |= white[:, :-1] << 7
    right = white << 1
    right[:, :-1] |= white[:, 1:] >> 7
    centres = _dither_centres(width)
    black = np.bitwise_and(~white, centres)
    every_white = left & right
    every_white &= up
    every_white &= down
    some_white = left | right
    some_white |= up
    some_white |= down
    # Black with no black neighbour, and white with only black ones: a
    # centre is one or the other, so the two are counted as one (their union,
    # made in place in every_white's buffer).
    isolated = every_white
    isolated &= black
    lone_white = ~some_white
    lone_white &= white
    lone_white &= centres
    isolated |= lone_white
    n_black = _bit_count(black)
    return bool(n_black > 0 and _bit_count(isolated) >= DITHER_ISOLATED_MIN * n_black)


@functools.lru_cache(maxsize=8)
def _dither_centres(width: int) -> np.ndarray:
    """The packed row of :func:`is_dithered`'s centres: bits 1 .. width - 2."""
    centres = np.zeros(-(-width // 8) * 8, dtype=bool)
    centres[1 : width - 1] = True
    packed = np.packbits(centres)
    packed.setflags(write=False)
    return packed


# Set bits of every byte value (np.bitwise_count, where numpy has it, counts as fast).
_BYTE_BITS = np.array([bin(value).count("1") for value in range(256)], dtype=np.uint8)


def _bit_count(packed: np.ndarray) -> int:
    """Set bits in a contiguous uint8 array.

    Counted 8 bytes a time (a uint64 view of the whole words, then the bytes
    left over): half the time of a count a byte (25 -> 13 us on the 59 kB
    :func:`is_dithered` counts on a 200-dpi page).
    """
    count = getattr(np, "bitwise_count", None)
    if count is None:
        return int(_BYTE_BITS[packed].sum(dtype=np.int64))
    flat = packed.reshape(-1)
    whole = len(flat) - len(flat) % 8
    words = int(count(flat[:whole].view(np.uint64)).sum(dtype=np.int64))
    return words + int(count(flat[whole:]).sum(dtype=np.int64))


def bands_for(bubbles: BubbleDarkness, calibration: ReadCalibration) -> Bands:
    """The confidence bands for this kind of scan: gray, 1-bit or dithered 1-bit."""
    if bubbles.dithered:
        return calibration.dithered
    return calibration.bilevel if bubbles.bilevel else calibration.gray


def _darkest_mean(values: np.ndarray, count: int) -> np.ndarray:
    """Mean of the ``count`` largest values of each row.

    ``-np.partition(-values, count - 1, axis=1)[:, :count].mean(axis=1)``,
    partitioned in the negated copy's own buffer (``np.partition`` copies
    its argument and partitions the copy so): one copy less, the same order.
    """
    negated = np.negative(values)
    negated.partition(count - 1, axis=1)
    return -negated[:, :count].mean(axis=1)


def mark_evidence(bubbles: BubbleDarkness, calibration: ReadCalibration) -> np.ndarray:
    """How strongly each bubble shows a pencil mark (darkness units).

    The darkest quarter of the bubble (a fill, a light or partial fill, a
    tick) or its centre less the letter allowance ``core_offset`` (a dot;
    on a 1-bit scan never more than the middle of the marked-unsure band,
    so a dot alone goes to review), whichever is more; but where a pencil
    line runs into the bubble (its halo dark in few directions) the dark
    quarter and centre prove nothing (a line explains them as well as a
    tick does): the mean darkness less what a line can add
    (``line_allowance``) counts, or the ``body`` (the bubble without its
    darkest quarter), whichever is more.  When the inside is darker than
    the halo (a stroke that spills over the ring rather than a line
    crossing it), the inside counts too, up to the marked-unsure band.
    On a gray scan whose paper is clipped to white, evidence of a bubble
    with no ink in its halo within ``CLIPPED_BLANK_DROP`` under
    ``blank_sure_max`` is raised by ``CLIPPED_BLANK_DROP``, what a faint
    fill loses to the clip, up to the middle of the blank-unsure band: no
    more a sure blank, still read blank (the reading stays, its confidence
    falls); the looks after the kernel, the item's other bubbles (a residue
    beside a fill keeps its ratio to it), or a person decide it.

    Returns
    -------
    (N,) ndarray of float32
    """
    bands = bands_for(bubbles, calibration)
    line = (bubbles.halo >= bands.line_halo_min) & (
        bubbles.halo_contact <= calibration.line_contact_max
    )
    unsure_cap = np.float32(bands.marked_unsure_middle)
    centre = bubbles.core - np.float32(bands.core_offset)
    if bubbles.thresholded:
        # On a 1-bit scan a dark centre alone is never sure: faint erasure
        # residue tips the printed letter's strokes over the threshold and
        # looks just like a dot (both black there, paper elsewhere).
        centre = np.minimum(centre, unsure_cap)
    local = np.maximum(bubbles.quarter, centre)
    # A stroke a little wider than the line rule allows (a 1-bit adaptive
    # threshold doubles a stray line's edges: 7 halo directions seen) that
    # leaves the rest of the bubble blank and is no darker inside than out
    # is a line as much as a mark: never more than unsure (seed 5101, hard).
    near_line = (
        bubbles.bilevel
        & ~line
        & (bubbles.halo >= bands.line_halo_min)
        & (bubbles.halo_contact <= NEAR_LINE_CONTACT_FACTOR * calibration.line_contact_max)
        & (bubbles.body <= bands.blank_sure_max)
        & (bubbles.halo >= bubbles.quarter)
    )
    local = np.where(near_line, np.minimum(local, unsure_cap), local)
    along_line = np.maximum(bubbles.body, bubbles.darkness - np.float32(bands.line_allowance))
    # A stray line is as dark outside the ring as inside; a mark that spills
    # over the ring (a tick's stroke, an overfill) or a dot under a faint
    # line is darker inside (its quarter or its centre).  Then the inside
    # counts too, but no more than unsure: it goes to review.
    spill = bubbles.halo < bubbles.quarter
    # A centre far darker than the rest of a line's path (the darkest
    # quarter) is a dot of its own: seed 5101 (hard, 1-bit adaptive) and
    # seed 7301 (hard, 300-dpi gray: a dot of centre 0.53 under a faint
    # smudge that darkened the halo to 0.21 read blank surely).
    spill |= centre >= DOT_CENTRE_OVER_QUARTER * bubbles.quarter
    if bubbles.bilevel:
        # A 1-bit scan turns a faint line black and puts dither dots in the
        # halo: there a centre much darker than the halo is a dot (seed
        # 5102, hard).  On gray scans the halo's darkness is the line's
        # own, and this rule only costs reviews (seed 5103).
        spill |= bubbles.halo < SPILL_CENTRE_RATIO * centre
    along_line = np.where(spill, np.maximum(along_line, np.minimum(local, unsure_cap)), along_line)
    evidence = np.where(line, along_line, local).astype(np.float32)
    if bubbles.paper_clipped:
        faint = evidence > np.float32(bands.blank_sure_max - CLIPPED_BLANK_DROP)
        faint &= evidence <= np.float32(bands.blank_sure_max)
        faint &= bubbles.halo < np.float32(HALO_TOUCH_MIN)
        raised = evidence[faint] + np.float32(CLIPPED_BLANK_DROP)
        evidence[faint] = np.minimum(raised, np.float32(bands.blank_unsure_middle))
    return evidence


def classify(evidence: np.ndarray, bands: Bands) -> np.ndarray:
    """The absolute confidence band of each evidence value.

    Evidence is compared in float32, as the kernel keeps it and
    :func:`decide_items` and :meth:`Bands.unsure` compare it: a look that
    sets a bubble's evidence to exactly ``blank_sure_max`` makes it
    blank-sure to all three (in float64 the float32 value of 0.2 lies above
    0.2).

    >>> from ljun.calibration import load_calibration
    >>> gray = load_calibration().read.gray
    >>> classify(np.array([0.0, 0.9]), gray).tolist()
    [0, 3]
    >>> classify(np.array([gray.blank_sure_max], np.float32), gray).tolist()
    [0]
    """
    d = np.asarray(evidence, dtype=np.float32)
    # <= blank_sure_max is blank-sure; >= mark_min is a mark; >= marked_sure_min is sure.
    band = (
        (d > bands.blank_sure_max).astype(np.int8)
        + (d >= bands.mark_min)
        + (d >= bands.marked_sure_min)
    )
    return band.astype(np.int8)


def decide_items(
    evidence: np.ndarray,
    bands: Bands,
    calibration: ReadCalibration,
    inside: np.ndarray | None = None,
) -> ItemDecision:
    """Decide each item (row of ``evidence``) from its bubbles together.

    Parameters
    ----------
    evidence : (I, O) ndarray of float
        Mark evidence of every bubble of each item (question or column).
    bands : Bands
        The confidence bands for this scan (gray or bilevel).
    calibration : ReadCalibration
        The ratios of the relative test.
    inside : (I, O) ndarray of bool, optional
        Bubbles on the scan; an item with a bubble off the scan is unsure.

    Returns
    -------
    ItemDecision
    """
    cal = calibration
    d = np.asarray(evidence, dtype=np.float32)
    top = d.max(axis=1, keepdims=True)
    ratio = d / np.maximum(top, _RATIO_FLOOR)
    absolute = d >= bands.mark_min
    marked = absolute & (ratio >= cal.mark_ratio)

    # Absolute confidence: 1 in the sure bands, falling to 0 at mark_min.
    below = np.clip(
        (bands.mark_min - d) / max(bands.mark_min - bands.blank_sure_max, 1e-6), 0.0, 1.0
    )
    above = np.clip(
        (d - bands.mark_min) / max(bands.marked_sure_min - bands.mark_min, 1e-6), 0.0, 1.0
    )
    conf_abs = np.where(absolute, above, below)
    # Relative confidence (second marks vs erasure residue): 1 outside the
    # residue..multi band, falling to 0 at mark_ratio.
    low = np.clip(
        (cal.mark_ratio - ratio) / max(cal.mark_ratio - cal.residue_ratio_max, 1e-6), 0.0, 1.0
    )
    high = np.clip(
        (ratio - cal.mark_ratio) / max(cal.multi_ratio_min - cal.mark_ratio, 1e-6), 0.0, 1.0
    )
    conf_rel = np.where(ratio >= cal.mark_ratio, high, low)
    # Erasure residue much lighter than a sure mark is sure not to be a mark,
    # whatever its absolute band.
    sure_residue = (ratio <= cal.residue_ratio_max) & (top >= bands.marked_sure_min)
    sure_blank = d <= bands.blank_sure_max
    # The relative test only matters for bubbles that are dark in absolute terms.
    confidence = np.where(
        sure_blank | sure_residue, 1.0, np.where(absolute, np.minimum(conf_abs, conf_rel), conf_abs)
    )
    if inside is not None:
        confidence = np.where(inside, confidence, 0.0)
    confidence = confidence.astype(np.float32)
    unsure = np.asarray((confidence < 1.0).any(axis=1))
    count = marked.sum(axis=1)
    choice = np.argmax(d, axis=1)
    return ItemDecision(
        marked=marked, count=count, choice=choice, unsure=unsure, confidence=confidence
    )
