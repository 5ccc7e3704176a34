"""The closer look at bubbles near a decision edge (ljun._closer_look)."""

from __future__ import annotations

import numpy as np
import pytest
from _reading_helpers import (
    DEFAULT_ANSWERS,
    Scan,
    SheetSpec,
    bench_sheet,
    bubble_px,
    ljun_template,
    pencil,
)
from _reading_helpers import scan_page as synthetic_scan

from ljun._closer_look import (
    BILEVEL_EXCESS_DARKNESS,
    GRAY_EXCESS_DARKNESS,
    GRAY_LOOK_FROM,
    IDENTITY_LETTER_EXCESS_MAX_MM2,
    LETTER_EXCESS_MAX_MM2,
    LETTER_OUTSIDE_MAX_MM2,
    MIN_REFERENCES,
    PENCIL_AREA_MIN_MM2,
    PENCIL_COVER_SURE,
    SOLID_INK_MM,
    Patches,
    closer_evidence,
    disc_area,
    dot_density,
    excess_ink,
    excess_off_letter,
    letter_only,
    pencil_covers,
    printed_letters,
    printed_only,
    reference_members,
    resolve,
    solid_ink,
    whole_letter,
)
from ljun._lone_mark import SOLID_PATCH_MIN_MM2, solid_area
from ljun.calibration import load_calibration
from ljun.pipeline import analyse_sheet
from ljun.read import (
    BLANK_SURE,
    GROUP_SAMPLE,
    MARKED_SURE,
    bands_for,
    classify,
    mark_evidence,
    measure_darkness,
    sampling_pattern,
)
from ljun.records import Page
from ljun.register import REFERENCE_DPI, Registration, register

CAL = load_calibration()
READ = CAL.read
DPI = 150.0
PIXEL_MM2 = (25.4 / DPI) ** 2
SIDE = 31


def _letter() -> np.ndarray:
    """A printed letter 'E' of 1-bit strokes in a (SIDE, SIDE) patch."""
    patch = np.zeros((SIDE, SIDE), np.float32)
    patch[8:23, 10:13] = 1.0
    for row in (8, 14, 20):
        patch[row : row + 3, 10:20] = 1.0
    return patch


