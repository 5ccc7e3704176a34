"""``ljun score``, ``ljun rescore`` and ``ljun export`` through the command line."""

from __future__ import annotations

import csv
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from _score_helpers import KEY_A, key_document, write_key, write_keys

from ljun.records import RESULT_KEYS

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_SCANS = REPO_ROOT / "samples" / "scans"
KEY_NAMES = ("paketA.json", "paketB.json", "susulan.json")


def _key_options(folder: Path) -> list[str]:
    options = []
    for name in KEY_NAMES:
        if (folder / name).is_file():
            options += ["--key", str(folder / name)]
    return options


def _by_relative_source(records, root: Path):
    return {(Path(r["source"]).relative_to(root).as_posix(), r["page"]): r for r in records}


def _read_jsonl(path: Path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def generated_set(tmp_path_factory):
    """Eight easy generated sheets plus a blank page, two TIFF files, keys, attendance."""
    from ljun.samples import make_samples
    from ljun.template import load_template

    folder = tmp_path_factory.mktemp("generated")
    make_samples(
        load_template("ljun-teori-kejuruan"),
        folder,
        count=8,
        seed=21,
        level="easy",
        fmt="tiff",
        pages_per_file=5,
        include_special_pages=False,
    )
    return folder


# --------------------------------------------------------------------------- help and usage


@pytest.mark.parametrize("command", ["score", "rescore", "export"])
def test_help(run_cli, command):
    result = run_cli(command, "--help")
    assert result.exit_code == 0
    assert f"Usage: ljun {command}" in result.stdout
    assert "--db" in result.stdout and "ljun.sqlite" in result.stdout


def test_score_help_states_the_defaults(run_cli):
    text = " ".join(run_cli("score", "--help").stdout.split())
    assert "Default: ljun.sqlite in the current folder" in text
    assert "Default: one per core" in text


def test_missing_key_file_is_named(run_cli, tmp_path):
    scan = tmp_path / "scan.tif"
    scan.write_bytes(b"II*\x00")
    result = run_cli(
        "score", scan, "--key", tmp_path / "paketA.json", "--db", tmp_path / "db.sqlite"
    )
    assert result.exit_code == 2
    assert f"answer key {tmp_path / 'paketA.json'}: no such file" in result.stderr
    assert not (tmp_path / "db.sqlite").exists()


def test_malformed_key_is_named_with_its_problem(run_cli, tmp_path):
    answers = list(KEY_A)
    answers[4] = "Z"
    bad = write_key(tmp_path, "paketB.json", key_document("B", answers))
    good = write_key(tmp_path, "paketA.json", key_document("A"))
    result = run_cli("score", tmp_path, "--key", good, "--key", bad, "--db", tmp_path / "db.sqlite")
    assert result.exit_code == 2
    assert str(bad) in result.stderr and "$.answers[4] (entry 5)" in result.stderr
    assert result.stdout == ""


def test_key_with_too_few_answers_for_the_sheet(run_cli, tmp_path):
    short = write_key(tmp_path, "paketA.json", key_document("A", KEY_A[:39]))
    result = run_cli("score", tmp_path, "--key", short, "--db", tmp_path / "db.sqlite")
    assert result.exit_code == 2
    assert "39 answers" in result.stderr and "40 answer rows" in result.stderr


def test_two_keys_for_one_paket(run_cli, tmp_path):
    first = write_key(tmp_path, "paketA.json", key_document("A"))
    second = write_key(tmp_path, "paketA2.json", key_document("A"))
    result = run_cli("score", tmp_path, "--key", first, "--key", second)
    assert result.exit_code == 2 and "Paket A already has a key" in result.stderr


def test_key_is_required(run_cli, tmp_path):
    result = run_cli("score", tmp_path)
    assert result.exit_code == 2 and "--key" in result.stderr


def test_missing_scan_path(run_cli, tmp_path):
    (key,) = write_keys(tmp_path)[:1]
    result = run_cli("score", tmp_path / "nowhere", "--key", key)
    assert result.exit_code == 2 and "nowhere" in result.stderr


def test_folder_without_scans(run_cli, tmp_path):
    (tmp_path / "keys").mkdir()
    (tmp_path / "inbox").mkdir()
    keys = write_keys(tmp_path / "keys")
    result = run_cli("score", tmp_path / "inbox", "--key", keys[0], "--db", tmp_path / "db.sqlite")
    assert result.exit_code == 2 and "no scan files" in result.stderr


def test_unknown_output_format(run_cli, tmp_path):
    keys = write_keys(tmp_path)
    result = run_cli("score", tmp_path, "--key", keys[0], "--out", tmp_path / "results.txt")
    assert result.exit_code == 2 and "--out" in result.stderr and ".csv" in result.stderr


def test_bad_attendance_list(run_cli, tmp_path):
    keys = write_keys(tmp_path)
    listing = tmp_path / "hadir.csv"
    listing.write_text("nama\nANI\n", encoding="utf-8")
    result = run_cli(
        "score", tmp_path, "--key", keys[0], "--attendance", listing, "--db", tmp_path / "db.sqlite"
    )
    assert result.exit_code == 2 and "no nomor_peserta column" in result.stderr


def test_rescore_needs_an_existing_store(run_cli, tmp_path):
    keys = write_keys(tmp_path)
    result = run_cli("rescore", "--db", tmp_path / "none.sqlite", "--key", keys[0])
    assert result.exit_code == 2 and "none.sqlite: no such file" in result.stderr
    assert not (tmp_path / "none.sqlite").exists()


def test_export_of_an_unknown_batch(run_cli, tmp_path):
    from ljun.store import open_store

    open_store(tmp_path / "ljun.sqlite").close()
    result = run_cli(
        "export", "--db", tmp_path / "ljun.sqlite", "--out", tmp_path / "r.csv", "--batch", "7"
    )
    assert result.exit_code == 2 and "no batch 7" in result.stderr


# --------------------------------------------------------------------------- end to end


def test_score_generated_sheets_end_to_end(run_cli, generated_set, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default --db is ljun.sqlite here
    attendance = sorted((generated_set / "daftar_hadir").glob("*.csv"))
    out = tmp_path / "results.jsonl"
    options = [a for path in attendance for a in ("--attendance", path)]
    result = run_cli(
        "score",
        generated_set,
        *_key_options(generated_set),
        "--workers",
        "1",
        "--out",
        out,
        *options,
    )
    assert result.exit_code == 0, result.stderr
    assert "Batch 1" in result.stdout and "wrote 8 records" in result.stdout
    assert (tmp_path / "ljun.sqlite").is_file()

    records = _read_jsonl(out)
    assert all(tuple(r) == RESULT_KEYS for r in records)
    truth = _by_relative_source(_read_jsonl(generated_set / "truth.jsonl"), Path("."))
    found = _by_relative_source(records, generated_set)
    assert set(found) == set(truth)
    checked = 0
    for where, record in found.items():
        if not record["review"]:
            expected = truth[where]
            assert (record["correct"], record["score"]) == (
                expected["correct"],
                expected["score"],
            ), where
            assert record["nomor_peserta"] == expected["nomor_peserta"]
            checked += 1
    assert checked >= 4  # an easy set: most sheets need no review

    # Running the same folder again updates the sheets, it does not add them.
    again = run_cli("score", generated_set, *_key_options(generated_set), "--workers", "1")
    assert again.exit_code == 0, again.stderr
    with sqlite3.connect(tmp_path / "ljun.sqlite") as db:
        assert db.execute("SELECT count(*) FROM pages").fetchone()[0] == 8
        assert (
            db.execute("SELECT count(*) FROM batches WHERE status = 'complete'").fetchone()[0] == 2
        )

    # Cancel item 1 of every key: every scored sheet gains the point unless it had it.
    corrected = []
    for name in KEY_NAMES:
        document = json.loads((generated_set / name).read_text(encoding="utf-8"))
        document["cancelled"] = [1]
        corrected += ["--key", write_key(tmp_path, name, document)]
    csv_out = tmp_path / "rescored.csv"
    rescored = run_cli("rescore", *corrected, "--out", csv_out, "--comma")
    assert rescored.exit_code == 0, rescored.stderr
    assert "sheets rescored" in rescored.stdout
    with open(csv_out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 8
    for row in rows:
        source = Path(row["source"]).relative_to(generated_set).as_posix()
        before = found[(source, int(row["page"]))]
        if before["correct"] is None:
            continue
        had_item_1 = before["answers"][0] == truth_key(generated_set, before["paket"])[0]
        assert int(row["correct"]) == before["correct"] + (0 if had_item_1 else 1)
        expected = (Decimal(int(row["correct"])) * 10 / 40).quantize(Decimal("0.01"))
        assert row["score"] == str(expected).replace(".", ",")


def truth_key(folder: Path, paket: str) -> list[str]:
    name = {"A": "paketA.json", "B": "paketB.json", "S": "susulan.json"}[paket]
    return json.loads((folder / name).read_text(encoding="utf-8"))["answers"]


def test_export_command_writes_every_format(run_cli, generated_set, tmp_path):
    db = tmp_path / "store.sqlite"
    assert (
        run_cli(
            "score", generated_set, *_key_options(generated_set), "--workers", "1", "--db", db
        ).exit_code
        == 0
    )
    for suffix in (".csv", ".jsonl", ".xlsx"):
        out = tmp_path / f"export{suffix}"
        result = run_cli("export", "--db", db, "--out", out, "--batch", "1")
        assert result.exit_code == 0, result.stderr
        assert out.stat().st_size > 0 and "wrote 8 records" in result.stdout


@pytest.mark.skipif(
    not (BUNDLED_SCANS / "truth.jsonl").is_file(),
    reason="the bundled samples/scans/ set is not there yet",
)
def test_bundled_samples_reproduce_their_truth(run_cli, tmp_path):
    out = tmp_path / "results.jsonl"
    result = run_cli(
        "score",
        BUNDLED_SCANS,
        *_key_options(BUNDLED_SCANS),
        "--db",
        tmp_path / "ljun.sqlite",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.stderr
    truth = _by_relative_source(_read_jsonl(BUNDLED_SCANS / "truth.jsonl"), Path("."))
    found = _by_relative_source(_read_jsonl(out), BUNDLED_SCANS)
    assert set(found) == set(truth)
    wrong = [
        where
        for where, record in found.items()
        if not record["review"]
        and (record["correct"], record["score"]) != (truth[where]["correct"], truth[where]["score"])
    ]
    assert wrong == []


def test_results_file_is_written_even_when_stdout_is_closed_early(tmp_path, repo_root):
    """Regression: `ljun score ... | head` lost --out, the summary came first."""
    import subprocess
    import sys

    samples = repo_root / "samples" / "scans"
    out = tmp_path / "results.csv"
    command = (
        f"{sys.executable} -m ljun score {samples / 'amplop-004.tif'} "
        f"--key {samples / 'paketA.json'} --key {samples / 'paketB.json'} --key {samples / 'susulan.json'} "
        f"--workers 1 --db {tmp_path / 'ljun.sqlite'} --out {out} | head -1"
    )
    subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, check=True, timeout=300, capture_output=True
    )
    assert len(out.read_text().splitlines()) == 1 + 3


def test_attendance_folder_means_every_list_in_it(run_cli, generated_set, tmp_path):
    """Regression: `--attendance daftar_hadir/*.csv` took only the first list; the
    other lists became scans. A folder now gives every list in it."""
    by_files = [
        a
        for p in sorted((generated_set / "daftar_hadir").glob("*.csv"))
        for a in ("--attendance", p)
    ]
    summaries = []
    for n, options in enumerate((by_files, ["--attendance", generated_set / "daftar_hadir"])):
        result = run_cli(
            "score",
            generated_set,
            *_key_options(generated_set),
            "--workers",
            "1",
            "--db",
            tmp_path / f"s{n}.sqlite",
            *options,
        )
        assert result.exit_code == 0, result.stderr
        summaries.append(
            [
                line
                for line in result.stdout.splitlines()
                if line.startswith("│") and ("attendance" in line or "not on any list" in line)
            ]
        )
    assert summaries[0] == summaries[1] and len(summaries[1]) == 2
    assert any(
        "sheets not on any list" in line and line.rstrip(" │").endswith(" 0")
        for line in summaries[1]
    )


def test_broken_tiff_is_reported_once_not_by_tifffile_workers(tmp_path, repo_root):
    """Regression: worker processes let tifffile print its own warning for a broken file."""
    import subprocess
    import sys

    samples = repo_root / "samples" / "scans"
    scans = tmp_path / "scans"
    scans.mkdir()
    good = (samples / "amplop-004.tif").read_bytes()
    (scans / "good.tif").write_bytes(good)
    (scans / "truncated.tif").write_bytes(good[:300_000])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ljun",
            "score",
            str(scans),
            *[
                a
                for k in ("paketA", "paketB", "susulan")
                for a in ("--key", str(samples / f"{k}.json"))
            ],
            "--workers",
            "2",
            "--db",
            str(tmp_path / "ljun.sqlite"),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "truncated" in done.stdout
    assert "tifffile" not in done.stderr.lower()
