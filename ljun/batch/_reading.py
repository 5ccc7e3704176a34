"""Reading one scan file: every page loaded, registered, read and decoded.

Runs wherever the executor puts it (this process, a worker process, a Dask
worker); never raises for file or page content.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._color import loading_weights
from ..calibration import Calibration
from ..load import iter_file_pages
from ..records import PageFailure, SheetReading
from ..template import Template
from ..vocabulary import NEW_STORE_DIGEST, DigestAlgorithm, FailureReason
from ._identity import file_digest, page_hash

if TYPE_CHECKING:
    from ..pipeline import SheetAnalysis
    from ..review._capture import CapturedPage

__all__ = ["FileResult", "read_file", "with_digest"]


@dataclass(frozen=True, eq=False)
class FileResult:
    """Every page of one file, read.

    ``readings`` holds ``(page_hash, reading)`` in page order.  ``errors``
    holds ``(page, text)`` of each unexpected exception of a reader: that
    page has a ``reader_error`` reading; when the loader itself raised, the
    rest of the file is missing too.  ``digest`` is the file's digest
    (:func:`file_digest`), ``""`` when it was not computed (a page range
    read without hashing: the page hashes are then ``""`` too, filled in by
    :func:`with_digest`).
    """

    file_index: int
    source: str
    readings: tuple[tuple[str, SheetReading], ...]
    errors: tuple[tuple[int, str], ...] = ()
    #: What review needs of each page the pipeline sent to review (ljun.review).
    review_images: tuple[CapturedPage, ...] = ()
    digest: str = ""


def with_digest(parts: Sequence[FileResult], digest: str) -> FileResult:
    """One file's result from the results of its page ranges (in page order).

    Every page hash is made from ``digest`` (the whole file's, computed by
    one of the parts).
    """
    first = parts[0]
    readings = tuple(
        (page_hash(digest, reading.page, source=first.source), reading)
        for part in parts
        for _, reading in part.readings
    )
    errors = tuple(error for part in parts for error in part.errors)
    # Parts that did not hash the file captured their review images without
    # the page hash and the file digest: filled in here, as for the readings.
    images = tuple(
        image
        if image.file_digest
        else dataclasses.replace(
            image,
            page_hash=page_hash(digest, image.page, source=first.source),
            file_digest=digest,
        )
        for part in parts
        for image in part.review_images
    )
    return FileResult(
        first.file_index, first.source, readings, errors, review_images=images, digest=digest
    )


def _pipeline() -> tuple[Callable[..., SheetAnalysis], Callable[..., SheetReading]]:
    # Imported on first use: worker processes and ``--help`` do not pay for
    # the reading stack before it is needed.
    from ..pipeline import analyse_sheet, reading_from_failure

    return analyse_sheet, reading_from_failure


def _reader_error(source: str, page: int, template: Template) -> SheetReading:
    # Built here rather than by the pipeline, which is what just failed.
    return SheetReading(
        source=source,
        page=page,
        template=template.id,
        flags=(FailureReason.READER_ERROR,),
        review=True,
        failure=FailureReason.READER_ERROR,
    )


def read_file(
    path: str | os.PathLike[str],
    *,
    file_index: int,
    template: Template,
    calibration: Calibration,
    on_page: Callable[[int], None] | None = None,
    pages: range | None = None,
    hash_file: bool = True,
    digest_algorithm: DigestAlgorithm = NEW_STORE_DIGEST,
    known_digest: str = "",
) -> FileResult:
    """Load and read every page of one scan file.

    ``on_page`` (progress display) is called with 1 after each page.
    ``pages`` (0-based indices) reads only that range of the file's pages: a
    large file is shared across workers that way.  With ``hash_file=False``
    the file is not hashed (another part of it is) and the page hashes are
    ``""`` (see :func:`with_digest`).  ``digest_algorithm`` is the results
    store's (:attr:`ljun.store.ResultsStore.file_digest_algorithm`);
    ``known_digest`` is the file's digest when the caller has just computed
    it (the folder watcher), so it is not hashed twice.

    Never raises for file or page content: load failures become failure
    readings (:func:`ljun.pipeline.reading_from_failure`).  An unexpected
    exception of a reader (a bug, not bad content) is caught and recorded
    as a ``reader_error`` reading of that page, with the exception's text in
    :attr:`FileResult.errors`, so one bad page never stops a batch of
    thousands; reading goes on with the next page (or, when the loader
    itself raised, with the next file).
    """
    analyse_sheet, reading_from_failure = _pipeline()
    source = str(path)
    digest = (known_digest or file_digest(path, digest_algorithm)) if hash_file else ""

    def identity_of(page: int) -> str:
        return page_hash(digest, page, source=source) if hash_file else ""

    readings: list[tuple[str, SheetReading]] = []
    captured: list[CapturedPage] = []
    errors: list[tuple[int, str]] = []
    # Colour pages are read in the channel where the template's print fades.
    weights = loading_weights(template.print_color)
    loaded = iter_file_pages(path, pages=pages, weights=weights)
    next_page = 1 if pages is None else pages.start + 1
    while True:
        try:
            item = next(loaded, None)
        except Exception as exc:  # noqa: BLE001 -- recorded as a failure reading, see docstring
            errors.append((next_page, f"{type(exc).__name__}: {exc}; later pages not read"))
            readings.append(
                (
                    identity_of(next_page),
                    _reader_error(source, next_page, template),
                )
            )
            break
        if item is None:
            break
        identity = identity_of(item.page)
        try:
            if isinstance(item, PageFailure):
                reading = reading_from_failure(item, template)
            else:
                analysis = analyse_sheet(item, template, calibration)
                reading = analysis.reading
                if reading.review:
                    # Without the digest (a page range another part hashes),
                    # with_digest fills in the image's page hash.
                    from ..review._images import capture_page  # with the reading stack

                    captured.append(capture_page(item, analysis, template, identity, digest))
        except Exception as exc:  # noqa: BLE001 -- recorded as a failure reading, see docstring
            errors.append((item.page, f"{type(exc).__name__}: {exc}"))
            reading = _reader_error(source, item.page, template)
        readings.append((identity, reading))
        next_page = item.page + 1
        if on_page is not None:
            on_page(1)
    return FileResult(
        file_index,
        source,
        tuple(readings),
        tuple(errors),
        review_images=tuple(captured),
        digest=digest,
    )