def _patches(
    bubble: np.ndarray,
    *,
    usable: bool = True,
    blank: np.ndarray | None = None,
    letter: np.ndarray | None = None,
) -> Patches:
    y, x = np.mgrid[:SIDE, :SIDE] - SIDE // 2
    inside = x**2 + y**2 <= (SIDE // 2 - 1) ** 2
    return Patches(
        bubble=bubble[None],
        blank_look=(_letter() if blank is None else blank)[None],
        inside=inside[None],
        usable=np.array([usable]),
        dpi=DPI,
        letter=None if letter is None else letter[None],
    )


def _footprint() -> np.ndarray:
    """The printed 'E' of :func:`_letter` grown by a pixel, as the closer look grows it."""
    grown = np.zeros((SIDE, SIDE), bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            grown |= np.roll(_letter() > 0.5, (dy, dx), axis=(0, 1))
    return grown


def test_printed_only_is_no_more_excess_ink_than_the_least_pencil_area():
    at = PENCIL_AREA_MIN_MM2
    areas = np.array([0.0, at, np.nextafter(at, np.inf), 2.0, np.nan])
    assert printed_only(areas).tolist() == [True, True, False, False, False]


def test_pencil_covers_from_half_the_disc_and_never_without_a_blank_look():
    disc = np.full(4, 10.0)
    share = PENCIL_COVER_SURE * 10.0
    areas = np.array([np.nextafter(share, 0.0), share, 10.0, np.nan])
    assert pencil_covers(areas, disc).tolist() == [False, True, True, False]


def test_the_printed_letter_moved_by_a_pixel_is_no_excess_ink():
    moved = np.roll(_letter(), (1, -1), axis=(0, 1))
    assert excess_ink(_patches(moved), BILEVEL_EXCESS_DARKNESS)[0] == 0.0


def test_a_letter_thickened_by_two_pixels_is_excess_ink():
    thick = _letter().copy()
    thick[8:23, 7:10] = 1.0  # the stem two pixels wider on the left, beyond the growth
    area = excess_ink(_patches(thick), BILEVEL_EXCESS_DARKNESS)[0]
    assert area == pytest.approx(15 * 2 * PIXEL_MM2)  # column 7 and 8: 9 is within the growth


@pytest.mark.parametrize("pixels", [9, 11])
def test_pencil_beside_the_letter_counts_pixel_by_pixel(pixels):
    """A blob of pencil of 9 pixels (0.26 mm² at 150 dpi) shows the letter
    only; one of 11 (0.32 mm²) is pencil."""
    bubble = _letter().copy()
    blob = np.zeros_like(bubble)
    blob[24:27, 14:20] = 1.0  # 18 pixels, away from the letter's grown strokes
    bubble[np.nonzero(blob)[0][:pixels], np.nonzero(blob)[1][:pixels]] = 1.0
    area = excess_ink(_patches(bubble), BILEVEL_EXCESS_DARKNESS)
    assert area[0] == pytest.approx(pixels * PIXEL_MM2)
    assert printed_only(area)[0] == (pixels * PIXEL_MM2 <= PENCIL_AREA_MIN_MM2)


def test_pencil_lighter_than_the_threshold_is_no_excess_ink():
    bubble = _letter().copy()
    bubble[24:27, 12:20] = GRAY_EXCESS_DARKNESS - 0.01
    assert excess_ink(_patches(bubble), GRAY_EXCESS_DARKNESS)[0] == 0.0
    bubble[24:27, 12:20] = GRAY_EXCESS_DARKNESS
    assert excess_ink(_patches(bubble), GRAY_EXCESS_DARKNESS)[0] > PENCIL_AREA_MIN_MM2


def test_a_filled_bubble_covers_its_disc():
    patches = _patches(np.ones((SIDE, SIDE), np.float32))
    area = excess_ink(patches, BILEVEL_EXCESS_DARKNESS)
    assert pencil_covers(area, disc_area(patches))[0]
    assert not printed_only(area)[0]


def test_without_a_blank_look_nothing_is_decided():
    area = excess_ink(_patches(_letter(), usable=False), BILEVEL_EXCESS_DARKNESS)
    assert np.isnan(area[0])
    assert not printed_only(area)[0]
    assert not pencil_covers(area, np.array([10.0]))[0]


@pytest.mark.parametrize(
    ("area", "off", "letter"),
    [
        (LETTER_EXCESS_MAX_MM2, LETTER_OUTSIDE_MAX_MM2, True),
        (np.nextafter(LETTER_EXCESS_MAX_MM2, np.inf), 0.0, False),
        (0.4, np.nextafter(LETTER_OUTSIDE_MAX_MM2, np.inf), False),
        (np.nan, 0.0, False),
        (0.4, np.nan, False),
    ],
)
def test_letter_only_edges(area, off, letter):
    assert letter_only(np.array([area]), np.array([off]))[0] == letter


def _stem_only() -> np.ndarray:
    """The one-pixel middle of the letter's stem: what a 1-bit threshold
    keeps of a gray printed letter where the paper is a little darker."""
    bubble = np.zeros((SIDE, SIDE), np.float32)
    bubble[8:23, 11] = 1.0  # 15 pixels, 0.43 mm² at 150 dpi
    return bubble


def test_the_letter_the_blank_look_lacks_is_the_printed_letter_only():
    """moderate seed 8102, sheet 125 (150 dpi, 1-bit adaptive): the members
    of the group showed no letter (the threshold dropped the gray print),
    the bubble showed its strokes, 0.30-0.6 mm² of excess ink, and a blank
    name column went to review.  On the printed letter's footprint it is
    the letter only."""
    patches = _patches(_stem_only(), blank=np.zeros((SIDE, SIDE), np.float32), letter=_footprint())
    area = excess_ink(patches, BILEVEL_EXCESS_DARKNESS)
    assert area[0] == pytest.approx(15 * PIXEL_MM2)
    assert not printed_only(area)[0]  # the group's blank look alone: pencil
    off = excess_off_letter(patches, BILEVEL_EXCESS_DARKNESS)
    assert off[0] == 0.0
    assert letter_only(area, off)[0]


def test_the_same_strokes_beside_the_printed_letter_are_pencil():
    moved = np.roll(_stem_only(), 11, axis=1)  # right of the bars: off the grown letter
    patches = _patches(moved, blank=np.zeros((SIDE, SIDE), np.float32), letter=_footprint())
    area = excess_ink(patches, BILEVEL_EXCESS_DARKNESS)
    off = excess_off_letter(patches, BILEVEL_EXCESS_DARKNESS)
    assert off[0] == pytest.approx(area[0])
    assert not letter_only(area, off)[0]


def test_a_dot_on_the_printed_letter_is_pencil():
    """A pencil dot (at least 0.6 mm²) lying on the letter's footprint is
    more ink than a letter shows: never the letter only (hard seed 8106,
    150 dpi: dots 0.06 mm² off the grown letter, 0.98 mm² in all)."""
    y, x = np.mgrid[:SIDE, :SIDE]
    dot = ((x - 12) ** 2 + (y - 15) ** 2 <= 2.3**2).astype(np.float32)  # 21 pixels
    patches = _patches(dot, blank=np.zeros((SIDE, SIDE), np.float32), letter=_footprint())
    area = excess_ink(patches, BILEVEL_EXCESS_DARKNESS)
    off = excess_off_letter(patches, BILEVEL_EXCESS_DARKNESS)
    assert area[0] > LETTER_EXCESS_MAX_MM2
    assert off[0] <= LETTER_OUTSIDE_MAX_MM2  # wholly on the letter's footprint ...
    assert not letter_only(area, off)[0]  # ... but too much ink for a letter


@pytest.mark.parametrize(
    ("area", "off", "solid", "letter"),
    [
        (IDENTITY_LETTER_EXCESS_MAX_MM2, LETTER_OUTSIDE_MAX_MM2, 0.0, True),
        (np.nextafter(IDENTITY_LETTER_EXCESS_MAX_MM2, np.inf), 0.0, 0.0, False),
        (0.7, np.nextafter(LETTER_OUTSIDE_MAX_MM2, np.inf), 0.0, False),
        (0.7, 0.0, np.nextafter(SOLID_PATCH_MIN_MM2, 0.0), True),
        (0.7, 0.0, SOLID_PATCH_MIN_MM2, False),
        (np.nan, 0.0, 0.0, False),
        (0.7, np.nan, 0.0, False),
    ],
)
def test_whole_letter_edges(area, off, solid, letter):
    assert whole_letter(np.array([area]), np.array([off]), np.array([solid]))[0] == letter


def _whole_stem() -> Patches:
    """The whole stem of the printed 'E' of :func:`_letter` as a threshold
    thins it (two pixels wide, 0.86 mm² at 150 dpi), the group's blank look
    showing none of it."""
    bubble = np.zeros((SIDE, SIDE), np.float32)
    bubble[8:23, 11:13] = 1.0
    return _patches(bubble, blank=np.zeros((SIDE, SIDE), np.float32), letter=_footprint())


def test_a_whole_letter_the_blank_look_lacks_is_the_letter_only_in_identity_columns():
    """moderate dev seed 8402, sheet 29 (300 dpi, 1-bit threshold): blank
    bubbles 8 and 9 of nomor column 14 showed their printed digits (0.60
    and 0.64 mm², 0.12 off the grown letter), more than a letter shows in
    an answer item, and the sheet went to review though read right."""
    patches = _whole_stem()
    area = excess_ink(patches, BILEVEL_EXCESS_DARKNESS)
    off = excess_off_letter(patches, BILEVEL_EXCESS_DARKNESS)
    solid = solid_area(patches.bubble > 0.5, DPI)
    assert LETTER_EXCESS_MAX_MM2 < area[0] <= IDENTITY_LETTER_EXCESS_MAX_MM2
    assert not letter_only(area, off)[0]  # in an answer item: pencil may be there
    assert whole_letter(area, off, solid)[0]


def test_a_dot_on_a_letter_is_never_the_whole_letter():
    """A dot (radius 0.45 mm, the generator's smallest) on the letter's
    stem: wholly on the footprint and little ink in all, but a solid patch."""
    y, x = np.mgrid[:SIDE, :SIDE]
    dot = (x - 11) ** 2 + (y - 15) ** 2 <= (0.45 * DPI / 25.4) ** 2
    bubble = np.maximum(_stem_only(), dot.astype(np.float32))
    patches = _patches(bubble, blank=np.zeros((SIDE, SIDE), np.float32), letter=_footprint())
    area = excess_ink(patches, BILEVEL_EXCESS_DARKNESS)
    off = excess_off_letter(patches, BILEVEL_EXCESS_DARKNESS)
    solid = solid_area(patches.bubble > 0.5, DPI)
    assert area[0] <= IDENTITY_LETTER_EXCESS_MAX_MM2
    assert off[0] <= LETTER_OUTSIDE_MAX_MM2
    assert not whole_letter(area, off, solid)[0]


def test_regression_whole_printed_digits_in_a_blank_nomor_column_need_no_review():
    """bench moderate dev seed 8402, sheet 29 (300 dpi, 1-bit threshold):
    see above; ``unsure:nomor_peserta:14`` although it read right."""
    sheet = bench_sheet(8402, 29, "moderate", dpi=300, bits=1, bilevel_mode="threshold")
    page = Page(sheet.image, "seed8402", 30, 300.0)
    reading = analyse_sheet(page, ljun_template(), CAL).reading
    assert reading.nomor_peserta == sheet.truth["nomor_peserta"]
    assert not reading.review, reading.flags


def test_without_the_printed_letters_nothing_is_off_the_letter():
    off = excess_off_letter(_patches(_stem_only()), BILEVEL_EXCESS_DARKNESS)
    assert np.isnan(off[0])


def test_the_printed_letters_are_where_the_template_prints_them():
    """The rendered form around a bubble holds its letter at the centre and
    clean paper between the letter and the ring."""
    template = ljun_template()
    letters = printed_letters(template, REFERENCE_DPI)
    geometry = template.geometry(REFERENCE_DPI)
    assert letters.gray.shape == (len(geometry), 2 * letters.half + 1, 2 * letters.half + 1)
    bubble = int(geometry.grid("nama")[0, 8])  # 'I': a vertical stroke through the centre
    centre = letters.gray[bubble, letters.half - 3 : letters.half + 4, letters.half]
    assert (centre < 255 * (1 - 0.2)).all()
    r = geometry.radii[bubble]
    between = letters.gray[bubble, letters.half, letters.half + int(0.6 * r)]
    assert between == 255


def _band(width: int) -> np.ndarray:
    """Excess ink across the disc: a straight band ``width`` pixels wide."""
    bubble = np.zeros((SIDE, SIDE), np.float32)
    bubble[SIDE // 2 - width // 2 : SIDE // 2 - width // 2 + width, :] = 1.0
    return bubble


def test_a_line_through_the_bubble_is_no_solid_ink_and_a_fill_is():
    """At 150 dpi ``SOLID_INK_MM`` is 5 pixels: a band 4 pixels wide (0.68
    mm, a stray line as wide as any seen) fills no such square, one of 5
    does, and so does a partial fill of a quarter of the disc."""
    assert round(SOLID_INK_MM * DPI / 25.4) == 4  # reach 2: a 5 x 5 square
    blank = np.zeros((SIDE, SIDE), np.float32)
    assert not solid_ink(_patches(_band(4), blank=blank), GRAY_EXCESS_DARKNESS)[0]
    assert solid_ink(_patches(_band(5), blank=blank), GRAY_EXCESS_DARKNESS)[0]
    quarter = np.zeros((SIDE, SIDE), np.float32)
    quarter[SIDE // 2 :, : SIDE // 2] = 0.4  # light pencil, above GRAY_EXCESS_DARKNESS
    assert solid_ink(_patches(quarter, blank=blank), GRAY_EXCESS_DARKNESS)[0]
    assert not solid_ink(_patches(quarter, blank=blank, usable=False), GRAY_EXCESS_DARKNESS)[0]


def test_regression_a_light_partial_fill_spilling_over_the_ring_goes_to_review():
    """bench moderate seed 8104, sheet 81 (200 dpi gray): a light partial
    fill (pencil darkness 0.21) of G in name column 11 spilled over the ring
    in one direction; the kernel took the spill for a pencil line running
    into the bubble (evidence 0.15, blank-sure), and the closer look then
    left line bubbles alone: the name read ``RAHMAT ANG RAINI`` without
    review.  Its excess ink fills squares a line does not: it now goes to
    review."""
    template = ljun_template()
    sheet = bench_sheet(8104, 81, "moderate", dpi=200, bits=8)
    assert sheet.truth["nama"] == "RAHMAT ANGGRAINI"
    pattern, _, bubbles = _measured(sheet.image, 200.0)
    g = pattern.geometry.grid("nama")[10, 6]
    assert mark_evidence(bubbles, READ)[g] <= READ.gray.blank_sure_max  # the kernel alone
    assert bubbles.halo[g] >= READ.gray.line_halo_min  # taken for a line
    reading = analyse_sheet(Page(sheet.image, "seed8104", 82, 200.0), template, CAL).reading
    assert reading.review
    assert "unsure:nama:11" in reading.flags


def _measured(image: np.ndarray, dpi: float):
    pattern = sampling_pattern(ljun_template(), REFERENCE_DPI)
    registration = register(image, ljun_template(), CAL, dpi=dpi)
    assert isinstance(registration, Registration)
    return pattern, registration, measure_darkness(image, registration, pattern)


def test_blank_name_columns_of_a_generated_1bit_sheet_read_surely_blank():
    """Generated moderate sheet (seed 37, 150 dpi, 1-bit threshold): the
    threshold thickened printed letters of blank name columns into the
    unsure band; the closer look finds the letters only, and the sheet
    reads exactly as its truth without review."""
    from ljun.samples import generate_sheets

    (sheet,) = generate_sheets(
        ljun_template(),
        count=1,
        seed=37,
        level="moderate",
        dpi=150,
        bits=1,
        include_special_pages=False,
    )
    pattern, registration, bubbles = _measured(sheet.image, 150.0)
    nama = pattern.geometry.grid("nama").ravel()
    bands = READ.bilevel
    before = classify(mark_evidence(bubbles, READ)[nama], bands)
    after = classify(
        closer_evidence(sheet.image, registration, pattern, bubbles, READ)[nama], bands
    )
    assert ((before != BLANK_SURE) & (before != MARKED_SURE)).sum() >= 3
    assert set(after.tolist()) <= {BLANK_SURE, MARKED_SURE}
    reading = analyse_sheet(Page(sheet.image, "seed37", 1, 150.0), ljun_template(), CAL).reading
    assert not reading.review, reading.flags
    for key in ("nama", "nomor_peserta", "tanggal_lahir", "kode_kompetensi", "paket"):
        assert getattr(reading, key) == sheet.truth[key]
    assert list(reading.answers) == list(sheet.truth["answers"])


def test_regression_blank_name_columns_whose_letters_the_group_lacks_read_blank():
    """Generated moderate sheet (seed 28, 150 dpi, 1-bit threshold): three
    blank name bubbles showed their printed letter where their group's
    blank look had none, more than ``PENCIL_AREA_MIN_MM2`` of excess ink;
    the sheet went to review (``unsure:nama``).  Knowing the printed
    letters, the closer look reads them blank surely and the sheet reads
    exactly as its truth without review."""
    from ljun.samples import generate_sheets

    template = ljun_template()
    (sheet,) = generate_sheets(
        template, count=1, seed=28, level="moderate", dpi=150, bits=1, include_special_pages=False
    )
    pattern, registration, bubbles = _measured(sheet.image, 150.0)
    nama = pattern.geometry.grid("nama").ravel()
    bands = bands_for(bubbles, READ)
    evidence = mark_evidence(bubbles, READ)
    without = classify(
        resolve(evidence, sheet.image, registration, pattern, bubbles, bands)[nama], bands
    )
    assert ((without != BLANK_SURE) & (without != MARKED_SURE)).sum() >= 2
    with_letters = classify(
        closer_evidence(sheet.image, registration, pattern, bubbles, READ, template=template)[nama],
        bands,
    )
    assert set(with_letters.tolist()) <= {BLANK_SURE, MARKED_SURE}
    reading = analyse_sheet(Page(sheet.image, "seed28", 1, 150.0), template, CAL).reading
    assert not reading.review, reading.flags
    for key in ("nama", "nomor_peserta", "tanggal_lahir", "kode_kompetensi", "paket"):
        assert getattr(reading, key) == sheet.truth[key]
    assert list(reading.answers) == list(sheet.truth["answers"])


@pytest.mark.parametrize("edge", [0.3, 0.35])
def test_regression_a_partial_fill_by_the_ring_on_a_gray_scan_goes_to_review(edge):
    """bench seed 6101, moderate, sheet 107 (300 dpi gray): a partial fill
    covering only the segment of E by its ring left the kernel's inner
    points almost clean (evidence 0.16, blank-sure) and question 10 read
    blank without review, though plainly marked.  The same crescent,
    pencilled beyond ``edge`` of the radius, now goes to review."""
    dpi = 300
    answers = list(DEFAULT_ANSWERS)
    answers[9] = ""
    page = pencil(SheetSpec(answers=tuple(answers)), dpi)
    cx, cy, r = bubble_px("answers", 10, "E", dpi)
    y, x = np.mgrid[: page.shape[0], : page.shape[1]]
    crescent = ((x - cx) ** 2 + (y - cy) ** 2 <= (0.95 * r) ** 2) & (x <= cx - edge * r)
    page[crescent] = np.minimum(page[crescent], 95)
    image = synthetic_scan(page, Scan(dpi=dpi, blur=1.1, noise=2, skew_deg=1.0))
    pattern, _, bubbles = _measured(image, float(dpi))
    e = pattern.geometry.grid("answers")[9, 4]
    # The kernel alone reads no mark (blank-sure; on this synthetic scan,
    # its paper clipped to white, blank-unsure where 0.15-0.20).
    assert mark_evidence(bubbles, READ)[e] < READ.gray.mark_min
    reading = analyse_sheet(Page(image, "crescent", 1, float(dpi)), ljun_template(), CAL).reading
    assert reading.review
    assert "answer_unsure:10" in reading.flags


def test_regression_a_partial_fill_by_the_ring_on_a_dithered_scan_goes_to_review():
    """bench hard seed 8612, sheet 192 (300 dpi, dithered): the left third
    of E of answer 33 pencilled, plainly a mark to a person; the kernel's
    inner points, off the letter, missed most of it (evidence 0.098 against
    the dithered ``blank_sure_max`` 0.12) and the closer look did not look
    at dithered scans: answer 33 read blank surely, a silent error.  Its
    dot density shows the pencil: it now goes to review."""
    template = ljun_template()
    sheet = bench_sheet(8612, 192, "hard", dpi=300, bits=1, bilevel_mode="dither")
    assert sheet.truth["answers"][32] == "E"
    pattern, registration, bubbles = _measured(sheet.image, 300.0)
    assert bubbles.dithered
    bands = bands_for(bubbles, READ)
    e = pattern.geometry.grid("answers")[32, 4]
    kernel = mark_evidence(bubbles, READ)
    assert GRAY_LOOK_FROM < kernel[e] <= bands.blank_sure_max  # the kernel alone: blank, sure
    closer = closer_evidence(sheet.image, registration, pattern, bubbles, READ)
    assert bands.unsure(closer[e : e + 1])[0]
    reading = analyse_sheet(Page(sheet.image, "seed8612", 193, 300.0), template, CAL).reading
    assert reading.review
    assert "answer_unsure:33" in reading.flags


@pytest.mark.parametrize(
    ("seed", "index", "dpi", "field", "item", "option"),
    [
        (8601, 1, 200, "answers", 32, "D"),  # a stray line through a blank D
        (8602, 9, 150, "nama", 12, "D"),  # the same in a blank name column
    ],
)
def test_a_line_through_a_blank_bubble_of_a_dithered_scan_is_no_fill(
    seed, index, dpi, field, item, option
):
    """Moderate dev sheets, dithered: a pencil line through a blank bubble
    leaves 2.2-2.6 mm² of excess dot density, the most of 328 blank
    bubbles looked at on 180 dithered moderate sheets, but no solid square:
    the closer look leaves its evidence as the kernel's (blank, sure)."""
    sheet = bench_sheet(seed, index, "moderate", dpi=dpi, bits=1, bilevel_mode="dither")
    pattern, registration, bubbles = _measured(sheet.image, float(dpi))
    geometry = pattern.geometry
    column = geometry.grid(field)[item - 1]
    (b,) = [k for k in column if geometry.option[k] == option]
    kernel = mark_evidence(bubbles, READ)
    assert GRAY_LOOK_FROM < kernel[b] <= bands_for(bubbles, READ).blank_sure_max
    assert bubbles.halo[b] >= bands_for(bubbles, READ).line_halo_min
    closer = closer_evidence(sheet.image, registration, pattern, bubbles, READ)
    assert closer[b] == kernel[b]


def test_a_clean_gray_sheet_is_left_as_it_was():
    """Blank bubbles of a gray scan stay below the closer look's floor: the
    evidence is the kernel's, bubble for bubble."""
    image = synthetic_scan(pencil(SheetSpec(), 200), Scan(dpi=200, noise=2, blur=0.8))
    pattern, registration, bubbles = _measured(image, 200.0)
    np.testing.assert_array_equal(
        closer_evidence(image, registration, pattern, bubbles, READ),
        mark_evidence(bubbles, READ),
    )


def test_a_pages_dot_density_is_made_once_and_read_only():
    """The looks at one dithered page share its dot density: made once, not
    writable (a look cannot spoil it for the next); another page, or the
    same pixels in another array, gets its own."""
    rng = np.random.default_rng(5)
    page = np.where(rng.random((120, 90)) < 0.3, 0, 255).astype(np.uint8)
    density = dot_density(page, 200.0)
    assert dot_density(page, 200.0) is density
    assert not density.flags.writeable
    with pytest.raises(ValueError):
        density[0, 0] = 0
    other = page.copy()
    assert dot_density(other, 200.0) is not density
    np.testing.assert_array_equal(dot_density(other, 200.0), density)
    assert dot_density(page, 300.0) is not density


# --- references beyond the group's sample (ninth round) ----------------------


def _group_of(option: str, field: str = "nama"):
    """The sampling pattern and the bubbles of ``field`` printed ``option``."""
    pattern = sampling_pattern(ljun_template(), REFERENCE_DPI)
    geometry = pattern.geometry
    column = geometry.grid(field)[:, ljun_template().field(field).options.index(option)]
    return pattern, column


def test_references_are_the_groups_sample_when_enough_of_it_reads_blank():
    pattern, column = _group_of("A")
    candidate = column[4]
    blank = np.ones(len(pattern.group), bool)
    members = reference_members(pattern, np.array([candidate]), blank)
    np.testing.assert_array_equal(members[0], pattern.members[pattern.group[candidate]])


@pytest.mark.parametrize("blank_in_sample", range(MIN_REFERENCES))
def test_references_come_from_the_whole_group_when_the_sample_is_short(blank_in_sample):
    """A letter most of whose sampled bubbles are filled (8618 sheet 136):
    the blank look is made of the group's other bubbles that read blank."""
    pattern, column = _group_of("A")
    candidate = column[4]
    group = np.flatnonzero(pattern.group == pattern.group[candidate])
    sample = pattern.members[pattern.group[candidate]]
    blank = np.ones(len(pattern.group), bool)
    blank[sample] = False
    blank[sample[:blank_in_sample]] = True
    blank[candidate] = False
    members = reference_members(pattern, np.array([candidate]), blank)[0]
    assert members.shape == (GROUP_SAMPLE,)
    references = members[members != candidate]
    assert len(references) >= MIN_REFERENCES
    assert len(set(references.tolist())) == len(references)
    assert np.isin(references, group).all() and blank[references].all()


def test_no_references_when_the_whole_group_is_short():
    pattern, column = _group_of("A")
    candidate = column[4]
    group = np.flatnonzero(pattern.group == pattern.group[candidate])
    blank = np.ones(len(pattern.group), bool)
    blank[group] = False
    blank[group[group != candidate][: MIN_REFERENCES - 1]] = True
    members = reference_members(pattern, np.array([candidate]), blank)
    np.testing.assert_array_equal(members[0], pattern.members[pattern.group[candidate]])


def test_regression_a_blank_name_bubble_whose_group_sample_is_mostly_filled():
    """bench moderate mixed, seed 8618 sheet 136 (300-dpi 1-bit adaptive):
    name column 5 of "AGUS PANGARIBUAN" is blank; its A showed the printed
    letter only, at 0.083 (``blank_sure_max`` 0.08), but four of the eight
    sampled A's of the name were filled and one unsure, so the closer look
    had no blank look (fewer than ``MIN_REFERENCES``) and the sheet went to
    review for it alone.  The group's other blank A's make the blank look:
    blank, surely."""
    sheet = bench_sheet(8618, 136, "moderate", dpi=300, bits=1, bilevel_mode="adaptive")
    reading = analyse_sheet(Page(sheet.image, "seed8618", 137, 300.0), ljun_template(), CAL).reading
    assert reading.nama == sheet.truth["nama"]
    assert "unsure:nama:5" not in reading.flags
    assert not reading.review, reading.flags
