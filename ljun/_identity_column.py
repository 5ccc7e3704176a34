"""Identity columns that a person reads at once.

The bubble kernel (:mod:`ljun.read`) and the rules after it
(:mod:`ljun._closer_look`, :mod:`ljun._lone_mark`) leave some identity
columns unsure that a person reads without a doubt; each such column sends
its sheet to review.  On 1-bit threshold and adaptive scans (moderate mixed
dev seeds 8602-8605, about half of that row's reviews) two kinds recur:

* **a light fill, the column's only mark** (:func:`fill_candidates`).  A
  light pencil fill that a threshold turned into a patchy disc touches the
  halo in a direction or two, so the kernel takes it for a line's path and
  caps it at unsure (``ljun.read.mark_evidence``); a partial fill along the
  ring leaves the kernel's inner points almost clean.  Yet the bubble is
  the darkest of its column, every other bubble blank, and its pencil
  beyond the printed letter (the closer look's excess ink) is a fill: a
  solid patch of at least ``FILL_SOLID_MIN_MM2`` after erosion, and either
  a square of ``SOLID_INK_MM`` with no line in its halo at all, or a cover
  of ``LIGHT_FILL_COVER_MIN`` of the disc reaching ``FILL_OFF_BAND_MIN_MM2``
  beyond any straight band.  A stray line or a stroke that ends in the
  bubble lies in a straight band and covers at most 0.28 of the disc
  (:mod:`ljun._closer_look`); erosion wipes out a printed letter's strokes
  and erasure residue.  Then the column reads that letter surely (moderate
  dev seed 8604 sheet 126: T, 150-dpi adaptive, cover 0.42, 1.8 mm² beyond
  the band; 8605 sheet 116: a partial L along the ring, 150-dpi adaptive,
  no halo, a 1.2 mm² solid patch).  Other bubbles of the column in the
  unsure band are allowed only when they are a line's path (halo touched in
  ``LINE_PARTNER_CONTACT_MIN`` directions or more, below ``mark_min``):
  then they read blank surely with it (8605 sheet 111: a light I beside F
  crossed by a stray line, halo touched in 5 directions).
* **the printed letter beside the column's fill** (:func:`letter_candidates`).
  A column holds one mark; where one bubble is filled surely (its
  ``body``, the bubble without its darkest quarter, at least
  ``marked_sure_min``: no line or stroke's end does that) an unsure bubble
  beside it whose excess ink is no more than a printed letter's
  (``LETTER_BESIDE_FILL_MAX_MM2``) is the letter, shifted or thickened by the
  threshold, or erasure residue: blank surely (8604 sheet 15: the printed 4
  of a kode kompetensi column, 0.66 mm², beside a filled 1; 8602 sheet 30:
  G's letter shifted by registration, 0.76 mm², beside a filled A).

* **a fill that stays inside the ring** (:func:`enclosed_fill`, ninth
  round).  A partial or light fill that the threshold left speckled or
  small (too little solid ink or cover for :func:`fill_evidence`), the
  candidate read as the letter but unsure (evidence at least ``mark_min``:
  the rule changes a confidence, never a reading), is surely
  the column's letter when no ink leaves its ring (no path of
  ``ljun._stroke_end.PATH_MIN_MM2``: a stray line or a stroke's end
  brings one, 0.27-1.24 mm² on hard dev seeds) and its excess ink is at
  least ``ENCLOSED_FILL_AREA_MIN_MM2`` with ``ENCLOSED_FILL_SOLID_MIN_MM2``
  solid (erasure residue at most 0.72 mm² and 0.06 mm² solid, printed
  letters and specks less).  Not at 200 dpi, where the erosion is one thin
  pixel and heavy residue under an adaptive threshold kept 1.09 mm² solid
  (:func:`ljun._lone_mark.thin_erosion`; hard dev seed 8715 sheet 128).

Those rules are for 1-bit threshold and adaptive scans.  On every kind
of scan (gray, 1-bit threshold and adaptive, dithered) one more holds:

* **stray ink beside the column's fill** (:func:`stray_candidates`).  In a
  column with exactly one bubble marked surely, that one filled (its
  ``body`` beyond the blank-sure band, on 1-bit threshold and adaptive
  scans in the marked-sure band), another bubble kept unsure whose ``body``
  is blank-sure (all its ink in its darkest quarter) holds a pencil
  stroke's end, a stray line's path or a speck of dust, not a second
  letter, when its ink continues beyond the ring (a path of
  ``ljun._stroke_end.PATH_MIN_MM2`` and ``PATH_SHARE_MIN`` of its inside
  ink, :func:`ljun._stroke_end.stroke_evidence`) or is a speck (inside ink
  at most ``STRAY_SPECK_MAX_MM2``): then it reads blank surely
  (:func:`stray_ink`; moderate seed 8607 sheet 199, 200-dpi gray: a line
  ending in 8 beside the filled 2 of a nomor peserta column; seed 8606
  sheet 75, 200-dpi dithered: a short stroke ending in X beside the
  filled U of a name column).  On a dithered scan, whose bands are narrow,
  a stroke's end through the centre may read surely (its ``body`` blank):
  beside the column's one fill it is a candidate too (moderate seed 8618
  sheet 66, 150-dpi dithered: a short stroke ending in T beside the
  overfilled B, 0.30 against ``marked_sure_min`` 0.26).  On a gray scan
  a dark stray line through a bubble beside the column's fill may read
  surely from its darkest quarter alone (its ``body`` blank): a candidate
  too (fresh moderate seed 8636 sheet 107, 200-dpi gray: a line through U
  below the filled T of a name column, 0.43, read as a second letter and
  reviewed; 2.07 mm² of path beside 1.65 inside).  A partial second fill is a blob inside the
  ring: its path, if any, is a speck beside it (at most 0.05 of its inside
  ink, ``ljun._stroke_end``), and it keeps its evidence.  A speck read
  blank in a column with no sure mark reads blank surely too (easy seed
  8607, sheets 131 and 184, 200-dpi gray: dust on Q and N of blank name
  columns, 0.15 and 0.20 mm²): identity columns hold no dots, a letter is
  filled.  There a speck is a spot, the rest of the bubble blank
  (``SPECK_BODY_MAX``): a light fill on a scan whose paper is clipped to
  white keeps as little ink over the closer look's threshold, but all over
  the bubble (hard seed 8707 sheet 98, a light R of a name: "DWI SIREGA").
  A stroke's end there stays unsure (:mod:`ljun._stroke_end`).

A dithered scan is looked at through its dot density
(:func:`ljun._closer_look.dot_density`, read with the gray thresholds),
where a stray line through the one unsure bubble of an otherwise blank
column (:func:`ljun._lone_mark.lined_candidates`) reads blank surely when
a straight band holds its ink (``ljun._lone_mark.LINE_RESIDUE_MAX_MM2``;
seed 8607 sheet 87, 200-dpi dithered: a line through A of a blank name
column).  Every other bubble keeps its evidence.
"""

