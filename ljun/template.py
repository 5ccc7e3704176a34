"""Sheet templates: the JSON design of an answer sheet, and its bubble geometry.

A template is data, not code: a JSON file under ``templates/answer_sheets/``
describes the paper, the fiducials (corner marks), the field blocks (answers
grid, digit and letter grids, choice sets), the barcode area and the printed
labels, all in millimetres.  :func:`load_template` validates the file against
``ljun/data/template.schema.json`` and then against the geometric rules of
:func:`check_template`, and returns a frozen :class:`Template`.

:meth:`Template.geometry` turns the design into pixel coordinates at a given
dpi, once per template and dpi: an ``(N, 2)`` array of bubble centres plus
radii, the array every reading kernel works on.

Pixel convention: a pixel's centre is at integer coordinates, so the point at
``x_mm`` on paper lies at ``x_mm * dpi / 25.4 - 0.5`` pixels.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np

from ._bundled import bundled_folder, bundled_names, find_file_or_bundled
from ._jsondoc import COMMON_FIXES, packaged_validator, read_json, schema_problems
from .errors import TemplateError

__all__ = [
    "MM_PER_INCH",
    "Fiducial",
    "TimingTrack",
    "Block",
    "Field",
    "BarcodeArea",
    "Box",
    "Label",
    "Template",
    "BubbleGeometry",
    "load_template",
    "parse_template",
    "check_template",
    "resolve_template_path",
    "DEFAULT_TEMPLATE",
    "mm_to_px",
]

MM_PER_INCH = 25.4

#: The template used when a command is not told which one.
DEFAULT_TEMPLATE = "ljun-teori-kejuruan"

#: Folder of the bundled templates, relative to the repository root.
TEMPLATES_DIR = Path("templates") / "answer_sheets"

#: Where the bundled templates are inside the installed package (a copy of
#: :data:`TEMPLATES_DIR` of the repository, which is the source people edit).
BUNDLED_TEMPLATES = bundled_folder("templates")

# Two bubbles closer than this (edge to edge) cannot be told apart by a pencil
# mark that overfills its ring; 0.3 mm is about one pencil line width.
MIN_BUBBLE_GAP_MM = 0.3


@overload
def mm_to_px(mm: float, dpi: float) -> float: ...
@overload
def mm_to_px(mm: np.ndarray, dpi: float) -> np.ndarray: ...
def mm_to_px(mm: float | np.ndarray, dpi: float) -> float | np.ndarray:
    """Convert a paper coordinate in millimetres to a pixel coordinate.

    A number gives a number, an array an array of the same shape.

    >>> round(float(mm_to_px(25.4, 200)), 2)
    199.5
    """
    pixels = np.asarray(mm, dtype=np.float64) * (dpi / MM_PER_INCH) - 0.5
    return float(pixels) if np.ndim(mm) == 0 else pixels


@dataclass(frozen=True)
class Fiducial:
    """A corner mark: a solid ``square``, a ``ring`` (square with a hole) or a
    solid ``circle`` (``size_mm`` its diameter)."""

    x_mm: float
    y_mm: float
    size_mm: float
    shape: str


@dataclass(frozen=True)
class TimingTrack:
    """A row of short solid bars printed along one edge of the sheet.

    Bar ``k`` (0-based) is centred at ``first_mm + k * step_mm``; each bar is
    ``bar_width_mm`` wide (x) and ``bar_height_mm`` high (y) on the upright
    sheet.  Printed down one edge only, the track is what tells a sheet fed
    upside down from an upright one when the corner marks are all alike.
    """

    first_mm: tuple[float, float]
    step_mm: tuple[float, float]
    count: int
    bar_width_mm: float
    bar_height_mm: float

    def centres_mm(self) -> np.ndarray:
        """Bar centres, shape ``(count, 2)``, in millimetres."""
        k = np.arange(self.count, dtype=np.float64)[:, None]
        return np.asarray(self.first_mm) + k * np.asarray(self.step_mm)


@dataclass(frozen=True)
class Block:
    """A rectangular run of items of one field.

    The bubble of item ``first_item + i`` and option ``j`` has its centre at
    ``origin_mm + i * item_step_mm + j * option_step_mm``.
    """

    first_item: int
    items: int
    origin_mm: tuple[float, float]
    item_step_mm: tuple[float, float]
    option_step_mm: tuple[float, float]

    def centres_mm(self, n_options: int) -> np.ndarray:
        """Bubble centres, shape ``(items, n_options, 2)``, in millimetres."""
        i = np.arange(self.items, dtype=np.float64)[:, None, None]
        j = np.arange(n_options, dtype=np.float64)[None, :, None]
        return (
            np.asarray(self.origin_mm)
            + i * np.asarray(self.item_step_mm)
            + j * np.asarray(self.option_step_mm)
        )


@dataclass(frozen=True)
class Field:
    """One field of the sheet: the answers grid or an identity grid.

    ``kind`` is ``answers`` (items are questions), ``digits`` or ``letters``
    (items are the columns of an identity grid), or ``choice`` (one item, one
    of ``options``).  Item numbers are 1-based.
    """

    name: str
    kind: str
    options: tuple[str, ...]
    blocks: tuple[Block, ...]
    bubble_diameter_mm: float
    title: str = ""
    option_texts: tuple[str, ...] = ()
    write_in: bool = False
    item_labels: bool = False

    @property
    def n_items(self) -> int:
        return sum(block.items for block in self.blocks)

    def bubbles_mm(self) -> tuple[np.ndarray, np.ndarray]:
        """Items ``(n_items,)`` and centres ``(n_items, n_options, 2)`` in mm,
        sorted by item number."""
        items = np.concatenate(
            [np.arange(b.first_item, b.first_item + b.items) for b in self.blocks]
        )
        centres = np.concatenate([b.centres_mm(len(self.options)) for b in self.blocks])
        order = np.argsort(items, kind="stable")
        return items[order], centres[order]


@dataclass(frozen=True)
class BarcodeArea:
    """Where the sheet/booklet code is printed (top-left corner and size)."""

    x_mm: float
    y_mm: float
    width_mm: float
    height_mm: float
    symbology: str = "code128"
    title: str = ""


@dataclass(frozen=True)
class Box:
    """A printed frame, optionally with a title strip."""

    x_mm: float
    y_mm: float
    width_mm: float
    height_mm: float
    title: str = ""


@dataclass(frozen=True)
class Label:
    """Printed text; ``y_mm`` is the text's baseline."""

    text: str
    x_mm: float
    y_mm: float
    size_pt: float = 9.0
    bold: bool = False
    align: str = "left"


