"""Merging theory with practical scores: grades, hold-backs and summaries."""

from __future__ import annotations

import enum
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import ScoresFileError
from ..kompetensi import load_competencies
from ..nomor import (
    DISTRICT_DIGITS,
    PROVINCE_DIGITS,
    NomorPeserta,
)
from ._formulas import (
    CertificateNumberError,
    ReportCard,
    SchoolGrade,
    certificate_number,
    mean_half_up,
    nilai_ukk,
    practical_decision,
    school_grade,
)
from ._inputs import PracticalScore, TheorySheet, theory_sheet
from ._rules import GradingRules, rules_or_default


class ProblemKind(enum.StrEnum):
    """Why a participant or sheet needs attention; the value is the word in outputs."""

    NO_THEORY_SHEET = "no_theory_sheet"
    NO_PRACTICAL_SCORE = "no_practical_score"
    UNKNOWN_COMPETENCY = "unknown_competency"
    COMPETENCY_MISMATCH = "competency_mismatch"
    THEORY_UNDER_REVIEW = "theory_under_review"
    NO_THEORY_SCORE = "no_theory_score"
    DUPLICATE_THEORY_SHEET = "duplicate_theory_sheet"
    UNREADABLE_NOMOR_PESERTA = "unreadable_nomor_peserta"
    NO_REPORT_CARD = "no_report_card"
    REPORT_CARD_WITHOUT_PARTICIPANT = "report_card_without_participant"


# Problems that keep a participant from being graded.
_HOLDING_BACK = frozenset(ProblemKind) - {
    ProblemKind.NO_REPORT_CARD,
    ProblemKind.REPORT_CARD_WITHOUT_PARTICIPANT,
}


@dataclass(frozen=True)
class Problem:
    """Something that needs a person: a participant held back, or missing data.

    Attributes
    ----------
    kind : ProblemKind
    nomor_peserta : str
        14 digits, or as read from the sheet when unreadable.
    detail : str
        One sentence: what is wrong and where (file and line, sheet and page).
    kode_kompetensi, nama : str
        As known, for sorting and reading.
    """

    kind: ProblemKind
    nomor_peserta: str
    detail: str
    kode_kompetensi: str = ""
    nama: str = ""

    @property
    def held_back(self) -> bool:
        """Whether this problem keeps the participant from being graded."""
        return self.kind in _HOLDING_BACK


@dataclass(frozen=True)
class Grade:
    """One participant's competency grade.

    Scores are Decimals with the rule set's decimals.  ``lulus`` is the
    practical pass (IX.2); ``alasan`` says why not, ``""`` on a pass;
    ``nomor_sertifikat`` is ``""`` without a pass.  ``school`` is the report-card
    part, ``None`` when no report-card data was given for the participant.
    """

    nomor_peserta: str
    nama: str
    kode_kompetensi: str
    kompetensi_keahlian: str
    nilai_teori: Decimal
    nilai_praktik: Decimal
    nilai_ukk: Decimal
    lulus: bool
    alasan: str
    nomor_sertifikat: str
    school: SchoolGrade | None = None


@dataclass(frozen=True)
class SchoolSummary:
    """Counts and means for one school and competency.

    ``provinsi``/``kabupaten_kota`` are as in certificate numbers derived from
    the nomor peserta (2 and 3 digits), ``sekolah`` is digits 8–10.
    ``peserta`` counts every participant known from either source; the means
    are over the graded participants, ``None`` when none was graded.
    """

    provinsi: str
    kabupaten_kota: str
    sekolah: str
    kode_kompetensi: str
    kompetensi_keahlian: str
    peserta: int
    dinilai: int
    lulus: int
    tidak_lulus: int
    ditahan: int
    rata_teori: Decimal | None
    rata_praktik: Decimal | None
    rata_ukk: Decimal | None


