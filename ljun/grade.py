"""Competency grades: theory + practical scores -> Nilai UKK, pass, certificate.

This is the last stage of DESIGN.md §2 (section VII.B.3 of the exam guide: the
province merges theory with practical scores).  Everything that makes a number
is a pure function of its inputs and of a :class:`GradingRules` rule set; the
readers of the input files and the writers of the outputs sit at the end of
the module.

Formulas (rule set ``ukk-2011-2012``; every intermediate mean rounded to
2 decimals half up with :mod:`decimal`, as Lampiran 3 does):

- Nilai UKK = 30 % Nilai Teori + 70 % Nilai Praktik (VIII.4); theory and
  practical are reported separately too (VIII.5).
- Pass (``lulus``): Nilai Praktik ≥ 7.00 (IX.2).  This is the competency
  exam's own requirement; the other conditions of the national exam are
  decided centrally.  A participant who does not pass gets the reason.
- Nilai Rapor = mean of the semester means, each semester mean (mean of that
  semester's SK scores) rounded first; Nilai Ujian Sekolah = mean of the SK
  scores examined by the school; Nilai Sekolah = 40 % Nilai Rapor + 60 %
  Nilai Ujian Sekolah (VIII.1–3, Lampiran 3).

Certificate numbers (X.4, Lampiran 1) — ``PP.DDD.A.KKKK.NNNN``:

- ``PP``: province, digits 4–5 of the nomor peserta (format
  ``X-XX-XX-XX-XXX-XXX-X`` = level, year, province, district, school,
  participant, check digit), unless overridden (``province=``).
- ``DDD``: district (kabupaten/kota), digits 6–7 of the nomor peserta
  zero-padded to 3 (``05`` -> ``005``), unless overridden (``district=``).
- ``A``: the curriculum letter of the rule set (A = KTSP).
- ``KKKK``: the participant's competency code (Lampiran 2).
- ``NNNN``: sequence of the participant within (province, district,
  competency), 1-based, in order of nomor peserta.  The sequence is taken
  over **every participant of the practical-scores file who passes the
  practical with a valid competency code**, whether or not the theory part can
  be graded yet: a participant held back (theory sheet under review, missing,
  duplicated) keeps a reserved number, so numbers already issued never shift
  when the held-back participant is graded in a later run.

Reconciliation: a participant is graded only when there is exactly one theory
sheet, not under review, with a score, a practical score, a competency code
from the list, and the same code on both (the theory score was computed with
the answer key of the sheet's competency, so a mismatch means the score may be
wrong).  Everyone else is held back with a :class:`Problem` that says why.
"""

from __future__ import annotations

import csv
import enum
import functools
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from ._io import atomic_write
from ._jsondoc import COMMON_FIXES, packaged_validator, read_json, schema_problems
from .errors import LjunError, ScoresFileError
from .kompetensi import KODE_DIGITS, load_competencies
from .nomor import (
    DISTRICT_DIGITS,
    PROVINCE_DIGITS,
    NomorPeserta,
    parse_nomor_peserta,
)
from .numbers import ScoreFormatError, format_score, parse_score, round_half_up

__all__ = [
    "DEFAULT_RULES",
    "GradingRules",
    "GradingRulesError",
    "CertificateNumberError",
    "load_rules",
    "parse_rules",
    "bundled_rule_sets",
    "mean_half_up",
    "nilai_ukk",
    "practical_decision",
    "nilai_rapor",
    "nilai_sekolah",
    "SchoolGrade",
    "school_grade",
    "certificate_number",
    "PracticalScore",
    "ReportCard",
    "TheorySheet",
    "theory_sheet",
    "ProblemKind",
    "Problem",
    "Grade",
    "SchoolSummary",
    "GradingReport",
    "grade",
    "parse_praktik_csv",
    "read_praktik_csv",
    "parse_rapor_csv",
    "read_rapor_csv",
    "read_theory_file",
    "GRADE_COLUMNS",
    "SCHOOL_GRADE_COLUMNS",
    "SUMMARY_COLUMNS",
    "PROBLEM_COLUMNS",
    "grade_rows",
    "summary_rows",
    "problem_rows",
    "write_grades_csv",
    "write_grades_xlsx",
    "grades_csv_text",
    "problems_csv_text",
    "write_problems_csv",
    "competency_sheet_name",
]

#: The rule set used when none is given (the bundled 2011/2012 rules).
DEFAULT_RULES = "ukk-2011-2012"

# Bundled rule sets, inside the ljun package.
_RULES_DIR = "data/rules"
_RULES_SCHEMA = "data/grading-rules.schema.json"

#: Digits of the participant sequence in a certificate number (Lampiran 1).
SEQUENCE_DIGITS = 4

#: Semesters a report card may list: 4-year SMK programmes have 8.
MAX_SEMESTER = 8

#: Values of the rapor CSV ``semester`` column that mean the school exam.
UJIAN_SEKOLAH_LABELS = frozenset({"us", "ujian_sekolah", "ujian sekolah"})

#: Columns of the practical-scores CSV.
PRAKTIK_COLUMNS: tuple[str, ...] = ("nomor_peserta", "nama", "kode_kompetensi", "nilai_praktik")

#: Columns of the report-card CSV (long format, one SK score per row).
RAPOR_COLUMNS: tuple[str, ...] = ("nomor_peserta", "semester", "sk", "nilai")

