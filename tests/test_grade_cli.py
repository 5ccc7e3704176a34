"""``ljun grade`` end to end through ljun.cli.main (files only in tmp_path)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from _grade_helpers import write_store

CERTIFICATE = re.compile(r"^\d{2}\.\d{3}\.A\.\d{4}\.\d{4}$")

# Four participants of school 012, district 03, province 05:
#   001 Akuntansi, passes; 002 Akuntansi, practical 6.99; 003 Pemasaran, passes;
#   004 Akuntansi, theory sheet under review; and a sheet 005 with no practical score.
PESERTA = {
    "41205030120017": ("Ani Lestari", "6018", "7.50", "8.25"),
    "41205030120027": ("Budi Santoso", "6018", "9.00", "6.99"),
    "41205030120037": ("Citra Dewi", "6054", "6.00", "7.25"),
    "41205030120047": ("Dewi Sartika", "6018", "8.00", "8.00"),
}
NO_PRACTICAL = "41205030120057"

PRAKTIK_CSV = (
    "nomor_peserta,nama,kode_kompetensi,nilai_praktik\n"
    '4-12-05-03-012-001-7,Ani Lestari,6018,"8,25"\n'
    "41205030120027,Budi Santoso,6018,6.99\n"
    '4-12-05-03-012-003-7,Citra Dewi,6054,"7,25"\n'
    "41205030120047,Dewi Sartika,6018,8.00\n"
)

# Lampiran 3, for participant 001.
RAPOR_CSV = """nomor_peserta,semester,sk,nilai
41205030120017,3,Mengelola kartu piutang,"7,55"
41205030120017,3,Mengelola kartu aktiva tetap,"7,12"
41205030120017,3,Menyusun laporan keuangan,"8,34"
41205030120017,3,Menyiapkan surat pemberitahuan pajak,"7,87"
41205030120017,3,Mengoperasikan paket program pengolah angka/ spreadsheet,"8,84"
41205030120017,4,Mengelola kartu utang,"8,23"
41205030120017,4,Menyusun laporan keuangan,"7,73"
41205030120017,4,Menyiapkan surat pemberitahuan pajak,"7,13"
41205030120017,4,Mengoperasikan paket program pengolah angka/ spreadsheet,"7,02"
41205030120017,5,Menyajikan laporan harga pokok produk,"8,41"
41205030120017,5,Mengoperasikan aplikasi komputer akuntansi,"8,12"
41205030120017,US,Menyajikan laporan harga pokok produk,"7,35"
41205030120017,US,Mengoperasikan aplikasi komputer akuntansi,"7,11"
"""


def _record(nomor: str, kode: str, score: str, review: bool = False) -> dict[str, Any]:
    return {
        "source": "scans/ruang1.tif",
        "page": int(nomor[10:13]),
        "template": "ljun-teori-kejuruan",
        "nomor_peserta": nomor,
        "nama": "NAMA",
        "tanggal_lahir": "010195",
        "kode_kompetensi": kode,
        "paket": "A",
        "barcode": "",
        "answers": ["A"] * 40,
        "correct": 30,
        "score": score,
        "flags": ["faint_mark"] if review else [],
        "review": review,
    }


def _records() -> list[dict[str, Any]]:
    records = [
        _record(nomor, kode, teori, review=nomor == "41205030120047")
        for nomor, (_, kode, teori, _) in PESERTA.items()
    ]
    return records + [_record(NO_PRACTICAL, "6018", "5.00")]


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    results = tmp_path / "hasil.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in _records()), "utf-8")
    praktik = tmp_path / "praktik.csv"
    praktik.write_text(PRAKTIK_CSV, "utf-8")
    rapor = tmp_path / "rapor.csv"
    rapor.write_text(RAPOR_CSV, "utf-8")
    # A real results store without sheets: with --results, it keeps the certificate register.
    store = write_store(tmp_path / "ljun.sqlite")
    return {"results": results, "praktik": praktik, "rapor": rapor, "db": store}


def _read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8"))))


def test_grade_help(run_cli: Callable[..., Any]) -> None:
    result = run_cli("grade", "--help")
    assert result.exit_code == 0
    assert "Usage: ljun grade" in result.stdout
    for text in (
        "--praktik",
        "--rapor",
        "--results",
        "--db",
        "--comma",
        "--province",
        "--district",
        "nomor_peserta,nama,kode_kompetensi,nilai_praktik",
        "nomor_peserta,semester,sk,nilai",
        "PP.DDD.A.KKKK.NNNN",
    ):
        assert text in result.stdout


def test_grade_writes_csv_and_xlsx(
    run_cli: Callable[..., Any], inputs: dict[str, Path], tmp_path: Path
) -> None:
    csv_out, xlsx_out = tmp_path / "nilai.csv", tmp_path / "nilai.xlsx"
    result = run_cli(
        "grade",
        "--results",
        inputs["results"],
        "--db",
        inputs["db"],
        "--praktik",
        inputs["praktik"],
        "--rapor",
        inputs["rapor"],
        "--out",
        csv_out,
        "--out",
        xlsx_out,
    )
    assert result.exit_code == 0, result.stderr
    assert "3 graded, 2 passed the practical, 1 did not, 2 held back" in result.stderr

    rows = {row["nomor_peserta"]: row for row in _read_csv(csv_out)}
    assert list(rows) == ["41205030120017", "41205030120027", "41205030120037"]
    ani = rows["41205030120017"]
    assert ani == {
        "nomor_peserta": "41205030120017",
        "nama": "Ani Lestari",
        "kode_kompetensi": "6018",
        "kompetensi_keahlian": "Akuntansi",
        "nilai_teori": "7.50",
        "nilai_praktik": "8.25",
        "nilai_ukk": "8.03",
        "lulus_praktik": "true",
        "alasan": "",
        "nomor_sertifikat": "05.003.A.6018.0001",
        "sertifikat_baru": "true",
        "nilai_rapor": "7.91",
        "nilai_ujian_sekolah": "7.23",
        "nilai_sekolah": "7.50",
    }
    budi = rows["41205030120027"]
    assert (budi["lulus_praktik"], budi["nomor_sertifikat"], budi["nilai_ukk"]) == (
        "false",
        "",
        "7.59",
    )
    assert "6,99" in budi["alasan"] and budi["nilai_sekolah"] == ""
    citra = rows["41205030120037"]
    assert citra["nilai_ukk"] == "6.88"  # 6.875 half up
    assert citra["nomor_sertifikat"] == "05.003.A.6054.0001"
    assert all(
        CERTIFICATE.match(r["nomor_sertifikat"])
        for r in rows.values()
        if r["lulus_praktik"] == "true"
    )
    # Dewi (held back, theory under review) passes the practical: her number is reserved.
    assert (
        "certificate numbers: 3 new in this run (recorded as grade run 2; 1 reserved for "
        "participants held back), 0 kept as issued before"
    ) in result.stderr
    assert "new 05.003.A.6018.0002  41205030120047" in result.stderr

    workbook = openpyxl.load_workbook(xlsx_out)
    assert workbook.sheetnames == [
        "Ringkasan",
        "6018 Akuntansi",
        "6054 Pemasaran",
        "Masalah",
        "Aturan",
    ]
    akuntansi = list(workbook["6018 Akuntansi"].iter_rows(values_only=True))
    assert akuntansi[0][:3] == ("nomor_peserta", "nama", "kode_kompetensi")
    header = akuntansi[0]
    first = dict(zip(header, akuntansi[1]))
    assert first["nomor_peserta"] == "41205030120017"
    assert first["nilai_ukk"] == pytest.approx(8.03) and first["nilai_sekolah"] == pytest.approx(
        7.50
    )
    assert first["lulus_praktik"] == "ya" and first["nomor_sertifikat"] == "05.003.A.6018.0001"
    assert workbook["6018 Akuntansi"]["G2"].number_format == "0.00"
    assert len(akuntansi) == 3  # header + Ani + Budi

    summary = [
        dict(zip(r[0], row))
        for r in [list(workbook["Ringkasan"].iter_rows(values_only=True))]
        for row in r[1:]
    ]
    akun = next(s for s in summary if s["kode_kompetensi"] == "6018")
    assert (
        akun["sekolah"],
        akun["peserta"],
        akun["dinilai"],
        akun["lulus_praktik"],
        akun["tidak_lulus_praktik"],
        akun["ditahan"],
    ) == ("012", 4, 2, 1, 1, 2)
    sheet = list(workbook["Masalah"].iter_rows(values_only=True))
    problems = [dict(zip(sheet[0], row)) for row in sheet[1:]]
    kinds = {(p["nomor_peserta"], p["masalah"]): p for p in problems}
    dewi = kinds[("41205030120047", "theory_under_review")]
    assert dewi["ditahan"] == "ya" and dewi["nomor_sertifikat"] == "05.003.A.6018.0002"
    assert kinds[(NO_PRACTICAL, "no_practical_score")]["nomor_sertifikat"] is None
    rules = dict(workbook["Aturan"].iter_rows(values_only=True))
    assert rules["aturan"] == "ukk-2011-2012"
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave nothing behind


def test_grade_comma_option(
    run_cli: Callable[..., Any], inputs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "nilai.csv"
    result = run_cli(
        "grade",
        "--results",
        inputs["results"],
        "--praktik",
        inputs["praktik"],
        "--out",
        out,
        "--comma",
    )
    assert result.exit_code == 0, result.stderr
    ani = _read_csv(out)[0]
    assert (ani["nilai_teori"], ani["nilai_praktik"], ani["nilai_ukk"]) == ("7,50", "8,25", "8,03")
    assert "nilai_rapor" not in ani


def test_grade_without_out_prints_csv(run_cli: Callable[..., Any], inputs: dict[str, Path]) -> None:
    result = run_cli("grade", "--results", inputs["results"], "--praktik", inputs["praktik"])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["nomor_peserta"] for r in rows] == [
        "41205030120017",
        "41205030120027",
        "41205030120037",
    ]


def test_grade_from_results_csv_with_overrides_and_problems_file(
    run_cli: Callable[..., Any], inputs: dict[str, Path], tmp_path: Path
) -> None:
    results = tmp_path / "hasil.csv"
    with results.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(_records()[0]))
        writer.writeheader()
        for record in _records():
            writer.writerow(
                {
                    **record,
                    "answers": json.dumps(record["answers"]),
                    "flags": json.dumps(record["flags"]),
                    "review": "true" if record["review"] else "false",
                }
            )
    out, problems = tmp_path / "nilai.csv", tmp_path / "masalah.csv"
    result = run_cli(
        "grade",
        "--results",
        results,
        "--db",
        inputs["db"],
        "--praktik",
        inputs["praktik"],
        "--out",
        out,
        "--province",
        "31",
        "--district",
        "074",
        "--problems",
        problems,
    )
    assert result.exit_code == 0, result.stderr
    certs = {r["nomor_peserta"]: r["nomor_sertifikat"] for r in _read_csv(out)}
    assert certs["41205030120017"] == "31.074.A.6018.0001"
    assert {r["masalah"] for r in _read_csv(problems)} == {
        "theory_under_review",
        "no_practical_score",
    }


def test_grade_with_rules_file(
    run_cli: Callable[..., Any], inputs: dict[str, Path], tmp_path: Path
) -> None:
    bundled = resources.files("ljun").joinpath("data/rules/ukk-2011-2012.json")
    document = json.loads(bundled.read_text("utf-8"))
    document.update(name="ukk-test", version=2)
    document["lulus"]["praktik_min"] = 6.99
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(document), "utf-8")
    out = tmp_path / "nilai.csv"
    result = run_cli(
        "grade",
        "--results",
        inputs["results"],
        "--praktik",
        inputs["praktik"],
        "--rules",
        rules,
        "--out",
        out,
    )
    assert result.exit_code == 0, result.stderr
    assert "ukk-test v2" in result.stderr
    assert all(r["lulus_praktik"] == "true" for r in _read_csv(out))


def test_malformed_praktik_line_fails_with_line_number_and_writes_nothing(
    run_cli: Callable[..., Any], inputs: dict[str, Path], tmp_path: Path
) -> None:
    inputs["praktik"].write_text(PRAKTIK_CSV + "41205030120067,Eko,6018,7.5.0\n", "utf-8")
    out = tmp_path / "nilai.csv"
    result = run_cli(
        "grade", "--results", inputs["results"], "--praktik", inputs["praktik"], "--out", out
    )
    assert result.exit_code == 2
    assert str(inputs["praktik"]) in result.stderr and "line 6:" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_existing_output_is_kept_when_grading_fails(
    run_cli: Callable[..., Any], inputs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "nilai.csv"
    out.write_text("previous run\n", "utf-8")
    inputs["rapor"].write_text("nomor_peserta,semester,sk,nilai\n41205030120017,3,SK,7\n", "utf-8")
    result = run_cli(
        "grade",
        "--results",
        inputs["results"],
        "--praktik",
        inputs["praktik"],
        "--rapor",
        inputs["rapor"],
        "--out",
        out,
    )
    assert result.exit_code == 2 and "no ujian sekolah" in result.stderr
    assert out.read_text("utf-8") == "previous run\n"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ((), "give --db FILE.sqlite (the results store) or --results FILE"),
        (("--db", "PRAKTIK", "--results", "RESULTS"), "not an ljun results store"),
        (("--results", "RESULTS", "--out", "nilai.pdf"), "the suffix picks the format"),
        (("--results", "RESULTS", "--province", "5"), "'5' is not 2 digits"),
        (("--results", "RESULTS", "--district", "74"), "'74' is not 3 digits"),
        (("--results", "RESULTS", "--rules", "ukk-1999"), "rules 'ukk-1999' not found"),
    ],
)
def test_bad_arguments_exit_2(
    run_cli: Callable[..., Any], inputs: dict[str, Path], extra: tuple[str, ...], message: str
) -> None:
    names = {"PRAKTIK": str(inputs["praktik"]), "RESULTS": str(inputs["results"])}
    args = [names.get(a, a) for a in extra]
    result = run_cli("grade", "--praktik", inputs["praktik"], *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_grade_from_the_results_store(
    run_cli: Callable[..., Any], inputs: dict[str, Path], tmp_path: Path
) -> None:
    db = write_store(tmp_path / "hasil.sqlite", _records())
    out = tmp_path / "nilai.csv"
    result = run_cli("grade", "--db", db, "--praktik", inputs["praktik"], "--out", out)
    assert result.exit_code == 0, result.stderr
    rows = {r["nomor_peserta"]: r for r in _read_csv(out)}
    assert list(rows) == ["41205030120017", "41205030120027", "41205030120037"]
    assert rows["41205030120017"]["nilai_teori"] == "7.50"
    assert rows["41205030120017"]["nomor_sertifikat"] == "05.003.A.6018.0001"


def test_grade_without_a_store_writes_no_certificate_numbers(
    run_cli: Callable[..., Any], inputs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "nilai.csv"
    result = run_cli(
        "grade", "--results", inputs["results"], "--praktik", inputs["praktik"], "--out", out
    )
    assert result.exit_code == 0, result.stderr
    rows = _read_csv(out)
    assert [r["lulus_praktik"] for r in rows] == ["true", "false", "true"]
    assert {r["nomor_sertifikat"] for r in rows} == {""}
    assert "certificate numbers: none written" in result.stderr and "--db" in result.stderr


def test_grade_from_an_empty_real_store_holds_everyone_back(
    run_cli: Callable[..., Any], inputs: dict[str, Path], tmp_path: Path
) -> None:
    db = write_store(tmp_path / "kosong.sqlite")
    problems = tmp_path / "masalah.csv"
    result = run_cli("grade", "--db", db, "--praktik", inputs["praktik"], "--problems", problems)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("\n") == 1  # the CSV header only
    assert {r["masalah"] for r in _read_csv(problems)} == {"no_theory_sheet"}
    assert len(_read_csv(problems)) == len(PESERTA)


def test_grade_from_a_file_that_is_not_a_store_exits_2(
    run_cli: Callable[..., Any], inputs: dict[str, Path], tmp_path: Path
) -> None:
    db = tmp_path / "ljun.sqlite"
    db.write_bytes(b"not a database, just bytes" * 100)
    result = run_cli("grade", "--db", db, "--praktik", inputs["praktik"])
    assert result.exit_code == 2
    assert str(db) in result.stderr and result.stdout == ""


def test_a_semester_6_row_is_reported_not_counted_and_lampiran_3_still_holds(
    run_cli: Callable[..., Any], inputs: dict[str, Path], tmp_path: Path
) -> None:
    # One semester-6 row used to move Ani's Nilai Rapor from 7.91 (Lampiran 3) to 8.31.
    inputs["rapor"].write_text(
        RAPOR_CSV + '41205030120017,6,Praktik kerja industri,"9,50"\n', "utf-8"
    )
    out, problems = tmp_path / "nilai.csv", tmp_path / "masalah.csv"
    result = run_cli(
        "grade",
        "--results",
        inputs["results"],
        "--praktik",
        inputs["praktik"],
        "--rapor",
        inputs["rapor"],
        "--out",
        out,
        "--problems",
        problems,
    )
    assert result.exit_code == 0, result.stderr
    ani = _read_csv(out)[0]
    assert (ani["nilai_rapor"], ani["nilai_ujian_sekolah"], ani["nilai_sekolah"]) == (
        "7.91",
        "7.23",
        "7.50",
    )
    (reported,) = [r for r in _read_csv(problems) if r["masalah"] == "rapor_semester_not_counted"]
    assert reported["nomor_peserta"] == "41205030120017" and reported["ditahan"] == "false"
    assert "line(s) 15: semester(s) 6 not counted" in reported["keterangan"]
    assert "rapor_semester_not_counted: 1" in result.stderr
