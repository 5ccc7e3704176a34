"""A second, finer look at the few bubbles near a decision edge.

The bubble kernel (:mod:`ljun.read`) samples a few dozen points per bubble,
inside 0.72 of its radius and off the printed option letter.  Two things
escape it, and both concern few bubbles per sheet:

* on a 1-bit scan the threshold thickens the letter's strokes by a pixel or
  so, by a different amount at every place of the sheet, so some clean
  points of a blank bubble fall on the letter: a blank name column reaches
  the same mark evidence (0.08-0.5) as where partial pencil fills start, and
  goes to review (and reads a letter where the column is blank);
* on a gray scan a partial fill that covers only a segment by the ring
  leaves the inner points almost clean: one read blank surely (moderate,
  seed 6101, evidence 0.16, plainly a mark to a person).

For those bubbles only, this module looks at every scan pixel within
``CLOSER_RADIUS_FRACTION`` of the radius and compares the bubble with the
blank bubbles printed alike on the same sheet (same letter, same size: the
group of :class:`ljun.read.SamplingPattern`), which the scan treated the
same way:

1. each bubble looked at and the sampled members of its group
   (``pattern.members``) that read blank surely (where fewer than
   ``MIN_REFERENCES`` of the sample do, the group's other bubbles that do:
   :func:`reference_members`) are sampled on a square grid
   of one scan pixel, in template coordinates mapped through the
   registration's homography (one :func:`ljun.register.sample_scan` for
   all of them);
2. the *blank look* of the group is the per-pixel median of those members,
   grown by ``REFERENCE_GROW_PX`` scan pixels (registration error and the
   threshold's phase);
3. the bubble's *excess ink* is the area (mm²) of its pixels darker than
   that blank look by a pencil's darkness at least: pencil, never the
   printed letter, which the blank look holds.

:func:`resolve` turns it into evidence.  On a 1-bit threshold scan (plain or
adaptive), an unsure bubble with no more excess ink than
``PENCIL_AREA_MIN_MM2`` is a printed letter and reads blank surely, and one
whose excess ink covers half its disc (``PENCIL_COVER_SURE``) is a mark,
surely.  On a
gray scan, a bubble at the top of the blank-sure band that a pencil line does
not run into, but with more excess ink than that, is lowered to blank-unsure
(it goes to review); one a line runs into only when its excess ink fills a
square of ``SOLID_INK_MM`` somewhere (a fill beside the line's path).
On a gray scan, too, an unsure bubble whose excess ink is no more than a
speck of dust on the scanner glass (:func:`speck_only`: a small round
spot, far smaller than the least pencil dot, and nothing faint around it)
reads blank surely, and a blank-sure bubble with such a speck is not
lowered.  On a dithered scan (read by dot density) only that lowering is
made, on the scan's dot density (:func:`dot_density`): a partial fill by
the ring goes to review there too.  Every other bubble keeps its evidence.

Most members of a group often show no letter at all on a 1-bit scan (the
threshold drops the gray print), while a bubble where the paper is a little
darker shows the whole letter: its excess ink is the letter's strokes
(0.3-0.6 mm², moderate seed 8105).  So on 1-bit scans the closer look also
knows the printed letter (:func:`printed_letters`, the blank form rendered
once per template): a bubble whose excess ink is little
(``LETTER_EXCESS_MAX_MM2``, less than the least pencil dot) and lies on the
printed letter's footprint, grown like the blank look, all but
``LETTER_OUTSIDE_MAX_MM2``, shows the letter only and reads blank surely.

>>> printed_only(np.array([0.0, 0.3, 0.31, np.nan])).tolist()
[True, True, False, False]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from ._cache import cached_arrays
from .calibration import Bands, ReadCalibration
from .read import (
    DITHER_SMOOTH_MM,
    MIN_CONTRAST,
    BubbleDarkness,
    SamplingPattern,
    bands_for,
    mark_evidence,
    smallest_in_order,
)
from .register import Registration, sample_scan
from .render import render_image
from .template import MM_PER_INCH, BubbleGeometry, Template

__all__ = [
    "CLOSER_RADIUS_FRACTION",
    "BILEVEL_EXCESS_DARKNESS",
    "GRAY_EXCESS_DARKNESS",
    "PENCIL_AREA_MIN_MM2",
    "PENCIL_COVER_SURE",
    "GRAY_LOOK_FROM",
    "LETTER_INK_MIN",
    "LETTER_EXCESS_MAX_MM2",
    "LETTER_OUTSIDE_MAX_MM2",
    "IDENTITY_LETTER_EXCESS_MAX_MM2",
    "SOLID_INK_MM",
    "SPECK_INK_MAX_MM2",
    "SPECK_FAINT_DARKNESS",
    "SPECK_FAINT_MAX_MM2",
    "Patches",
    "PrintedLetters",
    "printed_letters",
    "closer_patches",
    "members_median",
    "patch_darkness",
    "patch_offsets",
    "reference_members",
    "excess_ink",
    "excess_off_letter",
    "letter_only",
    "whole_letter",
    "solid_ink",
    "solid_square",
    "speck_only",
    "speck_sized",
    "disc_area",
    "mask_area",
    "printed_only",
    "pencil_covers",
    "excess_mask",
    "pencil_darkness",
    "excess_darkness",
    "resolve",
    "closer_evidence",
    "dot_density",
]

#: The closer look covers the disc of this fraction of the bubble radius:
#: the printed ring (0.3 mm stroke, centred on the radius) starts at 0.92 r,
#: and a 1-bit threshold thickens it by up to a pixel (0.17 mm at 150 dpi).
CLOSER_RADIUS_FRACTION = 0.8
#: A pixel of a 1-bit scan is pencil beyond the printed letter when it is
#: black where the group's (grown) blank look is white: darker by at least
#: this (darkness, 0 paper .. 1 fiducial black).
BILEVEL_EXCESS_DARKNESS = 0.5
#: A pixel of a gray scan is pencil beyond the printed letter when at least
#: this much darker than the group's blank look: between the darkest
#: erasure residue the generator draws (0.25, hard) and the lightest light
#: mark (0.35, hard).
GRAY_EXCESS_DARKNESS = 0.25
#: The group's blank look is grown by this many scan pixels each way before
#: comparing: registration error across the sheet and the threshold's phase
#: move a letter's edge by about a pixel.
REFERENCE_GROW_PX = 1
#: The blank look needs at least this many members that read blank surely
#: (of ``ljun.read.GROUP_SAMPLE``, taken from the whole group where the
#: sample is short); with fewer the bubble keeps its evidence.
MIN_REFERENCES = 3
#: A bubble with at most this much excess ink (mm²) shows the printed letter
#: only: no pencil.  Half the least excess ink of any pencil mark (light,
#: partial, tick, dot) on generated 1-bit scans: 0.61 mm² (a dot, 300 dpi;
#: threshold and adaptive, 150/200/300 dpi, moderate seed 6101 and hard
#: seed 6102, 400 sheets; gray at 0.25 darkness likewise at least 0.41 mm²).
#: Blank bubbles the kernel was unsure of: 87 % of 487 have no more.  (The
#: second darkest member instead of the median as the blank look resolved
#: 93 %, but read a dot on a letter blank surely: hard seed 7301, sheet 106.)
PENCIL_AREA_MIN_MM2 = 0.3
#: On a 1-bit threshold scan, an unsure bubble whose excess ink covers at
#: least this fraction of its disc is a pencil mark, surely: erasure residue
#: and stray lines through blank bubbles cover at most 0.28 (the same sets,
#: the bubbles left unsure after the letter check: 252 residue and blank
#: bubbles), and a mark the kernel is unsure of only because a faint halo
#: made it look like a line covers 0.5-0.9.
PENCIL_COVER_SURE = 0.5
#: On gray scans, blank-sure bubbles from this evidence up (and no pencil
#: line in their halo) get a closer look: blank bubbles stay below it
#: (moderate 200-dpi gray: 99 % of blank bubbles <= 0.01, calibration/README.md).
GRAY_LOOK_FROM = 0.05
#: A pixel of the blank form rendered at the template's dpi is the printed
#: letter where at least this dark (0 paper, 1 black): the letters are
#: printed gray (the form's bubble print), their anti-aliased edge lighter.
LETTER_INK_MIN = 0.2
#: A bubble of a 1-bit threshold scan with at most this much excess ink
#: (mm²), all but ``LETTER_OUTSIDE_MAX_MM2`` of it on the printed letter's
#: grown footprint, shows the letter only.  Below the least excess ink of a
#: pencil dot on a letter (0.76 mm², hard seed 8106, 28 dots on threshold
#: and adaptive scans 150-300 dpi; 0.61 mm² on seeds 6101/6102) with a
#: margin: the letter alone, thickened where the paper is darker, is
#: 0.3-0.6 mm² (moderate seed 8105: 15 of 17 unsure blank bubbles the
#: ``PENCIL_AREA_MIN_MM2`` rule left, none of 4,200 pencil marks).
LETTER_EXCESS_MAX_MM2 = 0.5
#: ... and at most this much of its excess ink (mm²) off the grown letter:
#: half of ``PENCIL_AREA_MIN_MM2``.  A dot of pencil on a dense letter at
#: 150 dpi can lie almost wholly on the grown letter (0.06 mm² off it,
#: hard seed 8106), which is why the total is bounded too.
LETTER_OUTSIDE_MAX_MM2 = 0.15
#: In an identity column of a 1-bit threshold scan, a bubble may show its
#: whole printed letter where the group's blank look shows none (the
#: threshold dropped the gray print there): up to 0.85 mm² (moderate dev
#: seeds 8401-8403: 8 and 9 at 300 dpi 0.60-0.64, R and K 0.68-0.70, X and
#: W 0.80-0.85; blank columns sent to review).  There, excess ink up to
#: this (mm²), all but ``LETTER_OUTSIDE_MAX_MM2`` of it on the grown letter
#: and with no solid patch (``ljun._lone_mark.SOLID_PATCH_MIN_MM2``: a
#: letter's strokes are thin, a dot is not) is the letter only.  Identity
#: columns hold no dots (students fill the bubble of a letter; the
#: generator draws none there), which is why answer items keep
#: ``LETTER_EXCESS_MAX_MM2``: a dot of 0.76 mm² on a dense letter.
IDENTITY_LETTER_EXCESS_MAX_MM2 = 0.9
#: On a gray scan, excess ink that fills a square of this side (mm) is a
#: pencil fill, not a stray line: a line through a bubble, 0.6-0.7 mm wide
#: in the excess, fills none (207 blank bubbles a line ran through, hard
#: seed 8106, and 62 at moderate seed 8104, 200 dpi: none with a 7 x 7
#: pixel square of excess ink; 5 x 5 pixels, up to 0.39 mm²), while a light
#: partial fill that spilled over the ring (moderate seed 8104, sheet 81:
#: read blank surely, a silent error) filled 0.2 mm² of such squares.
SOLID_INK_MM = 0.75
#: On a gray scan, excess ink (at ``GRAY_EXCESS_DARKNESS``) of at most this
#: area (mm²) is a speck of dust on the scanner glass, not pencil.  The
#: generator's dust is a disc of radius 0.05-0.25 mm (at most 0.2 mm²,
#: ``ljun.samples._scanner.DUST_RADIUS_MM``), a pencil dot one of 0.22-0.40
#: of the bubble radius (0.44-0.8 mm).  Measured (calibration/README.md,
#: "seventh round"; easy, moderate and hard sheets, 150/200/300 dpi gray,
#: dev seeds 8761-8766): 392 specks on blank bubbles at most 0.31 mm²;
#: 1,623 pencil marks (every light, partial, tick and dot mark, 432 dots,
#: and every fill a speck fell on or the kernel was unsure of) at least
#: 0.43 mm² (a dot, hard, 200 dpi).
SPECK_INK_MAX_MM2 = 0.35
#: ... and its excess ink at least this much darker than the blank look
#: (darkness) covers at most ``SPECK_FAINT_MAX_MM2``: a speck has nothing
#: faint around it, while a faint fill or a light dot spreads well beyond
#: its darkest part (erasure residue with a dark grain: 0.02 mm² at 0.25,
#: 4.2 mm² at 0.1, hard seed 8766).
SPECK_FAINT_DARKNESS = 0.1
#: The specks measured for ``SPECK_INK_MAX_MM2``: at most 0.46 mm² this
#: much darker than the blank look; the pencil marks at least 0.82 mm².
SPECK_FAINT_MAX_MM2 = 0.6


@dataclass(frozen=True, eq=False)
class Patches:
    """The closer look at U bubbles: one scan pixel per grid step, S x S grid.

    Attributes
    ----------
    bubble : (U, S, S) ndarray of float32
        Darkness of each bubble's pixels (0 paper, 1 fiducial black).
    blank_look : (U, S, S) ndarray of float32
        Per-pixel median darkness of the blank-sure members of its group.
    inside : (U, S, S) ndarray of bool
        Pixels within ``CLOSER_RADIUS_FRACTION`` of the bubble radius.
    usable : (U,) ndarray of bool
        At least ``MIN_REFERENCES`` members made the blank look.
    dpi : float
        The scan's resolution (a pixel is ``(25.4 / dpi)**2`` mm²).
    letter : (U, S, S) ndarray of bool, optional
        The printed letter's footprint on the blank form (darkness at least
        ``LETTER_INK_MIN``), grown by ``REFERENCE_GROW_PX`` scan pixels;
        None when the closer look was not given the printed letters.
    """

    bubble: np.ndarray
    blank_look: np.ndarray
    inside: np.ndarray
    usable: np.ndarray
    dpi: float
    letter: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class PrintedLetters:
    """The blank form around every bubble, as printed (no scanner).

    Attributes
    ----------
    gray : (N, T, T) ndarray of uint8
        The form rendered at ``dpi``, a square of ``T = 2 * half + 1``
        template pixels around each bubble's centre rounded to a pixel.
    half : int
        Template pixels from a patch's centre to its edge.
    dpi : float
        The template pixels' scale (the sampling pattern's geometry).
    """

    gray: np.ndarray
    half: int
    dpi: float


#: The code the printed letters come from (their cache key, see ljun._cache).
_LETTER_MODULES = ("_closer_look.py", "render.py", "template.py", "_cache.py")


@functools.lru_cache(maxsize=4)
def printed_letters(template: Template, dpi: float) -> PrintedLetters:
    """The printed form around every bubble of ``template`` at ``dpi``.

    Rendered once per machine (``ljun._cache``; 0.2 s otherwise) and per
    process.
    """
    geometry = template.geometry(dpi)
    half = int(np.ceil(geometry.radii.max())) + 2

    def build() -> dict[str, np.ndarray]:
        form = np.pad(render_image(template, dpi), half, mode="constant", constant_values=255)
        centre = np.rint(geometry.centres).astype(np.intp) + half  # (N, 2) x, y
        span = np.arange(-half, half + 1)
        rows = centre[:, 1, None, None] + span[None, :, None]
        cols = centre[:, 0, None, None] + span[None, None, :]
        return {"gray": np.ascontiguousarray(form[rows, cols])}

    arrays = cached_arrays("printed-letters", (template, dpi), build, modules=_LETTER_MODULES)
    return PrintedLetters(gray=arrays["gray"], half=half, dpi=float(dpi))


def _letter_footprint(
    letters: PrintedLetters, bubbles: np.ndarray, centres: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """Where each bubble's printed letter is, at template ``offsets``.

    ``bubbles`` (U,) geometry indices, ``centres`` (U, 2) their centres in
    template pixels, ``offsets`` (P, 2) template pixels from them; the
    rendered form is interpolated bilinearly.
    Returns (U, P) bool: darkness at least ``LETTER_INK_MIN``.
    """
    gray = letters.gray
    side = gray.shape[1]
    # Position in each patch: the patch is centred on the rounded centre.
    at = (centres - np.rint(centres))[:, None, :] + offsets[None, :, :] + letters.half  # (U, P, 2)
    at = np.clip(at, 0.0, side - 1.000001)
    x0 = np.floor(at[..., 0]).astype(np.intp)
    y0 = np.floor(at[..., 1]).astype(np.intp)
    fx = at[..., 0] - x0
    fy = at[..., 1] - y0
    which = np.asarray(bubbles, dtype=np.intp)[:, None]
    value = (
        gray[which, y0, x0] * (1 - fx) * (1 - fy)
        + gray[which, y0, x0 + 1] * fx * (1 - fy)
        + gray[which, y0 + 1, x0] * (1 - fx) * fy
        + gray[which, y0 + 1, x0 + 1] * fx * fy
    )
    return np.asarray((255.0 - value) / 255.0 >= LETTER_INK_MIN)


def closer_patches(
    image: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    paper: np.ndarray,
    candidates: np.ndarray,
    blank: np.ndarray,
    letters: PrintedLetters | None = None,
    *,
    reach_fraction: float = CLOSER_RADIUS_FRACTION,
) -> Patches:
    """Each candidate bubble and its group's blank look, pixel by pixel.

    Parameters
    ----------
    image : (H, W) ndarray of uint8
        The scan, as the kernel read it.
    registration : Registration
        Maps ``pattern.geometry`` pixels onto ``image``.
    pattern : SamplingPattern
        The kernel's sampling pattern (its groups and group members).
    paper : (N,) ndarray of float32
        Paper gray level beside each bubble (:attr:`BubbleDarkness.paper`).
    candidates : (U,) ndarray of intp
        Bubbles to look at, geometry order.
    blank : (N,) ndarray of bool
        Bubbles that read blank surely: only they make a group's blank look.
    letters : PrintedLetters, optional
        The printed form (:func:`printed_letters` of the template at
        ``pattern.geometry.dpi``): then :attr:`Patches.letter` is made.
    reach_fraction : float
        The patches cover the disc of this fraction of each bubble's radius
        (:attr:`Patches.inside`); wider than the ring, they show the paper
        around the bubble too (:mod:`ljun._stroke_end`).

    Returns
    -------
    Patches
    """
    candidates = np.asarray(candidates, dtype=np.intp)
    geometry = pattern.geometry
    step = geometry.dpi / registration.dpi  # template pixels per scan pixel
    reach = reach_fraction * geometry.radii[candidates]
    half = int(np.ceil(reach.max() / step)) + REFERENCE_GROW_PX
    side = 2 * half + 1
    grid, offsets = patch_offsets(half, step)

    members = reference_members(pattern, candidates, blank)  # (U, M)
    looked = np.concatenate([candidates[:, None], members], axis=1)  # (U, 1 + M)
    dark = patch_darkness(image, registration, geometry, paper, looked, offsets)
    dark = dark.reshape(*looked.shape, side, side)

    usable = blank[members] & (members != candidates[:, None])  # (U, M)
    enough = usable.sum(axis=1) >= MIN_REFERENCES
    # Too few references: the bubble is answered NaN anyway.
    reference = np.where(enough[:, None, None], members_median(dark[:, 1:], usable), 0.0)
    inside = grid**2 + grid[:, None] ** 2 <= reach[:, None, None] ** 2  # (U, side, side)
    letter = None
    if letters is not None:
        printed = _letter_footprint(letters, candidates, geometry.centres[candidates], offsets)
        grown = _grow(printed.reshape(-1, side, side).astype(np.float32), REFERENCE_GROW_PX)
        letter = grown > 0.5
    return Patches(
        bubble=dark[:, 0],
        blank_look=reference,
        inside=inside,
        usable=enough,
        dpi=registration.dpi,
        letter=letter,
    )


def patch_offsets(half: int, step: float) -> tuple[np.ndarray, np.ndarray]:
    """A patch's pixels about its centre, ``step`` template pixels apart:
    the (2 half + 1,) float64 steps along either axis, and the (P, 2)
    ``(x, y)`` of every pixel, row by row (``np.meshgrid``'s order and
    values, in a quarter of its time)."""
    grid = np.arange(-half, half + 1, dtype=np.float64) * step
    offsets = np.empty((len(grid), len(grid), 2))
    offsets[..., 0] = grid
    offsets[..., 1] = grid[:, None]
    return grid, offsets.reshape(-1, 2)


def patch_darkness(
    image: np.ndarray,
    registration: Registration,
    geometry: BubbleGeometry,
    paper: np.ndarray,
    looked: np.ndarray,
    offsets: np.ndarray,
) -> np.ndarray:
    """The scan's darkness at ``offsets`` (P, 2) template pixels about each
    bubble of ``looked`` ((U, K) intp: a candidate and its group's members
    a row), from each bubble's paper level ``paper`` to the page's ink:
    (U, K, P) float32.

    Each bubble is sampled once: candidates of one group share their
    members (a bubble's patch is the same wherever it is asked for; one
    row has nothing to share).
    """
    bubbles, which = looked.ravel(), None
    if len(looked) > 1:
        bubbles, which = np.unique(looked, return_inverse=True)
    # x and y apart: a sum broadcast over the (x, y) pairs runs numpy's inner
    # loop two numbers a time (0.13 ms for 18 patches, now 0.04); the same
    # float64 sums, stored float32 as sample_scan would make them.
    centres = geometry.centres[bubbles]  # (B, 2)
    points = np.empty((len(bubbles), len(offsets), 2), np.float32)  # (B, P, 2)
    np.add(centres[:, 0, None], offsets[:, 0], out=points[..., 0])
    np.add(centres[:, 1, None], offsets[:, 1], out=points[..., 1])
    _, gray_levels = sample_scan(image, registration.homography, points)
    gray = gray_levels.astype(np.float32)
    level = paper[bubbles].reshape(-1, 1)
    contrast = np.maximum(level - np.float32(registration.ink_level), MIN_CONTRAST)
    dark = (level - gray) / contrast
    if which is not None:
        dark = dark[which.reshape(-1)]
    return dark.reshape(*looked.shape, len(offsets))


def members_median(dark: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Per pixel, the median darkness of each bubble's usable members.

    Parameters
    ----------
    dark : (U, M, S, S) ndarray of float32
        The members' patches (no NaN).
    usable : (U, M) ndarray of bool

    Returns
    -------
    (U, S, S) ndarray of float32
        NaN where no member is usable.

    The usable members put in order with the others last (+inf) by
    :func:`ljun.read.smallest_in_order`, the middle of the first ``k``:
    ``np.nanmedian`` with the others NaN, the same values (it loops in
    Python over small axes; a sort across the members takes four times as
    long).
    """
    counts = usable.sum(axis=1)
    k = np.maximum(counts, 1)
    layers = np.where(usable.T[:, :, None, None], dark.swapaxes(0, 1), np.inf)  # (M, U, S, S)
    ordered = np.stack(smallest_in_order(layers, int(k.max()) // 2 + 1))
    bubbles = np.arange(len(usable))
    median = (ordered[(k - 1) // 2, bubbles] + ordered[k // 2, bubbles]) / 2
    return np.where(counts[:, None, None] > 0, median, np.float32(np.nan))


def reference_members(
    pattern: SamplingPattern, candidates: np.ndarray, blank: np.ndarray
) -> np.ndarray:
    """The members of each candidate's group its blank look is made of.

    The group's sampled members (``pattern.members``); but where fewer than
    ``MIN_REFERENCES`` of them read blank surely (a letter most of whose
    sampled bubbles are filled: A of a name whose sample caught four filled
    A's and an unsure one, moderate fresh seed 8618 sheet 136), as many as
    the sample holds of the group's bubbles that read blank surely, spread
    evenly over them.  Bubbles printed alike all the same: the
    sample is only a saving.

    Parameters
    ----------
    pattern : SamplingPattern
    candidates : (U,) ndarray of intp
    blank : (N,) ndarray of bool
        Bubbles that read blank surely.

    Returns
    -------
    (U, M) ndarray of intp
        ``M`` is ``ljun.read.GROUP_SAMPLE``; a row short of blank bubbles is
        padded with its candidate (never a reference).
    """
    groups = pattern.group[candidates]
    members = pattern.members[groups]
    usable = blank[members] & (members != candidates[:, None])
    short = np.flatnonzero(usable.sum(axis=1) < MIN_REFERENCES)
    if len(short) == 0:
        return members  # almost every candidate
    members = members.copy()
    size = members.shape[1]
    for u in short:  # a few bubbles of a few sheets
        candidate = candidates[u]
        alike = np.flatnonzero((pattern.group == groups[u]) & blank)
        alike = alike[alike != candidate]
        if len(alike) < MIN_REFERENCES:
            continue  # too few in the whole group: no blank look
        # Evenly spread: all of them read blank, none can be picked in step
        # with a pattern of marks.
        picked = np.unique(alike[np.linspace(0, len(alike) - 1, size).round().astype(np.intp)])
        members[u] = candidate
        members[u, : len(picked)] = picked
    return members


def excess_ink(patches: Patches, darker_by: float, *, mask: np.ndarray | None = None) -> np.ndarray:
    """Ink inside each bubble beyond its group's blank look (mm²): the area
    of its pixels at least ``darker_by`` darker than the grown blank look.
    ``mask``: :func:`excess_mask` of the same patches, when made already.

    Returns
    -------
    (U,) ndarray of float64
        Area of excess ink in mm², NaN where fewer than ``MIN_REFERENCES``
        members of the group read blank surely.
    """
    if mask is None:
        mask = excess_mask(patches, darker_by)
    return np.where(patches.usable, mask_area(mask, patches.dpi), np.nan)


def excess_off_letter(
    patches: Patches, darker_by: float, *, mask: np.ndarray | None = None
) -> np.ndarray:
    """Of :func:`excess_ink`, the area (mm²) off the printed letter's grown
    footprint (:attr:`Patches.letter`); ``mask`` as there.

    Returns
    -------
    (U,) ndarray of float64
        NaN where there is no blank look or no printed letter.
    """
    if patches.letter is None:
        return np.full(len(patches.usable), np.nan)
    if mask is None:
        mask = excess_mask(patches, darker_by)
    return np.where(patches.usable, mask_area(mask & ~patches.letter, patches.dpi), np.nan)


def pencil_darkness(bilevel: bool) -> float:
    """How much darker than the blank look a pixel must be to count as
    pencil: ``BILEVEL_EXCESS_DARKNESS`` on a 1-bit scan,
    ``GRAY_EXCESS_DARKNESS`` on a gray one.

    >>> pencil_darkness(True), pencil_darkness(False)
    (0.5, 0.25)
    """
    return BILEVEL_EXCESS_DARKNESS if bilevel else GRAY_EXCESS_DARKNESS


def excess_mask(patches: Patches, darker_by: float) -> np.ndarray:
    """(U, S, S) bool: pixels at least ``darker_by`` darker than the grown blank look."""
    return (excess_darkness(patches) >= darker_by) & patches.inside


def excess_darkness(patches: Patches) -> np.ndarray:
    """(U, S, S) float32: how much darker each pixel is than the grown blank look."""
    return patches.bubble - _grow(patches.blank_look, REFERENCE_GROW_PX)


def disc_area(patches: Patches) -> np.ndarray:
    """Area (mm²) of each bubble's disc the closer look covers, (U,) float64."""
    return mask_area(patches.inside, patches.dpi)


def mask_area(mask: np.ndarray, dpi: float) -> np.ndarray:
    """Area (mm²) of each of U masks (U, S, S) of bool on a grid of one scan pixel: (U,) float64."""
    return mask.sum(axis=(1, 2)) * (MM_PER_INCH / dpi) ** 2


def _grow(values: np.ndarray, pixels: int) -> np.ndarray:
    """Grey dilation of (U, S, S) patches by a square of ``2 * pixels + 1``
    (the square cut to the patch: its edge pixels stand for what lies beyond).

    Along the rows, then along the columns: the largest value of a square is
    the largest of its rows' largest, each one of the values themselves, so
    the same numbers as the square at once, in ``4 * pixels`` maximums and
    without a padded copy (a third of the time).
    """
    along = values.copy()
    for shift in range(1, pixels + 1):
        np.maximum(along[:, :, shift:], values[:, :, :-shift], out=along[:, :, shift:])
        np.maximum(along[:, :, :-shift], values[:, :, shift:], out=along[:, :, :-shift])
    out = along.copy()
    for shift in range(1, pixels + 1):
        np.maximum(out[:, shift:], along[:, :-shift], out=out[:, shift:])
        np.maximum(out[:, :-shift], along[:, shift:], out=out[:, :-shift])
    return out


def printed_only(area: np.ndarray) -> np.ndarray:
    """True where the closer look finds the printed letter only, no pencil.

    ``area`` is :func:`excess_ink`'s in mm² (NaN, no blank look: never).
    """
    area = np.asarray(area, dtype=np.float64)
    return np.nan_to_num(area, nan=np.inf) <= PENCIL_AREA_MIN_MM2


def letter_only(area: np.ndarray, off_letter: np.ndarray) -> np.ndarray:
    """True where the excess ink is the printed letter, thickened: at most
    ``LETTER_EXCESS_MAX_MM2`` in all, at most ``LETTER_OUTSIDE_MAX_MM2`` of
    it off the letter's grown footprint (both in mm², NaN: never).

    >>> letter_only(np.array([0.5, 0.5, 0.51, np.nan]), np.array([0.15, 0.16, 0.0, 0.0])).tolist()
    [True, False, False, False]
    """
    area = np.nan_to_num(np.asarray(area, dtype=np.float64), nan=np.inf)
    off_letter = np.nan_to_num(np.asarray(off_letter, dtype=np.float64), nan=np.inf)
    return (area <= LETTER_EXCESS_MAX_MM2) & (off_letter <= LETTER_OUTSIDE_MAX_MM2)


def whole_letter(area: np.ndarray, off_letter: np.ndarray, solid: np.ndarray) -> np.ndarray:
    """True where the excess ink of an identity bubble is its whole printed
    letter: at most ``IDENTITY_LETTER_EXCESS_MAX_MM2`` in all, at most
    ``LETTER_OUTSIDE_MAX_MM2`` off the letter's grown footprint, and less
    than ``SOLID_PATCH_MIN_MM2`` left after erosion (``solid``, see
    :func:`ljun._lone_mark.solid_area`); all in mm², NaN: never.

    >>> whole_letter(
    ...     np.array([0.9, 0.9, 0.91, 0.5, np.nan]),
    ...     np.array([0.15, 0.16, 0.0, 0.0, 0.0]),
    ...     np.array([0.1, 0.0, 0.0, 0.15, 0.0]),
    ... ).tolist()
    [True, False, False, False, False]
    """
    from ._lone_mark import SOLID_PATCH_MIN_MM2  # that module builds on this one

    area = np.nan_to_num(np.asarray(area, dtype=np.float64), nan=np.inf)
    off_letter = np.nan_to_num(np.asarray(off_letter, dtype=np.float64), nan=np.inf)
    solid = np.nan_to_num(np.asarray(solid, dtype=np.float64), nan=np.inf)
    return (
        (area <= IDENTITY_LETTER_EXCESS_MAX_MM2)
        & (off_letter <= LETTER_OUTSIDE_MAX_MM2)
        & (solid < SOLID_PATCH_MIN_MM2)
    )


def solid_ink(patches: Patches, darker_by: float) -> np.ndarray:
    """True where some square of side ``SOLID_INK_MM`` (at least 3 scan
    pixels, odd) is excess ink throughout: a fill, not a line.

    Returns
    -------
    (U,) ndarray of bool
        False where there is no blank look.
    """
    return np.asarray(solid_square(excess_mask(patches, darker_by), patches.dpi) & patches.usable)


def solid_square(mask: np.ndarray, dpi: float) -> np.ndarray:
    """True where some square of side ``SOLID_INK_MM`` (at least 3 scan
    pixels, odd) lies wholly in ``mask`` ((U, S, S) bool on a grid of one
    scan pixel at ``dpi``): a fill, not a line's path.  (U,) bool."""
    reach = max(1, int(round(SOLID_INK_MM / 2 * dpi / MM_PER_INCH)))
    core = -_grow(-mask.astype(np.float32), reach) > 0.5  # erosion by the square
    return np.asarray(core.any(axis=(1, 2)))


def speck_only(patches: Patches, *, mask: np.ndarray | None = None) -> np.ndarray:
    """True where a gray bubble's excess ink is no more than a speck of dust.

    At most ``SPECK_INK_MAX_MM2`` of excess ink at ``GRAY_EXCESS_DARKNESS``
    (``mask``: its :func:`excess_mask`, when made already) and at most
    ``SPECK_FAINT_MAX_MM2`` at ``SPECK_FAINT_DARKNESS``: a small spot with
    nothing faint around it, far smaller than the least pencil dot.

    Returns
    -------
    (U,) ndarray of bool
        False where there is no blank look.
    """
    area = excess_ink(patches, GRAY_EXCESS_DARKNESS, mask=mask)
    faint = excess_ink(patches, SPECK_FAINT_DARKNESS)
    return np.asarray(speck_sized(area, faint))


def speck_sized(area: np.ndarray, faint: np.ndarray) -> np.ndarray:
    """True where excess ink of ``area`` mm² (at ``GRAY_EXCESS_DARKNESS``)
    and ``faint`` mm² (at ``SPECK_FAINT_DARKNESS``) is a speck's (NaN: never).

    >>> speck_sized(np.array([0.35, 0.36, 0.2, np.nan]), np.array([0.6, 0.3, 0.61, 0.0])).tolist()
    [True, False, False, False]
    """
    area = np.nan_to_num(np.asarray(area, dtype=np.float64), nan=np.inf)
    faint = np.nan_to_num(np.asarray(faint, dtype=np.float64), nan=np.inf)
    return (area <= SPECK_INK_MAX_MM2) & (faint <= SPECK_FAINT_MAX_MM2)


def pencil_covers(area: np.ndarray, disc: np.ndarray) -> np.ndarray:
    """True where excess ink covers ``PENCIL_COVER_SURE`` of the disc or more.

    ``area`` and ``disc`` in mm² (:func:`excess_ink`, :func:`disc_area`);
    NaN (no blank look): never.

    >>> pencil_covers(np.array([4.9, 5.0, np.nan]), np.array([10.0, 10.0, 10.0])).tolist()
    [False, True, False]
    """
    area = np.nan_to_num(np.asarray(area, dtype=np.float64), nan=-np.inf)
    return area >= PENCIL_COVER_SURE * np.asarray(disc, dtype=np.float64)


def resolve(
    evidence: np.ndarray,
    image: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    bubbles: BubbleDarkness,
    bands: Bands,
    letters: PrintedLetters | None = None,
    identity: np.ndarray | None = None,
) -> np.ndarray:
    """The mark evidence after a closer look at the bubbles near an edge.

    On a 1-bit threshold scan, bubbles whose evidence lies in the unsure
    band (above ``blank_sure_max``, below ``marked_sure_min``) and that show
    the printed letter only (:func:`printed_only`, or with ``letters``
    :func:`letter_only`) get ``blank_sure_max`` (blank, sure); those whose
    pencil covers ``PENCIL_COVER_SURE`` of the disc get ``marked_sure_min``
    (a mark, sure).  On a gray
    scan, blank-sure bubbles from ``GRAY_LOOK_FROM`` up that show pencil
    (with a pencil line in their halo: a fill, :func:`solid_ink`) and more
    than a speck of dust (:func:`speck_only`) get the middle of the
    blank-unsure band (blank, unsure), and unsure bubbles that show a speck
    of dust only get ``blank_sure_max`` (blank, sure).  On a dithered scan
    only the lowering is made, on its dot density (:func:`_dithered_fills`).
    Every other bubble keeps its evidence.

    Parameters
    ----------
    evidence : (N,) ndarray of float32
        From :func:`ljun.read.mark_evidence`.
    image, registration, pattern, bubbles
        What the kernel measured ``evidence`` on.
    bands : Bands
        The bands of this scan (:func:`ljun.read.bands_for`).
    letters : PrintedLetters, optional
        The printed form at ``pattern.geometry.dpi`` (:func:`printed_letters`).
    identity : (N,) ndarray of bool, optional
        Bubbles of identity fields: with ``letters``, there a bubble showing
        its whole letter (:func:`whole_letter`) reads blank surely too.

    Returns
    -------
    (N,) ndarray of float32
    """
    if bubbles.dithered:
        return _dithered_fills(evidence, image, registration, pattern, bubbles, bands)
    line = bubbles.halo >= bands.line_halo_min
    unsure = bands.unsure(evidence)
    # On gray scans also blank-sure bubbles that may hold pencil (unsure ones
    # may hold only a speck of dust).
    near = unsure if bubbles.bilevel else _may_hold_pencil(evidence, bands) | unsure
    looked = np.flatnonzero(near & bubbles.inside)
    if len(looked) == 0:
        return evidence
    blank = evidence <= bands.blank_sure_max
    patches = closer_patches(
        image,
        registration,
        pattern,
        bubbles.paper,
        looked,
        blank,
        letters if bubbles.bilevel else None,
    )
    darker_by = pencil_darkness(bubbles.bilevel)
    excess = excess_mask(patches, darker_by)
    area = excess_ink(patches, darker_by, mask=excess)
    letter = printed_only(area)
    out = evidence.copy()
    if bubbles.bilevel:
        off_letter = excess_off_letter(patches, darker_by, mask=excess)
        letter |= letter_only(area, off_letter)
        if identity is not None and patches.letter is not None:
            from ._lone_mark import solid_area  # that module builds on this one

            # Erode only where the rest of the rule holds (few bubbles).
            maybe = np.flatnonzero(
                identity[looked] & ~letter & whole_letter(area, off_letter, np.zeros_like(area))
            )
            if len(maybe):
                solid = solid_area(excess[maybe], patches.dpi)
                letter[maybe] = whole_letter(area[maybe], off_letter[maybe], solid)
        out[looked[letter]] = np.float32(bands.blank_sure_max)
        out[looked[pencil_covers(area, disc_area(patches))]] = np.float32(bands.marked_sure_min)
    else:
        # A line may run through a blank bubble: there only a fill counts.
        # A speck of dust is no pencil: a blank-sure bubble keeps its
        # evidence, an unsure one reads blank surely.
        speck = speck_only(patches, mask=excess)
        was_unsure = unsure[looked]
        pencil = _shows_pencil(patches, letter, line[looked])
        out[looked[pencil & ~speck & ~was_unsure]] = np.float32(bands.blank_unsure_middle)
        out[looked[speck & was_unsure]] = np.float32(bands.blank_sure_max)
    return out


def _dithered_fills(
    evidence: np.ndarray,
    image: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    bubbles: BubbleDarkness,
    bands: Bands,
) -> np.ndarray:
    """:func:`resolve` on a dithered scan: only the gray look's lowering.

    Blank-sure bubbles from ``GRAY_LOOK_FROM`` up that show pencil in the
    scan's dot density (:func:`dot_density`, read with the gray thresholds:
    more excess ink than a printed letter, a solid square of it where a line
    runs into the halo) get the middle of the blank-unsure band (blank,
    unsure: review).  A partial fill by the ring leaves the kernel's inner
    points almost clean (hard seed 8612 sheet 192, 300-dpi dithered: E of
    answer 33, its left third filled, evidence 0.098 against
    ``blank_sure_max`` 0.12, read blank surely).  Nothing is made sure.
    """
    looked = np.flatnonzero(_may_hold_pencil(evidence, bands) & bubbles.inside)
    if len(looked) == 0:
        return evidence
    patches = closer_patches(
        dot_density(image, registration.dpi),
        registration,
        pattern,
        bubbles.paper,
        looked,
        evidence <= bands.blank_sure_max,
    )
    letter = printed_only(excess_ink(patches, GRAY_EXCESS_DARKNESS))
    pencil = _shows_pencil(patches, letter, bubbles.halo[looked] >= bands.line_halo_min)
    out = evidence.copy()
    out[looked[pencil]] = np.float32(bands.blank_unsure_middle)
    return out


def _may_hold_pencil(evidence: np.ndarray, bands: Bands) -> np.ndarray:
    """(N,) bool: blank-sure bubbles from ``GRAY_LOOK_FROM`` up, those the
    gray (and dithered) closer look checks for pencil the kernel missed."""
    return (evidence > GRAY_LOOK_FROM) & (evidence <= bands.blank_sure_max)


def _shows_pencil(patches: Patches, letter: np.ndarray, line: np.ndarray) -> np.ndarray:
    """(U,) bool: the gray look's pencil: more excess ink than the printed
    letter (``letter`` is :func:`printed_only` or finer), or where a line
    runs into the halo (``line``) a fill beside its path (:func:`solid_ink`)."""
    return np.where(line, solid_ink(patches, GRAY_EXCESS_DARKNESS), ~letter)


def closer_evidence(
    image: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    bubbles: BubbleDarkness,
    calibration: ReadCalibration,
    *,
    template: Template | None = None,
) -> np.ndarray:
    """:func:`ljun.read.mark_evidence`, then :func:`resolve`.

    ``template`` (the one ``pattern`` was made for), when given, lets the
    closer look know the printed letters of a 1-bit scan
    (:func:`printed_letters`) and which bubbles are of identity fields
    (:func:`whole_letter`).

    Returns
    -------
    (N,) ndarray of float32
    """
    evidence = mark_evidence(bubbles, calibration)
    letters = None
    if template is not None and bubbles.thresholded:
        letters = printed_letters(template, pattern.geometry.dpi)
    bands = bands_for(bubbles, calibration)
    identity = None
    if letters is not None and template is not None:
        kinds = {f.name: f.kind for f in template.fields}
        geometry = pattern.geometry
        identity = np.array([kinds[name] != "answers" for name in geometry.field_names])
        identity = identity[geometry.field_index]
    return resolve(evidence, image, registration, pattern, bubbles, bands, letters, identity)


def dot_density(image: np.ndarray, dpi: float) -> np.ndarray:
    """A dithered 1-bit scan as the kernel reads it: (H, W) uint8, each pixel
    the mean of a box of ``ljun.read.DITHER_SMOOTH_MM`` (at least 3 pixels,
    odd) around it, so dot density is darkness.  The closer patches
    (:func:`closer_patches`) of such an image are read with the gray
    thresholds (``GRAY_EXCESS_DARKNESS``): the darkest pixel of a blank
    identity bubble is at most 0.16 beyond its group's blank look for 99 %
    of them, a sure mark's pixels 0.6 (median; 36 dithered sheets of dev
    seeds 8601-8602, moderate and hard, calibration/README.md, seventh
    round)."""
    global _last_density
    last = _last_density
    if last is not None and last[0] is image and last[1] == dpi:
        return last[2]
    size = max(3, int(round(DITHER_SMOOTH_MM * dpi / MM_PER_INCH)) | 1)
    density = np.asarray(cv2.blur(image, (size, size)))
    density.flags.writeable = False  # shared by the looks at the same page
    _last_density = (image, dpi, density)
    return density


# The last page's dot density: the closer look, the lined-answer look and the
# identity-column look each want it on the same dithered page (a box blur of
# the whole page, 1-3 ms).  Holding the page itself keeps the identity test
# (`is`) sound; the next dithered page replaces both.
_last_density: tuple[np.ndarray, float, np.ndarray] | None = None