# Bad lines quoted in full in one error message; the rest are counted.
_LINES_SHOWN = 5

_KODE = re.compile(rf"[0-9]{{{KODE_DIGITS}}}")


class GradingRulesError(LjunError, ValueError):
    """A grading rule set file is malformed or inconsistent.

    ``problems`` lists every problem found, one sentence each.
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems) or (message,)


class CertificateNumberError(LjunError, ValueError):
    """A certificate number cannot be made (bad part, sequence too large)."""


# =========================================================================== rules


@dataclass(frozen=True)
class GradingRules:
    """One named, versioned set of grading rules (a year's exam guide).

    Weights and marks are exact decimals.  Load with :func:`load_rules`.

    Attributes
    ----------
    name, version : str, int
        Identify the rule set in every output (``ukk-2011-2012``, 1).
    title, source : str
        What the rules are and which sections of which guide they come from.
    score_min, score_max : Decimal
        The score scale (0 to 10).
    decimals : int
        Decimals kept by every score and intermediate mean (2).
    rounding : str
        ``"half_up"``, the only rounding the guides use.
    teori_weight, praktik_weight : Decimal
        Weights of theory and practical in Nilai UKK (0.30, 0.70).
    praktik_pass_mark : Decimal
        Lowest practical score that passes (7.00).
    rapor_weight, ujian_sekolah_weight : Decimal
        Weights of Nilai Rapor and Ujian Sekolah in Nilai Sekolah (0.40, 0.60).
    kurikulum : str
        Curriculum letter of certificate numbers (``"A"`` = KTSP).
    path : str
        Where the rules were loaded from.
    """

    name: str
    version: int
    title: str
    source: str
    score_min: Decimal
    score_max: Decimal
    decimals: int
    rounding: str
    teori_weight: Decimal
    praktik_weight: Decimal
    praktik_pass_mark: Decimal
    rapor_weight: Decimal
    ujian_sekolah_weight: Decimal
    kurikulum: str
    path: str = ""

    @property
    def label(self) -> str:
        """``name v<version>``, as printed in outputs."""
        return f"{self.name} v{self.version}"

    def round(self, value: Decimal) -> Decimal:
        """Round ``value`` to the rule set's decimals, half up."""
        return round_half_up(value, self.decimals)


# Rules-specific advice where the common phrase would be vague.
_RULES_FIXES = {**COMMON_FIXES, "maximum": "give a smaller number (a weight lies from 0 to 1)"}


def bundled_rule_sets() -> tuple[str, ...]:
    """Names of the rule sets shipped with ljun (``ukk-2011-2012``, ...)."""
    folder = resources.files("ljun").joinpath(_RULES_DIR)
    return tuple(
        sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))
    )


def load_rules(name: str | Path | None = None) -> GradingRules:
    """Load and check a grading rule set.

    Parameters
    ----------
    name : str or Path, optional
        The path of a rule-set JSON file, or the name of a bundled rule set
        (see :func:`bundled_rule_sets`); default :data:`DEFAULT_RULES`.

    Raises
    ------
    GradingRulesError
        When the file is missing or malformed, with every problem found,
        each naming the JSON path and the fix.
    """
    if name is None:
        name = DEFAULT_RULES
    path = Path(name)
    if path.is_file():
        return _load_rules_file(str(path.resolve()), path.stat().st_mtime_ns, str(path))
    if path.suffix == "" and path.parent == Path(".") and str(name) in bundled_rule_sets():
        resource = resources.files("ljun").joinpath(f"{_RULES_DIR}/{name}.json")
        with resources.as_file(resource) as bundled:
            return _load_rules_file(
                str(bundled), bundled.stat().st_mtime_ns, f"ljun/{_RULES_DIR}/{name}.json"
            )
    raise GradingRulesError(
        f"rules {str(name)!r} not found: give the path of a rules JSON file or one of "
        f"{', '.join(bundled_rule_sets())}"
    )


@functools.lru_cache(maxsize=8)
def _load_rules_file(path: str, mtime_ns: int, shown: str) -> GradingRules:
    # Decimal, never float: 0.30 must stay 0.30.
    document = read_json(path, what="rules", error=GradingRulesError, shown=shown, parse_float=Decimal)
    return parse_rules(document, source=shown)


def _plain(message: str) -> str:
    return re.sub(r"Decimal\('([^']*)'\)", r"\1", message)


def parse_rules(document: Any, *, source: str = "<rules>") -> GradingRules:
    """Check a parsed rules document (numbers as :class:`~decimal.Decimal`).

    The schema is ``ljun/data/grading-rules.schema.json``; beyond it, each
    pair of weights must add up to exactly 1 and the pass mark must lie on
    the scale.

    Raises
    ------
    GradingRulesError
        With every problem found.
    """
    problems = schema_problems(
        packaged_validator(_RULES_SCHEMA),
        document,
        fixes=_RULES_FIXES,
        default_fix="correct the value",
        message=lambda e: _plain(e.message),
    )
    if not problems:
        problems = _rules_consistency(document)
    if problems:
        raise GradingRulesError(
            f"rules {source}: {len(problems)} problem(s): " + " | ".join(problems), problems
        )
    return GradingRules(
        name=document["name"],
        version=document["version"],
        title=document.get("title", ""),
        source=document.get("source", ""),
        score_min=Decimal(document["scale"]["min"]),
        score_max=Decimal(document["scale"]["max"]),
        decimals=document["decimals"],
        rounding=document["rounding"],
        teori_weight=Decimal(document["nilai_ukk"]["teori"]),
        praktik_weight=Decimal(document["nilai_ukk"]["praktik"]),
        praktik_pass_mark=Decimal(document["lulus"]["praktik_min"]),
        rapor_weight=Decimal(document["nilai_sekolah"]["rapor"]),
        ujian_sekolah_weight=Decimal(document["nilai_sekolah"]["ujian_sekolah"]),
        kurikulum=document["sertifikat"]["kurikulum"],
        path=source,
    )


