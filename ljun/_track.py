"""Timing track: which way up a sheet lies when its corner marks are all alike.

Designs of the Indonesian LJK family print four identical solid corner
squares and a *timing track*, a row of short black bars down one edge
(:class:`ljun.template.TimingTrack`).  Turned upside down, the corners look
the same, but the track moves to the other edge.  :func:`track_match` tells
how much of the track a candidate homography finds where the template puts it:
every bar's centre must be dark and the paper half-way to the next bar light.
:func:`choose_by_track` is the hook :func:`ljun.register.register` calls when
the corner marks leave the orientation open.  :func:`track_offsets_mm` measures
how far each bar lies from where the homography puts it: paper stretched or
shrunk between the corner marks shows as bars off their places, and the
pipeline sends such a sheet to review (it does not yet correct the rows).

Pure functions on arrays; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from .template import Template, mm_to_px

if TYPE_CHECKING:
    from .register import Registration

__all__ = [
    "track_points",
    "track_match",
    "choose_by_track",
    "track_offsets_mm",
    "track_stretched",
    "TRACK_STRETCH_REVIEW_MM",
]

# A bar is found where its centre is at least this dark (0 paper, 1 the
# fiducials' ink) and the gap after it at most this dark: the bars are as
# black as the corner marks, so half-way is robust to blur and 1-bit scans.
BAR_DARKNESS_MIN = 0.5
GAP_DARKNESS_MAX = 0.5
# Points probed across each bar (fractions of the bar's half width), so one
# stray light pixel or a registration error of a few tenths of a mm does not
# lose a bar.
_BAR_PROBES = (-0.5, 0.0, 0.5)
# The track decides the orientation only when the better candidate finds at
# least this fraction of the bars and clearly more than the other.
TRACK_FOUND_MIN = 0.6
TRACK_MARGIN_MIN = 0.25


def track_points(template: Template, dpi: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Probe points of the template's timing track at ``dpi``.

    Returns
    -------
    bars : (K, P, 2) ndarray of float64
        Points inside each of the ``K`` bars (pixels of the geometry at ``dpi``).
    gaps : (K - 1, 2) ndarray of float64
        The point half-way between consecutive bars (paper).
    None when the template has no track.
    """
    track = template.timing_track
    if track is None:
        return None
    centres = track.centres_mm()
    across = np.array(_BAR_PROBES)[:, None] * np.array([track.bar_width_mm / 2, 0.0])
    bars = centres[:, None, :] + across[None, :, :]
    gaps = (centres[1:] + centres[:-1]) / 2
    return mm_to_px(bars, dpi), mm_to_px(gaps, dpi)


def _darkness(
    image: np.ndarray, homography: np.ndarray, points: np.ndarray, paper: float, ink: float
) -> np.ndarray:
    """Darkness (0 paper, 1 ink) of the scan at template ``points`` (..., 2)."""
    from .register import map_points  # here: ljun.register imports this module

    scan = np.asarray(map_points(homography, points), dtype=np.float32).reshape(1, -1, 2)
    gray = cv2.remap(
        image,
        scan[..., 0],
        scan[..., 1],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    ).astype(np.float32)
    return ((paper - gray) / max(paper - ink, 1.0)).reshape(points.shape[:-1])


def track_match(
    image: np.ndarray,
    homography: np.ndarray,
    bars: np.ndarray,
    gaps: np.ndarray,
    *,
    paper: float,
    ink: float,
) -> float:
    """Fraction of the timing track's bars found where ``homography`` puts them.

    Parameters
    ----------
    image : (H, W) ndarray of uint8
        The scan.
    homography : (3, 3) ndarray of float64
        Template pixels to scan pixels.
    bars, gaps : ndarray
        From :func:`track_points`, in the homography's template pixels.
    paper, ink : float
        Gray levels of the paper and of the corner marks on this scan.

    Returns
    -------
    float
        0-1: a bar counts when it is dark at one of its probes and the paper
        after it is light (the last bar needs only be dark).
    """
    dark = _darkness(image, homography, bars, paper, ink).max(axis=1) >= BAR_DARKNESS_MIN
    light = _darkness(image, homography, gaps, paper, ink) <= GAP_DARKNESS_MAX
    found = dark & np.append(light, True)
    return float(np.mean(found))


