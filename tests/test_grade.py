"""Competency grades: formulas, rules, inputs, reconciliation, certificates (ljun.grade)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ljun.errors import LjunError, ScoresFileError
from ljun.grade import (
    CertificateNumberError,
    GradingRulesError,
    PracticalScore,
    ProblemKind,
    ReportCard,
    bundled_rule_sets,
    certificate_number,
    competency_sheet_name,
    grade,
    grades_csv_text,
    load_rules,
    mean_half_up,
    nilai_rapor,
    nilai_sekolah,
    nilai_ukk,
    parse_praktik_csv,
    parse_rapor_csv,
    practical_decision,
    read_praktik_csv,
    read_theory_file,
    school_grade,
    theory_sheet,
)
from ljun.nomor import parse_nomor_peserta

D = Decimal
CERTIFICATE = re.compile(r"^\d{2}\.\d{3}\.A\.\d{4}\.\d{4}$")
AKUNTANSI = "6018"
PEMASARAN = "6054"

# Lampiran 3 of the guide (Akuntansi), the raw SK scores typed in: semester -> SK scores.
LAMPIRAN_3_SEMESTERS = {
    3: ["7.55", "7.12", "8.34", "7.87", "8.84"],
    4: ["8.23", "7.73", "7.13", "7.02"],
    5: ["8.41", "8.12"],
}
LAMPIRAN_3_UJIAN_SEKOLAH = ["7.35", "7.11"]

# Lampiran 3 as a rapor CSV, SK names and Indonesian decimal commas as in the guide.
LAMPIRAN_3_CSV = """nomor_peserta,semester,sk,nilai
4-12-05-03-012-001-7,3,Mengelola kartu piutang,"7,55"
4-12-05-03-012-001-7,3,Mengelola kartu aktiva tetap,"7,12"
4-12-05-03-012-001-7,4,Mengelola kartu utang,"8,23"
4-12-05-03-012-001-7,5,Menyajikan laporan harga pokok produk,"8,41"
4-12-05-03-012-001-7,US,Menyajikan laporan harga pokok produk,"7,35"
4-12-05-03-012-001-7,3,Menyusun laporan keuangan,"8,34"
4-12-05-03-012-001-7,4,Menyusun laporan keuangan,"7,73"
4-12-05-03-012-001-7,3,Menyiapkan surat pemberitahuan pajak,"7,87"
4-12-05-03-012-001-7,4,Menyiapkan surat pemberitahuan pajak,"7,13"
4-12-05-03-012-001-7,3,Mengoperasikan paket program pengolah angka/ spreadsheet,"8,84"
4-12-05-03-012-001-7,4,Mengoperasikan paket program pengolah angka/ spreadsheet,"7,02"
4-12-05-03-012-001-7,5,Mengoperasikan aplikasi komputer akuntansi,"8,12"
4-12-05-03-012-001-7,US,Mengoperasikan aplikasi komputer akuntansi,"7,11"
"""


def nomor(school: int = 12, participant: int = 1, province: int = 5, district: int = 3) -> str:
    """A 14-digit nomor peserta: level 4, year 12, then the given parts, check digit 7."""
    return f"412{province:02d}{district:02d}{school:03d}{participant:03d}7"


def record(number: str, kode: str = AKUNTANSI, score: Any = "7.50", **extra: Any) -> dict[str, Any]:
    """A result record with the keys of ARCHITECTURE.md §3."""
    base = {
        "source": "batch1.tif",
        "page": 1,
        "template": "ljun-teori-kejuruan",
        "nomor_peserta": number,
        "nama": "PESERTA",
        "tanggal_lahir": "010195",
        "kode_kompetensi": kode,
        "paket": "A",
        "barcode": "",
        "answers": ["A"] * 40,
        "correct": 30,
        "score": score,
        "flags": [],
        "review": False,
    }
    base.update(extra)
    return base


def practical(
    number: str, nilai: str = "8.00", kode: str = AKUNTANSI, nama: str = "Peserta"
) -> PracticalScore:
    return PracticalScore(number, nama, kode, D(nilai), line=2)


def kinds_of(report: Any, number: str) -> set[ProblemKind]:
    return {p.kind for p in report.problems if p.nomor_peserta == number}


# --------------------------------------------------------------------------- Lampiran 3


def test_lampiran_3_example_is_reproduced_exactly() -> None:
    card = ReportCard(
        nomor(),
        tuple((s, tuple(D(v) for v in scores)) for s, scores in LAMPIRAN_3_SEMESTERS.items()),
        tuple(D(v) for v in LAMPIRAN_3_UJIAN_SEKOLAH),
    )
    result = school_grade(card)
    assert result.semester_means == ((3, D("7.94")), (4, D("7.53")), (5, D("8.27")))
    assert result.nilai_ujian_sekolah == D("7.23")
    assert result.nilai_rapor == D("7.91")
    assert result.nilai_sekolah == D("7.50")
    assert str(result.nilai_sekolah) == "7.50"


def test_lampiran_3_from_the_formula_functions() -> None:
    semesters = [[D(v) for v in scores] for scores in LAMPIRAN_3_SEMESTERS.values()]
    assert nilai_rapor(semesters) == D("7.91")
    assert nilai_sekolah(D("7.91"), D("7.23")) == D("7.50")


def test_lampiran_3_from_a_rapor_csv_with_decimal_commas() -> None:
    (card,) = parse_rapor_csv(LAMPIRAN_3_CSV, name="rapor.csv")
    assert card.nomor_peserta == nomor()
    result = school_grade(card)
    assert [m for _, m in result.semester_means] == [D("7.94"), D("7.53"), D("8.27")]
    assert (result.nilai_rapor, result.nilai_ujian_sekolah, result.nilai_sekolah) == (
        D("7.91"),
        D("7.23"),
        D("7.50"),
    )


def test_semester_means_are_rounded_before_the_rapor_mean() -> None:
    # Semester means 7.335 and 7.665: rounded first, (7.34 + 7.67) / 2 = 7.505 -> 7.51;
    # unrounded they would give (7.335 + 7.665) / 2 = 7.50.
    semesters = [[D("7.33"), D("7.34")], [D("7.66"), D("7.67")]]
    assert nilai_rapor(semesters) == D("7.51")


# Lampiran 3 plus a semester-6 row (a 4-year programme's, or a typing slip).
SEMESTER_6_CSV = LAMPIRAN_3_CSV + '4-12-05-03-012-001-7,6,Praktik kerja industri,"9,50"\n'


def test_a_semester_6_row_is_reported_and_not_counted_under_the_default_rules() -> None:
    (card,) = parse_rapor_csv(SEMESTER_6_CSV, name="rapor.csv")
    assert card.lines_of(6) == (15,)
    report = grade([record(nomor())], [practical(nomor())], report_cards=[card])
    (result,) = report.grades
    assert result.school is not None
    assert [s for s, _ in result.school.semester_means] == [3, 4, 5]
    assert (result.school.nilai_rapor, result.school.nilai_sekolah) == (D("7.91"), D("7.50"))
    assert result.school.not_counted == (6,)
    (problem,) = report.problems
    assert problem.kind is ProblemKind.RAPOR_SEMESTER_NOT_COUNTED and not problem.held_back
    assert "report cards line(s) 15: semester(s) 6 not counted" in problem.detail
    assert "count semesters 1, 2, 3, 4, 5 (guide VIII.1)" in problem.detail
    assert "mean of semester(s) 3, 4, 5" in problem.detail


def test_a_longer_programme_counts_its_semesters_when_the_rules_say_so(tmp_path: Path) -> None:
    rules = load_rules(_write_rules(tmp_path, rapor__semester=[1, 2, 3, 4, 5, 6, 7]))
    assert rules.rapor_semesters == (1, 2, 3, 4, 5, 6, 7)
    (card,) = parse_rapor_csv(SEMESTER_6_CSV, rules=rules)
    report = grade([record(nomor())], [practical(nomor())], report_cards=[card], rules=rules)
    (result,) = report.grades
    assert result.school is not None and not report.problems
    # (7.94 + 7.53 + 8.27 + 9.50) / 4 = 8.31; 0.4 x 8.31 + 0.6 x 7.23 = 7.662 -> 7.66
    assert (result.school.nilai_rapor, result.school.nilai_sekolah) == (D("8.31"), D("7.66"))


def test_a_report_card_with_no_counted_semester_leaves_the_school_grade_empty() -> None:
    text = (
        "nomor_peserta,semester,sk,nilai\n"
        "41205030120017,7,SK satu,8.00\n"
        "41205030120017,US,SK dua,7.00\n"
    )
    report = grade([record(nomor())], [practical(nomor())], report_cards=parse_rapor_csv(text))
    assert report.grades[0].school is None
    (problem,) = report.problems
    assert problem.kind is ProblemKind.RAPOR_SEMESTER_NOT_COUNTED
    assert "no semester counts, so Nilai Rapor and Nilai Sekolah are left empty" in problem.detail


# --------------------------------------------------------------------------- formulas


@pytest.mark.parametrize(
    ("teori", "praktik", "expected"),
    [
        ("6.00", "7.25", "6.88"),  # 6.875: float gives 6.87
        ("6.05", "7.00", "6.72"),  # 6.715: float gives 6.71
        ("6.15", "7.50", "7.10"),  # 7.095: float gives 7.09
        ("10.00", "10.00", "10.00"),
        ("0.00", "0.00", "0.00"),
        ("5.00", "8.00", "7.10"),
    ],
)
def test_nilai_ukk_is_30_70_rounded_half_up(teori: str, praktik: str, expected: str) -> None:
    assert nilai_ukk(D(teori), D(praktik)) == D(expected)


def test_half_up_cases_where_float_would_be_wrong_really_are() -> None:
    assert round(0.3 * 6.0 + 0.7 * 7.25, 2) == 6.87
    assert nilai_ukk(D("6.00"), D("7.25")) == D("6.88")


def test_mean_half_up_of_lampiran_3_semester_5() -> None:
    assert mean_half_up([D("8.41"), D("8.12")]) == D("8.27")


@given(st.integers(0, 1000), st.integers(0, 1000))
def test_nilai_ukk_lies_between_theory_and_practical(teori: int, praktik: int) -> None:
    t, p = D(teori) / 100, D(praktik) / 100
    result = nilai_ukk(t, p)
    assert min(t, p) <= result <= max(t, p)
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("praktik", "lulus"), [("6.99", False), ("7.00", True), ("7.01", True), ("0.00", False)]
)
def test_pass_boundary_is_practical_7_00(praktik: str, lulus: bool) -> None:
    passed, reason = practical_decision(D(praktik))
    assert passed is lulus
    assert (reason == "") is lulus


def test_reason_states_the_score_and_the_mark() -> None:
    _, reason = practical_decision(D("6.99"))
    assert "6,99" in reason and "7,00" in reason


def test_pass_depends_on_practical_alone() -> None:
    report = grade(
        [record(nomor(participant=1), score="10.00"), record(nomor(participant=2), score="0.00")],
        [practical(nomor(participant=1), "6.99"), practical(nomor(participant=2), "7.00")],
    )
    by_nomor = {g.nomor_peserta: g for g in report.grades}
    high_theory, low_theory = by_nomor[nomor(participant=1)], by_nomor[nomor(participant=2)]
    assert not high_theory.lulus_praktik and high_theory.nomor_sertifikat == ""
    assert high_theory.nilai_ukk == D("7.89")  # 3.00 + 4.893
    assert low_theory.lulus_praktik and CERTIFICATE.match(low_theory.nomor_sertifikat)


# --------------------------------------------------------------------------- rules


def test_bundled_rules_are_the_2011_2012_guide() -> None:
    rules = load_rules()
    assert "ukk-2011-2012" in bundled_rule_sets()
    assert (rules.name, rules.version) == ("ukk-2011-2012", 2)
    assert rules.rapor_semesters == (1, 2, 3, 4, 5)
    assert (rules.teori_weight, rules.praktik_weight) == (D("0.30"), D("0.70"))
    assert (rules.rapor_weight, rules.ujian_sekolah_weight) == (D("0.40"), D("0.60"))
    assert rules.praktik_pass_mark == D("7.00")
    assert (rules.decimals, rules.rounding, rules.kurikulum) == (2, "half_up", "A")
    assert load_rules("ukk-2011-2012") == rules


def _write_rules(tmp_path: Path, **changes: Any) -> Path:
    bundled = resources.files("ljun").joinpath("data/rules/ukk-2011-2012.json")
    document = json.loads(bundled.read_text("utf-8"))
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        target = document
        for parent in parents:
            target = target[parent]
        if value is None:
            del target[key]
        else:
            target[key] = value
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(document), "utf-8")
    return path


def test_another_years_rules_are_data(tmp_path: Path) -> None:
    path = _write_rules(
        tmp_path, name="ukk-2099", lulus__praktik_min=6.5, sertifikat__kurikulum="K"
    )
    rules = load_rules(path)
    assert rules.name == "ukk-2099" and rules.praktik_pass_mark == D("6.5")
    report = grade([record(nomor())], [practical(nomor(), "6.50")], rules=rules)
    (result,) = report.grades
    assert result.lulus_praktik and result.nomor_sertifikat == f"05.003.K.{AKUNTANSI}.0001"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"nilai_ukk__teori": 0.4},
            r"\$\.nilai_ukk: the weights teori and praktik add up to 1\.1, not 1",
        ),
        (
            {"nilai_sekolah__rapor": 1.4},
            r"\$\.nilai_sekolah\.rapor: 1\.4 is greater than the maximum of 1",
        ),
        ({"lulus": None}, r"'lulus' is a required property \(fix: add the missing key\)"),
        ({"sertifikat__kurikulum": "AB"}, r"\$\.sertifikat\.kurikulum: .*follow the pattern"),
        ({"rounding": "half_even"}, r"\$\.rounding: .*use one of the listed values"),
        ({"lulus__praktik_min": 11}, r"\$\.lulus\.praktik_min: 11 is off the scale"),
        ({"weights": 1}, r"remove the key or correct its spelling"),
        ({"rapor__semester": [5, 9]}, r"\$\.rapor\.semester\[1\]: 9 is greater than the maximum"),
        ({"rapor__semester": []}, r"\$\.rapor\.semester: .*"),
    ],
)
def test_malformed_rules_are_refused_precisely(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    path = _write_rules(tmp_path, **changes)
    with pytest.raises(GradingRulesError, match=message) as caught:
        load_rules(path)
    assert str(path) in str(caught.value) or path.name in str(caught.value)


def test_rules_not_found_names_the_bundled_sets() -> None:
    with pytest.raises(GradingRulesError, match="ukk-2011-2012"):
        load_rules("ukk-1999")


def test_rules_file_with_bad_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text('{"name": "x",\n  oops}', "utf-8")
    with pytest.raises(GradingRulesError, match="not valid JSON at line 2"):
        load_rules(path)


# --------------------------------------------------------------------------- certificates


def test_certificate_number_format_and_derivation() -> None:
    report = grade(
        [record(nomor(province=31, district=74, school=5))],
        [practical(nomor(province=31, district=74, school=5))],
    )
    (result,) = report.grades
    assert CERTIFICATE.match(result.nomor_sertifikat)
    assert result.nomor_sertifikat == f"31.074.A.{AKUNTANSI}.0001"


def test_certificate_sequence_is_per_province_district_competency_in_nomor_order() -> None:
    numbers = [
        nomor(school=2, participant=9),
        nomor(school=1, participant=3),
        nomor(school=1, participant=1),
        nomor(school=1, participant=2, district=4),
        nomor(school=3, participant=1),
    ]
    codes = [AKUNTANSI, AKUNTANSI, AKUNTANSI, AKUNTANSI, PEMASARAN]
    report = grade(
        [record(n, k) for n, k in zip(numbers, codes)],
        [practical(n, kode=k) for n, k in zip(numbers, codes)],
    )
    certs = {g.nomor_peserta: g.nomor_sertifikat for g in report.grades}
    assert certs[nomor(school=1, participant=1)] == "05.003.A.6018.0001"
    assert certs[nomor(school=1, participant=3)] == "05.003.A.6018.0002"
    assert certs[nomor(school=2, participant=9)] == "05.003.A.6018.0003"
    assert certs[nomor(school=1, participant=2, district=4)] == "05.004.A.6018.0001"
    assert certs[nomor(school=3, participant=1)] == "05.003.A.6054.0001"
    assert all(CERTIFICATE.match(c) for c in certs.values())
    assert len(set(certs.values())) == len(certs)


def test_certificates_only_for_practical_passes() -> None:
    numbers = [nomor(participant=i) for i in range(1, 5)]
    nilai = ["7.00", "6.99", "9.00", "3.00"]
    report = grade([record(n) for n in numbers], [practical(n, v) for n, v in zip(numbers, nilai)])
    certs = [g.nomor_sertifikat for g in report.grades]
    assert certs == ["05.003.A.6018.0001", "", "05.003.A.6018.0002", ""]


def test_certificate_numbers_are_stable_when_a_held_back_participant_arrives() -> None:
    numbers = [nomor(participant=i) for i in range(1, 4)]
    scores = [practical(n) for n in numbers]
    first = grade([record(numbers[0]), record(numbers[2])], scores)  # participant 2 not scanned yet
    later = grade([record(n) for n in numbers], scores)
    first_certs = {g.nomor_peserta: g.nomor_sertifikat for g in first.grades}
    later_certs = {g.nomor_peserta: g.nomor_sertifikat for g in later.grades}
    assert first_certs == {numbers[0]: "05.003.A.6018.0001", numbers[2]: "05.003.A.6018.0003"}
    assert later_certs[numbers[1]] == "05.003.A.6018.0002"
    assert all(later_certs[n] == c for n, c in first_certs.items())


def test_province_and_district_override() -> None:
    report = grade([record(nomor())], [practical(nomor())], province="12", district="345")
    assert report.grades[0].nomor_sertifikat == "12.345.A.6018.0001"


@pytest.mark.parametrize(("province", "district"), [("1", None), (None, "34"), ("ab", None)])
def test_malformed_override_is_refused(province: str | None, district: str | None) -> None:
    with pytest.raises(CertificateNumberError):
        grade([], [], province=province, district=district)


def test_certificate_number_parts_are_checked() -> None:
    assert certificate_number("05", "003", "6018", 9999) == "05.003.A.6018.9999"
    with pytest.raises(CertificateNumberError, match="does not fit in 4 digits"):
        certificate_number("05", "003", "6018", 10_000)
    with pytest.raises(CertificateNumberError, match="district"):
        certificate_number("05", "03", "6018", 1)


# --------------------------------------------------------------------------- nomor peserta


@pytest.mark.parametrize("text", ["4-12-05-03-012-001-7", "41205030120017", " 41205030120017 "])
def test_nomor_peserta_with_or_without_hyphens(text: str) -> None:
    parsed = parse_nomor_peserta(text)
    assert parsed.digits == "41205030120017"
    assert parsed.written == "4-12-05-03-012-001-7"
    assert (parsed.level, parsed.year, parsed.province, parsed.district) == ("4", "12", "05", "03")
    assert (parsed.school, parsed.participant, parsed.check_digit) == ("012", "001", "7")
    assert (parsed.certificate_province, parsed.certificate_district) == ("05", "003")


@pytest.mark.parametrize(
    "text", ["4120503012001", "412050301200177", "4-1205-03-012-001-7", "4120503012?017", ""]
)
def test_malformed_nomor_peserta_is_refused(text: str) -> None:
    with pytest.raises(ScoresFileError):
        parse_nomor_peserta(text)


# --------------------------------------------------------------------------- reconciliation


def test_practical_without_theory_sheet_is_held_back() -> None:
    report = grade(
        [record(nomor(participant=1))],
        [practical(nomor(participant=1)), practical(nomor(participant=2))],
    )
    assert [g.nomor_peserta for g in report.grades] == [nomor(participant=1)]
    assert kinds_of(report, nomor(participant=2)) == {ProblemKind.NO_THEORY_SHEET}
    assert nomor(participant=2) in report.held_back


def test_theory_without_practical_is_held_back() -> None:
    report = grade(
        [record(nomor(participant=1)), record(nomor(participant=2))],
        [practical(nomor(participant=1))],
    )
    assert kinds_of(report, nomor(participant=2)) == {ProblemKind.NO_PRACTICAL_SCORE}
    assert len(report.grades) == 1


def test_unknown_competency_code_is_held_back() -> None:
    report = grade([record(nomor(), kode="9999")], [practical(nomor(), kode="9999")])
    assert report.grades == ()
    assert kinds_of(report, nomor()) == {ProblemKind.UNKNOWN_COMPETENCY}


def test_code_mismatch_between_sheet_and_practical_is_held_back() -> None:
    report = grade([record(nomor(), kode=PEMASARAN)], [practical(nomor(), kode=AKUNTANSI)])
    assert report.grades == ()
    assert kinds_of(report, nomor()) == {ProblemKind.COMPETENCY_MISMATCH}


def test_sheet_under_review_is_held_back_not_graded() -> None:
    report = grade([record(nomor(), review=True, flags=["multiple_marks"])], [practical(nomor())])
    assert report.grades == ()
    (problem,) = report.problems
    assert problem.kind is ProblemKind.THEORY_UNDER_REVIEW and problem.held_back
    assert "multiple_marks" in problem.detail


def test_two_theory_sheets_with_one_nomor_are_held_back() -> None:
    report = grade(
        [record(nomor(), source="a.tif"), record(nomor(), source="b.tif")], [practical(nomor())]
    )
    assert report.grades == ()
    (problem,) = report.problems
    assert problem.kind is ProblemKind.DUPLICATE_THEORY_SHEET
    assert "a.tif" in problem.detail and "b.tif" in problem.detail


def test_unreadable_nomor_on_a_sheet_is_reported() -> None:
    report = grade([record("41205030?20017")], [])
    (problem,) = report.problems
    assert problem.kind is ProblemKind.UNREADABLE_NOMOR_PESERTA and problem.held_back


def test_sheet_without_score_is_held_back() -> None:
    report = grade([record(nomor(), score=None)], [practical(nomor())])
    assert kinds_of(report, nomor()) == {ProblemKind.NO_THEORY_SCORE}


def test_report_card_problems_do_not_hold_back() -> None:
    graded, missing = nomor(participant=1), nomor(participant=2)
    stranger = nomor(participant=3)
    card = parse_rapor_csv(LAMPIRAN_3_CSV)[0]
    cards = [card, ReportCard(stranger, card.semesters, card.ujian_sekolah, line=9)]
    report = grade(
        [record(graded), record(missing)],
        [practical(graded), practical(missing)],
        report_cards=cards,
    )
    assert len(report.grades) == 2
    by_nomor = {g.nomor_peserta: g for g in report.grades}
    assert by_nomor[graded].school is not None and by_nomor[graded].school.nilai_sekolah == D(
        "7.50"
    )
    assert by_nomor[missing].school is None
    assert kinds_of(report, missing) == {ProblemKind.NO_REPORT_CARD}
    assert kinds_of(report, stranger) == {ProblemKind.REPORT_CARD_WITHOUT_PARTICIPANT}
    assert report.held_back == frozenset()


def test_summary_per_school_and_competency() -> None:
    a1, a2, a3 = (
        nomor(school=1, participant=1),
        nomor(school=1, participant=2),
        nomor(school=1, participant=3),
    )
    b1 = nomor(school=2, participant=1)
    report = grade(
        [
            record(a1, score="6.00"),
            record(a2, score="8.00"),
            record(a3, review=True),
            record(b1, kode=PEMASARAN),
        ],
        [
            practical(a1, "7.25"),
            practical(a2, "6.00"),
            practical(a3),
            practical(b1, kode=PEMASARAN),
        ],
    )
    school_a, school_b = report.summary
    assert (
        school_a.provinsi,
        school_a.kabupaten_kota,
        school_a.sekolah,
        school_a.kode_kompetensi,
    ) == ("05", "003", "001", AKUNTANSI)
    assert school_a.kompetensi_keahlian == "Akuntansi"
    assert (
        school_a.peserta,
        school_a.dinilai,
        school_a.lulus_praktik,
        school_a.tidak_lulus_praktik,
        school_a.ditahan,
    ) == (3, 2, 1, 1, 1)
    assert school_a.rata_teori == D("7.00") and school_a.rata_praktik == D("6.63")  # 6.625 half up
    assert (school_b.sekolah, school_b.kode_kompetensi, school_b.lulus_praktik) == (
        "002",
        PEMASARAN,
        1,
    )


def test_grades_carry_competency_names_and_separate_scores() -> None:
    report = grade(
        [record(nomor(), score=D("6.5"))], [practical(nomor(), "8.25", nama="Ani Lestari")]
    )
    (result,) = report.grades
    assert result.kompetensi_keahlian == "Akuntansi" and result.nama == "Ani Lestari"
    assert (result.nilai_teori, result.nilai_praktik, result.nilai_ukk) == (
        D("6.5"),
        D("8.25"),
        D("7.73"),
    )
    text = grades_csv_text(report, comma=True)
    assert '"6,50","8,25","7,73",true,,05.003.A.6018.0001' in text


def test_duplicate_practical_rows_given_directly_are_refused() -> None:
    with pytest.raises(ScoresFileError, match="appears twice"):
        grade([], [practical(nomor()), practical(nomor())])


# --------------------------------------------------------------------------- theory records


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"score": "7.505"}, "3 decimals"),
        ({"score": D("10.5")}, "off the scale"),
        ({"score": 7.125}, "more than 2 decimals"),
        ({"score": True}, "not a number"),
        ({"review": "maybe"}, "review 'maybe' is not true or false"),
        ({"flags": "not json"}, "not a JSON list"),
    ],
)
def test_result_record_breaking_the_contract_is_refused(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ScoresFileError, match=message):
        theory_sheet(record(nomor(), **changes))


def test_result_record_missing_a_key_is_refused() -> None:
    broken = record(nomor())
    del broken["score"]
    with pytest.raises(ScoresFileError, match="theory result record 1 .*no 'score'"):
        grade([broken], [])


@pytest.mark.parametrize(
    ("score", "expected"), [(7.5, "7.5"), (7, "7"), ("7,25", "7.25"), (D("8.10"), "8.10")]
)
def test_result_record_score_types(score: Any, expected: str) -> None:
    assert theory_sheet(record(nomor(), score=score)).nilai_teori == D(expected)


def test_theory_jsonl_and_csv_files(tmp_path: Path) -> None:
    jsonl = tmp_path / "hasil.jsonl"
    jsonl.write_text(json.dumps(record(nomor(), score=7.25)) + "\n\n", "utf-8")
    (sheet,) = read_theory_file(jsonl)
    assert sheet.nilai_teori == D("7.25") and sheet.nomor_peserta == nomor()
    table = tmp_path / "hasil.csv"
    table.write_text(
        "source,page,nomor_peserta,nama,kode_kompetensi,paket,answers,score,flags,review\n"
        f'scan.tif,2,{nomor()},ANI,6018,A,"[""A"", """"]",7.25,"[""faint""]",true\n',
        "utf-8",
    )
    (sheet,) = read_theory_file(table)
    assert (sheet.page, sheet.review, sheet.flags, sheet.nilai_teori) == (
        2,
        True,
        ("faint",),
        D("7.25"),
    )


