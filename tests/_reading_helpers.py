"""Tiny synthetic LJUN scans with exactly known readings, for the reading tests.

:func:`synthetic_sheet` renders the blank sheet (``ljun.render.render_image``),
pencils solid ellipses into chosen bubbles, then skews, scales, shifts and
optionally turns the page upside down on a larger white canvas, like a
scanner would, adds noise and optionally thresholds to 1 bit.  The expected
reading is known exactly because we chose the marks.

These helpers are independent of ``ljun.samples`` on purpose: a bug in the
generator cannot hide a bug in the reader (and vice versa).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import cv2
import numpy as np

from ljun.nomor import luhn_check_digit
from ljun.render import render_image
from ljun.template import Template, load_template

#: Gray level of a firm 2B pencil mark on an 8-bit scan.
PENCIL_GRAY = 70
#: Fraction of a bubble's radius a pencil mark fills.
MARK_FILL = 0.92

DEFAULT_ANSWERS = tuple("ABCDE"[i % 5] for i in range(40))


@functools.lru_cache(maxsize=1)
def ljun_template() -> Template:
    return load_template("ljun-teori-kejuruan")


@functools.lru_cache(maxsize=8)
def _blank(dpi: float, barcode: str | None) -> np.ndarray:
    image = render_image(ljun_template(), dpi, barcode=barcode)
    image.setflags(write=False)
    return image


@dataclass(frozen=True)
class SheetSpec:
    """What is pencilled on a synthetic sheet.

    ``answers``: one string per item: ``""`` blank, a letter, or several
    letters (a multiple mark).  Identity strings: one character per column,
    space for a blank column; a column given as a tuple of characters is
    multiply marked.
    """

    nama: str = "BUDI SANTOSO"
    nomor_peserta: str = "21201050010010"
    tanggal_lahir: str = "170895"
    kode_kompetensi: str = "6018"
    paket: str = "A"
    answers: tuple[str, ...] = DEFAULT_ANSWERS
    barcode: str | None = "LJUN-A-000123"
    # Bubbles pencilled lightly (erasure residue): (field, item, option, gray).
    residue: tuple[tuple[str, int, str, int], ...] = ()


@dataclass(frozen=True)
class Scan:
    """How the page went through the scanner."""

    dpi: float = 200
    skew_deg: float = 0.0
    scale: float = 1.0
    shift_px: tuple[float, float] = (0.0, 0.0)
    rotated_180: bool = False
    noise: float = 0.0
    blur: float = 0.0
    bits: int = 8
    margin: float = 0.08  # canvas margin around the page, fraction of its size
    seed: int = 0
    pencil_gray: int = PENCIL_GRAY


@dataclass(frozen=True)
class Synthetic:
    image: np.ndarray
    spec: SheetSpec
    scan: Scan
    expected: dict = field(default_factory=dict)
    page_shape: tuple[int, int] = (0, 0)


def _mark(
    image: np.ndarray, template: Template, dpi: float, name: str, item: int, option: str, gray: int
) -> None:
    geometry = template.geometry(dpi)
    grid = geometry.grid(name)
    options = template.field(name).options
    index = grid[item - 1, options.index(option)]
    cx, cy = geometry.centres[index]
    r = geometry.radii[index] * MARK_FILL
    shift = 4
    one = 1 << shift
    # Pencil darkens: take the darker of the paper and the pencil.
    layer = np.full_like(image, 255)
    cv2.circle(
        layer,
        (int(round(cx * one)), int(round(cy * one))),
        int(round(r * one)),
        int(gray),
        -1,
        cv2.LINE_AA,
        shift,
    )
    np.minimum(image, layer, out=image)


def pencil(spec: SheetSpec, dpi: float, pencil_gray: int = PENCIL_GRAY) -> np.ndarray:
    """The upright sheet at ``dpi`` with the marks of ``spec``."""
    template = ljun_template()
    image = _blank(dpi, spec.barcode).copy()
    for name in ("nama", "nomor_peserta", "tanggal_lahir", "kode_kompetensi"):
        for column, chars in enumerate(getattr(spec, name), start=1):
            for ch in chars if isinstance(chars, tuple) else (chars,):
                if ch != " ":
                    _mark(image, template, dpi, name, column, ch, pencil_gray)
    for ch in spec.paket:
        _mark(image, template, dpi, "paket", 1, ch, pencil_gray)
    for item, letters in enumerate(spec.answers, start=1):
        for letter in letters:
            _mark(image, template, dpi, "answers", item, letter, pencil_gray)
    for name, item, option, gray in spec.residue:
        _mark(image, template, dpi, name, item, option, gray)
    return image


def scan_matrix(page_shape: tuple[int, int], scan: Scan) -> tuple[np.ndarray, tuple[int, int]]:
    """The (2, 3) affine map page pixels -> scan pixels, and the scan's (width, height)."""
    h, w = page_shape
    mh, mw = int(round(h * scan.margin)), int(round(w * scan.margin))
    centre = (w / 2.0, h / 2.0)
    angle = scan.skew_deg + (180.0 if scan.rotated_180 else 0.0)
    matrix = cv2.getRotationMatrix2D(centre, angle, scan.scale)
    matrix[0, 2] += mw + scan.shift_px[0]
    matrix[1, 2] += mh + scan.shift_px[1]
    return matrix, (w + 2 * mw, h + 2 * mh)


