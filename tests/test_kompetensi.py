"""The Lampiran 2 competency list and its loader (ljun.kompetensi)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from ljun.errors import LjunError
from ljun.kompetensi import (
    Competency,
    CompetencyListError,
    competency_codes,
    competency_name,
    load_competencies,
    parse_competency_csv,
    uncoded_competencies,
)

HEADER = "kode,kompetensi_keahlian,program_studi_keahlian\n"


def test_bundled_list_has_every_coded_competency_of_lampiran_2() -> None:
    competencies = load_competencies()
    assert len(competencies) == 136
    assert len({c.kode for c in competencies}) == 136
    assert all(re.fullmatch(r"\d{4}", c.kode) for c in competencies)
    assert competency_codes() == frozenset(c.kode for c in competencies)


def test_bundled_list_has_the_forty_programmes() -> None:
    programmes = {c.program for c in load_competencies() + uncoded_competencies()}
    assert len(programmes) == 40


@pytest.mark.parametrize(
    ("kode", "nama", "program"),
    [
        ("1014", "Teknik Survei dan Pemetaan", "Teknik Survei dan Pemetaan"),  # first row
        ("1743", "Teknik Otomasi Industri", "Teknik Ketenagalistrikan"),  # code out of order
        (
            "1369",
            "Pemeliharaan dan Perbaikan Instrumen Elektronika Pesawat Udara",
            "Teknologi Pesawat Udara",
        ),
        ("1449", "Teknik Konstruksi Kapal Kayu", "Teknik Perkapalan"),
        ("1458", "Interior Kapal", "Teknik Perkapalan"),
        ("1725", "Teknik Pengolahan Minyak, Gas dan Petrokimia", "Teknik Perminyakan"),  # comma
        ("2054", "Teknik Transmisi (4 tahun)", "Teknik Telekomunikasi"),
        ("3058", "Perawatan Sosial", "Perawatan Sosial"),
        ("4392", "Seni Teater", "Seni Pertunjukan"),
        ("6018", "Akuntansi", "Keuangan"),  # Lampiran 3's example
        ("6054", "Pemasaran", "Tata Niaga"),  # last row
    ],
)
def test_bundled_rows_as_in_the_guide(kode: str, nama: str, program: str) -> None:
    assert Competency(kode, nama, program) in load_competencies()
    assert competency_name(kode) == nama


def test_programme_sizes_as_in_the_guide() -> None:
    sizes = Counter(c.program for c in load_competencies())
    assert sizes["Seni Pertunjukan"] == 23
    assert sizes["Teknologi Pesawat Udara"] == 7
    assert sizes["Teknik Perkapalan"] == 7
    assert sizes["Teknik Industri"] == 0


def test_code_less_rows_are_kept_without_an_invented_code() -> None:
    uncoded = uncoded_competencies()
    assert {c.nama for c in uncoded} == {
        "Teknik Konstruksi Kapal Fiberglass",
        "Teknik Instrumentasi Gelas",
        "Teknik dan Manajemen Transportasi",
    }
    assert all(c.kode == "" for c in uncoded)
    assert "57" not in competency_codes() and "0057" not in competency_codes()


def test_unknown_code_has_no_name() -> None:
    assert competency_name("9999") is None
    assert competency_name("") is None


def test_a_list_from_a_file_replaces_the_bundled_one(tmp_path: Path) -> None:
    path = tmp_path / "kompetensi-2013.csv"
    path.write_text(HEADER + "9001,Teknik Baru,Program Baru\n,Tanpa Kode,Program Baru\n", "utf-8")
    assert load_competencies(path) == (Competency("9001", "Teknik Baru", "Program Baru"),)
    assert competency_codes(path) == frozenset({"9001"})
    assert competency_name("9001", path) == "Teknik Baru"
    assert competency_name("6018", path) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kode,nama\n1014,A,B\n", r"line 1: the header"),
        (HEADER + "1014,A,B\n101,C,D\n", r"line 3: kode '101' is not 4 digits"),
        (HEADER + "1014,A,B\n1014,C,D\n", r"line 3: kode 1014 is already used on line 2"),
        (HEADER + "1014,,B\n", r"line 2: the competency and programme names"),
        (HEADER + "1014,A\n", r"line 2: 2 columns, expected 3"),
    ],
)
def test_malformed_list_is_refused_with_its_line(text: str, message: str) -> None:
    with pytest.raises(CompetencyListError, match=message) as caught:
        parse_competency_csv(text, name="bad.csv")
    assert "bad.csv" in str(caught.value)
    assert isinstance(caught.value, LjunError) and isinstance(caught.value, ValueError)


def test_missing_list_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CompetencyListError, match="cannot be read"):
        load_competencies(tmp_path / "missing.csv")