def test_theory_file_bad_lines_are_named(tmp_path: Path) -> None:
    path = tmp_path / "hasil.jsonl"
    path.write_text(
        "\n".join(
            [json.dumps(record(nomor())), "{oops", "[1]", json.dumps(record(nomor(), score=11))]
        ),
        "utf-8",
    )
    with pytest.raises(ScoresFileError) as caught:
        read_theory_file(path)
    message = str(caught.value)
    assert str(path) in message and "3 bad line(s)" in message
    assert "line 2: not valid JSON" in message and "line 3: not a JSON object" in message
    assert "line 4: score" in message


# --------------------------------------------------------------------------- practical CSV

PRAKTIK_HEADER = "nomor_peserta,nama,kode_kompetensi,nilai_praktik\n"


def test_praktik_csv_accepts_comma_decimals_and_hyphens() -> None:
    scores = parse_praktik_csv(
        PRAKTIK_HEADER + '4-12-05-03-012-001-7,Ani,6018,"7,50"\n41205030120027,Budi,6018,8.25\n\n',
        name="praktik.csv",
    )
    assert [(s.nomor_peserta, s.nilai_praktik, s.line) for s in scores] == [
        (nomor(participant=1), D("7.50"), 2),
        (nomor(participant=2), D("8.25"), 3),
    ]


