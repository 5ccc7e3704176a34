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
- Practical pass (``lulus_praktik``): Nilai Praktik ≥ 7.00 (IX.2).  This is
  the competency exam's own requirement and alone decides the certificate
  (X.4); whether the participant passes the exam also depends on the
  national exam rules, decided centrally.  A participant whose practical
  does not pass gets the reason.
- Nilai Rapor = mean of the semester means, each semester mean (mean of that
  semester's SK scores) rounded first, over semesters 1 to 5 (VIII.1; a
  longer programme lists its semesters in the rules, ``rapor.semester``);
  report-card rows of other semesters are reported, never counted.  Nilai
  Ujian Sekolah = mean of the SK scores examined by the school; Nilai
  Sekolah = 40 % Nilai Rapor + 60 % Nilai Ujian Sekolah (VIII.1–3,
  Lampiran 3).

Certificate numbers (X.4, Lampiran 1) — ``PP.DDD.A.KKKK.NNNN``:

- ``PP``: province, digits 4–5 of the nomor peserta (format
  ``X-XX-XX-XX-XXX-XXX-X`` = level, year, province, district, school,
  participant, check digit), unless overridden (``province=``).
- ``DDD``: district (kabupaten/kota), digits 6–7 of the nomor peserta
  zero-padded to 3 (``05`` -> ``005``), unless overridden (``district=``).
- ``A``: the curriculum letter of the rule set (A = KTSP).
- ``KKKK``: the participant's competency code (Lampiran 2).
- ``NNNN``: the participant's number within (province, district,
  competency).  Numbers come from a register (``register=``, the store's
  ``certificates`` table): a number on record never moves; every practical
  pass with a competency code from the list that no theory sheet disputes,
  held back or not, gets one if it has none — the next free number of the
  group, in nomor-peserta order among the newcomers — so a first run numbers
  each group 1, 2, 3 ... in nomor-peserta order.  A number is never issued
  twice, withdrawn ones included.  See :mod:`ljun.grade._certificates`.

Reconciliation: a participant is graded only when there is exactly one theory
sheet, not under review, with a score, a practical score, a competency code
from the list, and the same code on both (the theory score was computed with
the answer key of the sheet's competency, so a mismatch means the score may be
wrong).  Everyone else is held back with a :class:`Problem` that says why.
"""

from __future__ import annotations

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
    certificate_number,
    counted_semesters,
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
from ._registry import (
    GRADE_BATCH_KIND,
    CertificateEvent,
    CertificateRegistry,
    CertificateWithdrawalError,
)
from ._rules import (
    DEFAULT_RAPOR_SEMESTERS,
    DEFAULT_RULES,
    GradingRules,
    GradingRulesError,
    bundled_rule_sets,
    load_rules,
    parse_rules,
)

__all__ = [
    "DEFAULT_RULES",
    "DEFAULT_RAPOR_SEMESTERS",
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
    "counted_semesters",
    "certificate_number",
    "CertificateGroup",
    "CertificateClaim",
    "IssuedCertificate",
    "CertificatePlan",
    "CertificateConflict",
    "ConflictKind",
    "plan_certificates",
    "CertificateRegistry",
    "CertificateEvent",
    "CertificateWithdrawalError",
    "GRADE_BATCH_KIND",
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
