"""Answer bubbles of a gray scan that a pencil line runs into: the line
alone, or a fill the line seems to touch.

On moderate 200-dpi gray scans (bench_read dev seeds 8601-8605, 1,000
sheets) almost every review was of a sheet read right, and almost all of
those were one answer item with a pencil stroke in one bubble:

* a stray line through a blank bubble, or a stroke that *ends* inside one
  (the generator's ``stroke_ends``: a short stroke, a tick's tail, a line
  stopping there), in an item read blank: the kernel reads it blank surely
  (its ``body`` is paper), but the closer look finds a solid patch of
  pencil, so :func:`ljun._lone_mark.lone_mark_evidence` sends it to review
  (a tick whose tail runs out over the ring, or a dot under a line, look
  alike to the kernel);
* the same beside the item's mark (the stroke ends on the printed letter,
  whose darkness the kernel's centre points read as a dot): a second mark
  at 0.4 of the first, residue or a lighter second mark, unsure;
* a partial fill spilling over the ring in one direction: its halo dark,
  the kernel takes its darkest quarter for a line's and keeps it unsure.

A person is sure of each at a glance, and so is the reader on this
evidence, on the scan's pixels around the bubble (the closer look,
:func:`ljun._closer_look.closer_patches`, pencil at least
``GRAY_EXCESS_DARKNESS`` darker than the blank bubbles printed alike):

* :func:`line_only_candidates`: a bubble in the unsure band with a line in
  its halo and its ``body`` (the bubble without its darkest quarter)
  blank-sure, whose pencil lies in one straight band
  (:func:`ljun._lone_mark.off_band_area` at most
  ``LINE_ONLY_OFF_BAND_MAX_MM2``) and runs on well beyond the ring
  (:func:`line_trace`, ``LINE_REACH_MIN``) is the line only: blank,
  surely.  On a gray scan the band is as wide as the line is where it runs
  beyond the ring, and may lie along its direction there
  (:func:`line_band_half`): a dark, blurred line is wider than the fixed
  band (fresh seed 8621, moderate 200-dpi gray sheets 37 and 40: lines
  0.8-0.9 mm wide through A and E, reviewed).  A tick has a knee (pencil
  beyond any straight band), a dot on a line's path widens the band (the
  generator's smallest dot is 0.96 mm across, its widest line 0.5 mm), and
  a student's slash stays inside the ring: each stays in review.  The
  width is taken where the line runs whole: a short stroke's run beyond
  the ring, cut across by the circles it is looked at between, held fewer
  pixels a step at its ends (fresh seed 8638, sheet 199: a stroke 0.85 mm
  wide ending in A beside the dot in D measured 0.69 mm, its band too
  narrow by a pixel, reviewed);
* :func:`gray_lined_fill_candidates`: a bubble in the unsure band, the only
  one of its item not blank-sure, with a line in its halo touching few
  directions and a ``body`` of at least ``GRAY_LINED_FILL_BODY_MIN``,
  whose solid pencil reaches beyond every straight band by
  ``GRAY_LINED_FILL_OFF_BAND_MIN_MM2`` and fills a square of
  ``ljun._closer_look.SOLID_INK_MM`` is a fill: marked, surely.

The same two rules hold on 1-bit threshold and adaptive scans (branch
``ends``), with the pencil the closer look finds there (a pixel black
where the blank look is white, ``BILEVEL_EXCESS_DARKNESS``) and the
thresholds measured on 1-bit scans (``BILEVEL_LINE_ONLY_OFF_BAND_MAX_MM2``,
``BILEVEL_LINED_FILL_BODY_MIN``, ``BILEVEL_LINED_FILL_OFF_BAND_MIN_MM2``;
:func:`ljun._lone_mark.lined_fill_candidates` has settled the lined fills
with a grey halo before).

And beside the item's fill (:func:`beside_fill_candidates`): an unsure
bubble whose ``body`` is blank-sure, in an item where another option is a
sure fill (its evidence and its body at least ``marked_sure_min``), is
blank, surely, on gray and 1-bit scans, when its ink is

* a line only (as above), or
* a stroke's end: the path measure of :mod:`ljun._stroke_end`
  (:func:`ljun._stroke_end.stroke_evidence`,
  :func:`ljun._stroke_end.stroke_end`, the identity letters' thresholds)
  with the path leaving the ring one way (``one_side`` at least
  ``PATH_ONE_SIDE_MIN``; a line through the bubble, a dot perhaps on its
  path, leaves it both ways), or
* on a 1-bit scan with no line in the halo, a speck with no solid patch
  (``BESIDE_SPECK_MAX_MM2``): what a threshold leaves of a light stroke's
  end or of erasure residue.

Moderate 200-dpi gray and mixed sheets went to review for nothing else
(fresh seed 8606, moderate sheet 47: a short stroke ending in 13 C beside
the fill in B; moderate mixed sheets 11 and 26, 1-bit: a line ending in
13 A, a short stroke's speck in 7 B; seed 8607 sheet 180: a stray line
through 21 B beside D).  A real mark there beside a fill would make a
multiple mark, whose marks students fill (as the generator does); a
second mark that is no stroke's end, line or speck stays in review.

The lone-fill rule below holds for identity columns of gray scans too
(fresh seed 8629 sheet 47: a partial fill of 6 in the 9th nomor column,
reviewed).

A partial fill lying by the ring, outside the kernel's inner disc, leaves
that disc almost clean: the kernel reads it as the item's mark but unsure
(evidence 0.23-0.26), and the sheet went to review for nothing else on
moderate 200-dpi gray dev sets (seeds 8703 sheet 85, 8704 sheet 13, 8709
sheet 12, 8710 sheet 24, 8745 sheet 120; easy 8756 sheet 26, spilling over
the ring).  :func:`gray_lone_fill_candidates`: on a gray scan, the only
bubble of its item not blank-sure, unsure (read as the mark, or as blank
when the fill leaves the inner disc almost clean), is a fill, surely,
when its solid pencil reaches beyond
every straight band (``GRAY_LONE_FILL_OFF_BAND_MIN_MM2``, or with a line in
its halo ``GRAY_LINED_FILL_OFF_BAND_MIN_MM2``, or with a dark halo whose
pencil does not run on beyond the ring, the fill's own spill,
``GRAY_SPILL_FILL_OFF_BAND_MIN_MM2``) and fills a square of
``ljun._closer_look.SOLID_INK_MM``: a stroke's end or a line lies in one
band, erasure residue is too faint (none of 3,856 residues had any solid
pencil beyond a band, in any band of evidence).  A bubble read as the mark
keeps its reading and gains confidence; one read blank becomes the mark.

On dithered scans only the stroke's end beside the item's fill is looked
at, in the dot density (:func:`ljun._closer_look.dot_density`, the gray
thresholds, as ``ljun._identity_column`` does for identity columns): blank,
surely (moderate mixed dev seeds 8701 sheets 60 and 92, 8501 sheet 58: a
short stroke ending in A beside a light fill, reviewed).  Every other
bubble keeps its evidence.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from ._closer_look import (
    CLOSER_RADIUS_FRACTION,
    GRAY_EXCESS_DARKNESS,
    MIN_REFERENCES,
    REFERENCE_GROW_PX,
    Patches,
    closer_patches,
    dot_density,
    excess_mask,
    mask_area,
    members_median,
    patch_darkness,
    patch_offsets,
    pencil_darkness,
    solid_square,
)
from ._lone_mark import (
    FILL_HALO_CONTACT_MAX,
    LINE_BAND_HALF_MM,
    LINED_FILL_HALO_MAX,
    SOLID_PATCH_MIN_MM2,
    item_summary,
    off_band_area,
    solid_area,
    solid_mask,
)
from ._stroke_end import stroke_end, stroke_evidence
from .calibration import ReadCalibration
from .read import BubbleDarkness, SamplingPattern, bands_for
from .register import Registration
from .template import MM_PER_INCH, Template

__all__ = [
    "LINE_ONLY_OFF_BAND_MAX_MM2",
    "BILEVEL_LINE_ONLY_OFF_BAND_MAX_MM2",
    "BILEVEL_LINED_FILL_BODY_MIN",
    "BILEVEL_LINED_FILL_OFF_BAND_MIN_MM2",
    "BESIDE_SPECK_MAX_MM2",
    "PATH_ONE_SIDE_MIN",
    "beside_fill_candidates",
    "GRAY_LINED_FILL_BODY_MIN",
    "GRAY_LINED_FILL_OFF_BAND_MIN_MM2",
    "GRAY_LONE_FILL_OFF_BAND_MIN_MM2",
    "GRAY_SPILL_FILL_OFF_BAND_MIN_MM2",
    "gray_lone_fill_candidates",
    "LINE_REACH_LOOK",
    "LINE_REACH_MIN",
    "LINE_TRACE_DARKNESS",
    "line_only_candidates",
    "LINE_BAND_HALF_MAX_MM",
    "LINE_WIDTH_FROM",
    "line_band_half",
    "LINE_WIDTH_MIN_STEPS",
    "LineTrace",
    "line_trace",
    "gray_lined_fill_candidates",
    "lined_answer_evidence",
]

#: An answer bubble's pencil lies in one straight band when at most this
#: much of it (mm²) is beyond the best band (``LINE_BAND_HALF_MM`` each
#: side of its middle).  Line-touched answer bubbles of gray 200-dpi scans
#: with their body blank-sure (dev seeds 8601 moderate and 8701 hard, 400
#: sheets): the least of a mark is 0.26 (a dot on a stray line; ticks
#: 0.41, partial fills 0.97), while half of the strokes and lines through
#: blank bubbles the lone-mark rule sent to review are below 0.07 (the
#: others up to 0.39 stay in review).  A dot of the generator's least
#: radius (0.48 mm) centred on a line's path leaves about 0.12 beyond
#: the band.
LINE_ONLY_OFF_BAND_MAX_MM2 = 0.08
#: A gray scan's line is wider than the band of ``LINE_BAND_HALF_MM``
#: when dark and blurred; the band is fitted to its measured width
#: (:func:`line_band_half`), up to this half width (mm).
LINE_BAND_HALF_MAX_MM = 0.5
#: The scan around a lined bubble is looked at out to this many bubble
#: radii: past where a student's slash or tick can reach, short of the
#: far side of the next option (answer bubbles 2.5 r apart).
LINE_REACH_LOOK = 2.0
#: A lined bubble's pencil is a line running on beyond the ring when it
#: reaches at least this many radii from the centre (joined to the
#: inside): a student's slash ends at 0.92 r (the generator's jitter
#: 0.08 r, its pencil 0.1 r wide each side: at most about 1.3 r), a stray
#: stroke starts 0.5-4 mm (1.3-2.9 r) beyond the ring and a stray line far
#: beyond.
LINE_REACH_MIN = 1.6
#: A lined bubble's line is measured for its width this many radii from
#: the centre and on (:func:`line_trace`): beyond the printed ring (to
#: 1.0 r) and the pixel it is grown by.
LINE_WIDTH_FROM = 1.2
#: ... where it must run at least this many scan pixels along its
#: direction to be measured.
LINE_WIDTH_MIN_STEPS = 5
#: Beyond the bubble's inside, where its line is traced, pencil this much
#: darker than the blank look (darkness) counts: a light stray line
#: (moderate dev seed 8604, sheet 160: halo 0.28) falls below
#: ``GRAY_EXCESS_DARKNESS`` here and there; scanner noise on paper stays
#: within 0.05.
LINE_TRACE_DARKNESS = 0.12
#: A lone unsure answer bubble of a gray scan that a line seems to run into
#: is a fill when its ``body`` is at least this ...: on the same sheets,
#: blank bubbles a line or stroke runs into reach at most 0.061, partial
#: fills and ticks it touches 0.086-0.18 (dots 0.02-0.04: not looked at);
#: the two partial fills of dev seeds 8602 (sheet 149) and 8605 (sheet
#: 49) reviewed on moderate 200-dpi gray, 0.10 and 0.11.
GRAY_LINED_FILL_BODY_MIN = 0.08
#: ... and its solid pencil (eroded, :func:`ljun._lone_mark.solid_mask`)
#: reaches beyond the best straight band by at least this (mm²), as on
#: 1-bit scans (``ljun._lone_mark.LINED_FILL_OFF_BAND_MIN_MM2``): a line's
#: or a stroke's pencil lies in the band.
GRAY_LINED_FILL_OFF_BAND_MIN_MM2 = 0.5
#: A lone answer bubble of a gray scan that the kernel keeps unsure (its
#: evidence in the unsure band, read as the mark or as blank, every other
#: option blank-sure; :func:`gray_lone_fill_candidates`) is a fill, surely,
#: when its solid pencil (eroded, :func:`ljun._lone_mark.solid_mask`)
#: reaches beyond the best straight band by at least this (mm²) with no line
#: in its halo (with one, ``GRAY_LINED_FILL_OFF_BAND_MIN_MM2``), and fills a
#: square of ``ljun._closer_look.SOLID_INK_MM``.  Answer bubbles of gray
#: scans whose truth is blank (calibration/README.md, seventh round
#: `ticks`: 2,500 sheets of moderate and hard dev sets, 150-300 dpi):
#: without a line in the halo 0.000 (3,798 erasure residues, 30 strokes'
#: ends); with one, strokes' ends up to 0.274 (a short stroke 0.75 mm wide
#: with a blot at its end; ticks' tails 0.171, lines 0.028).  Partial fills
#: by the ring reviewed on moderate dev sets, read right: without a line
#: 0.27-0.99 (seeds 8703 sheet 85, 8704 sheet 13, 8709 sheet 12, 8745 sheet
#: 120), with one 0.63 and 1.74 (easy 8756 sheet 26, moderate 8710 sheet 24).
GRAY_LONE_FILL_OFF_BAND_MIN_MM2 = 0.2
#: ... and with a dark halo whose pencil does not run on beyond the ring
#: (:func:`line_trace` reach under ``LINE_REACH_MIN``: the mark's own spill
#: over the ring, a tick's short arm), at least this.  Lone unsure answer
#: bubbles of gray scans with a dark halo and a solid square (hard and
#: moderate 200-dpi gray dev seeds 8701-8706, hard mixed 8701-8703; 133):
#: the 56 whose pencil reaches less than 1.6 radii are all marks (dots,
#: ticks, partial fills; 0.18-2.56 beyond the band), while every blank one
#: (strokes' ends, lines: 28) reaches 1.68 radii or more; the most a
#: stroke's end has kept beyond the band is 0.274 (a blot at a short
#: stroke's end, above).  Fresh seed 8626 sheet 155 (moderate 200-dpi
#: gray): a dark crescent over the right of D spilling over the ring, 0.467
#: beyond, reach 1.28, reviewed.
GRAY_SPILL_FILL_OFF_BAND_MIN_MM2 = 0.3
#: On 1-bit scans, a lined bubble's pencil lies in one straight band when
#: at most this much of it (mm²) is beyond the best band: stray lines and
#: strokes through blank answer bubbles of 1-bit threshold and adaptive
#: scans (dev seeds 8601-8602 moderate and hard mixed, 800 sheets) 0.000-
#: 0.016, through blank identity bubbles 99 % below 0.03 (see
#: ``ljun._lone_mark.LINE_RESIDUE_MAX_MM2``); the generator's smallest dot
#: (0.22 of the radius) on a line's path leaves 0.065-0.115 beyond it
#: (tests/test_lined_answers.py, 150-300 dpi): the thickened line on a
#: 1-bit scan hides more of a dot than on gray.
BILEVEL_LINE_ONLY_OFF_BAND_MAX_MM2 = 0.03
#: On 1-bit scans, a lone unsure answer bubble a line runs into with a
#: black halo (``ljun._lone_mark.LINED_FILL_HALO_MAX`` or more: the
#: lone-mark look settled the grey ones) is a fill when its ``body`` is at
#: least this (blank bubbles with a black halo: at most 0.28, see
#: ``ljun._lone_mark.LINED_FILL_BODY_MIN``; moderate fresh seed 8606 sheet
#: 30, a partial fill of 19 B a stray line touches, 150-dpi threshold: 0.45,
#: halo 0.76) ...
BILEVEL_LINED_FILL_BODY_MIN = 0.35
#: ... and its solid pencil reaches beyond the best straight band by at
#: least this (mm²; those blank bubbles: at most 0.57; sheet 30's: 1.65),
#: with a square of ``ljun._closer_look.SOLID_INK_MM`` in it.
BILEVEL_LINED_FILL_OFF_BAND_MIN_MM2 = 0.8
#: Beside the item's fill, a stroke's end (:func:`ljun._stroke_end.stroke_end`)
#: leaves the ring one way: its path's ``one_side`` (the mean of the unit
#: vectors from the centre to its pixels) is at least this.  A path within
#: 45 degrees either side of its direction: 0.9; a line through the bubble,
#: out on both sides (a dot may sit on its path): near 0.
PATH_ONE_SIDE_MIN = 0.6
#: Beside the item's fill, a 1-bit bubble with a blank body and no line
#: in its halo whose pencil is a speck of at most this (mm²) with no solid
#: patch (less than ``ljun._lone_mark.SOLID_PATCH_MIN_MM2``) is blank: what
#: a threshold leaves of a light stroke's end (fresh seed 8606, moderate
#: sheet 26, 7 B beside the fill in E: 0.63 mm², solid 0.03) or of erasure
#: residue (hard dev seeds 8601-8602: 0.50-0.76 mm², solid 0-0.12; one
#: with a solid patch of 0.18 stays in review).  The generator's dots
#: leave a solid patch but for 3 of 132 (``ljun._lone_mark``), and its
#: multiple marks are fills.
BESIDE_SPECK_MAX_MM2 = 1.0


def line_only_candidates(
    evidence: np.ndarray,
    bubbles: BubbleDarkness,
    grids: list[np.ndarray],
    calibration: ReadCalibration,
) -> np.ndarray:
    """Answer bubbles in the unsure band (above ``blank_sure_max``, below
    ``marked_sure_min``) with a line in their halo (``line_halo_min``) and
    their ``body`` blank-sure: a line's path, or a mark on it.

    Parameters
    ----------
    evidence : (N,) ndarray of float32
        Mark evidence after the closer look and the lone-mark rules.
    bubbles : BubbleDarkness
    grids : list of (I, O) ndarray of intp
        Bubble indices of the items of each answer field.
    calibration : ReadCalibration

    Returns
    -------
    (U,) ndarray of intp
        Bubble indices, geometry order within each grid.
    """
    bands = bands_for(bubbles, calibration)
    found = [np.zeros(0, np.intp)]
    for grid in grids:
        e = evidence[grid]
        unsure = bands.unsure(e)
        line = bubbles.halo[grid] >= bands.line_halo_min
        body = bubbles.body[grid] <= bands.blank_sure_max
        found.append(grid[unsure & line & body & bubbles.inside[grid]])
    return np.concatenate(found).astype(np.intp)


def gray_lined_fill_candidates(
    evidence: np.ndarray,
    bubbles: BubbleDarkness,
    grids: list[np.ndarray],
    calibration: ReadCalibration,
) -> np.ndarray:
    """Unsure answer bubbles, the only one of their item not blank-sure,
    with a line in their halo touching at most ``FILL_HALO_CONTACT_MAX``
    directions and a ``body`` of at least ``GRAY_LINED_FILL_BODY_MIN``: the
    rim of a fill spilling over the ring, or a line.

    Parameters and returns as for :func:`line_only_candidates`.
    """
    bands = bands_for(bubbles, calibration)
    found = [np.zeros(0, np.intp)]
    for grid in grids:
        above, on_scan, bubble, unsure = item_summary(evidence, bubbles, grid, bands)
        line = bubbles.halo[bubble] >= bands.line_halo_min
        spill = bubbles.halo_contact[bubble] <= FILL_HALO_CONTACT_MAX
        body = bubbles.body[bubble] >= GRAY_LINED_FILL_BODY_MIN
        found.append(bubble[(above == 1) & on_scan & unsure & line & spill & body])
    return np.concatenate(found).astype(np.intp)


def gray_lone_fill_candidates(
    evidence: np.ndarray,
    bubbles: BubbleDarkness,
    grids: list[np.ndarray],
    calibration: ReadCalibration,
) -> np.ndarray:
    """Bubbles alone and unsure in their item (or identity column): the only
    one of their item not blank-sure, with evidence in the unsure band (read as the mark
    or as blank), a line in their halo or not: a partial fill by the ring,
    or a stroke.  A partial fill by the ring may leave the kernel's inner
    disc so clean that it reads blank, unsure (fresh seed 8617, sheet 79:
    E of answer 37, 200-dpi gray, a fill over the left third of the disc,
    reviewed); erasure residue and strokes' ends leave no solid pencil
    beyond the band whatever their band (``GRAY_LONE_FILL_OFF_BAND_MIN_MM2``).

    Parameters and returns as for :func:`line_only_candidates`.
    """
    bands = bands_for(bubbles, calibration)
    found = [np.zeros(0, np.intp)]
    for grid in grids:
        above, on_scan, bubble, unsure = item_summary(evidence, bubbles, grid, bands)
        found.append(bubble[(above == 1) & on_scan & unsure])
    return np.concatenate(found).astype(np.intp)


def beside_fill_candidates(
    evidence: np.ndarray,
    bubbles: BubbleDarkness,
    grids: list[np.ndarray],
    calibration: ReadCalibration,
) -> np.ndarray:
    """Answer bubbles in the unsure band with their ``body`` blank-sure, in
    an item where another option is a sure fill (its evidence and its
    ``body`` at least ``marked_sure_min``): a stroke's end, a line or a
    speck beside the item's answer, or a thin second mark.

    Parameters and returns as for :func:`line_only_candidates`.
    """
    bands = bands_for(bubbles, calibration)
    found = [np.zeros(0, np.intp)]
    for grid in grids:
        e = evidence[grid]
        body = bubbles.body[grid]
        fill = (e >= bands.marked_sure_min) & (body >= bands.marked_sure_min)
        beside = fill.any(axis=1) & bubbles.inside[grid].all(axis=1)
        thin = bands.unsure(e) & (body <= bands.blank_sure_max)
        found.append(grid[thin & beside[:, None]])
    return np.concatenate(found).astype(np.intp)


def lined_answer_evidence(
    image: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    template: Template,
    bubbles: BubbleDarkness,
    evidence: np.ndarray,
    calibration: ReadCalibration,
) -> np.ndarray:
    """The evidence with lined answer bubbles settled (module doc).

    Parameters
    ----------
    image : (H, W) ndarray of uint8
        The scan, as the kernel read it.
    registration, pattern, bubbles
        What the kernel measured ``evidence`` on.
    template : Template
        Its ``answers`` fields are looked at.
    evidence : (N,) ndarray of float32
        After :func:`ljun._lone_mark.lone_mark_evidence`.
    calibration : ReadCalibration

    Returns
    -------
    (N,) ndarray of float32
        ``evidence``, with ``blank_sure_max`` where a line alone explains
        the ink (:func:`line_only_candidates`) or, beside the item's fill,
        a stroke's end, a line or a speck does
        (:func:`beside_fill_candidates`), and ``marked_sure_min`` where a
        fill does (:func:`gray_lined_fill_candidates`,
        :func:`gray_lone_fill_candidates`).  On a dithered scan, only the
        strokes' ends beside a fill are looked at.
    """
    bilevel = bubbles.bilevel
    geometry = pattern.geometry
    answers = [geometry.grid(f.name) for f in template.fields if f.kind == "answers"]
    if bubbles.dithered:
        return _dithered_beside_fill(
            image, registration, pattern, template, bubbles, evidence, answers, calibration
        )
    lined_fills = gray_lined_fill_candidates(evidence, bubbles, answers, calibration)
    lone_fills = np.zeros(0, np.intp)
    if bilevel:
        # Grey halos: settled by ljun._lone_mark.lined_fill_candidates.
        lined_fills = lined_fills[bubbles.halo[lined_fills] >= LINED_FILL_HALO_MAX]
    else:
        # A partial fill by the ring that the kernel read as the item's mark
        # but unsure, a line in its halo or not (moderate dev seeds 8703
        # sheet 85, 8709 sheet 12; easy 8756 sheet 26, spilling over the
        # ring in three directions); a fill it proves wins over a line's path.
        # The same holds for an identity column's lone letter (fresh seed
        # 8629 sheet 47: a partial fill over the lower half of 6, its spill
        # darkening the halo, reviewed); ljun._stroke_end still looks at
        # the letters the kernel read surely.
        identity = [geometry.grid(f.name) for f in template.fields if f.kind != "answers"]
        lone_fills = gray_lone_fill_candidates(evidence, bubbles, answers + identity, calibration)
    fills = np.concatenate([lined_fills, lone_fills])
    beside = beside_fill_candidates(evidence, bubbles, answers, calibration)
    lines = line_only_candidates(evidence, bubbles, answers, calibration)
    lines = lines[~np.isin(lines, lined_fills)]
    # Beside a fill, a line through the bubble is looked at as one too.
    lines = np.union1d(lines, beside).astype(np.intp)
    looked = np.concatenate([lines, fills])
    if len(looked) == 0:
        return evidence
    bands = bands_for(bubbles, calibration)
    blank = evidence <= bands.blank_sure_max
    patches = closer_patches(image, registration, pattern, bubbles.paper, looked, blank)
    excess = excess_mask(patches, pencil_darkness(bilevel))
    out = evidence.copy()
    n = len(lines)
    if n:
        band_max = BILEVEL_LINE_ONLY_OFF_BAND_MAX_MM2 if bilevel else LINE_ONLY_OFF_BAND_MAX_MM2
        line_only = patches.usable[:n].copy()
        if line_only.any():
            some = np.flatnonzero(line_only)
            traced = line_trace(image, registration, pattern, bubbles.paper, lines[some], blank)
            half = LINE_BAND_HALF_MM if bilevel else line_band_half(traced.width_mm, patches.dpi)
            along = None if bilevel else traced.direction
            banded = off_band_area(excess[some], patches.dpi, half, along)
            reach = np.nan_to_num(traced.reach, nan=0.0)
            line_only[some] = (banded <= band_max) & (reach >= LINE_REACH_MIN)
        near_fill = np.isin(lines, beside)
        if near_fill.any():
            some = np.flatnonzero(near_fill & ~line_only)
            line_only[some] = _stroke_or_speck(
                image,
                registration,
                pattern,
                template,
                bubbles,
                lines[some],
                blank,
                excess[some],
                patches.usable[some] & (bubbles.halo[lines[some]] < bands.line_halo_min),
            )
        out[lines[line_only]] = np.float32(bands.blank_sure_max)
    if len(fills):
        ink = excess[n:]
        beyond = off_band_area(solid_mask(ink, patches.dpi), patches.dpi)
        lined = len(lined_fills)
        body_min = np.full(len(fills), -np.inf)
        body_min[:lined] = BILEVEL_LINED_FILL_BODY_MIN if bilevel else GRAY_LINED_FILL_BODY_MIN
        # A lone fill with a line in its halo: beyond the band as a lined one.
        lined_halo = bubbles.halo[fills] >= bands.line_halo_min
        beyond_min = np.where(
            lined_halo, GRAY_LINED_FILL_OFF_BAND_MIN_MM2, GRAY_LONE_FILL_OFF_BAND_MIN_MM2
        )
        beyond_min[:lined] = (
            BILEVEL_LINED_FILL_OFF_BAND_MIN_MM2 if bilevel else GRAY_LINED_FILL_OFF_BAND_MIN_MM2
        )
        # ... unless the halo's pencil does not run on beyond the ring: the
        # mark's own spill or a tick's short arm, not a line.
        spill = np.flatnonzero(
            lined_halo & (beyond >= GRAY_SPILL_FILL_OFF_BAND_MIN_MM2) & (beyond < beyond_min)
        )
        spill = spill[spill >= lined]
        if len(spill):
            traced = line_trace(image, registration, pattern, bubbles.paper, fills[spill], blank)
            short = np.nan_to_num(traced.reach, nan=np.inf) < LINE_REACH_MIN
            beyond_min[spill[short]] = GRAY_SPILL_FILL_OFF_BAND_MIN_MM2
        fill = (
            patches.usable[n:]
            & (bubbles.body[fills] >= body_min)
            & (beyond >= beyond_min)
            & solid_square(ink, patches.dpi)
        )
        out[fills[fill]] = np.float32(bands.marked_sure_min)
    return out


def line_band_half(width_mm: np.ndarray, dpi: float) -> np.ndarray:
    """Half the width (mm) of the straight band a gray scan's line-only
    bubble's pencil must lie in: the line's own width beyond the ring
    (:attr:`LineTrace.width_mm`) and half a scan pixel, at least
    ``ljun._lone_mark.LINE_BAND_HALF_MM`` (also where it is unknown) and at
    most ``LINE_BAND_HALF_MAX_MM``.

    >>> line_band_half(np.array([0.5, 0.8, 2.0, np.nan]), 200.0).round(3).tolist()
    [0.35, 0.464, 0.5, 0.35]
    """
    half = np.nan_to_num(width_mm / 2 + MM_PER_INCH / dpi / 2, nan=LINE_BAND_HALF_MM)
    return np.clip(half, LINE_BAND_HALF_MM, LINE_BAND_HALF_MAX_MM)


def _stroke_or_speck(
    image: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    template: Template,
    bubbles: BubbleDarkness,
    looked: np.ndarray,
    blank: np.ndarray,
    excess: np.ndarray,
    unlined: np.ndarray,
) -> np.ndarray:
    """Of bubbles beside their item's fill (:func:`beside_fill_candidates`),
    (U,) bool: those whose ink is a stroke's end
    (:func:`ljun._stroke_end.stroke_end`) or, on a 1-bit scan without a
    line in the halo (``unlined``, (U,) bool, with a blank look), a speck
    (at most ``BESIDE_SPECK_MAX_MM2``, no solid patch).  ``excess``: their
    closer look's excess ink (U, S, S)."""
    if len(looked) == 0:
        return np.zeros(0, bool)
    ends = _stroke_ends(image, registration, pattern, template, bubbles, looked, blank)
    if bubbles.bilevel:
        speck = (
            unlined
            & (mask_area(excess, registration.dpi) <= BESIDE_SPECK_MAX_MM2)
            & (solid_area(excess, registration.dpi) < SOLID_PATCH_MIN_MM2)
        )
        ends = ends | speck
    return np.asarray(ends)


