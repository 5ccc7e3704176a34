"""Registration: where the template lies on a scanned page.

:func:`register` finds the sheet's fiducials (the solid corner squares and
the one 'ring' square that marks the bottom-left corner), fits the homography
that maps template pixel coordinates onto the scan, tells a sheet fed upside
down from an upright one, and checks the fit twice: the fiducials' corners
must land where the homography puts them (the *residual*, in pixels and mm),
and the printed bubble rings must be found where it predicts them (the *form
match*).  The page itself is never warped; the reading kernel maps its sample
points through :attr:`Registration.homography`.

A page that cannot be registered gives a :class:`RegistrationFailure` (told
apart with ``isinstance``) with one of the reasons of
:data:`ljun.vocabulary.REGISTRATION_FAILURES`; no exception stops the batch.

Steps
-----
1. Downscale to ``search_dpi`` (``cv2.INTER_AREA``), threshold at a fraction
   of the paper level, and keep compact, square, solid blobs as fiducial
   candidates (connected components, vectorised over their statistics).
2. Choose the set of candidates, and their correspondence to the template's
   fiducials, that a similarity transform fits best (corners in cyclic order,
   so an upside-down page is just another correspondence); the 'ring'
   fiducial decides between a correspondence and its 180° twin.
3. Refine every fiducial at full resolution: the centroid of its blob
   (sub-pixel), its corners (``cv2.minAreaRect``), whether it has a hole.
4. Homography from the four centres; residual from the corners; form match
   from the bubble rings.
5. A page that fails with ``no_fiducials`` or ``residual_too_high`` is looked
   at once more, steps 1-4 with pencil strokes up to ``_STROKE_MAX_MM`` wide
   taken off the ink (a stray line touching a corner mark spoils its blob);
   that look must pass the same residual and form checks.  Sheets the first
   look registers never pay for it.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from . import _track
from .calibration import Calibration, RegisterCalibration
from .template import MM_PER_INCH, BubbleGeometry, Template, mm_to_px
from .vocabulary import FailureReason

__all__ = [
    "Registration",
    "RegistrationFailure",
    "register",
    "map_points",
    "sample_scan",
    "scan_positions",
    "sample_at",
    "SampledPoints",
    "estimate_paper_level",
    "gray_quantile",
    "count_below",
]

# A4 page area in square inches, to guess a scan's dpi from its size when the
# file records none (the scan is assumed to be about one page).
_NOMINAL_PAGE_IN2 = (210 / MM_PER_INCH) * (297 / MM_PER_INCH)

# Fiducial candidates: blob side within this factor of the expected side
# before the scale is known (covers an unknown dpi guessed from the page size,
# the ±3 % scale and the bounding box of a square skewed by up to 10°).
_CANDIDATE_SIDE_RANGE = (0.55, 1.9)
# A solid square fills at least this much of its bounding box even when
# skewed by 10° (1 / (cos 10° + sin 10°)² = 0.74), with some room for blur.
_CANDIDATE_MIN_FILL = 0.55
# ... and its bounding box is about as wide as high.
_CANDIDATE_MAX_ASPECT = 1.5
# Keep at most this many candidates (the largest) for the combinatorial fit:
# C(8, 4) = 70 sets of four, enough for stray squares and large marks.
_MAX_CANDIDATES = 8
# Fiducials are first looked for in windows of this fraction of the scan's
# width and height at its four corners (they sit 12 mm from the page corners;
# the page fills most of the scan).
_CORNER_WINDOW = 0.3
# An ink blob spanning more than this fraction of the scan's width or height
# is scanner background (black backing), not ink on the page.
_BACKGROUND_SPAN = 0.25
# A set of candidates fits the template's fiducial layout when the RMS misfit
# of a similarity transform is below this fraction of the layout's size
# (skew is a rotation; a few % of perspective or anisotropic scale is tolerated).
_LAYOUT_MAX_MISFIT = 0.03
# Ink level: this percentile of the gray levels inside the fiducials.
_INK_PERCENTILE = 10
# Paper level beside a fiducial: this percentile of its window's other pixels.
_LOCAL_PAPER_PERCENTILE = 75
# A fiducial has a hole (it is the 'ring') when its centre is lighter than
# this fraction of the way from ink to paper.
_HOLE_MIN_LIGHTNESS = 0.5
# Radius of the centre probe, as a fraction of the fiducial side (the ring's
# hole is 0.45 of the side: see ljun.render.RING_HOLE_FRACTION).
_HOLE_PROBE_FRACTION = 0.12
# Refinement window half-size, as a multiple of the fiducial side.
_REFINE_HALF_WINDOW = 1.0
#: Template pixel space of a registration made from a Template: the
#: geometry at this dpi (the reading kernel's sampling pattern uses it too).
REFERENCE_DPI = 200.0
# Box lines are checked every this many mm, at three points across the line
# this far apart (the line is 0.25 mm wide; registration error and blur).
_BOX_STEP_MM = 2.0
_BOX_ACROSS_MM = 0.2
# Fields with at least this many bubbles are checked one by one for warping.
_FIELD_CHECK_MIN_BUBBLES = 30
# The ring check probes each bubble on its ring, just inside and just
# outside it (radii, in bubble radii), in _RING_POINTS directions, and finds
# the ring when it stands out in this fraction of them.
_RING_PROBE = (1.0, 0.8, 1.25)
_RING_FOUND_FRACTION = 0.6
# Ring points sampled per bubble for the form-match check.
_RING_POINTS = 8
# A page whose first look fails for one of these reasons is looked at again
# with pencil strokes up to _STROKE_MAX_MM wide taken off the corner marks:
# a stray line touching a mark spoils its blob (the layout, or its corners).
_CLEAN_RETRY = frozenset({FailureReason.NO_FIDUCIALS, FailureReason.RESIDUAL_TOO_HIGH})
# Stray pencil lines are 0.3-0.5 mm wide (0.7 mm through blur and a 1-bit
# threshold); the ring fiducial's band is 1.9 mm (7 mm side, 0.45 hole).
_STROKE_MAX_MM = 1.0


@dataclass(frozen=True, eq=False)
class Registration:
    """Where the template lies on a scan.

    Attributes
    ----------
    homography : (3, 3) ndarray of float64
        Maps template pixel coordinates (of the geometry given to
        :func:`register`) onto scan pixel coordinates.
    orientation : int
        Clockwise turn of the sheet on the scan, in degrees: 0 upright, 180
        fed upside down (90, 270 for a page scanned sideways).
    residual_px : float
        RMS distance between measured fiducial corners and the homography's
        prediction, in scan pixels; ``residual_mm`` the same on paper.
    scale : float
        Scan pixels per template pixel (mean over the page).
    dpi : float
        The scan's effective resolution (``scale * geometry.dpi``).
    paper_level, ink_level : float
        Gray levels of the paper and of the fiducials' ink on this scan.
    form_match : float
        Fraction of the printed form found where predicted (0-1): the
        better of ``ring_match`` and ``box_match``.
    ring_match : float
        Fraction of the bubble rings found where predicted.
    box_match : float
        Fraction of the printed box lines found where predicted (1-bit scans
        can lose the lighter rings but keep the boxes); 0 without a template.
    worst_field_match : float
        The lowest ``ring_match`` of any one field: low in one field only
        when the page is warped or folded there.
    fiducials : (F, 2) ndarray of float64
        Measured fiducial centres on the scan, in template fiducial order.
    sampled : SampledPoints or None
        The scan at the ``sample_points`` given to :func:`register`, taken
        in the form match's own pass (the reading kernel's points: one pass
        over the page instead of two); None when none were given.
    """

    homography: np.ndarray
    orientation: int
    residual_px: float
    residual_mm: float
    scale: float
    dpi: float
    paper_level: float
    ink_level: float
    form_match: float
    ring_match: float = 1.0
    box_match: float = 0.0
    worst_field_match: float = 1.0
    fiducials: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    sampled: SampledPoints | None = field(default=None, repr=False)


@dataclass(frozen=True, eq=False)
class SampledPoints:
    """Template points sampled on the scan through a registration.

    Attributes
    ----------
    points : (N, K, 2) ndarray of float32
        The template pixel coordinates (the caller's array itself: its
        identity says which points these are).
    scan : (N, K, 2) ndarray of float32
        Where they fall on the scan (``cv2.perspectiveTransform``).
    gray : (N, K) ndarray of uint8
        The scan there (bilinear, paper white off the scan).
    """

    points: np.ndarray
    scan: np.ndarray
    gray: np.ndarray


@dataclass(frozen=True)
class RegistrationFailure:
    """A page that could not be registered.

    ``reason`` is one of :data:`ljun.vocabulary.REGISTRATION_FAILURES`;
    ``detail`` one sentence.
    """

    reason: FailureReason
    detail: str


def map_points(homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a homography to points.

    Parameters
    ----------
    homography : (3, 3) ndarray
    points : (..., 2) ndarray
        ``(x, y)`` coordinates.

    Returns
    -------
    (..., 2) ndarray of float64

    >>> map_points(np.diag([2.0, 2.0, 1.0]), np.array([[1.0, 3.0]])).tolist()
    [[2.0, 6.0]]
    """
    pts = np.asarray(points, dtype=np.float64)
    flat = pts.reshape(-1, 2)
    h = np.asarray(homography, dtype=np.float64)
    projected = flat @ h[:2, :2].T + h[:2, 2]
    w = flat @ h[2, :2] + h[2, 2]
    return (projected / w[:, None]).reshape(pts.shape)


