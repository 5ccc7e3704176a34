"""Degradation settings per level, in one place, with units.

A level is how hard a generated sample set is to read: ``easy`` is a clean
grey 200-dpi batch of careful students; ``moderate`` is a realistic office
batch; ``hard`` is the worst a province office should still cope with (the
accuracy targets of ARCHITECTURE.md §4: skew up to ±10°, shift, scale ±3 %,
upside-down pages, noise, blur, faint and partial marks, erasure residue,
stray marks, 150–300 dpi, bilevel and grey).

Every number below is a setting of the generator, not a measurement.  Ranges
are ``(low, high)`` and drawn uniformly per sheet unless said otherwise.
Lengths on paper are in millimetres so a level means the same at every dpi;
grey levels are 0 (black) to 255 (white); darkness is the fraction of light a
pencil layer absorbs (0 none, 1 black).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Level", "LEVELS", "LEVEL_NAMES", "get_level", "MarkRates"]


@dataclass(frozen=True)
class MarkRates:
    """Probability, per intended mark, that it is drawn in a hard way.

    The kinds are exclusive and checked in this order; what is left is a
    normal full fill.  ``residue`` is a changed answer: an erased earlier
    mark on another option, then the new mark.
    """

    overfill: float
    light: float
    partial: float
    tick: float
    dot: float
    residue: float


@dataclass(frozen=True)
class Level:
    """Every setting of one difficulty level (see the module docstring for units)."""

    name: str
    description: str

    # --- students: what they meant (changes the truth) -----------------------
    #: Mean number of blank answers per sheet (Poisson).
    blank_answers_mean: float
    #: Mean number of deliberate multi-marked answers per sheet (Poisson).
    multi_mark_mean: float
    #: Probability that a blank answer still shows residue of an erased mark.
    erased_to_blank: float

    # --- students: how they drew it (truth unchanged) -------------------------
    answer_marks: MarkRates
    identity_marks: MarkRates
    #: Darkness of a normal 2B fill (the page is multiplied by 1 - darkness);
    #: scans of 2B fills read 40–90 grey.
    fill_darkness: tuple[float, float]
    #: Darkness of a deliberately light mark: still visible in a 1-bit scan
    #: as a speckled fill, but far from a full fill.
    light_darkness: tuple[float, float]
    #: Darkness of erasure residue (what a rubber leaves behind).
    residue_darkness: tuple[float, float]
    #: Mean number of stray pencil lines per sheet (Poisson).
    stray_lines_mean: float
    #: Mean number of graphite smudges (hand smear) per sheet (Poisson).
    smudges_mean: float
    #: Darkness range of a smudge at its centre.
    smudge_darkness: tuple[float, float]
    #: Probability a write-in box row gets handwriting-like scribbles.
    write_in_probability: float

    # --- scanner geometry ----------------------------------------------------
    #: Page rotation in degrees, drawn from ±skew_max_deg.
    skew_max_deg: float
    #: Background margin around the page in the scan, per side, in mm; the
    #: page never leaves the scan (the bed is bigger than the page).
    margin_mm: tuple[float, float]
    #: Scale error of the scanner: a factor in 1 ± scale_max (±3 %).
    scale_max: float
    #: Corner displacement of the slight perspective, as a fraction of the
    #: page size.
    perspective_max: float
    #: Probability a sheet is fed upside down (rotated 180°).
    upside_down_probability: float

    # --- scanner optics and electronics --------------------------------------
    #: Paper white after scanning, as a fraction of full scale.
    paper_tone: tuple[float, float]
    #: Peak-to-peak illumination fall-off across the page (fraction).
    illumination_variation: float
    #: Scanner background (lid or ADF backing) grey, fraction of full scale.
    background_tone: tuple[float, float]
    #: Probability of a dark (black-backed) scanner background.
    dark_background_probability: float
    #: Gaussian blur sigma in mm on paper (optics and motion).
    blur_sigma_mm: tuple[float, float]
    #: Gaussian sensor noise sigma in grey levels.
    noise_sigma: tuple[float, float]
    #: Probability the scanner sets its white point just below the paper
    #: (document mode "background removal"): paper turns pure white.
    white_clip_probability: float
    #: Gamma of the scanner's tone curve (1 = linear).
    gamma: tuple[float, float]
    #: Mean number of dust specks per page (Poisson).
    dust_mean: float
    #: Probability a grey page went through lossy JPEG in the scanner.
    jpeg_probability: float
    #: JPEG quality range when it did.
    jpeg_quality: tuple[int, int]
    #: Bilevel threshold (scanner B/W mode) as a fraction of the paper white
    #: under the lamp, on the sensor signal (before the grey tone curve): a
    #: pixel is black when it reflects less than this of the paper.  A B/W
    #: scanner for forms is set to keep 2B pencil an operator sees on paper,
    #: so the range keeps part of the lightest light mark (a layer of
    #: darkness ``d`` turns black when ``1 - d`` is below the fraction:
    #: fraction > 1 - min(light_darkness)) and drops most erasure residue
    #: (fraction < 1 - max(residue_darkness)).
    bilevel_threshold: tuple[float, float]
    #: B/W modes of this level's scanners (``ljun.samples.BILEVEL_MODES``),
    #: cycled over runs of ``BILEVEL_MODE_RUN`` envelopes: one office's
    #: scanner, one setting, for a run of envelopes.
    bilevel_modes: tuple[str, ...]
    #: Dither mode: brightness gain before error diffusion (the paper
    #: reflectance times this is clipped to white, so clean paper has no dots).
    dither_brightness: tuple[float, float]
    #: Adaptive mode: neighbourhood window (mm) and the contrast (fraction of
    #: the neighbourhood mean) a pixel must fall below it to turn black.
    adaptive_window_mm: tuple[float, float]
    adaptive_contrast: tuple[float, float]

    # --- batch -----------------------------------------------------------------
    #: Probability an envelope's batch holds a blank page (a separator, the
    #: back of a sheet) and a non-LJUN page (attendance list, report form).
    blank_page_probability: float
    other_page_probability: float

    # --- students: pencil that ends inside a blank bubble (truth unchanged) ----
    #: Mean number per sheet (Poisson) of pencil strokes that start outside a
    #: blank bubble and end inside it: a short stray stroke, the tail of a
    #: tick, a line that stops there (``ljun.samples._sheet.STROKE_END_KINDS``).
    stroke_ends_mean: float = 0.0


_CAREFUL = MarkRates(overfill=0.04, light=0.0, partial=0.0, tick=0.0, dot=0.0, residue=0.005)

LEVELS: dict[str, Level] = {
    "easy": Level(
        name="easy",
        description="clean grey 200-dpi batch, small skew, good marks",
        blank_answers_mean=0.3,
        multi_mark_mean=0.05,
        erased_to_blank=0.0,
        answer_marks=MarkRates(
            overfill=0.05, light=0.01, partial=0.01, tick=0.0, dot=0.0, residue=0.01
        ),
        identity_marks=_CAREFUL,
        fill_darkness=(0.72, 0.85),
        light_darkness=(0.45, 0.6),
        residue_darkness=(0.08, 0.15),
        stray_lines_mean=0.0,
        smudges_mean=0.1,
        smudge_darkness=(0.03, 0.06),
        write_in_probability=0.9,
        skew_max_deg=2.0,
        margin_mm=(2.0, 6.0),
        scale_max=0.01,
        perspective_max=0.0005,
        upside_down_probability=0.0,
        paper_tone=(0.93, 0.98),
        illumination_variation=0.02,
        background_tone=(0.80, 0.90),
        dark_background_probability=0.0,
        blur_sigma_mm=(0.03, 0.06),
        noise_sigma=(1.0, 2.5),
        white_clip_probability=0.6,
        gamma=(0.95, 1.05),
        dust_mean=0.5,
        jpeg_probability=0.0,
        jpeg_quality=(85, 95),
        bilevel_threshold=(0.58, 0.66),  # > 1 - 0.45 (light), < 1 - 0.15 (residue)
        bilevel_modes=("threshold",),
        dither_brightness=(1.05, 1.10),
        adaptive_window_mm=(5.0, 8.0),
        adaptive_contrast=(0.12, 0.2),
        blank_page_probability=0.0,
        other_page_probability=0.0,
    ),
    # Ticks and dots are truly ambiguous (a reader must send them to review),
    # so only the hard level has them; moderate must be readable with < 1 %
    # of sheets to review (ARCHITECTURE.md §4).
    "moderate": Level(
        name="moderate",
        description="realistic office batch: ±5°, some upside down, noise, light and "
        "partial marks, erasure residue, occasional stray mark",
        blank_answers_mean=0.6,
        multi_mark_mean=0.15,
        erased_to_blank=0.1,
        answer_marks=MarkRates(
            overfill=0.10, light=0.04, partial=0.03, tick=0.0, dot=0.0, residue=0.03
        ),
        identity_marks=MarkRates(
            overfill=0.06, light=0.01, partial=0.01, tick=0.0, dot=0.0, residue=0.01
        ),
        fill_darkness=(0.65, 0.85),
        light_darkness=(0.40, 0.55),
        residue_darkness=(0.08, 0.20),
        stray_lines_mean=0.3,
        smudges_mean=0.4,
        smudge_darkness=(0.04, 0.10),
        write_in_probability=0.8,
        skew_max_deg=5.0,
        margin_mm=(2.0, 10.0),
        scale_max=0.03,
        perspective_max=0.0015,
        upside_down_probability=0.05,
        paper_tone=(0.88, 0.97),
        illumination_variation=0.05,
        background_tone=(0.70, 0.90),
        dark_background_probability=0.0,
        blur_sigma_mm=(0.04, 0.10),
        noise_sigma=(2.0, 5.0),
        white_clip_probability=0.6,
        gamma=(0.85, 1.15),
        dust_mean=3.0,
        jpeg_probability=0.0,
        jpeg_quality=(75, 92),
        bilevel_threshold=(0.60, 0.66),  # >= 1 - 0.40 (light), < 1 - 0.20 (residue)
        bilevel_modes=("threshold", "dither", "adaptive"),
        dither_brightness=(1.08, 1.12),  # paper noise <= 5 grey levels: 3 sigma < 8 %
        adaptive_window_mm=(6.0, 10.0),
        adaptive_contrast=(0.12, 0.2),
        blank_page_probability=0.3,
        other_page_probability=0.2,
        stroke_ends_mean=0.3,
    ),
    "hard": Level(
        name="hard",
        description="worst case: ±10°, 150–300 dpi, bilevel, JPEG, heavy noise and blur, "
        "many bad marks",
        blank_answers_mean=1.0,
        multi_mark_mean=0.3,
        erased_to_blank=0.2,
        answer_marks=MarkRates(
            overfill=0.15, light=0.08, partial=0.06, tick=0.015, dot=0.015, residue=0.06
        ),
        identity_marks=MarkRates(
            overfill=0.10, light=0.03, partial=0.03, tick=0.0, dot=0.0, residue=0.03
        ),
        fill_darkness=(0.55, 0.85),
        light_darkness=(0.35, 0.50),
        residue_darkness=(0.10, 0.25),
        stray_lines_mean=1.0,
        smudges_mean=1.0,
        smudge_darkness=(0.05, 0.15),
        write_in_probability=0.7,
        skew_max_deg=10.0,
        margin_mm=(1.0, 12.0),
        scale_max=0.03,
        perspective_max=0.003,
        upside_down_probability=0.15,
        paper_tone=(0.80, 0.95),
        illumination_variation=0.10,
        background_tone=(0.55, 0.85),
        dark_background_probability=0.15,
        blur_sigma_mm=(0.08, 0.20),
        noise_sigma=(5.0, 12.0),
        white_clip_probability=0.3,
        gamma=(0.70, 1.40),
        dust_mean=12.0,
        jpeg_probability=0.5,
        jpeg_quality=(40, 80),
        bilevel_threshold=(0.66, 0.72),  # > 1 - 0.35 (light), < 1 - 0.25 (residue)
        bilevel_modes=("threshold", "dither", "adaptive"),
        dither_brightness=(1.12, 1.2),  # paper noise <= 12 grey levels
        adaptive_window_mm=(5.0, 10.0),
        adaptive_contrast=(0.1, 0.2),
        blank_page_probability=0.5,
        other_page_probability=0.4,
        stroke_ends_mean=1.0,
    ),
}

#: Level names, easiest first.
LEVEL_NAMES: tuple[str, ...] = tuple(LEVELS)


def get_level(name: str | Level) -> Level:
    """The level called ``name`` (or ``name`` itself when it is a :class:`Level`).

    Raises
    ------
    SamplesError
        When there is no such level.
    """
    if isinstance(name, Level):
        return name
    try:
        return LEVELS[name]
    except KeyError:
        from ._errors import SamplesError

        raise SamplesError(f"unknown level {name!r}; use one of {', '.join(LEVEL_NAMES)}") from None