def _stroke_ends(
    image: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    template: Template,
    bubbles: BubbleDarkness,
    looked: np.ndarray,
    blank: np.ndarray,
    *,
    gray: bool | None = None,
) -> np.ndarray:
    """(U,) bool: bubbles ``looked`` whose ink is a stroke that ends in them
    (:func:`ljun._stroke_end.stroke_end`), leaving the ring one way
    (``PATH_ONE_SIDE_MIN``).  ``gray``: as for
    :func:`ljun._stroke_end.stroke_evidence`."""
    found = stroke_evidence(
        image, registration, pattern, template, bubbles, looked, blank, gray=gray
    )
    ends = stroke_end(found.path, found.near, found.inside, found.usable)
    return np.asarray(ends & (found.one_side >= PATH_ONE_SIDE_MIN))


def _dithered_beside_fill(
    image: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    template: Template,
    bubbles: BubbleDarkness,
    evidence: np.ndarray,
    answers: list[np.ndarray],
    calibration: ReadCalibration,
) -> np.ndarray:
    """A dithered scan's evidence with the bubbles beside their item's fill
    (:func:`beside_fill_candidates`) whose ink, in the dot density
    (:func:`ljun._closer_look.dot_density`, read with the gray thresholds),
    is a stroke's end leaving the ring one way: blank surely.  Nothing else
    is looked at on a dithered scan."""
    beside = beside_fill_candidates(evidence, bubbles, answers, calibration)
    if len(beside) == 0:
        return evidence  # most sheets
    bands = bands_for(bubbles, calibration)
    blank = evidence <= bands.blank_sure_max
    density = dot_density(image, registration.dpi)
    ends = _stroke_ends(density, registration, pattern, template, bubbles, beside, blank, gray=True)
    out = evidence.copy()
    out[beside[ends]] = np.float32(bands.blank_sure_max)
    return out


