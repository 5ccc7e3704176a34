"""Scoring: a sheet reading and the batch's answer keys in, a scored sheet out.

A pure stage (ARCHITECTURE.md §2): no I/O.  The key is chosen by the paket the
sheet reads (and its kode kompetensi where keys are per competency); the
score is ``correct / items * 10`` rounded to 2 decimals half up with
:mod:`decimal` (:func:`ljun.numbers.round_half_up`).  Blank (``""``) and
multi-marked (``"*"``) items score 0; a cancelled item scores 1 on every
sheet.  A sheet that could not be read, or whose paket has no key, has no
score and goes to review with the reason in its flags.

Flags added here (besides the reading's own; the same words as
:mod:`ljun.pipeline` where the meaning is the same, so a flag the pipeline
already gave is not repeated):

``no_key:<paket>``
    The batch has no key for the sheet's paket (e.g. ``no_key:S``).
``paket_from_barcode``
    The paket bubble was blank or double, the barcode's paket was used.
``no_paket`` / ``multi_mark:paket:1``
    No paket bubbled (or more than one) and none in the barcode: no key.
``barcode_paket_mismatch``
    The barcode (``LJUN-<paket>-<serial>``) names another paket than the
    bubbles; the bubbled paket is used and a person must check.
``invalid:kode_kompetensi``
    A fully read kode kompetensi that is not in the Lampiran 2 list.

>>> from ljun.keys import AnswerKeySet, parse_answer_key
>>> keys = AnswerKeySet.from_keys([parse_answer_key({"paket": "A", "answers": ["B", "D", "A", "C"]})])
>>> reading = SheetReading(source="s.tif", page=1, template="t", paket="A",
...                        answers=("B", "D", "*", ""))
>>> scored = score_sheet(reading, keys)
>>> scored.correct, scored.score, scored.review
(2, Decimal('5.00'), False)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .decode import barcode_paket
from .keys import AnswerKey, AnswerKeySet
from .kompetensi import competency_codes
from .numbers import SCORE_MAX, round_half_up
from .records import SheetReading
from .vocabulary import PAKETS, UNREAD, Flag

__all__ = [
    "ScoredSheet",
    "count_correct",
    "score_value",
    "score_sheet",
    "with_flags",
    "add_flags",
]


@dataclass(frozen=True, eq=False)
class ScoredSheet:
    """A reading with its score and final flags.

    Attributes
    ----------
    reading : SheetReading
        What the pipeline read.
    key : AnswerKey or None
        The key that scored it; ``None`` when it could not be scored.
    correct : int or None
        Items right (cancelled items count as right); ``None`` when unscored.
    score : Decimal or None
        ``correct / items * 10``, exactly 2 decimals; ``None`` when unscored.
    flags : tuple of str
        The reading's flags, then those added by scoring (and by batch
        reconciliation, see :func:`with_flags`), each once.
    review : bool
        Whether a person must look at the sheet.
    """

    reading: SheetReading
    key: AnswerKey | None
    correct: int | None
    score: Decimal | None
    flags: tuple[str, ...]
    review: bool

    def record(self) -> dict[str, Any]:
        """The result record (ARCHITECTURE.md §3), keys in ``RESULT_KEYS`` order.

        ``answers`` and ``flags`` are lists, ``score`` a :class:`~decimal.Decimal`
        with 2 decimals (or ``None``), ``correct`` an int (or ``None``).
        """
        record = {
            **self.reading.result_fields(),
            "correct": self.correct,
            "score": self.score,
            "flags": list(self.flags),
            "review": self.review,
        }
        return record


def add_flags(flags: Sequence[str], *more: str) -> tuple[str, ...]:
    """``flags`` followed by those of ``more`` not already there, in order."""
    out = list(flags)
    for flag in more:
        if flag not in out:
            out.append(flag)
    return tuple(out)


def with_flags(scored: ScoredSheet, *flags: str) -> ScoredSheet:
    """``scored`` with ``flags`` added and sent to review (batch reconciliation)."""
    if not flags:
        return scored
    return ScoredSheet(
        reading=scored.reading,
        key=scored.key,
        correct=scored.correct,
        score=scored.score,
        flags=add_flags(scored.flags, *flags),
        review=True,
    )


def count_correct(answers: Sequence[str], key: AnswerKey) -> int:
    """Items of ``answers`` that the key accepts, plus the key's cancelled items.

    Parameters
    ----------
    answers : sequence of str
        One mark per item as read: a letter, ``""`` (blank) or ``"*"``
        (more than one mark).  Items beyond the key's are ignored; items
        missing at the end count as blank.
    key : AnswerKey

    Returns
    -------
    int
        From 0 to ``key.items``.
    """
    correct = 0
    for number, accepted in enumerate(key.answers, start=1):
        if number in key.cancelled or number <= len(answers) and answers[number - 1] in accepted:
            correct += 1
    return correct


def score_value(correct: int, items: int) -> Decimal:
    """``correct / items * 10`` on the 0–10 scale, 2 decimals, halves rounded up.

    Computed in :class:`~decimal.Decimal` (28 significant digits) so that an
    exact half such as 1/16 × 10 = 0.625 rounds to 0.63, never to 0.62.

    >>> score_value(30, 40), score_value(1, 16), score_value(1, 3)
    (Decimal('7.50'), Decimal('0.63'), Decimal('3.33'))
    """
    if items <= 0 or not 0 <= correct <= items:
        raise ValueError(f"cannot score {correct} correct of {items} items")
    return round_half_up(Decimal(correct) * SCORE_MAX / Decimal(items))


def score_sheet(reading: SheetReading, keys: AnswerKeySet) -> ScoredSheet:
    """Score one reading with the key of its paket (and kode kompetensi).

    Parameters
    ----------
    reading : SheetReading
        From :func:`ljun.pipeline.read_sheet` (or rebuilt from the store).
    keys : AnswerKeySet
        The batch's keys.

    Returns
    -------
    ScoredSheet
        ``correct``/``score`` are ``None`` (and ``review`` true) when the
        reading failed, no paket could be told, or the paket has no key.
        Never raises for sheet content.
    """
    flags = tuple(reading.flags)
    review = reading.review
    if reading.failure is not None:
        return ScoredSheet(reading, None, None, None, add_flags(flags, reading.failure), True)

    paket: str | None = reading.paket if reading.paket in PAKETS else None
    printed_paket = barcode_paket(reading.barcode)
    if paket is None and printed_paket is not None:
        paket = printed_paket
        flags = add_flags(flags, Flag.PAKET_FROM_BARCODE)
        review = True
    elif paket is not None and printed_paket is not None and printed_paket != paket:
        flags = add_flags(flags, Flag.BARCODE_PAKET_MISMATCH)
        review = True

    kode = reading.kode_kompetensi
    if kode and UNREAD not in kode and kode not in competency_codes():
        flags = add_flags(flags, Flag.INVALID.at("kode_kompetensi"))
        review = True

    if paket is None:
        reason = Flag.MULTI_MARK.at("paket", 1) if reading.paket == UNREAD else Flag.NO_PAKET
        return ScoredSheet(reading, None, None, None, add_flags(flags, reason), True)
    key = keys.select(paket, kode if UNREAD not in kode else "")
    if key is None:
        return ScoredSheet(reading, None, None, None, add_flags(flags, Flag.NO_KEY.at(paket)), True)
    correct = count_correct(reading.answers, key)
    return ScoredSheet(reading, key, correct, score_value(correct, key.items), flags, review)