@dataclass(frozen=True)
class GradingReport:
    """Everything :func:`grade` makes: grades, problems, summary, and the rules used."""

    rules: GradingRules
    grades: tuple[Grade, ...]
    problems: tuple[Problem, ...]
    summary: tuple[SchoolSummary, ...]
    with_school_grades: bool = False

    @property
    def held_back(self) -> frozenset[str]:
        """Nomor peserta of everyone held back."""
        return frozenset(p.nomor_peserta for p in self.problems if p.held_back)


def grade(
    theory: Iterable[Mapping[str, Any] | TheorySheet],
    practical: Iterable[PracticalScore],
    *,
    rules: GradingRules | None = None,
    report_cards: Iterable[ReportCard] | None = None,
    competencies: Mapping[str, str] | None = None,
    province: str | None = None,
    district: str | None = None,
) -> GradingReport:
    """Merge theory with practical scores into competency grades.

    Parameters
    ----------
    theory : iterable of result records (mappings, ARCHITECTURE.md §3) or TheorySheet
        One per scanned theory sheet (latest reading per sheet).
    practical : iterable of PracticalScore
        One per participant, nomor peserta unique.
    rules : GradingRules, optional
        Default the bundled :data:`DEFAULT_RULES`.
    report_cards : iterable of ReportCard, optional
        When given, grades carry Nilai Rapor, Ujian Sekolah and Nilai Sekolah,
        and graded participants without one are reported.
    competencies : mapping of code to name, optional
        Valid competency codes; default the bundled Lampiran 2 list.
    province, district : str, optional
        Override the province (2 digits) and district (3 digits) of every
        certificate number; by default both come from each nomor peserta (see
        the module docstring).

    Returns
    -------
    GradingReport
        Grades, problems and summary, each sorted by nomor peserta (summary by
        province, district, school, competency).

    Raises
    ------
    ScoresFileError
        When a theory record breaks the contract or a nomor peserta repeats in
        ``practical`` or ``report_cards``.
    CertificateNumberError
        On a malformed override or a sequence beyond 9999.
    """
    r = rules_or_default(rules)
    names = (
        dict(competencies)
        if competencies is not None
        else {c.kode: c.nama for c in load_competencies()}
    )
    _check_override(province, PROVINCE_DIGITS, "province")
    _check_override(district, DISTRICT_DIGITS, "district")

    sheets = [
        item if isinstance(item, TheorySheet) else _sheet_of(item, index, r)
        for index, item in enumerate(theory, start=1)
    ]
    by_practical = _unique(practical, "practical scores")
    cards = _unique(report_cards, "report cards") if report_cards is not None else None

    problems: list[Problem] = []
    sheets_of: dict[str, list[TheorySheet]] = defaultdict(list)
    for sheet in sheets:
        if sheet.valid_nomor:
            sheets_of[sheet.nomor_peserta].append(sheet)
        else:
            problems.append(
                Problem(
                    ProblemKind.UNREADABLE_NOMOR_PESERTA,
                    sheet.nomor_peserta,
                    f"theory sheet {sheet.where}: nomor peserta {sheet.nomor_peserta!r} cannot be "
                    "read; correct it in review",
                    sheet.kode_kompetensi,
                    sheet.nama,
                )
            )

    certificates = _certificate_numbers(by_practical.values(), names, r, province, district)
    grades: list[Grade] = []
    for nomor in sorted(set(by_practical) | set(sheets_of)):
        held = _hold_backs(nomor, by_practical.get(nomor), sheets_of.get(nomor, []), names)
        if held:
            problems.extend(held)
            continue
        score, (sheet,) = by_practical[nomor], sheets_of[nomor]
        assert sheet.nilai_teori is not None  # _hold_backs checked it
        lulus, alasan = practical_decision(score.nilai_praktik, r)
        card = cards.get(nomor) if cards is not None else None
        grades.append(
            Grade(
                nomor_peserta=nomor,
                nama=score.nama or sheet.nama,
                kode_kompetensi=score.kode_kompetensi,
                kompetensi_keahlian=names[score.kode_kompetensi],
                nilai_teori=sheet.nilai_teori,
                nilai_praktik=score.nilai_praktik,
                nilai_ukk=nilai_ukk(sheet.nilai_teori, score.nilai_praktik, r),
                lulus=lulus,
                alasan=alasan,
                nomor_sertifikat=certificates.get(nomor, "") if lulus else "",
                school=school_grade(card, r) if card is not None else None,
            )
        )

    if cards is not None:
        problems.extend(_report_card_problems(cards, grades, set(by_practical) | set(sheets_of)))
    problems.sort(key=lambda p: (p.nomor_peserta, p.kind))
    summary = _summarise(by_practical, sheets_of, grades, problems, names, r)
    return GradingReport(r, tuple(grades), tuple(problems), summary, cards is not None)


