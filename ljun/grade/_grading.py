"""Merging theory with practical scores: grades, hold-backs and summaries."""

from __future__ import annotations

import dataclasses
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
from ..numbers import format_score
from ._certificates import (
    CertificateClaim,
    CertificateConflict,
    CertificateGroup,
    CertificatePlan,
    ConflictKind,
    IssuedCertificate,
    plan_certificates,
)
from ._formulas import (
    CertificateNumberError,
    ReportCard,
    SchoolGrade,
    counted_semesters,
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
    #: Report-card rows of a semester the rule set does not count (VIII.1).
    RAPOR_SEMESTER_NOT_COUNTED = "rapor_semester_not_counted"
    #: A number is on record, and the practical file no longer gives a certificate.
    CERTIFICATE_WITHOUT_PASS = "certificate_without_pass"
    #: A number is on record in another province, district or competency.
    CERTIFICATE_OTHER_GROUP = "certificate_other_group"
    #: The participant's number was withdrawn, and the practical file gives a pass again.
    CERTIFICATE_WITHDRAWN = "certificate_withdrawn"


# Problems that keep a participant from being graded.
_HOLDING_BACK = frozenset(ProblemKind) - {
    ProblemKind.NO_REPORT_CARD,
    ProblemKind.REPORT_CARD_WITHOUT_PARTICIPANT,
    ProblemKind.RAPOR_SEMESTER_NOT_COUNTED,
    ProblemKind.CERTIFICATE_WITHOUT_PASS,
}

# How a certificate conflict is reported.
_CONFLICT_PROBLEM = {
    ConflictKind.WITHOUT_CLAIM: ProblemKind.CERTIFICATE_WITHOUT_PASS,
    ConflictKind.OTHER_GROUP: ProblemKind.CERTIFICATE_OTHER_GROUP,
    ConflictKind.WITHDRAWN: ProblemKind.CERTIFICATE_WITHDRAWN,
}

# How the withdraw command reads, for problem messages.
_WITHDRAW_COMMAND = "ljun certificates withdraw --db STORE {nomor} --reason TEXT --by NAME"


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
    nomor_sertifikat : str
        The certificate number on record for the participant (reserved for a
        practical pass held back, or in conflict), ``""`` when none.
    """

    kind: ProblemKind
    nomor_peserta: str
    detail: str
    kode_kompetensi: str = ""
    nama: str = ""
    nomor_sertifikat: str = ""

    @property
    def held_back(self) -> bool:
        """Whether this problem keeps the participant from being graded."""
        return self.kind in _HOLDING_BACK


@dataclass(frozen=True)
class Grade:
    """One participant's competency grade.

    Scores are Decimals with the rule set's decimals.  ``lulus_praktik`` is
    the practical pass (Nilai Praktik >= 7.00, IX.2), which alone decides the
    certificate (X.4); whether the participant passes the exam also depends on
    the national exam rules, decided centrally (IX.2), and is not here.
    ``alasan`` says why the practical did not pass, ``""`` on a pass.
    ``nomor_sertifikat`` is the participant's certificate number, ``""``
    without a pass or without a certificate register; ``sertifikat_baru``
    tells whether this run issued it.  ``school`` is the report-card part,
    ``None`` when no report-card data was given for the participant (or none
    of its semesters counts).
    """

    nomor_peserta: str
    nama: str
    kode_kompetensi: str
    kompetensi_keahlian: str
    nilai_teori: Decimal
    nilai_praktik: Decimal
    nilai_ukk: Decimal
    lulus_praktik: bool
    alasan: str
    nomor_sertifikat: str
    school: SchoolGrade | None = None
    sertifikat_baru: bool = False


@dataclass(frozen=True)
class SchoolSummary:
    """Counts and means for one school and competency.

    ``provinsi``/``kabupaten_kota`` are as in certificate numbers derived from
    the nomor peserta (2 and 3 digits), ``sekolah`` is digits 8–10.
    ``peserta`` counts every participant known from either source;
    ``lulus_praktik``/``tidak_lulus_praktik`` count graded participants by
    the practical pass; the means are over the graded participants, ``None``
    when none was graded.
    """

    provinsi: str
    kabupaten_kota: str
    sekolah: str
    kode_kompetensi: str
    kompetensi_keahlian: str
    peserta: int
    dinilai: int
    lulus_praktik: int
    tidak_lulus_praktik: int
    ditahan: int
    rata_teori: Decimal | None
    rata_praktik: Decimal | None
    rata_ukk: Decimal | None


@dataclass(frozen=True)
class GradingReport:
    """Everything :func:`grade` makes: grades, problems, summary, and the rules used.

    ``certificates`` is the certificate plan (numbers kept, new, in
    conflict), ``None`` when grading had no certificate register.
    """

    rules: GradingRules
    grades: tuple[Grade, ...]
    problems: tuple[Problem, ...]
    summary: tuple[SchoolSummary, ...]
    with_school_grades: bool = False
    certificates: CertificatePlan | None = None

    @property
    def new_certificates(self) -> tuple[IssuedCertificate, ...]:
        """The numbers this run adds to the register (empty without one)."""
        return self.certificates.new if self.certificates is not None else ()

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
    register: Iterable[IssuedCertificate] | None = (),
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
    register : iterable of IssuedCertificate, or None
        Every certificate number recorded so far (the store's register,
        withdrawn numbers included); default none, as for a first run.  Its
        numbers are kept; practical passes without a number get the next free
        one (:func:`~ljun.grade._certificates.plan_certificates`), listed in
        :attr:`GradingReport.new_certificates` for the caller to record.
        ``None``: no register, so no certificate numbers at all.

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

    claims, unclaimed = _claims(by_practical, sheets_of, names, r, province, district)
    plan = plan_certificates(claims, register, r) if register is not None else None
    certificate_problems = (
        _certificate_problems(plan, by_practical, unclaimed) if plan is not None else {}
    )
    new_numbers = plan.new_by_nomor if plan is not None else frozenset()
    grades: list[Grade] = []
    for nomor in sorted(set(by_practical) | set(sheets_of)):
        held = _hold_backs(nomor, by_practical.get(nomor), sheets_of.get(nomor, []), names)
        conflict = certificate_problems.pop(nomor, None)
        if conflict is not None:
            held.append(conflict)
        if any(p.held_back for p in held):
            problems.extend(held)
            continue
        problems.extend(held)
        score, (sheet,) = by_practical[nomor], sheets_of[nomor]
        assert sheet.nilai_teori is not None  # _hold_backs checked it
        lulus, alasan = practical_decision(score.nilai_praktik, r)
        card = cards.get(nomor) if cards is not None else None
        certificate = plan.numbers.get(nomor) if plan is not None and lulus else None
        grades.append(
            Grade(
                nomor_peserta=nomor,
                nama=score.nama or sheet.nama,
                kode_kompetensi=score.kode_kompetensi,
                kompetensi_keahlian=names[score.kode_kompetensi],
                nilai_teori=sheet.nilai_teori,
                nilai_praktik=score.nilai_praktik,
                nilai_ukk=nilai_ukk(sheet.nilai_teori, score.nilai_praktik, r),
                lulus_praktik=lulus,
                alasan=alasan,
                nomor_sertifikat=certificate.nomor_sertifikat if certificate else "",
                school=_school_grade(card, r),
                sertifikat_baru=certificate is not None and nomor in new_numbers,
            )
        )
    if cards is not None:
        problems.extend(_report_card_problems(cards, grades, set(by_practical) | set(sheets_of)))
        problems.extend(_semester_problems(cards, r))
    if plan is not None:
        problems = [_with_certificate(p, plan) for p in problems]
    problems.sort(key=lambda p: (p.nomor_peserta, p.kind))
    summary = _summarise(by_practical, sheets_of, grades, problems, names, r)
    return GradingReport(r, tuple(grades), tuple(problems), summary, cards is not None, plan)


def _school_grade(card: ReportCard | None, rules: GradingRules) -> SchoolGrade | None:
    if card is None or not counted_semesters(card, rules)[0]:
        return None
    return school_grade(card, rules)


def _with_certificate(problem: Problem, plan: CertificatePlan) -> Problem:
    held = plan.held(problem.nomor_peserta)
    if held is None or problem.nomor_sertifikat:
        return problem
    return dataclasses.replace(problem, nomor_sertifikat=held.nomor_sertifikat)


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


def _claims(
    by_practical: Mapping[str, PracticalScore],
    sheets_of: Mapping[str, list[TheorySheet]],
    names: Mapping[str, str],
    rules: GradingRules,
    province: str | None,
    district: str | None,
) -> tuple[dict[str, CertificateClaim], dict[str, str]]:
    """Who should hold a certificate number now, in which group; and why the others not.

    A claim: a practical pass (X.4) with a competency code from the list that
    no theory sheet of the participant disputes (a number in a competency
    that may be wrong would have to be withdrawn).  Held-back participants
    claim too, so their number is reserved and recorded.  The second mapping
    gives, for every other participant of the practical file, the reason.
    """
    claims: dict[str, CertificateClaim] = {}
    reasons: dict[str, str] = {}
    for nomor, score in by_practical.items():
        kode = score.kode_kompetensi
        disputed = sorted(
            {s.kode_kompetensi for s in sheets_of.get(nomor, []) if s.kode_kompetensi != kode}
        )
        if kode not in names:
            reasons[nomor] = f"kode kompetensi {kode} is not in the competency list (Lampiran 2)"
        elif score.nilai_praktik < rules.praktik_pass_mark:
            reasons[nomor] = (
                f"Nilai Praktik {format_score(score.nilai_praktik, comma=True)} is below the "
                f"pass mark {format_score(rules.praktik_pass_mark, comma=True)}"
            )
        elif disputed:
            reasons[nomor] = (
                f"the theory sheet reads kode kompetensi {', '.join(map(repr, disputed))}, "
                f"the practical scores {kode}"
            )
        else:
            parts = NomorPeserta(nomor)
            group = CertificateGroup(
                province or parts.certificate_province,
                district or parts.certificate_district,
                kode,
            )
            claims[nomor] = CertificateClaim(group, score.nilai_praktik)
    return claims, reasons


def _certificate_problems(
    plan: CertificatePlan,
    by_practical: Mapping[str, PracticalScore],
    unclaimed: Mapping[str, str],
) -> dict[str, Problem]:
    """A problem per certificate conflict (see :class:`ConflictKind`), by nomor peserta.

    A number on record for someone outside the practical file is not a
    conflict here: that participant is reported as not graded, and the
    problem list shows the number.
    """
    problems: dict[str, Problem] = {}
    for nomor, conflict in plan.conflicts.items():
        score = by_practical.get(nomor)
        if score is None:
            continue
        problems[nomor] = Problem(
            _CONFLICT_PROBLEM[conflict.kind],
            nomor,
            _conflict_detail(conflict, score, unclaimed.get(nomor, "")),
            score.kode_kompetensi,
            score.nama,
            conflict.certificate.nomor_sertifikat,
        )
    return problems


def _conflict_detail(conflict: CertificateConflict, score: PracticalScore, reason: str) -> str:
    certificate = conflict.certificate
    number = certificate.nomor_sertifikat
    withdraw = _WITHDRAW_COMMAND.format(nomor=certificate.nomor_peserta)
    if conflict.kind is ConflictKind.OTHER_GROUP:
        return (
            f"certificate {number} ({certificate.issued_by_run}) is on record for "
            f"{certificate.group}, but the practical scores (line {score.line}) now put the "
            f"participant in {conflict.claimed}; an issued number never changes: if the "
            f"practical file is right, withdraw it ({withdraw}) and grade again for a number "
            "in the new group, otherwise correct the file"
        )
    if conflict.kind is ConflictKind.WITHDRAWN:
        nilai = format_score(score.nilai_praktik, comma=True)
        return (
            f"certificate {number} was withdrawn on {(certificate.withdrawn_at or '')[:10]} by "
            f"{certificate.withdrawn_by} ({certificate.withdrawn_reason}), and the practical "
            f"scores (line {score.line}) still give the pass it was issued for (Nilai Praktik "
            f"{nilai}); correct the practical score: a withdrawn number is never issued again, "
            "and no new number replaces it until the file shows another score (a repeat "
            "practical exam)"
        )
    return (
        f"certificate {number} ({certificate.issued_by_run}) is on record, but the practical "
        f"scores (line {score.line}) give no certificate now: {reason}; if the pass was an "
        f"error, withdraw the number ({withdraw}), otherwise correct the file; it is kept "
        "until then"
    )


def _semester_problems(cards: Mapping[str, ReportCard], rules: GradingRules) -> list[Problem]:
    """A problem per report card with rows of semesters the rules do not count."""
    counted_text = ", ".join(map(str, rules.rapor_semesters))
    problems = []
    for nomor, card in cards.items():
        counted, not_counted = counted_semesters(card, rules)
        if not not_counted:
            continue
        lines = sorted(line for s in not_counted for line in card.lines_of(s))
        where = f"report cards line(s) {', '.join(map(str, lines))}: " if lines else ""
        outcome = (
            f"Nilai Rapor is the mean of semester(s) {', '.join(map(str, counted))}"
            if counted
            else "no semester counts, so Nilai Rapor and Nilai Sekolah are left empty"
        )
        problems.append(
            Problem(
                ProblemKind.RAPOR_SEMESTER_NOT_COUNTED,
                nomor,
                f"{where}semester(s) {', '.join(map(str, not_counted))} not counted: rules "
                f"{rules.label} count semesters {counted_text} (guide VIII.1); {outcome}. "
                'A longer programme needs a rules file with "rapor": {"semester": [...]}',
            )
        )
    return problems


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
                lulus_praktik=sum(g.lulus_praktik for g in done),
                tidak_lulus_praktik=sum(not g.lulus_praktik for g in done),
                ditahan=sum(n in held for n in members),
                rata_teori=mean([g.nilai_teori for g in done]),
                rata_praktik=mean([g.nilai_praktik for g in done]),
                rata_ukk=mean([g.nilai_ukk for g in done]),
            )
        )
    return tuple(rows)
