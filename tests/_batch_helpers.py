"""Stand-ins for the reading pipeline in batch tests: tiny TIFFs whose first pixel names the page."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import tifffile

import ljun.batch._reading
from ljun.pipeline import SheetAnalysis, reading_from_failure
from ljun.records import SheetReading


def first_pixel_tiff(path, first_pixels: Iterable[int]):
    """A multi-page 8×8 TIFF whose page i has first pixel ``first_pixels[i]``."""
    with tifffile.TiffWriter(path) as tiff:
        for value in first_pixels:
            page = np.zeros((8, 8), np.uint8)
            page[0, 0] = value
            tiff.write(page, photometric="minisblack")
    return path


def use_fake_reader(monkeypatch, read: Callable[..., SheetReading]) -> None:
    """Read pages with ``read(page, template, calibration)`` instead of the real pipeline.

    ``read_file`` takes the analysis (reading and registration: the review
    image needs both); pages the loader could not read go through the real
    :func:`ljun.pipeline.reading_from_failure`.
    """

    def analyse(page, template, calibration):
        return SheetAnalysis(read(page, template, calibration), None, None)

    monkeypatch.setattr(ljun.batch._reading, "_pipeline", lambda: (analyse, reading_from_failure))