def _sheet_of(record: Mapping[str, Any], index: int, rules: GradingRules) -> TheorySheet:
    try:
        return theory_sheet(record, rules)
    except ScoresFileError as exc:
        where = record.get("source", "") if isinstance(record, Mapping) else ""
        page = record.get("page", "") if isinstance(record, Mapping) else ""
        raise ScoresFileError(f"theory result record {index} ({where} p.{page}): {exc}") from None


def _check_override(value: str | None, digits: int, what: str) -> None:
    if value is not None and not re.fullmatch(rf"[0-9]{{{digits}}}", value):
        raise CertificateNumberError(f"the {what} override {value!r} is not {digits} digits")


def _unique(items: Iterable[Any], what: str) -> dict[str, Any]:
    by_nomor: dict[str, Any] = {}
    for item in items:
        if item.nomor_peserta in by_nomor:
            raise ScoresFileError(f"{what}: nomor peserta {item.nomor_peserta} appears twice")
        by_nomor[item.nomor_peserta] = item
    return by_nomor


def _hold_backs(
    nomor: str,
    score: PracticalScore | None,
    sheets: list[TheorySheet],
    names: Mapping[str, str],
) -> list[Problem]:
    nama = score.nama if score is not None else (sheets[0].nama if sheets else "")
    kode = score.kode_kompetensi if score is not None else sheets[0].kode_kompetensi
    found: list[tuple[ProblemKind, str]] = []
    if score is None:
        found.append(
            (
                ProblemKind.NO_PRACTICAL_SCORE,
                f"theory sheet {sheets[0].where} has no practical score; add the "
                "participant to the practical-scores file",
            )
        )
    elif kode not in names:
        found.append(
            (
                ProblemKind.UNKNOWN_COMPETENCY,
                f"practical scores line {score.line}: kode kompetensi {kode} is not in "
                "the competency list (Lampiran 2); correct the code",
            )
        )
    if not sheets:
        found.append(
            (
                ProblemKind.NO_THEORY_SHEET,
                "no theory sheet was scored for this participant; find and scan the LJUN",
            )
        )
    elif len(sheets) > 1:
        found.append(
            (
                ProblemKind.DUPLICATE_THEORY_SHEET,
                f"{len(sheets)} theory sheets carry this nomor peserta "
                f"({', '.join(s.where for s in sheets)}); correct the wrong one in review",
            )
        )
    else:
        (sheet,) = sheets
        if score is None and sheet.kode_kompetensi not in names:
            found.append(
                (
                    ProblemKind.UNKNOWN_COMPETENCY,
                    f"theory sheet {sheet.where}: kode kompetensi "
                    f"{sheet.kode_kompetensi!r} is not in the competency list (Lampiran 2)",
                )
            )
        if sheet.review:
            flags = f" ({', '.join(sheet.flags)})" if sheet.flags else ""
            found.append(
                (
                    ProblemKind.THEORY_UNDER_REVIEW,
                    f"theory sheet {sheet.where} is still under review{flags}; "
                    "finish the review, then grade again",
                )
            )
        if sheet.nilai_teori is None:
            found.append((ProblemKind.NO_THEORY_SCORE, f"theory sheet {sheet.where} has no score"))
        if score is not None and sheet.kode_kompetensi != score.kode_kompetensi:
            found.append(
                (
                    ProblemKind.COMPETENCY_MISMATCH,
                    f"theory sheet {sheet.where} reads kode kompetensi "
                    f"{sheet.kode_kompetensi!r} but the practical scores (line "
                    f"{score.line}) say {score.kode_kompetensi}; the theory score may "
                    "come from the wrong answer key: correct the sheet or the file",
                )
            )
    return [Problem(kind, nomor, detail, kode, nama) for kind, detail in found]


