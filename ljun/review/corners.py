"""Registering a page by hand: the operator clicks its four corner marks.

A page the machine could not register (``no_fiducials``: a corner mark torn
off or covered, ``residual_too_high`` ...) is kept as scanned
(:mod:`ljun.review._capture`).  The four points the operator clicks on that
image, in the template's fiducial order, give the homography; the bubbles
are then read from the kept image by the same kernel
(:func:`ljun.read.measure_darkness`, :func:`ljun.decode.decode_marks`), the
sheet gets an upright review image and becomes an ordinary review sheet,
flagged ``registered_by_hand`` so a person confirms the grid fits, and with
the reading's own flags (unsure items) to decide.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace

import cv2
import numpy as np

from ..calibration import Calibration, load_calibration
from ..decode import decode_marks
from ..read import measure_darkness, sampling_pattern
from ..register import REFERENCE_DPI, Registration, estimate_paper_level
from ..template import Template
from ..vocabulary import Flag
from ._capture import capture_review_image
from ._db import transaction
from ._images import load_review_image, replace_review_image
from .audit import append_audit
from .decisions import (
    REOPENED,
    DecisionError,
    Outcome,
    _store_reading,
    _store_score,
    _store_state,
    current_keys,
    settle,
    sheet_to_change,
)

__all__ = ["REGISTERED_BY_HAND", "corner_labels", "register_by_corners"]

#: Flag of a sheet registered from clicked corner marks (a person confirms the grid).
REGISTERED_BY_HAND = Flag.REGISTERED_BY_HAND

# Gray-level percentile taken as the ink of a page registered by hand (the
# corner marks and pencil marks are the darkest pixels of a sheet).
_INK_PERCENTILE = 0.5


def corner_labels(template: Template) -> list[str]:
    """Where each fiducial sits on the sheet, in fiducial order: ``top-left`` ...

    >>> from ljun.template import load_template
    >>> corner_labels(load_template("ljun-teori-kejuruan"))
    ['top-left', 'top-right', 'bottom-right', 'bottom-left']
    """
    geometry = template.geometry(REFERENCE_DPI)
    labels = []
    for x, y in geometry.fiducials:
        vertical = "top" if y < geometry.height / 2 else "bottom"
        horizontal = "left" if x < geometry.width / 2 else "right"
        labels.append(f"{vertical}-{horizontal}")
    return labels


def _turns(points: np.ndarray) -> np.ndarray:
    """Sign of the turn at each corner of a closed polygon, ``(N,)``."""
    edges = np.roll(points, -1, axis=0) - points
    following = np.roll(edges, -1, axis=0)
    return np.sign(edges[:, 0] * following[:, 1] - edges[:, 1] * following[:, 0])


def _same_shape(fiducials: np.ndarray, clicked: np.ndarray) -> bool:
    """The clicked points make a convex quadrilateral turning the way the fiducials do
    (points clicked in another order make a crossed one)."""
    return bool(np.all(_turns(clicked) == _turns(fiducials)))


def _registration(image: np.ndarray, homography: np.ndarray, dpi: float) -> Registration:
    return Registration(
        homography=homography,
        orientation=0,
        residual_px=0.0,
        residual_mm=0.0,
        scale=dpi / REFERENCE_DPI,
        dpi=dpi,
        paper_level=estimate_paper_level(image),
        ink_level=float(np.percentile(image, _INK_PERCENTILE)),
        form_match=1.0,
    )


def register_by_corners(
    db: sqlite3.Connection,
    page_id: int,
    *,
    version: int,
    points: Sequence[Sequence[float]],
    operator: str,
    template: Template,
    calibration: Calibration | None = None,
) -> Outcome:
    """Register a failed page from four clicked corner marks and read it.

    Parameters
    ----------
    points : sequence of 4 (x, y)
        The fiducials' centres on the kept image, in image pixels, in the
        template's fiducial order (:func:`corner_labels`).

    Raises
    ------
    DecisionError
        Not a failed page with a kept image, not four points, or points that
        do not make a sheet (collinear, crossed).
    """
    calibration = calibration or load_calibration()
    geometry = template.geometry(REFERENCE_DPI)
    clicked = np.asarray(points, dtype=np.float64)
    if clicked.shape != geometry.fiducials.shape or not np.isfinite(clicked).all():
        raise DecisionError(
            f"{len(geometry.fiducials)} corner points are needed", message_id="error_corners"
        )
    with transaction(db):
        state = sheet_to_change(db, page_id, version)
        stored = load_review_image(db, state.page_hash)
        if state.reading.failure is None or stored is None or stored.image.registered:
            raise DecisionError(
                f"{state.sheet}: only a page that could not be registered, with its image "
                "kept, is registered by hand",
                message_id="error_corners",
            )
        kept = stored.image
        decoded = cv2.imdecode(np.frombuffer(kept.data, np.uint8), cv2.IMREAD_GRAYSCALE)
        if decoded is None:
            raise DecisionError(
                f"{state.sheet}: the kept image cannot be decoded", message_id="error_corners"
            )
        image: np.ndarray = decoded
        homography = cv2.getPerspectiveTransform(
            geometry.fiducials.astype(np.float32), clicked.astype(np.float32)
        )
        if not _same_shape(geometry.fiducials, clicked) or not np.isfinite(homography).all():
            raise DecisionError("the corner points do not make a sheet", message_id="error_corners")
        registration = _registration(image, homography, kept.dpi)
        pattern = sampling_pattern(template, REFERENCE_DPI)
        marks = decode_marks(
            measure_darkness(image, registration, pattern), pattern.geometry, template, calibration
        )
        fields = marks.fields
        flags = tuple(marks.flags) + (REGISTERED_BY_HAND,)
        reading = replace(
            state.reading,
            nomor_peserta=fields.get("nomor_peserta", ""),
            nama=fields.get("nama", ""),
            tanggal_lahir=fields.get("tanggal_lahir", ""),
            kode_kompetensi=fields.get("kode_kompetensi", ""),
            paket=fields.get("paket", ""),
            answers=marks.answers,
            flags=flags,
            review=True,
            failure=None,
            darkness=marks.evidence,
            confidence=marks.confidence,
        )
        from ..score import score_sheet, with_flags

        acknowledged = set(state.acknowledged) | {state.reading.failure, REOPENED}
        scored = score_sheet(reading, current_keys(db))
        scored = settle(with_flags(scored, *state.batch_flags), acknowledged)
        _store_reading(db, page_id, reading, state.batch_flags)
        db.execute(
            "UPDATE readings SET failure = NULL, darkness = ?, confidence = ? WHERE page_id = ?",
            (
                np.ascontiguousarray(marks.evidence, np.float32).tobytes(),
                np.ascontiguousarray(marks.confidence, np.float32).tobytes(),
                page_id,
            ),
        )
        _store_score(db, state, scored, operator)
        new_version = _store_state(db, state, "open", sorted(acknowledged), operator)
        upright = capture_review_image(image, homography, template, scan_dpi=kept.dpi)
        replace_review_image(db, state.page_hash, upright)
        append_audit(
            db,
            operator=operator,
            action="register_by_hand",
            page_hash=state.page_hash,
            sheet=state.sheet,
            field="corners",
            old=state.reading.failure or "",
            new=json.dumps(np.round(clicked, 1).tolist()),
            reason="corner marks clicked",
        )
    return Outcome(new_version, "open", ())