def estimate_paper_level(small: np.ndarray) -> float:
    """The paper's gray level on a (downscaled) scan.

    The most common level among the light ones: Otsu's threshold splits the
    page's paper from ink and from a dark scanner background (which can
    cover a third of a skewed page's scan), and the mode above it is the
    paper's mean gray, free of pixel noise on an area-averaged copy.

    A page more than half of which is pure white (255: a black-and-white
    scan, where paper is white but for specks) has paper 255, whatever the
    rest of its histogram: that count alone, a tenth of the histogram's time
    (:func:`_mostly_white`).

    >>> estimate_paper_level(np.full((4, 4), 240, np.uint8))
    240.0
    """
    if _mostly_white(small):
        return float(_WHITE)
    return _paper_level_of_histogram(small)


# The gray level of pure white paper on a 1-bit scan made 8-bit.
_WHITE = 255
# _mostly_white counts all pixels only when this fraction of every
# _WHITE_PROBE_ROWS-th row is white (never on a gray scan: a few microseconds).
_WHITE_PROBE_ROWS = 16
_WHITE_PROBE_MIN = 0.4


def _mostly_white(small: np.ndarray) -> bool:
    """True when more than half of ``small``'s pixels are 255.

    Then :func:`_paper_level_of_histogram` gives 255 exactly: with ``c`` the
    count of 255 and ``T`` of all pixels, ``2c > T``, the bin 255 stays
    among the light levels whatever Otsu's threshold, the smoothed count at
    253 (bins 251-255) holds ``c`` and so exceeds every smoothed count
    below it (their bins hold at most ``T - c < c``) and equals or exceeds
    those above it (their bins are a subset of its), so the peak is 253 and
    the level the most common of bins 251-255: 255, whose ``c`` exceeds all
    the others together (``tests/test_register.py`` checks both on
    generated pages).

    >>> _mostly_white(np.array([[255, 255, 0]], np.uint8))
    True
    >>> _mostly_white(np.array([[255, 0]], np.uint8))
    False
    """
    probe = small[::_WHITE_PROBE_ROWS]
    _, white = cv2.threshold(probe, _WHITE - 1, 1, cv2.THRESH_BINARY)
    if cv2.countNonZero(white) < _WHITE_PROBE_MIN * probe.size:
        return False
    _, white = cv2.threshold(small, _WHITE - 1, 1, cv2.THRESH_BINARY)
    return 2 * cv2.countNonZero(white) > small.size


def _paper_level_of_histogram(small: np.ndarray) -> float:
    """:func:`estimate_paper_level` from the whole histogram (any page)."""
    hist = cv2.calcHist([small], [0], None, [256], [0, 256]).ravel().astype(np.float64)
    otsu = _otsu(hist)
    light = hist.copy()
    light[: int(otsu)] = 0.0
    if light.sum() == 0:
        light = hist
    # Smooth over +-2 levels so a noisy or dithered paper gives one peak.
    smooth = np.convolve(light, np.ones(5), mode="same")
    peak = int(np.argmax(smooth))
    low = max(peak - 2, 0)
    return float(low + np.argmax(light[low : peak + 3]))


def _otsu(hist: np.ndarray) -> int:
    """Otsu's threshold of a 256-bin histogram (the level that best splits it in two)."""
    levels = np.arange(256, dtype=np.float64)
    weight = np.cumsum(hist)
    total = weight[-1]
    mean = np.cumsum(hist * levels)
    # Levels with all or none of the pixels below them split nothing: 0.
    spread = weight * (total - weight)
    between = np.zeros_like(spread)
    np.divide((mean[-1] * weight - mean * total) ** 2, spread, out=between, where=spread != 0)
    return int(np.argmax(between)) + 1


