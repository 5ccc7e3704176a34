"""Shared fixtures: the bundled template, the repo root, and a CLI runner."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

# Cached sampling patterns (ljun._cache) go to a folder of this test run, not
# the user's ~/.cache; child processes (CLI tests, workers) inherit it.
os.environ["LJUN_CACHE_DIR"] = tempfile.mkdtemp(prefix="ljun-test-cache-")

from ljun.cli import main
from ljun.template import DEFAULT_TEMPLATE, Template, load_template

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def ljun_template() -> Template:
    """The bundled LJUN Teori Kejuruan template."""
    return load_template(REPO_ROOT / "templates" / "answer_sheets" / f"{DEFAULT_TEMPLATE}.json")


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``ljun ARGS...`` in-process through :func:`ljun.cli.main`."""

    def run(*args: object) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


# --------------------------------------------------------------------------- review page

#: The bundled sample envelope of single-page PNGs: one sheet with unsure name
#: columns (001), a page that is not this form (010), one unsure answer (013).
REVIEW_SAMPLES = ("001.png", "010.png", "013.png")


@pytest.fixture(scope="session")
def review_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results store with three sample sheets scored (all three go to review;
    001.png with a pencil spot, :func:`_pencil_spot`),
    operators ``sari`` and ``budi`` and a supervisor ``kepala`` (password
    ``_review_helpers.PASSWORD``).

    The scans are copies in a temporary folder; tests copy the store itself
    (:func:`review_store`, :func:`review_server`).
    """
    import shutil

    from _review_helpers import PASSWORD, copy_unsure_sample

    from ljun.review.auth import add_user
    from ljun.store import open_store

    folder = tmp_path_factory.mktemp("review")
    scans = folder / "scans"
    scans.mkdir()
    samples = REPO_ROOT / "samples" / "scans"
    for name in REVIEW_SAMPLES:
        shutil.copy(samples / "amplop-003" / name, scans / name)
    # 013's question 2 would read surely now: residue beside it keeps it unsure.
    copy_unsure_sample(samples / "amplop-003" / "013.png", scans / "013.png")
    _pencil_spot(scans / "001.png")
    db = folder / "ljun.sqlite"
    keys = [
        arg for k in ("paketA", "paketB", "susulan") for arg in ("--key", samples / f"{k}.json")
    ]
    code = main(["score", str(scans), *map(str, keys), "--db", str(db), "--workers", "1"])
    assert code == 0
    with open_store(db, create=False) as store:
        add_user(store.connection, "sari", PASSWORD, by="test")
        add_user(store.connection, "budi", PASSWORD, by="test")
        add_user(store.connection, "kepala", PASSWORD, role="supervisor", by="test")
    return db


def _pencil_spot(path: Path) -> None:
    """A faint pencil spot (20 pixels, 0.3 mm²) by the letter of bubble R
    in the name's blank column 6 of sample amplop-003/001.png (1-bit,
    200 dpi): the column still reads blank, unsure, and the sheet goes to
    review with the one identity item ``nama:6``, as the review tests need.
    (Read as printed, the column is blank surely since the closer look
    knows the printed letters, and the sheet needs no review.)"""
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        dpi = image.info.get("dpi")
        spotted = image.convert("L")
    y, x = np.mgrid[: spotted.height, : spotted.width]
    spot = (x - 390.6) ** 2 + (y - 1214.6) ** 2 <= 2.5**2
    spotted = Image.fromarray(np.where(spot, 0, np.asarray(spotted)).astype(np.uint8))
    spotted.convert("1", dither=Image.Dither.NONE).save(path, dpi=dpi)


def _fresh_copy(template: Path, db: Path) -> None:
    import shutil

    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy(template, db)


@pytest.fixture
def review_store(review_store_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of :func:`review_store_template`."""
    db = tmp_path / "ljun.sqlite"
    _fresh_copy(review_store_template, db)
    return db


@pytest.fixture(scope="module")
def _review_live(review_store_template: Path, tmp_path_factory: pytest.TempPathFactory):
    from _review_helpers import start_server

    folder = tmp_path_factory.mktemp("live")
    db = folder / "ljun.sqlite"
    _fresh_copy(review_store_template, db)
    server = start_server(db, folder / "server.log")
    yield server
    server.stop()


@pytest.fixture
def review_server(_review_live, review_store_template: Path):
    """``ljun review`` on a free localhost port, serving a fresh copy of
    :func:`review_store_template` (the server opens the store per request, so
    the file is simply replaced between tests)."""
    _fresh_copy(review_store_template, _review_live.db)
    return _review_live
