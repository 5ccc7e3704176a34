"""Command-line options several commands share, defined once (score, rescore, export, watch, calibrate)."""

from __future__ import annotations

from pathlib import Path

import click

from ..batch import default_workers
from ..store import DEFAULT_STORE
from ..template import DEFAULT_TEMPLATE

__all__ = [
    "key_option",
    "db_option",
    "workers_option",
    "template_option",
    "calibration_option",
    "attendance_option",
]

key_option = click.option(
    "--key",
    "key_files",
    multiple=True,
    required=True,
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Answer key JSON of one paket (paketA.json, paketB.json, susulan.json); repeat for "
    'each paket. Minimal form: {"paket": "A", "answers": ["B", "D", ...]}.',
)

db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(DEFAULT_STORE),
    help=f"Results store (SQLite file). Default: {DEFAULT_STORE} in the current folder.",
)

workers_option = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes reading files in parallel. Default: one per core "
    f"({default_workers()} here); 1 reads in this process.",
)

template_option = click.option(
    "--template",
    "template_name",
    default=DEFAULT_TEMPLATE,
    show_default=True,
    help="Template of the sheets: a template JSON file or a bundled template id.",
)

calibration_option = click.option(
    "--calibration",
    "calibration_file",
    default=None,
    metavar="NAME|FILE",
    help="Reading thresholds: the name of a bundled calibration (default: 'default') "
    "or a calibration JSON file, as `ljun calibrate` writes.",
)

attendance_option = click.option(
    "--attendance",
    "attendance_files",
    multiple=True,
    metavar="LIST.csv|FOLDER",
    type=click.Path(exists=True, path_type=Path),
    help="Attendance list CSV with a nomor_peserta column, or a folder of them "
    "(every *.csv in it); repeat for more. Absent participants and sheets "
    "not on any list are reported.",
)
