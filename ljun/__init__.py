"""ljun: scanned LJUN answer sheets in, scores and competency grades out.

The public surface is what ``__all__`` names; modules whose names start with
``_`` are internal.  The data flow (ARCHITECTURE.md §2) is::

    load pages -> register -> read -> decode -> score -> store / review / export
                                                      -> grade
"""

from __future__ import annotations

from .calibration import Calibration, load_calibration
from .errors import (
    AnswerKeyError,
    CalibrationError,
    InputFileError,
    LjunError,
    ScoresFileError,
    StoreError,
    TemplateError,
)
from .grade import GradingReport, GradingRules, grade, load_rules
from .keys import AnswerKey, AnswerKeySet, load_answer_key, load_answer_keys
from .load import iter_pages, list_scan_files
from .pipeline import read_sheet
from .records import IDENTITY_FIELDS, RESULT_KEYS, Page, PageFailure, SheetReading
from .register import Registration, RegistrationFailure, register
from .score import ScoredSheet, score_sheet
from .store import ResultsStore, open_store
from .template import BubbleGeometry, Template, check_template, load_template

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "LjunError",
    "TemplateError",
    "AnswerKeyError",
    "CalibrationError",
    "InputFileError",
    "ScoresFileError",
    "StoreError",
    "Page",
    "PageFailure",
    "SheetReading",
    "RESULT_KEYS",
    "IDENTITY_FIELDS",
    "Template",
    "BubbleGeometry",
    "load_template",
    "check_template",
    "Calibration",
    "load_calibration",
    "iter_pages",
    "list_scan_files",
    "register",
    "Registration",
    "RegistrationFailure",
    "read_sheet",
    "AnswerKey",
    "AnswerKeySet",
    "load_answer_key",
    "load_answer_keys",
    "ScoredSheet",
    "score_sheet",
    "ResultsStore",
    "open_store",
    "GradingRules",
    "GradingReport",
    "load_rules",
    "grade",
]