class LineTrace(NamedTuple):
    """The pencil that runs on from lined bubbles (:func:`line_trace`)."""

    #: (U,) float64: how far from the centre it reaches, bubble radii; 0 where
    #: no pencil touches the inside, NaN where there is no blank look.
    reach: np.ndarray
    #: (U,) float64: its width beyond the ring, mm
    #: (``LINE_WIDTH_FROM`` radii out and on); NaN where it is too short
    #: there or there is no blank look.
    width_mm: np.ndarray
    #: (U,) float64: its direction there, radians from the x axis (y down)
    #: on the closer look's grid; NaN where its width is.
    direction: np.ndarray


def line_trace(
    image: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    paper: np.ndarray,
    looked: np.ndarray,
    blank: np.ndarray,
) -> LineTrace:
    """How far from each bubble's centre its pencil runs on, in bubble
    radii, and how wide it is beyond the ring.

    The scan around each bubble out to ``LINE_REACH_LOOK`` radii, one scan
    pixel per step, is compared with the blank bubbles printed alike (the
    closer look's blank look, grown likewise: the printed ring, the
    neighbours' rings and letters cancel); the pencil (traced at
    ``LINE_TRACE_DARKNESS``) joined to the pencil of the bubble's inside
    (at ``GRAY_EXCESS_DARKNESS``; directly or through the printed ring,
    under which pencil does not show) reaches as far as its farthest pixel.
    Its width is measured where it runs beyond the ring
    (:func:`_line_shape`, from ``LINE_WIDTH_FROM`` radii out at
    ``GRAY_EXCESS_DARKNESS``, the darkness the closer look's band is fitted
    at): a mark in the bubble does not widen it there.

    Parameters
    ----------
    image, registration, pattern
        What the kernel read.
    paper : (N,) ndarray of float32
        Paper gray level beside each bubble (:attr:`BubbleDarkness.paper`).
    looked : (U,) ndarray of intp
        The bubbles to look at.
    blank : (N,) ndarray of bool
        Bubbles read blank surely: the group's members among them make the
        blank look.

    Returns
    -------
    LineTrace
        NaN where fewer than ``MIN_REFERENCES`` members read blank surely.
    """
    geometry = pattern.geometry
    step = geometry.dpi / registration.dpi  # template pixels per scan pixel
    radius = geometry.radii[looked]
    half = int(np.ceil(LINE_REACH_LOOK * radius.max() / step))
    side = 2 * half + 1
    grid, offsets = patch_offsets(half, step)
    members = pattern.members[pattern.group[looked]]  # (U, M)
    bubbles = np.concatenate([looked[:, None], members], axis=1)  # (U, 1 + M)
    dark = patch_darkness(image, registration, geometry, paper, bubbles, offsets)
    dark = dark.reshape(*bubbles.shape, side, side)
    usable = blank[members] & (members != looked[:, None])
    distance = np.hypot(grid, grid[:, None]) / radius[:, None, None]  # (U, S, S) radii
    patches = Patches(
        bubble=dark[:, 0],
        blank_look=members_median(dark[:, 1:], usable),
        inside=np.broadcast_to(distance <= LINE_REACH_LOOK, dark[:, 0].shape),
        usable=usable.sum(axis=1) >= MIN_REFERENCES,
        dpi=registration.dpi,
    )
    pencil = excess_mask(patches, GRAY_EXCESS_DARKNESS)
    # Where a light line runs on (outside the ring, no letter), fainter
    # pencil counts too.
    trace = excess_mask(patches, LINE_TRACE_DARKNESS)
    # Under the printed ring (and grown like it) pencil cannot show: the
    # print joins what lies either side of it.
    printed = patches.inside & (patches.blank_look >= GRAY_EXCESS_DARKNESS)
    grow = np.ones((2 * REFERENCE_GROW_PX + 1,) * 2, np.uint8)
    reach = np.zeros(len(looked))
    width = np.full(len(looked), np.nan)
    direction = np.full(len(looked), np.nan)
    for u in range(len(looked)):  # the few bubbles looked at, not every bubble
        ring = cv2.dilate(printed[u].astype(np.uint8), grow)
        _, labels = cv2.connectedComponents(trace[u].astype(np.uint8) | ring)
        inner = np.unique(labels[pencil[u] & (distance[u] <= CLOSER_RADIUS_FRACTION)])
        joined = np.isin(labels, inner[inner > 0])
        touching = trace[u] & joined
        if touching.any():
            reach[u] = distance[u][touching].max()
            width[u], direction[u] = _line_shape(
                pencil[u] & joined & (distance[u] >= LINE_WIDTH_FROM)
            )
    usable = patches.usable
    return LineTrace(
        reach=np.where(usable, reach, np.nan),
        width_mm=np.where(usable, width, np.nan) * (MM_PER_INCH / registration.dpi),
        direction=np.where(usable, direction, np.nan),
    )


