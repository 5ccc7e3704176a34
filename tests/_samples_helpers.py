"""Independent measurements on generated scans, for tests of ljun.samples.

These do not use the generator's own record of what it did: they find the
fiducials in the pixels, so a test can compare what the scan shows with what
``scan`` claims.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ljun.template import MM_PER_INCH, Template

# Darker than this (grey level) is ink or pencil; fiducials print at 0.
DARK_LEVEL = 110
# A fiducial candidate's area, relative to the printed square's area.
AREA_RANGE = (0.55, 1.35)
# Width / height of its bounding box (a square turned by up to 10° stays near 1).
ASPECT_RANGE = (0.7, 1.45)


@dataclass(frozen=True)
class FoundFiducial:
    x: float
    y: float
    ring: bool


def find_fiducials(image: np.ndarray, template: Template, dpi: float) -> list[FoundFiducial]:
    """The fiducial squares visible in ``image``, found by connected components."""
    side = template.fiducials[0].size_mm * dpi / MM_PER_INCH
    dark = (image < DARK_LEVEL).astype(np.uint8)
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(dark, connectivity=8)
    found = []
    for k in range(1, n):
        x, y, w, h, area = stats[k]
        if not (AREA_RANGE[0] * side * side * 0.75 <= area <= AREA_RANGE[1] * side * side):
            continue
        if not (ASPECT_RANGE[0] <= w / h <= ASPECT_RANGE[1]):
            continue
        if not (0.85 * side <= max(w, h) <= 1.6 * side):
            continue
        component = (labels[y : y + h, x : x + w] == k).astype(np.uint8)
        contours, _ = cv2.findContours(component, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        outer = max(contours, key=cv2.contourArea)
        (rw, rh) = cv2.minAreaRect(outer)[1]
        if rw * rh <= 0 or cv2.contourArea(outer) / (rw * rh) < 0.85:
            continue
        moments = cv2.moments(outer)
        cx = moments["m10"] / moments["m00"] + x
        cy = moments["m01"] / moments["m00"] + y
        ring = area < 0.9 * cv2.contourArea(outer)
        found.append(FoundFiducial(float(cx), float(cy), bool(ring)))
    if len(found) <= 4:
        return found
    # Other square blobs (a barcode merged by blur in a 1-bit scan) lie inside
    # the page: keep the candidate farthest towards each corner of the image.
    xy = np.array([(f.x, f.y) for f in found])
    picks = {int(np.argmin(xy @ d)) for d in ((1, 1), (-1, 1), (-1, -1), (1, -1))}
    return [found[k] for k in sorted(picks)]


def top_edge_angle(fiducials: list[FoundFiducial]) -> float:
    """Angle in degrees of the line through the two top-most fiducials (left to right)."""
    top = sorted(fiducials, key=lambda f: f.y)[:2]
    left, right = sorted(top, key=lambda f: f.x)
    return math.degrees(math.atan2(right.y - left.y, right.x - left.x))


def bubble_darkness(
    page: np.ndarray, centres: np.ndarray, radii: np.ndarray, fraction: float = 0.6
) -> np.ndarray:
    """Mean darkness (1 - grey/255) inside ``fraction`` of each bubble's radius."""
    out = np.empty(len(centres))
    for k, ((cx, cy), r) in enumerate(zip(centres, radii)):
        rr = r * fraction
        x0, x1 = int(cx - rr), int(math.ceil(cx + rr)) + 1
        y0, y1 = int(cy - rr), int(math.ceil(cy + rr)) + 1
        ys, xs = np.mgrid[y0:y1, x0:x1]
        inside = (xs - cx) ** 2 + (ys - cy) ** 2 <= rr * rr
        out[k] = 1.0 - page[y0:y1, x0:x1][inside].mean() / 255.0
    return out


def luhn_valid(digits: str) -> bool:
    """The Luhn test, written out independently of ljun's check-digit code."""
    total = 0
    for position, ch in enumerate(digits[::-1]):
        d = int(ch) * (2 if position % 2 == 1 else 1)
        total += d // 10 + d % 10
    return total % 10 == 0