@dataclass(frozen=True, eq=False)
class BubbleGeometry:
    """Every bubble of a template at one dpi, as arrays.

    Attributes
    ----------
    centres : (N, 2) ndarray of float64
        ``(x, y)`` pixel coordinates of bubble centres in the rendered sheet.
    radii : (N,) ndarray of float64
        Bubble radii in pixels (to the middle of the printed ring).
    field_index : (N,) ndarray of int16
        Index into ``field_names`` of each bubble's field.
    item : (N,) ndarray of int16
        Question number (answers) or 1-based column (identity grids).
    option : tuple of str, length N
        The bubble's printed label.
    fiducials : (F, 2) ndarray of float64
        Fiducial centres in pixels; ``fiducial_sizes`` their side in pixels.

    Bubbles are ordered field by field (template order), then by item, then
    by option, so ``grid(name)`` can hand out a field's indices as an
    ``(items, options)`` array.
    """

    template: str
    dpi: float
    width: int
    height: int
    centres: np.ndarray
    radii: np.ndarray
    field_index: np.ndarray
    item: np.ndarray
    option: tuple[str, ...]
    field_names: tuple[str, ...]
    field_slices: tuple[slice, ...]
    field_shapes: tuple[tuple[int, int], ...]
    fiducials: np.ndarray
    fiducial_sizes: np.ndarray
    fiducial_shapes: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.centres.shape[0])

    def grid(self, name: str) -> np.ndarray:
        """Bubble indices of field ``name`` as an ``(items, options)`` array,
        read-only: made once per geometry and field (the looks at a sheet ask
        for the grids some thirty times)."""
        return _field_grid(self, name)

    def to_json(self) -> dict[str, Any]:
        """The ``ljun template geometry`` document (ARCHITECTURE.md §3)."""
        names = self.field_names
        return {
            "template": self.template,
            "dpi": int(self.dpi) if float(self.dpi).is_integer() else self.dpi,
            "width": self.width,
            "height": self.height,
            "bubbles": [
                {
                    "field": names[int(f)],
                    "item": int(i),
                    "option": o,
                    "x": round(float(x), 2),
                    "y": round(float(y), 2),
                    "r": round(float(r), 2),
                }
                for f, i, o, (x, y), r in zip(
                    self.field_index, self.item, self.option, self.centres, self.radii
                )
            ],
        }


