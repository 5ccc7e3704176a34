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

import sys
from collections.abc import Sequence

import click

from . import __version__
from ._cli import audit as _audit
from ._cli import bench as _bench
from ._cli import calibrate as _calibrate
from ._cli import certificates as _certificates
from ._cli import grade as _grade
from ._cli import report as _report
from ._cli import review as _review
from ._cli import samples as _samples
from ._cli import score as _score
from ._cli import status as _status
from ._cli import template as _template
from ._cli import users as _users
from ._cli import watch as _watch
from ._io import output_error
from ._safe import printable
from .errors import LjunError, OutputError
from .load import quiet_tifffile

__all__ = ["cli", "main"]

#: Exit code for bad arguments, bad input files and library errors.
EXIT_USAGE = 2

#: Exit code when a file cannot be written (full disk, unwritable folder):
#: ``EX_IOERR`` of sysexits.h.
EXIT_IO = 74


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="ljun")
def cli() -> None:
    """Scanned LJUN answer sheets in, scores and competency grades out.

    Typical use at a province office: score a scanner batch against the
    Paket A/B/Susulan keys, let operators review what the machine is unsure
    of, then merge theory with practical scores into competency grades.
    Run ``ljun COMMAND --help`` for each command.
    """


for _module in (
    _score,
    _samples,
    _template,
    _grade,
    _certificates,
    _report,
    _review,
    _users,
    _audit,
    _bench,
    _watch,
    _status,
    _calibrate,
):
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
