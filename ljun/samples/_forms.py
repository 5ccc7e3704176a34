"""Pages that are not LJUN sheets but end up in a scanner batch.

The guide (VI.F) has invigilators seal each envelope with one attendance list
(*daftar hadir*) and one report form (*berita acara*); both get scanned along
with the sheets now and then.  A blank page (separator sheet, the empty back of
a page fed duplex) is the other classic.  Both must be recognised and sent to
review (``wrong_template`` / ``blank_page``), never scored.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..template import MM_PER_INCH, Template
from ._pencil import PencilStyle, draw_stroke_path
from ._truth import Envelope, format_nomor_peserta

__all__ = ["blank_page", "other_page"]

# Show-through of the back of a printed sheet on a blank page: darkness.
SHOW_THROUGH = (0.02, 0.06)
PT_PER_INCH = 72.0


def blank_page(
    template: Template, dpi: float, rng: np.random.Generator, printed: np.ndarray
) -> np.ndarray:
    """A blank page, sometimes with faint show-through of a printed sheet behind it.

    ``printed`` is the blank LJUN at ``dpi`` (uint8), mirrored for the show-through.
    """
    width, height = template.size_px(dpi)
    page = np.ones((height, width), dtype=np.float32)
    if rng.random() < 0.5:
        ink = 1.0 - printed[:, ::-1].astype(np.float32) / 255.0
        page -= np.float32(rng.uniform(*SHOW_THROUGH)) * ink
    return page


def _font(size_pt: float, dpi: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(6, int(round(size_pt * dpi / PT_PER_INCH))))


def other_page(
    template: Template, dpi: float, rng: np.random.Generator, envelope: Envelope
) -> tuple[np.ndarray, str]:
    """An attendance list or report form of ``envelope``; returns the page and its kind.

    The page has the sheet's paper size but none of its fiducials.
    """
    width, height = template.size_px(dpi)
    mm = dpi / MM_PER_INCH
    canvas = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(canvas)
    form = "daftar_hadir" if rng.random() < 0.6 else "berita_acara"
    left, y = 20 * mm, 20 * mm
    title = (
        "DAFTAR HADIR PESERTA UJIAN TEORI KEJURUAN"
        if form == "daftar_hadir"
        else "BERITA ACARA PELAKSANAAN UJIAN TEORI KEJURUAN"
    )
    draw.text(
        (width / 2, y),
        title,
        fill=0,
        font=_font(12, dpi),
        anchor="ms",
        stroke_width=1,
        stroke_fill=0,
    )
    y += 8 * mm
    draw.text(
        (width / 2, y),
        "SEKOLAH MENENGAH KEJURUAN  TAHUN PELAJARAN 2011/2012",
        fill=0,
        font=_font(9, dpi),
        anchor="ms",
    )
    y += 12 * mm
    small = _font(8, dpi)
    for label, value in (
        ("Sekolah", envelope.school),
        ("Ruang", str(envelope.room)),
        ("Mata ujian", "Teori Kejuruan"),
    ):
        draw.text((left, y), f"{label}", fill=0, font=small)
        draw.text((left + 35 * mm, y), f": {value}", fill=0, font=small)
        y += 6 * mm
    y += 4 * mm
    page = None
    if form == "daftar_hadir":
        cols = [left, left + 12 * mm, left + 62 * mm, left + 130 * mm, width - 20 * mm]
        row_h = 7.5 * mm
        rows = envelope.participants
        for r in range(len(rows) + 1):
            draw.line(
                [(cols[0], y + r * row_h), (cols[-1], y + r * row_h)],
                fill=0,
                width=max(1, int(0.25 * mm)),
            )
        bottom = y + (len(rows) + 1) * row_h
        for x in cols:
            draw.line([(x, y), (x, bottom)], fill=0, width=max(1, int(0.25 * mm)))
        for j, head in enumerate(("No", "Nomor Peserta", "Nama Peserta", "Tanda Tangan")):
            draw.text((cols[j] + 1.5 * mm, y + row_h / 2), head, fill=0, font=small, anchor="lm")
        for k, p in enumerate(rows):
            yy = y + (k + 1.5) * row_h
            draw.text((cols[0] + 1.5 * mm, yy), str(k + 1), fill=0, font=small, anchor="lm")
            draw.text(
                (cols[1] + 1.5 * mm, yy),
                format_nomor_peserta(p.nomor_peserta),
                fill=0,
                font=small,
                anchor="lm",
            )
            draw.text((cols[2] + 1.5 * mm, yy), p.nama.title(), fill=0, font=small, anchor="lm")
        page = np.asarray(canvas, dtype=np.float32) / 255.0
        # Signatures of those present, in pencil or pen.
        style = PencilStyle.draw(rng, dpi)
        for k, p in enumerate(rows):
            if not p.present:
                continue
            yy = y + (k + 1.5) * row_h
            t = np.linspace(0, 1, 40)
            xs = cols[3] + 4 * mm + rng.uniform(0, 20) * mm + 25 * mm * t
            ys = yy + 2 * mm * np.sin(2 * np.pi * rng.uniform(2, 5) * t + rng.uniform(0, 6))
            draw_stroke_path(
                page, np.stack([xs, ys], 1), width_px=style.width_px, darkness=0.7, rng=rng, dpi=dpi
            )
    else:
        lines = [
            f"Pada hari ini telah dilaksanakan Ujian Teori Kejuruan di ruang {envelope.room}.",
            f"Jumlah peserta seharusnya: {len(envelope.participants)} orang.",
            f"Jumlah peserta yang hadir: {sum(p.present for p in envelope.participants)} orang.",
            f"Jumlah peserta tidak hadir: {sum(not p.present for p in envelope.participants)} orang.",
            "Catatan selama ujian berlangsung: ......................................................",
            "........................................................................................................",
            "",
            "Pengawas Ruang I                                           Pengawas Ruang II",
        ]
        for line in lines:
            draw.text((left, y), line, fill=0, font=_font(10, dpi))
            y += 9 * mm
        page = np.asarray(canvas, dtype=np.float32) / 255.0
    return page.copy(), form