@functools.lru_cache(maxsize=64)
def _field_grid(geometry: BubbleGeometry, name: str) -> np.ndarray:
    """:meth:`BubbleGeometry.grid`, made once."""
    try:
        k = geometry.field_names.index(name)
    except ValueError:
        raise TemplateError(
            f"template {geometry.template!r} has no field {name!r}; "
            f"its fields are {', '.join(geometry.field_names)}"
        ) from None
    s = geometry.field_slices[k]
    grid = np.arange(s.start, s.stop).reshape(geometry.field_shapes[k])
    grid.setflags(write=False)
    return grid


@dataclass(frozen=True)
class Template:
    """A validated sheet design.  Build one with :func:`load_template`."""

    id: str
    name: str
    paper_size: str
    width_mm: float
    height_mm: float
    bubble_diameter_mm: float
    ring_mm: float
    label_pt: float
    fiducials: tuple[Fiducial, ...]
    fields: tuple[Field, ...]
    barcode: BarcodeArea | None = None
    boxes: tuple[Box, ...] = ()
    labels: tuple[Label, ...] = ()
    path: str = ""
    timing_track: TimingTrack | None = None
    #: Colour of the printed bubbles and their letters, ``(r, g, b)`` 0-255,
    #: or None for black/gray print (the rest of the form is black).
    print_color: tuple[int, int, int] | None = None

    def __hash__(self) -> int:
        # The dataclass's hash of every field, made once: every cached lookup
        # by template (geometry, sampling pattern, box points ...) hashes it,
        # and its nested tuples take 40 us a time (five times a sheet).
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(tuple(getattr(self, f.name) for f in dataclasses.fields(self)))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __getstate__(self) -> dict[str, object]:
        # Without the cached hash: another process hashes strings differently.
        return {key: value for key, value in self.__dict__.items() if key != "_hash"}

    def field(self, name: str) -> Field:
        """The field called ``name``; :class:`TemplateError` if there is none."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise TemplateError(
            f"template {self.id!r} has no field {name!r}; "
            f"its fields are {', '.join(f.name for f in self.fields)}"
        )

    def has_field(self, name: str) -> bool:
        return any(f.name == name for f in self.fields)

    def size_px(self, dpi: float) -> tuple[int, int]:
        """``(width, height)`` of the rendered sheet in pixels."""
        return (
            int(round(self.width_mm * dpi / MM_PER_INCH)),
            int(round(self.height_mm * dpi / MM_PER_INCH)),
        )

    def geometry(self, dpi: float) -> BubbleGeometry:
        """Bubble geometry at ``dpi``; computed once per template and dpi."""
        return _geometry(self, float(dpi))


@functools.lru_cache(maxsize=32)
def _geometry(template: Template, dpi: float) -> BubbleGeometry:
    centres, radii, field_index, items, options = [], [], [], [], []
    slices, shapes = [], []
    start = 0
    for k, fld in enumerate(template.fields):
        item_numbers, mm = fld.bubbles_mm()
        n_items, n_options = mm.shape[:2]
        centres.append(mm.reshape(-1, 2))
        radii.append(np.full(n_items * n_options, fld.bubble_diameter_mm / 2))
        field_index.append(np.full(n_items * n_options, k, dtype=np.int16))
        items.append(np.repeat(item_numbers, n_options).astype(np.int16))
        options.extend(fld.options * n_items)
        slices.append(slice(start, start + n_items * n_options))
        shapes.append((n_items, n_options))
        start += n_items * n_options
    scale = dpi / MM_PER_INCH
    width, height = template.size_px(dpi)
    return BubbleGeometry(
        template=template.id,
        dpi=dpi,
        width=width,
        height=height,
        centres=mm_to_px(np.concatenate(centres), dpi),
        radii=np.concatenate(radii) * scale,
        field_index=np.concatenate(field_index),
        item=np.concatenate(items),
        option=tuple(options),
        field_names=tuple(f.name for f in template.fields),
        field_slices=tuple(slices),
        field_shapes=tuple(shapes),
        fiducials=mm_to_px(
            np.array([(f.x_mm, f.y_mm) for f in template.fiducials], dtype=np.float64), dpi
        ).reshape(-1, 2),
        fiducial_sizes=np.array([f.size_mm for f in template.fiducials]) * scale,
        fiducial_shapes=tuple(f.shape for f in template.fiducials),
    )


# --------------------------------------------------------------------------- loading

_TEMPLATE_SCHEMA = "data/template.schema.json"

# Template-specific advice where the common phrase would be vague.
_TEMPLATE_FIXES = {
    **COMMON_FIXES,
    "exclusiveMinimum": "give a positive size in millimetres",
    "maxLength": "give a single character",
    "pattern": "use lower-case letters, digits and '-' (an id) or #rrggbb (a colour)",
}


def bundled_template_ids() -> list[str]:
    """Ids of the templates shipped inside the ljun package, sorted."""
    return bundled_names(BUNDLED_TEMPLATES)


def resolve_template_path(name: str | Path) -> Path:
    """Find a template by path, or by id among the bundled templates.

    ``name`` is a path to a JSON file (relative to the current folder, or
    absolute), or the id of a template shipped inside the package, such as
    ``ljun-teori-kejuruan`` (whatever the current folder is).
    """
    found = find_file_or_bundled(name, BUNDLED_TEMPLATES)
    if found is not None:
        return found
    raise TemplateError(
        f"template {str(name)!r} not found: give the path of a template JSON file "
        f"or the id of a bundled one ({', '.join(bundled_template_ids())})"
    )


def load_template(name: str | Path) -> Template:
    """Load, validate and check a template file (a path or a bundled id).

    Raises
    ------
    TemplateError
        With every problem found, each naming the JSON path and the fix.
    """
    path = resolve_template_path(name)
    return _load_template_file(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _load_template_file(path: str, mtime_ns: int) -> Template:
    document = read_json(path, what="template", error=TemplateError)
    template = parse_template(document, source=path)
    problems = check_template(template)
    if problems:
        raise TemplateError(_problem_message(path, problems), problems)
    return template


def _problem_message(source: str, problems: Sequence[str]) -> str:
    lines = [f"template {source}: {len(problems)} problem(s):"]
    lines += [f"  - {p}" for p in problems]
    return "\n".join(lines)


def parse_template(document: Any, *, source: str = "<template>") -> Template:
    """Validate a template document against the schema and build a Template.

    Only the schema and the field-level structure are checked here; the
    geometric rules are :func:`check_template`'s.
    """
    problems = schema_problems(
        packaged_validator(_TEMPLATE_SCHEMA),
        document,
        fixes=_TEMPLATE_FIXES,
        default_fix=f"see ljun/{_TEMPLATE_SCHEMA}",
    )
    if problems:
        raise TemplateError(_problem_message(source, problems), problems)

    bubble = document["bubble"]
    diameter = float(bubble["diameter_mm"])
    fields = []
    for f in document["fields"]:
        fields.append(
            Field(
                name=f["name"],
                kind=f["kind"],
                options=tuple(f["options"]),
                blocks=tuple(
                    Block(
                        first_item=b["first_item"],
                        items=b["items"],
                        origin_mm=tuple(b["origin_mm"]),
                        item_step_mm=tuple(b["item_step_mm"]),
                        option_step_mm=tuple(b["option_step_mm"]),
                    )
                    for b in f["blocks"]
                ),
                bubble_diameter_mm=float(f.get("bubble_diameter_mm", diameter)),
                title=f.get("title", ""),
                option_texts=tuple(f.get("option_texts", ())),
                write_in=bool(f.get("write_in", False)),
                item_labels=bool(f.get("item_labels", False)),
            )
        )
    barcode = document.get("barcode")
    track = document.get("timing_track")
    color = document.get("print_color")
    return Template(
        id=document["id"],
        name=document.get("name", document["id"]),
        paper_size=document["paper"]["size"],
        width_mm=float(document["paper"]["width_mm"]),
        height_mm=float(document["paper"]["height_mm"]),
        bubble_diameter_mm=diameter,
        ring_mm=float(bubble.get("ring_mm", 0.3)),
        label_pt=float(bubble.get("label_pt", 6.0)),
        fiducials=tuple(Fiducial(**f) for f in document["fiducials"]),
        fields=tuple(fields),
        barcode=BarcodeArea(**barcode) if barcode else None,
        boxes=tuple(Box(**b) for b in document.get("boxes", ())),
        labels=tuple(Label(**lbl) for lbl in document.get("labels", ())),
        path=source,
        timing_track=None
        if track is None
        else TimingTrack(
            first_mm=tuple(track["first_mm"]),
            step_mm=tuple(track["step_mm"]),
            count=int(track["count"]),
            bar_width_mm=float(track["bar_width_mm"]),
            bar_height_mm=float(track["bar_height_mm"]),
        ),
        print_color=None if color is None else parse_color(color),
    )


def parse_color(text: str) -> tuple[int, int, int]:
    """``#rrggbb`` as ``(r, g, b)`` 0-255 (the schema has checked the form).

    >>> parse_color("#d0312d")
    (208, 49, 45)
    """
    return (int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16))


# --------------------------------------------------------------------------- checking

# Fiducials fewer than this cannot fix a homography (8 unknowns, 2 per point).
MIN_FIDUCIALS = 4


def check_template(template: Template) -> list[str]:
    """Every geometric or structural problem of ``template``, as sentences.

    An empty list means the template is usable.  Checks: duplicate field names,
    field kinds and items, option texts, bubbles off the page or overlapping,
    fiducials missing, off the page, overlapping bubbles, or placed so that a
    sheet fed upside down looks the same (orientation must be unambiguous),
    and the barcode area.
    """
    problems: list[str] = []
    names = [f.name for f in template.fields]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"field {name!r} is defined {names.count(name)} times; keep one")

    for k, fld in enumerate(template.fields):
        problems += _check_field(f"$.fields[{k}] ({fld.name})", fld)

    # One geometry at 1 px = 1 mm-ish is enough for distances; use mm directly.
    centres, radii, labels = _bubbles_mm(template)
    w, h = template.width_mm, template.height_mm
    off = (
        (centres[:, 0] - radii < 0)
        | (centres[:, 1] - radii < 0)
        | (centres[:, 0] + radii > w)
        | (centres[:, 1] + radii > h)
    )
    for i in np.flatnonzero(off)[:5]:
        problems.append(
            f"bubble {labels[i]} at ({centres[i, 0]:.1f}, {centres[i, 1]:.1f}) mm is off the {w}x{h} mm page"
        )

    if len(centres) > 1:
        gap = (
            np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=-1)
            - radii[:, None]
            - radii[None, :]
        )
        np.fill_diagonal(gap, np.inf)
        a, b = np.nonzero(np.triu(gap < MIN_BUBBLE_GAP_MM))
        for i, j in list(zip(a, b))[:5]:
            problems.append(
                f"bubbles {labels[i]} and {labels[j]} overlap or are closer than "
                f"{MIN_BUBBLE_GAP_MM} mm; move their blocks apart"
            )
        if len(a) > 5:
            problems.append(f"... and {len(a) - 5} more overlapping bubble pairs")

    problems += _check_fiducials(template, centres, radii)

    if template.barcode is not None:
        bc = template.barcode
        if bc.x_mm < 0 or bc.y_mm < 0 or bc.x_mm + bc.width_mm > w or bc.y_mm + bc.height_mm > h:
            problems.append("$.barcode: the barcode area is off the page")
        inside = (
            (centres[:, 0] + radii > bc.x_mm)
            & (centres[:, 0] - radii < bc.x_mm + bc.width_mm)
            & (centres[:, 1] + radii > bc.y_mm)
            & (centres[:, 1] - radii < bc.y_mm + bc.height_mm)
        )
        if inside.any():
            i = int(np.flatnonzero(inside)[0])
            problems.append(f"$.barcode: the barcode area covers bubble {labels[i]}; move it")
    return problems


def _check_field(where: str, fld: Field) -> list[str]:
    """The structural problems of one field (options, item numbers, kind)."""
    problems: list[str] = []
    if fld.option_texts and len(fld.option_texts) != len(fld.options):
        problems.append(
            f"{where}: {len(fld.option_texts)} option_texts for {len(fld.options)} "
            "options; give one text per option"
        )
    if len(set(fld.options)) != len(fld.options):
        problems.append(f"{where}: options repeat; each option label must be unique")
    item_numbers, _ = fld.bubbles_mm()
    if len(np.unique(item_numbers)) != len(item_numbers):
        problems.append(f"{where}: blocks give the same item number twice; fix first_item")
    elif not np.array_equal(item_numbers, np.arange(1, len(item_numbers) + 1)):
        problems.append(
            f"{where}: items must run 1..{len(item_numbers)} without gaps; fix first_item"
        )
    if fld.kind == "choice" and fld.n_items != 1:
        problems.append(f"{where}: a choice field has exactly one item, not {fld.n_items}")
    if (fld.name == "answers") != (fld.kind == "answers"):
        problems.append(
            f"{where}: field 'answers' must be of kind 'answers' and only it; "
            "identity grids are 'digits', 'letters' or 'choice'"
        )
    return problems


def _bubbles_mm(template: Template) -> tuple[np.ndarray, np.ndarray, list[str]]:
    centres, radii, labels = [], [], []
    for fld in template.fields:
        items, mm = fld.bubbles_mm()
        centres.append(mm.reshape(-1, 2))
        radii.append(np.full(mm.shape[0] * mm.shape[1], fld.bubble_diameter_mm / 2))
        labels += [f"{fld.name}[{i}]{o}" for i in items for o in fld.options]
    if not centres:
        return np.zeros((0, 2)), np.zeros(0), []
    return np.concatenate(centres), np.concatenate(radii), labels


def _check_fiducials(template: Template, centres: np.ndarray, radii: np.ndarray) -> list[str]:
    problems = []
    fids = template.fiducials
    if len(fids) < MIN_FIDUCIALS:
        problems.append(
            f"$.fiducials: {len(fids)} fiducial(s); at least {MIN_FIDUCIALS} corner marks "
            "are needed to register a scan"
        )
    w, h = template.width_mm, template.height_mm
    for k, f in enumerate(fids):
        half = f.size_mm / 2
        if f.x_mm - half < 0 or f.y_mm - half < 0 or f.x_mm + half > w or f.y_mm + half > h:
            problems.append(
                f"$.fiducials[{k}]: the mark at ({f.x_mm}, {f.y_mm}) mm is off the page"
            )
        near = np.abs(centres - (f.x_mm, f.y_mm)).max(axis=1) < half + radii + MIN_BUBBLE_GAP_MM
        if near.any():
            problems.append(f"$.fiducials[{k}]: the mark overlaps a bubble; move it to the margin")
    problems += _check_track(template, centres, radii)
    if fids and orientation_is_ambiguous(fids, w, h, track=template.timing_track):
        problems.append(
            "$.fiducials: turned upside down the registration marks look the same, so a "
            "sheet fed upside down cannot be recognised; add a timing_track down one edge, "
            "make one corner mark a 'ring', or add a mark with no twin when the sheet is "
            "turned (such as a fifth square off-centre along one edge)"
        )
    return problems


# Fewer bars than this cannot tell a track from a stray line or a box edge.
MIN_TRACK_BARS = 5


def _check_track(template: Template, centres: np.ndarray, radii: np.ndarray) -> list[str]:
    track = template.timing_track
    if track is None:
        return []
    problems = []
    if track.count < MIN_TRACK_BARS:
        problems.append(
            f"$.timing_track: {track.count} bar(s); give at least {MIN_TRACK_BARS} "
            "so the track can be told from other print"
        )
    bars = track.centres_mm()
    half = np.array([track.bar_width_mm, track.bar_height_mm]) / 2
    w, h = template.width_mm, template.height_mm
    lo, hi = bars - half, bars + half
    if (lo < 0).any() or (hi[:, 0] > w).any() or (hi[:, 1] > h).any():
        problems.append("$.timing_track: some bars are off the page; move the track or shorten it")
    if np.hypot(*track.step_mm) <= min(track.bar_width_mm, track.bar_height_mm):
        problems.append("$.timing_track: the bars touch each other; make step_mm longer than a bar")
    if len(centres):
        gap = np.abs(centres[None, :, :] - bars[:, None, :]) - half[None, None, :]
        near = (gap.max(axis=-1) < radii[None, :] + MIN_BUBBLE_GAP_MM).any()
        if near:
            problems.append("$.timing_track: a bar overlaps a bubble; move the track to the margin")
    for k, f in enumerate(template.fiducials):
        fgap = np.abs(bars - (f.x_mm, f.y_mm)) - half - f.size_mm / 2
        if (fgap.max(axis=1) < MIN_BUBBLE_GAP_MM).any():
            problems.append(f"$.timing_track: a bar touches corner mark $.fiducials[{k}]")
    return problems


def orientation_is_ambiguous(
    fiducials: Sequence[Fiducial],
    width_mm: float,
    height_mm: float,
    tol_mm: float = 2.0,
    *,
    track: TimingTrack | None = None,
) -> bool:
    """True when turning the page by 180° maps the registration marks (the
    fiducials and the timing track, if any) onto themselves."""
    if track is not None:
        bars = track.centres_mm()
        turned = np.array([width_mm, height_mm]) - bars
        # Each turned bar must land on a bar for the track to look the same.
        dist = np.abs(turned[:, None, :] - bars[None, :, :]).max(axis=-1).min(axis=1)
        if (dist >= tol_mm).any():
            return False
    for f in fiducials:
        rx, ry = width_mm - f.x_mm, height_mm - f.y_mm
        if not any(
            g.shape == f.shape
            and abs(g.size_mm - f.size_mm) < tol_mm
            and abs(g.x_mm - rx) < tol_mm
            and abs(g.y_mm - ry) < tol_mm
            for g in fiducials
        ):
            return False
    return True