def choose_by_track(
    candidates: Sequence[Registration], image: np.ndarray, template: Template, dpi: float
) -> Registration | None:
    """The candidate registration whose orientation the timing track confirms.

    ``candidates`` are registrations of the same corner marks in different
    correspondences (an upright reading and its 180° twin).  Returns the one
    that finds the track, or None when the template has no track or the track
    does not tell them apart (the caller then decides by the printed form).
    """
    points = track_points(template, dpi)
    if points is None or len(candidates) < 2:
        return None
    bars, gaps = points
    scores = [
        track_match(image, r.homography, bars, gaps, paper=r.paper_level, ink=r.ink_level)
        for r in candidates
    ]
    order = np.argsort(scores)[::-1]
    best, second = scores[order[0]], scores[order[1]]
    if best < TRACK_FOUND_MIN or best - second < TRACK_MARGIN_MIN:
        return None
    return candidates[int(order[0])]


#: A bar this far (mm, on the template) from where the corner marks put it
#: means the paper is stretched between them: the sheet goes to review.  On
#: generated scans at every level bars sit within 0.15 mm; a bubble of the
#: smallest bundled design (3.8 mm) is read safely up to about a quarter of
#: its radius off.
TRACK_STRETCH_REVIEW_MM = 0.5


def track_stretched(
    image: np.ndarray,
    homography: np.ndarray,
    template: Template,
    dpi: float,
    *,
    paper: float,
    ink: float,
) -> bool:
    """True when some bar of the track lies farther than :data:`TRACK_STRETCH_REVIEW_MM`
    from its predicted place (False without a track or without bars found)."""
    offsets = track_offsets_mm(image, homography, template, dpi, paper=paper, ink=ink)
    found = offsets[np.isfinite(offsets)]
    return bool(found.size and np.abs(found).max() > TRACK_STRETCH_REVIEW_MM)


# Each bar's position is measured along the track on a profile of this
# resolution (mm), half a step either side of where the homography puts it.
_PROFILE_STEP_MM = 0.1


def track_offsets_mm(
    image: np.ndarray,
    homography: np.ndarray,
    template: Template,
    dpi: float,
    *,
    paper: float,
    ink: float,
) -> np.ndarray:
    """How far each bar of the track lies from its predicted place, along the track.

    Parameters
    ----------
    image : (H, W) ndarray of uint8
    homography : (3, 3) ndarray
        Template pixels at ``dpi`` to scan pixels.
    template : Template
        With a timing track.
    paper, ink : float
        Gray levels of the paper and the corner marks on this scan.

    Returns
    -------
    (K,) ndarray of float64
        Signed offset of each bar's darkness centroid in millimetres on the
        template (0 where the bar is where predicted); NaN for a bar not found.
    """
    track = template.timing_track
    if track is None:
        return np.zeros(0)
    centres = track.centres_mm()
    step = np.asarray(track.step_mm, dtype=np.float64)
    length = float(np.hypot(*step))
    along = step / max(length, 1e-9)
    across = np.array([-along[1], along[0]])
    t = np.arange(-length / 2, length / 2 + 1e-9, _PROFILE_STEP_MM)  # (T,)
    width = track.bar_width_mm if abs(along[1]) > abs(along[0]) else track.bar_height_mm
    a = np.array([-0.25, 0.0, 0.25]) * width  # (A,) across the bar
    points = (
        centres[:, None, None, :] + t[None, :, None, None] * along + a[None, None, :, None] * across
    )  # (K, T, A, 2)
    darkness = _darkness(image, homography, mm_to_px(points, dpi), paper, ink).mean(axis=2)
    weight = np.where(darkness >= BAR_DARKNESS_MIN, darkness, 0.0)  # (K, T)
    total = weight.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        offsets = (weight * t[None, :]).sum(axis=1) / total
    return np.where(total > 0, offsets, np.nan)
