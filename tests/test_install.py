"""An installed ljun works from any folder: the bundled template and calibration ship in the wheel."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed_ljun(tmp_path_factory) -> Path:
    """A fresh virtualenv with ljun installed from a wheel built from this repository.

    The wheel is built without build isolation (no download), and the new
    venv sees the test venv's site-packages for numpy, OpenCV and the rest
    through a ``.pth`` line, so it has every dependency but not the editable
    ljun: only what the wheel carries.
    """
    root = tmp_path_factory.mktemp("install")
    wheels = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(wheels), str(REPO_ROOT)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (wheel,) = wheels.glob("ljun-*.whl")
    target = root / "venv"
    venv.EnvBuilder(with_pip=True).create(target)
    python = target / "bin" / "python"
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (Path(site_packages) / "ljun-test-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", "utf-8"
    )
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return target


def test_the_wheel_scores_a_bundled_sample_from_another_folder(installed_ljun, tmp_path):
    scans = REPO_ROOT / "samples" / "scans"
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    where = subprocess.run(
        [str(installed_ljun / "bin" / "python"), "-c", "import ljun; print(ljun.__file__)"],
        cwd=workdir, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert str(installed_ljun) in where  # the installed copy, not the repository's
    result = subprocess.run(
        [str(installed_ljun / "bin" / "ljun"), "score", str(scans / "amplop-003" / "001.png"),
         "--key", str(scans / "paketA.json"), "--key", str(scans / "paketB.json"),
         "--key", str(scans / "susulan.json"), "--out", "results.csv", "--workers", "1"],
        cwd=workdir, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with open(workdir / "results.csv", newline="", encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    truth = {}
    for line in (scans / "truth.jsonl").read_text("utf-8").splitlines():
        record = json.loads(line)
        truth[(record["source"], record["page"])] = record
    expected = truth[("amplop-003/001.png", 1)]
    assert row["nomor_peserta"] == expected["nomor_peserta"]
    assert row["score"] == f"{expected['score']:.2f}"
    assert (workdir / "ljun.sqlite").is_file()
