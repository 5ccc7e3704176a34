"""A lone mark in an answer item of a 1-bit scan: a dot or a tick, read surely.

Some students answer with a dot or a tick instead of a filled bubble.  On a
1-bit scan the bubble kernel (:mod:`ljun.read`) keeps such a bubble unsure:
its centre is black and the rest of the bubble paper, just as where faint
erasure residue tips the printed letter's strokes over the threshold (see
:func:`ljun.read.mark_evidence`), and the closer look
(:mod:`ljun._closer_look`) finds pencil beyond the letter there, but too
little to cover half the disc.  Yet a person reads the item at once, and so
can the reader when the evidence is clear:

* the bubble is the only one of its item that is not blank surely (the
  item's other options are at the sheet's blank level: no second mark, no
  residue of a changed answer beside it);
* no pencil line runs into it (its halo is below the bands'
  ``line_halo_min``: a stray line crossing the bubble darkens the halo);
* its pencil beyond the printed letter (the closer look's excess ink) holds
  a *solid patch*: some of it is left after eroding it by a disc of
  ``SOLID_PATCH_RADIUS_MM``.  Residue and a letter's thickened strokes are
  specks and thin edges that erosion wipes out; a dot or a tick's stroke
  is wider than a pencil's grain.

Such a bubble reads as a mark, surely (``marked_sure_min``).  The other
way round, a bubble of an item read blank surely (every option blank-sure;
an answer item, or on a 1-bit scan an identity column) that a pencil line runs into
but that holds such a solid patch may be a dot or a tick under a stray
line (hard seed 8122, sheets 14 and 121: dots read blank surely), or a
light mark an adaptive threshold made a thick ring and a blob (hard seed
8222, sheet 138, a name letter): a line explains it as well as a mark, so
it goes to review
(the middle of the blank-unsure band).  In an answer item read blank a
bubble with any evidence of ink (``BLANK_ITEM_LOOK_FROM``) is looked at
so, with a line in its halo or not: a partial fill
along the ring lies outside the kernel's inner disc (``ljun.read``'s
``INNER_RADIUS_FRACTION``; hard dev seed 8405, sheet 176: a solid segment
over the lower 40 % of E on a 300-dpi 1-bit scan, 3 of the 48 inner points
on it, read blank surely).  On dev seeds 8405 and 8406 (easy to hard,
800 sheets each) that sent that one sheet to review and no other.  That holds on gray scans too (a
tick whose tail runs out over the ring read blank surely on a 200-dpi gray
scan, dev seed 8123 sheet 65), where the excess ink is pencil darker than
the blank look by ``GRAY_EXCESS_DARKNESS``; a lone dot on a gray scan is
left to the kernel, which reads its darkness.  In an identity column a
stray line through a blank bubble holds such a patch too (the line is a
solid stroke on a 1-bit scan), but there the patch must reach beyond the
straight band a line fills (:func:`off_band_area`, more than
``LINE_RESIDUE_MAX_MM2``): the blob of seed 8222 did, the lines through
blank name columns that sent 4 of 600 moderate mixed dev sheets (seeds
8401-8403) to review did not.  Answer items keep the rule whole: a dot or
a tick, which students put there, may lie on the line's path.  The same
straight band settles the identity bubbles the kernel keeps unsure because
a line runs through them (:func:`lined_candidates`: the only bubble of its
column not blank-sure, its body blank, a line in its halo), gray and 1-bit:
a line only, the column reads blank surely (moderate dev seed 8402, sheets
165 and 172: lines through B and Q of blank name columns read as letters
and reviewed); also beside the column's letter, marked surely
(moderate seed 8502, sheets 20 and 188: lines through G and Y of name
columns whose letters were filled, reviewed).  The other way round, the
one unsure bubble of an otherwise blank column that a line runs into may
be a fill whose stroke spilled over the ring (:func:`filled_candidates`:
the kernel caps it at unsure, a line explaining its darkest quarter):
when its excess ink reaches far beyond any straight band
(``FILL_OFF_BAND_MIN_MM2``) and holds a solid patch
(``FILL_SOLID_MIN_MM2``), it is the column's letter, surely (moderate
seeds 8502 and 8503: five partial fills of name and nomor letters, gray
and 1-bit, read right and reviewed).  Dithered scans are left alone.  On
a 1-bit scan a lone unsure answer bubble that a line seems to run into is
a fill, surely, when its body is dark, its solid ink reaches beyond the
best straight band and its halo is grey (:func:`lined_fill_candidates`,
``LINED_FILL_BODY_MIN``: a partial fill spilling over the ring, moderate
dev seed 8501, sheet 182, reviewed).  Every other bubble keeps its
evidence, so anything else near an edge still goes to review.

Measured on generated hard sheets (dev seeds 8121-8122, 400 sheets, 150-300
dpi, threshold and adaptive B/W modes), the solid area (mm²) of the unsure
bubbles alone in their item with no line in their halo, by the kind of mark
the generator drew there:

========  ===  ==========================================================
kind      n    solid area (mm²)
========  ===  ==========================================================
dot       132  3 below 0.08 (they stay unsure), then 0.18, 0.27 ...; median 0.89
tick      21   min 0.70, median 1.48
partial   6    min 1.45
light     13   min 0.00, median 0.29 (adaptive B/W mode)
residue   9    0.00 (5), 0.007, 0.016 (2), 0.097 (erased to blank)
blank     0    (no blank bubble with pencil beyond its letter was alone)
========  ===  ==========================================================

>>> mask = np.zeros((1, 9, 9), bool)
>>> mask[0, 3:6, 3:6] = True  # a 3 x 3 pixel dot survives a 1-pixel erosion
>>> solid_area(mask, dpi=150.0).round(3).tolist()
[0.029]
>>> mask[0, 0, :] = True  # a line one pixel wide does not add to it
>>> solid_area(mask, dpi=150.0).round(3).tolist()
[0.029]
"""