from __future__ import annotations

import numpy as np

from ._closer_look import (
    BILEVEL_EXCESS_DARKNESS,
    GRAY_EXCESS_DARKNESS,
    IDENTITY_LETTER_EXCESS_MAX_MM2,
    closer_patches,
    disc_area,
    dot_density,
    excess_mask,
    mask_area,
    solid_square,
)
from ._lone_mark import (
    FILL_HALO_CONTACT_MAX,
    FILL_OFF_BAND_MIN_MM2,
    LINE_RESIDUE_MAX_MM2,
    lined_candidates,
    off_band_area,
    solid_area,
    thin_erosion,
)
from ._stroke_end import PATH_MIN_MM2, PATH_SHARE_MIN, stroke_evidence, sure_thin
from .calibration import Bands, ReadCalibration
from .read import BubbleDarkness, SamplingPattern, bands_for
from .register import Registration
from .template import Template

__all__ = [
    "FILL_SOLID_MIN_MM2",
    "LIGHT_FILL_COVER_MIN",
    "LINE_PARTNER_CONTACT_MIN",
    "LETTER_BESIDE_FILL_MAX_MM2",
    "fill_candidates",
    "letter_candidates",
    "fill_evidence",
    "ENCLOSED_FILL_AREA_MIN_MM2",
    "ENCLOSED_FILL_SOLID_MIN_MM2",
    "enclosed_fill",
    "STRAY_SPECK_MAX_MM2",
    "SPECK_BODY_MAX",
    "stray_candidates",
    "stray_ink",
    "identity_column_evidence",
]