def _certificate_numbers(
    scores: Iterable[PracticalScore],
    names: Mapping[str, str],
    rules: GradingRules,
    province: str | None,
    district: str | None,
) -> dict[str, str]:
    """Certificate number of every practical pass with a valid code (see module doc)."""
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for score in scores:
        if score.kode_kompetensi in names and score.nilai_praktik >= rules.praktik_pass_mark:
            parsed = NomorPeserta(score.nomor_peserta)
            key = (
                province or parsed.certificate_province,
                district or parsed.certificate_district,
                score.kode_kompetensi,
            )
            groups[key].append(score.nomor_peserta)
    numbers: dict[str, str] = {}
    for (prov, dist, kode), members in groups.items():
        for sequence, nomor in enumerate(sorted(members), start=1):
            numbers[nomor] = certificate_number(prov, dist, kode, sequence, rules)
    return numbers


def _report_card_problems(
    cards: Mapping[str, ReportCard], grades: Sequence[Grade], known: set[str]
) -> list[Problem]:
    problems = [
        Problem(
            ProblemKind.NO_REPORT_CARD,
            g.nomor_peserta,
            "no report-card data; Nilai Rapor and Nilai Sekolah are left empty",
            g.kode_kompetensi,
            g.nama,
        )
        for g in grades
        if g.nomor_peserta not in cards
    ]
    problems += [
        Problem(
            ProblemKind.REPORT_CARD_WITHOUT_PARTICIPANT,
            nomor,
            f"report cards line {card.line}: nomor peserta has neither a theory sheet "
            "nor a practical score; check the number",
        )
        for nomor, card in cards.items()
        if nomor not in known
    ]
    return problems


def _summarise(
    by_practical: Mapping[str, PracticalScore],
    sheets_of: Mapping[str, list[TheorySheet]],
    grades: Sequence[Grade],
    problems: Sequence[Problem],
    names: Mapping[str, str],
    rules: GradingRules,
) -> tuple[SchoolSummary, ...]:
    graded = {g.nomor_peserta: g for g in grades}
    held = {p.nomor_peserta for p in problems if p.held_back}
    groups: dict[tuple[str, str, str, str], list[str]] = defaultdict(list)
    for nomor in set(by_practical) | set(sheets_of):
        parts = NomorPeserta(nomor)
        score = by_practical.get(nomor)
        kode = score.kode_kompetensi if score is not None else sheets_of[nomor][0].kode_kompetensi
        key = (parts.certificate_province, parts.certificate_district, parts.school, kode)
        groups[key].append(nomor)

    def mean(values: list[Decimal]) -> Decimal | None:
        return mean_half_up(values, rules) if values else None

    rows = []
    for (prov, dist, school, kode), members in sorted(groups.items()):
        done = [graded[n] for n in members if n in graded]
        rows.append(
            SchoolSummary(
                provinsi=prov,
                kabupaten_kota=dist,
                sekolah=school,
                kode_kompetensi=kode,
                kompetensi_keahlian=names.get(kode, ""),
                peserta=len(members),
                dinilai=len(done),
                lulus=sum(g.lulus for g in done),
                tidak_lulus=sum(not g.lulus for g in done),
                ditahan=sum(n in held for n in members),
                rata_teori=mean([g.nilai_teori for g in done]),
                rata_praktik=mean([g.nilai_praktik for g in done]),
                rata_ukk=mean([g.nilai_ukk for g in done]),
            )
        )
    return tuple(rows)