from __future__ import annotations

import numpy as np

from ._closer_look import (
    closer_patches,
    excess_mask,
    mask_area,
    pencil_darkness,
    solid_square,
)
from .calibration import Bands, ReadCalibration
from .read import BubbleDarkness, SamplingPattern, bands_for
from .register import Registration
from .template import MM_PER_INCH, Template

__all__ = [
    "SOLID_PATCH_RADIUS_MM",
    "SOLID_PATCH_MIN_MM2",
    "THIN_EROSION_SOLID_MIN_MM2",
    "BLOB_SOLID_SHARE_MIN",
    "SPECKLED_FILL_AREA_MIN_MM2",
    "unsquared_blob",
    "lone_solid_min_mm2",
    "solid_fill",
    "thin_erosion",
    "LINE_BAND_HALF_MM",
    "LINE_BAND_ANGLES",
    "LINE_RESIDUE_MAX_MM2",
    "SLIVER_CENTROID_MIN",
    "SLIVER_SOLID_MIN_MM2",
    "ink_centroid_offset",
    "BLANK_ITEM_LOOK_FROM",
    "solid_area",
    "off_band_area",
    "lone_candidates",
    "lined_candidates",
    "filled_candidates",
    "FILL_OFF_BAND_MIN_MM2",
    "FILL_SOLID_MIN_MM2",
    "FILL_HALO_CONTACT_MAX",
    "lined_fill_candidates",
    "thin_second_marks",
    "item_summary",
    "solid_mask",
    "LINED_FILL_HALO_MAX",
    "LINED_FILL_BODY_MIN",
    "LINED_FILL_OFF_BAND_MIN_MM2",
    "lone_mark_evidence",
]

