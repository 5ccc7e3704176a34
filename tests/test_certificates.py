"""Certificate numbers issued once and never moved: ``ljun grade`` runs on a real store.

Each scenario grades a batch, changes the inputs the way an office does (a
practical score arriving late, a repeat practical exam, a corrected
competency code), grades again, and checks that every number issued before
is still the participant's, in the grade list and in the store's register.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from _grade_helpers import read_csv, read_csv_text, write_store

from ljun.grade import (
    CertificateClaim,
    CertificateGroup,
    IssuedCertificate,
    PracticalScore,
    ProblemKind,
    grade,
    load_rules,
    plan_certificates,
)
from ljun.store import open_store

AKUNTANSI, PEMASARAN = "6018", "6054"


def nomor(participant: int) -> str:
    """Participant ``participant`` of school 012, district 03, province 05."""
    return f"4120503012{participant:03d}7"


# Participants 1-12 take Akuntansi, 13-20 Pemasaran; every theory sheet scored 7.50.
COMPETENCY = {i: AKUNTANSI if i <= 12 else PEMASARAN for i in range(1, 21)}


def theory_record(participant: int, kode: str | None = None) -> dict[str, Any]:
    return {
        "source": "amplop-001.tif",
        "page": participant,
        "template": "ljun-teori-kejuruan",
        "nomor_peserta": nomor(participant),
        "nama": f"PESERTA {participant}",
        "tanggal_lahir": "01-01-95",
        "kode_kompetensi": kode or COMPETENCY[participant],
        "paket": "A",
        "barcode": "",
        "answers": ["A"] * 40,
        "correct": 30,
        "score": "7.50",
        "flags": [],
        "review": False,
    }


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A real results store with the theory sheets of participants 1-20."""
    return write_store(tmp_path / "ljun.sqlite", [theory_record(i) for i in range(1, 21)])


def write_praktik(path: Path, scores: Mapping[int, str], kode: Mapping[int, str] = {}) -> Path:
    lines = ["nomor_peserta,nama,kode_kompetensi,nilai_praktik"]
    lines += [
        f'{nomor(i)},Peserta {i},{kode.get(i, COMPETENCY[i])},"{nilai}"'
        for i, nilai in sorted(scores.items())
    ]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


class Run:
    """One ``ljun grade --db`` run: grade list, problems and stderr."""

    def __init__(self, run_cli: Callable[..., Any], store: Path, praktik: Path) -> None:
        out, problems = praktik.with_name("nilai.csv"), praktik.with_name("masalah.csv")
        result = run_cli(
            "grade", "--db", store, "--praktik", praktik, "--out", out, "--problems", problems
        )
        assert result.exit_code == 0, result.stderr
        self.store = store
        self.stderr: str = result.stderr
        self.grades = {r["nomor_peserta"]: r for r in read_csv(out)}
        self.problems = read_csv(problems)
        self.numbers = {
            n: r["nomor_sertifikat"] for n, r in self.grades.items() if r["nomor_sertifikat"]
        }
        self.new = {n for n, r in self.grades.items() if r["sertifikat_baru"] == "true"}

    def problem(self, participant: int, kind: str) -> dict[str, str]:
        (found,) = [
            p
            for p in self.problems
            if p["nomor_peserta"] == nomor(participant) and p["masalah"] == kind
        ]
        return found


def register(store: Path) -> dict[str, IssuedCertificate]:
    """The store's register, by certificate number."""
    with open_store(store, create=False) as opened:
        return {c.nomor_sertifikat: c for c in opened.certificates.all()}


def assert_nothing_moved(before: Run, after: Run, before_register: Mapping[str, Any]) -> None:
    """Every number shown before is shown again for the same participant, and still on record."""
    for number_of, certificate in before.numbers.items():
        assert after.numbers.get(number_of) == certificate, number_of
    assert before.new.isdisjoint(after.new)
    now = register(after.store)
    for number, certificate in before_register.items():
        assert now[number] == certificate, number


