"""A template proposed from a scan of a blank sheet (``ljun template from-scan``).

An office is handed a design (the master PDF, or a printed sheet) and needs
its template.  :func:`propose_template` finds, on the gray image of a blank
sheet lying upright (skew of a few degrees is measured and undone):

1. the corner marks: the solid blob nearest each corner of the page (square,
   circle, or a square with a hole, a ``ring``);
2. the timing track: a run of at least ``MIN_TRACK_BARS`` solid bars, evenly
   spaced along one line;
3. every printed bubble: a thin round outline 2.5-7 mm across, empty at the
   corners of its bounding box (which tells it from a square write-in box);
4. grids: bubbles linked to their neighbours in the same row or column when
   no farther apart than 1.5 times their nearest neighbour; each grid's rows
   and columns by clustering;
5. what each grid is: 5 (or 4, unless 10 rows) columns are answer rows (A-E), numbered down
   each block and then across the blocks; 10 rows are digit columns, 26 rows
   letter columns, 2-4 bubbles in one column a choice (paket A/B/S).  Names
   follow the LJUN fields: the letter grid is ``nama``, digit grids of 14, 6
   and 4 columns ``nomor_peserta``, ``tanggal_lahir``, ``kode_kompetensi``.

The result is a template document (a dict, ready for JSON) and the list of
what could not be placed; the caller writes them and draws the preview
(:func:`draw_preview`).  Pure functions on arrays, no I/O.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from .register import estimate_paper_level
from .render import RING_HOLE_FRACTION
from .template import MM_PER_INCH

__all__ = ["Proposal", "propose_template", "draw_preview", "PAPER_SIZES"]

#: Named paper sizes (width, height in mm) a scan's size is matched against.
PAPER_SIZES = {"A4": (210.0, 297.0), "F4": (215.0, 330.0), "Letter": (215.9, 279.4)}
# A scan is of a named paper size when within this many mm of it.
PAPER_TOLERANCE_MM = 6.0
# Ink: darker than this fraction of the way from paper to black.  Light
# coloured rings (luma ~ 120 of 255) are ink; option letters inside them
# (lighter still) are mostly not, and never touch the ring anyway.
INK_FRACTION = 0.4
# Below this resolution the rings of bubbles under 1 mm apart touch.
MIN_DPI = 200
# The scan has a dark background (the page is cut out of it) when its
# border is darker than this fraction of the paper's level.
DARK_BACKGROUND_FRACTION = 0.6
# Corner marks: solid blobs of this side (mm), about square.
MARK_SIDE_MM = (3.0, 15.0)
MARK_MAX_ASPECT = 1.3
MARK_MIN_FILL = 0.55
# Bubbles: outlines of this diameter (mm), about round.
BUBBLE_DIAMETER_MM = (2.5, 7.0)
BUBBLE_MAX_ASPECT = 1.25
# A ring's ink covers at most this fraction of its bounding box (a filled
# letter or a bold 'O' covers more).
BUBBLE_MAX_FILL = 0.45
# The corners of a circle's bounding box (this fraction of its side) are
# empty; a square write-in box has ink there.
CORNER_PATCH = 0.2
# ... at most this fraction of those corner patches is ink for a circle (a
# square outline's two sides fill about half of each patch).
CIRCLE_MAX_CORNER_INK = 0.25
# Printed frames: outlines at least this many mm on each side (write-in
# boxes are smaller), whose ink is a thin line (low fill) through the corners.
BOX_MIN_SIDE_MM = 8.0
BOX_MAX_FILL = 0.2
BOX_OUTLINE_RANGE = (0.4, 2.5)
# Printed frame lines are about this wide (ljun.render.BOX_LINE_MM).
BOX_LINE_MM = 0.25
# Timing-track bars: solid, elongated (aspect at least this), 0.8-8 mm long.
BAR_MIN_ASPECT = 1.8
BAR_LENGTH_MM = (0.8, 8.0)
MIN_TRACK_BARS = 5
# Bubbles in a row/column line up within this fraction of their diameter.
ALIGN_FRACTION = 0.3
# Neighbours are linked when at most this many nearest-neighbour distances apart.
LINK_FACTOR = 1.5
# Columns of a digit grid form one block while their spacing stays within this (mm).
STEP_TOLERANCE_MM = 0.3
# Coordinates are written rounded to this many decimals (mm).
DECIMALS = 2
LETTERS = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
DIGITS = tuple("0123456789")
ANSWER_LETTERS = tuple("ABCDE")
CHOICE_OPTIONS = {2: ("A", "B"), 3: ("A", "B", "S"), 4: ("A", "B", "C", "S")}
DIGIT_FIELD_BY_COLUMNS = {14: "nomor_peserta", 6: "tanggal_lahir", 4: "kode_kompetensi"}


@dataclass(frozen=True)
class Proposal:
    """A proposed template and what the proposal rests on.

    ``document`` is the template JSON (``ljun-template/1``); ``bubbles_mm``
    every bubble found ``(N, 2)``; ``placed`` says for each whether it went
    into a field; ``notes`` one sentence per thing an operator should check.
    ``rotation_deg`` is the skew that was undone.
    """

    document: dict[str, Any]
    bubbles_mm: np.ndarray
    placed: np.ndarray
    notes: tuple[str, ...] = ()
    rotation_deg: float = 0.0
    deskewed: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint8))
    dpi: float = 0.0


@dataclass(frozen=True)
class _Blob:
    x: float  # centre, px
    y: float
    w: int
    h: int
    area: int
    fill: float  # area / bounding-box area
    corners_ink: float  # ink fraction in the bbox's corner patches
    centre_ink: float  # ink fraction in the bbox's central patch


def _blobs(mask: np.ndarray) -> list[_Blob]:
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    out = []
    for k in range(1, n):
        x0, y0, w, h, area = (int(v) for v in stats[k])
        if w < 3 or h < 3:
            continue
        patch = labels[y0 : y0 + h, x0 : x0 + w] == k
        cw, ch = max(1, int(w * CORNER_PATCH)), max(1, int(h * CORNER_PATCH))
        corners = np.concatenate(
            [
                patch[:ch, :cw].ravel(),
                patch[:ch, -cw:].ravel(),
                patch[-ch:, :cw].ravel(),
                patch[-ch:, -cw:].ravel(),
            ]
        )
        cy, cx = h // 2, w // 2
        centre = patch[cy - ch // 2 : cy + ch // 2 + 1, cx - cw // 2 : cx + cw // 2 + 1]
        out.append(
            _Blob(
                x=x0 + (w - 1) / 2,
                y=y0 + (h - 1) / 2,
                w=w,
                h=h,
                area=area,
                fill=area / (w * h),
                corners_ink=float(corners.mean()),
                centre_ink=float(centre.mean()) if centre.size else 0.0,
            )
        )
    return out


def _ink_mask(gray: np.ndarray, dpi: float) -> np.ndarray:
    # A light blur (0.1 mm) joins a noisy scan's broken ring pixels.
    # (Below about 200 dpi the printed ring is under 2 px wide and the blur
    # would lift its core above the threshold: no blur there.)
    sigma = 0.1 * dpi / MM_PER_INCH
    smooth = cv2.GaussianBlur(gray, (0, 0), sigma) if sigma > 0.7 else gray
    small = cv2.resize(gray, (max(1, gray.shape[1] // 4), max(1, gray.shape[0] // 4)))
    paper = estimate_paper_level(small)
    ink = float(np.percentile(gray, 0.5))
    threshold = paper - INK_FRACTION * max(paper - ink, 1.0)
    return (smooth < threshold).astype(np.uint8)


def _marks(blobs: list[_Blob], px_per_mm: float) -> list[_Blob]:
    lo, hi = (v * px_per_mm for v in MARK_SIDE_MM)
    return [
        b
        for b in blobs
        if lo <= max(b.w, b.h) <= hi
        and max(b.w, b.h) <= MARK_MAX_ASPECT * min(b.w, b.h)
        and b.fill >= MARK_MIN_FILL
    ]


def _corner_marks(marks: list[_Blob], width: int, height: int) -> list[_Blob]:
    """The mark nearest each corner of the page, in the order TL, TR, BR, BL
    (fewer when a corner has none within a quarter of the page)."""
    chosen = []
    for cx, cy in ((0, 0), (width, 0), (width, height), (0, height)):
        near = [b for b in marks if abs(b.x - cx) < width / 4 and abs(b.y - cy) < height / 4]
        if near:
            chosen.append(min(near, key=lambda b: math.hypot(b.x - cx, b.y - cy)))
    return chosen


def _deskew_angle(corners: list[_Blob]) -> float:
    """Skew in degrees (positive: the page turned clockwise on the scan)."""
    if len(corners) < 2:
        return 0.0
    tl, tr = corners[0], corners[1]
    angles = [math.atan2(tr.y - tl.y, tr.x - tl.x)]
    if len(corners) == 4:
        br, bl = corners[2], corners[3]
        angles.append(math.atan2(br.y - bl.y, br.x - bl.x))
    return math.degrees(float(np.mean(angles)))


def _crop_to_paper(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """The page cut out of a scan with a dark background, turned upright.

    Returns the image unchanged (and angle 0) when the scan's border is as
    light as paper: the page then fills the scan.
    """
    frame = max(2, int(0.01 * min(gray.shape)))
    border = np.concatenate(
        [
            gray[:frame].ravel(),
            gray[-frame:].ravel(),
            gray[:, :frame].ravel(),
            gray[:, -frame:].ravel(),
        ]
    )
    small = cv2.resize(gray, (max(1, gray.shape[1] // 4), max(1, gray.shape[0] // 4)))
    paper = estimate_paper_level(small)
    background = float(np.median(border))
    if background > DARK_BACKGROUND_FRACTION * paper:
        return gray, 0.0
    light = (gray > (background + paper) / 2).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(light, connectivity=4)
    if n <= 1:
        return gray, 0.0
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    contours, _ = cv2.findContours(
        (labels == k).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    (cx, cy), (w, h), angle = cv2.minAreaRect(max(contours, key=len))
    # minAreaRect's angle is ambiguous by 90°: keep the turn under 45°.
    if angle > 45:
        angle -= 90
        w, h = h, w
    elif angle < -45:
        angle += 90
        w, h = h, w
    rotation = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    rotation[:, 2] += np.array([(w - 1) / 2 - cx, (h - 1) / 2 - cy])
    page = cv2.warpAffine(
        gray,
        rotation,
        (int(round(w)), int(round(h))),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return page, float(angle)


def _paper(width_mm: float, height_mm: float) -> dict[str, Any]:
    for name, (w, h) in PAPER_SIZES.items():
        if abs(w - width_mm) < PAPER_TOLERANCE_MM and abs(h - height_mm) < PAPER_TOLERANCE_MM:
            return {"size": name, "width_mm": w, "height_mm": h}
    return {"size": "custom", "width_mm": round(width_mm, 1), "height_mm": round(height_mm, 1)}


def _mm(px: float, px_per_mm: float) -> float:
    # Pixel centres at integer coordinates: x_mm * dpi / 25.4 - 0.5 = px.
    return (px + 0.5) / px_per_mm


def _fiducial(blob: _Blob, px_per_mm: float) -> dict[str, Any]:
    if blob.centre_ink < 0.5:
        shape = "ring"
        side = math.sqrt(blob.area / (1 - RING_HOLE_FRACTION**2))
    elif blob.corners_ink < 0.5:
        shape = "circle"
        side = 2 * math.sqrt(blob.area / math.pi)
    else:
        shape = "square"
        side = math.sqrt(blob.area)
    return {
        "x_mm": round(_mm(blob.x, px_per_mm), 1),
        "y_mm": round(_mm(blob.y, px_per_mm), 1),
        # Printed marks come in half millimetres.
        "size_mm": round(side / px_per_mm * 2) / 2,
        "shape": shape,
    }


def _track(blobs: list[_Blob], px_per_mm: float) -> dict[str, Any] | None:
    lo, hi = (v * px_per_mm for v in BAR_LENGTH_MM)
    bars = [
        b
        for b in blobs
        if b.fill > 0.8
        and lo <= max(b.w, b.h) <= hi
        and max(b.w, b.h) >= BAR_MIN_ASPECT * min(b.w, b.h)
    ]
    best: list[_Blob] = []
    for axis in ("x", "y"):
        # Bars of a vertical track share x; of a horizontal one, y.
        key = (lambda b: b.x) if axis == "x" else (lambda b: b.y)
        along = (lambda b: b.y) if axis == "x" else (lambda b: b.x)
        for group in _cluster(bars, key, 0.5 * px_per_mm):
            group = sorted(group, key=along)
            if len(group) < MIN_TRACK_BARS:
                continue
            steps = np.diff([along(b) for b in group])
            if steps.std() < 0.1 * steps.mean() and len(group) > len(best):
                best = group
    if not best:
        return None
    first, last = best[0], best[-1]
    n = len(best)
    return {
        "first_mm": [
            round(_mm(first.x, px_per_mm), DECIMALS),
            round(_mm(first.y, px_per_mm), DECIMALS),
        ],
        "step_mm": [
            round((last.x - first.x) / (n - 1) / px_per_mm, 3),
            round((last.y - first.y) / (n - 1) / px_per_mm, 3),
        ],
        "count": n,
        "bar_width_mm": round(float(np.median([b.w for b in best])) / px_per_mm, 1),
        "bar_height_mm": round(float(np.median([b.h for b in best])) / px_per_mm, 1),
    }


def _boxes(blobs: list[_Blob], px_per_mm: float) -> list[dict[str, Any]]:
    """Printed frames: thin rectangular outlines at least ``BOX_MIN_SIDE_MM`` on a side.

    Registration checks the fit against them too (``box_match``), which is
    what vouches for it when coloured rings drop out of a scan.
    """
    out = []
    line_px = BOX_LINE_MM * px_per_mm + 1.0  # anti-aliased edges add about a pixel
    for b in blobs:
        # The ink of an outline is about its perimeter times the line width.
        outline = 2 * (b.w + b.h) * line_px
        if (
            min(b.w, b.h) >= BOX_MIN_SIDE_MM * px_per_mm
            and b.fill < BOX_MAX_FILL
            and BOX_OUTLINE_RANGE[0] * outline <= b.area <= BOX_OUTLINE_RANGE[1] * outline
        ):
            x0, y0 = b.x - (b.w - 1) / 2, b.y - (b.h - 1) / 2
            # The outline's middle lies half a line width inside the blob's edge.
            inset = BOX_LINE_MM / 2
            out.append(
                {
                    "x_mm": round(_mm(x0 - 0.5, px_per_mm) + inset, 1),
                    "y_mm": round(_mm(y0 - 0.5, px_per_mm) + inset, 1),
                    # (less the pixel of anti-aliasing the outline adds.)
                    "width_mm": round((b.w - 1) / px_per_mm - 2 * inset, 1),
                    "height_mm": round((b.h - 1) / px_per_mm - 2 * inset, 1),
                }
            )
    return sorted(out, key=lambda box: (box["y_mm"], box["x_mm"]))


def _cluster(items: list, key, tolerance: float) -> list[list]:
    """1-D clusters: sorted by ``key``, split where consecutive values differ by more than ``tolerance``."""
    ordered = sorted(items, key=key)
    groups: list[list] = []
    for item in ordered:
        if groups and key(item) - key(groups[-1][-1]) <= tolerance:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def _bubbles(blobs: list[_Blob], px_per_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Centres ``(N, 2)`` (px) and outer diameters ``(N,)`` (px) of the bubble outlines."""
    lo, hi = (v * px_per_mm for v in BUBBLE_DIAMETER_MM)
    found = [
        b
        for b in blobs
        if lo <= max(b.w, b.h) <= hi
        and max(b.w, b.h) <= BUBBLE_MAX_ASPECT * min(b.w, b.h)
        and b.fill <= BUBBLE_MAX_FILL
        and b.corners_ink < CIRCLE_MAX_CORNER_INK
        and b.centre_ink < 0.5
    ]
    centres = np.array([(b.x, b.y) for b in found], dtype=np.float64).reshape(-1, 2)
    outer = np.array([(b.w + b.h) / 2 for b in found], dtype=np.float64)
    # The template's diameter is to the middle of the printed ring: take off
    # the ring's width (its ink area over its circumference).
    stroke = np.array([b.area for b in found], dtype=np.float64) / (np.pi * np.maximum(outer, 1))
    return centres, outer - stroke


