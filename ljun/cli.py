"""The ``ljun`` command line.

Every command is a thin call into the library; the commands themselves live in
``ljun/_cli/<command>.py`` and are added to :data:`cli` here.  Library errors
(:class:`~ljun.errors.LjunError`) become one clear line on stderr and exit
code 2; usage errors get click's usage message and exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from . import __version__
from ._cli import calibrate as _calibrate
from ._cli import grade as _grade
from ._cli import samples as _samples
from ._cli import score as _score
from ._cli import template as _template
from .errors import LjunError
from .load import quiet_tifffile

__all__ = ["cli", "main"]

#: Exit code for bad arguments, bad input files and library errors.
EXIT_USAGE = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="ljun")
def cli() -> None:
    """Scanned LJUN answer sheets in, scores and competency grades out.

    Typical use at a province office: score a scanner batch against the
    Paket A/B/Susulan keys, let operators review what the machine is unsure
    of, then merge theory with practical scores into competency grades.
    Run ``ljun COMMAND --help`` for each command.
    """


for _module in (_score, _samples, _template, _grade, _calibrate):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
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
    except LjunError as exc:
        click.echo(f"ljun: error: {exc}", err=True)
        return EXIT_USAGE
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
