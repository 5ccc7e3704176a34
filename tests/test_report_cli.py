"""``ljun report`` through the command line, on a generated batch; the HTML in a real browser."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

# The planted error: item 30 of paket A, whose key letter is A in this sample set
# (seed 3).  With 21 paket A sheets, the top 27 % are 6 sheets.
PLANTED_ITEM = 30
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """40 easy generated sheets scored with a paket A key whose item 30 is wrong.

    Returns the sample folder, the store, and the true letter of item 30.
    """
    from ljun.cli import main
    from ljun.samples import make_samples
    from ljun.template import load_template

    folder = tmp_path_factory.mktemp("report-batch")
    samples = folder / "scans"
    make_samples(
        load_template("ljun-teori-kejuruan"),
        samples,
        count=40,
        seed=3,
        level="easy",
        dpi=150,
        workers=2,
        include_special_pages=False,
    )
    document = json.loads((samples / "paketA.json").read_text(encoding="utf-8"))
    truth = document["answers"][PLANTED_ITEM - 1]
    document["answers"][PLANTED_ITEM - 1] = "ABCDE"[("ABCDE".index(truth) + 1) % 5]
    wrong = folder / "paketA-wrong.json"
    wrong.write_text(json.dumps(document), encoding="utf-8")
    db = folder / "ljun.sqlite"
    code = main(
        [
            "score",
            str(samples),
            "--key",
            str(wrong),
            "--key",
            str(samples / "paketB.json"),
            "--attendance",
            str(samples / "daftar_hadir"),
            "--db",
            str(db),
            "--workers",
            "2",
            "--no-progress",
        ]
    )
    assert code == 0
    return samples, db, truth


def test_help(run_cli):
    result = run_cli("report", "--help")
    assert result.exit_code == 0
    assert "Usage: ljun report" in result.stdout and "Example:" in result.stdout


def test_report_names_the_planted_key_error(run_cli, planted, tmp_path):
    samples, db, truth = planted
    out = tmp_path / "report.html"
    result = run_cli("report", "--db", db, "--out", out)
    assert result.exit_code == 0, result.stderr
    expected = f"check the key for item {PLANTED_ITEM} (most of the top group chose {truth})"
    assert f"Paket A: {expected}" in result.stdout
    assert result.stdout.count("check the key") == 1
    page = out.read_text(encoding="utf-8")
    assert expected in page
    # Per school and envelope: the generated envelopes and their attendance check.
    for envelope in sorted(samples.glob("amplop-*.tif")):
        assert envelope.name in page


def test_rescoring_with_the_right_key_clears_the_check(run_cli, planted, tmp_path):
    samples, db, _ = planted
    copy = tmp_path / "ljun.sqlite"
    shutil.copyfile(db, copy)
    assert run_cli("rescore", "--db", copy, "--key", samples / "paketA.json").exit_code == 0
    out = tmp_path / "report.xlsx"
    result = run_cli("report", "--db", copy, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "check the key" not in result.stdout
    book = load_workbook(out)
    assert book["Key checks"].max_row == 1 or all(
        "check the key" not in str(row[-1])
        for row in book["Key checks"].iter_rows(min_row=2, values_only=True)
    )
    summary = {r[0]: r for r in book["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["sheets"][1] == 40
    assert summary["Paket A"][3] + summary["Paket B"][3] == 40


def test_report_filters(run_cli, planted, tmp_path):
    _, db, _ = planted
    out = tmp_path / "b.xlsx"
    result = run_cli("report", "--db", db, "--paket", "B", "--batch", "1", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "1 group(s): Paket B" in result.stdout
    assert load_workbook(out).sheetnames[2] == "Items Paket B"


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--out", "r.pdf"], "suffix"),
        (["--out", "r.html", "--paket", "C"], "A, B or S"),
        (["--out", "r.html", "--kode", "12"], "4 digits"),
        (["--out", "r.html", "--batch", "99"], "no batch 99"),
        (["--out", "r.html", "--paket", "S"], "no sheet matches --paket S"),
    ],
)
def test_bad_arguments_exit_2(run_cli, planted, tmp_path, arguments, message):
    _, db, _ = planted
    arguments = [str(tmp_path / a) if a.startswith("r.") else a for a in arguments]
    result = run_cli("report", "--db", db, *arguments)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())


def test_missing_store_exit_2(run_cli, tmp_path):
    result = run_cli("report", "--db", tmp_path / "none.sqlite", "--out", tmp_path / "r.html")
    assert result.exit_code == 2
    assert "none.sqlite: no such file" in result.stderr


# --------------------------------------------------------------------------- real browser


def _browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (bash .ci/install installs it)")
    return sync_api


# A phone and a desktop window, in CSS pixels.
WIDTHS = (390, 1280)


def test_html_renders_in_chromium(run_cli, planted, tmp_path):
    sync_api = _browser()
    _, db, _ = planted
    out = tmp_path / "report.html"
    assert run_cli("report", "--db", db, "--out", out, "--comma").exit_code == 0
    problems: list[str] = []
    requests: list[str] = []
    seen = {}
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for width in WIDTHS:
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))
                page.on("request", lambda r: requests.append(r.url))
                page.goto(out.as_uri())
                page.wait_for_load_state("load")
                seen[width] = {
                    "plots": page.eval_on_selector_all(
                        "svg", "els => els.map(e => e.getBoundingClientRect().width)"
                    ),
                    "overflow": page.evaluate(
                        "document.documentElement.scrollWidth - "
                        "document.documentElement.clientWidth"
                    ),
                    "heading": page.inner_text("h1"),
                }
                page.screenshot(path=str(tmp_path / f"report-{width}.png"), full_page=True)
            pdf = page.pdf(format="A4")
        finally:
            browser.close()
    assert problems == []
    assert set(requests) == {out.as_uri()}  # nothing but the file itself
    for width, found in seen.items():
        assert found["heading"] == "LJUN item analysis"
        assert len(found["plots"]) == 5 and all(0 < w <= width for w in found["plots"])
        assert found["overflow"] <= 0  # wide tables scroll inside their box, not the page
        assert (tmp_path / f"report-{width}.png").stat().st_size > 10_000
    assert pdf.startswith(b"%PDF")
