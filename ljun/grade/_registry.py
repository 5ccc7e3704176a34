"""The certificate register: the store's ``certificates`` and ``certificate_events`` tables.

Reached through :attr:`ljun.store.ResultsStore.certificates`.  Every number
``ljun grade`` issues is recorded here, with the grading run (a store batch of
kind ``grade``) that issued it, before any output shows it; a number is never
deleted, moved or issued twice (the tables' constraints and triggers refuse
it, see ``ljun/_migrations.py`` step ``0003_certificates``), and the only
change a number can see is being withdrawn, once, by an explicit command.
Every issue and withdrawal is also an event of the append-only
``certificate_events`` table: what, when, who, why.
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from ..errors import StoreError
from ..vocabulary import BatchKind
from ._certificates import CertificateGroup, IssuedCertificate

#: The batch kind of a grading run that issued certificate numbers.
GRADE_BATCH_KIND = BatchKind.GRADE

_COLUMNS = (
    "nomor_sertifikat, nomor_peserta, provinsi, kabupaten_kota, kode_kompetensi, sequence, "
    "issued_at, batch_id, withdrawn_at, withdrawn_reason, withdrawn_by, nilai_praktik"
)


class CertificateWithdrawalError(StoreError):
    """A withdrawal cannot be done (no number in force, no reason, no name)."""


@dataclass(frozen=True)
class CertificateEvent:
    """One row of the audit of the register.

    ``event`` is ``issue`` or ``withdraw``; ``actor`` the person (withdrawal)
    or the login that ran ``ljun grade`` (issue); ``batch_id`` the grading
    run of an issue.
    """

    nomor_sertifikat: str
    nomor_peserta: str
    event: str
    at: str
    actor: str
    reason: str
    batch_id: int | None


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _certificate(row: Sequence[Any]) -> IssuedCertificate:
    return IssuedCertificate(
        nomor_sertifikat=row[0],
        nomor_peserta=row[1],
        group=CertificateGroup(row[2], row[3], row[4]),
        sequence=int(row[5]),
        issued_at=row[6],
        batch_id=row[7],
        withdrawn_at=row[8],
        withdrawn_reason=row[9] or "",
        withdrawn_by=row[10] or "",
        nilai_praktik=Decimal(row[11]),
    )


class CertificateRegistry:
    """The certificate register of one store (see the module docstring).

    Parameters
    ----------
    connection : sqlite3.Connection
        The store's connection, in autocommit mode.
    path : str
        The store's file, for messages.
    transaction : callable
        Returns the store's ``BEGIN IMMEDIATE`` ... ``COMMIT`` context.
    """

    def __init__(
        self,
        connection: sqlite3.Connection,
        path: str,
        transaction: Callable[[], AbstractContextManager[sqlite3.Connection]],
    ) -> None:
        self._db = connection
        self._path = path
        self._transaction = transaction

    def all(self) -> tuple[IssuedCertificate, ...]:
        """Every number ever issued, withdrawn ones included, by group then sequence."""
        return self._read(self._db)

    @staticmethod
    def _read(db: sqlite3.Connection) -> tuple[IssuedCertificate, ...]:
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM certificates "
            "ORDER BY provinsi, kabupaten_kota, kode_kompetensi, sequence"
        ).fetchall()
        return tuple(_certificate(row) for row in rows)

    def in_force(self, nomor_peserta: str) -> IssuedCertificate | None:
        """The number in force for ``nomor_peserta``, or ``None``."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM certificates WHERE nomor_peserta = ? AND withdrawn_at IS NULL",
            (nomor_peserta,),
        ).fetchone()
        return _certificate(row) if row is not None else None

    def events(self) -> tuple[CertificateEvent, ...]:
        """The audit of the register, oldest first."""
        rows = self._db.execute(
            "SELECT c.nomor_sertifikat, c.nomor_peserta, e.event, e.at, e.actor, e.reason, "
            "e.batch_id FROM certificate_events e JOIN certificates c ON c.id = e.certificate_id "
            "ORDER BY e.id"
        ).fetchall()
        return tuple(CertificateEvent(*row) for row in rows)

    def issue(
        self,
        propose: Callable[[tuple[IssuedCertificate, ...]], Sequence[IssuedCertificate]],
        *,
        actor: str,
        arguments: Mapping[str, Any] | None = None,
    ) -> tuple[int | None, tuple[IssuedCertificate, ...]]:
        """Record new numbers, decided from the register as it stands, in one transaction.

        ``propose`` is called once, under the store's write lock, with every
        number on record; it returns the numbers to add (for example
        :attr:`~ljun.grade.GradingReport.new_certificates` of a :func:`grade`
        given that register).  When it returns any, a batch of kind
        ``grade`` records the run (``arguments``, and the count as its
        summary), and each number gets an ``issue`` event by ``actor``.

        Returns
        -------
        (int or None, tuple of IssuedCertificate)
            The batch id (``None`` when nothing was new) and the numbers as
            recorded (with time and batch).

        Raises
        ------
        StoreError
            When the store cannot be written; nothing is recorded then.
        """
        try:
            with self._transaction() as db:
                new = list(propose(self._read(db)))
                if not new:
                    return None, ()
                now = _now()
                cursor = db.execute(
                    "INSERT INTO batches (kind, status, started_at, finished_at, template, "
                    "arguments, summary) VALUES (?, 'complete', ?, ?, '', ?, ?)",
                    (
                        GRADE_BATCH_KIND,
                        now,
                        now,
                        json.dumps(dict(arguments or {}), default=str),
                        json.dumps({"certificates_issued": len(new)}),
                    ),
                )
                batch_id = int(cursor.lastrowid or 0)
                for certificate in new:
                    group = certificate.group
                    if certificate.nilai_praktik is None:
                        raise ValueError(
                            f"certificate {certificate.nomor_sertifikat}: no practical score"
                        )
                    row = db.execute(
                        "INSERT INTO certificates (nomor_sertifikat, nomor_peserta, provinsi, "
                        "kabupaten_kota, kode_kompetensi, sequence, nilai_praktik, issued_at, "
                        "batch_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            certificate.nomor_sertifikat,
                            certificate.nomor_peserta,
                            group.provinsi,
                            group.kabupaten_kota,
                            group.kode_kompetensi,
                            certificate.sequence,
                            format(certificate.nilai_praktik, "f"),
                            now,
                            batch_id,
                        ),
                    )
                    db.execute(
                        "INSERT INTO certificate_events (certificate_id, event, at, actor, "
                        "reason, batch_id) VALUES (?, 'issue', ?, ?, ?, ?)",
                        (row.lastrowid, now, actor, "practical pass (ljun grade)", batch_id),
                    )
        except sqlite3.Error as exc:
            raise StoreError(
                f"results store {self._path}: the certificate numbers could not be recorded, "
                f"none was issued: {exc}"
            ) from exc
        recorded = tuple(replace(c, issued_at=now, batch_id=batch_id) for c in new)
        return batch_id, recorded

    def withdraw(self, nomor_peserta: str, *, reason: str, by: str) -> IssuedCertificate:
        """Withdraw the number in force of ``nomor_peserta``; return it as withdrawn.

        The number stays taken: it is never issued again.  The withdrawal is
        an event of the audit (who, when, why).

        Raises
        ------
        CertificateWithdrawalError
            When ``reason`` or ``by`` is empty or the participant holds no
            number in force.
        StoreError
            When the store cannot be written.
        """
        if not reason.strip():
            raise CertificateWithdrawalError("give the reason for the withdrawal (--reason)")
        if not by.strip():
            raise CertificateWithdrawalError("give the name of who withdraws the number (--by)")
        try:
            with self._transaction() as db:
                row = db.execute(
                    f"SELECT id, {_COLUMNS} FROM certificates WHERE nomor_peserta = ? "
                    "AND withdrawn_at IS NULL",
                    (nomor_peserta,),
                ).fetchone()
                if row is None:
                    raise CertificateWithdrawalError(self._nothing_to_withdraw(db, nomor_peserta))
                now = _now()
                db.execute(
                    "UPDATE certificates SET withdrawn_at = ?, withdrawn_reason = ?, "
                    "withdrawn_by = ? WHERE id = ?",
                    (now, reason.strip(), by.strip(), row[0]),
                )
                db.execute(
                    "INSERT INTO certificate_events (certificate_id, event, at, actor, reason) "
                    "VALUES (?, 'withdraw', ?, ?, ?)",
                    (row[0], now, by.strip(), reason.strip()),
                )
        except sqlite3.Error as exc:
            raise StoreError(
                f"results store {self._path}: the withdrawal could not be recorded, nothing "
                f"changed: {exc}"
            ) from exc
        return replace(
            _certificate(row[1:]),
            withdrawn_at=now,
            withdrawn_reason=reason.strip(),
            withdrawn_by=by.strip(),
        )

    def _nothing_to_withdraw(self, db: sqlite3.Connection, nomor_peserta: str) -> str:
        earlier = db.execute(
            "SELECT nomor_sertifikat, withdrawn_at FROM certificates WHERE nomor_peserta = ? "
            "ORDER BY id",
            (nomor_peserta,),
        ).fetchall()
        if earlier:
            done = ", ".join(f"{n} (withdrawn {str(at)[:10]})" for n, at in earlier)
            return (
                f"results store {self._path}: nomor peserta {nomor_peserta} holds no "
                f"certificate number in force; already withdrawn: {done}"
            )
        return (
            f"results store {self._path}: no certificate number was ever issued to nomor "
            f"peserta {nomor_peserta}; check the number (`ljun certificates list --db "
            f"{self._path}` lists them)"
        )
