"""The nomor peserta (participant number): its parts, written forms and check digit.

Format ``X-XX-XX-XX-XXX-XXX-X`` (ARCHITECTURE.md §1): level, year, province,
district, school, participant, check digit — 14 digits.  Result records write
it hyphenated; practical-score lists and attendance lists may write it either
way.  The guide gives no rule for the check digit; the generated samples use a
Luhn digit over the first 13, which ``luhn_valid`` checks where the
calibration asks for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ScoresFileError

__all__ = [
    "NOMOR_PESERTA_DIGITS",
    "NOMOR_PESERTA_GROUPS",
    "PROVINCE_DIGITS",
    "DISTRICT_DIGITS",
    "NomorPesertaError",
    "NomorPeserta",
    "parse_nomor_peserta",
    "format_nomor_peserta",
    "normalise_nomor_peserta",
    "luhn_check_digit",
    "luhn_valid",
]

#: Digits of a nomor peserta without its hyphens.
NOMOR_PESERTA_DIGITS = 14

#: Group lengths of the written form ``X-XX-XX-XX-XXX-XXX-X``: level, year,
#: province, district, school, participant, check digit.
NOMOR_PESERTA_GROUPS: tuple[int, ...] = (1, 2, 2, 2, 3, 3, 1)

#: Digits of the province and district numbers in a certificate number (Lampiran 1).
PROVINCE_DIGITS = 2
DISTRICT_DIGITS = 3

_NOMOR_WRITTEN = re.compile("-".join(f"[0-9]{{{n}}}" for n in NOMOR_PESERTA_GROUPS))
_NOMOR_DIGITS = re.compile(rf"[0-9]{{{NOMOR_PESERTA_DIGITS}}}")
_NON_DIGITS = re.compile(r"[^0-9]")


class NomorPesertaError(ScoresFileError):
    """A text is not a nomor peserta (14 digits, hyphenated or not)."""


@dataclass(frozen=True)
class NomorPeserta:
    """A participant number, 14 digits ``X-XX-XX-XX-XXX-XXX-X``.

    >>> n = parse_nomor_peserta("4-12-05-03-012-007-8")
    >>> n.digits, n.province, n.district, n.school, n.participant
    ('41205030120078', '05', '03', '012', '007')
    """

    digits: str

    def _group(self, index: int) -> str:
        start = sum(NOMOR_PESERTA_GROUPS[:index])
        return self.digits[start : start + NOMOR_PESERTA_GROUPS[index]]

    @property
    def level(self) -> str:
        """Digit 1: the level of education."""
        return self._group(0)

    @property
    def year(self) -> str:
        """Digits 2–3: the exam year."""
        return self._group(1)

    @property
    def province(self) -> str:
        """Digits 4–5: the province number."""
        return self._group(2)

    @property
    def district(self) -> str:
        """Digits 6–7: the district (kabupaten/kota) number."""
        return self._group(3)

    @property
    def school(self) -> str:
        """Digits 8–10: the school number within the district."""
        return self._group(4)

    @property
    def participant(self) -> str:
        """Digits 11–13: the participant number within the school."""
        return self._group(5)

    @property
    def check_digit(self) -> str:
        """Digit 14: the check digit (not verified: the guide gives no rule)."""
        return self._group(6)

    @property
    def written(self) -> str:
        """The hyphenated form ``X-XX-XX-XX-XXX-XXX-X``."""
        return "-".join(self._group(i) for i in range(len(NOMOR_PESERTA_GROUPS)))

    @property
    def certificate_province(self) -> str:
        """Province part of a certificate number (2 digits)."""
        return self.province.zfill(PROVINCE_DIGITS)

    @property
    def certificate_district(self) -> str:
        """District part of a certificate number (the 2 digits, zero-padded to 3)."""
        return self.district.zfill(DISTRICT_DIGITS)


def parse_nomor_peserta(text: str) -> NomorPeserta:
    """Read a nomor peserta written as 14 digits or as ``X-XX-XX-XX-XXX-XXX-X``.

    Raises
    ------
    NomorPesertaError
        For anything else (other grouping, letters, ``?`` from an unreadable
        bubble column, wrong length).
    """
    stripped = text.strip()
    if _NOMOR_DIGITS.fullmatch(stripped) or _NOMOR_WRITTEN.fullmatch(stripped):
        return NomorPeserta(stripped.replace("-", ""))
    raise NomorPesertaError(
        f"nomor peserta {text!r} is not 14 digits (write 41205030120078 or 4-12-05-03-012-007-8)"
    )


def format_nomor_peserta(digits: str) -> str:
    """The written form ``X-XX-XX-XX-XXX-XXX-X`` of 14 characters.

    Characters other than digits (``?`` for an unreadable bubble column) are
    kept in place.

    >>> format_nomor_peserta("41205010450127")
    '4-12-05-01-045-012-7'
    """
    parts, start = [], 0
    for size in NOMOR_PESERTA_GROUPS:
        parts.append(digits[start : start + size])
        start += size
    return "-".join(parts)


def normalise_nomor_peserta(text: str) -> str | None:
    """The written form of a nomor peserta given with any separators, or ``None``.

    >>> normalise_nomor_peserta("41201020010050"), normalise_nomor_peserta("12-3")
    ('4-12-01-02-001-005-0', None)
    """
    digits = _NON_DIGITS.sub("", text)
    if len(digits) != NOMOR_PESERTA_DIGITS:
        return None
    return format_nomor_peserta(digits)


def _luhn_sum(digits: str, *, double_first: bool) -> int:
    # Double every second digit counted from the right.
    total = 0
    for k, ch in enumerate(reversed(digits)):
        d = int(ch)
        if (k % 2 == 0) == double_first:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total


def luhn_check_digit(body: str) -> str:
    """The Luhn check digit that makes ``body + digit`` pass the Luhn test.

    >>> luhn_check_digit("7992739871")
    '3'
    """
    return str((10 - _luhn_sum(body, double_first=True) % 10) % 10)


def luhn_valid(digits: str) -> bool:
    """True when the last digit is the Luhn check digit of the others.

    >>> luhn_valid("79927398713"), luhn_valid("79927398710")
    (True, False)
    """
    if not (digits.isdigit() and digits.isascii()):
        return False
    return _luhn_sum(digits, double_first=False) % 10 == 0
