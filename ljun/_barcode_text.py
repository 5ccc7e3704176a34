"""The serial printed under the sheet barcode, read where the bars do not say it.

On 150- and 200-dpi 1-bit scans the bars of the sheet barcode merge: zbar
fails, and synthesis (:func:`ljun.decode.read_sheet_barcode_model`) reads the
paket symbol but not the serial (``LJUN-A-??????``).  The sheet also prints
its barcode's text under the bars (:func:`ljun.render._barcode_primitives`:
``LJUN-<paket>-<6 digits>``, 7 pt, centred, its baseline a little above the
area's bottom), and those digits are larger than a module and often still
legible where the bars are not.

:func:`printed_digit_scores` reads them by template matching:

* the text's primitive is the renderer's own (the same position, size and
  anchor), drawn with the renderer's font at ``TEXT_SUPERSAMPLE`` times the
  crop's resolution and averaged down, for each font size of
  ``TEXT_SIZE_SCALES`` (the renderer rounds the font to whole pixels of the
  scan, and a printer scales);
* the line is found by the fixed prefix ``LJUN-<paket>-``: normalised
  correlation over shifts of up to ``TEXT_SEARCH_MM`` either way, on both
  images blurred by ``TEXT_BLUR_MM`` (a 1-bit threshold grows or thins the
  strokes by a pixel); the font sizes whose prefix fits within
  ``TEXT_SCALE_FIT_TOLERANCE`` of the best are read in the order of their
  fit, the next only where the one before gives no serial the bars agree
  with (:func:`printed_digit_score_sets`);
* each of the six digit cells (the font's digits share one advance) is
  compared with every digit drawn there, over ``TEXT_CELL_SLACK_PX`` more
  either way: a ``(6, 10)`` array of correlations.

The digits decide nothing alone: :func:`ljun.decode.read_barcode_crop`
accepts a serial only when the printed digits read clearly and the bars
agree with them (each digit pair and the check symbol it implies among the
bars' close values), so a sheet printed in another font, or with a text that
is not its barcode's, stays paket-only.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .render import Text, _barcode_primitives, _font
from .template import Template

#: Digits of a sheet barcode's serial.
SERIAL_DIGITS = 6
#: The text is drawn at this many times the crop's resolution and averaged
#: down: the glyphs' sub-pixel position and size (a 7-pt digit is 1.7 mm,
#: 17 crop pixels high at 10 px/mm).
TEXT_SUPERSAMPLE = 4
#: Font sizes tried, relative to the template's 7 pt: the renderer rounds
#: the font to whole scan pixels (7 pt is 14.6 px at 150 dpi, drawn 15: +3 %;
#: 19.4 at 200, drawn 19: -2 %), and a printer may scale the page a little.
TEXT_SIZE_SCALES = (0.96, 0.98, 1.0, 1.02, 1.04)
#: The text line is searched this far (mm) either way from where the
#: template puts it (the registration is good to about 0.2 mm; a printer's
#: offset of the text against the bars is not modelled).
TEXT_SEARCH_MM = 0.8
#: Both images are blurred by a Gaussian of this sigma (mm) before they are
#: compared: a 1-bit scan's ragged edges and strokes grown or thinned by a
#: pixel (0.13-0.17 mm at 150-200 dpi) then still overlap their template.
TEXT_BLUR_MM = 0.08
#: Each digit cell is matched over this many more crop pixels either way
#: than where the prefix put the line (a glyph's own placement, rounding).
TEXT_CELL_SLACK_PX = 2
#: Where the digits read at the font size whose prefix fits best do not
#: give a serial the bars agree with, the sizes whose prefix fits within
#: this of the best are read too, in the order of their fit: the short
#: prefix can prefer a size whose digits drift off their cells by the sixth
#: (moderate seed 8619, sheets 174 and 190, 150-dpi 1-bit: the prefix fit
#: 0.890 and 0.880 at 1.02, 0.871 and 0.879 at 1.04; the cells' best
#: correlations fell to 0.49 and 0.47 at 1.02 and stayed >= 0.83 at 1.04).
TEXT_SCALE_FIT_TOLERANCE = 0.05
#: Paper and ink levels of the text band: these percentiles of the crop.
TEXT_PAPER_PERCENTILE = 90
TEXT_INK_PERCENTILE = 2
#: Rows of the text band around the baseline (em sizes above and below).
TEXT_ASCENT_EM = 0.82
TEXT_DESCENT_EM = 0.1


def _text_primitive(template: Template, paket: str, serial: str) -> Text:
    """The renderer's primitive of the text under the bars of ``LJUN-<paket>-<serial>``."""
    texts = [
        p for p in _barcode_primitives(template, f"LJUN-{paket}-{serial}") if isinstance(p, Text)
    ]
    # The area's title (when it has one) comes first; the barcode's text last.
    return texts[-1]


