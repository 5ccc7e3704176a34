"""A filled-in sheet before it meets the scanner: the blank, the barcode, the pencil.

:func:`draw_sheet` takes what a student meant (a :class:`SheetPlan`) and
returns the sheet as it lies on the desk: a float32 reflectance image at the
template's geometry (bubble centres exactly where ``template.geometry(dpi)``
says), plus the list of marks drawn.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from ..render import WRITE_IN_OFFSET_STEPS, render_image
from ..template import MM_PER_INCH, Template, mm_to_px
from ._levels import Level, MarkRates
from ._pencil import (
    GRAIN_LIGHT,
    Mark,
    PencilStyle,
    draw_fill,
    draw_glyph,
    draw_smudge,
    draw_stroke_path,
    draw_tick,
)
from ._truth import STREAM_MARKS, SheetPlan, rng_for

__all__ = ["blank_sheet", "draw_sheet", "intended_marks", "HARD_MARK_KINDS"]

#: Mark kinds that are deliberately hard to read (listed in ``scan["hard_marks"]``).
HARD_MARK_KINDS = frozenset({"light", "partial", "tick", "dot", "residue"})

# Shapes of the kinds of fill, relative to the bubble radius.
FILL_RADIUS = (0.88, 1.02)
OVERFILL_RADIUS = (1.08, 1.25)
OVERFILL_OFFSET = 0.10
PARTIAL_CHORD = (-0.25, 0.35)
PARTIAL_SMALL_RADIUS = (0.50, 0.68)
DOT_RADIUS = (0.22, 0.40)
# Write-in handwriting: glyph height as a fraction of the box side.
GLYPH_HEIGHT = (0.62, 0.8)
WRITE_IN_DARKNESS = (0.45, 0.75)
# Stray lines: length on paper (mm), width (mm) and darkness.
STRAY_LENGTH_MM = (8.0, 45.0)
STRAY_WIDTH_MM = (0.3, 0.5)
STRAY_DARKNESS = (0.25, 0.6)
# Strokes that end inside a blank bubble (``Level.stroke_ends_mean``): their
# kinds and shares; where the stroke ends, as a fraction of the bubble radius
# from its centre; how far beyond the ring a short stroke or a tick's tail
# starts (mm); a tick's short arm relative to its tail, and the angle
# between them (degrees).  Stray strokes are as dark as stray lines, a
# tick's tail as a student's fill.
STROKE_END_KINDS = ("short", "tick", "line")
STROKE_END_SHARES = (0.4, 0.3, 0.3)
STROKE_END_RADIUS = (0.0, 0.75)
STROKE_END_BEYOND_MM = (0.5, 4.0)
STROKE_END_TICK_ARM = (0.3, 0.6)
STROKE_END_TICK_ANGLE_DEG = (60.0, 120.0)
#: A tick's corner and the start of its short arm lie on paper: at least
#: this many bubble radii from every bubble's centre (a corner inside a
#: bubble is a tick on that bubble, not a stroke that ends in another);
#: so many tries, else the stroke is a short one.
STROKE_END_TICK_CLEAR = 1.3
STROKE_END_TICK_TRIES = 8
#: Share of the strokes that end in a bubble of the answers field (the rest
#: in identity columns, paket).
STROKE_END_ANSWER_SHARE = 0.6
#: Sub-stream of ``STREAM_MARKS`` the strokes draw from: the rest of a sheet
#: is drawn as without them.
STROKE_END_STREAM = 1
# Smudges: Gaussian sigma on paper (mm).
SMUDGE_SIGMA_MM = (2.5, 8.0)
# Nothing is drawn closer than this to the paper edge (mm).
PAGE_INSET_MM = 8.0
# Box whose title marks the signature area.
SIGNATURE_TITLE = "TANDA TANGAN"


@functools.lru_cache(maxsize=8)
def blank_sheet(template: Template, dpi: float) -> np.ndarray:
    """The printed blank sheet without barcode, ``(H, W)`` uint8, cached per dpi."""
    image = render_image(template, dpi)
    image.setflags(write=False)
    return image


@functools.lru_cache(maxsize=64)
def _barcode_patch(template: Template, dpi: float, text: str) -> tuple[slice, slice, np.ndarray]:
    """The barcode area of a sheet printed with ``text``: slices and pixels."""
    area = template.barcode
    assert area is not None
    # Only the barcode's own primitives: rendering this costs a blank page, not a sheet.
    bare = dataclasses.replace(template, fields=(), boxes=(), labels=(), fiducials=())
    printed = render_image(bare, dpi, barcode=text)
    x0, y0 = mm_to_px(np.array([area.x_mm, area.y_mm]), dpi)
    x1, y1 = mm_to_px(np.array([area.x_mm + area.width_mm, area.y_mm + area.height_mm]), dpi)
    sy = slice(max(0, int(math.floor(y0)) - 1), int(math.ceil(y1)) + 2)
    sx = slice(max(0, int(math.floor(x0)) - 1), int(math.ceil(x1)) + 2)
    return sy, sx, printed[sy, sx].copy()


def printed_sheet(template: Template, dpi: float, barcode: str) -> np.ndarray:
    """The blank sheet with ``barcode`` printed, as float32 reflectance (0–1)."""
    page = blank_sheet(template, dpi).astype(np.float32)
    if barcode and template.barcode is not None:
        sy, sx, patch = _barcode_patch(template, dpi, barcode)
        page[sy, sx] = patch
    page *= np.float32(1.0 / 255.0)
    return page


def intended_marks(template: Template, plan: SheetPlan) -> dict[str, list[tuple[str, ...]]]:
    """Per field, per item (0-based), the options the student meant to bubble."""
    p = plan.participant
    columns = {
        "nama": plan.nama,
        "nomor_peserta": p.nomor_peserta,
        "tanggal_lahir": p.tanggal_lahir,
        "kode_kompetensi": p.kode_kompetensi,
    }
    wanted: dict[str, list[tuple[str, ...]]] = {}
    for fld in template.fields:
        if fld.name in columns:
            text = columns[fld.name]
            row: list[tuple[str, ...]] = []
            for i in range(fld.n_items):
                ch = text[i] if i < len(text) else " "
                row.append(() if ch == " " else (ch,))
            wanted[fld.name] = row
        elif fld.name == "paket":
            wanted[fld.name] = [(p.paket,)]
        elif fld.name == "answers":
            row = []
            for q, a in enumerate(plan.answers[: fld.n_items]):
                if a == "*":
                    row.append(plan.multi_options[q])
                elif a:
                    row.append((a,))
                else:
                    row.append(())
            wanted[fld.name] = row
    return wanted


def _pick_kind(rng: np.random.Generator, rates: MarkRates) -> str:
    u = rng.random()
    for kind in ("overfill", "light", "partial", "tick", "dot", "residue"):
        rate = getattr(rates, kind)
        if u < rate:
            return kind
        u -= rate
    return "fill"


def draw_sheet(
    template: Template,
    plan: SheetPlan,
    *,
    dpi: float,
    level: Level,
    seed: int,
) -> tuple[np.ndarray, tuple[Mark, ...], dict]:
    """Draw ``plan`` on the printed sheet with a 2B pencil.

    Returns
    -------
    page : (H, W) ndarray of float32
        Reflectance (1 white, 0 black) at ``dpi``, in the template's
        geometry (no scanner yet).
    marks : tuple of Mark
        Every mark drawn, in drawing order.
    extras : dict
        Counts of stray lines and smudges, and the strokes that end inside
        a blank bubble (``stroke_ends``: field, item, option, kind of each),
        for ``scan``.
    """
    rng = rng_for(seed, STREAM_MARKS, plan.index)
    page = printed_sheet(template, dpi, plan.barcode)
    geometry = template.geometry(dpi)
    px_per_mm = dpi / MM_PER_INCH
    style = PencilStyle.draw(rng, dpi)
    marks: list[Mark] = []
    inked: set[int] = set()

    def draw(index: int, name: str, item: int, option: str, kind: str) -> None:
        inked.add(index)
        marks.append(
            _draw_one(page, geometry, index, name, item, option, kind, level, style, rng, dpi)
        )

    wanted = intended_marks(template, plan)
    for fld in template.fields:
        if fld.name not in wanted:
            continue
        grid = geometry.grid(fld.name)
        rates = level.answer_marks if fld.kind == "answers" else level.identity_marks
        for i, options in enumerate(wanted[fld.name]):
            item = i + 1
            indices = grid[i]
            if fld.kind == "answers" and not options and rng.random() < level.erased_to_blank:
                # Answered, then erased completely: only residue stays.
                j = int(rng.integers(len(fld.options)))
                draw(int(indices[j]), fld.name, item, fld.options[j], "residue")
                continue
            kinds = (
                ["multi"] * len(options)
                if len(options) > 1
                else [_pick_kind(rng, rates) for _ in options]
            )
            if kinds and kinds[0] == "residue":
                # A changed answer: the old choice rubbed out, then the new one.
                others = [j for j, o in enumerate(fld.options) if o not in options]
                j = int(rng.choice(others))
                draw(int(indices[j]), fld.name, item, fld.options[j], "residue")
                kinds[0] = "fill"
            for option, kind in zip(options, kinds):
                j = fld.options.index(option)
                draw(int(indices[j]), fld.name, item, option, kind)
        if fld.write_in and rng.random() < level.write_in_probability:
            _write_in(page, template, fld, wanted[fld.name], style, rng, dpi)
    _signature(page, template, style, rng, dpi)
    n_stray = int(rng.poisson(level.stray_lines_mean))
    for _ in range(n_stray):
        _stray_line(page, template, style, rng, dpi)
    n_smudge = int(rng.poisson(level.smudges_mean))
    for _ in range(n_smudge):
        x = rng.uniform(PAGE_INSET_MM, template.width_mm - PAGE_INSET_MM)
        y = rng.uniform(PAGE_INSET_MM * 3, template.height_mm - PAGE_INSET_MM)
        cx, cy = mm_to_px(np.array([x, y]), dpi)
        draw_smudge(
            page,
            float(cx),
            float(cy),
            sigma_px=rng.uniform(*SMUDGE_SIGMA_MM) * px_per_mm,
            darkness=rng.uniform(*level.smudge_darkness),
            rng=rng,
            dpi=dpi,
        )
    stroke_ends = _stroke_ends(page, template, plan, level, inked, style, seed, dpi)
    extras = {"stray_lines": n_stray, "smudges": n_smudge, "stroke_ends": stroke_ends}
    return page, tuple(marks), extras


def _draw_one(page, geometry, index, field, item, option, kind, level, style, rng, dpi) -> Mark:
    cx, cy = geometry.centres[index]
    r = float(geometry.radii[index])
    common = dict(style=style, rng=rng, dpi=dpi)
    if kind == "light":
        d = draw_fill(
            page,
            cx,
            cy,
            r,
            darkness=rng.uniform(*level.light_darkness),
            fill_radius=rng.uniform(*FILL_RADIUS),
            grain=GRAIN_LIGHT,
            **common,
        )
    elif kind == "overfill":
        d = draw_fill(
            page,
            cx,
            cy,
            r,
            darkness=rng.uniform(*level.fill_darkness),
            fill_radius=rng.uniform(*OVERFILL_RADIUS),
            centre_offset=OVERFILL_OFFSET,
            **common,
        )
    elif kind == "partial":
        if rng.random() < 0.5:
            d = draw_fill(
                page,
                cx,
                cy,
                r,
                darkness=rng.uniform(*level.fill_darkness),
                fill_radius=rng.uniform(*FILL_RADIUS),
                chord=rng.uniform(*PARTIAL_CHORD),
                **common,
            )
        else:
            d = draw_fill(
                page,
                cx,
                cy,
                r,
                darkness=rng.uniform(*level.fill_darkness),
                fill_radius=rng.uniform(*PARTIAL_SMALL_RADIUS),
                **common,
            )
    elif kind == "tick":
        d = draw_tick(page, cx, cy, r, darkness=rng.uniform(*level.fill_darkness), **common)
    elif kind == "dot":
        d = draw_fill(
            page,
            cx,
            cy,
            r,
            darkness=rng.uniform(*level.fill_darkness),
            fill_radius=rng.uniform(*DOT_RADIUS),
            centre_offset=0.1,
            **common,
        )
    elif kind == "residue":
        d = draw_fill(
            page,
            cx,
            cy,
            r,
            darkness=rng.uniform(*level.residue_darkness),
            fill_radius=rng.uniform(*FILL_RADIUS),
            grain=GRAIN_LIGHT,
            erased=True,
            **common,
        )
    else:  # fill, multi
        d = draw_fill(
            page,
            cx,
            cy,
            r,
            darkness=rng.uniform(*level.fill_darkness),
            fill_radius=rng.uniform(*FILL_RADIUS),
            **common,
        )
    return Mark(field, int(item), option, kind, d)


def _write_in(page, template, fld, wanted, style, rng, dpi) -> None:
    from ..render import WRITE_IN_SIZE_MM

    _, centres = fld.bubbles_mm()
    step = np.asarray(fld.blocks[0].option_step_mm)
    px_per_mm = dpi / MM_PER_INCH
    darkness = rng.uniform(*WRITE_IN_DARKNESS)
    for row, options in zip(centres, wanted):
        if not options:
            continue
        bx, by = mm_to_px(row[0] - WRITE_IN_OFFSET_STEPS * step, dpi)
        draw_glyph(
            page,
            options[0],
            float(bx),
            float(by),
            height_px=WRITE_IN_SIZE_MM * px_per_mm * rng.uniform(*GLYPH_HEIGHT),
            darkness=darkness,
            style=style,
            rng=rng,
            dpi=dpi,
        )


def _signature(page, template, style, rng, dpi) -> None:
    box = next((b for b in template.boxes if SIGNATURE_TITLE in b.title.upper()), None)
    if box is None:
        return
    # A quick looping scrawl in the lower part of the box (below its title strip).
    n = 60
    t = np.linspace(0.0, 1.0, n)
    width = rng.uniform(0.3, 0.55) * box.width_mm
    x = box.x_mm + rng.uniform(3, box.width_mm - width - 3) + width * t
    top = box.y_mm + 5.5
    mid = (top + box.y_mm + box.height_mm) / 2
    amp = (box.y_mm + box.height_mm - top) * 0.35
    loops = rng.uniform(3, 7)
    y = mid + amp * np.sin(2 * np.pi * loops * t + rng.uniform(0, 2 * np.pi)) * (
        0.5 + 0.5 * np.cos(np.pi * t)
    )
    x = x + 1.2 * np.cos(2 * np.pi * loops * t)
    pts = np.stack([mm_to_px(x, dpi), mm_to_px(y, dpi)], axis=1)
    draw_stroke_path(
        page, pts, width_px=style.width_px * 0.8, darkness=rng.uniform(0.5, 0.8), rng=rng, dpi=dpi
    )


def _stray_line(page, template, style, rng, dpi) -> None:
    length = rng.uniform(*STRAY_LENGTH_MM)
    x0 = rng.uniform(PAGE_INSET_MM, template.width_mm - PAGE_INSET_MM)
    y0 = rng.uniform(PAGE_INSET_MM * 3, template.height_mm - PAGE_INSET_MM)
    angle = rng.uniform(0, 2 * np.pi)
    bend = rng.normal(0.0, 0.15 * length)
    t = np.linspace(0.0, 1.0, 24)[:, None]
    p0 = np.array([x0, y0])
    p2 = p0 + length * np.array([math.cos(angle), math.sin(angle)])
    p1 = (p0 + p2) / 2 + bend * np.array([-math.sin(angle), math.cos(angle)])
    curve = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
    curve = np.clip(
        curve,
        PAGE_INSET_MM,
        [template.width_mm - PAGE_INSET_MM, template.height_mm - PAGE_INSET_MM],
    )
    px = mm_to_px(curve, dpi)
    draw_stroke_path(
        page,
        px,
        width_px=rng.uniform(*STRAY_WIDTH_MM) * dpi / MM_PER_INCH,
        darkness=rng.uniform(*STRAY_DARKNESS),
        rng=rng,
        dpi=dpi,
    )


def _stroke_ends(page, template, plan, level, inked, style, seed, dpi) -> list[dict]:
    """Pencil strokes that start outside a blank bubble and end inside it.

    A short stray stroke, the tail of a tick whose short arm lies outside,
    or a long line that stops in the bubble (``STROKE_END_KINDS``): what a
    reader must not take for a mark (the truth says blank).  Drawn from
    their own random stream, so the rest of the sheet is as without them.
    """
    rng = rng_for(seed, STREAM_MARKS, plan.index, STROKE_END_STREAM)
    n = int(rng.poisson(level.stroke_ends_mean))
    if n == 0:
        return []
    geometry = template.geometry(dpi)
    px_per_mm = dpi / MM_PER_INCH
    answers = geometry.field_names.index("answers") if "answers" in geometry.field_names else -1
    blank = np.ones(len(geometry.radii), bool)
    blank[list(inked)] = False
    in_answers = geometry.field_index == answers
    drawn = []
    for _ in range(n):
        pool = blank & (in_answers if rng.random() < STROKE_END_ANSWER_SHARE else ~in_answers)
        if not pool.any():
            pool = blank
        index = int(rng.choice(np.flatnonzero(pool)))
        kind = str(rng.choice(STROKE_END_KINDS, p=STROKE_END_SHARES))
        r = float(geometry.radii[index])
        rho = rng.uniform(*STROKE_END_RADIUS) * r
        phi = rng.uniform(0, 2 * np.pi)
        end = geometry.centres[index] + rho * np.array([math.cos(phi), math.sin(phi)])
        angle = rng.uniform(0, 2 * np.pi)
        away = np.array([math.cos(angle), math.sin(angle)])
        side = np.array([-away[1], away[0]])
        if kind == "line":
            length = rng.uniform(*STRAY_LENGTH_MM) * px_per_mm
        else:
            length = r + rho + rng.uniform(*STROKE_END_BEYOND_MM) * px_per_mm
        tick = None
        if kind == "tick":
            tick = _tick_outside(geometry, end, length, away, rng)
            kind = "tick" if tick is not None else "short"
        if tick is not None:
            points = tick
            width = style.width_px
            darkness = rng.uniform(*level.fill_darkness)
        else:
            bend = rng.normal(0.0, 0.15 * length)
            t = np.linspace(0.0, 1.0, 24)[:, None]
            start = end + length * away
            middle = (start + end) / 2 + bend * side
            points = (1 - t) ** 2 * start + 2 * (1 - t) * t * middle + t**2 * end
            width = rng.uniform(*STRAY_WIDTH_MM) * px_per_mm if kind == "line" else style.width_px
            darkness = rng.uniform(*STRAY_DARKNESS)
        draw_stroke_path(page, points, width_px=width, darkness=darkness, rng=rng, dpi=dpi)
        drawn.append(
            {
                "field": geometry.field_names[int(geometry.field_index[index])],
                "item": int(geometry.item[index]),
                "option": geometry.option[index],
                "kind": kind,
            }
        )
    return drawn


def _tick_outside(geometry, end, length, away, rng) -> np.ndarray | None:
    """A tick whose tail runs from its corner to ``end``, ``(3, 2)`` pixels,
    with the corner and the short arm's start clear of every bubble
    (``STROKE_END_TICK_CLEAR``); None when no try of the arm finds paper."""
    vertex = end + length * away
    clear = STROKE_END_TICK_CLEAR * geometry.radii

    def on_paper(point: np.ndarray) -> bool:
        return bool((np.hypot(*(geometry.centres - point).T) >= clear).all())

    if not on_paper(vertex):
        return None
    for _ in range(STROKE_END_TICK_TRIES):
        turn = math.radians(rng.uniform(*STROKE_END_TICK_ANGLE_DEG)) * rng.choice([-1, 1])
        arm = np.array(
            [
                away[0] * math.cos(turn) - away[1] * math.sin(turn),
                away[0] * math.sin(turn) + away[1] * math.cos(turn),
            ]
        )
        start = vertex - rng.uniform(*STROKE_END_TICK_ARM) * length * arm
        if on_paper(start):
            return np.stack([start, vertex, end])
    return None