def register(
    image: np.ndarray,
    template: Template | BubbleGeometry,
    calibration: Calibration | RegisterCalibration,
    *,
    dpi: float | None = None,
    sample_points: np.ndarray | None = None,
) -> Registration | RegistrationFailure:
    """Register a scanned page against a template.

    Parameters
    ----------
    image : (H, W) ndarray of uint8
        The scan, 0 black, 255 white.
    template : Template or BubbleGeometry
        The template (its geometry at ``REFERENCE_DPI`` is then the
        homography's domain, and its printed boxes join the form check), or
        a geometry at some dpi (its pixel space is the domain).
    calibration : Calibration or RegisterCalibration
        Thresholds (``calibration.register``).
    dpi : float, optional
        The scan's resolution if the file records it; otherwise it is
        inferred from the fiducials.
    sample_points : (N, K, 2) ndarray of float32, optional
        Points of the template's geometry (the reading kernel's,
        :attr:`ljun.read.SamplingPattern.points`) to sample in the form
        match's pass when one orientation is tried: the result's
        ``sampled``.

    Returns
    -------
    Registration or RegistrationFailure
        A failure has reason ``blank_page``, ``no_fiducials``,
        ``wrong_template`` or ``residual_too_high``.
    """
    cal = calibration.register if isinstance(calibration, Calibration) else calibration
    if isinstance(template, Template):
        geometry = template.geometry(REFERENCE_DPI)
        box_points = _box_points(template, REFERENCE_DPI)
    else:
        geometry = template
        box_points = np.zeros((0, 3, 2))
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype != np.uint8 or min(image.shape) < 16:
        return RegistrationFailure(
            FailureReason.NO_FIDUCIALS,
            f"not a gray page image (shape {image.shape}, {image.dtype})",
        )
    registration = _register_page(
        image, template, geometry, box_points, cal, dpi, sample_points, clean=False
    )
    if isinstance(registration, RegistrationFailure) and registration.reason in _CLEAN_RETRY:
        # A pencil stroke joined to a corner mark spoils its blob; look again
        # with thin strokes taken off the marks (only here: the first look
        # stays what it was on every sheet it registers).
        cleaned = _register_page(
            image, template, geometry, box_points, cal, dpi, sample_points, clean=True
        )
        if isinstance(cleaned, Registration):
            return cleaned
    elif (
        isinstance(registration, Registration) and registration.residual_mm > cal.residual_review_mm
    ):
        registration = _cleaner_of(
            registration,
            _register_page(
                image, template, geometry, box_points, cal, dpi, sample_points, clean=True
            ),
        )
    return registration


def _cleaner_of(first: Registration, cleaned: Registration | RegistrationFailure) -> Registration:
    """The first look of a page registered with an unsure residual, or the
    look with pencil strokes taken off the corner marks when that one fits
    them closer and finds the printed form at least as well.

    A stray line touching a corner mark joins its blob: the mark's centre
    (darkness-weighted) stays put, but its corners (``cv2.minAreaRect``) grow
    towards the line, and the residual with them (moderate dev seed 8604,
    sheet 51, 200-dpi gray: a line against the top-right mark, its corners
    6-11 px off, residual 0.52 mm, ``registration_unsure``; without the line
    0.08 mm).  A page that is really warped keeps its residual in both looks.
    """
    if (
        isinstance(cleaned, Registration)
        and cleaned.residual_mm < first.residual_mm
        and cleaned.form_match >= first.form_match
    ):
        return cleaned
    return first


def _register_page(
    image: np.ndarray,
    template: Template | BubbleGeometry,
    geometry: BubbleGeometry,
    box_points: np.ndarray,
    cal: RegisterCalibration,
    dpi: float | None,
    sample_points: np.ndarray | None,
    *,
    clean: bool,
) -> Registration | RegistrationFailure:
    """One look of :func:`register` at a page; with ``clean``, pencil strokes
    narrower than ``_STROKE_MAX_MM`` are taken off the ink before the corner
    marks are found and measured (:func:`_without_strokes`)."""
    # 1. Search copy.
    dpi_hint = (
        float(dpi) if dpi else float(np.sqrt(image.shape[0] * image.shape[1] / _NOMINAL_PAGE_IN2))
    )
    step = max(1, int(round(dpi_hint / cal.search_dpi)))
    small = _decimate(image, step)
    factor = 1.0 / step
    paper = estimate_paper_level(small)
    # small < paper * fraction, as 0/1 (gray levels are integers: <= ceil - 1).
    _, ink_mask = cv2.threshold(
        small, math.ceil(paper * cal.fiducial_ink_fraction) - 1, 1, cv2.THRESH_BINARY_INV
    )
    if clean:
        ink_mask = _without_strokes(ink_mask, _STROKE_MAX_MM * dpi_hint * factor / MM_PER_INCH)

    # Expected fiducial side on the search copy, from the dpi hint.
    tpl_fid = geometry.fiducials
    tpl_sizes = geometry.fiducial_sizes
    side_expected = float(np.mean(tpl_sizes)) / geometry.dpi * dpi_hint * factor
    # 2. Which candidates are the fiducials, and in which correspondence:
    #    first in the scan's corners, then, failing that, on the whole scan.
    candidates, cand_sides = _fiducial_candidates_in_corners(ink_mask, side_expected)
    choice = (
        _match_layout(candidates / factor, geometry) if len(candidates) >= len(tpl_fid) else None
    )
    if choice is None:
        candidates, cand_sides, ink_fraction = _fiducial_candidates(ink_mask, side_expected)
        if len(candidates) < len(tpl_fid):
            if ink_fraction < cal.blank_page_ink_max:
                return RegistrationFailure(
                    FailureReason.BLANK_PAGE,
                    f"almost no ink on the page ({ink_fraction:.4%} of its area)",
                )
            if len(candidates) == 0:
                # Printed matter but nothing like a corner mark: another form or document.
                return RegistrationFailure(
                    FailureReason.WRONG_TEMPLATE,
                    "the page has no corner marks: it is not this answer sheet",
                )
            return RegistrationFailure(
                FailureReason.NO_FIDUCIALS,
                f"{len(candidates)} of the {len(tpl_fid)} corner marks found",
            )
        choice = _match_layout(candidates / factor, geometry)
        if choice is None:
            return RegistrationFailure(
                FailureReason.NO_FIDUCIALS,
                "no set of marks is laid out like the template's corner marks",
            )
    candidates_full = candidates / factor
    chosen, shifts, scale_est = choice
    # Every chosen blob must be about as large as the layout's scale predicts.
    chosen_sides = cand_sides[chosen] / factor
    expected_sides = float(np.mean(tpl_sizes)) * scale_est
    if np.any(np.abs(chosen_sides / expected_sides - 1.0) > cal.fiducial_size_tolerance + 0.2):
        return RegistrationFailure(
            FailureReason.NO_FIDUCIALS, "the corner marks found are not the size the template gives"
        )

    # 3. Refine at full resolution.
    stroke_px = 0.0
    if clean:
        px_per_mm = expected_sides / (float(np.mean(tpl_sizes)) * MM_PER_INCH / geometry.dpi)
        stroke_px = _STROKE_MAX_MM * px_per_mm
    refined = []
    for k in chosen:
        measured = _refine_fiducial(
            image, candidates_full[k], expected_sides, paper, stroke_px=stroke_px
        )
        if measured is None:
            return RegistrationFailure(
                FailureReason.NO_FIDUCIALS,
                "a corner mark could not be measured (cut by the edge of the scan?)",
            )
        refined.append(measured)
    centres = np.array([m[0] for m in refined])
    corners = np.array([m[1] for m in refined])
    hole = np.array([m[2] for m in refined])
    ink = _median([m[3] for m in refined])
    # Paper beside the corner marks, at full resolution.
    paper_full = _median([m[4] for m in refined])

    ring = np.array([shape == "ring" for shape in geometry.fiducial_shapes])
    lightness = (hole - ink) / max(paper_full - ink, 1.0)
    orders = _orders_to_try(shifts, lightness, ring)
    # Only one fit: sample the caller's points in its pass (see SampledPoints).
    shared = sample_points if len(orders) == 1 else None
    results = [
        _fit(
            geometry,
            centres[order],
            corners[order],
            cal,
            paper_full,
            ink,
            image,
            box_points,
            shared,
        )
        for order in orders
    ]
    # Without a clear ring, a timing track decides the orientation, and
    # without a track the printed bubble rings do.
    by_track = (
        _track.choose_by_track(results, image, template, REFERENCE_DPI)
        if isinstance(template, Template)
        else None
    )
    reg = by_track if by_track is not None else max(results, key=lambda r: r.form_match)
    return _accepted(reg, cal, geometry)