def _rules_consistency(document: Mapping[str, Any]) -> list[str]:
    problems = []
    for key, first, second in (
        ("nilai_ukk", "teori", "praktik"),
        ("nilai_sekolah", "rapor", "ujian_sekolah"),
    ):
        total = Decimal(document[key][first]) + Decimal(document[key][second])
        if total != 1:
            problems.append(
                f"$.{key}: the weights {first} and {second} add up to {total}, not 1; "
                "correct them so they add up to 1"
            )
    low, high = Decimal(document["scale"]["min"]), Decimal(document["scale"]["max"])
    if low >= high:
        problems.append(f"$.scale: min {low} is not below max {high}; correct the scale")
    pass_mark = Decimal(document["lulus"]["praktik_min"])
    if not low <= pass_mark <= high:
        problems.append(
            f"$.lulus.praktik_min: {pass_mark} is off the scale {low} to {high}; "
            "give a pass mark on the scale"
        )
    return problems


def _rules(rules: GradingRules | None) -> GradingRules:
    return load_rules() if rules is None else rules


# =========================================================================== formulas


def mean_half_up(values: Sequence[Decimal], rules: GradingRules | None = None) -> Decimal:
    """Mean of ``values``, rounded to the rule set's decimals half up.

    >>> mean_half_up([Decimal("8.41"), Decimal("8.12")])
    Decimal('8.27')
    """
    if not values:
        raise ValueError("the mean of no scores is undefined")
    return _rules(rules).round(sum(values, Decimal(0)) / len(values))


def nilai_ukk(teori: Decimal, praktik: Decimal, rules: GradingRules | None = None) -> Decimal:
    """Nilai UKK = 30 % Nilai Teori + 70 % Nilai Praktik, rounded half up (VIII.4).

    >>> nilai_ukk(Decimal("6.50"), Decimal("8.25"))
    Decimal('7.73')
    """
    r = _rules(rules)
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
    r = _rules(rules)
    if praktik >= r.praktik_pass_mark:
        return True, ""
    return False, (
        f"Nilai Praktik Kejuruan {format_score(praktik, comma=True)} kurang dari batas lulus "
        f"{format_score(r.praktik_pass_mark, comma=True)}"
    )


def nilai_rapor(semesters: Sequence[Sequence[Decimal]], rules: GradingRules | None = None) -> Decimal:
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
    r = _rules(rules)
    return r.round(r.rapor_weight * rapor + r.ujian_sekolah_weight * ujian_sekolah)


@dataclass(frozen=True)
class ReportCard:
    """One participant's report-card data (Lampiran 3).

    Attributes
    ----------
    nomor_peserta : str
        14 digits.
    semesters : tuple of (int, tuple of Decimal)
        SK scores per semester, by semester number.
    ujian_sekolah : tuple of Decimal
        SK scores of the school exam.
    line : int
        First line of the participant in the rapor CSV (0 when not from a file).
    """

    nomor_peserta: str
    semesters: tuple[tuple[int, tuple[Decimal, ...]], ...]
    ujian_sekolah: tuple[Decimal, ...]
    line: int = 0


@dataclass(frozen=True)
class SchoolGrade:
    """The school part of a participant's grade (Lampiran 3)."""

    semester_means: tuple[tuple[int, Decimal], ...]
    nilai_rapor: Decimal
    nilai_ujian_sekolah: Decimal
    nilai_sekolah: Decimal


def school_grade(card: ReportCard, rules: GradingRules | None = None) -> SchoolGrade:
    """Semester means, Nilai Rapor, Nilai Ujian Sekolah and Nilai Sekolah of a report card.

    >>> card = ReportCard("41205030120078", ((3, (Decimal("7.55"), Decimal("7.12"))),),
    ...                   (Decimal("7.35"), Decimal("7.11")))
    >>> school_grade(card).nilai_sekolah
    Decimal('7.27')
    """
    means = tuple((semester, mean_half_up(scores, rules)) for semester, scores in card.semesters)
    rapor = mean_half_up([mean for _, mean in means], rules)
    ujian = mean_half_up(card.ujian_sekolah, rules)
    return SchoolGrade(means, rapor, ujian, nilai_sekolah(rapor, ujian, rules))


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
    r = _rules(rules)
    parts = (("province", province, PROVINCE_DIGITS), ("district", district, DISTRICT_DIGITS),
             ("competency code", kode, KODE_DIGITS))
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


# =========================================================================== inputs


