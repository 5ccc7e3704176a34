"""A pencil stroke that ends in a blank identity bubble: no sure letter.

A short stray stroke, the tail of a tick whose corner lies on the paper, or
a line that stops inside a bubble leaves a thin path of pencil in it: all
its ink in the bubble's darkest quarter, the rest blank (``body`` at the
blank-sure level).  Where the column is otherwise blank the kernel reads
that bubble as the column's letter, and sometimes surely: moderate dev seed
8601, sheet 123 (150-dpi gray: a light short stroke ending in J of the
blank 5th name column; its path outside the ring too light for the halo,
0.12 < ``line_halo_min``; quarter 0.44, body 0.01) read "NINAJNUGROHO"
for "NINA NUGROHO", and dev seed 8605, sheet 99 (200-dpi gray: a tick's
tail ending in F of the blank 20th name column; halo 0.89 in 2 directions,
darkness 0.270 = ``marked_sure_min``) read a name with a trailing F.  Both
without review: silent errors.

The kernel's features do not tell such a stroke from a real light or
partial letter (bodies 0.03-0.20 beside quarters 0.53-0.81; making every
letter with a blank body unsure sent 16 % of moderate 200-dpi gray sheets
to review, all needless, on dev seed 8502).  What does is the ink that
*continues* the stroke beyond the ring: a fill, even a partial or sloppy
one, is a blob inside the ring (the generator's fills reach 1.02 of the
radius and a little offset), a stroke's end is a thin path that enters the
bubble from the paper outside.  So, for the few identity letters read
surely with a blank body only (:func:`thin_letters`), this module looks at
the scan around the bubble at full resolution, out to
``STROKE_LOOK_REACH`` radii (:func:`stroke_evidence`):

* *outside ink*: pixels of the paper beyond the printed ring
  (``RING_OUTER_FRACTION``), off the neighbouring bubbles
  (``NEIGHBOUR_FRACTION`` of their radius) and off the form's other print
  (box lines, labels: :func:`form_print`), darker than the group's blank
  look by ``GRAY_PATH_DARKNESS`` (gray, 3 x 3 pixels averaged: a light
  stroke is as light as 0.1-0.2 there) or ``BILEVEL_EXCESS_DARKNESS``
  (1-bit);
* the *path*: the outside ink connected to the paper right by the ring
  (within ``PATH_START_FRACTION`` radii), its area (mm²) and where it
  leaves the ring (its mean direction);
* *inside ink*: pencil in the bubble (within ``INSIDE_FRACTION``) beyond
  the blank look by the closer look's darkness, in all and near the ring
  where the path leaves it (``NEAR_RING_FRACTION``, within
  ``NEAR_ANGLE_DEG`` of the path's axis: a line that runs through the
  bubble leaves it on two sides).

A letter is a stroke's end (:func:`stroke_end`) when a path of at least
``PATH_MIN_MM2`` leaves its ring, as large as ``PATH_SHARE_MIN`` of its
inside ink at least (a fill is a blob inside the ring: its path, if any,
is a speck beside it), and inside ink of at least ``NEAR_MIN_MM2`` meets
it there.  It is made marked-unsure, so
the column goes to review: a person must look (a student may also have
filled a bubble lightly and slipped); it never becomes blank.

>>> stroke_end(
...     np.array([0.47, 0.085, 0.0, 0.15]),  # path beyond the ring, mm²
...     np.array([0.78, 0.26, 0.0, 0.71]),  # inside ink meeting it, mm²
...     np.array([1.78, 0.85, 4.0, 2.88]),  # inside ink, mm²
...     np.array([True, True, True, True]),
... ).tolist()
[True, True, False, False]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from ._cache import cached_arrays
from ._closer_look import (
    BILEVEL_EXCESS_DARKNESS,
    GRAY_EXCESS_DARKNESS,
    closer_patches,
    excess_darkness,
    excess_mask,
    pencil_darkness,
)
from ._lone_mark import FILL_OFF_BAND_MIN_MM2, off_band_area, solid_fill
from .calibration import Bands, ReadCalibration
from .read import BubbleDarkness, SamplingPattern, bands_for
from .register import Registration
from .render import render_image
from .template import MM_PER_INCH, Template

__all__ = [
    "STROKE_LOOK_REACH",
    "RING_OUTER_FRACTION",
    "NEIGHBOUR_FRACTION",
    "INSIDE_FRACTION",
    "PATH_START_FRACTION",
    "NEAR_RING_FRACTION",
    "NEAR_ANGLE_DEG",
    "GRAY_PATH_DARKNESS",
    "FORM_PRINT_GRAY",
    "FORM_PRINT_GROW_MM",
    "PATH_MIN_MM2",
    "PATH_SHARE_MIN",
    "NEAR_MIN_MM2",
    "StrokeEvidence",
    "thin_letters",
    "sure_thin",
    "form_print",
    "stroke_evidence",
    "stroke_end",
    "stroke_end_evidence",
]

#: The look covers the disc of this many bubble radii: the paper around an
#: identity bubble up to its neighbours' rings (centres 2.5 radii apart).
STROKE_LOOK_REACH = 2.0
#: Outside ink starts here (bubble radii): the printed ring (0.3 mm, centred
#: on the 2 mm radius) ends at 1.075, blurred by a pixel or so.
RING_OUTER_FRACTION = 1.1
#: The neighbouring bubbles, ring and all (this many of their radii), are
#: left out: their own fills, and their rings where the group's blank look
#: has none (nomor peserta and tanggal lahir columns are 5 or 6 mm apart;
#: at 1.15 the blurred edge of such a ring was a 1-pixel arc of "path" on
#: 150-dpi gray sheets: dev seeds 8601 sheet 122, 8605 sheet 144, real
#: partial fills sent to review).
NEIGHBOUR_FRACTION = 1.2
#: Inside ink is counted within this fraction of the radius (the closer
#: look's disc, ``ljun._closer_look.CLOSER_RADIUS_FRACTION`` and a little).
INSIDE_FRACTION = 0.85
#: A path leaves the ring: some of it lies within this many radii.  The
#: gap between identity rings is 0.7 mm (1.1 to 1.45 radii).
PATH_START_FRACTION = 1.4
#: Inside ink meets the path where it lies beyond this fraction of the
#: radius ...
NEAR_RING_FRACTION = 0.45
#: ... within this angle (degrees) of the path's mean direction.
NEAR_ANGLE_DEG = 40.0
#: On gray scans, outside ink is at least this much darker than the blank
#: look (darkness), averaged over 3 x 3 pixels: the light stroke of dev seed
#: 8601 sheet 123 is 0.1-0.25 between the rings; paper noise stays below.
GRAY_PATH_DARKNESS = 0.12
#: The form's print outside the bubbles (box lines, labels) is where the
#: blank form rendered at the template's dpi is darker than this gray ...
FORM_PRINT_GRAY = 200
#: ... grown by this (mm): registration error and a scanner's blur.  The
#: group's blank look holds the print around a bubble only where all its
#: members have it (not the box line beside the last name column).
FORM_PRINT_GROW_MM = 0.3
#: A stroke's path beyond the ring covers at least this (mm²; 8601 sheet
#: 123: 0.085, the light stroke squeezed between two rings) ...
PATH_MIN_MM2 = 0.05
#: ... and at least this share of the bubble's inside ink: a stroke's end
#: brings its path with it, a fill is a blob inside the ring.  Thin letters
#: read surely (hard dev seed 8702; see calibration/README.md): at most
#: 0.05 (a partial fill, 0.15 mm² beside 2.88 inside); strokes' ends from
#: 0.1 (seed 8601 sheet 123: 0.085 mm² beside 0.85) ...
PATH_SHARE_MIN = 0.08
#: ... and inside ink of at least this (mm²) meets the path near the ring
#: (a stray line passing by a letter is no stroke of its own; 8601 sheet
#: 123: 0.26).
NEAR_MIN_MM2 = 0.1
#: Pixels averaged (a side) before the gray path threshold.
_PATH_SMOOTH_PX = 3
#: The code the form's print comes from (its cache key, see ljun._cache).
_PRINT_MODULES = ("_stroke_end.py", "render.py", "template.py", "_cache.py")


@dataclass(frozen=True, eq=False)
class StrokeEvidence:
    """What :func:`stroke_evidence` measured around U bubbles, each (U,).

    Attributes
    ----------
    path : ndarray of float64
        Area (mm²) of the outside ink connected to the paper by the ring.
    near : ndarray of float64
        Area (mm²) of inside ink near the ring where the path leaves it.
    inside : ndarray of float64
        Area (mm²) of inside ink.
    usable : ndarray of bool
        The group's blank look was made (see ``ljun._closer_look``).
    one_side : ndarray of float64
        How much the path leaves the ring one way: the length of the mean
        of the unit vectors from the bubble's centre to its pixels (1: all
        in one direction; near 0: as much on opposite sides, a line through
        the bubble; 0 without a path).  Used for answer bubbles
        (:mod:`ljun._lined_answers`), not in :func:`stroke_end`.
    """

    path: np.ndarray
    near: np.ndarray
    inside: np.ndarray
    usable: np.ndarray
    one_side: np.ndarray


def thin_letters(
    evidence: np.ndarray,
    bubbles: BubbleDarkness,
    grids: list[np.ndarray],
    calibration: ReadCalibration,
) -> np.ndarray:
    """Bubbles of ``grids`` marked surely whose ``body`` is blank-sure: all
    their ink in the darkest quarter, as a stroke's end or a partial fill.

    Parameters
    ----------
    evidence : (N,) ndarray of float32
        Mark evidence after the closer look and the lone-mark rules.
    bubbles : BubbleDarkness
    grids : list of (I, O) ndarray of intp
        Bubble indices of the identity fields' columns.
    calibration : ReadCalibration

    Returns
    -------
    (U,) ndarray of intp
    """
    bands = bands_for(bubbles, calibration)
    if not grids:
        return np.zeros(0, np.intp)
    every = np.concatenate([grid.ravel() for grid in grids])
    thin = sure_thin(evidence[every], bubbles.body[every], bands)
    return every[thin & bubbles.inside[every]].astype(np.intp)


def sure_thin(evidence: np.ndarray, body: np.ndarray, bands: Bands) -> np.ndarray:
    """Where bubbles are read surely with their ``body`` blank-sure (bool,
    the shape of ``evidence``): all their ink in the darkest quarter or the
    centre, as a stroke's end (on a dithered scan, one through the centre)
    or a partial fill leaves it."""
    return (evidence >= bands.marked_sure_min) & (body <= bands.blank_sure_max)


@functools.lru_cache(maxsize=4)
def form_print(template: Template, dpi: float) -> np.ndarray:
    """The form's print away from its bubbles, grown: (H, W) bool at ``dpi``.

    Everything the blank form prints darker than ``FORM_PRINT_GRAY`` but
    within ``NEIGHBOUR_FRACTION`` of a bubble's radius (its ring and letter),
    grown by ``FORM_PRINT_GROW_MM``.  Built once per machine
    (``ljun._cache``).
    """
    geometry = template.geometry(dpi)

    def build() -> dict[str, np.ndarray]:
        printed = (render_image(template, dpi) < FORM_PRINT_GRAY).astype(np.uint8)
        holes = np.zeros_like(printed)
        shift = 4  # cv2.circle's fixed point: 1/16 pixel
        for (x, y), radius in zip(geometry.centres, geometry.radii):
            centre = (int(round(x * (1 << shift))), int(round(y * (1 << shift))))
            reach = int(round(NEIGHBOUR_FRACTION * radius * (1 << shift)))
            cv2.circle(holes, centre, reach, 1, -1, cv2.LINE_8, shift)
        printed[holes > 0] = 0
        grow = max(1, int(round(FORM_PRINT_GROW_MM * dpi / MM_PER_INCH)))
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        grown = cv2.dilate(printed, disc) > 0
        return {"bits": np.packbits(grown, axis=1), "shape": np.array(grown.shape)}

    arrays = cached_arrays("form-print", (template, dpi), build, modules=_PRINT_MODULES)
    height, width = (int(v) for v in arrays["shape"])
    return np.unpackbits(arrays["bits"], axis=1, count=width).astype(bool)[:height]


def stroke_evidence(
    image: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    template: Template,
    bubbles: BubbleDarkness,
    candidates: np.ndarray,
    blank: np.ndarray,
    *,
    gray: bool | None = None,
) -> StrokeEvidence:
    """The ink around ``candidates`` (U,) at full resolution (module doc).

    Parameters
    ----------
    image : (H, W) ndarray of uint8
        The scan, as the kernel read it.
    registration, pattern, bubbles
        What the kernel measured on.
    template : Template
        The one ``pattern`` was made for (its form's print).
    candidates : (U,) ndarray of intp
        Bubbles to look at, geometry order.
    blank : (N,) ndarray of bool
        Bubbles that read blank surely: they make each group's blank look.
    gray : bool, optional
        Read ``image`` with the gray thresholds (default: unless
        ``bubbles.bilevel``); a dithered scan's dot density
        (:func:`ljun._closer_look.dot_density`) is read so.

    Returns
    -------
    StrokeEvidence
    """
    geometry = pattern.geometry
    patches = closer_patches(
        image,
        registration,
        pattern,
        bubbles.paper,
        candidates,
        blank,
        reach_fraction=STROKE_LOOK_REACH,
    )
    half = patches.bubble.shape[1] // 2
    step = geometry.dpi / registration.dpi  # template pixels per scan pixel
    offset = np.arange(-half, half + 1, dtype=np.float64) * step
    gx, gy = np.meshgrid(offset, offset)  # (S, S) template pixels
    radius = geometry.radii[candidates]
    rho = np.hypot(gx, gy)[None] / radius[:, None, None]  # (U, S, S) radii
    away = _off_limits(geometry, template, candidates, gx, gy)
    darker = excess_darkness(patches)
    pixel_mm2 = (MM_PER_INCH / registration.dpi) ** 2
    if not (gray if gray is not None else not bubbles.bilevel):
        ink = darker >= BILEVEL_EXCESS_DARKNESS
        inside = ink & (rho < INSIDE_FRACTION)
        path_ink = ink
    else:
        inside = (darker >= GRAY_EXCESS_DARKNESS) & (rho < INSIDE_FRACTION)
        path_ink = _smoothed(darker) >= GRAY_PATH_DARKNESS
    outside = path_ink & (rho >= RING_OUTER_FRACTION) & patches.inside & ~away
    path = _leaving(outside, rho)
    angle = np.arctan2(gy, gx)
    # How much of the path leaves the ring one way: the length of the mean
    # of its directions (1 for a stroke's end, about 0 for a line through).
    cos, sin = np.cos(angle), np.sin(angle)
    along = np.stack([(cos * path).sum(axis=(1, 2)), (sin * path).sum(axis=(1, 2))])
    one_side = np.hypot(*along) / np.maximum(path.sum(axis=(1, 2)), 1)
    # Where the path leaves the ring: its axis, the mean of its directions
    # taken both ways (doubled angles), so that a line running through the
    # bubble, which leaves it on two opposite sides, has the axis it runs
    # along and not a mean direction across it (fresh seed 8609, sheet 30:
    # a stray line down a blank name column read Q surely, its near ink
    # 0.00 mm² about the mean direction of a path of 2.0 mm²).
    doubled = np.stack(
        [(np.cos(2 * angle) * path).sum(axis=(1, 2)), (np.sin(2 * angle) * path).sum(axis=(1, 2))]
    )
    axis = np.arctan2(doubled[1], doubled[0])[:, None, None] / 2  # (U, 1, 1)
    facing = np.abs(np.cos(angle[None] - axis))
    near = inside & (rho > NEAR_RING_FRACTION) & (facing >= np.cos(np.deg2rad(NEAR_ANGLE_DEG)))
    return StrokeEvidence(
        path=path.sum(axis=(1, 2)) * pixel_mm2,
        near=near.sum(axis=(1, 2)) * pixel_mm2,
        inside=inside.sum(axis=(1, 2)) * pixel_mm2,
        usable=np.asarray(patches.usable),
        one_side=one_side,
    )


def _off_limits(
    geometry, template: Template, candidates: np.ndarray, gx: np.ndarray, gy: np.ndarray
) -> np.ndarray:
    """(U, S, S) bool: pixels of the patches on a neighbouring bubble (within
    ``NEIGHBOUR_FRACTION`` of its radius) or on the form's other print."""
    centres, radii = geometry.centres, geometry.radii
    here = centres[candidates]  # (U, 2)
    reach = (STROKE_LOOK_REACH + NEIGHBOUR_FRACTION) * radii[candidates]
    gap = np.hypot(*(centres[None, :, :] - here[:, None, :]).transpose(2, 0, 1))  # (U, N)
    which, neighbour = np.nonzero((gap > 0) & (gap < reach[:, None]))
    away = np.zeros((len(candidates), *gx.shape), bool)
    if len(which):
        dx = gx[None] - (centres[neighbour, 0] - here[which, 0])[:, None, None]
        dy = gy[None] - (centres[neighbour, 1] - here[which, 1])[:, None, None]
        on = np.hypot(dx, dy) < NEIGHBOUR_FRACTION * radii[neighbour][:, None, None]
        for u in np.unique(which):  # a few candidates
            away[u] = on[which == u].any(axis=0)
    printed = form_print(template, geometry.dpi)
    x = np.rint(here[:, 0, None, None] + gx[None]).astype(np.intp)
    y = np.rint(here[:, 1, None, None] + gy[None]).astype(np.intp)
    on_form = (x >= 0) & (x < printed.shape[1]) & (y >= 0) & (y < printed.shape[0])
    away |= (
        on_form & printed[np.clip(y, 0, printed.shape[0] - 1), np.clip(x, 0, printed.shape[1] - 1)]
    )
    return away


def _smoothed(values: np.ndarray) -> np.ndarray:
    """Each (S, S) patch of (U, S, S) averaged over ``_PATH_SMOOTH_PX`` squares."""
    size = (_PATH_SMOOTH_PX, _PATH_SMOOTH_PX)
    return np.stack([cv2.blur(np.ascontiguousarray(v, np.float32), size) for v in values])


def _leaving(outside: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """(U, S, S) bool: the 8-connected parts of ``outside`` that come within
    ``PATH_START_FRACTION`` radii of the centre (they leave the ring).

    All patches are labelled in one call, side by side with a blank column
    between them.
    """
    n, side = outside.shape[0], outside.shape[1]
    tiled = np.zeros((side, n * (side + 1)), np.uint8)
    columns = (np.arange(n)[:, None] * (side + 1) + np.arange(side)).ravel()
    tiled[:, columns] = outside.transpose(1, 0, 2).reshape(side, -1)
    count, labels = cv2.connectedComponents(tiled, connectivity=8)
    label = labels[:, columns].reshape(side, n, side).transpose(1, 0, 2)  # (U, S, S)
    starts = np.zeros(count, bool)
    starts[label[outside & (rho < PATH_START_FRACTION)]] = True
    starts[0] = False
    return starts[label]


def stroke_end(
    path: np.ndarray, near: np.ndarray, inside: np.ndarray, usable: np.ndarray
) -> np.ndarray:
    """True where the ink is a stroke that ends in the bubble: a path of at
    least ``PATH_MIN_MM2``, and ``PATH_SHARE_MIN`` of the inside ink, leaves
    its ring where at least ``NEAR_MIN_MM2`` of inside ink meets it (mm²,
    each (U,)); never where ``usable`` is False."""
    return np.asarray(
        usable & (path >= PATH_MIN_MM2) & (path >= PATH_SHARE_MIN * inside) & (near >= NEAR_MIN_MM2)
    )


def stroke_end_evidence(
    image: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    template: Template,
    bubbles: BubbleDarkness,
    evidence: np.ndarray,
    calibration: ReadCalibration,
    *,
    kernel_evidence: np.ndarray | None = None,
) -> np.ndarray:
    """The evidence with identity letters that are a stroke's end made unsure.

    Parameters
    ----------
    image : (H, W) ndarray of uint8
        The scan, as the kernel read it.
    registration, pattern, bubbles
        What the kernel measured ``evidence`` on.
    template : Template
        Its identity fields (every field but ``answers``) are looked at.
    evidence : (N,) ndarray of float32
        After the closer look and the lone-mark rules
        (:func:`ljun._lone_mark.lone_mark_evidence`).
    calibration : ReadCalibration
    kernel_evidence : (N,) ndarray of float32, optional
        The evidence before the lone-mark rules: a letter they made sure
        passed their test of a fill (a solid patch far beyond any straight
        band, :func:`ljun._lone_mark.filled_candidates`) and is not looked
        at again (moderate dev seed 8503, sheet 106: a partial fill
        spilling over the ring, 0.73 mm² beyond it).

    Returns
    -------
    (N,) ndarray of float32
        ``evidence``, with the middle of the marked-unsure band where a
        letter read surely with a blank body is a stroke's end
        (:func:`stroke_end`) and no fill (:func:`_fills`): the column goes
        to review.
    """
    if bubbles.dithered:
        return evidence
    geometry = pattern.geometry
    identity = [geometry.grid(f.name) for f in template.fields if f.kind != "answers"]
    thin = thin_letters(evidence, bubbles, identity, calibration)
    bands = bands_for(bubbles, calibration)
    if kernel_evidence is not None:
        thin = thin[kernel_evidence[thin] >= bands.marked_sure_min]
    if len(thin) == 0:
        return evidence  # most sheets
    blank = evidence <= bands.blank_sure_max
    found = stroke_evidence(image, registration, pattern, template, bubbles, thin, blank)
    ends = stroke_end(found.path, found.near, found.inside, found.usable)
    if not ends.any():
        return evidence
    ends_at = thin[ends]
    ends_at = ends_at[~_fills(image, registration, pattern, bubbles, ends_at, blank)]
    out = evidence.copy()
    out[ends_at] = np.float32(bands.marked_unsure_middle)
    return out


def _fills(
    image: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    bubbles: BubbleDarkness,
    looked: np.ndarray,
    blank: np.ndarray,
) -> np.ndarray:
    """(U,) bool: which letters ``looked`` that seem a stroke's end pass the
    lone-mark rules' test of a fill instead: excess ink reaching
    ``ljun._lone_mark.FILL_OFF_BAND_MIN_MM2`` beyond the best straight band,
    a solid patch with a square in it (:func:`ljun._lone_mark.solid_fill`).
    A partial fill over one side of the bubble spills over the ring, and
    its spill looks like a path leaving it (fresh seed 8630, sheet 51:
    a crescent over the left of 8 in the 7th nomor column, 200-dpi gray,
    0.92 mm² beyond the band, reviewed); the tails of ticks that end in a
    name bubble keep 0.32-0.52 mm² beyond the band and no square (dev
    seeds 8707 sheet 136, 8709 sheet 146)."""
    patches = closer_patches(image, registration, pattern, bubbles.paper, looked, blank)
    darker_by = pencil_darkness(bubbles.bilevel)
    ink = excess_mask(patches, darker_by)
    beyond = off_band_area(ink, patches.dpi)
    return np.asarray(
        patches.usable & (beyond >= FILL_OFF_BAND_MIN_MM2) & solid_fill(ink, patches.dpi)
    )
