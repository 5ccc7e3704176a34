"""Generated scans in memory: :func:`generate_sheets` and :class:`GeneratedSheet`."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .._color import pencil_channel_weights
from ..render import render_color_image
from ..template import Template
from ._errors import SamplesError
from ._forms import blank_page, other_page
from ._levels import Level, get_level
from ._pencil import Mark
from ._scanner import scan_page
from ._sheet import HARD_MARK_KINDS, _barcode_patch, blank_sheet, draw_sheet, printed_sheet
from ._truth import (
    N_ITEMS,
    STREAM_ENVELOPE_SCAN,
    STREAM_SCANNER,
    STREAM_SPECIAL,
    Envelope,
    SheetPlan,
    answer_keys,
    iter_sheet_plans,
    plan_envelopes,
    plan_sheet,
    rng_for,
    sheet_truth,
    special_truth,
)

__all__ = [
    "GeneratedSheet",
    "generate_sheets",
    "plan_sheets",
    "planned_pages",
    "envelope_pages",
    "envelope_settings",
    "check_options",
    "MIXED",
    "MIXED_DPI",
    "MIXED_BITS",
    "DPI_RANGE",
    "BILEVEL_MODE_RUN",
    "bilevel_mode_for",
]

#: Value of ``dpi`` or ``bits`` that varies the setting from envelope to envelope.
MIXED = "mixed"
#: Resolutions of envelopes 0, 1, 2, 3, ... when ``dpi="mixed"`` (cycled).
MIXED_DPI: tuple[int, ...] = (200, 300, 150)
#: Bit depths of envelopes 0, 1, 2, 3, ... when ``bits="mixed"`` (cycled):
#: high-volume form scanning is mostly black and white; every 4th batch grey.
MIXED_BITS: tuple[int, ...] = (1, 1, 1, 8)
#: Envelopes in a run scanned with one B/W mode: envelopes 0-3 use the
#: level's first mode (``threshold``), 4-7 its second, and so on (cycled).
#: Runs of 4 keep a ``bits="mixed"`` cycle (1, 1, 1, 8) within one mode, and
#: sets made before the other modes existed (envelopes 0-3) unchanged.
BILEVEL_MODE_RUN = 4
#: Resolutions the generator accepts (scanners offer 150–600 dpi for forms).
DPI_RANGE = (100, 600)


@dataclass(frozen=True, eq=False)
class GeneratedSheet:
    """One generated scanned page with its ground truth.

    Attributes
    ----------
    image : (H, W) ndarray of uint8
        The page as the scanner wrote it (0 black, 255 white); a 1-bit scan
        holds only 0 and 255.  ``H, W`` include scanner background around
        the page.
    dpi : int
        Resolution of the scan.
    truth : dict
        The result record the page must read as (ARCHITECTURE.md §3); ``source`` is
        ``""`` and ``page`` 0 in memory.
    kind : str
        ``ljun`` (a student's sheet), ``blank`` or ``other`` (a non-LJUN page).
    scan : dict
        What the scanner did (see :func:`ljun.samples.scan_page`) plus
        ``level``, ``envelope``, ``hard_marks`` (deliberately hard marks:
        light, partial, tick, dot, residue), ``stray_lines`` and ``smudges``.
    marks : tuple of Mark
        Every pencil mark drawn (empty for special pages).
    index : int
        Sheet number within the set (0-based), -1 for a special page.
    envelope : int
        Envelope number (0-based).
    drawn : (h, w) ndarray of uint8 or None
        The filled-in sheet before the scanner, in the template's geometry at
        ``dpi``; only kept when asked for (``keep_drawn=True``).
    """

    image: np.ndarray
    dpi: int
    truth: dict
    kind: str
    scan: dict
    marks: tuple[Mark, ...] = ()
    index: int = -1
    envelope: int = 0
    drawn: np.ndarray | None = None


def check_options(count: int, seed: int, dpi: int | str, bits: int | str) -> None:
    """Raise :class:`SamplesError` for a count, seed, dpi or bit depth the generator cannot make."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
        raise SamplesError(f"count must be a whole number of sheets, 0 or more, not {count!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SamplesError(f"seed must be a whole number, 0 or more, not {seed!r}")
    if dpi != MIXED and not (
        isinstance(dpi, (int, np.integer))
        and not isinstance(dpi, bool)
        and DPI_RANGE[0] <= dpi <= DPI_RANGE[1]
    ):
        raise SamplesError(f"dpi must be {DPI_RANGE[0]}–{DPI_RANGE[1]} or {MIXED!r}, not {dpi!r}")
    if bits not in (8, 1, MIXED):
        raise SamplesError(f"bits must be 8 (grey), 1 (black and white) or {MIXED!r}, not {bits!r}")


def envelope_settings(envelope: int, dpi: int | str, bits: int | str) -> tuple[int, int]:
    """``(dpi, bits)`` an envelope is scanned with.

    ``"mixed"`` cycles :data:`MIXED_DPI` / :data:`MIXED_BITS` over envelopes:
    one batch is one scanner setting, as in an office.

    >>> [envelope_settings(k, "mixed", "mixed") for k in range(4)]
    [(200, 1), (300, 1), (150, 1), (200, 8)]
    """
    e_dpi = MIXED_DPI[envelope % len(MIXED_DPI)] if dpi == MIXED else int(dpi)
    e_bits = MIXED_BITS[envelope % len(MIXED_BITS)] if bits == MIXED else int(bits)
    return e_dpi, e_bits


def bilevel_mode_for(envelope: int, level: Level) -> str:
    """The B/W mode envelope ``envelope`` is scanned with when it is 1-bit.

    >>> from ljun.samples import get_level
    >>> [bilevel_mode_for(k, get_level("moderate")) for k in (0, 3, 4, 8, 12)]
    ['threshold', 'threshold', 'dither', 'adaptive', 'threshold']
    """
    modes = level.bilevel_modes
    return modes[(envelope // BILEVEL_MODE_RUN) % len(modes)]


def planned_pages(
    count: int, seed: int, level: str | Level, *, include_special_pages: bool | None = None
) -> int:
    """How many pages (sheets plus special pages) a set of ``count`` sheets has."""
    lvl = get_level(level)
    check_options(count, seed, 200, 8)
    if include_special_pages is None:
        include_special_pages = lvl.blank_page_probability > 0 or lvl.other_page_probability > 0
    envelopes = plan_envelopes(seed, count, lvl, special_pages=include_special_pages)
    return sum(e.n_sheets + len(e.special_pages) for e in envelopes)


def plan_sheets(count: int, seed: int, level: str | Level = "moderate") -> list[SheetPlan]:
    """What the students of the first ``count`` sheets meant to fill in."""
    lvl = get_level(level)
    check_options(count, seed, 200, 8)
    envelopes = plan_envelopes(seed, count, lvl, special_pages=False)
    return list(iter_sheet_plans(seed, envelopes, lvl))


@functools.lru_cache(maxsize=8)
def _keys(seed: int, items: int = N_ITEMS) -> dict[str, dict]:
    return answer_keys(seed, items)


def answer_items(template: Template) -> int:
    """Number of answer items on ``template`` (the LJUN's 40 without an answers field)."""
    return template.field("answers").n_items if template.has_field("answers") else N_ITEMS


def generate_sheets(
    template: Template,
    *,
    count: int,
    seed: int,
    level: str | Level,
    dpi: int | str = 200,
    bits: int | str = 8,
    include_special_pages: bool | None = None,
    keep_drawn: bool = False,
    scan_color: str = "gray",
) -> Iterator[GeneratedSheet]:
    """Generate scanned sheets with ground truth, in memory, in set order.

    Parameters
    ----------
    template : Template
        The sheet design (e.g. ``load_template("ljun-teori-kejuruan")``).
    count : int
        Number of students' sheets (``kind == "ljun"``).  Special pages come
        on top of these.
    seed : int
        Sheet ``i`` depends only on ``(seed, i)``, the level, dpi and bits
        (and this version of ljun): not on ``count`` or on how a set is
        split into files or worker processes.
    level : {"easy", "moderate", "hard"} or Level
        How hard the set is to read (see ``ljun.samples.LEVELS``).
    dpi : int or "mixed"
        Scan resolution; ``"mixed"`` varies it per envelope (200, 300, 150).
    bits : {8, 1, "mixed"}
        8-bit grey, 1-bit black and white, or ``"mixed"`` (envelopes cycle
        1, 1, 1, 8).
    include_special_pages : bool, optional
        Add blank pages and non-LJUN pages (attendance list, report form) to
        envelopes, as the level's probabilities say; default: when the level
        has any (moderate and hard).
    keep_drawn : bool
        Keep the filled-in sheet before the scanner in ``GeneratedSheet.drawn``.
    scan_color : {"gray", "rgb", "dropout"}
        What an 8-bit scanner writes: gray (luma of the coloured print),
        RGB colour, or gray under a lamp of the print's own colour (a
        dropout scan: the printed rings and letters vanish).  1-bit pages
        are always black and white.

    Yields
    ------
    GeneratedSheet
        Envelope by envelope, in the order a scanner batch holds them.

    Examples
    --------
    >>> from ljun.template import load_template
    >>> sheet = next(generate_sheets(load_template("ljun-teori-kejuruan"), count=1, seed=1, level="easy"))
    >>> sheet.kind, sheet.image.dtype, len(sheet.truth["answers"])
    ('ljun', dtype('uint8'), 40)
    """
    lvl = get_level(level)
    check_options(count, seed, dpi, bits)
    check_scan_color(scan_color)
    if include_special_pages is None:
        include_special_pages = lvl.blank_page_probability > 0 or lvl.other_page_probability > 0
    for envelope in plan_envelopes(seed, count, lvl, special_pages=include_special_pages):
        yield from envelope_pages(
            template,
            envelope,
            seed=seed,
            level=lvl,
            dpi=dpi,
            bits=bits,
            keep_drawn=keep_drawn,
            scan_color=scan_color,
        )


def envelope_pages(
    template: Template,
    envelope: Envelope,
    *,
    seed: int,
    level: Level,
    dpi: int | str,
    bits: int | str,
    keep_drawn: bool = False,
    scan_color: str = "gray",
) -> Iterator[GeneratedSheet]:
    """The pages of one envelope's scanner batch, in order."""
    e_dpi, e_bits = envelope_settings(envelope.index, dpi, bits)
    mode = bilevel_mode_for(envelope.index, level)
    specials: dict[int, list[str]] = {}
    for position, kind in envelope.special_pages:
        specials.setdefault(position, []).append(kind)
    n_special = 0
    for j, participant in enumerate(envelope.present):
        for kind in specials.get(j, ()):
            yield _special_page(
                template,
                envelope,
                kind,
                n_special,
                seed=seed,
                level=level,
                dpi=e_dpi,
                bits=e_bits,
                keep_drawn=keep_drawn,
                bilevel_mode=mode,
            )
            n_special += 1
        plan = plan_sheet(
            seed, envelope.first_sheet + j, envelope, participant, level, answer_items(template)
        )
        yield make_sheet(
            template,
            plan,
            seed=seed,
            level=level,
            dpi=e_dpi,
            bits=e_bits,
            keep_drawn=keep_drawn,
            scan_color=scan_color,
            bilevel_mode=mode,
        )
    for kind in specials.get(envelope.n_sheets, ()):
        yield _special_page(
            template,
            envelope,
            kind,
            n_special,
            seed=seed,
            level=level,
            dpi=e_dpi,
            bits=e_bits,
            keep_drawn=keep_drawn,
            bilevel_mode=mode,
        )
        n_special += 1


def make_sheet(
    template: Template,
    plan: SheetPlan,
    *,
    seed: int,
    level: Level,
    dpi: int,
    bits: int,
    keep_drawn: bool = False,
    scan_color: str = "gray",
    bilevel_mode: str = "threshold",
) -> GeneratedSheet:
    """Draw and scan one student's sheet."""
    page, marks, extras = draw_sheet(template, plan, dpi=dpi, level=level, seed=seed)
    geometry = template.geometry(dpi)
    rng = rng_for(seed, STREAM_SCANNER, plan.index)
    if bits == 8 and scan_color != "gray":
        image, scan = _scan_in_color(
            template, plan.barcode, page, scan_color, dpi=dpi, level=level, rng=rng
        )
    else:
        image, scan = scan_page(
            page,
            dpi=dpi,
            bits=bits,
            level=level,
            rng=rng,
            reference_points=geometry.fiducials,
            bilevel_mode=bilevel_mode,
        )
    scan["fiducials_px"] = scan.pop("reference_points")
    scan.update(
        level=level.name,
        envelope=plan.envelope,
        hard_marks=[m.to_json() for m in marks if m.kind in HARD_MARK_KINDS],
        **extras,
    )
    key = _keys(seed, answer_items(template))[plan.participant.paket]["answers"]
    drawn = _to_uint8(page) if keep_drawn else None
    return GeneratedSheet(
        image=image,
        dpi=dpi,
        truth=sheet_truth(plan, template.id, key),
        kind="ljun",
        scan=scan,
        marks=marks,
        index=plan.index,
        envelope=plan.envelope,
        drawn=drawn,
    )


#: What an 8-bit scan of a sheet records (see :func:`generate_sheets`).
SCAN_COLORS = ("gray", "rgb", "dropout")


def check_scan_color(scan_color: str) -> None:
    if scan_color not in SCAN_COLORS:
        raise SamplesError(
            f"scan colour must be one of {', '.join(SCAN_COLORS)}, not {scan_color!r}"
        )


def _scan_in_color(
    template: Template,
    barcode: str,
    page: np.ndarray,
    scan_color: str,
    *,
    dpi: int,
    level: Level,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict]:
    """Scan the drawn sheet in colour (``rgb``) or under a dropout lamp.

    The pencil darkens the printed sheet by a factor (``ljun.samples._pencil``
    multiplies), the same in every channel: the coloured sheet is the printed
    one in colour times that factor.  Each channel goes through the same
    scanner (same pose, lamp and noise draws), so the channels stay aligned.
    """
    printed = printed_sheet(template, dpi, barcode)
    # Where the print is black the factor is undefined, and the colour is black anyway.
    factor = np.where(printed > _BLACK_PRINT, page / np.maximum(printed, _BLACK_PRINT), 1.0)
    color = _color_sheet(template, dpi).astype(np.float32) * np.float32(1.0 / 255.0)
    if template.barcode is not None and barcode:
        # The barcode is printed in black: take it from the gray printed sheet.
        sy, sx, _ = _barcode_patch(template, dpi, barcode)
        color[sy, sx] = printed[sy, sx, None]
    reference = template.geometry(dpi).fiducials
    weights = pencil_channel_weights(template.print_color)
    if scan_color == "dropout" and max(weights) < 1.0:
        # No dropout colour: the lamp sees the sheet as a gray scanner does.
        return scan_page(page, dpi=dpi, bits=8, level=level, rng=rng, reference_points=reference)
    channels = [int(np.argmax(weights))] if scan_color == "dropout" else [0, 1, 2]
    state = rng.bit_generator.state
    images = []
    scan: dict = {}
    for c in channels:
        rng.bit_generator.state = state
        layer = np.ascontiguousarray(color[:, :, c] * np.clip(factor, 0.0, 1.0), dtype=np.float32)
        image, scan = scan_page(
            layer, dpi=dpi, bits=8, level=level, rng=rng, reference_points=reference
        )
        images.append(image)
    scan["color"] = scan_color
    if len(images) == 1:
        return images[0], scan
    return np.ascontiguousarray(np.stack(images, axis=-1)), scan


# Printed reflectance below this is black print (fiducials, track, text).
_BLACK_PRINT = 0.05


@functools.lru_cache(maxsize=4)
def _color_sheet(template: Template, dpi: float) -> np.ndarray:
    image = render_color_image(template, dpi)
    image.setflags(write=False)
    return image


def _special_page(
    template: Template,
    envelope: Envelope,
    kind: str,
    number: int,
    *,
    seed: int,
    level: Level,
    dpi: int,
    bits: int,
    keep_drawn: bool,
    bilevel_mode: str = "threshold",
) -> GeneratedSheet:
    rng = rng_for(seed, STREAM_SPECIAL, envelope.index, number + 1)
    if kind == "blank":
        page = blank_page(template, dpi, rng, blank_sheet(template, dpi))
        form = "blank"
    else:
        page, form = other_page(template, dpi, rng, envelope)
    scan_rng = rng_for(seed, STREAM_ENVELOPE_SCAN, envelope.index, number)
    image, scan = scan_page(
        page, dpi=dpi, bits=bits, level=level, rng=scan_rng, bilevel_mode=bilevel_mode
    )
    scan.update(level=level.name, envelope=envelope.index, form=form, hard_marks=[])
    return GeneratedSheet(
        image=image,
        dpi=dpi,
        truth=special_truth(kind, template.id),
        kind=kind,
        scan=scan,
        index=-1,
        envelope=envelope.index,
        drawn=_to_uint8(page) if keep_drawn else None,
    )


def _to_uint8(page: np.ndarray) -> np.ndarray:
    return np.clip(page * 255.0 + 0.5, 0, 255).astype(np.uint8)
