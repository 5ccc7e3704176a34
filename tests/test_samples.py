"""Generated scans with ground truth (ljun.samples, ``ljun samples make``)."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import json
import math
import re
from decimal import Decimal

import numpy as np
import pytest
import tifffile
from _samples_helpers import bubble_darkness, find_fiducials, luhn_valid, top_edge_angle
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from ljun.kompetensi import competency_codes
from ljun.numbers import parse_score, round_half_up
from ljun.records import RESULT_KEYS
from ljun.samples import (
    HARD_MARK_KINDS,
    LEVELS,
    SamplesError,
    answer_keys,
    generate_sheets,
    luhn_check_digit,
    make_samples,
    plan_sheets,
    printed_sheet,
    scan_page,
)
from ljun.samples._generate import envelope_settings
from ljun.samples._truth import plan_envelopes

NOMOR = re.compile(r"^\d-\d{2}-\d{2}-\d{2}-\d{3}-\d{3}-\d$")
BARCODE = re.compile(r"^LJUN-([ABS])-(\d{6})$")


@pytest.fixture(scope="module")
def easy_sheets(ljun_template):
    return list(generate_sheets(ljun_template, count=4, seed=21, level="easy", keep_drawn=True))


@pytest.fixture(scope="module")
def moderate_sheets(ljun_template):
    return list(
        generate_sheets(ljun_template, count=5, seed=22, level="moderate", bits=1, keep_drawn=True)
    )


@pytest.fixture(scope="module")
def hard_sheets(ljun_template):
    sheets = list(generate_sheets(ljun_template, count=3, seed=23, level="hard", dpi=150, bits=1))
    sheets += list(generate_sheets(ljun_template, count=2, seed=24, level="hard", dpi=300, bits=8))
    return [s for s in sheets if s.kind == "ljun"]


# --------------------------------------------------------------------------- truth


def test_luhn_check_digit_matches_a_known_number():
    assert luhn_check_digit("7992739871") == "3"  # the textbook example


@given(st.text(alphabet="0123456789", min_size=13, max_size=13))
def test_luhn_check_digit_makes_every_payload_valid(payload):
    assert luhn_valid(payload + luhn_check_digit(payload))


def test_truth_records_have_the_contract_format(easy_sheets, moderate_sheets):
    codes = competency_codes()
    keys = answer_keys(21)
    for sheet in easy_sheets:
        truth = sheet.truth
        assert tuple(truth) == RESULT_KEYS
        assert NOMOR.match(truth["nomor_peserta"]), truth["nomor_peserta"]
        assert luhn_valid(truth["nomor_peserta"].replace("-", ""))
        assert (
            re.fullmatch(r"[A-Z][A-Z ]{0,19}", truth["nama"])
            and truth["nama"] == truth["nama"].rstrip()
        )
        datetime.datetime.strptime(truth["tanggal_lahir"], "%d-%m-%y")
        assert truth["kode_kompetensi"] in codes
        assert truth["paket"] in ("A", "B", "S")
        assert BARCODE.match(truth["barcode"]).group(1) == truth["paket"]
        assert len(truth["answers"]) == 40 and set(truth["answers"]) <= {
            "A",
            "B",
            "C",
            "D",
            "E",
            "",
            "*",
        }
        key = keys[truth["paket"]]["answers"]
        correct = sum(a == k for a, k in zip(truth["answers"], key))
        assert truth["correct"] == correct
        assert Decimal(str(truth["score"])) == round_half_up(Decimal(correct) / 40 * 10)
        assert truth["flags"] == [] and truth["review"] is False
        assert (truth["source"], truth["page"]) == ("", 0)


def test_envelopes_are_rooms_of_one_school_sorted_by_participant_number():
    envelopes = plan_envelopes(5, 200, LEVELS["moderate"], special_pages=False)
    assert sum(e.n_sheets for e in envelopes) == 200
    for envelope in envelopes:
        numbers = [p.nomor_peserta for p in envelope.participants]
        assert len(numbers) <= 20
        assert numbers == sorted(numbers)
        assert len({n[3:10] for n in numbers}) == 1  # province, district, school
    participants = [p for e in envelopes for p in e.participants]
    assert any(not p.present for p in participants), "attendance lists need absentees"
    assert any(e.susulan for e in envelopes)
    practical = [p.nilai_praktik for p in participants]
    below = sum(v < Decimal("7.00") for v in practical) / len(practical)
    assert 0.02 < below < 0.3
    blanks = [plan.answers.count("") for plan in plan_sheets(60, 5, "moderate")]
    assert sum(blanks) > 0


def test_sheet_scores_spread_like_an_exam(ljun_template):
    plans = plan_sheets(120, 3, "moderate")
    keys = answer_keys(3)
    correct = [
        sum(a == k for a, k in zip(p.answers, keys[p.participant.paket]["answers"])) for p in plans
    ]
    assert 20 <= np.mean(correct) <= 32
    assert np.std(correct) > 3
    assert {p.participant.paket for p in plans} == {"A", "B", "S"}


def test_marks_drawn_agree_with_the_truth(easy_sheets, moderate_sheets):
    for sheet in easy_sheets + moderate_sheets:
        truth = sheet.truth
        expected = {
            ("answers", q + 1, a) for q, a in enumerate(truth["answers"]) if a not in ("", "*")
        }
        expected |= {("paket", 1, truth["paket"])}
        for name, text in (
            ("nomor_peserta", truth["nomor_peserta"].replace("-", "")),
            ("tanggal_lahir", truth["tanggal_lahir"].replace("-", "")),
            ("kode_kompetensi", truth["kode_kompetensi"]),
            ("nama", truth["nama"]),
        ):
            expected |= {(name, i + 1, ch) for i, ch in enumerate(text) if ch != " "}
        drawn = {
            (m.field, m.item, m.option) for m in sheet.marks if m.kind not in ("residue", "multi")
        }
        assert drawn == expected
        multi_items = {m.item for m in sheet.marks if m.kind == "multi"}
        assert multi_items == {q + 1 for q, a in enumerate(truth["answers"]) if a == "*"}


def test_a_marked_bubble_is_darker_than_an_unmarked_one_before_the_scanner(
    ljun_template, easy_sheets
):
    geometry = ljun_template.geometry(200)
    index = {}
    for name in geometry.field_names:
        grid = geometry.grid(name)
        options = ljun_template.field(name).options
        for i in range(grid.shape[0]):
            for j, option in enumerate(options):
                index[(name, i + 1, option)] = grid[i, j]
    for sheet in easy_sheets:
        darkness = bubble_darkness(sheet.drawn, geometry.centres, geometry.radii)
        meant = [
            index[(m.field, m.item, m.option)] for m in sheet.marks if m.kind not in ("residue",)
        ]
        touched = {index[(m.field, m.item, m.option)] for m in sheet.marks}
        untouched = np.setdiff1d(np.arange(len(geometry)), list(touched))
        assert darkness[meant].min() > darkness[untouched].max() + 0.1


def test_hard_marks_are_recorded_in_scan(moderate_sheets):
    for sheet in moderate_sheets:
        recorded = {
            (m["field"], m["item"], m["option"], m["kind"]) for m in sheet.scan["hard_marks"]
        }
        drawn = {
            (m.field, m.item, m.option, m.kind) for m in sheet.marks if m.kind in HARD_MARK_KINDS
        }
        assert recorded == drawn
    assert any(sheet.scan["hard_marks"] for sheet in moderate_sheets)


# --------------------------------------------------------------------------- determinism


def test_the_same_seed_gives_the_same_sheets(ljun_template):
    first = list(generate_sheets(ljun_template, count=2, seed=31, level="moderate", dpi=100))
    again = list(generate_sheets(ljun_template, count=2, seed=31, level="moderate", dpi=100))
    other = list(generate_sheets(ljun_template, count=2, seed=32, level="moderate", dpi=100))
    for a, b in zip(first, again):
        assert np.array_equal(a.image, b.image) and a.truth == b.truth and a.scan == b.scan
    assert first[0].truth != other[0].truth


def test_a_sheet_does_not_depend_on_the_size_of_the_set(ljun_template):
    small = list(generate_sheets(ljun_template, count=2, seed=33, level="easy", dpi=100))
    large = list(generate_sheets(ljun_template, count=4, seed=33, level="easy", dpi=100))
    for a, b in zip(small, large):
        assert np.array_equal(a.image, b.image) and a.truth == b.truth


# --------------------------------------------------------------------------- the scanner


def _fiducial_angle_tolerance(sheet) -> float:
    # A slight perspective tilts the line between two fiducials a little.
    corners = np.array(sheet.scan["fiducials_px"])
    span = np.hypot(*(corners[1] - corners[0]))
    return math.degrees(2 * sheet.scan["perspective_px"] / span) + 0.1


@pytest.mark.parametrize("level_fixture", ["easy_sheets", "moderate_sheets", "hard_sheets"])
def test_skew_measured_from_the_fiducials_is_what_scan_says(request, ljun_template, level_fixture):
    for sheet in request.getfixturevalue(level_fixture):
        found = find_fiducials(sheet.image, ljun_template, sheet.dpi)
        assert len(found) == 4, f"sheet {sheet.index}: fiducials cut off or lost"
        recorded = np.array(sheet.scan["fiducials_px"])
        for f in found:
            assert np.hypot(*(recorded - (f.x, f.y)).T).min() < 1.5
        assert abs(top_edge_angle(found) - sheet.scan["skew_deg"]) < _fiducial_angle_tolerance(
            sheet
        )
        level = LEVELS[sheet.scan["level"]]
        assert abs(sheet.scan["skew_deg"]) <= level.skew_max_deg
        # Scale: the TL-TR fiducial distance against the template's.
        geometry = ljun_template.geometry(sheet.dpi)
        printed = np.hypot(*(geometry.fiducials[1] - geometry.fiducials[0]))
        ordered = sorted(found, key=lambda f: f.y)[:2]
        measured = math.hypot(ordered[0].x - ordered[1].x, ordered[0].y - ordered[1].y)
        assert measured / printed == pytest.approx(sheet.scan["scale"], abs=0.01)


@pytest.mark.parametrize("level_name", ["easy", "moderate", "hard"])
def test_each_level_turns_and_flips_pages_as_it_promises(ljun_template, level_name):
    level = LEVELS[level_name]
    page = printed_sheet(ljun_template, 100, "LJUN-A-000001")
    skews, flips = [], []
    for k in range(40):
        image, scan = scan_page(
            page, dpi=100, bits=8, level=level, rng=np.random.default_rng([4, k])
        )
        found = find_fiducials(image, ljun_template, 100)
        assert len(found) == 4
        ring = next(f for f in found if f.ring)
        centre = np.mean([(f.x, f.y) for f in found], axis=0)
        # The ring is the sheet's bottom-left mark: top-right when fed upside down.
        upside_down = ring.x > centre[0] and ring.y < centre[1]
        assert upside_down == scan["rotated_180"]
        skews.append(abs(top_edge_angle(found)))
        flips.append(upside_down)
    assert max(skews) <= level.skew_max_deg + 0.5
    assert max(skews) >= 0.6 * level.skew_max_deg
    if level.upside_down_probability == 0:
        assert not any(flips)


def test_moderate_and_hard_feed_some_pages_upside_down(ljun_template):
    page = printed_sheet(ljun_template, 50, "")
    for name in ("moderate", "hard"):
        flipped = [
            scan_page(page, dpi=50, bits=1, level=LEVELS[name], rng=np.random.default_rng([5, k]))[
                1
            ]["rotated_180"]
            for k in range(80)
        ]
        assert 0 < sum(flipped) < 40


def test_noise_grows_from_easy_to_hard(ljun_template):
    grey = np.full((400, 300), 0.5, dtype=np.float32)
    measured = {}
    for name in ("easy", "hard"):
        level = dataclasses.replace(
            LEVELS[name], white_clip_probability=0.0, jpeg_probability=0.0, dust_mean=0.0
        )
        spreads = []
        for k in range(5):
            image, scan = scan_page(
                grey, dpi=100, bits=8, level=level, rng=np.random.default_rng([6, k])
            )
            centre = image[150:250, 100:200].astype(float)
            # Differences of neighbours remove the smooth lamp fall-off.
            spreads.append(np.std(np.diff(centre, axis=1)) / math.sqrt(2) / scan["noise_sigma"])
            assert level.noise_sigma[0] <= scan["noise_sigma"] <= level.noise_sigma[1]
        measured[name] = float(np.median(spreads))
    # Blur removes part of the noise, gamma scales it: within a factor of two.
    assert 0.3 < measured["easy"] < 2.0 and 0.3 < measured["hard"] < 2.0


@pytest.mark.parametrize("level_name", ["easy", "moderate", "hard"])
def test_regression_a_1bit_scan_keeps_part_of_the_lightest_light_mark(level_name):
    # The B/W threshold was applied after the grey tone curve and background
    # removal, as a fraction of the clipped white: with gamma 0.7 or a white
    # point below the paper it wiped out light marks a person sees on paper,
    # and the truth still said marked (hard level, 3 silent errors in 200).
    level = LEVELS[level_name]
    darkness = level.light_darkness[0]
    # A light pencil layer over the middle of a sheet of paper (reflectance 1).
    page = np.ones((300, 300), dtype=np.float32)
    page[100:200, 100:200] *= np.float32(1.0 - darkness)
    for k in range(30):
        image, scan = scan_page(
            page, dpi=150, bits=1, level=level, rng=np.random.default_rng([7, k])
        )
        h = np.array(scan["homography"])
        centre = h @ np.array([149.5, 149.5, 1.0])
        x, y = (centre[:2] / centre[2]).round().astype(int)
        patch = image[y - 20 : y + 20, x - 20 : x + 20]
        paper = h @ np.array([40.0, 40.0, 1.0])
        px, py = (paper[:2] / paper[2]).round().astype(int)
        # Noise may blacken a few pixels of the paper, not most of them.
        assert np.mean(image[py - 10 : py + 10, px - 10 : px + 10] == 0) < 0.1, scan
        assert np.mean(patch == 0) > 0.25, scan


@pytest.mark.parametrize("mode", ["dither", "adaptive"])
@pytest.mark.parametrize("level_name", ["moderate", "hard"])
def test_bw_modes_turn_a_light_mark_into_a_speckled_or_solid_disc(level_name, mode):
    """Dither and adaptive B/W modes keep a light mark visible (black dots over
    a good part of it) and clean paper clean; the reader tells dither by its
    lone dots."""
    from ljun.read import is_dithered

    level = LEVELS[level_name]
    darkness = level.light_darkness[0]
    page = np.ones((300, 300), dtype=np.float32)
    page[135:165, 135:165] *= np.float32(1.0 - darkness)  # 30 px = 5 mm at 150 dpi: a bubble
    for k in range(10):
        image, scan = scan_page(
            page, dpi=150, bits=1, level=level, rng=np.random.default_rng([8, k]), bilevel_mode=mode
        )
        assert set(np.unique(image)) <= {0, 255}
        assert scan["bilevel_mode"] == mode
        h = np.array(scan["homography"])
        centre = h @ np.array([149.5, 149.5, 1.0])
        x, y = (centre[:2] / centre[2]).round().astype(int)
        paper = h @ np.array([40.0, 40.0, 1.0])
        px, py = (paper[:2] / paper[2]).round().astype(int)
        assert np.mean(image[py - 10 : py + 10, px - 10 : px + 10] == 0) < 0.1, scan
        # The whole mark (the adaptive mode keeps its edge and speckles inside).
        assert np.mean(image[y - 15 : y + 15, x - 15 : x + 15] == 0) > 0.15, scan
        if mode == "dither":
            assert is_dithered(image[y - 15 : y + 15, x - 15 : x + 15])


def test_bw_mode_runs_of_envelopes_keep_the_first_envelopes_as_they_were():
    from ljun.samples import bilevel_mode_for

    moderate = LEVELS["moderate"]
    assert [bilevel_mode_for(k, moderate) for k in range(4)] == ["threshold"] * 4
    assert {bilevel_mode_for(k, moderate) for k in range(12)} == {"threshold", "dither", "adaptive"}
    assert {bilevel_mode_for(k, LEVELS["easy"]) for k in range(12)} == {"threshold"}


def test_bilevel_scans_hold_only_black_and_white(moderate_sheets, hard_sheets):
    for sheet in moderate_sheets + [s for s in hard_sheets if s.scan["bits"] == 1]:
        assert set(np.unique(sheet.image)) <= {0, 255}


def test_mixed_settings_vary_per_envelope():
    settings = [envelope_settings(k, "mixed", "mixed") for k in range(4)]
    assert {dpi for dpi, _ in settings} == {150, 200, 300}
    assert {bits for _, bits in settings} == {1, 8}
    assert envelope_settings(5, 300, 1) == (300, 1)


def test_some_hard_pages_went_through_jpeg(ljun_template):
    sheets = list(
        generate_sheets(
            ljun_template,
            count=6,
            seed=25,
            level="hard",
            dpi=100,
            bits=8,
            include_special_pages=False,
        )
    )
    assert any(s.scan["jpeg_quality"] for s in sheets)


def test_special_pages_are_in_the_batch_with_their_flags(ljun_template):
    always = dataclasses.replace(
        LEVELS["hard"], blank_page_probability=1.0, other_page_probability=1.0
    )
    pages = list(generate_sheets(ljun_template, count=3, seed=2, level=always, dpi=100, bits=8))
    special = [p for p in pages if p.kind != "ljun"]
    assert sorted(p.kind for p in special) == ["blank", "other"]
    for p in special:
        assert p.truth["review"] is True
        assert p.truth["flags"] == [{"blank": "blank_page", "other": "wrong_template"}[p.kind]]
        # Neither has the sheet's corner marks.
        assert len(find_fiducials(p.image, ljun_template, 100)) < 4
    assert sum(p.kind == "ljun" for p in pages) == 3
    easy = list(generate_sheets(ljun_template, count=3, seed=2, level="easy", dpi=100))
    assert all(p.kind == "ljun" for p in easy)


def test_bad_options_raise_samples_error(ljun_template):
    for kwargs in ({"level": "impossible"}, {"dpi": 20}, {"bits": 4}, {"count": -1}):
        options = {"count": 1, "seed": 1, "level": "easy", **kwargs}
        with pytest.raises(SamplesError):
            next(generate_sheets(ljun_template, **options))


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize(
    ("fmt", "bits"), [("tiff", 8), ("tiff", 1), ("pdf", 8), ("pdf", 1), ("png", 1), ("jpeg", 8)]
)
def test_written_files_open_with_independent_readers(ljun_template, tmp_path, fmt, bits):
    result = make_samples(
        ljun_template, tmp_path, count=2, seed=41, level="easy", dpi=100, bits=bits, fmt=fmt
    )
    truth = [json.loads(line) for line in (tmp_path / "truth.jsonl").read_text().splitlines()]
    expected = list(
        generate_sheets(ljun_template, count=2, seed=41, level="easy", dpi=100, bits=bits)
    )
    assert len(truth) == len(expected) == result.pages == 2
    for line, sheet in zip(truth, expected):
        assert line == {**sheet.truth, "source": line["source"], "page": line["page"]}
        path = tmp_path / line["source"]
        if fmt == "tiff":
            with tifffile.TiffFile(path) as tif:
                page = tif.pages[line["page"] - 1]
                assert page.compression == (4 if bits == 1 else 5)  # CCITT G4 / LZW
                assert page.resolution == (100.0, 100.0)
                pixels = page.asarray()
                assert np.array_equal(
                    pixels.astype(np.uint8) * (255 if bits == 1 else 1), sheet.image
                )
            with Image.open(path) as image:
                assert image.n_frames == 2 and image.info["dpi"] == (100.0, 100.0)
        elif fmt == "pdf":
            from pdf2image import convert_from_path

            rendered = convert_from_path(
                path, dpi=100, grayscale=True, first_page=line["page"], last_page=line["page"]
            )[0]
            assert abs(rendered.size[0] - sheet.image.shape[1]) <= 1
            assert abs(rendered.size[1] - sheet.image.shape[0]) <= 1
        else:
            with Image.open(path) as image:
                assert image.size == sheet.image.shape[::-1]
                assert round(image.info["dpi"][0]) == 100
                if fmt == "png":
                    assert np.array_equal(np.asarray(image.convert("L")), sheet.image)


def test_a_sample_set_has_keys_attendance_and_practical_scores(ljun_template, tmp_path):
    make_samples(ljun_template, tmp_path, count=3, seed=42, level="easy", dpi=100)
    for paket, name in (("A", "paketA.json"), ("B", "paketB.json"), ("S", "susulan.json")):
        key = json.loads((tmp_path / name).read_text())
        assert key == answer_keys(42)[paket] and len(key["answers"]) == 40
    truth = [json.loads(line) for line in (tmp_path / "truth.jsonl").read_text().splitlines()]
    with open(tmp_path / "daftar_hadir" / "amplop-001.csv", newline="") as handle:
        attendance = list(csv.DictReader(handle))
    present = [row["nomor_peserta"] for row in attendance if row["hadir"] == "ya"]
    assert present == [t["nomor_peserta"] for t in truth]
    with open(tmp_path / "praktik.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["nomor_peserta", "nama", "kode_kompetensi", "nilai_praktik"]
    assert {r["nomor_peserta"] for r in rows} == {row["nomor_peserta"] for row in attendance}
    assert all("," in r["nilai_praktik"] and parse_score(r["nilai_praktik"]) <= 10 for r in rows)


def test_workers_write_the_same_set_and_report_every_page(ljun_template, tmp_path):
    # Regression: with workers the progress count came out one page short.
    pages = []
    serial = make_samples(
        ljun_template,
        tmp_path / "serial",
        count=16,
        seed=43,
        level="moderate",
        dpi=100,
        fmt="mixed",
        bits="mixed",
    )
    parallel = make_samples(
        ljun_template,
        tmp_path / "parallel",
        count=16,
        seed=43,
        level="moderate",
        dpi=100,
        fmt="mixed",
        bits="mixed",
        workers=2,
        on_page=pages.append,
    )
    assert serial.envelopes >= 2
    assert (tmp_path / "serial" / "truth.jsonl").read_text() == (
        tmp_path / "parallel" / "truth.jsonl"
    ).read_text()
    assert sum(pages) == parallel.pages


def test_a_non_empty_folder_is_refused_unless_overwriting(ljun_template, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SamplesError, match="not empty"):
        make_samples(ljun_template, tmp_path, count=1, seed=1, level="easy", dpi=100)
    make_samples(ljun_template, tmp_path / "set", count=2, seed=1, level="easy", dpi=100, fmt="png")
    make_samples(
        ljun_template,
        tmp_path / "set",
        count=1,
        seed=1,
        level="easy",
        dpi=100,
        fmt="tiff",
        overwrite=True,
    )
    # The previous set's files are gone; nothing else was touched.
    assert not (tmp_path / "set" / "amplop-001").exists()
    assert (tmp_path / "notes.txt").read_text() == "mine"


# --------------------------------------------------------------------------- CLI


def test_cli_makes_a_set_end_to_end(run_cli, tmp_path):
    out = tmp_path / "set"
    result = run_cli(
        "samples",
        "make",
        "--count",
        3,
        "--seed",
        7,
        "--level",
        "hard",
        "--dpi",
        100,
        "--bits",
        "mixed",
        "--format",
        "tiff",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.stderr
    assert "wrote 3 sheets" in result.stdout
    truth = (out / "truth.jsonl").read_text().splitlines()
    assert sum(json.loads(line)["review"] is False for line in truth) == 3
    assert (out / "amplop-001.tif").is_file() and (out / "praktik.csv").is_file()


def test_cli_help_and_errors(run_cli, tmp_path):
    result = run_cli("samples", "make", "--help")
    assert result.exit_code == 0 and "--count" in result.stdout and "--workers" in result.stdout
    (tmp_path / "x").write_text("")
    result = run_cli("samples", "make", "--count", 1, "--out", tmp_path)
    assert result.exit_code == 2 and "not empty" in result.stderr
    result = run_cli("samples", "make", "--count", 1, "--dpi", "many", "--out", tmp_path / "new")
    assert result.exit_code == 2


def test_regression_pdf_batches_are_the_same_byte_for_byte(tmp_path, ljun_template):
    """Regression: generated PDFs carried the time they were made, so a remade set differed."""
    import time

    from ljun.samples import make_samples

    made = []
    for run in ("first", "second"):
        out = tmp_path / run
        make_samples(
            ljun_template,
            out,
            count=1,
            seed=3,
            level="easy",
            fmt="pdf",
            bits=1,
            include_special_pages=False,
        )
        made.append({p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*.pdf"))})
        time.sleep(1.1)  # PDF dates have one-second resolution
    assert made[0] and made[0] == made[1]


def test_strokes_that_end_inside_a_blank_bubble_leave_the_truth_blank(
    easy_sheets, moderate_sheets, hard_sheets
):
    """Level.stroke_ends_mean: a short stroke, a tick's tail or a line that
    starts outside a bubble and stops inside it, only in bubbles the student
    left blank (no mark drawn there, the truth does not hold the option)."""
    assert all(sheet.scan["stroke_ends"] == [] for sheet in easy_sheets)
    ends = 0
    for sheet in moderate_sheets + hard_sheets:
        marked = {(m.field, m.item, m.option) for m in sheet.marks}
        for end in sheet.scan["stroke_ends"]:
            ends += 1
            assert end["kind"] in ("short", "tick", "line")
            assert (end["field"], end["item"], end["option"]) not in marked
            if end["field"] == "answers":
                assert end["option"] not in sheet.truth["answers"][end["item"] - 1]
    assert ends > 0
