"""``ljun grade``: theory + practical scores -> competency grades and certificates."""

from __future__ import annotations

import contextlib
import getpass
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from .._io import output_error, remove_stale_parts
from .._safe import printable
from ..errors import LjunError, OutputError
from ..grade import (
    GradingReport,
    IssuedCertificate,
    TheorySheet,
    grades_csv_text,
    load_rules,
    read_praktik_csv,
    read_rapor_csv,
    read_theory_file,
    write_grades_csv,
    write_grades_xlsx,
    write_problems_csv,
)
from ..grade import (
    grade as grade_participants,
)

__all__ = ["COMMANDS", "grade"]

#: Output suffixes and what they hold.
OUTPUT_FORMATS = (".csv", ".xlsx")

#: New certificate numbers listed one per line on stderr; the rest are counted
#: (the grade list marks every one in ``sertifikat_baru``).
NEW_NUMBERS_SHOWN = 20


def _digits(length: int) -> Any:
    """A click callback accepting ``None`` or exactly ``length`` digits."""

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is not None and not (len(value) == length and value.isdigit()):
            raise click.BadParameter(f"{value!r} is not {length} digits")
        return value

    return check


@click.command()
@click.option(
    "--db",
    "db",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The results store (SQLite): theory results (latest reading per sheet), and "
    "the certificate register, which records every number issued.",
)
@click.option(
    "--results",
    "results",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Theory results as `ljun score` exports them: FILE.jsonl or FILE.csv "
    "(instead of the store's; with --db the store still keeps the certificate numbers).",
)
@click.option(
    "--praktik",
    "praktik",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Practical scores CSV: nomor_peserta,nama,kode_kompetensi,nilai_praktik.",
)
@click.option(
    "--rapor",
    "rapor",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Report-card CSV (long format): nomor_peserta,semester,sk,nilai.",
)
@click.option(
    "--out",
    "outs",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write FILE.csv (one row per participant) or FILE.xlsx (summary, a sheet "
    "per competency, problems); repeat for both.  Default: CSV on stdout.",
)
@click.option(
    "--problems",
    "problems_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the problems (held back, missing data) to FILE.csv.",
)
@click.option(
    "--rules",
    "rules_name",
    default=None,
    metavar="FILE",
    help="Grading rules JSON, or the name of a bundled rule set [default: ukk-2011-2012].",
)
@click.option(
    "--province",
    default=None,
    metavar="NN",
    callback=_digits(2),
    help="Province number (2 digits) of every certificate number, instead of "
    "digits 4-5 of the nomor peserta.",
)
@click.option(
    "--district",
    default=None,
    metavar="NNN",
    callback=_digits(3),
    help="District (kabupaten/kota) number (3 digits) of every certificate number, "
    "instead of digits 6-7 of the nomor peserta zero-padded.",
)
@click.option(
    "--comma",
    is_flag=True,
    help="Write CSV scores with the Indonesian decimal comma (7,50); such cells are "
    "quoted.  XLSX cells are numbers either way.",
)
def grade(
    db: Path | None,
    results: Path | None,
    praktik: Path,
    rapor: Path | None,
    outs: tuple[Path, ...],
    problems_out: Path | None,
    rules_name: str | None,
    province: str | None,
    district: str | None,
    comma: bool,
) -> None:
    """Merge theory with practical scores into competency grades.

    For every participant: Nilai Teori and Nilai Praktik as they stand,
    Nilai UKK = 30 % Teori + 70 % Praktik, pass when Praktik >= 7,00 (with the
    reason when not), and a certificate number for a pass; with --rapor also
    Nilai Rapor (mean of the semester means), Nilai Ujian Sekolah and Nilai
    Sekolah = 40 % Rapor + 60 % Ujian Sekolah.  Every mean is rounded to 2
    decimals half up, exactly as the guide's Lampiran 3.  lulus_praktik is the
    practical pass, which decides the certificate; the exam pass also depends
    on the national exam, decided centrally (IX.2).  The theory results come
    from the store (--db) or from --results.

    \b
    Practical scores (--praktik), one row per participant:
      nomor_peserta,nama,kode_kompetensi,nilai_praktik
      4-12-05-03-012-001-7,Ani Lestari,6018,"8,25"
    nomor_peserta with or without the hyphens X-XX-XX-XX-XXX-XXX-X;
    kode_kompetensi from Lampiran 2; nilai 0-10, at most 2 decimals, 8,25 or
    8.25 (quote a comma value, or separate the columns with ';').

    \b
    Report cards (--rapor), one row per SK score, Lampiran 3 typed in:
      nomor_peserta,semester,sk,nilai
      41205030120017,3,Mengelola kartu piutang,"7,55"
      41205030120017,US,Menyajikan laporan harga pokok produk,"7,35"
    semester is 1-8, or US for the school exam (ujian sekolah); every
    participant needs semester rows and US rows.  Nilai Rapor counts
    semesters 1-5 (VIII.1) unless the rules list others ("rapor":
    {"semester": [...]}); rows of other semesters are listed as problems.

    A file with any bad line is refused whole, naming the file and the lines.

    \b
    Certificate number PP.DDD.A.KKKK.NNNN (Lampiran 1): PP province and DDD
    district from the nomor peserta (or --province/--district), A the
    curriculum (KTSP), KKKK the competency code, NNNN the participant's
    number in that province, district and competency.  Numbers are issued
    only with --db: each is recorded in the store before any output shows
    it, and never moves or is issued again.  A later run keeps every number
    on record and gives a practical pass without one the next free number
    of its group; the grade list marks them (sertifikat_baru) and the
    summary lists them.  A practical pass held back gets its number too,
    shown in the problems.  Withdraw a number with `ljun certificates
    withdraw`.

    Participants without a theory sheet or practical score, with an unknown
    or mismatched competency code, a duplicated sheet or a sheet still under
    review are held back and listed as problems, with a summary per school
    and competency.

    \b
    Example:
      ljun grade --db ljun.sqlite --praktik praktik.csv --rapor rapor.csv \\
                 --out nilai.xlsx --out nilai.csv --comma --problems masalah.csv
    """
    if db is None and results is None:
        raise click.UsageError(
            "give --db FILE.sqlite (the results store) or --results FILE (theory results)"
        )
    for out in outs:
        if out.suffix.lower() not in OUTPUT_FORMATS:
            raise click.BadParameter(
                f"{out}: the suffix picks the format, one of {', '.join(OUTPUT_FORMATS)}",
                param_hint="--out",
            )
    if problems_out is not None and problems_out.suffix.lower() != ".csv":
        raise click.BadParameter(f"{problems_out}: give a .csv file", param_hint="--problems")
    rules = load_rules(rules_name)
    theory_file = read_theory_file(results, rules) if results is not None else None
    practical = read_praktik_csv(praktik, rules)
    cards = read_rapor_csv(rapor, rules) if rapor is not None else None

    def grade_with(
        theory: Sequence[Mapping[str, Any] | TheorySheet],
        register: Sequence[IssuedCertificate] | None,
    ) -> GradingReport:
        return grade_participants(
            theory,
            practical,
            rules=rules,
            report_cards=cards,
            province=province,
            district=district,
            register=register,
        )

    batch_id: int | None = None
    if db is None:
        assert theory_file is not None  # checked above: one of them is given
        report = grade_with(theory_file, None)
    else:
        from .. import store  # imported here: only --db needs the store

        arguments = {
            "db": str(db),
            "results": str(results) if results is not None else None,
            "praktik": str(praktik),
            "rapor": str(rapor) if rapor is not None else None,
            "rules": rules.label,
            "province": province,
            "district": district,
        }
        with store.open_store(db, create=False) as opened:
            theory = theory_file if theory_file is not None else list(opened.result_records())
            made: list[GradingReport] = []

            def propose(register: tuple[IssuedCertificate, ...]) -> tuple[IssuedCertificate, ...]:
                made.append(grade_with(theory, register))
                return made[-1].new_certificates

            batch_id, _ = opened.certificates.issue(propose, actor=_login(), arguments=arguments)
        report = made[-1]
    writers: list[tuple[Path, Callable[[Path], None]]] = [
        (
            out,
            (lambda path: write_grades_xlsx(report, path))
            if out.suffix.lower() == ".xlsx"
            else (lambda path: write_grades_csv(report, path, comma=comma)),
        )
        for out in outs
    ]
    if problems_out is not None:
        writers.append((problems_out, lambda path: write_problems_csv(report, path)))
    if writers:
        written = write_together(writers)
        click.echo(
            f"wrote {', '.join(printable(p) for p in written)}"
            + (" (written together: same modification time)" if len(written) > 1 else ""),
            err=True,
        )
    if not outs:
        click.echo(grades_csv_text(report, comma=comma), nl=False)
    _print_summary(report)
    _print_certificates(report, batch_id)


def _login() -> str:
    """The login running ljun, recorded as who issued certificate numbers."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment or passwd
        return "unknown"


def write_together(writers: Sequence[tuple[Path, Callable[[Path], None]]]) -> list[Path]:
    """Write every output beside its place first, then rename them all at once.

    A run killed while writing leaves none of them changed (only ``.part``
    files, removed by the next run), not a new CSV beside an old XLSX; the
    files of one run get the same modification time, so a reader can tell a
    complete set.  Returns the paths written.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for out, _ in writers:
            remove_stale_parts(out)
        for out, write in writers:
            part = out.with_name(f".{out.name}.{os.getpid()}.part")
            try:
                write(part)
            except OutputError as exc:
                # Name the file the user asked for, not the staging file.
                raise OutputError(str(exc).replace(str(part), str(out))) from None
            staged.append((part, out))
        stamp = time.time_ns()
        for part, _ in staged:
            os.utime(part, ns=(stamp, stamp))
        for part, out in staged:
            os.replace(part, out)
    except OSError as exc:
        if isinstance(exc, LjunError):
            raise
        raise output_error(staged[-1][1] if staged else writers[0][0], exc) from None
    finally:
        for part, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
    return [out for out, _ in writers]


def _print_summary(report: GradingReport) -> None:
    graded = len(report.grades)
    passed = sum(g.lulus_praktik for g in report.grades)
    click.echo(
        f"rules {report.rules.label}: {graded} graded, {passed} passed the practical, "
        f"{graded - passed} did not, {len(report.held_back)} held back",
        err=True,
    )
    for kind, count in sorted(Counter(str(p.kind) for p in report.problems).items()):
        click.echo(f"  {kind}: {count}", err=True)


def _print_certificates(report: GradingReport, batch_id: int | None) -> None:
    """Which certificate numbers this run issued, and how many it kept."""
    plan = report.certificates
    if plan is None:
        click.echo(
            "certificate numbers: none written; they are issued only into a results store, "
            "which records each so it never moves (give --db STORE, with --results too)",
            err=True,
        )
        return
    new = report.new_certificates
    kept = len(plan.numbers) - len(new)
    notes = [f"recorded as grade run {batch_id}"] if batch_id is not None else []
    held_back = report.held_back
    reserved = sum(c.nomor_peserta in held_back for c in new)
    if reserved:
        notes.append(f"{reserved} reserved for participants held back")
    noted = f" ({'; '.join(notes)})" if notes else ""
    click.echo(
        f"certificate numbers: {len(new)} new in this run{noted}, {kept} kept as issued before",
        err=True,
    )
    for certificate in new[:NEW_NUMBERS_SHOWN]:
        click.echo(f"  new {certificate.nomor_sertifikat}  {certificate.nomor_peserta}", err=True)
    if len(new) > NEW_NUMBERS_SHOWN:
        click.echo(
            f"  ... and {len(new) - NEW_NUMBERS_SHOWN} more new (column sertifikat_baru of the "
            "grade list, nomor_sertifikat of the problems)",
            err=True,
        )


COMMANDS = [grade]
