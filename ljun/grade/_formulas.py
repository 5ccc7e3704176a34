"""The grade formulas of the exam guide (sections VIII-X, Lampiran 1 and 3)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ..errors import LjunError
from ..kompetensi import KODE_DIGITS
from ..nomor import (
    DISTRICT_DIGITS,
    PROVINCE_DIGITS,
)
from ..numbers import format_score
from ._rules import GradingRules, rules_or_default

#: Digits of the participant sequence in a certificate number (Lampiran 1).
SEQUENCE_DIGITS = 4


class CertificateNumberError(LjunError, ValueError):
    """A certificate number cannot be made (bad part, sequence too large)."""


def mean_half_up(values: Sequence[Decimal], rules: GradingRules | None = None) -> Decimal:
    """Mean of ``values``, rounded to the rule set's decimals half up.

    >>> mean_half_up([Decimal("8.41"), Decimal("8.12")])
    Decimal('8.27')
    """
    if not values:
        raise ValueError("the mean of no scores is undefined")
    return rules_or_default(rules).round(sum(values, Decimal(0)) / len(values))


def nilai_ukk(teori: Decimal, praktik: Decimal, rules: GradingRules | None = None) -> Decimal:
    """Nilai UKK = 30 % Nilai Teori + 70 % Nilai Praktik, rounded half up (VIII.4).

    >>> nilai_ukk(Decimal("6.50"), Decimal("8.25"))
    Decimal('7.73')
    """
    r = rules_or_default(rules)
    return r.round(r.teori_weight * teori + r.praktik_weight * praktik)


def practical_decision(praktik: Decimal, rules: GradingRules | None = None) -> tuple[bool, str]:
    """Whether the practical passes (≥ 7.00, IX.2), and the reason when not.

    Returns
    -------
    (bool, str)
        ``(True, "")`` or ``(False, reason)``, the reason in Indonesian with
        decimal commas, as it goes on the grade list.

    >>> practical_decision(Decimal("6.99"))
    (False, 'Nilai Praktik Kejuruan 6,99 kurang dari batas lulus 7,00')
    """
    r = rules_or_default(rules)
    if praktik >= r.praktik_pass_mark:
        return True, ""
    return False, (
        f"Nilai Praktik Kejuruan {format_score(praktik, comma=True)} kurang dari batas lulus "
        f"{format_score(r.praktik_pass_mark, comma=True)}"
    )


def nilai_rapor(
    semesters: Sequence[Sequence[Decimal]], rules: GradingRules | None = None
) -> Decimal:
    """Nilai Rapor: mean of the semester means, each rounded first (VIII.1, Lampiran 3).

    Parameters
    ----------
    semesters : sequence of sequences of Decimal
        The SK scores of each semester.
    """
    means = [mean_half_up(scores, rules) for scores in semesters]
    return mean_half_up(means, rules)


def nilai_sekolah(
    rapor: Decimal, ujian_sekolah: Decimal, rules: GradingRules | None = None
) -> Decimal:
    """Nilai Sekolah = 40 % Nilai Rapor + 60 % Nilai Ujian Sekolah, half up (VIII.3).

    >>> nilai_sekolah(Decimal("7.91"), Decimal("7.23"))
    Decimal('7.50')
    """
    r = rules_or_default(rules)
    return r.round(r.rapor_weight * rapor + r.ujian_sekolah_weight * ujian_sekolah)


@dataclass(frozen=True)
class ReportCard:
    """One participant's report-card data (Lampiran 3), every semester as given.

    Attributes
    ----------
    nomor_peserta : str
        14 digits.
    semesters : tuple of (int, tuple of Decimal)
        SK scores per semester, by semester number; which of them count is
        the rule set's (:attr:`GradingRules.rapor_semesters`).
    ujian_sekolah : tuple of Decimal
        SK scores of the school exam.
    line : int
        First line of the participant in the rapor CSV (0 when not from a file).
    semester_lines : tuple of (int, tuple of int)
        The rapor CSV lines of each semester, by semester number (empty when
        not from a file).
    """

    nomor_peserta: str
    semesters: tuple[tuple[int, tuple[Decimal, ...]], ...]
    ujian_sekolah: tuple[Decimal, ...]
    line: int = 0
    semester_lines: tuple[tuple[int, tuple[int, ...]], ...] = ()

    def lines_of(self, semester: int) -> tuple[int, ...]:
        """The rapor CSV lines of ``semester`` (empty when not from a file)."""
        return dict(self.semester_lines).get(semester, ())


@dataclass(frozen=True)
class SchoolGrade:
    """The school part of a participant's grade (Lampiran 3).

    ``semester_means`` are those of the counted semesters;
    ``not_counted`` the semesters the report card gives that the rule set
    does not count (VIII.1: 1 to 5 unless the rules say otherwise).
    """

    semester_means: tuple[tuple[int, Decimal], ...]
    nilai_rapor: Decimal
    nilai_ujian_sekolah: Decimal
    nilai_sekolah: Decimal
    not_counted: tuple[int, ...] = ()


def counted_semesters(
    card: ReportCard, rules: GradingRules | None = None
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The semesters of ``card`` that count for Nilai Rapor, and those that do not.

    >>> card = ReportCard("41205030120078", ((3, (Decimal("7.55"),)), (6, (Decimal("9.00"),))),
    ...                   (Decimal("7.35"),))
    >>> counted_semesters(card)
    ((3,), (6,))
    """
    counted = rules_or_default(rules).rapor_semesters
    given = [semester for semester, _ in card.semesters]
    return (
        tuple(s for s in given if s in counted),
        tuple(s for s in given if s not in counted),
    )


