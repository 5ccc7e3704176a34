"""``ljun calibrate`` and the fitting behind it (ljun.calibrate)."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from ljun.calibrate import (
    SheetSample,
    fit_bands,
    replay,
    truth_marks,
)
from ljun.calibration import load_calibration, resolve_calibration_path
from ljun.read import BubbleDarkness, sampling_pattern
from ljun.register import REFERENCE_DPI

CAL = load_calibration()


@pytest.fixture(scope="module")
def generated_set(tmp_path_factory):
    """12 moderate 150-dpi gray sheets with truth, written as a TIFF batch."""
    from ljun.cli import main

    out = tmp_path_factory.mktemp("calibrate") / "set"
    code = main(
        [
            "samples",
            "make",
            "--count",
            "12",
            "--seed",
            "5",
            "--level",
            "moderate",
            "--dpi",
            "150",
            "--bits",
            "8",
            "--format",
            "tiff",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


def test_calibrate_writes_a_calibration_that_score_uses(generated_set, tmp_path, run_cli):
    out = tmp_path / "office.json"
    result = run_cli(
        "calibrate", generated_set, "--truth", generated_set / "truth.jsonl", "--out", out
    )
    assert result.exit_code == 0, result.stderr
    assert "12 sheets measured" in result.stdout
    assert "fitted" in result.stdout
    fitted = load_calibration(out)
    # Only the gray bands had sheets; the others are kept from the default.
    assert fitted.read.bilevel == CAL.read.bilevel
    assert fitted.read.dithered == CAL.read.dithered
    assert fitted.read.gray != CAL.read.gray
    assert "truth.jsonl" in json.loads(out.read_text())["derived_from"]

    db = tmp_path / "ljun.sqlite"
    results = tmp_path / "results.jsonl"
    keys = [
        a for k in ("paketA", "paketB", "susulan") for a in ("--key", generated_set / f"{k}.json")
    ]
    scored = run_cli(
        "score", generated_set, *keys, "--calibration", out, "--db", db, "--out", results,
        "--workers", "1", "--no-progress",
    )  # fmt: skip
    assert scored.exit_code == 0, scored.stderr
    with sqlite3.connect(db) as conn:
        (arguments,) = conn.execute("SELECT arguments FROM batches").fetchone()
    assert json.loads(arguments)["calibration"] == str(out)
    truth = {
        (r["source"], r["page"]): r
        for r in map(json.loads, (generated_set / "truth.jsonl").read_text().splitlines())
    }
    for line in results.read_text().splitlines():
        record = json.loads(line)
        expected = truth[(record["source"].rsplit("/", 1)[-1], record["page"])]
        if expected.get("answers"):
            assert record["answers"] == expected["answers"]
            assert not record["review"]


def test_calibrate_refuses_scans_without_truth(generated_set, tmp_path, run_cli):
    truth = tmp_path / "truth.jsonl"
    truth.write_text('{"source": "elsewhere.tif", "page": 1, "answers": ["A"]}\n')
    result = run_cli("calibrate", generated_set, "--truth", truth, "--out", tmp_path / "c.json")
    assert result.exit_code == 2
    assert "no page of" in result.stderr and str(truth) in result.stderr
    assert not (tmp_path / "c.json").exists()


def test_calibrate_names_the_bad_truth_line(generated_set, tmp_path, run_cli):
    truth = tmp_path / "truth.jsonl"
    truth.write_text('{"source": "a.tif", "page": 1}\nnot json\n')
    result = run_cli("calibrate", generated_set, "--truth", truth, "--out", tmp_path / "c.json")
    assert result.exit_code == 2
    assert f"truth file {truth}, line 2" in result.stderr


# --------------------------------------------------------------------------- fitting


def _geometry(ljun_template):
    return sampling_pattern(ljun_template, REFERENCE_DPI).geometry


def _sheet(ljun_template, truth: dict, evidence: np.ndarray) -> SheetSample:
    """A gray sheet whose every feature is ``evidence`` (no halo: no line)."""
    n = len(evidence)
    zeros = np.zeros(n, np.float32)
    bubbles = BubbleDarkness(
        darkness=evidence.astype(np.float32),
        core=zeros,
        quarter=evidence.astype(np.float32),
        body=zeros,
        halo=zeros,
        halo_contact=np.zeros(n, np.int16),
        inside=np.ones(n, bool),
        paper=np.full(n, 230, np.float32),
        bilevel=False,
    )
    return SheetSample(
        kind="gray",
        bubbles=bubbles,
        expected=truth_marks(truth, ljun_template, _geometry(ljun_template)),
    )


def _truth(answers):
    return {
        "nomor_peserta": "2-12-01-05-001-001-0",
        "nama": "ANI",
        "tanggal_lahir": "17-08-95",
        "kode_kompetensi": "1023",
        "paket": "A",
        "answers": answers,
    }


def _evidence_for(ljun_template, truth, mark: float, blank: float, overrides=()):
    geometry = _geometry(ljun_template)
    evidence = np.full(len(geometry), blank, np.float32)
    expected = truth_marks(truth, ljun_template, geometry)
    for field, codes in expected.items():
        grid = geometry.grid(field)
        for item, code in enumerate(codes):
            if code >= 0:
                evidence[grid[item, code]] = mark
    for (field, item, option), value in overrides:
        evidence[geometry.grid(field)[item, option]] = value
    return evidence


def test_truth_marks_reads_every_field_of_a_record(ljun_template):
    expected = truth_marks(
        _truth(["B", "", "*"] + ["A"] * 37), ljun_template, _geometry(ljun_template)
    )
    assert expected["answers"][:4].tolist() == [1, -1, -2, 0]
    assert expected["nomor_peserta"].tolist()[:3] == [2, 1, 2]
    assert expected["tanggal_lahir"].tolist() == [1, 7, 0, 8, 9, 5]
    assert expected["paket"].tolist() == [0]
    nama = expected["nama"].tolist()
    assert nama[:3] == [0, 13, 8] and set(nama[3:]) == {-1}


def test_replay_counts_a_wrong_sure_item_as_silent_and_an_unsure_one_as_review(ljun_template):
    geometry = _geometry(ljun_template)
    truth = _truth(["B"] * 40)
    clean = _sheet(ljun_template, truth, _evidence_for(ljun_template, truth, 0.8, 0.0))
    # Item 1's mark reads blank-sure (a mark lost): silent.
    lost = _sheet(
        ljun_template,
        truth,
        _evidence_for(ljun_template, truth, 0.8, 0.0, [(("answers", 0, 1), 0.05)]),
    )
    # Item 2's mark is in the unsure band: review.
    faint = _sheet(
        ljun_template,
        truth,
        _evidence_for(ljun_template, truth, 0.8, 0.0, [(("answers", 1, 1), 0.25)]),
    )
    result = replay([clean, lost, faint], CAL, ljun_template, geometry)
    assert (result.silent_sheets, result.silent_items, result.review) == (1, 1, 1)


def test_fit_bands_keeps_every_mark_out_of_the_blank_sure_band(ljun_template):
    """Marks at 0.30 and blanks up to 0.10: the fitted blank-sure edge stays
    below the marks by the safety margin, and nothing goes to review."""
    geometry = _geometry(ljun_template)
    truth = _truth(["C"] * 40)
    sheets = [
        _sheet(ljun_template, truth, _evidence_for(ljun_template, truth, 0.30 + 0.01 * k, 0.1))
        for k in range(10)
    ]
    fits = {f.kind: f for f in fit_bands(sheets, CAL, ljun_template, geometry)}
    gray = fits["gray"]
    assert gray.fitted and gray.sheets == 10
    assert gray.result.silent_items == 0 and gray.result.review == 0
    assert 0.1 <= gray.bands.blank_sure_max <= 0.30 - 0.03
    assert gray.bands.marked_sure_min <= 0.30
    assert not fits["bilevel"].fitted and fits["bilevel"].bands == CAL.read.bilevel


def test_fit_bands_leaves_a_kind_alone_when_asked(ljun_template):
    geometry = _geometry(ljun_template)
    truth = _truth(["C"] * 40)
    sheets = [
        _sheet(ljun_template, truth, _evidence_for(ljun_template, truth, 0.9, 0.0))
        for _ in range(10)
    ]
    fits = fit_bands(sheets, CAL, ljun_template, geometry, kinds=("dithered",))
    assert all(not f.fitted for f in fits)
    assert fits[0].bands == CAL.read.gray


def test_a_calibration_without_dithered_bands_is_refused_with_the_key(tmp_path):
    from ljun.errors import CalibrationError

    document = json.loads(resolve_calibration_path().read_text())
    del document["read"]["dithered"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(document))
    with pytest.raises(CalibrationError, match="dithered"):
        load_calibration(path)


def test_dithered_bands_are_ordered_like_the_others(tmp_path):
    from ljun.calibration import parse_calibration
    from ljun.errors import CalibrationError

    document = json.loads(resolve_calibration_path().read_text())
    document["read"]["dithered"]["blank_sure_max"] = 0.5
    with pytest.raises(CalibrationError, match=r"\$\.read\.dithered: blank_sure_max"):
        parse_calibration(document)
    assert CAL.read.dithered.mark_min > CAL.read.dithered.blank_sure_max
