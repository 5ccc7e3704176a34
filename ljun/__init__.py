"""ljun: scanned LJUN answer sheets in, scores and competency grades out.

The public surface is what ``__all__`` names; modules whose names start with
``_`` are internal.  The data flow (DESIGN.md §2) is::

    load pages -> register -> read -> decode -> score -> store / review / export
                                                      -> grade
"""

from __future__ import annotations

from .errors import (
    AnswerKeyError,
    CalibrationError,
    InputFileError,
    LjunError,
    ScoresFileError,
    StoreError,
    TemplateError,
)
from .records import IDENTITY_FIELDS, RESULT_KEYS, Page, PageFailure, SheetReading
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
]