def template_to_scan(
    points: np.ndarray, scan: Scan, page_shape: tuple[int, int], template_dpi: float = 200
) -> np.ndarray:
    """Where template pixels (at ``template_dpi``) land on the synthetic scan."""
    page = (np.asarray(points, dtype=np.float64) + 0.5) * (scan.dpi / template_dpi) - 0.5
    matrix, _ = scan_matrix(page_shape, scan)
    return page @ matrix[:, :2].T + matrix[:, 2]


def scan_page(page: np.ndarray, scan: Scan) -> np.ndarray:
    """Put an upright page through a simulated scanner."""
    matrix, size = scan_matrix(page.shape, scan)
    image = cv2.warpAffine(page, matrix, size, flags=cv2.INTER_LINEAR, borderValue=255)
    if scan.blur > 0:
        image = cv2.GaussianBlur(image, (0, 0), scan.blur)
    if scan.noise > 0:
        rng = np.random.default_rng(scan.seed)
        noisy = image.astype(np.float32) + rng.normal(0.0, scan.noise, image.shape).astype(
            np.float32
        )
        image = np.clip(noisy, 0, 255).astype(np.uint8)
    if scan.bits == 1:
        image = np.where(image < 128, 0, 255).astype(np.uint8)
    return image


def expected_reading(spec: SheetSpec) -> dict:
    """The reading a perfect reader gives for ``spec`` (record format)."""

    def column(chars) -> str:
        return "?" if isinstance(chars, tuple) else chars

    n = spec.nomor_peserta
    nomor = "".join(column(c) for c in n)
    t = "".join(column(c) for c in spec.tanggal_lahir)
    return {
        "nama": "".join(column(c) for c in spec.nama).rstrip(" "),
        "nomor_peserta": f"{nomor[0]}-{nomor[1:3]}-{nomor[3:5]}-{nomor[5:7]}-{nomor[7:10]}-{nomor[10:13]}-{nomor[13]}",
        "tanggal_lahir": f"{t[0:2]}-{t[2:4]}-{t[4:6]}",
        "kode_kompetensi": "".join(column(c) for c in spec.kode_kompetensi),
        "paket": spec.paket if len(spec.paket) <= 1 else "?",
        "barcode": spec.barcode or "",
        "answers": tuple(a if len(a) <= 1 else "*" for a in spec.answers),
    }


def synthetic_sheet(spec: SheetSpec | None = None, scan: Scan | None = None) -> Synthetic:
    """A synthetic scan of ``spec`` through ``scan``, with its expected reading."""
    spec = spec or SheetSpec()
    scan = scan or Scan()
    page = pencil(spec, scan.dpi, scan.pencil_gray)
    return Synthetic(
        image=scan_page(page, scan),
        spec=spec,
        scan=scan,
        expected=expected_reading(spec),
        page_shape=page.shape,
    )