@functools.lru_cache(maxsize=32)
def _line_templates(
    template: Template, paket: str, px_per_mm: float, origin_mm: tuple[float, float], scale: float
) -> tuple[np.ndarray, tuple[int, int], tuple[tuple[int, int], ...], tuple[int, int]]:
    """The text line drawn with every digit in all six cells, in crop pixels.

    Returns
    -------
    lines : (10, h, w) ndarray of float32
        Darkness 0 paper .. 1 ink of ``LJUN-<paket>-dddddd`` for d = 0..9,
        over the crop's window ``rows`` x ``cols``.
    prefix : (2,) tuple of int
        Columns (start, stop) of ``LJUN-<paket>-`` in the window.
    cells : six (start, stop) tuples of int
        Columns of each digit cell in the window.
    window : (row, col) of int
        The window's top-left corner in the crop.
    """
    text = _text_primitive(template, paket, "0" * SERIAL_DIGITS)
    sup = TEXT_SUPERSAMPLE
    font = _font(text.size_pt * scale * 25.4 / 72.0 * px_per_mm * sup)
    em = text.size_pt * scale * 25.4 / 72.0 * px_per_mm  # crop pixels
    # Crop pixel u covers [u, u + 1) of x_mm = x0 + u / px_per_mm.
    x = (text.x - origin_mm[0]) * px_per_mm
    y = (text.y - origin_mm[1]) * px_per_mm
    full = text.text
    length = font.getlength(full) / sup
    prefix_length = font.getlength(full[:-SERIAL_DIGITS]) / sup
    advance = font.getlength("0") / sup
    left = x - length / 2
    top = int(np.floor(y - TEXT_ASCENT_EM * em))
    bottom = int(np.ceil(y + TEXT_DESCENT_EM * em))
    first = int(np.floor(left - advance / 2))
    last = int(np.ceil(left + length + advance / 2))
    width, height = last - first, bottom - top
    lines = np.empty((10, height, width), np.float32)
    for digit in range(10):
        canvas = Image.new("L", (width * sup, height * sup), 0)
        ImageDraw.Draw(canvas).text(
            ((x - first) * sup, (y - top) * sup),
            full[:-SERIAL_DIGITS] + str(digit) * SERIAL_DIGITS,
            fill=255,
            font=font,
            anchor=text.anchor,
        )
        drawn = np.asarray(canvas, np.float32) / 255.0
        lines[digit] = cv2.resize(drawn, (width, height), interpolation=cv2.INTER_AREA)
    start = left - first
    prefix = (int(np.floor(start)), int(np.ceil(start + prefix_length)))
    cells = tuple(
        (
            int(np.floor(start + prefix_length + k * advance)),
            int(np.ceil(start + prefix_length + (k + 1) * advance)),
        )
        for k in range(SERIAL_DIGITS)
    )
    lines = np.stack([_blur(line, px_per_mm) for line in lines])
    lines.setflags(write=False)
    return lines, prefix, cells, (top, first)


def _blur(image: np.ndarray, px_per_mm: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), TEXT_BLUR_MM * px_per_mm)


def printed_digit_scores(
    crop: np.ndarray, template: Template, paket: str, *, margin_mm: float
) -> np.ndarray | None:
    """How well each digit matches each of the six printed serial cells, at
    the font size whose prefix fits best (the first of
    :func:`printed_digit_score_sets`).

    Parameters
    ----------
    crop : (h, w) ndarray of uint8
        The barcode area cut out by :func:`ljun.decode.barcode_crop`, with
        ``margin_mm`` of paper around the area.
    template : Template
    paket : str
        ``A``, ``B`` or ``S``: the paket the bars name (the prefix's letter).

    Returns
    -------
    (6, 10) ndarray of float64 or None
        Normalised correlation (-1 .. 1) of digit d drawn in cell k with the
        scan there; ``None`` when the template has no barcode area or the
        crop has no contrast.
    """
    return next(printed_digit_score_sets(crop, template, paket, margin_mm=margin_mm), None)


