"""``ljun grade``: theory + practical scores -> competency grades and certificates."""

from __future__ import annotations

import contextlib
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
    help="Theory results from the results store (SQLite), latest reading per sheet.",
)
@click.option(
    "--results",
    "results",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Theory results as `ljun score` exports them: FILE.jsonl or FILE.csv.",
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
    decimals half up, exactly as the guide's Lampiran 3.  The theory results
    come from exactly one of --db and --results.

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
    participant needs semester rows and US rows.

    A file with any bad line is refused whole, naming the file and the lines.

    \b
    Certificate number PP.DDD.A.KKKK.NNNN (Lampiran 1): PP province and DDD
    district from the nomor peserta (or --province/--district), A the
    curriculum (KTSP), KKKK the competency code, NNNN the participant's place,
    in order of nomor peserta, among the practical passes of that province,
    district and competency.

    Participants without a theory sheet or practical score, with an unknown
    or mismatched competency code, a duplicated sheet or a sheet still under
    review are held back and listed as problems, with a summary per school
    and competency.

    \b
    Example:
      ljun grade --results hasil.jsonl --praktik praktik.csv --rapor rapor.csv \\
                 --out nilai.xlsx --out nilai.csv --comma
    """
    if (db is None) == (results is None):
        raise click.UsageError("give exactly one of --db FILE.sqlite and --results FILE")
    for out in outs:
        if out.suffix.lower() not in OUTPUT_FORMATS:
            raise click.BadParameter(
                f"{out}: the suffix picks the format, one of {', '.join(OUTPUT_FORMATS)}",
                param_hint="--out",
            )
    if problems_out is not None and problems_out.suffix.lower() != ".csv":
        raise click.BadParameter(f"{problems_out}: give a .csv file", param_hint="--problems")
    rules = load_rules(rules_name)
    theory: Sequence[Mapping[str, Any] | TheorySheet] = (
        read_theory_file(results, rules) if results is not None else _store_records(db)
    )
    practical = read_praktik_csv(praktik, rules)
    cards = read_rapor_csv(rapor, rules) if rapor is not None else None
    report = grade_participants(
        theory, practical, rules=rules, report_cards=cards, province=province, district=district
    )
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


def _store_records(db: Path | None) -> list[dict[str, Any]]:
    """Result records of the results store at ``db`` (latest reading per sheet)."""
    from .. import store  # imported here: only --db needs the store

    with store.open_store(db) as opened:
        return list(opened.result_records())


def _print_summary(report: GradingReport) -> None:
    graded = len(report.grades)
    passed = sum(g.lulus for g in report.grades)
    click.echo(
        f"rules {report.rules.label}: {graded} graded, {passed} passed the practical, "
        f"{graded - passed} did not, {len(report.held_back)} held back",
        err=True,
    )
    for kind, count in sorted(Counter(str(p.kind) for p in report.problems).items()):
        click.echo(f"  {kind}: {count}", err=True)


COMMANDS = [grade]
