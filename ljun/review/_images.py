"""Review images in the store (table ``review_images``), checked against the scan's digest.

Each row is keyed by the sheet's ``page_hash`` and holds the file digest and
page number that hash is made of: an image is handed out only when
``page_hash(file_digest, page)`` is the sheet's ``page_hash`` and the image
bytes still hash to ``image_sha256``, so an image cannot be shown for another
sheet than the one it was taken of.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..batch._identity import page_hash as sheet_hash
from ..errors import StoreError
from ..records import Page
from ..template import Template
from ._capture import CapturedPage, ReviewImage, capture_review_image
from ._db import now, transaction

if TYPE_CHECKING:
    from ..pipeline import SheetAnalysis
    from ..store import ResultsStore
    from .decisions import SheetState

__all__ = [
    "CapturedPage",
    "StoredImage",
    "capture_page",
    "save_review_images",
    "write_review_images",
    "load_review_image",
    "ensure_review_image",
    "replace_review_image",
]


@dataclass(frozen=True, eq=False)
class StoredImage:
    """A review image read back from the store, checked."""

    page_hash: str
    image: ReviewImage


def capture_page(
    page: Page, analysis: SheetAnalysis, template: Template, page_hash: str, file_digest: str
) -> CapturedPage:
    """The review image of a page just read (see :func:`capture_review_image`)."""
    registration = analysis.registration
    if registration is not None:
        image = capture_review_image(
            page.image, registration.homography, template, scan_dpi=registration.dpi
        )
    else:
        image = capture_review_image(page.image, None, template, scan_dpi=page.dpi)
    return CapturedPage(page_hash, file_digest, page.page, image)


def _row(c: CapturedPage) -> tuple[object, ...]:
    return (
        c.page_hash,
        c.file_digest,
        c.page,
        c.image.media_type,
        c.image.width,
        c.image.height,
        c.image.dpi,
        int(c.image.registered),
        c.image.data,
        hashlib.sha256(c.image.data).hexdigest(),
        np.ascontiguousarray(c.image.centres, np.float32).tobytes(),
        np.ascontiguousarray(c.image.radii, np.float32).tobytes(),
        now(),
    )


def write_review_images(db: sqlite3.Connection, captured: Iterable[CapturedPage]) -> int:
    """Store review images in one transaction (replacing older ones); return how many."""
    rows = [_row(c) for c in captured]
    if not rows:
        return 0
    with transaction(db):
        _insert(db, rows)
    return len(rows)


def _insert(db: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    db.executemany(
        "INSERT OR REPLACE INTO review_images (page_hash, file_digest, page, media_type, "
        "width, height, dpi, registered, image, image_sha256, centres, radii, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def replace_review_image(db: sqlite3.Connection, page_hash: str, image: ReviewImage) -> None:
    """Replace the kept image of a sheet (same scan digest and page) inside a transaction."""
    row = db.execute(
        "SELECT file_digest, page FROM review_images WHERE page_hash = ?", (page_hash,)
    ).fetchone()
    if row is None:
        raise StoreError(f"results store: no review image kept for sheet {page_hash[:12]}")
    captured = CapturedPage(page_hash, row[0], int(row[1]), image)
    _insert(db, [_row(captured)])


def save_review_images(store: ResultsStore, captured: Iterable[CapturedPage]) -> int:
    """:func:`write_review_images` into ``store`` as a batch reads its files.

    Written at once, in its own short transaction, so memory stays flat in
    batch size; an image whose batch is later aborted is harmless (nothing
    refers to it) and is replaced when the page is read again.
    """
    try:
        return write_review_images(store.connection, captured)
    except sqlite3.Error as exc:
        raise StoreError(
            f"results store {store.path}: cannot keep the review images: {exc}"
        ) from exc


def load_review_image(db: sqlite3.Connection, page_hash: str) -> StoredImage | None:
    """The checked review image of the sheet ``page_hash``, or ``None`` if none is kept.

    Raises
    ------
    StoreError
        When the kept image does not belong to the sheet or its bytes changed.
    """
    row = db.execute(
        "SELECT file_digest, page, media_type, width, height, dpi, registered, image, "
        "image_sha256, centres, radii FROM review_images WHERE page_hash = ?",
        (page_hash,),
    ).fetchone()
    if row is None:
        return None
    digest, page, media_type, width, height, dpi, registered, data, image_sha, centres, radii = row
    if sheet_hash(digest, page) != page_hash:
        raise StoreError(
            f"results store: the review image kept for sheet {page_hash[:12]} is of another "
            "page (its file digest does not match); score the scan again to replace it"
        )
    if hashlib.sha256(data).hexdigest() != image_sha:
        raise StoreError(
            f"results store: the review image kept for sheet {page_hash[:12]} was altered; "
            "score the scan again to replace it"
        )
    image = ReviewImage(
        data=bytes(data),
        media_type=media_type,
        width=int(width),
        height=int(height),
        dpi=float(dpi),
        registered=bool(registered),
        centres=np.frombuffer(centres, np.float32).reshape(-1, 2),
        radii=np.frombuffer(radii, np.float32),
    )
    return StoredImage(page_hash, image)


def ensure_review_image(
    db: sqlite3.Connection, state: SheetState, template: Template
) -> StoredImage | None:
    """The sheet's kept review image; if none was kept, one taken from its scan now.

    A sheet sent to review only after reading (a duplicate nomor peserta, no
    key for its paket) has no image kept; while its scan file is still where
    it was scored **and still hashes to the sheet's page hash**, the image is
    taken from it and kept for later.  ``None`` when neither works, or when
    the kept image fails its check.
    """
    try:
        stored = load_review_image(db, state.page_hash)
    except StoreError:
        return None
    if stored is not None:
        return stored
    from ..batch._identity import file_digest
    from ..calibration import load_calibration
    from ..load import iter_file_pages
    from ..pipeline import analyse_sheet
    from ..store import file_digest_algorithm

    source, number = state.reading.source, state.reading.page
    if not os.path.isfile(source):
        return None
    digest = file_digest(source, file_digest_algorithm(db))
    if not digest or sheet_hash(digest, number) != state.page_hash:
        return None  # the file at that path is not the scan any more
    for item in iter_file_pages(source):
        if isinstance(item, Page) and item.page == number:
            analysis = analyse_sheet(item, template, load_calibration())
            captured = capture_page(item, analysis, template, state.page_hash, digest)
            write_review_images(db, [captured])
            return StoredImage(state.page_hash, captured.image)
        if item.page >= number:
            break
    return None