def printed_digit_score_sets(
    crop: np.ndarray, template: Template, paket: str, *, margin_mm: float
) -> Iterator[np.ndarray]:
    """:func:`printed_digit_scores` at each font size whose prefix fits
    within ``TEXT_SCALE_FIT_TOLERANCE`` of the best, best fit first (made
    one by one, as they are asked for); nothing when the template has no
    barcode area, the crop has no contrast or the line leaves it."""
    area = template.barcode
    if area is None or crop.size == 0:
        return
    px_per_mm = crop.shape[0] / (area.height_mm + 2 * margin_mm)
    origin = (area.x_mm - margin_mm, area.y_mm - margin_mm)
    paper, ink = np.percentile(crop, [TEXT_PAPER_PERCENTILE, TEXT_INK_PERCENTILE])
    if paper - ink < 1.0:
        return
    darkness = _blur(
        np.clip((paper - crop.astype(np.float32)) / (paper - ink), 0.0, 1.0).astype(np.float32),
        px_per_mm,
    )
    search = int(round(TEXT_SEARCH_MM * px_per_mm))
    placed: list[tuple[float, float, int, int]] = []  # prefix fit, scale, dy, dx
    for scale in TEXT_SIZE_SCALES:
        lines, (p0, p1), _, (top, first) = _line_templates(
            template, paket, px_per_mm, origin, scale
        )
        window = _window(
            darkness, top - search, first - search, lines.shape[1], p1 - p0, p0, search
        )
        if window is None:
            return
        fit = cv2.matchTemplate(window, lines[0][:, p0:p1], cv2.TM_CCOEFF_NORMED)
        row, column = np.unravel_index(int(np.argmax(fit)), fit.shape)
        placed.append((float(fit[row, column]), scale, int(row) - search, int(column) - search))
    placed.sort(reverse=True)
    for prefix_fit, scale, dy, dx in placed:
        if prefix_fit < placed[0][0] - TEXT_SCALE_FIT_TOLERANCE:
            return
        scores = _cell_scores(darkness, template, paket, px_per_mm, origin, scale, dy, dx)
        if scores is None:
            return
        yield scores


def _cell_scores(
    darkness: np.ndarray,
    template: Template,
    paket: str,
    px_per_mm: float,
    origin: tuple[float, float],
    scale: float,
    dy: int,
    dx: int,
) -> np.ndarray | None:
    """:func:`printed_digit_scores` of the line at font ``scale``, placed
    ``dy, dx`` crop pixels off the template's place (by its prefix)."""
    lines, _, cells, (top, first) = _line_templates(template, paket, px_per_mm, origin, scale)
    slack = TEXT_CELL_SLACK_PX
    scores = np.empty((SERIAL_DIGITS, 10))
    for k, (c0, c1) in enumerate(cells):
        window = _window(
            darkness, top + dy - slack, first + dx - slack, lines.shape[1], c1 - c0, c0, slack
        )
        if window is None:
            return None
        for digit in range(10):
            fit = cv2.matchTemplate(window, lines[digit][:, c0:c1], cv2.TM_CCOEFF_NORMED)
            scores[k, digit] = float(fit.max())
    return scores


def _window(
    darkness: np.ndarray, top: int, left: int, height: int, width: int, offset: int, slack: int
) -> np.ndarray | None:
    """The part of the crop a template of ``height`` x ``width`` (starting
    ``offset`` columns into the line at ``left``) is searched in,
    ``slack`` pixels either way; ``None`` when it leaves the crop."""
    r0, c0 = top, left + offset
    r1, c1 = top + height + 2 * slack, left + offset + width + 2 * slack
    if r0 < 0 or c0 < 0 or r1 > darkness.shape[0] or c1 > darkness.shape[1]:
        return None
    return darkness[r0:r1, c0:c1]