def _line_shape(pencil: np.ndarray) -> tuple[float, float]:
    """The width in pixels and the direction (radians from the x axis, y
    down) of the line ``pencil`` ((S, S) bool, one scan pixel a step)
    holds: its main axis, and its pixels a one-pixel step along it where it
    runs whole (steps holding at least half the most any step holds: a line
    through the bubble leaves a gap of none, its ends hold fewer); NaN, NaN
    for less than ``LINE_WIDTH_MIN_STEPS`` steps.

    >>> line = np.zeros((21, 21), bool)
    >>> line[8:13, :] = True  # five pixels wide
    >>> [round(abs(v), 2) for v in _line_shape(line)]
    [5.0, 0.0]
    >>> askew = np.eye(21, dtype=bool) | np.eye(21, k=1, dtype=bool)  # 1.41 wide
    >>> [round(v, 2) for v in _line_shape(askew)]
    [1.37, 0.79]
    >>> y, x = np.mgrid[:21, :31]  # six pixels wide, its short run cut across
    >>> cut = (y >= 7) & (y < 13) & (x - (y - 7) >= 2) & (x - (y - 7) <= 14)
    >>> round(_line_shape(cut)[0], 2)  # (all its pixels over its steps: 4.33)
    5.5
    """
    y, x = np.nonzero(pencil)
    if len(y) < 2:
        return float("nan"), float("nan")
    points = np.column_stack([x, y]).astype(np.float64)
    points -= points.mean(axis=0)
    _, vectors = np.linalg.eigh(points.T @ points)
    main = vectors[:, -1]
    along = np.floor(points @ main).astype(np.intp)
    counts = np.bincount(along - along.min())
    if np.count_nonzero(counts) < LINE_WIDTH_MIN_STEPS:
        return float("nan"), float("nan")
    # Its ends, rounded or cut across by the circles it is looked at
    # between, hold fewer pixels a step than where it runs whole.
    whole = counts[counts >= counts.max() / 2]
    return float(whole.mean()), float(np.arctan2(main[1], main[0]) % np.pi)