@dataclass(frozen=True)
class PracticalScore:
    """One row of the practical-scores file.

    ``nomor_peserta`` is normalised to 14 digits; ``line`` is the line in the
    file (0 when not from a file).
    """

    nomor_peserta: str
    nama: str
    kode_kompetensi: str
    nilai_praktik: Decimal
    line: int = 0


@dataclass(frozen=True)
class TheorySheet:
    """What grading needs of one theory result record (DESIGN.md §3).

    ``nomor_peserta`` is normalised to 14 digits when it reads as a nomor
    peserta, else kept as read (with ``?``) and ``valid_nomor`` is false.
    ``nilai_teori`` is ``None`` when the sheet has no score.
    """

    nomor_peserta: str
    valid_nomor: bool
    nama: str
    kode_kompetensi: str
    paket: str
    nilai_teori: Decimal | None
    review: bool
    flags: tuple[str, ...]
    source: str
    page: int | None

    @property
    def where(self) -> str:
        """``source p.N``, for messages."""
        return f"{self.source} p.{self.page}" if self.page is not None else self.source


_TRUE_TEXTS = frozenset({"true", "1", "yes"})
_FALSE_TEXTS = frozenset({"false", "0", "no"})


def theory_sheet(record: Mapping[str, Any], rules: GradingRules | None = None) -> TheorySheet:
    """Check one result record and keep what grading needs.

    ``record`` has the keys of DESIGN.md §3; ``nomor_peserta``,
    ``kode_kompetensi``, ``score`` and ``review`` are required.  ``score`` may
    be a Decimal, number or text (``"7.50"``, ``"7,50"``), or ``None`` / ``""``
    for a sheet that was not scored; ``review`` a bool or ``true``/``false``;
    ``flags`` a list or its JSON text.

    Raises
    ------
    ScoresFileError
        When the record breaks the contract (missing key, score off the
        scale or with more than 2 decimals, review not a truth value); the
        message names the key.
    """
    r = _rules(rules)
    for key in ("nomor_peserta", "kode_kompetensi", "score", "review"):
        if key not in record:
            raise ScoresFileError(f"the result record has no {key!r}")
    nomor_text = str(record["nomor_peserta"] or "")
    try:
        nomor, valid = parse_nomor_peserta(nomor_text).digits, True
    except ScoresFileError:
        nomor, valid = nomor_text.strip(), False
    page = record.get("page")
    try:
        page = None if page in (None, "") else int(page)
    except (TypeError, ValueError):
        raise ScoresFileError(f"page {page!r} is not a page number") from None
    return TheorySheet(
        nomor_peserta=nomor,
        valid_nomor=valid,
        nama=str(record.get("nama") or "").strip(),
        kode_kompetensi=str(record["kode_kompetensi"] or "").strip(),
        paket=str(record.get("paket") or "").strip(),
        nilai_teori=_record_score(record["score"], r),
        review=_truth(record["review"], "review"),
        flags=_flags(record.get("flags")),
        source=str(record.get("source") or ""),
        page=page,
    )


