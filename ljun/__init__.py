"""ljun: scanned LJUN answer sheets in, scores and competency grades out.

The public surface is what ``__all__`` names; modules whose names start with
``_`` are internal.  The data flow (ARCHITECTURE.md §2) is::

    load pages -> register -> read -> decode -> score -> store / review / export
                                                      -> grade
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Two public functions share their name with the module that defines them:
# bound now, so ``ljun.grade`` and ``ljun.register`` are always the functions
# (a later ``import ljun.grade._x`` does not set the attribute again).
from .grade import grade
from .register import register

if TYPE_CHECKING:
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
    from .grade import GradingReport, GradingRules, load_rules
    from .keys import AnswerKey, AnswerKeySet, load_answer_key, load_answer_keys
    from .load import iter_pages, list_scan_files
    from .pipeline import read_sheet
    from .records import IDENTITY_FIELDS, RESULT_KEYS, Page, PageFailure, SheetReading
    from .register import Registration, RegistrationFailure
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

#: Where each public name lives.  They are imported on first use (PEP 562),
#: so ``import ljun.pipeline`` in a worker, or ``ljun score`` at start-up,
#: does not also import grading, exports and the store.
_HOMES = {
    "LjunError": "errors",
    "TemplateError": "errors",
    "AnswerKeyError": "errors",
    "CalibrationError": "errors",
    "InputFileError": "errors",
    "ScoresFileError": "errors",
    "StoreError": "errors",
    "Page": "records",
    "PageFailure": "records",
    "SheetReading": "records",
    "RESULT_KEYS": "records",
    "IDENTITY_FIELDS": "records",
    "Template": "template",
    "BubbleGeometry": "template",
    "load_template": "template",
    "check_template": "template",
    "Calibration": "calibration",
    "load_calibration": "calibration",
    "iter_pages": "load",
    "list_scan_files": "load",
    "Registration": "register",
    "RegistrationFailure": "register",
    "read_sheet": "pipeline",
    "AnswerKey": "keys",
    "AnswerKeySet": "keys",
    "load_answer_key": "keys",
    "load_answer_keys": "keys",
    "ScoredSheet": "score",
    "score_sheet": "score",
    "ResultsStore": "store",
    "open_store": "store",
    "GradingRules": "grade",
    "GradingReport": "grade",
    "load_rules": "grade",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'ljun' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value  # next time without this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