def school_grade(card: ReportCard, rules: GradingRules | None = None) -> SchoolGrade:
    """Semester means, Nilai Rapor, Nilai Ujian Sekolah and Nilai Sekolah of a report card.

    Only the semesters of the rule set count (VIII.1: semesters 1 to 5);
    the others are listed in :attr:`SchoolGrade.not_counted`.

    >>> card = ReportCard("41205030120078", ((3, (Decimal("7.55"), Decimal("7.12"))),),
    ...                   (Decimal("7.35"), Decimal("7.11")))
    >>> school_grade(card).nilai_sekolah
    Decimal('7.27')

    Raises
    ------
    ValueError
        When no semester of the card counts (see :func:`counted_semesters`).
    """
    counted, not_counted = counted_semesters(card, rules)
    if not counted:
        raise ValueError(
            f"report card of {card.nomor_peserta}: no semester that counts for Nilai Rapor"
        )
    means = tuple(
        (semester, mean_half_up(scores, rules))
        for semester, scores in card.semesters
        if semester in counted
    )
    rapor = mean_half_up([mean for _, mean in means], rules)
    ujian = mean_half_up(card.ujian_sekolah, rules)
    return SchoolGrade(means, rapor, ujian, nilai_sekolah(rapor, ujian, rules), not_counted)


def certificate_number(
    province: str, district: str, kode: str, sequence: int, rules: GradingRules | None = None
) -> str:
    """A certificate number ``PP.DDD.A.KKKK.NNNN`` (Lampiran 1).

    >>> certificate_number("05", "003", "6018", 12)
    '05.003.A.6018.0012'

    Raises
    ------
    CertificateNumberError
        When a part has the wrong number of digits or the sequence does not
        fit in 4 digits.
    """
    r = rules_or_default(rules)
    parts = (
        ("province", province, PROVINCE_DIGITS),
        ("district", district, DISTRICT_DIGITS),
        ("competency code", kode, KODE_DIGITS),
    )
    for what, value, digits in parts:
        if not re.fullmatch(rf"[0-9]{{{digits}}}", value):
            raise CertificateNumberError(
                f"certificate number: {what} {value!r} is not {digits} digits"
            )
    if not 1 <= sequence < 10**SEQUENCE_DIGITS:
        raise CertificateNumberError(
            f"certificate number: participant sequence {sequence} does not fit in "
            f"{SEQUENCE_DIGITS} digits for {province}.{district}.{r.kurikulum}.{kode}"
        )
    return f"{province}.{district}.{r.kurikulum}.{kode}.{sequence:0{SEQUENCE_DIGITS}d}"