def _record_score(value: Any, rules: GradingRules) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            return parse_score(
                value, places=rules.decimals, minimum=rules.score_min, maximum=rules.score_max
            )
        except ScoreFormatError as exc:
            raise ScoresFileError(f"score: {exc}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ScoresFileError(f"score {value!r} is not a number")
    # A float is taken as the decimal it prints as (7.5, not 7.4999…).
    exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not exact.is_finite():
        raise ScoresFileError(f"score {value!r} is not a finite number")
    if exact != rules.round(exact):
        raise ScoresFileError(f"score {value!r} has more than {rules.decimals} decimals")
    if not rules.score_min <= exact <= rules.score_max:
        raise ScoresFileError(
            f"score {value!r} is off the scale {rules.score_min} to {rules.score_max}"
        )
    return exact


def _truth(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE_TEXTS | _FALSE_TEXTS:
        return value.strip().lower() in _TRUE_TEXTS
    raise ScoresFileError(f"{key} {value!r} is not true or false")


def _flags(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ScoresFileError(f"flags {value!r} is not a JSON list") from None
    if not isinstance(value, (list, tuple)):
        raise ScoresFileError(f"flags {value!r} is not a list")
    return tuple(str(flag) for flag in value)


# =========================================================================== grading


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
    theory : iterable of result records (mappings, DESIGN.md §3) or TheorySheet
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
    r = _rules(rules)
    names = dict(competencies) if competencies is not None else {
        c.kode: c.nama for c in load_competencies()
    }
    _check_override(province, PROVINCE_DIGITS, "province")
    _check_override(district, DISTRICT_DIGITS, "district")

    sheets = [item if isinstance(item, TheorySheet) else _sheet_of(item, index, r)
              for index, item in enumerate(theory, start=1)]
    by_practical = _unique(practical, "practical scores")
    cards = _unique(report_cards, "report cards") if report_cards is not None else None

    problems: list[Problem] = []
    sheets_of: dict[str, list[TheorySheet]] = defaultdict(list)
    for sheet in sheets:
        if sheet.valid_nomor:
            sheets_of[sheet.nomor_peserta].append(sheet)
        else:
            problems.append(Problem(
                ProblemKind.UNREADABLE_NOMOR_PESERTA, sheet.nomor_peserta,
                f"theory sheet {sheet.where}: nomor peserta {sheet.nomor_peserta!r} cannot be "
                "read; correct it in review",
                sheet.kode_kompetensi, sheet.nama,
            ))

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
        grades.append(Grade(
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
        ))

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
        raise ScoresFileError(
            f"theory result record {index} ({where} p.{page}): {exc}"
        ) from None


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
        found.append((ProblemKind.NO_PRACTICAL_SCORE,
                      f"theory sheet {sheets[0].where} has no practical score; add the "
                      "participant to the practical-scores file"))
    elif kode not in names:
        found.append((ProblemKind.UNKNOWN_COMPETENCY,
                      f"practical scores line {score.line}: kode kompetensi {kode} is not in "
                      "the competency list (Lampiran 2); correct the code"))
    if not sheets:
        found.append((ProblemKind.NO_THEORY_SHEET,
                      "no theory sheet was scored for this participant; find and scan the LJUN"))
    elif len(sheets) > 1:
        found.append((ProblemKind.DUPLICATE_THEORY_SHEET,
                      f"{len(sheets)} theory sheets carry this nomor peserta "
                      f"({', '.join(s.where for s in sheets)}); correct the wrong one in review"))
    else:
        (sheet,) = sheets
        if score is None and sheet.kode_kompetensi not in names:
            found.append((ProblemKind.UNKNOWN_COMPETENCY,
                          f"theory sheet {sheet.where}: kode kompetensi "
                          f"{sheet.kode_kompetensi!r} is not in the competency list (Lampiran 2)"))
        if sheet.review:
            flags = f" ({', '.join(sheet.flags)})" if sheet.flags else ""
            found.append((ProblemKind.THEORY_UNDER_REVIEW,
                          f"theory sheet {sheet.where} is still under review{flags}; "
                          "finish the review, then grade again"))
        if sheet.nilai_teori is None:
            found.append((ProblemKind.NO_THEORY_SCORE,
                          f"theory sheet {sheet.where} has no score"))
        if score is not None and sheet.kode_kompetensi != score.kode_kompetensi:
            found.append((ProblemKind.COMPETENCY_MISMATCH,
                          f"theory sheet {sheet.where} reads kode kompetensi "
                          f"{sheet.kode_kompetensi!r} but the practical scores (line "
                          f"{score.line}) say {score.kode_kompetensi}; the theory score may "
                          "come from the wrong answer key: correct the sheet or the file"))
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
            nomor = NomorPeserta(score.nomor_peserta)
            key = (province or nomor.certificate_province,
                   district or nomor.certificate_district,
                   score.kode_kompetensi)
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
        Problem(ProblemKind.NO_REPORT_CARD, g.nomor_peserta,
                "no report-card data; Nilai Rapor and Nilai Sekolah are left empty",
                g.kode_kompetensi, g.nama)
        for g in grades if g.nomor_peserta not in cards
    ]
    problems += [
        Problem(ProblemKind.REPORT_CARD_WITHOUT_PARTICIPANT, nomor,
                f"report cards line {card.line}: nomor peserta has neither a theory sheet "
                "nor a practical score; check the number")
        for nomor, card in cards.items() if nomor not in known
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
        rows.append(SchoolSummary(
            provinsi=prov, kabupaten_kota=dist, sekolah=school, kode_kompetensi=kode,
            kompetensi_keahlian=names.get(kode, ""),
            peserta=len(members), dinilai=len(done),
            lulus=sum(g.lulus for g in done), tidak_lulus=sum(not g.lulus for g in done),
            ditahan=sum(n in held for n in members),
            rata_teori=mean([g.nilai_teori for g in done]),
            rata_praktik=mean([g.nilai_praktik for g in done]),
            rata_ukk=mean([g.nilai_ukk for g in done]),
        ))
    return tuple(rows)


# =========================================================================== input files


def _read_text(path: str | Path, what: str) -> str:
    try:
        # utf-8-sig: spreadsheet programs often start a CSV with a byte-order mark.
        return Path(path).read_text("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScoresFileError(
            f"{what} {path}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "save it as CSV UTF-8"
        ) from None
    except OSError as exc:
        raise ScoresFileError(f"{what} {path}: cannot be read: {exc.strerror or exc}") from None


def _csv_rows(
    text: str, columns: Sequence[str], name: str
) -> Iterable[tuple[int, dict[str, str]]]:
    """Yield (line, row) of a CSV that has at least the given columns.

    ``row`` maps every header name to its stripped cell; a row with the wrong
    number of fields is yielded as ``{"": problem}``.

    The delimiter is ``,`` or, when the header has ``;`` and no ``,`` (the
    Indonesian spreadsheet default), ``;``.
    """
    header_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in header_line and "," not in header_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [cell.strip().lower() for cell in next(reader)]
    except StopIteration:
        raise ScoresFileError(f"{name}: the file is empty; it needs the header "
                              f"{','.join(columns)}") from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise ScoresFileError(
            f"{name} line 1: missing column(s) {', '.join(missing)}; the header must name "
            f"{','.join(columns)}"
        )
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                # The usual cause: an unquoted decimal comma splitting a score in two.
                hint = (' (quote a score with a decimal comma: "7,50")'
                        if len(row) > len(header) and delimiter == "," else "")
                yield reader.line_num, {
                    "": f"{len(row)} fields, the header has {len(header)}{hint}"
                }
                continue
            yield reader.line_num, {h: cell.strip() for h, cell in zip(header, row)}
    except csv.Error as exc:
        raise ScoresFileError(f"{name} line {reader.line_num}: {exc}") from None


def _raise_bad_lines(name: str, bad: list[tuple[int, str]]) -> None:
    if not bad:
        return
    shown = "; ".join(f"line {line}: {message}" for line, message in bad[:_LINES_SHOWN])
    more = f"; and {len(bad) - _LINES_SHOWN} more bad line(s)" if len(bad) > _LINES_SHOWN else ""
    raise ScoresFileError(
        f"{name}: {len(bad)} bad line(s), nothing imported: {shown}{more}"
    )


def _score_cell(text: str, column: str, rules: GradingRules) -> Decimal:
    try:
        return parse_score(
            text, places=rules.decimals, minimum=rules.score_min, maximum=rules.score_max
        )
    except ScoreFormatError as exc:
        raise ScoresFileError(f"{column}: {exc}") from None


def parse_praktik_csv(
    text: str, *, name: str = "<praktik>", rules: GradingRules | None = None
) -> tuple[PracticalScore, ...]:
    """Read a practical-scores CSV, all or nothing.

    Columns ``nomor_peserta,nama,kode_kompetensi,nilai_praktik`` (any order,
    extra columns ignored, ``;`` accepted as separator).  ``nomor_peserta`` is
    14 digits with or without the hyphens ``X-XX-XX-XX-XXX-XXX-X``;
    ``kode_kompetensi`` 4 digits; ``nilai_praktik`` 0–10 with at most
    2 decimals, ``7,50`` or ``7.50`` (quote a comma value when ``,`` separates
    the columns).  A nomor peserta may appear once.

    Raises
    ------
    ScoresFileError
        Naming ``name`` and every bad line (the first few in full); nothing is
        returned when any line is bad.
    """
    r = _rules(rules)
    scores: list[PracticalScore] = []
    bad: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}
    for line, row in _csv_rows(text, PRAKTIK_COLUMNS, name):
        if "" in row:
            bad.append((line, row[""]))
            continue
        try:
            nomor = parse_nomor_peserta(row["nomor_peserta"]).digits
            if not row["nama"]:
                raise ScoresFileError("nama is empty")
            if not _KODE.fullmatch(row["kode_kompetensi"]):
                raise ScoresFileError(
                    f"kode_kompetensi {row['kode_kompetensi']!r} is not {KODE_DIGITS} digits"
                )
            nilai = _score_cell(row["nilai_praktik"], "nilai_praktik", r)
            if nomor in first_line:
                raise ScoresFileError(
                    f"nomor peserta {nomor} already appears on line {first_line[nomor]}"
                )
        except ScoresFileError as exc:
            bad.append((line, str(exc)))
            continue
        first_line[nomor] = line
        scores.append(PracticalScore(nomor, row["nama"], row["kode_kompetensi"], nilai, line))
    _raise_bad_lines(name, bad)
    return tuple(scores)


def read_praktik_csv(path: str | Path, rules: GradingRules | None = None) -> tuple[PracticalScore, ...]:
    """Read a practical-scores CSV file; see :func:`parse_praktik_csv`."""
    return parse_praktik_csv(_read_text(path, "practical scores"), name=str(path), rules=rules)


def parse_rapor_csv(
    text: str, *, name: str = "<rapor>", rules: GradingRules | None = None
) -> tuple[ReportCard, ...]:
    """Read a report-card CSV (long format), all or nothing.

    One row per SK score: ``nomor_peserta,semester,sk,nilai``.  ``semester``
    is the semester number 1–8, or ``US`` (also ``ujian_sekolah``) for a score
    of the school exam; ``sk`` names the standard competency (any text, unique
    per participant and semester); ``nilai`` 0–10 as in the practical file.
    Every participant needs at least one semester row and one ``US`` row.

    Raises
    ------
    ScoresFileError
        Naming ``name`` and every bad line; nothing is returned when any line
        is bad.
    """
    r = _rules(rules)
    bad: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}
    semesters: dict[str, dict[int, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    school_exam: dict[str, list[Decimal]] = defaultdict(list)
    seen: dict[tuple[str, str, str], int] = {}
    for line, row in _csv_rows(text, RAPOR_COLUMNS, name):
        if "" in row:
            bad.append((line, row[""]))
            continue
        try:
            nomor = parse_nomor_peserta(row["nomor_peserta"]).digits
            semester = _semester(row["semester"])
            if not row["sk"]:
                raise ScoresFileError("sk is empty; name the standard competency")
            nilai = _score_cell(row["nilai"], "nilai", r)
            key = (nomor, str(semester), row["sk"].casefold())
            if key in seen:
                raise ScoresFileError(
                    f"SK {row['sk']!r} of semester {row['semester']} already appears on "
                    f"line {seen[key]}"
                )
        except ScoresFileError as exc:
            bad.append((line, str(exc)))
            continue
        seen[key] = line
        first_line.setdefault(nomor, line)
        if semester is None:
            school_exam[nomor].append(nilai)
        else:
            semesters[nomor][semester].append(nilai)
    for nomor, line in first_line.items():
        if nomor not in semesters:
            bad.append((line, f"nomor peserta {nomor} has no semester scores"))
        if nomor not in school_exam:
            bad.append((line, f"nomor peserta {nomor} has no ujian sekolah (US) scores"))
    bad.sort()
    _raise_bad_lines(name, bad)
    return tuple(
        ReportCard(
            nomor,
            tuple((s, tuple(scores)) for s, scores in sorted(semesters[nomor].items())),
            tuple(school_exam[nomor]),
            line,
        )
        for nomor, line in first_line.items()
    )


def _semester(text: str) -> int | None:
    """Semester number, or ``None`` for the school exam."""
    if text.strip().lower() in UJIAN_SEKOLAH_LABELS:
        return None
    if text.isdigit() and 1 <= int(text) <= MAX_SEMESTER:
        return int(text)
    raise ScoresFileError(
        f"semester {text!r} is not a semester 1–{MAX_SEMESTER} or US (ujian sekolah)"
    )


def read_rapor_csv(path: str | Path, rules: GradingRules | None = None) -> tuple[ReportCard, ...]:
    """Read a report-card CSV file; see :func:`parse_rapor_csv`."""
    return parse_rapor_csv(_read_text(path, "report cards"), name=str(path), rules=rules)


def read_theory_file(path: str | Path, rules: GradingRules | None = None) -> tuple[TheorySheet, ...]:
    """Read theory result records as ``ljun score`` exports them, all or nothing.

    ``.jsonl``: one JSON object per line.  ``.csv``: the same keys as columns,
    ``answers``/``flags`` as JSON text, ``review`` as ``true``/``false``.

    Raises
    ------
    ScoresFileError
        Naming the file and line of every bad record (the first few in full).
    """
    r = _rules(rules)
    name = str(path)
    suffix = Path(path).suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise ScoresFileError(f"theory results {name}: give a .jsonl or .csv file of result records")
    text = _read_text(path, "theory results")
    records: Iterable[tuple[int, Any]]
    if suffix == ".jsonl":
        records = _jsonl_records(text)
    else:
        records = _csv_rows(text, ("nomor_peserta", "kode_kompetensi", "score", "review"), name)
    sheets: list[TheorySheet] = []
    bad: list[tuple[int, str]] = []
    for line, record in records:
        if isinstance(record, str):
            bad.append((line, record))
            continue
        if "" in record:
            bad.append((line, record[""]))
            continue
        try:
            sheets.append(theory_sheet(record, r))
        except ScoresFileError as exc:
            bad.append((line, str(exc)))
    _raise_bad_lines(f"theory results {name}", bad)
    return tuple(sheets)


def _jsonl_records(text: str) -> Iterable[tuple[int, Mapping[str, Any] | str]]:
    """(line, record) per non-blank line; a str instead of a record is the problem."""
    for line, content in enumerate(text.splitlines(), start=1):
        if not content.strip():
            continue
        try:
            record = json.loads(content, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            yield line, f"not valid JSON at column {exc.colno}: {exc.msg}"
            continue
        if not isinstance(record, dict):
            yield line, "not a JSON object"
            continue
        yield line, record


# =========================================================================== outputs

#: Columns of the grade list, one row per graded participant.
GRADE_COLUMNS: tuple[str, ...] = (
    "nomor_peserta", "nama", "kode_kompetensi", "kompetensi_keahlian", "nilai_teori",
    "nilai_praktik", "nilai_ukk", "lulus", "alasan", "nomor_sertifikat",
)

#: Columns added to the grade list when report-card data is given.
SCHOOL_GRADE_COLUMNS: tuple[str, ...] = ("nilai_rapor", "nilai_ujian_sekolah", "nilai_sekolah")

#: Columns of the summary per school and competency.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "provinsi", "kabupaten_kota", "sekolah", "kode_kompetensi", "kompetensi_keahlian",
    "peserta", "dinilai", "lulus", "tidak_lulus", "ditahan", "rata_teori", "rata_praktik",
    "rata_ukk",
)

#: Columns of the problem list.
PROBLEM_COLUMNS: tuple[str, ...] = (
    "nomor_peserta", "nama", "kode_kompetensi", "masalah", "ditahan", "keterangan",
)

# A cell is text, a whole number, an exact decimal, or empty.
Cell = str | int | Decimal | None


def grade_rows(report: GradingReport) -> list[dict[str, Cell]]:
    """One row per grade: :data:`GRADE_COLUMNS` (+ :data:`SCHOOL_GRADE_COLUMNS`).

    Scores stay Decimals (``None`` when unknown); ``lulus`` is a bool.
    """
    rows = []
    for g in report.grades:
        row: dict[str, Any] = {
            "nomor_peserta": g.nomor_peserta, "nama": g.nama,
            "kode_kompetensi": g.kode_kompetensi, "kompetensi_keahlian": g.kompetensi_keahlian,
            "nilai_teori": g.nilai_teori, "nilai_praktik": g.nilai_praktik,
            "nilai_ukk": g.nilai_ukk, "lulus": g.lulus, "alasan": g.alasan,
            "nomor_sertifikat": g.nomor_sertifikat,
        }
        if report.with_school_grades:
            row["nilai_rapor"] = g.school.nilai_rapor if g.school else None
            row["nilai_ujian_sekolah"] = g.school.nilai_ujian_sekolah if g.school else None
            row["nilai_sekolah"] = g.school.nilai_sekolah if g.school else None
        rows.append(row)
    return rows


def summary_rows(report: GradingReport) -> list[dict[str, Cell]]:
    """One row per school and competency: :data:`SUMMARY_COLUMNS`."""
    return [{c: getattr(s, c) for c in SUMMARY_COLUMNS} for s in report.summary]


def problem_rows(report: GradingReport) -> list[dict[str, Cell]]:
    """One row per problem: :data:`PROBLEM_COLUMNS` (``ditahan`` is a bool)."""
    return [
        {"nomor_peserta": p.nomor_peserta, "nama": p.nama, "kode_kompetensi": p.kode_kompetensi,
         "masalah": str(p.kind), "ditahan": p.held_back, "keterangan": p.detail}
        for p in report.problems
    ]


def _grade_columns(report: GradingReport) -> tuple[str, ...]:
    return GRADE_COLUMNS + (SCHOOL_GRADE_COLUMNS if report.with_school_grades else ())


def _text_cell(value: Any, comma: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format_score(value, comma=comma)
    return str(value)


def _csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Cell]], comma: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_text_cell(row[c], comma) for c in columns])
    return out.getvalue()