#: Excess ink is eroded by a disc of this radius (mm; at least one scan
#: pixel) before its area is measured: erasure residue on a 1-bit scan is
#: specks of a pixel or two, a printed letter's thickened strokes are thin
#: edges; a dot (radius >= 0.45 mm) or a pencil stroke is wider.
SOLID_PATCH_RADIUS_MM = 0.15
#: A bubble alone in its item is a mark, surely, when at least this much of
#: its excess ink (mm²) survives the erosion: in the middle of the gap
#: between the most of lone erasure residue (0.097 mm², six pixels at 200
#: dpi) and the least of the dots above it (0.177 mm²) on dev seeds
#: 8121-8122 (see the module doc).
SOLID_PATCH_MIN_MM2 = 0.15
#: Where whole scan pixels make the erosion shallower than
#: ``SOLID_PATCH_RADIUS_MM`` (one pixel at 200 dpi is 0.127 mm; at 150 and
#: 300 dpi the erosion is 0.169 mm), a printed letter's stroke that erasure
#: residue thickened to three pixels (0.38 mm) keeps a spine a pixel wide,
#: and a lone bubble is a mark, surely, only with at least this much solid
#: ink (mm²).  Hard dev seeds 8701-8714 (2,800 sheets, 1,102 lone
#: candidates on 1-bit scans): the residue made sure marks at 200 dpi
#: (three threshold and adaptive bubbles, 0.16-0.20 mm², and fresh seed
#: 8790, sheet 122: 0.28 mm², a speckled blob and the spine of B) were all
#: at 200 dpi, wrong and sure; below this bound at 200 dpi are also 2 of
#: the 335 dots read surely (0.17 mm²) and 2 of the 23 light marks, which
#: now go to review.
#: At 150 and 300 dpi lone residue leaves at most 0.10 mm² (module doc).
THIN_EROSION_SOLID_MIN_MM2 = 0.3
#: ... and where the erosion is that shallow, a lone bubble whose excess
#: ink is a small blob (less than ``SPECKLED_FILL_AREA_MIN_MM2``) holding
#: no square of ``ljun._closer_look.SOLID_INK_MM`` is a mark, surely, only
#: when at least this share of that ink survives the erosion: a dot is
#: compact (the generator's smallest, 0.22 of the bubble's radius, clean
#: at 200 dpi: 0.40 of 0.73 mm², 0.56), erasure residue a letter's
#: thickened strokes and specks, mostly edge (hard fresh seed 8630, sheet
#: 143, E of item 40: residue drawn at 0.13 that a 200-dpi adaptive
#: threshold made a blob of 1.11 mm², 0.375 solid, 0.34; read as a sure
#: mark, a silent error).  Of the 178 lone bubbles read surely at 200 dpi
#: on hard dev seeds 8701-8706, 2 dots (0.26, 0.37) now go to review.
BLOB_SOLID_SHARE_MIN = 0.45
#: A light fill that an adaptive threshold left speckled spreads its excess
#: ink over the disc: at least 1.73 mm² for the lone light fills without a
#: square read surely on hard dev seeds 8701-8706 (solid shares 0.12-0.34),
#: where the dots without a square leave 0.69-1.43 mm² below this.
SPECKLED_FILL_AREA_MIN_MM2 = 1.6
#: A stray line's excess ink in a bubble is a straight band: on 1-bit
#: scans it lies within this distance (mm) of the band's middle (the band
#: is a whole number of scan pixels wide: 4, 6, 8 at 150, 200, 300 dpi).
#: Lines are drawn 0.3-0.5 mm wide and a threshold widens them by a pixel
#: or so each side.  Wider bands hold more of a dot that sits on the
#: line's path too (0.4 mm: a dot of 0.6 mm radius on a dark line, 150
#: dpi, left 0.23 mm² beyond the band; 0.35 mm: 0.37).
LINE_BAND_HALF_MM = 0.35
#: Directions of the straight band tried (evenly over 180 degrees): every
#: 10 degrees, the band's ends stray from a line's path by at most
#: 0.14 mm within the closer look's disc (1.6 mm radius).
LINE_BAND_ANGLES = 18
#: In an identity column, a line-crossed bubble of a column read blank
#: surely (1-bit) or a lined one (:func:`lined_candidates`, gray or 1-bit)
#: whose excess ink beyond the best straight band (:func:`off_band_area`)
#: is at most this (mm²) holds a line only, no mark.  (On gray scans only
#: the two lines of moderate dev seed 8402, sheets 165 and 172, are
#: measured: both within.)
#: Stray lines through blank identity bubbles, 1-bit threshold and
#: adaptive scans at 150-300 dpi (5,321 bubbles of 277 sheets, hard dev
#: seed 8404 and moderate 8405; 0.3 mm half band): at most 0.19 mm², 99 %
#: below 0.03; a dark line 0.45 mm wide
#: drawn by tests/test_lone_mark.py at 150 dpi: 0.20.  Ink beyond the band:
#: the light mark of N that an adaptive threshold made a thick ring and a
#: blob (hard seed 8222, sheet 138): 0.70; a dot of 0.6 mm radius on a
#: line's path (tests/test_lone_mark.py): 0.31-0.37.
LINE_RESIDUE_MAX_MM2 = 0.25
#: On a 1-bit scan, a lined identity bubble (:func:`lined_candidates`)
#: whose ink a straight band holds is still no line when the ink is a
#: sliver along the ring: touching the halo in at most one direction (a
#: line through the bubble leaves it on two sides), its centroid at least
#: ``SLIVER_CENTROID_MIN`` of the closer look's radius from the centre,
#: and at least ``SLIVER_SOLID_MIN_MM2`` of solid ink (:func:`solid_area`).
#: A partial fill of N along the ring of a name column (hard fresh seed
#: 8615, sheet 188, 150-dpi threshold and adaptive: a crescent covering an
#: eighth of the bubble, 0.22 mm² beyond the band) read blank surely: its
#: centroid 0.66, solid ink 0.52 mm², one direction.  The lined bubbles
#: made blank on 1-bit scans of hard dev seeds 8701-8714 (234 lines and
#: stroke ends, 136 of them touching the halo in at most one direction):
#: of those 136, the 31 with 0.3 mm² of solid ink or more have their
#: centroid at most 0.59 (0.76 with less).  Such a bubble stays unsure, for
#: review.  The bound rests on one sliver: a thin margin, on the safe side.
SLIVER_CENTROID_MIN = 0.62
SLIVER_SOLID_MIN_MM2 = 0.3
#: On a 1-bit scan (threshold or adaptive), an unsure answer bubble alone
#: in its item that a pencil line seems to run into (the kernel keeps it at
#: most unsure: a line explains its dark quarter) is a fill, surely, when
#: all three hold:
#:
#: * its ``body`` (the bubble without its darkest quarter) is at least
#:   ``LINED_FILL_BODY_MIN``: a line's path or a stroke's end darkens the
#:   quarter along it, not the body.  Stray lines through blank bubbles
#:   reach body 0.08-0.19 (100,853 blank line-crossed or unsure bubbles,
#:   150 dpi, dev seeds 8407-8409); the 44 unsure line-crossed answer
#:   bubbles of 1-bit threshold and adaptive scans of dev seeds 8701
#:   (moderate) and 8702 (hard), 36 sheets with such bubbles, with the
#:   strokes that end in a bubble: at most 0.28 where the truth is blank
#:   (27 bubbles; a stroke's end: 0.10; a tick's corner drawn in a blank
#:   bubble, 8701 sheet 6, D of item 28, before the generator kept
#:   corners on paper: 0.08), partial fills 0.15-0.61;
#: * its solid patch reaches beyond the best straight band
#:   (:func:`off_band_area` of the eroded excess ink) by at least
#:   ``LINED_FILL_OFF_BAND_MIN_MM2``: a line's or a stroke's ink lies in
#:   the band (those blank bubbles: at most 0.66 mm², the tick's corner,
#:   whose body is 0.08; with body >= 0.15 at most 0.57);
#: * its halo is below ``LINED_FILL_HALO_MAX``, a guard more than a
#:   separation: the rim of a fill that spills over the ring is grey in
#:   the halo, while the blank bubbles above whose body is darkest (0.18,
#:   0.20, 0.28) all have a black halo (1.0); partial fills 0.17-0.83,
#:   so a fill with a black halo stays unsure.
#:
#: The partial fill of moderate dev seed 8501, sheet 182 (150 dpi
#: threshold, a half moon spilling over the ring in one direction; halo
#: 0.22, body 0.39, 0.86 mm² beyond the band) was reviewed.
LINED_FILL_HALO_MAX = 0.5
LINED_FILL_BODY_MIN = 0.3
LINED_FILL_OFF_BAND_MIN_MM2 = 0.5
#: In an answer item read blank, a bubble with evidence above this is
#: looked at for a solid patch even without a line in its halo: a partial
#: fill along the ring, outside the kernel's inner disc, leaves only a
#: trace in it (0.055 on hard dev seed 8405, sheet 176).  Blank bubbles of
#: 1-bit scans are at 0, of gray scans 99 % at most 0.01 (moderate 200-dpi
#: gray, calibration/README.md); looking at every bubble of such items
#: instead cost 1.4 ms a sheet.
BLANK_ITEM_LOOK_FROM = 0.01
#: In an identity column, the one unsure bubble a line runs into
#: (:func:`filled_candidates`) is a fill, surely, when at least this much
#: of its excess ink (mm²) lies beyond the best straight band
#: (:func:`off_band_area`) ...
FILL_OFF_BAND_MIN_MM2 = 0.7
#: ... and at least this much (mm²) survives the erosion of
#: :func:`solid_area`.
FILL_SOLID_MIN_MM2 = 0.8
#: ... and the darkness beyond its ring touches at most this many of the
#: ``HALO_POINTS`` directions: a fill spills over the ring on one side or
#: two, a stroke through the bubble and on into the next (hard fresh seed
#: 8603, sheet 18, 200-dpi adaptive 1-bit: a short stroke through K into
#: L of a blank name column, K's halo touched in 5 directions, read as K
#: surely) on more.
FILL_HALO_CONTACT_MAX = 2