def graded(run_cli: Callable[..., Any], store: Path, praktik: Path) -> Run:
    return Run(run_cli, store, praktik)


ALL_PASS = {i: "8.00" for i in range(1, 21)}


# --------------------------------------------------------------------------- the three scenarios


def test_a_practical_score_arriving_later_moves_no_number(
    run_cli: Callable[..., Any], store: Path, tmp_path: Path
) -> None:
    # Participants 3 and 7 had only their theory sheet at the first run.
    late = {i: v for i, v in ALL_PASS.items() if i not in (3, 7)}
    first = graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", late))
    assert first.problem(3, "no_practical_score")["nomor_sertifikat"] == ""
    # A first run numbers each group in nomor-peserta order (Lampiran 1).
    assert first.numbers[nomor(4)] == "05.003.A.6018.0003"
    assert first.numbers[nomor(13)] == "05.003.A.6054.0001"
    assert "certificate numbers: 18 new in this run (recorded as grade run 2)" in first.stderr
    before = register(store)

    second = graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", ALL_PASS))
    assert_nothing_moved(first, second, before)
    # The late ones get the next free numbers of Akuntansi, not their nomor-order places.
    assert second.numbers[nomor(3)] == "05.003.A.6018.0011"
    assert second.numbers[nomor(7)] == "05.003.A.6018.0012"
    assert second.new == {nomor(3), nomor(7)}
    assert "certificate numbers: 2 new in this run (recorded as grade run 3), 18 kept" in (
        second.stderr
    )
    assert "new 05.003.A.6018.0011  " + nomor(3) in second.stderr


def test_a_repeat_practical_exam_reaching_7_00_moves_no_number(
    run_cli: Callable[..., Any], store: Path, tmp_path: Path
) -> None:
    scores = dict(ALL_PASS)
    scores[2] = scores[15] = "6,99"
    first = graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", scores))
    assert first.grades[nomor(2)]["lulus_praktik"] == "false"
    assert nomor(2) not in first.numbers and first.numbers[nomor(3)] == "05.003.A.6018.0002"
    before = register(store)

    # IV.C.6: the repeat practical exam brings both to 7,00.
    scores[2] = scores[15] = "7,00"
    second = graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", scores))
    assert_nothing_moved(first, second, before)
    assert second.numbers[nomor(2)] == "05.003.A.6018.0012"
    assert second.numbers[nomor(15)] == "05.003.A.6054.0008"
    assert second.new == {nomor(2), nomor(15)}

    # Grading again with the same inputs issues nothing and records no run.
    third = graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", scores))
    assert third.numbers == second.numbers and third.new == set()
    assert "certificate numbers: 0 new in this run, 20 kept as issued before" in third.stderr
    with open_store(store, create=False) as opened:
        assert [b.kind for b in opened.batches()] == ["score", "grade", "grade"]


def test_a_competency_code_fixed_in_the_practical_file_moves_no_number(
    run_cli: Callable[..., Any], store: Path, tmp_path: Path
) -> None:
    # Participant 5 sat Akuntansi (the theory sheet reads 6018); the practical file says 6054.
    wrong = {5: PEMASARAN}
    first = graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", ALL_PASS, wrong))
    mismatch = first.problem(5, "competency_mismatch")
    # No number while the competency is in dispute: it could be in the wrong group.
    assert mismatch["ditahan"] == "true" and mismatch["nomor_sertifikat"] == ""
    assert first.numbers[nomor(6)] == "05.003.A.6018.0005"
    assert first.numbers[nomor(20)] == "05.003.A.6054.0008"
    before = register(store)

    second = graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", ALL_PASS))
    assert_nothing_moved(first, second, before)
    assert second.numbers[nomor(5)] == "05.003.A.6018.0012"
    assert second.new == {nomor(5)}
    assert len(register(store)) == 20