def grades_csv_text(report: GradingReport, *, comma: bool = False) -> str:
    """The grade list as CSV text (``lulus`` as ``true``/``false``, scores with 2 decimals)."""
    return _csv_text(_grade_columns(report), grade_rows(report), comma)


def problems_csv_text(report: GradingReport) -> str:
    """The problem list as CSV text (:data:`PROBLEM_COLUMNS`)."""
    return _csv_text(PROBLEM_COLUMNS, problem_rows(report), comma=False)


def _write_text(path: str | Path, text: str) -> None:
    with atomic_write(path, "w", encoding="utf-8", newline="") as stream:
        stream.write(text)


def write_grades_csv(report: GradingReport, path: str | Path, *, comma: bool = False) -> None:
    """Write the grade list as CSV (UTF-8), atomically."""
    _write_text(path, grades_csv_text(report, comma=comma))


def write_problems_csv(report: GradingReport, path: str | Path) -> None:
    """Write the problem list as CSV (UTF-8), atomically."""
    _write_text(path, problems_csv_text(report))


#: Sheet names of the XLSX workbook (besides one per competency).
SUMMARY_SHEET = "Ringkasan"
PROBLEMS_SHEET = "Masalah"
RULES_SHEET = "Aturan"

# Excel's limit on sheet names, and the characters it forbids in them.
_SHEET_NAME_MAX = 31
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