def test_praktik_csv_with_semicolons_and_bom_and_extra_columns(tmp_path: Path) -> None:
    path = tmp_path / "praktik.csv"
    path.write_text(
        "\ufeffkelas;nomor_peserta;nama;kode_kompetensi;nilai_praktik\nXII;41205030120017;Ani;6018;7,50\n",
        "utf-8",
    )
    (score,) = read_praktik_csv(path)
    assert (score.nama, score.nilai_praktik) == ("Ani", D("7.50"))


def test_malformed_praktik_lines_are_refused_with_line_numbers_and_nothing_imported() -> None:
    text = (
        PRAKTIK_HEADER
        + "\n".join(
            [
                "41205030120017,Ani,6018,7.50",  # 2: fine
                "4120503012001,Budi,6018,7.50",  # 3: nomor too short
                "41205030120037,Citra,601,7.50",  # 4: kode not 4 digits
                "41205030120047,Dewi,6018,10,5",  # 5: unquoted comma -> 5 fields
                "41205030120057,Eko,6018,11",  # 6: off the scale
                "41205030120017,Ani lagi,6018,8",  # 7: duplicate of line 2
                "41205030120067,,6018,8",  # 8: no name
                "41205030120077,Fajar,6018,abc",  # 9: not a number
            ]
        )
        + "\n"
    )
    with pytest.raises(ScoresFileError) as caught:
        parse_praktik_csv(text, name="praktik.csv")
    message = str(caught.value)
    assert isinstance(caught.value, LjunError) and isinstance(caught.value, ValueError)
    assert message.startswith("praktik.csv: 7 bad line(s), nothing imported")
    for line in (3, 4, 5, 6, 7):
        assert f"line {line}:" in message
    assert "line 2:" not in message
    assert "already appears on line 2" in message
    assert (
        'line 5: 5 fields, the header has 4 (quote a score with a decimal comma: "7,50")' in message
    )
    assert "and 2 more bad line(s)" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("nomor_peserta,nama,nilai_praktik\n", "line 1: missing column\\(s\\) kode_kompetensi"),
    ],
)
def test_praktik_csv_header_problems(text: str, message: str) -> None:
    with pytest.raises(ScoresFileError, match=message):
        parse_praktik_csv(text, name="praktik.csv")


