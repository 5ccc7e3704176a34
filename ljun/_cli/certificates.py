"""``ljun certificates``: the certificate register of the results store (list, withdraw)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import click

from .._io import atomic_write
from ..errors import ScoresFileError
from ..nomor import parse_nomor_peserta

__all__ = ["COMMANDS", "certificates"]

#: Columns of ``ljun certificates list``.
LIST_COLUMNS: tuple[str, ...] = (
    "nomor_sertifikat",
    "nomor_peserta",
    "provinsi",
    "kabupaten_kota",
    "kode_kompetensi",
    "diterbitkan",
    "grade_run",
    "ditarik",
    "ditarik_oleh",
    "alasan_penarikan",
)

#: Columns of ``ljun certificates list --events``.
EVENT_COLUMNS: tuple[str, ...] = (
    "waktu",
    "peristiwa",
    "nomor_sertifikat",
    "nomor_peserta",
    "oleh",
    "alasan",
    "grade_run",
)

_STORE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def certificates() -> None:
    """The certificate register: every certificate number `ljun grade` issued.

    Each number is recorded in the results store when it is issued, with the
    grading run that issued it, and never moves, disappears or is issued
    again.  `list` shows the register (or its audit, --events); `withdraw`
    takes a number back (a pass that was an error): the number stays taken.

    \b
    Example:
      ljun certificates list --db ljun.sqlite --out sertifikat.csv
      ljun certificates withdraw --db ljun.sqlite 4-12-05-03-012-001-7 \\
          --reason "nilai praktik salah ketik, 6,80" --by "Siti Aminah"
    """


@certificates.command("list")
@click.option("--db", "db", required=True, type=_STORE, help="The results store (SQLite).")
@click.option(
    "--events",
    is_flag=True,
    help="List the audit instead: every issue and withdrawal, who, when and why.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write FILE.csv instead of printing.",
)
def list_certificates(db: Path, events: bool, out: Path | None) -> None:
    """List every certificate number on record, withdrawn ones included (CSV).

    One row per number, by province, district, competency and number:
    when it was issued and by which grading run, and, for a withdrawn
    number, when, by whom and why.

    \b
    Example:
      ljun certificates list --db ljun.sqlite --out sertifikat.csv
      ljun certificates list --db ljun.sqlite --events
    """
    from ..store import open_store  # imported here: --help needs no store

    if out is not None and out.suffix.lower() != ".csv":
        raise click.BadParameter(f"{out}: give a .csv file", param_hint="--out")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    with open_store(db, create=False) as store:
        register = store.certificates
        if events:
            writer.writerow(EVENT_COLUMNS)
            for e in register.events():
                writer.writerow(
                    (
                        e.at,
                        e.event,
                        e.nomor_sertifikat,
                        e.nomor_peserta,
                        e.actor,
                        e.reason,
                        e.batch_id or "",
                    )
                )
            count = len(register.events())
        else:
            writer.writerow(LIST_COLUMNS)
            numbers = register.all()
            for c in numbers:
                writer.writerow(
                    (
                        c.nomor_sertifikat,
                        c.nomor_peserta,
                        c.group.provinsi,
                        c.group.kabupaten_kota,
                        c.group.kode_kompetensi,
                        c.issued_at,
                        c.batch_id or "",
                        c.withdrawn_at or "",
                        c.withdrawn_by,
                        c.withdrawn_reason,
                    )
                )
            count = len(numbers)
    if out is None:
        click.echo(text.getvalue(), nl=False)
        return
    with atomic_write(out, "w", encoding="utf-8", newline="") as stream:
        stream.write(text.getvalue())
    click.echo(f"wrote {out} ({count} {'events' if events else 'numbers'})", err=True)


def _nomor(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return parse_nomor_peserta(value).digits
    except ScoresFileError as exc:
        raise click.BadParameter(str(exc)) from None


@certificates.command("withdraw")
@click.option("--db", "db", required=True, type=_STORE, help="The results store (SQLite).")
@click.argument("nomor_peserta", callback=_nomor)
@click.option("--reason", required=True, help="Why the number is withdrawn (kept in the audit).")
@click.option("--by", "by", required=True, help="Who withdraws it (kept in the audit).")
def withdraw(db: Path, nomor_peserta: str, reason: str, by: str) -> None:
    """Withdraw the certificate number of NOMOR_PESERTA (a pass that was an error).

    The number stays on record as withdrawn, with when, who and why, and is
    never issued again, to anyone.  A later `ljun grade` does not replace
    it by itself: while the practical file still shows the score the number
    was issued for, the participant is held back; correct the practical
    score too.  A different passing score later (a repeat practical exam)
    is a new pass and gets a new number.

    \b
    Example:
      ljun certificates withdraw --db ljun.sqlite 4-12-05-03-012-001-7 \\
          --reason "nilai praktik salah ketik, 6,80" --by "Siti Aminah"
    """
    from ..store import open_store  # imported here: --help needs no store

    with open_store(db, create=False) as store:
        done = store.certificates.withdraw(nomor_peserta, reason=reason, by=by)
    click.echo(
        f"withdrew certificate {done.nomor_sertifikat} of nomor peserta {done.nomor_peserta} "
        f"({done.issued_by_run}) on {(done.withdrawn_at or '')[:10]}, by {done.withdrawn_by}: "
        f"{done.withdrawn_reason}. The number stays taken and will not be issued again; "
        f"recorded in {db}."
    )


COMMANDS = [certificates]