def _median(values: list[float]) -> float:
    """``float(np.median(values))`` of a few numbers (no NaN) without NumPy's
    general machinery: the middle one, or the mean of the middle two as
    ``np.mean`` takes it ((a + b) / 2).

    >>> _median([4.0, 1.0, 3.0, 2.0]), _median([3.0, 1.0, 2.0])
    (2.5, 2.0)
    """
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return float((ordered[middle - 1] + ordered[middle]) / 2)


def _orders_to_try(
    shifts: list[np.ndarray], lightness: np.ndarray, ring: np.ndarray
) -> list[np.ndarray]:
    """Orientation: of the correspondences a rectangle allows (s and s+180°),
    the one that puts the template's ring on the blob with a hole, or all of
    them when no ring is clear or the template has none (a timing track or
    the form match then decides)."""
    if not ring.any():
        return list(shifts)
    best = None
    for order in shifts:
        # order[j] = index (into `chosen`) of the blob matched to template fiducial j
        has_hole = lightness[order] > _HOLE_MIN_LIGHTNESS
        agree = int(np.sum(has_hole == ring)) if ring.any() else 0
        if best is None or agree > best[0]:
            best = (agree, order)
    assert best is not None
    ring_ok = not ring.any() or best[0] == len(ring)
    return [best[1]] if ring_ok else list(shifts)


def _accepted(
    reg: Registration, cal: RegisterCalibration, geometry: BubbleGeometry
) -> Registration | RegistrationFailure:
    """``reg``, or the failure its residual or form match says it is."""
    if reg.residual_mm > cal.residual_max_mm:
        return RegistrationFailure(
            FailureReason.RESIDUAL_TOO_HIGH,
            f"corner marks are {reg.residual_mm:.2f} mm off the fitted sheet "
            f"(limit {cal.residual_max_mm} mm): the page is warped or damaged",
        )
    if reg.form_match < cal.form_match_min:
        return RegistrationFailure(
            FailureReason.WRONG_TEMPLATE,
            f"only {reg.form_match:.0%} of the printed form of template {geometry.template!r} "
            "is where the corner marks put it",
        )
    if reg.ring_match >= cal.form_match_min and reg.worst_field_match < cal.form_match_min:
        return RegistrationFailure(
            FailureReason.RESIDUAL_TOO_HIGH,
            f"the bubble rings are where the corner marks put them on most of the sheet but "
            f"only {reg.worst_field_match:.0%} in one field: the page is warped, folded or torn",
        )
    return reg