def test_a_held_back_practical_pass_has_its_number_reserved_and_shown(
    run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    # Participant 4's sheet is still under review at the first run.
    records = [theory_record(i) for i in range(1, 13)]
    records[3] = {**records[3], "review": True, "flags": ["faint_mark"]}
    store = write_store(tmp_path / "ljun.sqlite", records)
    praktik = write_praktik(tmp_path / "praktik.csv", {i: "8.00" for i in range(1, 13)})
    first = graded(run_cli, store, praktik)
    waiting = first.problem(4, "theory_under_review")
    assert waiting["ditahan"] == "true" and waiting["nomor_sertifikat"] == "05.003.A.6018.0004"
    assert nomor(4) not in first.grades
    before = register(store)

    store = write_store(store, [{**records[3], "review": False, "flags": []}])
    second = graded(run_cli, store, praktik)
    assert_nothing_moved(first, second, before)
    assert second.numbers[nomor(4)] == "05.003.A.6018.0004" and second.new == set()


# --------------------------------------------------------------------------- withdrawal


def test_withdrawing_a_number_is_recorded_and_the_number_is_never_issued_again(
    run_cli: Callable[..., Any], store: Path, tmp_path: Path
) -> None:
    scores = dict(ALL_PASS)
    del scores[12]
    first = graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", scores))
    assert first.numbers[nomor(4)] == "05.003.A.6018.0004"

    result = run_cli(
        "certificates",
        "withdraw",
        "--db",
        store,
        "4-12-05-03-012-004-7",
        "--reason",
        "nilai praktik salah ketik, seharusnya 6,80",
        "--by",
        "Siti Aminah",
    )
    assert result.exit_code == 0, result.stderr
    assert "withdrew certificate 05.003.A.6018.0004 of nomor peserta " + nomor(4) in result.stdout
    assert "will not be issued again" in result.stdout
    withdrawn = register(store)["05.003.A.6018.0004"]
    assert withdrawn.withdrawn_by == "Siti Aminah" and withdrawn.withdrawn_at
    assert withdrawn.withdrawn_reason == "nilai praktik salah ketik, seharusnya 6,80"

    # The practical file still says a pass: no new number by itself, the participant waits.
    second = graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", scores))
    held = second.problem(4, "certificate_withdrawn")
    assert held["ditahan"] == "true" and "Siti Aminah" in held["keterangan"]
    assert nomor(4) not in second.grades and second.new == set()

    # Corrected, plus a newcomer: the newcomer gets 0012, never the withdrawn 0004.
    scores[4], scores[12] = "6,80", "9.00"
    third = graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", scores))
    assert third.grades[nomor(4)]["lulus_praktik"] == "false"
    assert third.grades[nomor(4)]["nomor_sertifikat"] == ""
    assert not [p for p in third.problems if p["nomor_peserta"] == nomor(4)]
    assert third.numbers[nomor(12)] == "05.003.A.6018.0012"
    assert {n: c for n, c in third.numbers.items() if n != nomor(12)} == {
        n: c for n, c in first.numbers.items() if n != nomor(4)
    }

    # A repeat practical exam (IV.C.6) passes at 7,20: a new pass, a new number.
    scores[4] = "7,20"
    fourth = graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", scores))
    assert fourth.numbers[nomor(4)] == "05.003.A.6018.0013" and fourth.new == {nomor(4)}
    assert not register(store)["05.003.A.6018.0004"].active

    listed = run_cli("certificates", "list", "--db", store, "--events")
    assert listed.exit_code == 0, listed.stderr
    events = [
        (e["peristiwa"], e["nomor_sertifikat"], e["oleh"])
        for e in read_csv_text(listed.stdout)
        if e["nomor_peserta"] == nomor(4)
    ]
    assert [e[:2] for e in events] == [
        ("issue", "05.003.A.6018.0004"),
        ("withdraw", "05.003.A.6018.0004"),
        ("issue", "05.003.A.6018.0013"),
    ]
    assert events[1][2] == "Siti Aminah"


def test_withdrawing_what_is_not_in_force_exits_2(
    run_cli: Callable[..., Any], store: Path, tmp_path: Path
) -> None:
    graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", ALL_PASS))
    args = ("certificates", "withdraw", "--db", store, nomor(1), "--reason", "salah", "--by", "X")
    assert run_cli(*args).exit_code == 0
    again = run_cli(*args)
    assert again.exit_code == 2 and "already withdrawn: 05.003.A.6018.0001" in again.stderr
    unknown = run_cli(*args[:4], "41205030129997", *args[5:])
    assert unknown.exit_code == 2 and "no certificate number was ever issued" in unknown.stderr
    no_reason = run_cli("certificates", "withdraw", "--db", store, nomor(2), "--by", "X")
    assert no_reason.exit_code == 2 and "--reason" in no_reason.stderr
    blank = run_cli(*args[:4], nomor(2), "--reason", " ", "--by", "X")
    assert blank.exit_code == 2 and "give the reason" in blank.stderr
    assert register(store)["05.003.A.6018.0002"].active


def test_a_number_whose_pass_disappears_is_kept_and_reported(
    run_cli: Callable[..., Any], store: Path, tmp_path: Path
) -> None:
    graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", ALL_PASS))
    scores = {**ALL_PASS, 6: "6,50"}
    second = graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", scores))
    problem = second.problem(6, "certificate_without_pass")
    assert problem["ditahan"] == "false" and problem["nomor_sertifikat"] == "05.003.A.6018.0006"
    assert "6,50 is below the pass mark 7,00" in problem["keterangan"]
    assert "ljun certificates withdraw" in problem["keterangan"]
    assert second.grades[nomor(6)]["lulus_praktik"] == "false"
    assert register(store)["05.003.A.6018.0006"].active


def test_a_number_in_another_competency_is_not_moved_but_held_back(
    run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    # Participant 5's sheet is not scanned yet; the practical file says Pemasaran.
    store = write_store(tmp_path / "ljun.sqlite", [theory_record(i) for i in range(1, 5)])
    scores = {i: "8.00" for i in range(1, 6)}
    first = graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", scores, {5: PEMASARAN}))
    assert first.problem(5, "no_theory_sheet")["nomor_sertifikat"] == "05.003.A.6054.0001"

    # The sheet arrives reading Akuntansi, and the practical file is corrected.
    write_store(store, [theory_record(5)])
    second = graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", scores))
    other = second.problem(5, "certificate_other_group")
    assert other["ditahan"] == "true" and other["nomor_sertifikat"] == "05.003.A.6054.0001"
    assert nomor(5) not in second.numbers

    run_cli("certificates", "withdraw", "--db", store, nomor(5), "--reason", "6018", "--by", "X")
    third = graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", scores))
    assert third.numbers[nomor(5)] == "05.003.A.6018.0005" and third.new == {nomor(5)}


# --------------------------------------------------------------------------- the register itself


def test_the_register_refuses_deletion_reuse_and_rewriting(
    run_cli: Callable[..., Any], store: Path, tmp_path: Path
) -> None:
    graded(run_cli, store, write_praktik(tmp_path / "praktik.csv", ALL_PASS))
    with sqlite3.connect(store) as raw:
        for statement in (
            "DELETE FROM certificates WHERE sequence = 1",
            "UPDATE certificates SET nomor_peserta = '41205030129997' WHERE sequence = 1",
            "UPDATE certificates SET sequence = 99 WHERE sequence = 1",
            "DELETE FROM certificate_events",
            "UPDATE certificate_events SET actor = 'someone else'",
            # A second number with the sequence of an existing one (number 1 reused).
            "INSERT INTO certificates (nomor_sertifikat, nomor_peserta, provinsi, "
            "kabupaten_kota, kode_kompetensi, sequence, nilai_praktik, issued_at, batch_id) "
            "SELECT '05.003.A.6018.9999', '41205030129997', provinsi, kabupaten_kota, "
            "kode_kompetensi, sequence, nilai_praktik, issued_at, batch_id FROM certificates "
            "WHERE sequence = 1",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="UNIQUE|append-only|never|only"):
                raw.execute(statement)
        raw.execute(
            "UPDATE certificates SET withdrawn_at = 'x', withdrawn_by = 'y' WHERE sequence = 1 "
            "AND kode_kompetensi = '6018'"
        )
        with pytest.raises(sqlite3.IntegrityError):  # withdrawn once, for good
            raw.execute("UPDATE certificates SET withdrawn_at = NULL WHERE withdrawn_at = 'x'")
    listed = run_cli("certificates", "list", "--db", store, "--out", tmp_path / "list.csv")
    assert listed.exit_code == 0 and "20 numbers" in listed.stderr
    rows = read_csv(tmp_path / "list.csv")
    assert [r["nomor_sertifikat"] for r in rows[:2]] == ["05.003.A.6018.0001", "05.003.A.6018.0002"]
    assert rows[0]["ditarik"] == "x" and rows[1]["ditarik"] == ""


def test_plan_gives_newcomers_numbers_after_the_highest_ever_issued() -> None:
    group = CertificateGroup("05", "003", AKUNTANSI)
    withdrawn = IssuedCertificate(
        "05.003.A.6018.0007", nomor(9), group, 7, "2026-01-01", 1, "2026-02-01", "salah", "X"
    )
    kept = IssuedCertificate("05.003.A.6018.0002", nomor(4), group, 2, "2026-01-01", 1)
    claim = CertificateClaim(group, Decimal("8.00"))
    plan = plan_certificates(
        {nomor(1): claim, nomor(4): claim, nomor(11): claim}, [withdrawn, kept], load_rules()
    )
    assert [(c.nomor_peserta, c.sequence) for c in plan.new] == [(nomor(1), 8), (nomor(11), 9)]
    assert plan.numbers[nomor(4)] is kept and not plan.conflicts
    assert plan.new[0].nilai_praktik == Decimal("8.00")


def test_a_withdrawn_number_blocks_only_the_pass_it_was_issued_for() -> None:
    group = CertificateGroup("05", "003", AKUNTANSI)
    withdrawn = IssuedCertificate(
        "05.003.A.6018.0001",
        nomor(1),
        group,
        1,
        "2026-01-01",
        1,
        "2026-02-01",
        "salah",
        "X",
        Decimal("8.60"),
    )
    rules = load_rules()
    same = plan_certificates(
        {nomor(1): CertificateClaim(group, Decimal("8.60"))}, [withdrawn], rules
    )
    assert same.new == () and same.conflicts[nomor(1)].certificate is withdrawn
    repeat = plan_certificates(
        {nomor(1): CertificateClaim(group, Decimal("7.20"))}, [withdrawn], rules
    )
    assert [c.nomor_sertifikat for c in repeat.new] == ["05.003.A.6018.0002"]


def test_grade_without_a_register_gives_no_numbers() -> None:
    report = grade(
        [theory_record(1)],
        [PracticalScore(nomor(1), "Peserta 1", AKUNTANSI, load_rules().praktik_pass_mark)],
        register=None,
    )
    (result,) = report.grades
    assert result.lulus_praktik and result.nomor_sertifikat == "" and not result.sertifikat_baru
    assert report.certificates is None and report.new_certificates == ()
    assert ProblemKind.CERTIFICATE_WITHOUT_PASS not in {p.kind for p in report.problems}


def test_certificates_help_has_examples(run_cli: Callable[..., Any]) -> None:
    for command in (("certificates",), ("certificates", "withdraw"), ("certificates", "list")):
        result = run_cli(*command, "--help")
        assert result.exit_code == 0 and "Example:" in result.stdout
