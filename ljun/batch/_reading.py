"""Reading one scan file: every page loaded, registered, read and decoded.

Runs wherever the executor puts it (this process, a worker process, a Dask
worker); never raises for file or page content.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from .._color import pencil_channel_weights
from ..calibration import Calibration
from ..load import iter_file_pages
from ..records import PageFailure, SheetReading
from ..template import Template
from ..vocabulary import FailureReason
from ._identity import file_digest, page_hash

__all__ = ["FileResult", "read_file"]


@dataclass(frozen=True, eq=False)
class FileResult:
    """Every page of one file, read.

    ``readings`` holds ``(page_hash, reading)`` in page order.  ``errors``
    holds ``(page, text)`` of each unexpected exception of a reader: that
    page has a ``reader_error`` reading; when the loader itself raised, the
    rest of the file is missing too.
    """

    file_index: int
    source: str
    readings: tuple[tuple[str, SheetReading], ...]
    errors: tuple[tuple[int, str], ...] = ()


def _pipeline() -> tuple[Callable[..., SheetReading], Callable[..., SheetReading]]:
    # Imported on first use: worker processes and ``--help`` do not pay for
    # the reading stack before it is needed.
    from ..pipeline import read_sheet, reading_from_failure

    return read_sheet, reading_from_failure


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
) -> FileResult:
    """Load and read every page of one scan file.

    ``on_page`` (progress display) is called with 1 after each page.

    Never raises for file or page content: load failures become failure
    readings (:func:`ljun.pipeline.reading_from_failure`).  An unexpected
    exception of a reader (a bug, not bad content) is caught and recorded
    as a ``reader_error`` reading of that page, with the exception's text in
    :attr:`FileResult.errors`, so one bad page never stops a batch of
    thousands; reading goes on with the next page (or, when the loader
    itself raised, with the next file).
    """
    read_sheet, reading_from_failure = _pipeline()
    source = str(path)
    digest = file_digest(path)
    readings: list[tuple[str, SheetReading]] = []
    errors: list[tuple[int, str]] = []
    # Colour pages are read in the channel where the template's print fades.
    if template.print_color is None:
        pages = iter_file_pages(path)
    else:
        pages = iter_file_pages(path, weights=pencil_channel_weights(template.print_color))
    next_page = 1
    while True:
        try:
            item = next(pages, None)
        except Exception as exc:  # noqa: BLE001 -- recorded as a failure reading, see docstring
            errors.append((next_page, f"{type(exc).__name__}: {exc}; later pages not read"))
            readings.append(
                (
                    page_hash(digest, next_page, source=source),
                    _reader_error(source, next_page, template),
                )
            )
            break
        if item is None:
            break
        identity = page_hash(digest, item.page, source=source)
        try:
            if isinstance(item, PageFailure):
                reading = reading_from_failure(item, template)
            else:
                reading = read_sheet(item, template, calibration)
        except Exception as exc:  # noqa: BLE001 -- recorded as a failure reading, see docstring
            errors.append((item.page, f"{type(exc).__name__}: {exc}"))
            reading = _reader_error(source, item.page, template)
        readings.append((identity, reading))
        next_page = item.page + 1
        if on_page is not None:
            on_page(1)
    return FileResult(file_index, source, tuple(readings), tuple(errors))