def _decimate(image: np.ndarray, step: int) -> np.ndarray:
    """The image averaged over ``step`` x ``step`` blocks (``cv2.INTER_AREA``).

    An integer factor keeps cv2's fast INTER_AREA path (4x faster than a
    fractional one), and halving first is faster still: OpenCV's 2x2 path is
    vectorised, its general integer path is not (4x: 0.3 ms instead of 2 ms
    on a 200-dpi A4 page, one thread; the means differ only by the rounding
    of the intermediate half-size copy, at most 1 gray level).
    """
    h, w = image.shape[0] // step, image.shape[1] // step
    small = image[: h * step, : w * step]
    while step % 2 == 0:
        step //= 2
        small = cv2.resize(
            small, (small.shape[1] // 2, small.shape[0] // 2), interpolation=cv2.INTER_AREA
        )
    if step > 1:
        small = cv2.resize(small, (w, h), interpolation=cv2.INTER_AREA)
    return small


def _fiducial_candidates(
    ink_mask: np.ndarray, side_expected: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Centres (K, 2) and sides (K,) of square solid blobs, largest first,
    and the fraction of the page that is ink (leaving out blobs as large as
    a quarter of the scan: a dark scanner background, not ink)."""
    n, _, stats, centroids = _components(ink_mask)
    if n <= 1:
        return np.zeros((0, 2)), np.zeros(0), 0.0
    stats = stats[1:]
    w = stats[:, cv2.CC_STAT_WIDTH].astype(np.float64)
    h = stats[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    huge = (w > _BACKGROUND_SPAN * ink_mask.shape[1]) | (h > _BACKGROUND_SPAN * ink_mask.shape[0])
    ink_fraction = float(area[~huge].sum() / ink_mask.size)
    index, side = _square_blobs(stats, side_expected)
    return centroids[1:][index], side[index], ink_fraction


def _square_blobs(stats: np.ndarray, side_expected: float) -> tuple[np.ndarray, np.ndarray]:
    """Which blobs may be fiducials: compact, square, solid and about
    ``side_expected`` across.

    Parameters
    ----------
    stats : (B, 5) ndarray of int32
        ``cv2.connectedComponentsWithStats``' statistics of the blobs (the
        background's row left out).
    side_expected : float
        The fiducials' expected side, in pixels of the mask.

    Returns
    -------
    index : (K,) ndarray of intp
        Rows of ``stats``, at most ``_MAX_CANDIDATES``, largest first (rows
        of the same area in their order).
    side : (B,) ndarray of float64
        Every blob's side: the square root of its area (the ring's hole is
        part of its bounding box only).
    """
    w = stats[:, cv2.CC_STAT_WIDTH].astype(np.float64)
    h = stats[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    side = np.sqrt(area)
    lo, hi = _CANDIDATE_SIDE_RANGE
    keep = (
        (side >= lo * side_expected * 0.9)
        & (np.maximum(w, h) <= hi * side_expected * 1.2)
        & (area >= _CANDIDATE_MIN_FILL * w * h)
        & (np.maximum(w, h) <= _CANDIDATE_MAX_ASPECT * np.minimum(w, h))
        & (np.minimum(w, h) >= 3)
    )
    index = np.flatnonzero(keep)
    return index[np.argsort(-area[index], kind="stable")][:_MAX_CANDIDATES], side


def _without_strokes(mask: np.ndarray, stroke_px: float) -> np.ndarray:
    """``mask`` without its ink strokes up to ``stroke_px`` wide.

    A morphological opening by a disc a little wider than the stroke: a
    pencil line across or against a corner mark goes, the mark (solid, or a
    ring whose band is twice as wide, ``_STROKE_MAX_MM``) keeps its sides,
    so its corners (``cv2.minAreaRect``) and centre stay where they were.

    Parameters
    ----------
    mask : (H, W) ndarray of uint8
        1 (or any non-zero) on ink.
    stroke_px : float
        Widest stroke to remove, in pixels of ``mask``.

    Returns
    -------
    (H, W) ndarray of uint8

    A 5 x 5 mark with a 1-pixel line through it: the line goes but for a
    pixel's stub either side of the mark.

    >>> mask = np.zeros((9, 12), np.uint8); mask[2:7, 2:7] = 1; mask[4, :] = 1
    >>> _without_strokes(mask, 1.0)[4].tolist()
    [0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    """
    size = 2 * int(np.ceil(stroke_px / 2.0)) + 1
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, disc)


# A mask smaller than this cannot hold more 8-connected blobs (4 pixels at
# least, with the gaps between them) than 16-bit labels count.
_LABELS_16U_MAX_PIXELS = 4 * 65535


def _components(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """``cv2.connectedComponentsWithStats`` (8-connected), with 16-bit labels
    when the mask is too small to hold more than 65,535 blobs (an 8-connected
    blob takes at least 4 pixels): two and a half times faster than 32-bit."""
    label_type = cv2.CV_16U if mask.size < _LABELS_16U_MAX_PIXELS else cv2.CV_32S
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(
        mask, connectivity=8, ltype=label_type
    )
    return n, labels, stats, centroids


def _cyclic_order(points: np.ndarray) -> np.ndarray:
    centre = points.mean(axis=0)
    angle = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    return np.argsort(angle, kind="stable")


def _match_layout(candidates: np.ndarray, geometry: BubbleGeometry):
    """Choose candidates matching the template fiducial layout
    (``geometry.fiducials``).

    Every set of ``F`` candidates (``F`` = number of template fiducials) and
    every cyclic correspondence with the template's fiducials is scored at
    once by the misfit of a least-squares similarity transform.

    Returns ``(chosen, orders, scale)``: ``chosen`` indices into candidates,
    ``orders`` the correspondences to try (each an index array into
    ``chosen`` per template fiducial: the best one and its 180° twin), and the
    scan-per-template scale; ``None`` when nothing fits.
    """
    t_order, zt0, zt0_energy, shift_index = _fiducial_layout(geometry)
    f = len(t_order)
    combos = _combinations(len(candidates), f)
    if combos.size == 0:
        return None
    pts = candidates[combos]  # (C, F, 2)
    centre = pts.mean(axis=1, keepdims=True)
    angle = np.arctan2(pts[..., 1] - centre[..., 1], pts[..., 0] - centre[..., 0])
    c_order = np.argsort(angle, axis=1, kind="stable")  # (C, F)
    z = np.take_along_axis(pts[..., 0] + 1j * pts[..., 1], c_order, axis=1)
    z0 = z - z.mean(axis=1, keepdims=True)
    # All cyclic shifts: shifted[c, s, i] = z0[c, (i + s) % F]
    shifted = z0[:, shift_index]  # (C, S, F)
    a = (shifted * np.conj(zt0)).sum(axis=2) / zt0_energy  # (C, S)
    misfit = np.sqrt(np.mean(np.abs(a[..., None] * zt0 - shifted) ** 2, axis=2))
    size = np.sqrt(np.mean(np.abs(z0) ** 2, axis=1))[:, None]
    relative = misfit / np.maximum(size, 1e-9)
    c, shift = np.unravel_index(int(np.argmin(relative)), relative.shape)
    if relative[c, shift] > _LAYOUT_MAX_MISFIT:
        return None
    orders = []
    row = c_order[c]
    for s in (shift, (shift + f // 2) % f) if f % 2 == 0 else (shift,):
        order = np.empty(f, dtype=np.intp)
        order[t_order] = np.concatenate((row[s:], row[:s]))  # np.roll(row, -s), 4x faster
        orders.append(order)
    return combos[c], orders, float(abs(a[c, shift]))


@functools.lru_cache(maxsize=8)
def _fiducial_layout(
    geometry: BubbleGeometry,
) -> tuple[np.ndarray, np.ndarray, np.float64, np.ndarray]:
    """The template's side of :func:`_match_layout`, made once per geometry
    (0.05 ms a page otherwise): the fiducials' cyclic order (F,), their
    positions in that order as complex numbers less their mean (F,), the sum
    of those numbers' squared moduli, and every cyclic shift, ``(S, F)``
    indices ``(i + s) % F``."""
    points = geometry.fiducials
    f = len(points)
    t_order = _cyclic_order(points)
    zt = points[t_order, 0] + 1j * points[t_order, 1]
    zt0 = zt - zt.mean()
    shift_index = (np.arange(f)[None, :] + np.arange(f)[:, None]) % f
    for array in (t_order, zt0, shift_index):
        array.setflags(write=False)
    return t_order, zt0, np.vdot(zt0, zt0).real, shift_index


@functools.lru_cache(maxsize=32)
def _combinations(n: int, k: int) -> np.ndarray:
    """Every ``k`` of ``range(n)``, (C, k) intp in ``itertools.combinations``
    order (C may be 0): made once per pair, not once per page."""
    combos = np.array(list(itertools.combinations(range(n), k)), dtype=np.intp)
    combos.setflags(write=False)
    return combos


def gray_quantile(values: np.ndarray, percent: float, mask: np.ndarray | None = None) -> float:
    """The ``percent`` percentile of uint8 gray levels, from their histogram.

    The value of rank ``floor(percent / 100 * (n - 1))`` (no interpolation);
    about eight times faster than ``np.percentile`` on a barcode crop and
    five times faster than a partial sort.  ``mask`` (uint8, the shape of a
    2-D ``values``) counts only the pixels where it is not 0, as
    ``values[mask != 0]`` would without the copy.

    Where at most the rank's worth of the values are below 255 (a crop of
    a black-and-white scan, its paper white), the percentile is 255, from
    one count instead of the histogram (5 instead of 80 us on a barcode
    crop; ranks as the histogram's float32 counts give them).

    >>> gray_quantile(np.arange(10, dtype=np.uint8), 50)
    4.0
    >>> gray_quantile(np.array([0, 255, 255, 255], np.uint8), 50)
    255.0
    """
    if mask is None and 0 < values.size < _FLOAT32_EXACT_COUNT:
        rank = _quantile_rank(np.float32(values.size), percent)
        if rank < values.size and count_below(values, _WHITE) <= rank:
            return float(_WHITE)
    return _histogram_quantile(_gray_histogram(values, mask), percent)


# Counts up to this are whole numbers in float32 (the histogram's counts).
_FLOAT32_EXACT_COUNT = 1 << 24


def count_below(values: np.ndarray, level: int) -> int:
    """How many uint8 ``values`` (any shape) are below the gray level
    ``level``: ``np.count_nonzero(values < level)``, counted by OpenCV.

    >>> count_below(np.array([0, 10, 254, 255], np.uint8), 255)
    3
    """
    if values.ndim != 2:
        values = values.reshape(-1, 1)
    _, below = cv2.threshold(values, level - 1, 1, cv2.THRESH_BINARY_INV)
    return cv2.countNonZero(below)


def _gray_histogram(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """The 256-bin histogram of uint8 ``values`` (where ``mask`` is not 0),
    (256,) float32 counts, for :func:`_histogram_quantile`."""
    if values.ndim != 2:
        values = values.reshape(-1, 1)
    return cv2.calcHist([values], [0], mask, [256], [0, 256]).ravel()


def _histogram_quantile(hist: np.ndarray, percent: float) -> float:
    """:func:`gray_quantile` of the gray levels counted in ``hist``."""
    counts = hist.cumsum()  # the methods: without numpy's dispatch, 2 us less a quantile
    return float(counts.searchsorted(_quantile_rank(counts[-1], percent), side="right"))


def _quantile_rank(total: np.float32, percent: float) -> int:
    """The rank of the ``percent`` percentile among ``total`` values, a
    float32 count (the arithmetic in float32, as the histogram's)."""
    return int(percent / 100.0 * (total - 1))


def _fiducial_candidates_in_corners(
    ink_mask: np.ndarray, side_expected: float
) -> tuple[np.ndarray, np.ndarray]:
    """Fiducial candidates searched in the four corners of the scan only
    (fewer blobs to label: twice as fast), largest first.

    Each corner is labelled apart, and the blobs of all four are judged
    together (:func:`_square_blobs`, once instead of four times: 0.1 ms
    less a page), corner by corner in the order below: the largest of them
    are the largest of each corner's largest, ties in the same order.
    """
    h, w = ink_mask.shape
    ch, cw = int(h * _CORNER_WINDOW), int(w * _CORNER_WINDOW)
    stats, centres = [], []
    for y0, x0 in ((0, 0), (0, w - cw), (h - ch, 0), (h - ch, w - cw)):
        _, _, corner_stats, corner_centres = _components(ink_mask[y0 : y0 + ch, x0 : x0 + cw])
        stats.append(corner_stats[1:])
        centres.append(corner_centres[1:] + (x0, y0))
    index, side = _square_blobs(np.concatenate(stats), side_expected)
    return np.concatenate(centres)[index], side[index]


def _refine_fiducial(
    image: np.ndarray, centre: np.ndarray, side: float, paper: float, *, stroke_px: float = 0.0
):
    """Measure one fiducial at full resolution.

    With ``stroke_px`` (scan pixels), ink strokes narrower than that are
    taken off the mark first (:func:`_without_strokes`).

    Returns ``(centre (2,), corners (4, 2), centre_gray, ink_gray,
    paper_gray)`` or None.
    """
    half = int(np.ceil(_REFINE_HALF_WINDOW * side))
    cx, cy = int(round(centre[0])), int(round(centre[1]))
    x0, y0 = max(cx - half, 0), max(cy - half, 0)
    x1, y1 = min(cx + half + 1, image.shape[1]), min(cy + half + 1, image.shape[0])
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    window = image[y0:y1, x0:x1]
    # One histogram of the window serves the ink guess, and less the blob's
    # the paper beside it (counts are exact in float32).
    window_hist = _gray_histogram(window)
    ink_guess = _histogram_quantile(window_hist, _INK_PERCENTILE)
    threshold = (ink_guess + paper) / 2.0
    # window < threshold as 0/1: gray levels are integers, so <= ceil - 1.
    _, mask = cv2.threshold(window, math.ceil(threshold) - 1, 1, cv2.THRESH_BINARY_INV)
    if stroke_px > 0:
        mask = _without_strokes(mask, stroke_px)
    n, labels, stats, centroids = _components(mask)
    if n <= 1:
        return None
    # The blob nearest the window centre, among the large ones.
    local = np.array([cx - x0, cy - y0], dtype=np.float64)
    area = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    dist = np.hypot(*(centroids[1:] - local).T)
    large = area >= 0.25 * side * side
    if not large.any():
        return None
    k = int(np.argmin(np.where(large, dist, np.inf))) + 1
    bx, by, bw, bh = (int(v) for v in stats[k, :4])
    if (
        (x0 + bx == 0)
        or (y0 + by == 0)
        or (x0 + bx + bw >= image.shape[1])
        or (y0 + by + bh >= image.shape[0])
    ):
        return None  # cut by the edge of the scan: its centre cannot be measured
    # The blob is measured in its bounding box (a fifth of the window), with
    # a pixel of margin where the contour is traced: the same contour, and
    # the same moments (below).
    bx0, by0 = max(bx - 1, 0), max(by - 1, 0)
    box = (slice(by0, by + bh + 1), slice(bx0, bx + bw + 1))
    blob = cv2.inRange(labels[box], k, k)  # uint8, 255 on the blob
    # Darkness-weighted centroid: sub-pixel, symmetric under blur.  (paper -
    # gray is exact in float32, and so is its product with 0 or 1.)
    weight = np.subtract(np.float32(paper), window[box], dtype=np.float32)
    np.maximum(weight, np.float32(0.0), out=weight)
    # Off the blob 0: cv2 copies the weights under the blob's mask into a
    # new, zeroed array, bit for bit.  Its sums m00, m10 and m01 are whole
    # numbers (paper is a whole gray level), exact in double, so moving them
    # from the box to the window (m10 + bx0 m00) changes no bit.
    moments = cv2.moments(cv2.copyTo(weight, blob))
    if moments["m00"] <= 0:
        return None
    m00 = moments["m00"]
    mx = (moments["m10"] + bx0 * m00) / m00 + x0
    my = (moments["m01"] + by0 * m00) / m00 + y0
    contours, _ = cv2.findContours(
        blob, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE, offset=(bx0, by0)
    )
    rect = cv2.minAreaRect(max(contours, key=len))
    # minAreaRect works on pixel centres; the blob's edge lies half a pixel out.
    (rcx, rcy), (rw, rh), angle = rect
    corners = cv2.boxPoints(((rcx + x0, rcy + y0), (rw + 1.0, rh + 1.0), angle)).astype(np.float64)
    blob_hist = _gray_histogram(window[box], blob)
    ink = _histogram_quantile(blob_hist, _INK_PERCENTILE)
    outside = window_hist - blob_hist
    local_paper = (
        _histogram_quantile(outside, _LOCAL_PAPER_PERCENTILE)
        if window.size > blob_hist.sum()
        else paper
    )
    probe = max(1, int(round(_HOLE_PROBE_FRACTION * side)))
    px, py = int(round(mx)), int(round(my))
    centre_patch = image[max(py - probe, 0) : py + probe + 1, max(px - probe, 0) : px + probe + 1]
    # Its mean: the exact sum over the count, as ndarray.mean gives it.
    centre_gray = int(centre_patch.sum()) / centre_patch.size if centre_patch.size else ink
    return np.array([mx, my]), corners, centre_gray, ink, local_paper


def _fit(
    geometry: BubbleGeometry,
    centres: np.ndarray,
    corners: np.ndarray,
    cal: RegisterCalibration,
    paper: float,
    ink: float,
    image: np.ndarray,
    box_points: np.ndarray,
    sample_points: np.ndarray | None = None,
) -> Registration:
    tpl = geometry.fiducials.astype(np.float32)
    homography = cv2.getPerspectiveTransform(tpl[:4], centres[:4].astype(np.float32)).astype(
        np.float64
    )
    if len(tpl) > 4:
        refined, _ = cv2.findHomography(tpl, centres.astype(np.float32), 0)
        if refined is not None:
            homography = refined.astype(np.float64)
    # Predicted corners of every fiducial (axis-aligned squares in the template).
    half = geometry.fiducial_sizes[:, None] / 2.0
    offsets = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64)
    tpl_corners = geometry.fiducials[:, None, :] + offsets[None, :, :] * half[:, :, None]
    predicted = map_points(homography, tpl_corners)  # (F, 4, 2)
    circle = np.array([shape == "circle" for shape in geometry.fiducial_shapes])
    if circle.any():
        # A disc has no corners: its measured centre stands for them.
        offsets_on_scan = predicted - map_points(homography, geometry.fiducials)[:, None, :]
        corners = np.where(circle[:, None, None], centres[:, None, :] + offsets_on_scan, corners)
    # Match each measured corner to the nearest predicted one of its fiducial.
    d = np.linalg.norm(predicted[:, :, None, :] - corners[:, None, :, :], axis=-1)  # (F, 4, 4)
    nearest = d.min(axis=2)
    residual_px = float(np.sqrt(np.mean(nearest**2)))
    # Scale: mean of the local Jacobian's singular values at the page centre.
    centre = np.array([[geometry.width / 2.0, geometry.height / 2.0]])
    probe = map_points(homography, np.vstack([centre, centre + [1, 0], centre + [0, 1]]))
    jac = np.column_stack([probe[1] - probe[0], probe[2] - probe[0]])
    scale = float(np.sqrt(abs(np.linalg.det(jac))))
    dpi = scale * geometry.dpi
    residual_mm = residual_px / (dpi / MM_PER_INCH)
    # Orientation: the direction of the template's x axis on the scan.
    angle = float(np.degrees(np.arctan2(jac[1, 0], jac[0, 0])))
    orientation = int(round(angle / 90.0)) % 4 * 90
    ring_match, box_match, worst_field_match, sampled = _form_match(
        image, homography, geometry, cal, paper, ink, box_points, sample_points
    )
    return Registration(
        homography=homography,
        orientation=orientation,
        residual_px=residual_px,
        residual_mm=residual_mm,
        scale=scale,
        dpi=dpi,
        paper_level=paper,
        ink_level=ink,
        form_match=max(ring_match, box_match),
        ring_match=ring_match,
        box_match=box_match,
        worst_field_match=worst_field_match,
        fiducials=centres,
        sampled=sampled,
    )


def _ring_offsets() -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, _RING_POINTS, endpoint=False) + np.pi / _RING_POINTS
    return np.column_stack([np.cos(angles), np.sin(angles)])


_RING_UNIT = _ring_offsets()


def _form_match(
    image: np.ndarray,
    homography: np.ndarray,
    geometry: BubbleGeometry,
    cal: RegisterCalibration,
    paper: float,
    ink: float,
    box_points: np.ndarray,
    sample_points: np.ndarray | None = None,
) -> tuple[float, float, float, SampledPoints | None]:
    """How much of the printed form is where predicted.

    Returns the fraction of bubble rings found (most of a ring's points
    dark), of box-line places found (dark at one of three points across the
    line), and the lowest ring fraction of any field.  Box lines are darker
    than rings, so a 1-bit scan whose threshold dropped the rings still shows
    them; a page that is not this template shows neither.  With
    ``sample_points`` (one per bubble row), those are sampled in the same
    pass: the fourth value.
    """
    scale = max(paper - ink, 1.0)
    points = _ring_probe_points(geometry)
    sampled = None
    if sample_points is None:
        probes = _sample(image, homography, points)
    else:
        together = _with_ring_probes(sample_points, points)
        scan, gray = sample_scan(image, homography, together)
        k = sample_points.shape[1]
        sampled = SampledPoints(sample_points, scan[:, :k], gray[:, :k])
        probes = gray[:, k:].astype(np.float32)
    darkness = (paper - probes) / scale
    darkness = darkness.reshape(len(points), len(_RING_PROBE), -1)
    on_ring, inside, outside = darkness[:, 0], darkness[:, 1], darkness[:, 2]
    # A ring is found where it is dark and darker than the paper just inside
    # and just outside it, in most directions: on a shifted grid the probes
    # land on a neighbour's ring or a letter in some directions, not in most.
    # (A bubble filled in pencil fails the test: few are, so the fraction holds.)
    crisp = (on_ring >= cal.ring_darkness_min) & (
        on_ring - np.maximum(inside, outside) >= cal.ring_darkness_min / 2
    )
    found = np.mean(crisp, axis=1) >= _RING_FOUND_FRACTION
    rings = float(np.mean(found))
    per_field = np.bincount(
        geometry.field_index, weights=found, minlength=len(geometry.field_names)
    )
    sizes = np.bincount(geometry.field_index, minlength=len(geometry.field_names))
    large = sizes >= _FIELD_CHECK_MIN_BUBBLES
    worst = float(np.min(per_field[large] / sizes[large])) if large.any() else rings
    if len(box_points) == 0:
        return rings, 0.0, worst, sampled
    darkness = (paper - _sample(image, homography, box_points)) / scale
    # The darkest of the places across the line, by np.maximum of their
    # columns: a max reduced over an axis of three runs element by element
    # (36 -> 3 us for the 1,008 places of the LJUN sheet at 200 dpi).
    darkest = functools.reduce(np.maximum, darkness.T)
    boxes = float(np.mean(darkest >= cal.ring_darkness_min))
    return rings, boxes, worst, sampled


@functools.lru_cache(maxsize=8)
def _ring_probe_points(geometry: BubbleGeometry) -> np.ndarray:
    """The form match's probe points of every bubble: (N, 3 * A, 2) float32
    template pixels, on its ring and just inside and outside it
    (``_RING_PROBE``) in ``_RING_POINTS`` directions; made once per geometry."""
    radii = geometry.radii[:, None, None, None] * np.array(_RING_PROBE)[None, :, None, None]
    points = geometry.centres[:, None, None, :] + radii * _RING_UNIT[None, None, :, :]
    points = np.ascontiguousarray(points.reshape(len(geometry.radii), -1, 2), dtype=np.float32)
    points.setflags(write=False)
    return points


def _sample(image: np.ndarray, homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Gray levels (bilinear, paper white off the scan) at template ``points``
    (P, M, 2) mapped onto the scan by ``homography``: (P, M) float32."""
    return sample_scan(image, homography, points)[1].astype(np.float32)


def sample_scan(
    image: np.ndarray, homography: np.ndarray, points: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Where template ``points`` (P, M, 2) fall on the scan, and the scan there.

    Returns the scan coordinates (P, M, 2) float32 and the gray levels
    (P, M) uint8 (bilinear, paper white off the scan).  One
    ``cv2.perspectiveTransform`` in float32 (a thousandth of a pixel on an
    A4 page at 600 dpi) is three times faster than :func:`map_points`, and
    ``cv2.remap`` three times faster on contiguous maps; it takes the
    transform's (x, y) pairs as they are, one two-channel map (the same
    samples as from separate x and y maps, without copying them out: 10 %
    less time).
    """
    scan = scan_positions(homography, points)
    return scan, sample_at(image, scan)


def scan_positions(homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Where template ``points`` (P, M, 2) fall on the scan: (P, M, 2) float32,
    as :func:`sample_scan` maps them."""
    return cv2.perspectiveTransform(
        np.asarray(points, dtype=np.float32).reshape(-1, 1, 2), homography
    ).reshape(*points.shape[:2], 2)


def sample_at(image: np.ndarray, scan: np.ndarray) -> np.ndarray:
    """The scan at ``scan`` positions (P, M, 2) float32: (P, M) uint8,
    bilinear, paper white off the scan (:func:`sample_scan`)."""
    return cv2.remap(
        image,
        scan,
        None,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    )


# The last points given to _with_ring_probes, and them with the ring probes.
_TOGETHER: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []


def _with_ring_probes(sample_points: np.ndarray, probes: np.ndarray) -> np.ndarray:
    """``sample_points`` (N, K, 2) and the ring ``probes`` (N, P, 2) side by
    side, (N, K + P, 2) float32: made once per pair of arrays."""
    for points, ring, together in _TOGETHER:
        if points is sample_points and ring is probes:
            return together
    together = np.ascontiguousarray(
        np.concatenate([sample_points, probes], axis=1), dtype=np.float32
    )
    together.setflags(write=False)
    _TOGETHER[:] = [*_TOGETHER[-3:], (sample_points, probes, together)]
    return together


@functools.lru_cache(maxsize=8)
def _box_points(template: Template, dpi: float) -> np.ndarray:
    """Points along the printed box lines: (P, 3, 2) template pixels, three
    across the line at each place (on it and ``_BOX_ACROSS_MM`` either side)."""
    places = []
    for box in template.boxes:
        corners = [
            (box.x_mm, box.y_mm),
            (box.x_mm + box.width_mm, box.y_mm),
            (box.x_mm + box.width_mm, box.y_mm + box.height_mm),
            (box.x_mm, box.y_mm + box.height_mm),
        ]
        for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1]):
            length = float(np.hypot(x1 - x0, y1 - y0))
            n = max(2, int(length / _BOX_STEP_MM))
            t = (np.arange(n) + 0.5) / n
            along = np.column_stack([x0 + t * (x1 - x0), y0 + t * (y1 - y0)])
            normal = np.array([-(y1 - y0), x1 - x0]) / max(length, 1e-9)
            places.append(
                np.stack(
                    [along - _BOX_ACROSS_MM * normal, along, along + _BOX_ACROSS_MM * normal],
                    axis=1,
                )
            )
    if not places:
        return np.zeros((0, 3, 2))
    points = np.ascontiguousarray(mm_to_px(np.concatenate(places), dpi), dtype=np.float32)
    points.setflags(write=False)
    return points
