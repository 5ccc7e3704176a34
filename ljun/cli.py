"""The ``ljun`` command line.

Every command is a thin call into the library; the commands themselves live in
``ljun/_cli/<command>.py`` and are added to :data:`cli` here.  Library errors
(:class:`~ljun.errors.LjunError`) become one clear line on stderr and exit
code 2; usage errors get click's usage message and exit code 2; a file that
cannot be written (:class:`~ljun.errors.OutputError`: full disk, unwritable
folder) exits with :data:`EXIT_IO` (74).  Control characters in messages are
shown escaped (:func:`ljun._safe.printable`).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import click

from . import __version__
from ._io import output_error
from ._safe import printable
from .errors import LjunError, OutputError

__all__ = ["cli", "main"]

#: Exit code for bad arguments, bad input files and library errors.
EXIT_USAGE = 2

#: Exit code when a file cannot be written (full disk, unwritable folder):
#: ``EX_IOERR`` of sysexits.h.
EXIT_IO = 74


#: Each command and the module of ``ljun/_cli`` that defines it.  A command's
#: module is imported when the command runs (or ``ljun --help`` lists it), so
#: ``ljun status`` does not import the reading stack and ``ljun score`` does
#: not import the review server.
COMMAND_MODULES = {
    "score": "score",
    "rescore": "score",
    "export": "score",
    "samples": "samples",
    "template": "template",
    "grade": "grade",
    "certificates": "certificates",
    "report": "report",
    "review": "review",
    "users": "users",
    "audit": "audit",
    "bench": "bench",
    "watch": "watch",
    "status": "status",
    "calibrate": "calibrate",
}


class _CommandsOnDemand(click.Group):
    """A click group whose commands are imported from their modules when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is None:
            return None
        commands = importlib.import_module(f"{__package__}._cli.{module}").COMMANDS
        return next(command for command in commands if command.name == cmd_name)


@click.group(
    cls=_CommandsOnDemand,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="ljun")
def cli() -> None:
    """Scanned LJUN answer sheets in, scores and competency grades out.

    Typical use at a province office: score a scanner batch against the
    Paket A/B/Susulan keys, let operators review what the machine is unsure
    of, then merge theory with practical scores into competency grades.
    Run ``ljun COMMAND --help`` for each command.
    """


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    from .load import quiet_tifffile

    quiet_tifffile()
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="ljun",
            standalone_mode=False,
        )
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("ljun: aborted", err=True)
        return 130
    except OutputError as exc:
        click.echo(f"ljun: error: {printable(exc, keep_newlines=True)}", err=True)
        return EXIT_IO
    except LjunError as exc:
        click.echo(f"ljun: error: {printable(exc, keep_newlines=True)}", err=True)
        return EXIT_USAGE
    except OSError as exc:
        # Not turned into an OutputError where it happened: still one line, not a traceback.
        where = exc.filename or (
            "standard output" if isinstance(exc, BrokenPipeError) else "a file (name unknown)"
        )
        click.echo(f"ljun: error: {printable(output_error(where, exc))}", err=True)
        return EXIT_IO
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
