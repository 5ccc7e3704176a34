"""The command line as a whole: help for every command, usage errors, version."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from ljun import __version__
from ljun.cli import cli


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        path = prefix + (name,)
        found.append(path)
        if isinstance(command, click.Group):
            found += _all_commands(command, path)
    return found


COMMANDS = _all_commands(cli)


def test_the_cli_has_the_foundation_commands():
    assert {
        ("template",),
        ("template", "render"),
        ("template", "geometry"),
        ("template", "check"),
    } <= set(COMMANDS)


def test_every_command_module_is_on_the_command_line():
    """A command added to a module of ljun/_cli but not to COMMAND_MODULES would be unreachable."""
    import importlib
    import pkgutil

    import ljun._cli
    from ljun.cli import COMMAND_MODULES

    defined = {}
    for module in pkgutil.iter_modules(ljun._cli.__path__):
        if not module.name.startswith("_"):
            for command in importlib.import_module(f"ljun._cli.{module.name}").COMMANDS:
                defined[command.name] = module.name
    assert defined == COMMAND_MODULES


def test_a_command_imports_only_what_it_needs():
    """`ljun status` answers without importing the review server or the scoring commands."""
    code = (
        "import sys\n"
        "from ljun.cli import main\n"
        "assert main(['status', '--help']) == 0\n"
        "print(sorted(m for m in ('ljun.review', 'ljun.report', 'ljun.bench', 'ljun._cli.score') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_command_explains_itself(run_cli, path):
    result = run_cli(*path, "--help")
    assert result.exit_code == 0
    assert f"Usage: ljun {' '.join(path)}" in result.stdout
    # A real description, not just the usage line.
    description = result.stdout.split("\n\n", 2)[1].strip()
    assert len(description) > 20, result.stdout


def test_unknown_option_is_a_usage_error(run_cli):
    result = run_cli("template", "geometry", "ljun-teori-kejuruan", "--colour", "red")
    assert result.exit_code == 2
    assert "No such option" in result.stderr and "--colour" in result.stderr
    assert "Usage:" in result.stderr


def test_version(run_cli):
    result = run_cli("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


def test_console_script_runs_as_a_module():
    done = subprocess.run(
        [sys.executable, "-m", "ljun", "template", "check", "ljun-teori-kejuruan"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout


def test_public_surface_names_what_users_import():
    import ljun

    missing = [name for name in ljun.__all__ if not hasattr(ljun, name)]
    assert missing == []
    for name in (
        "read_sheet",
        "load_answer_keys",
        "score_sheet",
        "open_store",
        "grade",
        "iter_pages",
    ):
        assert name in ljun.__all__
