"""Printable blank sheets from a template: raster (PNG/TIFF) and vector PDF.

The layout is computed once, in millimetres, as a list of drawing primitives
(:func:`sheet_primitives`); two small backends draw that list, one into a
NumPy array (:func:`render_image`, for tests and generated scans) and one into
a PDF (:func:`render_pdf`, for printing).  So the raster, the PDF and the bubble
geometry all come from the same numbers.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ._io import atomic_write_bytes
from .errors import LjunError
from .template import MM_PER_INCH, Template, mm_to_px

__all__ = [
    "Circle",
    "Rect",
    "Text",
    "sheet_primitives",
    "render_image",
    "render_color_image",
    "render_pdf",
    "write_sheet",
    "code128_modules",
    "RENDER_FORMATS",
]

#: Output suffixes ``write_sheet`` understands.
RENDER_FORMATS = (".pdf", ".png", ".tif", ".tiff")

# Gray levels of the printed form (0 black, 255 white).  Rings and option labels
# are printed lighter than pencil, as on a real LJUN, but dark enough for the
# rings to be found in a scan.
INK_BLACK = 0
RING_GRAY = 96
OPTION_LABEL_GRAY = 150
BOX_LINE_GRAY = 60
TITLE_STRIP_GRAY = 215
PAPER_WHITE = 255

BOX_LINE_MM = 0.25
TITLE_STRIP_MM = 5.0
TITLE_PT = 6.5
ITEM_LABEL_PT = 8.0
OPTION_TEXT_PT = 7.0
# Write-in boxes sit this many option steps before the first bubble row.
WRITE_IN_OFFSET_STEPS = 1.55
WRITE_IN_SIZE_MM = 4.6
# Code 128 needs a quiet zone of 10 modules on each side.
BARCODE_QUIET_MODULES = 10
BARCODE_TEXT_MM = 3.0
# A fiducial 'ring' is a solid square with a white square hole of this fraction.
RING_HOLE_FRACTION = 0.45

PT_PER_INCH = 72.0


@dataclass(frozen=True)
class Circle:
    """A stroked circle (bubble ring) or, with ``fill``, a disc; lengths in mm.

    ``ink`` marks what is printed in the template's ``print_color`` (its
    ``gray`` is then the ink's coverage: 0 full, 255 none).
    """

    cx: float
    cy: float
    r: float
    stroke: float
    gray: int
    fill: bool = False
    ink: bool = False


@dataclass(frozen=True)
class Rect:
    """A rectangle, filled or stroked; ``x, y`` is the top-left corner, in mm."""

    x: float
    y: float
    w: float
    h: float
    gray: int
    fill: bool = True
    stroke: float = 0.0


@dataclass(frozen=True)
class Text:
    """Text anchored at ``(x, y)`` mm.

    ``anchor`` is PIL's two-letter anchor: horizontal ``l``/``m``/``r`` and
    vertical ``s`` (baseline) or ``m`` (middle).
    """

    text: str
    x: float
    y: float
    size_pt: float
    gray: int = INK_BLACK
    bold: bool = False
    anchor: str = "ls"
    ink: bool = False


Primitive = Circle | Rect | Text

_ALIGN_ANCHOR = {"left": "ls", "center": "ms", "right": "rs"}


def code128_modules(text: str) -> str:
    """The Code 128 bar pattern of ``text`` as a string of ``1`` (bar) and ``0``.

    >>> code128_modules("A")[:11]
    '11010010000'
    """
    import barcode  # python-barcode (25 ms): imported where a barcode is first drawn

    try:
        return barcode.get("code128", text).build()[0]
    except Exception as exc:  # python-barcode raises its own bare errors
        raise LjunError(f"cannot encode {text!r} as Code 128: {exc}") from None


def sheet_primitives(template: Template, *, barcode: str | None = None) -> tuple[Primitive, ...]:
    """Everything printed on a blank sheet, in drawing order, in millimetres."""
    out: list[Primitive] = []
    for box in template.boxes:
        out.append(
            Rect(box.x_mm, box.y_mm, box.width_mm, box.height_mm, BOX_LINE_GRAY, False, BOX_LINE_MM)
        )
        if box.title:
            out.append(Rect(box.x_mm, box.y_mm, box.width_mm, TITLE_STRIP_MM, TITLE_STRIP_GRAY))
            out.append(
                Text(
                    box.title,
                    box.x_mm + 1.5,
                    box.y_mm + TITLE_STRIP_MM / 2,
                    TITLE_PT,
                    bold=True,
                    anchor="lm",
                )
            )
    for label in template.labels:
        out.append(
            Text(
                label.text,
                label.x_mm,
                label.y_mm,
                label.size_pt,
                bold=label.bold,
                anchor=_ALIGN_ANCHOR[label.align],
            )
        )
    for fid in template.fiducials:
        half = fid.size_mm / 2
        if fid.shape == "circle":
            out.append(Circle(fid.x_mm, fid.y_mm, half, 0.0, INK_BLACK, fill=True))
            continue
        out.append(Rect(fid.x_mm - half, fid.y_mm - half, fid.size_mm, fid.size_mm, INK_BLACK))
        if fid.shape == "ring":
            hole = fid.size_mm * RING_HOLE_FRACTION
            out.append(Rect(fid.x_mm - hole / 2, fid.y_mm - hole / 2, hole, hole, PAPER_WHITE))
    if template.timing_track is not None:
        track = template.timing_track
        bw, bh = track.bar_width_mm, track.bar_height_mm
        for bx, by in track.centres_mm():
            out.append(Rect(float(bx) - bw / 2, float(by) - bh / 2, bw, bh, INK_BLACK))
    for field in template.fields:
        out += _field_primitives(template, field)
    if template.barcode is not None:
        out += _barcode_primitives(template, barcode)
    return tuple(out)


def _field_primitives(template: Template, field) -> list[Primitive]:
    out: list[Primitive] = []
    items, centres = field.bubbles_mm()
    r = field.bubble_diameter_mm / 2
    for row in centres:
        for (cx, cy), option in zip(row, field.options):
            out.append(Circle(cx, cy, r, template.ring_mm, RING_GRAY, ink=True))
            out.append(
                Text(option, cx, cy, template.label_pt, OPTION_LABEL_GRAY, anchor="mm", ink=True)
            )
    if field.write_in:
        step = np.asarray(field.blocks[0].option_step_mm)
        half = WRITE_IN_SIZE_MM / 2
        for row in centres:
            bx, by = row[0] - WRITE_IN_OFFSET_STEPS * step
            out.append(
                Rect(
                    bx - half,
                    by - half,
                    WRITE_IN_SIZE_MM,
                    WRITE_IN_SIZE_MM,
                    BOX_LINE_GRAY,
                    False,
                    BOX_LINE_MM,
                )
            )
    if field.item_labels:
        for item, row in zip(items, centres):
            cx, cy = row[0]
            out.append(
                Text(str(int(item)), cx - r - 1.5, cy, ITEM_LABEL_PT, bold=True, anchor="rm")
            )
    for (cx, cy), text in zip(centres[0], field.option_texts):
        out.append(Text(text, cx + r + 1.2, cy, OPTION_TEXT_PT, anchor="lm"))
    return out


def _barcode_primitives(template: Template, text: str | None) -> list[Primitive]:
    area = template.barcode
    assert area is not None
    out: list[Primitive] = [
        Rect(area.x_mm, area.y_mm, area.width_mm, area.height_mm, BOX_LINE_GRAY, False, BOX_LINE_MM)
    ]
    if area.title:
        out.append(Text(area.title, area.x_mm, area.y_mm - 1.0, TITLE_PT, bold=True))
    if not text:
        return out
    modules = code128_modules(text)
    module_mm = area.width_mm / (len(modules) + 2 * BARCODE_QUIET_MODULES)
    bar_top = area.y_mm + 1.0
    bar_height = area.height_mm - BARCODE_TEXT_MM - 1.0
    x0 = area.x_mm + BARCODE_QUIET_MODULES * module_mm
    # Runs of bars become one rectangle each.
    bits = np.frombuffer(modules.encode(), dtype=np.uint8) == ord("1")
    edges = np.flatnonzero(np.diff(np.concatenate(([0], bits.astype(np.int8), [0]))))
    for start, stop in edges.reshape(-1, 2):
        out.append(
            Rect(x0 + start * module_mm, bar_top, (stop - start) * module_mm, bar_height, INK_BLACK)
        )
    out.append(
        Text(
            text, area.x_mm + area.width_mm / 2, area.y_mm + area.height_mm - 0.6, 7.0, anchor="ms"
        )
    )
    return out


# --------------------------------------------------------------------------- raster

# cv2 draws with sub-pixel precision when coordinates are scaled by 2**shift.
_SHIFT = 4
_ONE = 1 << _SHIFT


def _fixed(value: float) -> int:
    return int(round(value * _ONE))


def render_image(template: Template, dpi: float, *, barcode: str | None = None) -> np.ndarray:
    """The blank sheet as a gray image.

    A template with a ``print_color`` is rendered in colour and turned to
    gray as a gray scanner sees it (ITU-R BT.601 luma).

    Returns
    -------
    (H, W) ndarray of uint8
        ``H, W`` as ``template.size_px(dpi)``; bubble centres where
        ``template.geometry(dpi)`` says, to within half a pixel.
    """
    primitives = sheet_primitives(template, barcode=barcode)
    if template.print_color is None:
        return _draw(template, dpi, primitives)
    rgb = render_color_image(template, dpi, barcode=barcode)
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


def render_color_image(template: Template, dpi: float, *, barcode: str | None = None) -> np.ndarray:
    """The blank sheet in colour: bubbles and their letters in the template's
    ``print_color`` (gray when it has none), everything else black.

    Returns
    -------
    (H, W, 3) ndarray of uint8
        RGB, the same geometry as :func:`render_image`.
    """
    primitives = sheet_primitives(template, barcode=barcode)
    color = template.print_color
    if color is None:
        gray = _draw(template, dpi, primitives)
        return np.repeat(gray[:, :, None], 3, axis=2)
    black = _draw(template, dpi, tuple(p for p in primitives if not _is_ink(p)))
    ink = _draw(template, dpi, tuple(p for p in primitives if _is_ink(p)))
    # Coverage of the coloured ink (0 none, 1 full: a ring is printed in the
    # full colour, a letter lighter), then subtractive mixing: each channel
    # keeps the fraction of light the ink reflects there.
    coverage = np.clip((PAPER_WHITE - ink.astype(np.float32)) / (PAPER_WHITE - RING_GRAY), 0, 1)
    reflect = np.asarray(color, dtype=np.float32) / PAPER_WHITE
    tinted = 1.0 - coverage[:, :, None] * (1.0 - reflect[None, None, :])
    rgb = black.astype(np.float32)[:, :, None] * tinted
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def _is_ink(p: Primitive) -> bool:
    return isinstance(p, Circle | Text) and p.ink


def _draw(template: Template, dpi: float, primitives: tuple[Primitive, ...]) -> np.ndarray:
    width, height = template.size_px(dpi)
    image = np.full((height, width), PAPER_WHITE, dtype=np.uint8)
    scale = dpi / MM_PER_INCH
    for p in primitives:
        if isinstance(p, Circle):
            cx, cy = mm_to_px(np.array([p.cx, p.cy]), dpi)
            cv2.circle(
                image,
                (_fixed(cx), _fixed(cy)),
                _fixed(p.r * scale),
                int(p.gray),
                -1 if p.fill else max(1, int(round(p.stroke * scale))),
                cv2.LINE_AA,
                _SHIFT,
            )
        elif isinstance(p, Rect):
            _raster_rect(image, p, dpi)
    texts = [p for p in primitives if isinstance(p, Text)]
    if texts:
        canvas = Image.fromarray(image)
        draw = ImageDraw.Draw(canvas)
        for t in texts:
            font = _font(t.size_pt * dpi / PT_PER_INCH)
            x, y = mm_to_px(np.array([t.x, t.y]), dpi)
            draw.text(
                (float(x), float(y)),
                t.text,
                fill=int(t.gray),
                font=font,
                anchor=t.anchor,
                stroke_width=1 if t.bold and dpi >= 150 else 0,
                stroke_fill=int(t.gray),
            )
        image = np.asarray(canvas, dtype=np.uint8).copy()
    return image


def _raster_rect(image: np.ndarray, rect: Rect, dpi: float) -> None:
    # Corners in continuous coordinates, then to pixel-index coordinates.
    x0, y0 = mm_to_px(np.array([rect.x, rect.y]), dpi)
    x1, y1 = mm_to_px(np.array([rect.x + rect.w, rect.y + rect.h]), dpi)
    if rect.fill:
        # Half a pixel in from each edge so that the filled area matches the paper area.
        pts = np.array(
            [[x0 + 0.5, y0 + 0.5], [x1 - 0.5, y0 + 0.5], [x1 - 0.5, y1 - 0.5], [x0 + 0.5, y1 - 0.5]]
        )
        cv2.fillPoly(
            image, [np.round(pts * _ONE).astype(np.int32)], int(rect.gray), cv2.LINE_AA, _SHIFT
        )
    else:
        pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        thickness = max(1, int(round(rect.stroke * dpi / MM_PER_INCH)))
        cv2.polylines(
            image,
            [np.round(pts * _ONE).astype(np.int32)],
            True,
            int(rect.gray),
            thickness,
            cv2.LINE_AA,
            _SHIFT,
        )


_FONTS: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}


def _font(size_px: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    key = max(1, int(round(size_px)))
    if key not in _FONTS:
        # Pillow's bundled scalable font: the same on every machine, no system fonts needed.
        _FONTS[key] = ImageFont.load_default(size=key)
    return _FONTS[key]


# --------------------------------------------------------------------------- PDF

_PDF_FONTS = {False: "Helvetica", True: "Helvetica-Bold"}


def render_pdf(template: Template, *, barcode: str | None = None) -> bytes:
    """The blank sheet as a one-page vector PDF (for printing)."""
    from reportlab.pdfgen import canvas as pdf_canvas

    pt = PT_PER_INCH / MM_PER_INCH
    page_h = template.height_mm

    def y_pt(y_mm: float) -> float:
        return (page_h - y_mm) * pt

    buffer = io.BytesIO()
    pdf = pdf_canvas.Canvas(buffer, pagesize=(template.width_mm * pt, template.height_mm * pt))
    pdf.setTitle(template.name)
    pdf.setCreator("ljun")
    color = template.print_color
    for p in sheet_primitives(template, barcode=barcode):
        gray = p.gray / 255.0
        if color is not None and _is_ink(p):
            # The ink's colour at the primitive's coverage, on white paper.
            cover = min(1.0, (1.0 - gray) / (1.0 - RING_GRAY / 255.0))
            rgb = [1.0 - cover * (1.0 - c / 255.0) for c in color]
            pdf.setStrokeColorRGB(*rgb)
            pdf.setFillColorRGB(*rgb)
        if isinstance(p, Circle):
            if color is None or not p.ink:
                pdf.setStrokeGray(gray)
                pdf.setFillGray(gray)
            pdf.setLineWidth(p.stroke * pt)
            pdf.circle(p.cx * pt, y_pt(p.cy), p.r * pt, stroke=0 if p.fill else 1, fill=int(p.fill))
        elif isinstance(p, Rect):
            if p.fill:
                pdf.setFillGray(gray)
                pdf.rect(p.x * pt, y_pt(p.y + p.h), p.w * pt, p.h * pt, stroke=0, fill=1)
            else:
                pdf.setStrokeGray(gray)
                pdf.setLineWidth(p.stroke * pt)
                pdf.rect(p.x * pt, y_pt(p.y + p.h), p.w * pt, p.h * pt, stroke=1, fill=0)
        else:
            if color is None or not p.ink:
                pdf.setFillGray(gray)
            pdf.setFont(_PDF_FONTS[p.bold], p.size_pt)
            baseline = y_pt(p.y)
            if p.anchor[1] == "m":
                # Middle anchor: drop the baseline by about a third of the size.
                baseline -= 0.35 * p.size_pt
            draw = {"l": pdf.drawString, "m": pdf.drawCentredString, "r": pdf.drawRightString}[
                p.anchor[0]
            ]
            draw(p.x * pt, baseline, p.text)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def write_sheet(
    template: Template, out: str | Path, *, dpi: float, barcode: str | None = None
) -> Path:
    """Render ``template`` to ``out`` (.pdf, .png, .tif or .tiff), atomically."""
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in RENDER_FORMATS:
        raise LjunError(
            f"{path}: cannot render to {suffix or 'a file without suffix'}; "
            f"use one of {', '.join(RENDER_FORMATS)}"
        )
    if suffix == ".pdf":
        atomic_write_bytes(path, render_pdf(template, barcode=barcode))
        return path
    pixels = (
        render_image(template, dpi, barcode=barcode)
        if template.print_color is None
        else render_color_image(template, dpi, barcode=barcode)
    )
    image = Image.fromarray(pixels)
    buffer = io.BytesIO()
    if suffix == ".png":
        image.save(buffer, format="PNG", dpi=(dpi, dpi), optimize=True)
    else:
        image.save(buffer, format="TIFF", dpi=(dpi, dpi), compression="tiff_lzw")
    atomic_write_bytes(path, buffer.getvalue())
    return path