# Number format of score cells: always 2 decimals, shown in the reader's locale.
_SCORE_FORMAT = "0.00"


def competency_sheet_name(kode: str, nama: str) -> str:
    """Sheet name of a competency: ``"6018 Akuntansi"``, cut to Excel's 31 characters."""
    return _SHEET_NAME_FORBIDDEN.sub(" ", f"{kode} {nama}")[:_SHEET_NAME_MAX].rstrip()


def write_grades_xlsx(report: GradingReport, path: str | Path) -> None:
    """Write the workbook, atomically.

    Sheets: ``Ringkasan`` (summary per school and competency), one sheet per
    competency (``"6018 Akuntansi"``: its grades), ``Masalah`` (problems) and
    ``Aturan`` (the rule set used).  Scores are number cells with format
    ``0.00`` (the spreadsheet shows them with the reader's decimal separator);
    ``lulus``/``ditahan`` are ``ya``/``tidak``.
    """
    from openpyxl import Workbook  # imported here: only this writer needs it

    workbook = Workbook()
    summary = workbook.active
    summary.title = SUMMARY_SHEET
    _fill_sheet(summary, SUMMARY_COLUMNS, summary_rows(report))
    columns = _grade_columns(report)
    by_competency: dict[tuple[str, str], list[dict[str, Cell]]] = defaultdict(list)
    for row in grade_rows(report):
        by_competency[(str(row["kode_kompetensi"]), str(row["kompetensi_keahlian"]))].append(row)
    for (kode, nama), rows in sorted(by_competency.items()):
        _fill_sheet(workbook.create_sheet(competency_sheet_name(kode, nama)), columns, rows)
    _fill_sheet(workbook.create_sheet(PROBLEMS_SHEET), PROBLEM_COLUMNS, problem_rows(report))
    rules = workbook.create_sheet(RULES_SHEET)
    r = report.rules
    for row in (("aturan", r.name), ("versi", r.version), ("judul", r.title),
                ("sumber", r.source), ("berkas", r.path)):
        rules.append(row)
    with atomic_write(path, "wb") as stream:
        workbook.save(stream)


def _fill_sheet(sheet: Any, columns: Sequence[str], rows: Sequence[Mapping[str, Cell]]) -> None:
    sheet.append(list(columns))
    for row in rows:
        cells = []
        for column in columns:
            value = row[column]
            cells.append(("ya" if value else "tidak") if isinstance(value, bool) else value)
        sheet.append(cells)
    for row_cells in sheet.iter_rows(min_row=2):
        for cell in row_cells:
            if isinstance(cell.value, Decimal):
                cell.number_format = _SCORE_FORMAT
    sheet.freeze_panes = "A2"