def _grids(centres: np.ndarray, diameters: np.ndarray) -> list[np.ndarray]:
    """Indices of the bubbles of each grid (bubbles linked row- or column-wise)."""
    n = len(centres)
    if n < 2:
        return []
    delta = centres[None, :, :] - centres[:, None, :]
    dist = np.hypot(delta[..., 0], delta[..., 1])
    np.fill_diagonal(dist, np.inf)
    nearest = dist.min(axis=1)
    tol = ALIGN_FRACTION * np.minimum(diameters[:, None], diameters[None, :])
    aligned = (np.abs(delta[..., 0]) < tol) | (np.abs(delta[..., 1]) < tol)
    linked = aligned & (dist <= LINK_FACTOR * np.minimum(nearest[:, None], nearest[None, :]))
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(linked))):
        ri, rj = root(int(i)), root(int(j))
        if ri != rj:
            parent[rj] = ri
    roots = np.array([root(i) for i in range(n)])
    return [np.flatnonzero(roots == r) for r in np.unique(roots) if np.sum(roots == r) >= 2]


def _lattice(points: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Column and row centres of a full rectangular lattice of ``points`` (mm),
    or None when some row/column position is missing or doubled."""
    xs = _cluster(list(points[:, 0]), lambda v: v, tol)
    ys = _cluster(list(points[:, 1]), lambda v: v, tol)
    if len(xs) * len(ys) != len(points):
        return None
    return np.array([np.mean(c) for c in xs]), np.array([np.mean(c) for c in ys])


def _runs(positions: np.ndarray) -> list[tuple[int, int]]:
    """Split evenly spaced positions into runs ``(start, stop)`` of a common step."""
    if len(positions) == 1:
        return [(0, 1)]
    steps = np.diff(positions)
    base = float(np.min(steps))
    runs, start = [], 0
    for k, step in enumerate(steps):
        if abs(step - base) > STEP_TOLERANCE_MM:
            runs.append((start, k + 1))
            start = k + 1
    runs.append((start, len(positions)))
    return runs


def _r(value: float | np.floating[Any]) -> float:
    return round(float(value), DECIMALS)


def _column_blocks(cols: np.ndarray, rows: np.ndarray, first_item: int) -> list[dict[str, Any]]:
    """Blocks of a grid whose items are columns (digits, letters)."""
    option_step = float(np.mean(np.diff(rows))) if len(rows) > 1 else 0.0
    blocks = []
    for start, stop in _runs(cols):
        item_step = float(np.mean(np.diff(cols[start:stop]))) if stop - start > 1 else 0.0
        blocks.append(
            {
                "first_item": first_item + start,
                "items": stop - start,
                "origin_mm": [_r(cols[start]), _r(rows[0])],
                "item_step_mm": [_r(item_step), 0],
                "option_step_mm": [0, _r(option_step)],
            }
        )
    return blocks


def propose_template(gray: np.ndarray, dpi: float, *, template_id: str, name: str = "") -> Proposal:
    """Propose a template from the gray image of a blank sheet.

    Parameters
    ----------
    gray : (H, W) ndarray of uint8
        The blank sheet, upright, the page filling the image (a render or
        the master PDF; a scan of the page at the scanner's page size).
    dpi : float
        The image's resolution.
    template_id : str
        Id of the new template (lower-case letters, digits, ``-``).

    Returns
    -------
    Proposal
    """
    px_per_mm = dpi / MM_PER_INCH
    notes: list[str] = []
    if dpi < MIN_DPI:
        notes.append(
            f"the blank is {dpi:.0f} dpi: below {MIN_DPI} dpi close bubbles run together; "
            f"scan it at {MIN_DPI}-300 dpi"
        )
    gray, page_angle = _crop_to_paper(gray)
    height, width = gray.shape
    corners = _corner_marks(_marks(_blobs(_ink_mask(gray, dpi)), px_per_mm), width, height)
    angle = _deskew_angle(corners)
    if abs(angle) > 0.02:
        rotation = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle, 1.0)
        gray = cv2.warpAffine(
            gray, rotation, (width, height), flags=cv2.INTER_LINEAR, borderValue=255
        )
    blobs = _blobs(_ink_mask(gray, dpi))
    corners = _corner_marks(_marks(blobs, px_per_mm), width, height)
    if len(corners) < 4:
        notes.append(
            f"{len(corners)} corner mark(s) found; a sheet needs a solid mark near each corner"
        )
    fiducials = [_fiducial(b, px_per_mm) for b in corners]
    track = _track(blobs, px_per_mm)

    centres_px, diameters_px = _bubbles(blobs, px_per_mm)
    centres = (centres_px + 0.5) / px_per_mm
    diameters = diameters_px / px_per_mm
    fields, placed, field_diameters = _fields_from_grids(
        centres_px, diameters_px, centres, diameters, notes
    )

    all_diameters = [d for ds in field_diameters.values() for d in ds]
    default_diameter = round(float(np.median(all_diameters)), 1) if all_diameters else 4.0
    for name, fld in fields.items():
        key = name if name in field_diameters else None
        if key is None:
            continue
        own = round(float(np.median(field_diameters[key])), 1)
        if abs(own - default_diameter) > 0.15:
            fld["bubble_diameter_mm"] = own
    order = ["nama", "nomor_peserta", "tanggal_lahir", "kode_kompetensi", "paket", "answers"]
    document: dict[str, Any] = {
        "format": "ljun-template/1",
        "id": template_id,
        "name": name or f"{template_id} (from a scan; check and rename the fields)",
        "paper": _paper(width / px_per_mm, height / px_per_mm),
        # The ring's stroke is part of the outline measured; the bubble is to its middle.
        "bubble": {"diameter_mm": default_diameter, "ring_mm": 0.3, "label_pt": 6},
        "fiducials": fiducials,
        "fields": [fields[n] for n in order if n in fields],
    }
    if track is not None:
        document["timing_track"] = track
    boxes = _boxes(blobs, px_per_mm)
    if boxes:
        document["boxes"] = boxes
    if not fields:
        notes.append("no bubble grid found: is this a blank answer sheet, scanned upright?")
    return Proposal(
        document=document,
        bubbles_mm=centres,
        placed=placed,
        notes=tuple(notes),
        rotation_deg=page_angle + angle,
        deskewed=gray,
        dpi=dpi,
    )


def _fields_from_grids(
    centres_px: np.ndarray,
    diameters_px: np.ndarray,
    centres: np.ndarray,
    diameters: np.ndarray,
    notes: list[str],
) -> tuple[dict[str, dict[str, Any]], np.ndarray, dict[str, list[float]]]:
    """The fields the bubble grids make, which bubbles they placed, and each
    field's measured diameters (mm); what cannot be placed goes to ``notes``."""
    placed = np.zeros(len(centres), dtype=bool)
    fields: dict[str, dict[str, Any]] = {}
    answer_blocks: list[tuple[float, float, np.ndarray, np.ndarray]] = []
    digit_grids: list[tuple[float, float, np.ndarray, np.ndarray, np.ndarray]] = []
    field_diameters: dict[str, list[float]] = {}
    for index in _grids(centres_px, diameters_px):
        lattice = _lattice(centres[index], ALIGN_FRACTION * float(np.median(diameters[index])))
        if lattice is None:
            notes.append(
                f"{len(index)} bubbles near ({centres[index, 0].min():.0f}, "
                f"{centres[index, 1].min():.0f}) mm are not a full grid; add them by hand"
            )
            continue
        cols, rows = lattice
        diameter = float(np.median(diameters[index]))
        # 10 rows of 4 columns are a digit grid (kode kompetensi), 10 rows of
        # 5 an answers block (the LJUN's): 5 digit columns side by side would
        # be taken for answers, and the notes cannot tell; the preview shows it.
        if (len(cols) == 5 or (len(cols) == 4 and len(rows) != 10)) and len(rows) >= 2:
            answer_blocks.append((cols[0], rows[0], cols, rows))
            field_diameters.setdefault("answers", []).append(diameter)
        elif len(rows) == 10:
            digit_grids.append((cols[0], rows[0], cols, rows, index))
            field_diameters.setdefault(f"digits@{cols[0]:.1f},{rows[0]:.1f}", []).append(diameter)
        elif len(rows) == 26 and "nama" not in fields:
            fields["nama"] = {
                "name": "nama",
                "kind": "letters",
                "title": "NAMA",
                "write_in": False,
                "options": list(LETTERS),
                "blocks": _column_blocks(cols, rows, 1),
            }
            field_diameters["nama"] = [diameter]
        elif len(cols) == 1 and len(rows) in CHOICE_OPTIONS and "paket" not in fields:
            options = CHOICE_OPTIONS[len(rows)]
            fields["paket"] = {
                "name": "paket",
                "kind": "choice",
                "title": "PAKET",
                "options": list(options),
                "blocks": [
                    {
                        "first_item": 1,
                        "items": 1,
                        "origin_mm": [_r(cols[0]), _r(rows[0])],
                        "item_step_mm": [0, 0],
                        "option_step_mm": [0, _r(np.mean(np.diff(rows)))],
                    }
                ],
            }
            field_diameters["paket"] = [diameter]
        else:
            notes.append(
                f"a grid of {len(rows)} x {len(cols)} bubbles at ({cols[0]:.0f}, {rows[0]:.0f}) mm "
                "is neither answers (4-5 columns), digits (10 rows), letters (26 rows) nor a "
                "choice; add it by hand"
            )
            continue
        placed[index] = True
    _name_digit_grids(digit_grids, fields, notes, placed)
    if answer_blocks:
        fields["answers"] = _answers_field(answer_blocks)
    return fields, placed, field_diameters


def _name_digit_grids(digit_grids, fields, notes, placed) -> None:
    """Name the digit grids: by column count first, then the rest in reading order."""
    # Digit grids split into groups (nomor peserta X-XX-XX-...) are one grid
    # already (linked across the small gaps); columns at different steps are blocks.
    free = ["nomor_peserta", "tanggal_lahir", "kode_kompetensi"]
    pending = []
    for _x0, _y0, cols, rows, index in sorted(digit_grids, key=lambda g: (round(g[1]), g[0])):
        wanted = DIGIT_FIELD_BY_COLUMNS.get(len(cols))
        if wanted in free:
            free.remove(wanted)
            fields[wanted] = _digits_field(wanted, cols, rows)
        else:
            pending.append((cols, rows, index))
    for cols, rows, index in pending:
        if not free:
            notes.append(
                f"a digit grid of {len(cols)} columns at ({cols[0]:.0f}, {rows[0]:.0f}) mm has "
                "no field name left; add it by hand"
            )
            placed[index] = False
            continue
        name = free.pop(0)
        fields[name] = _digits_field(name, cols, rows)
        notes.append(f"the digit grid at ({cols[0]:.0f}, {rows[0]:.0f}) mm is named {name}: check")


def _digits_field(name: str, cols: np.ndarray, rows: np.ndarray) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "digits",
        "title": name.replace("_", " ").upper(),
        "write_in": False,
        "options": list(DIGITS),
        "blocks": _column_blocks(cols, rows, 1),
    }


def _answers_field(blocks: list[tuple[float, float, np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """Answer blocks numbered down each block, then across (columns of blocks left to right)."""
    width = float(np.median([c[-1] - c[0] for _, _, c, _ in blocks])) or 1.0
    columns = _cluster(blocks, lambda b: b[0], width / 2)
    ordered = [b for column in columns for b in sorted(column, key=lambda b: b[1])]
    n_options = len(ordered[0][2])
    out, item = [], 1
    for _, _, cols, rows in ordered:
        out.append(
            {
                "first_item": item,
                "items": len(rows),
                "origin_mm": [_r(cols[0]), _r(rows[0])],
                "item_step_mm": [0, _r(np.mean(np.diff(rows)))],
                "option_step_mm": [_r(np.mean(np.diff(cols))), 0],
            }
        )
        item += len(rows)
    return {
        "name": "answers",
        "kind": "answers",
        "title": "JAWABAN",
        "item_labels": True,
        "options": list(ANSWER_LETTERS[:n_options]),
        "blocks": out,
    }


def draw_preview(proposal: Proposal, geometry_centres: dict[str, Any]) -> np.ndarray:
    """The deskewed blank with every proposed bubble outlined and numbered.

    Parameters
    ----------
    proposal : Proposal
    geometry_centres : dict
        ``{"bubbles": [{"field", "item", "option", "x", "y", "r"}...]}`` of the
        proposed template at ``proposal.dpi`` (``BubbleGeometry.to_json()``).

    Returns
    -------
    (H, W, 3) ndarray of uint8
        RGB: fields in green (answers in blue), answer numbers right of
        each row and column numbers above each grid column, bubbles found
        but not placed in red, corner marks and track in magenta.
    """
    rgb = cv2.cvtColor(proposal.deskewed, cv2.COLOR_GRAY2RGB)
    rgb = (rgb.astype(np.float32) * 0.6 + 255 * 0.4).astype(np.uint8)  # fade the print
    px_per_mm = proposal.dpi / MM_PER_INCH
    font = cv2.FONT_HERSHEY_SIMPLEX
    ends: dict[tuple[str, int], dict[str, Any]] = {}
    for b in geometry_centres["bubbles"]:
        centre = (int(round(b["x"])), int(round(b["y"])))
        color = (0, 90, 220) if b["field"] == "answers" else (0, 160, 0)
        cv2.circle(rgb, centre, int(round(b["r"])), color, 2, cv2.LINE_AA)
        key = (b["field"], b["item"])
        # Answers are numbered right of their last option, grid columns above their first.
        if b["field"] == "answers":
            if key not in ends or b["x"] > ends[key]["x"]:
                ends[key] = b
        elif key not in ends or b["y"] < ends[key]["y"]:
            ends[key] = b
    size = 0.5 * px_per_mm / 8
    for (name, item), b in ends.items():
        r = b["r"]
        if name == "answers":
            org = (int(b["x"] + 1.6 * r), int(b["y"] + r / 2))
            cv2.putText(rgb, str(item), org, font, size, (0, 90, 220), 1, cv2.LINE_AA)
        else:
            org = (int(b["x"] - r), int(b["y"] - 1.4 * r))
            cv2.putText(rgb, str(item), org, font, size * 0.7, (0, 160, 0), 1, cv2.LINE_AA)
    centres_px = proposal.bubbles_mm * px_per_mm - 0.5
    for (x, y), ok in zip(centres_px, proposal.placed):
        if not ok:
            cv2.circle(rgb, (int(round(x)), int(round(y))), int(2.5 * px_per_mm), (220, 0, 0), 3)
    doc = proposal.document
    for f in doc["fiducials"]:
        x, y = f["x_mm"] * px_per_mm - 0.5, f["y_mm"] * px_per_mm - 0.5
        half = f["size_mm"] * px_per_mm / 2 + 3
        cv2.rectangle(
            rgb, (int(x - half), int(y - half)), (int(x + half), int(y + half)), (200, 0, 200), 2
        )
    track = doc.get("timing_track")
    if track:
        for k in range(track["count"]):
            x = (track["first_mm"][0] + k * track["step_mm"][0]) * px_per_mm - 0.5
            y = (track["first_mm"][1] + k * track["step_mm"][1]) * px_per_mm - 0.5
            cv2.circle(rgb, (int(x), int(y)), int(px_per_mm), (200, 0, 200), 2)
    return rgb


def template_id_from(text: str) -> str:
    """A template id from a file name: lower case, letters, digits and ``-``.

    >>> template_id_from("My Sheet_2024.json")
    'my-sheet-2024'
    """
    stem = re.sub(r"\.json$", "", text, flags=re.IGNORECASE)
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return slug or "sheet"
