"""Exact decimal arithmetic for scores: half-up rounding, parsing, formatting.

Scores are on a 0–10 scale with 2 decimals, and the exam guide rounds every
mean **half up** before it is used again (Lampiran 3: a semester mean of
8.265 is written 8.27).  Binary floating point cannot do this: ``8.265`` is
stored as 8.2649999…, so ``round(8.265, 2)`` gives 8.26.  Every score in ljun
is therefore a :class:`decimal.Decimal`, and text never passes through
``float`` on its way in.

Indonesian reports write the decimal separator as a comma (``7,50``);
:func:`parse_score` accepts both ``7,50`` and ``7.50`` and
:func:`format_score` writes either.

>>> round_half_up("8.265")
Decimal('8.27')
>>> parse_score("7,5")
Decimal('7.5')
>>> format_score(Decimal("7.5"), comma=True)
'7,50'
"""

from __future__ import annotations

import decimal
import re
from decimal import ROUND_HALF_UP, Decimal

from .errors import ScoresFileError

__all__ = [
    "SCORE_PLACES",
    "SCORE_MIN",
    "SCORE_MAX",
    "ScoreFormatError",
    "round_half_up",
    "parse_score",
    "format_score",
]

#: Decimal places of every score and every intermediate mean (guide, Lampiran 3).
SCORE_PLACES = 2

#: Lowest score on the 0–10 scale.
SCORE_MIN = Decimal(0)

#: Highest score on the 0–10 scale.
SCORE_MAX = Decimal(10)

# Digits, then optionally one separator (point or Indonesian comma) and digits.
# No sign, exponent, thousands separator, NaN or Infinity: none is a score.
_SCORE_TEXT = re.compile(r"(?P<whole>[0-9]+)(?:[.,](?P<fraction>[0-9]+))?")

# Decimal's default context keeps 28 significant digits; quantizing a larger
# number raises.  Rounding widens the context to fit, so no input is too big.
_EXTRA_DIGITS = 2


class ScoreFormatError(ScoresFileError):
    """A text or number is not a valid score (or not a number at all)."""


def round_half_up(value: Decimal | int | str | float, places: int = SCORE_PLACES) -> Decimal:
    """Round to ``places`` decimals, halves away from zero (5 rounds up).

    Parameters
    ----------
    value : Decimal, int, str or float
        The number.  A ``str`` is read exactly as a decimal literal
        (``"8.265"``, never via ``float``); a ``float`` is first turned into
        its shortest text form, ``Decimal(str(value))``, so ``2.675`` means
        the 2.675 that was typed and not the binary 2.67499999….
    places : int, optional
        Decimal places to keep, 0 or more (default 2, the score precision).

    Returns
    -------
    Decimal
        Exactly ``places`` decimals (``Decimal('7.50')``, not ``7.5``).

    Raises
    ------
    ScoreFormatError
        When ``value`` is a text that is not a decimal number, or is NaN or
        infinite.
    TypeError
        When ``value`` is not one of the types above (``bool`` included).

    Examples
    --------
    >>> round_half_up("1.005"), round_half_up(2.675), round_half_up(7)
    (Decimal('1.01'), Decimal('2.68'), Decimal('7.00'))
    """
    if places < 0:
        raise ValueError(f"places must be 0 or more, not {places}")
    number = _to_decimal(value)
    quantum = Decimal(1).scaleb(-places)
    precision = max(decimal.getcontext().prec, number.adjusted() + places + _EXTRA_DIGITS)
    with decimal.localcontext() as context:
        context.prec = precision
        return number.quantize(quantum, rounding=ROUND_HALF_UP)


def _to_decimal(value: Decimal | int | str | float) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("a bool is not a number to round; give a Decimal, int, str or float")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(str(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise ScoreFormatError(f"{value!r} is not a decimal number") from None
    else:
        raise TypeError(f"cannot round a {type(value).__name__}; give a Decimal, int, str or float")
    if not number.is_finite():
        raise ScoreFormatError(f"{value!r} is not a finite number")
    return number


def parse_score(
    text: str,
    *,
    places: int = SCORE_PLACES,
    minimum: Decimal = SCORE_MIN,
    maximum: Decimal = SCORE_MAX,
) -> Decimal:
    """Read a score written as ``7,50`` (Indonesian) or ``7.50``.

    Parameters
    ----------
    text : str
        Digits, optionally one decimal separator (``,`` or ``.``) and more
        digits; surrounding blanks are ignored.
    places : int, optional
        Most decimals allowed (default 2).  A score with more decimals is
        refused rather than silently rounded.
    minimum, maximum : Decimal, optional
        The scale, both ends included (default 0 to 10).

    Returns
    -------
    Decimal
        The value as written (``"7,5"`` gives ``Decimal('7.5')``).

    Raises
    ------
    ScoreFormatError
        On an empty text, anything that is not such a number (signs,
        exponents, thousands separators, two separators), too many decimals,
        or a value off the scale.  The message quotes the text and says what
        a score looks like.

    Examples
    --------
    >>> parse_score(" 10 "), parse_score("0,25")
    (Decimal('10'), Decimal('0.25'))
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_score reads a str, not a {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ScoreFormatError("the score is empty; write a number such as 7,50 or 7.50")
    match = _SCORE_TEXT.fullmatch(stripped)
    if match is None:
        raise ScoreFormatError(
            f"{text!r} is not a score; write digits with at most one decimal comma "
            "or point, such as 7,50 or 7.50"
        )
    fraction = match["fraction"] or ""
    if len(fraction) > places:
        raise ScoreFormatError(
            f"{text!r} has {len(fraction)} decimals; a score has at most {places}"
        )
    value = Decimal(f"{match['whole']}.{fraction}" if fraction else match["whole"])
    if not minimum <= value <= maximum:
        raise ScoreFormatError(
            f"{text!r} is outside the scale {format_score(minimum)} to {format_score(maximum)}"
        )
    return value


def format_score(value: Decimal | int | str | float, *, comma: bool = False) -> str:
    """Write a score with exactly 2 decimals, rounding half up if needed.

    Parameters
    ----------
    value : Decimal (or anything :func:`round_half_up` accepts)
        The score.
    comma : bool, optional
        Write the Indonesian decimal comma (``7,50``) instead of a point.

    Examples
    --------
    >>> format_score(Decimal("7.5")), format_score(Decimal("8.265"), comma=True)
    ('7.50', '8,27')
    """
    text = format(round_half_up(value, SCORE_PLACES), "f")
    return text.replace(".", ",") if comma else text