def random_spec(
    rng: np.random.Generator, *, multi_rate: float = 0.0, blank_rate: float = 0.05
) -> SheetSpec:
    """A random plausible sheet (Luhn-valid nomor peserta, real date, listed code)."""
    from ljun.kompetensi import competency_codes

    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    words = ["".join(rng.choice(list(letters), size=int(rng.integers(3, 8)))) for _ in range(2)]
    nama = " ".join(words)[:20]
    body = "".join(str(d) for d in rng.integers(0, 10, size=13))
    nomor = body + luhn_check_digit(body)
    day, month, year = (
        int(rng.integers(1, 29)),
        int(rng.integers(1, 13)),
        int(rng.integers(90, 100)),
    )
    codes = sorted(competency_codes())
    answers = []
    for _ in range(40):
        u = rng.random()
        if u < blank_rate:
            answers.append("")
        elif u < blank_rate + multi_rate:
            answers.append("".join(sorted(rng.choice(list("ABCDE"), size=2, replace=False))))
        else:
            answers.append(str(rng.choice(list("ABCDE"))))
    paket = str(rng.choice(["A", "B", "S"]))
    return SheetSpec(
        nama=nama,
        nomor_peserta=nomor,
        tanggal_lahir=f"{day:02d}{month:02d}{year:02d}",
        kode_kompetensi=str(rng.choice(codes)),
        paket=paket,
        answers=tuple(answers),
        barcode=f"LJUN-{paket}-{int(rng.integers(0, 10**6)):06d}",
    )


def bubble_px(name: str, item: int, option: str, dpi: float) -> tuple[float, float, float]:
    """Centre ``(x, y)`` and radius of one bubble at ``dpi``, in pixels."""
    template = ljun_template()
    geometry = template.geometry(dpi)
    index = geometry.grid(name)[item - 1, template.field(name).options.index(option)]
    cx, cy = geometry.centres[index]
    return float(cx), float(cy), float(geometry.radii[index])


def draw_line(
    page: np.ndarray,
    start: tuple[float, float],
    end: tuple[float, float],
    dpi: float,
    *,
    width_mm: float = 0.4,
    gray: int = 90,
) -> None:
    """A pencil line between two points given in pixels (as a stray stroke)."""
    shift = 4
    one = 1 << shift
    layer = np.full_like(page, 255)
    width = max(1, int(round(width_mm * dpi / 25.4)))
    p0 = (int(round(start[0] * one)), int(round(start[1] * one)))
    p1 = (int(round(end[0] * one)), int(round(end[1] * one)))
    cv2.line(layer, p0, p1, int(gray), width, cv2.LINE_AA, shift)
    np.minimum(page, layer, out=page)


def draw_dot(
    page: np.ndarray,
    name: str,
    item: int,
    option: str,
    dpi: float,
    *,
    fraction: float = 0.3,
    gray: int = PENCIL_GRAY,
) -> None:
    """A small solid dot in a bubble's centre, ``fraction`` of its radius."""
    cx, cy, r = bubble_px(name, item, option, dpi)
    layer = np.full_like(page, 255)
    cv2.circle(
        layer,
        (int(round(cx * 16)), int(round(cy * 16))),
        int(round(r * fraction * 16)),
        int(gray),
        -1,
        cv2.LINE_AA,
        4,
    )
    np.minimum(page, layer, out=page)


def draw_tick(
    page: np.ndarray, name: str, item: int, option: str, dpi: float, *, gray: int = PENCIL_GRAY
) -> None:
    """A slash through a bubble that stays inside its ring."""
    cx, cy, r = bubble_px(name, item, option, dpi)
    draw_line(
        page,
        (cx - 0.65 * r, cy + 0.55 * r),
        (cx + 0.65 * r, cy - 0.55 * r),
        dpi,
        width_mm=0.5,
        gray=gray,
    )


def bench_sheet(seed: int, index: int, level_name: str, *, dpi: int, bits: int, **scan):
    """Sheet ``index`` of ``bench_read``'s set of ``seed`` at ``level_name``,
    made alone (as ``generate_sheets`` makes it, without the sheets before it).

    ``dpi``, ``bits`` and ``scan`` (``bilevel_mode``) are those its envelope
    got in the set; see the sheet's ``scan`` record in the bench's JSON.
    """
    from ljun.samples._generate import answer_items, make_sheet
    from ljun.samples._levels import get_level
    from ljun.samples._truth import plan_envelopes, plan_sheet

    template = ljun_template()
    level = get_level(level_name)
    (envelope,) = [
        e
        for e in plan_envelopes(seed, index + 1, level, special_pages=True)
        if e.first_sheet <= index < e.first_sheet + e.n_sheets
    ]
    participant = envelope.present[index - envelope.first_sheet]
    plan = plan_sheet(seed, index, envelope, participant, level, answer_items(template))
    return make_sheet(template, plan, seed=seed, level=level, dpi=dpi, bits=bits, **scan)