#: A column's only candidate is a fill when at least this much of its excess
#: ink (mm²) survives the erosion of :func:`ljun._lone_mark.solid_area`:
#: the least of the lone unsure fills of moderate dev seeds 8602-8605 was
#: 1.01 mm² (8604 sheet 126); printed letters beside a fill leave
#: 0.07-0.30 mm² (dev seeds 8602-8604, 8702).  Not a test alone: stray
#: lines and strokes' ends leave up to 1.3 mm² (the cover and the band
#: below tell them apart).
FILL_SOLID_MIN_MM2 = 0.8
#: ... and, a line in its halo, its excess ink covers at least this
#: fraction of the closer look's disc: erasure residue and stray lines
#: through blank bubbles cover at most 0.28 (:mod:`ljun._closer_look`,
#: ``PENCIL_COVER_SURE``); on 1-bit threshold/adaptive sheets of moderate
#: dev seeds 8603, 8605 and hard 8702, lines through blank name bubbles
#: 0.16-0.26 and strokes ending in one 0.19 (a tick's tail, 8605 sheet 99)
#: and 0.26 (8702 sheet 5); light fills of 150-dpi adaptive scans
#: 0.42-0.43 (8604 sheet 126, 8605 sheet 111), a partial 2 0.37 (8602
#: sheet 179).
LIGHT_FILL_COVER_MIN = 0.35
#: A column's only candidate whose ink stays inside its ring (no path of
#: ``ljun._stroke_end.PATH_MIN_MM2`` leaves it: no stroke's end, no line)
#: is a fill when its excess ink is at least this (mm²) ...
ENCLOSED_FILL_AREA_MIN_MM2 = 1.0
#: ... and at least this much of it survives the erosion of
#: :func:`ljun._lone_mark.solid_area` (calibration/README.md, ninth round).
ENCLOSED_FILL_SOLID_MIN_MM2 = 0.5
#: Another unsure bubble of the column is a line's path beside the fill
#: when its halo is touched in at least this many of ``HALO_POINTS``
#: directions (a line runs on through the halo; a fill spilling over the
#: ring touches one or two, ``FILL_HALO_CONTACT_MAX``) ...
LINE_PARTNER_CONTACT_MIN = 3
#: An unsure bubble beside the column's sure fill with at most this much
#: excess ink (mm²) shows its printed letter (a whole letter the threshold
#: kept: up to 0.85 mm², ``IDENTITY_LETTER_EXCESS_MAX_MM2``) or residue.
LETTER_BESIDE_FILL_MAX_MM2 = IDENTITY_LETTER_EXCESS_MAX_MM2
#: An unsure bubble beside the column's sure fill, its body blank, whose
#: inside ink (mm², :func:`ljun._stroke_end.stroke_evidence`) is at most
#: this is a speck: the generator's dust specks (radius 0.05-0.25 mm) leave
#: 0.15-0.28 mm² (calibration/README.md, sixth round); a partial or light
#: fill at least 0.8 mm² (``ljun._stroke_end``: 0.85 the least).
STRAY_SPECK_MAX_MM2 = 0.3
#: ... and in a column with no sure mark, a speck is a spot: the bubble
#: beyond its darkest quarter (``body``) reads at most this.  A light fill
#: on a gray scan whose paper is clipped to white keeps little ink over the
#: closer look's threshold (0.06-0.25 mm², a speck's) but lies over the
#: whole bubble: hard 200-dpi gray dev seeds 8701-8710, light fills of blank
#: columns body 0.088-0.126, the specks and lines read blank there at most
#: 0.012 (calibration/README.md, ninth round).
SPECK_BODY_MAX = 0.05


