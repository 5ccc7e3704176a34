"""Hostile scan files: damaged multi-page files say which pages are missing (issue 10).

Each case is built here from the bundled sample scans or by hand: a TIFF cut
in half, a TIFF with a page directory overwritten, a PDF cut after an earlier
revision or without its end, empty files with different names, a file name
with terminal control characters.  The pages that can be read keep their
results; the file gets one ``truncated`` record, in review, in the summary
and in the exports.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import tifffile
from _hostile_helpers import (
    SAMPLE_TIFF,
    SAMPLE_TIFF_PAGES,
    corrupt_tiff_page_directory,
    incremental_pdf,
    key_args,
    read_jsonl,
)

from ljun.load import iter_file_pages, pdf_truncation, tiff_truncation
from ljun.records import Page, PageFailure
from ljun.vocabulary import FailureReason

# Fields that must be the same for a page read from the damaged and the intact file.
_SAME = ("page", "nomor_peserta", "nama", "paket", "answers", "score", "flags")


def _loaded(path: Path) -> list[tuple[str, int, str | None]]:
    return [
        (type(item).__name__, item.page, getattr(item, "reason", None))
        for item in iter_file_pages(path)
    ]


def _score(run_cli, tmp_path: Path, name: str, *scans: Path, extra: tuple = ()) -> tuple:
    out = tmp_path / f"{name}.jsonl"
    result = run_cli(
        "score", *scans, *key_args(), "--db", tmp_path / f"{name}.sqlite",
        "--workers", "1", "--out", out, "--no-progress", *extra,
    )  # fmt: skip
    return result, read_jsonl(out)


def test_tiff_cut_in_half_reports_its_missing_pages(run_cli, tmp_path):
    """Regression: a 14-page TIFF cut in half read as 'sheets read 7, failed 0', exit 0."""
    intact = tmp_path / "intact" / "amplop.tif"
    intact.parent.mkdir()
    shutil.copy(SAMPLE_TIFF, intact)
    data = intact.read_bytes()
    cut = tmp_path / "cut" / "amplop.tif"
    cut.parent.mkdir()
    cut.write_bytes(data[: len(data) // 2])

    whole, whole_records = _score(run_cli, tmp_path, "whole", intact)
    result, records = _score(run_cli, tmp_path, "cut", cut)

    assert whole.exit_code == 0 and len(whole_records) == SAMPLE_TIFF_PAGES
    assert result.exit_code == 0, result.stderr
    truncated = [r for r in records if FailureReason.TRUNCATED in r["flags"]]
    assert truncated and all(r["review"] and r["score"] is None for r in truncated)
    assert "damaged file" in result.stderr and "truncated" in result.stderr
    assert "damaged files: pages missing (truncated)" in result.stdout
    # Every page read keeps its result, exactly as read from the intact file.
    read = [r for r in records if FailureReason.TRUNCATED not in r["flags"]]
    assert read, "the first half of the file must still be read"
    by_page = {r["page"]: r for r in whole_records}
    for record in read:
        assert {k: record[k] for k in _SAME} == {k: by_page[record["page"]][k] for k in _SAME}
    # The truncated record comes after the last page read.
    assert max(r["page"] for r in truncated) == len(read) + len(truncated)


def test_tiff_with_a_broken_page_directory_in_the_middle(tmp_path):
    """Regression: a 3-page TIFF with a corrupt middle directory silently read 2 pages."""
    data = SAMPLE_TIFF.read_bytes()
    path = tmp_path / "amplop.tif"
    path.write_bytes(corrupt_tiff_page_directory(data, 3))
    loaded = _loaded(path)
    assert loaded[:2] == [("Page", 1, None), ("Page", 2, None)]
    assert loaded[-1] == ("PageFailure", 3, FailureReason.TRUNCATED)
    (failure,) = [f for f in iter_file_pages(path) if isinstance(f, PageFailure)]
    assert "pages 1-2" in failure.detail and str(path) in failure.detail


def test_tiff_page_whose_pixel_data_is_cut_off_is_truncated(tmp_path):
    image = np.random.default_rng(1).integers(0, 255, (200, 160), dtype=np.uint8)
    whole = tmp_path / "whole.tif"
    tifffile.imwrite(whole, image)
    cut = tmp_path / "cut.tif"
    # tifffile writes the directory first, then the pixels: cut into the pixels.
    cut.write_bytes(whole.read_bytes()[:-1000])
    (failure,) = iter_file_pages(cut)
    assert isinstance(failure, PageFailure)
    assert failure.reason == FailureReason.TRUNCATED and "cut off" in failure.detail


def test_intact_multipage_files_are_not_called_truncated(tmp_path):
    pages = tifffile.TiffFile(SAMPLE_TIFF).pages
    assert tiff_truncation(str(SAMPLE_TIFF), len(pages), list(range(1, len(pages) + 1))) is None
    pdf = tmp_path / "ok.pdf"
    pdf.write_bytes(incremental_pdf(3, 2))
    assert _loaded(pdf) == [("Page", n, None) for n in range(1, 6)]
    # The bundled PDF (written by Pillow): nothing is missing when every page is found.
    sample_pdf = SAMPLE_TIFF.parent / "amplop-001.pdf"
    from pdf2image import pdfinfo_from_path

    found = int(pdfinfo_from_path(str(sample_pdf))["Pages"])
    assert pdf_truncation(str(sample_pdf), found, list(range(1, found + 1))) is None


def test_pdf_cut_after_an_earlier_revision_reports_missing_pages(tmp_path):
    """Regression: a truncated 19-page PDF read 9 pages with no warning at all."""
    data = incremental_pdf(9, 10)
    path = tmp_path / "amplop.pdf"
    path.write_bytes(data[: int(len(data) * 0.8)])
    loaded = _loaded(path)
    assert loaded[:9] == [("Page", n, None) for n in range(1, 10)]
    assert loaded[9:] == [("PageFailure", 10, FailureReason.TRUNCATED)]
    failure = list(iter_file_pages(path))[-1]
    assert "19 pages, 9 found" in failure.detail and "10 pages missing" in failure.detail
    assert "pages 1-9" in failure.detail


def test_pdf_without_its_end_is_truncated(tmp_path):
    path = tmp_path / "amplop.pdf"
    # Cut just after the first revision's end: no newer page tree to count.
    path.write_bytes(incremental_pdf(2, 1)[: len(incremental_pdf(2, 0)) + 12])
    failure = list(iter_file_pages(path))[-1]
    assert isinstance(failure, PageFailure) and failure.reason == FailureReason.TRUNCATED
    assert "%%EOF" in failure.detail
    assert [type(p) for p in iter_file_pages(path)][:2] == [Page, Page]


def test_truncated_pdf_reaches_summary_and_export(run_cli, tmp_path):
    data = incremental_pdf(3, 2)
    path = tmp_path / "amplop.pdf"
    path.write_bytes(data[: len(data) - 200])
    result, records = _score(run_cli, tmp_path, "cut", path)
    assert result.exit_code == 0, result.stderr
    assert [r["page"] for r in records] == [1, 2, 3, 4]
    assert records[-1]["flags"] == [FailureReason.TRUNCATED] and records[-1]["review"] is True
    assert "damaged files: pages missing (truncated)" in result.stdout


def test_empty_files_with_different_names_are_all_reported(run_cli, tmp_path):
    """Regression: zero-byte files collapsed into one 'same page given twice'."""
    for name in ("a.tif", "b.tif", "c.pdf"):
        (tmp_path / name).write_bytes(b"")
    result, records = _score(
        run_cli, tmp_path, "empty", tmp_path / "a.tif", tmp_path / "b.tif", tmp_path / "c.pdf"
    )
    assert result.exit_code == 0, result.stderr
    assert [Path(r["source"]).name for r in records] == ["a.tif", "b.tif", "c.pdf"]
    assert all(r["flags"] == ["empty_file"] for r in records)
    assert "same page given twice" not in result.stdout


def test_control_characters_in_file_names_are_escaped(run_cli, tmp_path, monkeypatch):
    """Regression: terminal escape sequences in a file name reached the terminal raw."""
    monkeypatch.chdir(tmp_path)  # a short relative name: the table shows it whole
    name = "s\x1b[2J\x07.tif"
    Path(name).write_bytes(b"")
    result, records = _score(run_cli, Path("."), "ctl", Path(name))
    assert result.exit_code == 0
    printed = result.stdout + result.stderr
    assert "\x1b" not in printed and "\x07" not in printed
    assert "\\x1b[2J" in printed and "\\x07" in printed
    # The export keeps the real name: it is data, not terminal output.
    assert records[0]["source"].endswith(name)


def test_error_messages_escape_control_characters(run_cli, tmp_path):
    key = tmp_path / "kunci\x1b[31m.json"
    key.write_text("{", "utf-8")
    (tmp_path / "a.tif").write_bytes(b"")
    result = run_cli("score", tmp_path / "a.tif", "--key", key, "--db", tmp_path / "s.sqlite")
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr and "kunci\\x1b[31m.json" in result.stderr


def test_rescore_reads_back_every_load_failure(run_cli, tmp_path):
    """Regression: rescore crashed (ValueError) on a store holding an 'empty_file' failure."""
    from _hostile_helpers import KEYS

    (tmp_path / "a.tif").write_bytes(b"")
    (tmp_path / "b.txt.tif").write_text("not an image")
    result, _ = _score(run_cli, tmp_path, "s", tmp_path / "a.tif", tmp_path / "b.txt.tif")
    assert result.exit_code == 0, result.stderr
    rescored = run_cli("rescore", "--db", tmp_path / "s.sqlite", "--key", KEYS[0])
    assert rescored.exit_code == 0, rescored.stderr
    assert "kept" in rescored.stdout