def solid_area(mask: np.ndarray, dpi: float) -> np.ndarray:
    """Area (mm²) of each mask left after erosion by ``SOLID_PATCH_RADIUS_MM``.

    Parameters
    ----------
    mask : (U, S, S) ndarray of bool
        Excess ink of U bubbles on a square grid of one scan pixel.
    dpi : float
        The scan's resolution.

    Returns
    -------
    (U,) ndarray of float64
    """
    return mask_area(solid_mask(mask, dpi), dpi)


def _erosion_radius_px(dpi: float) -> int:
    """``SOLID_PATCH_RADIUS_MM`` in whole scan pixels, at least one."""
    return max(1, int(round(SOLID_PATCH_RADIUS_MM * dpi / MM_PER_INCH)))


def thin_erosion(dpi: float) -> bool:
    """Whether whole pixels make the erosion of :func:`solid_area` shallower
    than ``SOLID_PATCH_RADIUS_MM`` at ``dpi``: erasure residue may then keep
    solid ink (``THIN_EROSION_SOLID_MIN_MM2``).

    >>> [thin_erosion(dpi) for dpi in (150.0, 200.0, 300.0)]
    [False, True, False]
    """
    return _erosion_radius_px(dpi) * MM_PER_INCH / dpi < SOLID_PATCH_RADIUS_MM


def solid_fill(ink: np.ndarray, dpi: float) -> np.ndarray:
    """(U,) bool: which masks of excess ink ``ink`` (U, S, S), reaching
    ``FILL_OFF_BAND_MIN_MM2`` beyond the best straight band already, are a
    fill and not a stroke: a solid patch (``FILL_SOLID_MIN_MM2`` after
    erosion) with a square of ``ljun._closer_look.SOLID_INK_MM`` somewhere
    (a tick's or a scribble's stroke, which a straight band does not hold
    either, fills none)."""
    return np.asarray((solid_area(ink, dpi) >= FILL_SOLID_MIN_MM2) & solid_square(ink, dpi))


def lone_solid_min_mm2(dpi: float) -> float:
    """Solid ink (mm²) that makes a lone bubble a sure mark at ``dpi``.

    >>> [lone_solid_min_mm2(dpi) for dpi in (150.0, 200.0, 300.0)]
    [0.15, 0.3, 0.15]
    """
    return THIN_EROSION_SOLID_MIN_MM2 if thin_erosion(dpi) else SOLID_PATCH_MIN_MM2


def unsquared_blob(ink: np.ndarray, solid: np.ndarray, dpi: float) -> np.ndarray:
    """(U,) bool: which masks of excess ink ``ink`` (U, S, S), ``solid``
    (U,) mm² of each left by :func:`solid_area`, are a small blob
    (``SPECKLED_FILL_AREA_MIN_MM2``) with no square that a shallow erosion
    mostly wiped out (``BLOB_SOLID_SHARE_MIN``): erasure residue as much as
    a dot."""
    area = mask_area(ink, dpi)
    blob = (area < SPECKLED_FILL_AREA_MIN_MM2) & (solid < BLOB_SOLID_SHARE_MIN * area)
    if blob.any():
        blob[blob] = ~solid_square(ink[blob], dpi)
    return blob


def solid_mask(mask: np.ndarray, dpi: float) -> np.ndarray:
    """Each mask eroded by a disc of ``SOLID_PATCH_RADIUS_MM``: (U, S, S) bool."""
    radius = _erosion_radius_px(dpi)
    side = mask.shape[1]
    # The disc reaches ``radius`` straight up, down and across: no pixel that
    # near the patch's edge (beyond it: no ink) survives, so only the inner
    # square is eroded (no padded copy).
    eroded = np.zeros_like(mask)
    inner = side - 2 * radius
    if inner <= 0:
        return eroded
    core = eroded[:, radius : radius + inner, radius : radius + inner]
    core[...] = mask[:, radius : radius + inner, radius : radius + inner]
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dx * dx + dy * dy <= radius * radius:
                shifted = mask[
                    :, radius + dy : radius + dy + inner, radius + dx : radius + dx + inner
                ]
                np.logical_and(core, shifted, out=core)
    return eroded


