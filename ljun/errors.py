"""The error hierarchy of ljun.

Every error ljun raises derives from :class:`LjunError` and also from the
built-in exception that fits it, so callers can catch either.  A message names
the file, the field and what to do about it.  Stages that can fail on one sheet
do not raise: they return a failure value (see :mod:`ljun.records`), so one bad
sheet never stops a batch.
"""

from __future__ import annotations

__all__ = [
    "LjunError",
    "TemplateError",
    "AnswerKeyError",
    "CalibrationError",
    "InputFileError",
    "ScoresFileError",
    "StoreError",
    "BatchError",
    "AttendanceError",
    "OutputError",
    "StoreOutputError",
]


class LjunError(Exception):
    """Base class of every error raised by ljun."""


class TemplateError(LjunError, ValueError):
    """A sheet template is malformed or inconsistent.

    ``problems`` lists every problem found, one sentence each.
    """

    def __init__(self, message: str, problems: tuple[str, ...] | list[str] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems) or (message,)


class AnswerKeyError(LjunError, ValueError):
    """An answer key file is malformed."""


class CalibrationError(LjunError, ValueError):
    """A calibration file is malformed."""


class InputFileError(LjunError, OSError):
    """A scan or input file cannot be read at all (missing, unreadable)."""


class ScoresFileError(LjunError, ValueError):
    """A practical-scores or report-card CSV has a bad line."""


class StoreError(LjunError, RuntimeError):
    """The results store cannot be opened or written."""


class BatchError(LjunError, RuntimeError):
    """A batch could not be run (a worker process died, no file to read ...)."""


class AttendanceError(LjunError, ValueError):
    """An attendance list CSV is malformed; the message names the file and line."""


class OutputError(LjunError, OSError):
    """A file cannot be written: full disk, unwritable folder, read-only file system.

    The message is one line naming the file and the cause; the CLI exits
    with :data:`ljun.cli.EXIT_IO` (74, ``EX_IOERR`` of sysexits.h), not the
    code for bad arguments.
    """


class StoreOutputError(StoreError, OutputError):
    """The results store cannot be written (disk full, read-only): an :class:`OutputError`."""
