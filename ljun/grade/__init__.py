"""Competency grades: theory + practical scores -> Nilai UKK, pass, certificate.

This is the last stage of ARCHITECTURE.md §2 (section VII.B.3 of the exam guide: the
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

from ._formulas import (
    CertificateNumberError,
    ReportCard,
    SchoolGrade,
    certificate_number,
    mean_half_up,
    nilai_rapor,
    nilai_sekolah,
    nilai_ukk,
    practical_decision,
    school_grade,
)
from ._grading import (
    Grade,
    GradingReport,
    Problem,
    ProblemKind,
    SchoolSummary,
    grade,
)
from ._inputs import (
    PracticalScore,
    TheorySheet,
    parse_praktik_csv,
    parse_rapor_csv,
    read_praktik_csv,
    read_rapor_csv,
    read_theory_file,
    theory_sheet,
)
from ._outputs import (
    GRADE_COLUMNS,
    PROBLEM_COLUMNS,
    SCHOOL_GRADE_COLUMNS,
    SUMMARY_COLUMNS,
    competency_sheet_name,
    grade_rows,
    grades_csv_text,
    problem_rows,
    problems_csv_text,
    summary_rows,
    write_grades_csv,
    write_grades_xlsx,
    write_problems_csv,
)
from ._rules import (
    DEFAULT_RULES,
    GradingRules,
    GradingRulesError,
    bundled_rule_sets,
    load_rules,
    parse_rules,
)

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