def off_band_area(
    mask: np.ndarray,
    dpi: float,
    half_mm: float | np.ndarray = LINE_BAND_HALF_MM,
    direction: np.ndarray | None = None,
) -> np.ndarray:
    """Area (mm²) of each mask outside the straight band that holds most of it.

    The band is ``2 * half_mm`` wide (``LINE_BAND_HALF_MM`` unless a line's
    own width is known), in one of ``LINE_BAND_ANGLES`` directions or along
    a line's own ``direction``, at any offset (one scan pixel steps): a
    stray line leaves (almost) nothing outside it, a blob or a line with a
    blob beside it does.

    Parameters
    ----------
    mask : (U, S, S) ndarray of bool
        Excess ink of U bubbles on a square grid of one scan pixel.
    dpi : float
        The scan's resolution.
    half_mm : float or (U,) ndarray of float
        Half the band's width, mm: one for every mask, or one each.
    direction : (U,) ndarray of float, optional
        A line's direction in each mask (radians from the x axis, y down;
        NaN where none is known), tried besides the fixed ones.

    Returns
    -------
    (U,) ndarray of float64

    >>> band = np.zeros((1, 15, 15), bool)
    >>> band[0, 6:9, :] = True  # a line three pixels wide
    >>> off_band_area(band, dpi=200.0).tolist()
    [0.0]
    >>> band[0, 0:4, 0:4] = True  # and a blob beside it
    >>> bool(off_band_area(band, dpi=200.0)[0] > 0)
    True
    >>> wide = np.zeros((1, 15, 15), bool)
    >>> wide[0, 4:11, :] = True  # a line seven pixels (0.89 mm) wide
    >>> off_band_area(wide, 200.0, np.array([0.5])).tolist()
    [0.0]
    >>> y, x = np.mgrid[:31, :31]
    >>> askew = (np.abs(y - 0.5 * x - 7) < 1.0)[None]  # 26.6 degrees, between two tried
    >>> off_band_area(askew, 200.0, 0.15).round(3).tolist()
    [0.129]
    >>> off_band_area(askew, 200.0, 0.15, np.array([np.arctan(0.5)])).round(3).tolist()
    [0.0]
    """
    n, side = mask.shape[0], mask.shape[1]
    pixel_mm = MM_PER_INCH / dpi
    angle = np.arange(LINE_BAND_ANGLES) * (np.pi / LINE_BAND_ANGLES)
    y, x = np.mgrid[:side, :side].reshape(2, -1).astype(np.float64)
    across = np.cos(angle)[:, None] * x + np.sin(angle)[:, None] * y  # (A, P) pixels
    step = np.floor(across - across.min(axis=1, keepdims=True)).astype(np.intp)
    n_steps = int(step.max()) + 1
    which, pixel = np.nonzero(mask.reshape(n, -1))
    key = (which[:, None] * LINE_BAND_ANGLES + np.arange(LINE_BAND_ANGLES)) * n_steps
    key = key + step[:, pixel].T
    counts = np.bincount(key.ravel(), minlength=n * LINE_BAND_ANGLES * n_steps)
    counts = counts.reshape(n, LINE_BAND_ANGLES, n_steps)
    widths = np.rint(2 * np.broadcast_to(half_mm, (n,)) / pixel_mm).astype(np.intp)
    widths = np.clip(widths, 1, n_steps)
    running = np.concatenate([np.zeros((n, LINE_BAND_ANGLES, 1)), counts.cumsum(axis=2)], axis=2)
    in_band = np.zeros(n)
    for width in np.unique(widths):  # one width for all, or a few
        some = widths == width
        held = running[some, :, width:] - running[some, :, :-width]
        in_band[some] = held.max(axis=(1, 2))
    if direction is not None:
        for u in np.flatnonzero(np.isfinite(direction)):  # the few lines measured
            normal = direction[u] + np.pi / 2
            ink = mask[u].reshape(-1)
            across_u = np.cos(normal) * x[ink] + np.sin(normal) * y[ink]
            counts_u = np.bincount(np.floor(across_u - across_u.min()).astype(np.intp))
            running_u = np.concatenate([[0], counts_u.cumsum()])
            width = min(int(widths[u]), len(counts_u))
            held_u = (running_u[width:] - running_u[:-width]).max()
            in_band[u] = max(in_band[u], held_u)
    return (mask.sum(axis=(1, 2)) - in_band) * pixel_mm**2


