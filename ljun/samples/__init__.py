"""Generated scans of filled-in LJUN sheets, with ground truth.

Real scans of filled sheets are confidential and scarce, so tests,
calibration and benchmarks use generated ones whose truth is known.  This is a
product feature (``ljun samples make``): operators use it to try a new
scanner or template, developers for tests and benchmarks.

The pipeline of one sheet::

    invent the student (_truth)  ->  pencil on the printed sheet (_sheet, _pencil)
        ->  the scanner (_scanner)  ->  files a scanner writes (_write)

In memory, for tests and benchmarks::

    >>> from ljun.template import load_template
    >>> from ljun.samples import generate_sheets
    >>> sheets = list(generate_sheets(load_template("ljun-teori-kejuruan"), count=2, seed=7, level="easy"))
    >>> [s.kind for s in sheets], sheets[0].truth["nomor_peserta"].count("-")
    (['ljun', 'ljun'], 6)

On disk: :func:`make_samples` (multi-page TIFF batches per envelope, PDF,
PNG/JPEG, ``truth.jsonl``, answer keys, attendance lists, practical scores).
"""

from __future__ import annotations

from ._errors import SamplesError
from ._generate import (
    MIXED,
    GeneratedSheet,
    bilevel_mode_for,
    generate_sheets,
    make_sheet,
    plan_sheets,
    planned_pages,
)
from ._levels import LEVEL_NAMES, LEVELS, Level, MarkRates, get_level
from ._pencil import Mark
from ._scanner import BILEVEL_MODES, scan_page
from ._sheet import HARD_MARK_KINDS, draw_sheet, printed_sheet
from ._truth import (
    KEY_FILE_NAMES,
    Envelope,
    Participant,
    SheetPlan,
    answer_keys,
    format_nomor_peserta,
    luhn_check_digit,
    score_answers,
)
from ._write import FORMATS, SampleSet, make_samples

__all__ = [
    "GeneratedSheet",
    "generate_sheets",
    "make_sheet",
    "plan_sheets",
    "planned_pages",
    "answer_keys",
    "make_samples",
    "SampleSet",
    "FORMATS",
    "MIXED",
    "draw_sheet",
    "printed_sheet",
    "scan_page",
    "BILEVEL_MODES",
    "bilevel_mode_for",
    "Mark",
    "HARD_MARK_KINDS",
    "SheetPlan",
    "Participant",
    "Envelope",
    "Level",
    "MarkRates",
    "LEVELS",
    "LEVEL_NAMES",
    "get_level",
    "KEY_FILE_NAMES",
    "format_nomor_peserta",
    "luhn_check_digit",
    "score_answers",
    "SamplesError",
]