def fill_candidates(
    evidence: np.ndarray, bubbles: BubbleDarkness, grids: list[np.ndarray], bands: Bands
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The one candidate mark of each column with none marked surely.

    A column qualifies when it lies on the scan, no bubble of it is marked
    surely, and its darkest unsure bubble (by evidence) is also its darkest
    by mean darkness, touches the halo in at most ``FILL_HALO_CONTACT_MAX``
    directions, and every other unsure bubble of the column is a line's
    path (halo touched in ``LINE_PARTNER_CONTACT_MIN`` directions or more,
    evidence below ``mark_min``).

    Parameters
    ----------
    evidence : (N,) ndarray of float32
        Mark evidence after the closer look and the lone-mark rules.
    bubbles : BubbleDarkness
    grids : list of (I, O) ndarray of intp
        Bubble indices of the columns of each identity field.
    bands : Bands
        The bands of this scan.

    Returns
    -------
    candidates : (U,) ndarray of intp
        One bubble per qualifying column.
    partners : (L,) ndarray of intp
        The line-path bubbles of those columns.
    partner_of : (L,) ndarray of intp
        For each partner, the index into ``candidates`` of its column's
        candidate.
    """
    candidates: list[int] = []
    partners: list[int] = []
    partner_of: list[int] = []
    for grid in grids:
        e = evidence[grid]
        unsure = bands.unsure(e)
        sure = (e >= bands.marked_sure_min).any(axis=1)
        on_scan = bubbles.inside[grid].all(axis=1)
        rows = np.flatnonzero(unsure.any(axis=1) & ~sure & on_scan)
        for row in rows:
            column = grid[row]
            best = int(np.argmax(np.where(unsure[row], e[row], -np.inf)))
            others = unsure[row].copy()
            others[best] = False
            contact = bubbles.halo_contact[column]
            line = (contact >= LINE_PARTNER_CONTACT_MIN) & (e[row] < bands.mark_min)
            darkest = bubbles.darkness[column[best]] >= bubbles.darkness[column].max()
            if contact[best] <= FILL_HALO_CONTACT_MAX and darkest and bool((line | ~others).all()):
                partner_of += [len(candidates)] * int(others.sum())
                candidates.append(int(column[best]))
                partners += column[others].tolist()
    return (
        np.asarray(candidates, dtype=np.intp),
        np.asarray(partners, dtype=np.intp),
        np.asarray(partner_of, dtype=np.intp),
    )


def letter_candidates(
    evidence: np.ndarray, bubbles: BubbleDarkness, grids: list[np.ndarray], bands: Bands
) -> np.ndarray:
    """Unsure bubbles of columns with exactly one bubble marked surely whose
    ``body`` is at least ``marked_sure_min`` (a fill, not a line's path or a
    stroke's end), the column on the scan.

    Parameters
    ----------
    evidence, bubbles, grids, bands
        As for :func:`fill_candidates`.

    Returns
    -------
    (U,) ndarray of intp
        Bubble indices, geometry order within each grid.
    """
    found = [np.zeros(0, np.intp)]
    for grid in grids:
        e = evidence[grid]
        sure = e >= bands.marked_sure_min
        filled = sure & (bubbles.body[grid] >= bands.marked_sure_min)
        one_fill = (sure.sum(axis=1) == 1) & (filled.sum(axis=1) == 1)
        on_scan = bubbles.inside[grid].all(axis=1)
        found.append(grid[bands.unsure(e) & (one_fill & on_scan)[:, None]])
    return np.concatenate(found).astype(np.intp)


def fill_evidence(
    area: np.ndarray,
    disc: np.ndarray,
    solid: np.ndarray,
    beyond: np.ndarray,
    square: np.ndarray,
    lined: np.ndarray,
) -> np.ndarray:
    """Whether each candidate's excess ink is a fill.

    Parameters
    ----------
    area, disc, solid, beyond : (U,) ndarray of float64
        Excess ink, the closer look's disc, what survives erosion
        (:func:`ljun._lone_mark.solid_area`) and what lies beyond the best
        straight band (:func:`ljun._lone_mark.off_band_area`), all mm²;
        NaN (no blank look): never a fill.
    square : (U,) ndarray of bool
        A square of ``SOLID_INK_MM`` lies in the excess ink.
    lined : (U,) ndarray of bool
        The halo is at least ``line_halo_min``.

    Returns
    -------
    (U,) ndarray of bool

    >>> fill_evidence(
    ...     np.array([3.4, 2.1, 2.1, 2.7]), np.full(4, 8.0), np.array([1.0, 1.2, 1.2, 0.3]),
    ...     np.array([1.8, 0.7, 0.7, 1.5]), np.array([False, True, True, False]),
    ...     np.array([True, False, True, False]),
    ... ).tolist()
    [True, True, False, False]
    """
    area, disc, solid, beyond = (
        np.nan_to_num(np.asarray(a, dtype=np.float64), nan=-np.inf)
        for a in (area, disc, solid, beyond)
    )
    patch = solid >= FILL_SOLID_MIN_MM2
    square_alone = np.asarray(square) & ~np.asarray(lined)
    spread = (area >= LIGHT_FILL_COVER_MIN * disc) & (beyond >= FILL_OFF_BAND_MIN_MM2)
    return np.asarray(patch & (square_alone | spread))


def enclosed_fill(
    area: np.ndarray, solid: np.ndarray, path: np.ndarray, usable: np.ndarray
) -> np.ndarray:
    """Whether each candidate's excess ink is a fill that stays inside its
    ring: at least ``ENCLOSED_FILL_AREA_MIN_MM2`` of it, at least
    ``ENCLOSED_FILL_SOLID_MIN_MM2`` solid, and less than
    ``ljun._stroke_end.PATH_MIN_MM2`` of ink leaving the ring (a stroke's
    end or a line brings its path; erasure residue and printed letters
    leave too little solid ink).  All (U,), mm²; never where ``usable``
    (a blank look) is False.

    >>> enclosed_fill(
    ...     np.array([1.38, 1.63, 2.64, 0.9]),  # excess ink, mm²
    ...     np.array([0.61, 1.01, 0.56, 0.6]),  # solid, mm²
    ...     np.array([0.0, 0.39, 0.0, 0.0]),  # path leaving the ring, mm²
    ...     np.array([True, True, True, True]),
    ... ).tolist()
    [True, False, True, False]
    """
    return np.asarray(
        usable
        & (np.nan_to_num(area, nan=-np.inf) >= ENCLOSED_FILL_AREA_MIN_MM2)
        & (np.nan_to_num(solid, nan=-np.inf) >= ENCLOSED_FILL_SOLID_MIN_MM2)
        & (np.nan_to_num(path, nan=np.inf) < PATH_MIN_MM2)
    )


def stray_candidates(
    evidence: np.ndarray, bubbles: BubbleDarkness, grids: list[np.ndarray], bands: Bands
) -> tuple[np.ndarray, np.ndarray]:
    """Unsure bubbles whose ``body`` is blank-sure, of columns on the scan
    with exactly one bubble marked surely, that one filled, or with none.

    The filled bubble's ``body`` is at least ``marked_sure_min`` on 1-bit
    threshold and adaptive scans (a stray line's path through a blank
    bubble reaches 0.19 there, ``ljun._lone_mark.LINED_FILL_BODY_MIN``),
    above the blank-sure band on gray and dithered ones, where a stroke's
    end or a line's path leaves it blank (``ljun._stroke_end.thin_letters``;
    a light fill of a dithered scan: 0.18, hard seed 8606, sheet 82).  In a column with no sure mark
    only bubbles read blank (below ``mark_min``) are candidates.

    Parameters
    ----------
    evidence, bubbles, grids, bands
        As for :func:`fill_candidates`.

    Returns
    -------
    candidates : (U,) ndarray of intp
        Bubble indices, geometry order within each grid.
    beside_fill : (U,) ndarray of bool
        The candidate's column has its sure fill.
    """
    found = [np.zeros(0, np.intp)]
    beside = [np.zeros(0, bool)]
    for grid in grids:
        e = evidence[grid]
        body = bubbles.body[grid]
        sure = e >= bands.marked_sure_min
        filled = sure & (
            body >= bands.marked_sure_min if bubbles.thresholded else body > bands.blank_sure_max
        )
        one_fill = (sure.sum(axis=1) == 1) & (filled.sum(axis=1) == 1)
        none = ~sure.any(axis=1)
        on_scan = bubbles.inside[grid].all(axis=1)
        thin = bands.unsure(e) & (body <= bands.blank_sure_max)
        near_fill = thin & (one_fill & on_scan)[:, None]
        if not bubbles.thresholded:
            # A stroke's end read surely from its dark centre beside the
            # column's one fill (the dithered bands are narrow), or on a
            # gray scan a stray line's path from its darkest quarter.
            # (Here the sure bubbles not filled are exactly those.)
            one_filled = filled.sum(axis=1) == 1
            near_fill |= sure_thin(e, body, bands) & (one_filled & on_scan)[:, None]
        in_blank = thin & (e < bands.mark_min) & (none & on_scan)[:, None]
        looked = near_fill | in_blank
        found.append(grid[looked])
        beside.append(near_fill[looked])
    return np.concatenate(found).astype(np.intp), np.concatenate(beside)


def stray_ink(
    path: np.ndarray,
    inside: np.ndarray,
    usable: np.ndarray,
    beside_fill: np.ndarray,
    body: np.ndarray,
) -> np.ndarray:
    """Whether each candidate's ink is stray: a speck (inside ink at most
    ``STRAY_SPECK_MAX_MM2``; in a column with no sure mark, its ``body``
    at most ``SPECK_BODY_MAX`` too), or beside the column's fill a stroke's
    end or a line's path (a path of at least ``PATH_MIN_MM2`` and
    ``PATH_SHARE_MIN`` of the inside ink leaves the ring); mm², each (U,),
    as :class:`ljun._stroke_end.StrokeEvidence`; never where ``usable`` is
    False.  A stroke that ends in a bubble of a blank column stays unsure
    (:mod:`ljun._stroke_end`).

    >>> stray_ink(
    ...     np.array([0.07, 0.0, 0.04, 0.3, 0.07, 0.0]),  # path beyond the ring, mm²
    ...     np.array([0.56, 0.2, 1.0, 4.5, 0.56, 0.2]),  # inside ink, mm²
    ...     np.array([True, True, True, True, True, True]),
    ...     np.array([True, False, True, True, False, False]),  # beside the column's fill
    ...     np.array([0.0, 0.0, 0.0, 0.3, 0.0, 0.1]),  # body (darkness)
    ... ).tolist()
    [True, True, False, False, False, False]
    """
    leaves = (path >= PATH_MIN_MM2) & (path >= PATH_SHARE_MIN * inside) & beside_fill
    spot = beside_fill | (body <= SPECK_BODY_MAX)
    return np.asarray(usable & (leaves | ((inside <= STRAY_SPECK_MAX_MM2) & spot)))


def identity_column_evidence(
    image: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    template: Template,
    bubbles: BubbleDarkness,
    evidence: np.ndarray,
    calibration: ReadCalibration,
) -> np.ndarray:
    """The evidence with identity columns a person reads at once made sure.

    Parameters
    ----------
    image : (H, W) ndarray of uint8
        The scan, as the kernel read it.
    registration, pattern, bubbles
        What the kernel measured ``evidence`` on.
    template : Template
        Its fields other than ``answers`` are the identity columns.
    evidence : (N,) ndarray of float32
        After :func:`ljun._lone_mark.lone_mark_evidence`.
    calibration : ReadCalibration

    Returns
    -------
    (N,) ndarray of float32
        ``evidence``, with ``marked_sure_min`` where a column's one
        candidate is a fill (:func:`fill_candidates`, :func:`fill_evidence`;
        its line-path partners ``blank_sure_max``) and ``blank_sure_max``
        where an unsure bubble beside a sure fill shows a letter's ink only
        (:func:`letter_candidates`), these two on 1-bit threshold and
        adaptive scans; ``blank_sure_max`` where an unsure bubble beside a
        sure fill holds stray ink (:func:`stray_candidates`,
        :func:`stray_ink`), and on dithered scans where a straight band
        holds all the ink of a lined bubble of a blank column (module doc).
    """
    bands = bands_for(bubbles, calibration)
    geometry = pattern.geometry
    grids = [geometry.grid(f.name) for f in template.fields if f.kind != "answers"]
    every = np.concatenate([g.ravel() for g in grids])
    looked = bands.unsure(evidence[every])
    if not bubbles.thresholded:
        # and letters read surely from their centre or darkest quarter alone
        looked |= sure_thin(evidence[every], bubbles.body[every], bands)
    if not looked.any():
        return evidence  # most sheets
    if bubbles.dithered:
        image = dot_density(image, registration.dpi)
        evidence = _dithered_lines(
            image, registration, pattern, bubbles, evidence, grids, calibration
        )
    elif bubbles.bilevel:
        evidence = _bilevel_columns(
            image, registration, pattern, template, bubbles, evidence, grids, bands
        )
    return _stray_beside_fill(
        image, registration, pattern, template, bubbles, evidence, grids, bands
    )


def _bilevel_columns(
    image: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    template: Template,
    bubbles: BubbleDarkness,
    evidence: np.ndarray,
    grids: list[np.ndarray],
    bands: Bands,
) -> np.ndarray:
    """A 1-bit threshold or adaptive scan's lone fills and letters beside a
    fill (:func:`fill_candidates`, :func:`fill_evidence`,
    :func:`enclosed_fill`, :func:`letter_candidates`)."""
    fills, partners, partner_of = fill_candidates(evidence, bubbles, grids, bands)
    letters = letter_candidates(evidence, bubbles, grids, bands)
    looked = np.concatenate([fills, letters])
    if len(looked) == 0:
        return evidence
    blank = evidence <= bands.blank_sure_max
    patches = closer_patches(image, registration, pattern, bubbles.paper, looked, blank)
    excess = excess_mask(patches, BILEVEL_EXCESS_DARKNESS)
    area = np.where(patches.usable, mask_area(excess, patches.dpi), np.nan)
    out = evidence.copy()
    n = len(fills)
    if n:
        ink = excess[:n]
        solid = solid_area(ink, patches.dpi)
        fill = fill_evidence(
            area[:n],
            disc_area(patches)[:n],
            solid,
            off_band_area(ink, patches.dpi),
            solid_square(ink, patches.dpi),
            bubbles.halo[fills] >= bands.line_halo_min,
        )
        # The rest read as the letter (at least mark_min): a fill inside the
        # ring, or a stroke's end (its path); not where the erosion is thin
        # (erasure residue keeps solid ink).
        read = evidence[fills] >= bands.mark_min
        rest = np.flatnonzero(
            ~fill & read & enclosed_fill(area[:n], solid, np.zeros(n), patches.usable[:n])
        )
        if len(rest) and not thin_erosion(patches.dpi):
            found = stroke_evidence(
                image, registration, pattern, template, bubbles, fills[rest], blank
            )
            fill[rest] = enclosed_fill(area[rest], solid[rest], found.path, found.usable)
        out[fills[fill]] = np.float32(bands.marked_sure_min)
        out[partners[fill[partner_of]]] = np.float32(bands.blank_sure_max)
    letter = np.nan_to_num(area[n:], nan=np.inf) <= LETTER_BESIDE_FILL_MAX_MM2
    out[letters[letter]] = np.float32(bands.blank_sure_max)
    return out


def _dithered_lines(
    density: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    bubbles: BubbleDarkness,
    evidence: np.ndarray,
    grids: list[np.ndarray],
    calibration: ReadCalibration,
) -> np.ndarray:
    """A dithered scan's lined bubbles of blank columns
    (:func:`ljun._lone_mark.lined_candidates`) whose ink in the dot
    density ``density`` a straight band holds: blank surely."""
    lined = lined_candidates(evidence, bubbles, grids, calibration)
    if len(lined) == 0:
        return evidence
    bands = bands_for(bubbles, calibration)
    blank = evidence <= bands.blank_sure_max
    patches = closer_patches(density, registration, pattern, bubbles.paper, lined, blank)
    excess = excess_mask(patches, GRAY_EXCESS_DARKNESS)
    line_only = patches.usable & (off_band_area(excess, patches.dpi) <= LINE_RESIDUE_MAX_MM2)
    out = evidence.copy()
    out[lined[line_only]] = np.float32(bands.blank_sure_max)
    return out


def _stray_beside_fill(
    image: np.ndarray,
    registration: Registration,
    pattern: SamplingPattern,
    template: Template,
    bubbles: BubbleDarkness,
    evidence: np.ndarray,
    grids: list[np.ndarray],
    bands: Bands,
) -> np.ndarray:
    """Unsure bubbles beside a column's sure fill whose ink is stray
    (:func:`stray_candidates`, :func:`stray_ink`): blank surely.  ``image``
    is a dithered scan's dot density."""
    stray, beside_fill = stray_candidates(evidence, bubbles, grids, bands)
    if len(stray) == 0:
        return evidence
    blank = evidence <= bands.blank_sure_max
    gray = not bubbles.thresholded
    found = stroke_evidence(
        image, registration, pattern, template, bubbles, stray, blank, gray=gray
    )
    settled = stray_ink(found.path, found.inside, found.usable, beside_fill, bubbles.body[stray])
    out = evidence.copy()
    out[stray[settled]] = np.float32(bands.blank_sure_max)
    return out