def ink_centroid_offset(mask: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Distance of each mask's ink centroid from the patch's centre, as a
    share of the radius of ``inside`` (the closer look's disc); 0 where a
    mask holds no ink.

    >>> y, x = np.mgrid[-4:5, -4:5]
    >>> inside = (x**2 + y**2 <= 16)[None]  # a disc of radius 4 pixels
    >>> ring_side = np.zeros((1, 9, 9), bool)
    >>> ring_side[0, 3:6, 7:9] = True  # ink by the right edge only
    >>> ink_centroid_offset(ring_side, inside).round(3).tolist()
    [0.875]
    """
    side = mask.shape[1]
    y, x = np.mgrid[:side, :side] - (side - 1) / 2.0
    radius = np.hypot(y, x)
    reach = np.where(inside, radius, 0.0).max(axis=(1, 2))
    count = mask.sum(axis=(1, 2))
    safe = np.maximum(count, 1)
    cy = (mask * y).sum(axis=(1, 2)) / safe
    cx = (mask * x).sum(axis=(1, 2)) / safe
    return np.where(count > 0, np.hypot(cy, cx) / np.maximum(reach, 1e-9), 0.0)


def _sliver(ink: np.ndarray, inside: np.ndarray, dpi: float, contact: np.ndarray) -> np.ndarray:
    """Which of the masks ``ink`` are a sliver along the ring
    (``SLIVER_CENTROID_MIN``): (U,) bool."""
    return (
        (contact <= 1)
        & (ink_centroid_offset(ink, inside) >= SLIVER_CENTROID_MIN)
        & (solid_area(ink, dpi) >= SLIVER_SOLID_MIN_MM2)
    )


def item_summary(
    evidence: np.ndarray, bubbles: BubbleDarkness, grid: np.ndarray, bands: Bands
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per item (row) of ``grid`` (I, O): how many bubbles are above the
    blank-sure band, whether the item lies on the scan, its darkest bubble
    and whether that bubble is below the marked-sure band; each (I,)."""
    e = evidence[grid]
    above = (e > bands.blank_sure_max).sum(axis=1)
    on_scan = bubbles.inside[grid].all(axis=1)
    bubble = grid[np.arange(len(grid)), np.argmax(e, axis=1)]
    return above, on_scan, bubble, evidence[bubble] < bands.marked_sure_min


def lone_candidates(
    evidence: np.ndarray,
    bubbles: BubbleDarkness,
    grids: list[np.ndarray],
    calibration: ReadCalibration,
    *,
    lined_only: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Bubbles alone in their item that a solid patch decides.

    ``lone``: unsure bubbles, the only one of their item not blank-sure,
    with no line in their halo (a solid patch makes them sure marks);
    ``crossed``: bubbles of items read blank surely that a line runs into,
    or with ``lined_only`` False also those with any evidence of ink
    (above ``BLANK_ITEM_LOOK_FROM``; a solid patch makes them unsure).

    Parameters
    ----------
    evidence : (N,) ndarray of float32
        Mark evidence after the closer look.
    bubbles : BubbleDarkness
    grids : list of (I, O) ndarray of intp
        Bubble indices of the items of each answer field.
    calibration : ReadCalibration
    lined_only : bool
        ``crossed`` holds only bubbles with a line in their halo, not those
        with evidence above ``BLANK_ITEM_LOOK_FROM`` too.

    Returns
    -------
    lone, crossed : (U,) ndarray of intp
        Bubble indices, geometry order within each grid.
    """
    bands = bands_for(bubbles, calibration)
    lone, crossed = [np.zeros(0, np.intp)], [np.zeros(0, np.intp)]
    for grid in grids:
        above, on_scan, bubble, unsure = item_summary(evidence, bubbles, grid, bands)
        no_line = bubbles.halo[bubble] < bands.line_halo_min
        lone.append(bubble[(above == 1) & on_scan & unsure & no_line])
        line = bubbles.halo[grid] >= bands.line_halo_min
        if not lined_only:
            line = line | (evidence[grid] > BLANK_ITEM_LOOK_FROM)
        crossed.append(grid[((above == 0) & on_scan)[:, None] & line])
    return np.concatenate(lone).astype(np.intp), np.concatenate(crossed).astype(np.intp)


def _column_unsure(
    evidence: np.ndarray, bubbles: BubbleDarkness, grid: np.ndarray, bands: Bands
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per column (row) of ``grid`` (I, O): its unsure bubble (the darkest
    of those between the blank-sure and marked-sure bands), whether it is
    the only unsure one, how many bubbles are marked surely, and whether
    the column lies on the scan; each (I,)."""
    e = evidence[grid]
    unsure = bands.unsure(e)
    bubble = grid[np.arange(len(grid)), np.argmax(np.where(unsure, e, -np.inf), axis=1)]
    sure = (e >= bands.marked_sure_min).sum(axis=1)
    on_scan = bubbles.inside[grid].all(axis=1)
    return bubble, unsure.sum(axis=1) == 1, sure, on_scan


def lined_fill_candidates(
    evidence: np.ndarray,
    bubbles: BubbleDarkness,
    grids: list[np.ndarray],
    calibration: ReadCalibration,
) -> np.ndarray:
    """Unsure bubbles alone in their item that a line seems to run into,
    with a grey halo (below ``LINED_FILL_HALO_MAX``) and a dark body (at
    least ``LINED_FILL_BODY_MIN``): the rim of a fill, or a line.

    Parameters
    ----------
    evidence : (N,) ndarray of float32
        Mark evidence after the closer look.
    bubbles : BubbleDarkness
    grids : list of (I, O) ndarray of intp
        Bubble indices of the items of each answer field.
    calibration : ReadCalibration

    Returns
    -------
    (U,) ndarray of intp
    """
    bands = bands_for(bubbles, calibration)
    found = [np.zeros(0, np.intp)]
    for grid in grids:
        above, on_scan, bubble, unsure = item_summary(evidence, bubbles, grid, bands)
        halo = bubbles.halo[bubble]
        lined = (halo >= bands.line_halo_min) & (halo < LINED_FILL_HALO_MAX)
        body = bubbles.body[bubble] >= LINED_FILL_BODY_MIN
        found.append(bubble[(above == 1) & on_scan & unsure & lined & body])
    return np.concatenate(found).astype(np.intp)


def thin_second_marks(
    evidence: np.ndarray,
    bubbles: BubbleDarkness,
    grids: list[np.ndarray],
    calibration: ReadCalibration,
) -> np.ndarray:
    """Sure marks of items with two sure marks or more whose ``body`` is
    blank-sure: all their ink in the darkest quarter.

    A 1-bit threshold turns a light stroke over erasure residue into a
    black crescent inside the ring (moderate dev seed 8502, sheet 104, 150
    dpi adaptive: a short stray stroke from D to E over residue in D;
    quarter 0.94, body 0.03, its halo clean) that reads as a sure mark
    beside the item's real fill (C, body 1.0): a sure multi-mark, silently
    wrong.  On gray scans a pencil stroke's end does the same (hard seed
    8606, sheet 87, 300 dpi: a tick's tail ending in E beside the fill in
    D; E's quarter 0.40, body 0.05, core 0.38).  The generator's
    multi-marks are whole fills; such a thin second mark goes to review
    instead (:func:`lone_mark_evidence` makes it marked-unsure), on every
    scan but a dithered one.

    Parameters
    ----------
    evidence : (N,) ndarray of float32
        Mark evidence after the closer look.
    bubbles : BubbleDarkness
    grids : list of (I, O) ndarray of intp
        Bubble indices of the items of each answer field.
    calibration : ReadCalibration

    Returns
    -------
    (U,) ndarray of intp
    """
    bands = bands_for(bubbles, calibration)
    found = [np.zeros(0, np.intp)]
    for grid in grids:
        sure = evidence[grid] >= bands.marked_sure_min
        several = sure.sum(axis=1) >= 2
        thin = sure & (bubbles.body[grid] <= bands.blank_sure_max) & several[:, None]
        found.append(grid[thin])
    return np.concatenate(found).astype(np.intp)


def lined_candidates(
    evidence: np.ndarray,
    bubbles: BubbleDarkness,
    grids: list[np.ndarray],
    calibration: ReadCalibration,
) -> np.ndarray:
    """Unsure bubbles alone in their column that a line runs into, the rest
    of the bubble blank: a stray line through a blank bubble, or a mark.

    The bubble is the only one of its column in the unsure band, the
    column's others blank-sure but for at most one marked surely (the
    column's letter: a stray line through a blank bubble beside it, moderate
    seed 8502 sheets 20 and 188), with its halo at least ``line_halo_min``
    and its ``body`` (the bubble without its darkest quarter) blank-sure: a
    light or partial fill darkens more than a line's path.

    Parameters
    ----------
    evidence : (N,) ndarray of float32
        Mark evidence after the closer look.
    bubbles : BubbleDarkness
    grids : list of (I, O) ndarray of intp
        Bubble indices of the columns of each identity field.
    calibration : ReadCalibration

    Returns
    -------
    (U,) ndarray of intp
        Bubble indices, geometry order within each grid.
    """
    bands = bands_for(bubbles, calibration)
    lined = [np.zeros(0, np.intp)]
    if not _any_lined_unsure(evidence, bubbles, grids, bands):
        return lined[0]  # most sheets: no column to look at
    for grid in grids:
        bubble, alone, sure, on_scan = _column_unsure(evidence, bubbles, grid, bands)
        line = bubbles.halo[bubble] >= bands.line_halo_min
        body_blank = bubbles.body[bubble] <= bands.blank_sure_max
        lined.append(bubble[alone & (sure <= 1) & on_scan & line & body_blank])
    return np.concatenate(lined).astype(np.intp)


def filled_candidates(
    evidence: np.ndarray,
    bubbles: BubbleDarkness,
    grids: list[np.ndarray],
    calibration: ReadCalibration,
) -> np.ndarray:
    """Unsure bubbles alone in their column that a line runs into, whatever
    their body: a fill whose stroke spilled over the ring, or a line.

    The bubble is the only one of its column in the unsure band, every
    other bubble of the column blank-sure (no letter marked surely), its
    halo at least ``line_halo_min`` and touched in at most
    ``FILL_HALO_CONTACT_MAX`` directions.  The kernel keeps such a fill unsure
    (a line explains its darkest quarter; ``ljun.read.mark_evidence``);
    :func:`lone_mark_evidence` reads it as a mark when its excess ink is a
    solid fill far beyond any straight band (``FILL_OFF_BAND_MIN_MM2``,
    ``FILL_SOLID_MIN_MM2``).

    Parameters
    ----------
    evidence, bubbles, grids, calibration
        As for :func:`lined_candidates`.

    Returns
    -------
    (U,) ndarray of intp
        Bubble indices, geometry order within each grid.
    """
    bands = bands_for(bubbles, calibration)
    filled = [np.zeros(0, np.intp)]
    if not _any_lined_unsure(evidence, bubbles, grids, bands):
        return filled[0]
    for grid in grids:
        bubble, alone, sure, on_scan = _column_unsure(evidence, bubbles, grid, bands)
        line = bubbles.halo[bubble] >= bands.line_halo_min
        spill = bubbles.halo_contact[bubble] <= FILL_HALO_CONTACT_MAX
        filled.append(bubble[alone & (sure == 0) & on_scan & line & spill])
    return np.concatenate(filled).astype(np.intp)


def _any_lined_unsure(
    evidence: np.ndarray, bubbles: BubbleDarkness, grids: list[np.ndarray], bands: Bands
) -> bool:
    """Whether any bubble of ``grids`` is in the unsure band with a line in its halo."""
    every = np.concatenate([grid.ravel() for grid in grids])
    e = evidence[every]
    unsure = bands.unsure(e)
    return bool((unsure & (bubbles.halo[every] >= bands.line_halo_min)).any())


def lone_mark_evidence(
    image: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    template: Template,
    bubbles: BubbleDarkness,
    evidence: np.ndarray,
    calibration: ReadCalibration,
) -> np.ndarray:
    """The evidence with lone solid marks of 1-bit answer items made sure.

    Parameters
    ----------
    image : (H, W) ndarray of uint8
        The scan, as the kernel read it.
    registration, pattern, bubbles
        What the kernel measured ``evidence`` on.
    template : Template
        Lone marks are looked for in its ``answers`` field; line-crossed
        bubbles there, and on 1-bit scans in every field; lined bubbles in
        its identity fields.
    evidence : (N,) ndarray of float32
        After the closer look (:func:`ljun._closer_look.closer_evidence`).
    calibration : ReadCalibration

    Returns
    -------
    (N,) ndarray of float32
        ``evidence``, with ``marked_sure_min`` where a lone bubble holds a
        solid patch of pencil, blank-unsure where a line-crossed one of
        an item read blank does, and ``blank_sure_max`` where a straight
        band holds all the ink of a lined identity bubble, and
        marked-unsure where a sure second mark of an answer item is
        thin (:func:`thin_second_marks`; see the module doc).
    """
    if bubbles.dithered:
        return evidence
    geometry = pattern.geometry
    answers = [geometry.grid(f.name) for f in template.fields if f.kind == "answers"]
    # A sure second mark whose ink is all in its darkest quarter is no sure
    # mark (moderate dev seed 8502, sheet 104: a stroke from D to E over
    # erasure residue, 1-bit, read as a sure multi-mark C and D; hard seed
    # 8606, sheet 87, 300-dpi gray: a tick's tail ending in E beside the
    # fill in D, read as a sure multi-mark D and E).
    thin = thin_second_marks(evidence, bubbles, answers, calibration)
    if len(thin):
        bands = bands_for(bubbles, calibration)
        evidence = evidence.copy()
        evidence[thin] = np.float32(bands.marked_unsure_middle)
    # Every bubble of an answer item read blank, not only those a line runs
    # into: a partial fill along the ring lies outside the kernel's inner
    # disc (hard dev seed 8405, sheet 176: a solid segment over the lower
    # 40 % of E, 3 of 48 inner points on it, read blank surely).
    lone, crossed = lone_candidates(evidence, bubbles, answers, calibration, lined_only=False)
    n_answers = len(crossed)
    others = [geometry.grid(f.name) for f in template.fields if f.kind != "answers"]
    # A stray line through a blank identity bubble (the column otherwise
    # blank) that the kernel kept unsure: blank surely when a straight band
    # holds its ink (moderate dev seed 8402, sheets 165 and 172: lines
    # through B and Q of blank name columns, gray and 1-bit, read as letters
    # and reviewed).
    lined = lined_candidates(evidence, bubbles, others, calibration)
    # A fill that spilled over the ring, alone in its column, that the
    # kernel kept unsure because a line explains its darkest quarter
    # (moderate seeds 8502 and 8503: partial fills of name and nomor
    # letters, gray and 1-bit, read right and reviewed).
    filled = filled_candidates(evidence, bubbles, others, calibration)
    if bubbles.bilevel:
        # On 1-bit scans a line-crossed bubble with a solid patch is unsure
        # in identity columns too (hard seed 8222, sheet 138: a light mark
        # of N that an adaptive threshold made a thick ring and a blob, read
        # blank surely).  Not on gray scans, where stray lines through
        # identity columns hold such patches too (moderate 200-dpi gray
        # reviews 0.5 -> 3.5 % on seed 8301, all needless); a lone bubble is
        # read surely in answer items only.
        identity_crossed = lone_candidates(evidence, bubbles, others, calibration)[1]
        crossed = np.concatenate([crossed, identity_crossed])
        # A fill a line touches in an answer item (moderate dev seed 8501,
        # sheet 182: a half moon spilling over the ring, kept unsure as a
        # line and reviewed).
        lined_fill = lined_fill_candidates(evidence, bubbles, answers, calibration)
    else:
        # On gray scans the kernel reads a dot's darkness itself; only a
        # stroke a line may explain is looked at (seed 8123, sheet 65).
        lone = lone[:0]
        lined_fill = np.zeros(0, np.intp)
    looked = np.concatenate([lone, crossed, lined, filled, lined_fill])
    if len(looked) == 0:
        return evidence
    bands = bands_for(bubbles, calibration)
    blank = evidence <= bands.blank_sure_max
    patches = closer_patches(image, registration, pattern, bubbles.paper, looked, blank)
    darker_by = pencil_darkness(bubbles.bilevel)
    excess = excess_mask(patches, darker_by)
    n_solid = len(lone) + len(crossed)
    n_filled = n_solid + len(lined) + len(filled)
    line_only = np.zeros(len(lined), bool)
    fill = np.zeros(len(filled), bool)
    if len(lined) + len(filled):
        banded = excess[n_solid:n_filled]
        beyond = off_band_area(banded, patches.dpi)
        usable = patches.usable[n_solid:n_filled]
        line_only = (usable & (beyond <= LINE_RESIDUE_MAX_MM2))[: len(lined)]
        if bubbles.bilevel and line_only.any():
            line_only &= ~_sliver(
                banded[: len(lined)],
                patches.inside[n_solid : n_solid + len(lined)],
                patches.dpi,
                bubbles.halo_contact[lined],
            )
        fill = usable[len(lined) :] & (beyond[len(lined) :] >= FILL_OFF_BAND_MIN_MM2)
        if fill.any():
            ink = banded[len(lined) :][fill]
            fill[fill] = solid_fill(ink, patches.dpi)
    lined_fill_sure = np.zeros(len(lined_fill), bool)
    if len(lined_fill):
        beyond = off_band_area(solid_mask(excess[n_filled:], patches.dpi), patches.dpi)
        lined_fill_sure = patches.usable[n_filled:] & (beyond >= LINED_FILL_OFF_BAND_MIN_MM2)
    excess = excess[:n_solid]
    solid_ink = solid_area(excess, patches.dpi)
    solid = patches.usable[:n_solid] & (solid_ink >= SOLID_PATCH_MIN_MM2)
    # A lone bubble made a sure mark needs more where the erosion is
    # shallow (200 dpi: a residue-thickened letter keeps its spine); it
    # stays unsure otherwise, for review.
    solid[: len(lone)] &= solid_ink[: len(lone)] >= lone_solid_min_mm2(patches.dpi)
    if thin_erosion(patches.dpi):
        solid[: len(lone)] &= ~unsquared_blob(
            excess[: len(lone)], solid_ink[: len(lone)], patches.dpi
        )
    # In an identity column (1-bit) a patch a straight band explains is the
    # line itself: only one with ink beyond the band goes to review (seed
    # 8222 sheet 138's blob: 0.70 mm²; stray lines: at most 0.20 mm²).
    # Answer items keep the rule whole: a dot may sit on the line's path.
    identity = np.flatnonzero(solid[len(lone) + n_answers :]) + len(lone) + n_answers
    if len(identity):
        beyond = off_band_area(excess[identity], patches.dpi)
        solid[identity[beyond <= LINE_RESIDUE_MAX_MM2]] = False
    out = evidence.copy()
    out[lone[solid[: len(lone)]]] = np.float32(bands.marked_sure_min)
    out[crossed[solid[len(lone) :]]] = np.float32(bands.blank_unsure_middle)
    out[lined[line_only]] = np.float32(bands.blank_sure_max)
    out[filled[fill]] = np.float32(bands.marked_sure_min)
    out[lined_fill[lined_fill_sure]] = np.float32(bands.marked_sure_min)
    return out
