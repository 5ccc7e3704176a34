"""``ljun bench``: runs end to end in a tiny configuration; the JSON's shape, not timings."""

from __future__ import annotations

import json

import pytest

from ljun.bench import BenchError, generate_scans, run_bench, scan_format

ROW_KEYS = {
    "format",
    "files",
    "pages",
    "floor_ms",
    "end_to_end_ms",
    "beyond_floor_ms",
    "ratio",
    "sheets_per_s_per_core",
    "stages_ms",
}
STAGES = {"load", "hash", "register", "read", "decode", "score", "store", "export"}


def test_bench_on_one_generated_sheet_writes_the_report(tmp_path, run_cli):
    out = tmp_path / "bench.json"
    result = run_cli(
        "bench",
        "--generate", "1",
        "--mode", "1bit",
        "--format", "tif-g4",
        "--format", "pdf",
        "--repeat", "1",
        "--workers", "2",
        "--json", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "tif-g4" in result.stdout and "pdf-ccitt" in result.stdout
    report = json.loads(out.read_text())
    assert {"ljun", "date", "machine", "inputs", "targets", "startup_ms", "formats"} <= set(report)
    assert report["inputs"]["generated"]["formats"] == ["pdf", "tif-g4"]
    rows = {row["format"]: row for row in report["formats"]}
    assert set(rows) == {"tif-g4", "pdf-ccitt"}
    for row in rows.values():
        assert set(row) == ROW_KEYS
        assert row["pages"] == 1 and row["files"] == 1
        assert set(row["stages_ms"]) == STAGES
        assert row["floor_ms"] > 0 and row["end_to_end_ms"] > 0
    scaling = report["scaling"]
    assert scaling["pages"] == 2 and scaling["workers"] == 2
    assert scaling["wall_s_1_worker"] > 0 and scaling["wall_s_all_workers"] > 0
    assert report["peak_rss_mb"] > 0
    # The generator's truth is known: the one sheet, read twice (two formats).
    accuracy = report["accuracy"]
    assert accuracy["sheets"] == 2
    assert accuracy["silent_errors"] == 0


def test_generated_formats_are_recognised(tmp_path):
    made = generate_scans(
        tmp_path, count=1, mode="gray", formats=("tif-none", "tif-lzw", "tif-deflate", "jpeg")
    )
    assert sorted(scan_format(path) for path in made.files) == [
        "jpeg",
        "tif-deflate",
        "tif-lzw",
        "tif-none",
    ]
    assert len(made.truth.read_text().splitlines()) == 4


def test_format_that_cannot_hold_the_mode_is_refused(tmp_path):
    with pytest.raises(BenchError, match="tif-g4 does not hold gray"):
        generate_scans(tmp_path, count=1, mode="gray", formats=("tif-g4",))


def test_no_scan_files_is_a_clear_error(tmp_path, run_cli):
    (tmp_path / "notes.txt").write_text("no scans here")
    with pytest.raises(BenchError, match="no scan files"):
        run_bench([tmp_path])
    result = run_cli("bench", tmp_path, "--json", tmp_path / "b.json")
    assert result.exit_code == 2
    assert "no scan files" in result.stderr


def _own_peak() -> dict:
    from ljun.bench import peak_rss_mb

    return {"peak_rss_mb": peak_rss_mb()}


def test_a_fresh_process_reports_its_own_peak_memory_not_its_parents():
    # Linux carries ru_maxrss over from the parent of a spawned process: the
    # bench once reported its own generated scans as the batch's peak.
    import numpy as np

    from ljun.bench import _in_fresh_process, peak_rss_mb

    held = np.ones(500 * 2**20, dtype=np.uint8)  # 500 MB, touched
    assert peak_rss_mb() > 500
    child = _in_fresh_process(_own_peak)
    assert 0 < child["peak_rss_mb"] < 400
    del held