def test_missing_praktik_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScoresFileError, match="cannot be read"):
        read_praktik_csv(tmp_path / "none.csv")


# --------------------------------------------------------------------------- rapor CSV


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["41205030120017,9,SK,7.00", "41205030120017,US,SK,7.00"], r"line 2: semester '9'"),
        (["41205030120017,3,,7.00", "41205030120017,US,SK,7.00"], r"line 2: sk is empty"),
        (
            ["41205030120017,3,SK,7.00", "41205030120017,3,sk,8.00", "41205030120017,US,SK,7"],
            r"line 3: SK 'sk' of semester 3 already appears on line 2",
        ),
        (
            ["41205030120017,3,SK,7.00"],
            r"line 2: nomor peserta 41205030120017 has no ujian sekolah",
        ),
        (["41205030120017,US,SK,7.00"], r"line 2: nomor peserta 41205030120017 has no semester"),
        (
            ["41205030120017,3,SK,7.001", "41205030120017,US,SK,7"],
            r"line 2: nilai: '7.001' has 3 decimals",
        ),
    ],
)
def test_malformed_rapor_lines_are_refused(rows: list[str], message: str) -> None:
    with pytest.raises(ScoresFileError, match=message):
        parse_rapor_csv(
            "nomor_peserta,semester,sk,nilai\n" + "\n".join(rows) + "\n", name="rapor.csv"
        )


def test_rapor_ujian_sekolah_label_spellings() -> None:
    text = (
        "nomor_peserta,semester,sk,nilai\n41205030120017,1,A,7\n41205030120017,ujian_sekolah,A,8\n"
    )
    (card,) = parse_rapor_csv(text)
    assert card.semesters == ((1, (D(7),)),) and card.ujian_sekolah == (D(8),)


# --------------------------------------------------------------------------- outputs


def test_competency_sheet_names_fit_excel() -> None:
    name = competency_sheet_name(
        "1369", "Pemeliharaan dan Perbaikan Instrumen Elektronika Pesawat Udara"
    )
    assert len(name) <= 31 and name.startswith("1369 Pemeliharaan")
    assert "/" not in competency_sheet_name("1529", "Teknik Produksi Pakaian Jadi/Garmen")
