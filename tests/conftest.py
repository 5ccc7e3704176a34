"""Shared fixtures: the bundled template, the repo root, and a CLI runner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

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
