"""Certificate numbers: who holds one, and which numbers a grading run adds.

Pure functions over the certificate register (the store's ``certificates``
table, read and written by :mod:`ljun.grade._registry`).  The rules
(README, "Certificate numbers"):

- A number, once recorded, belongs to its participant and never moves: a
  later run shows the same number, whatever else arrived or changed.
- A participant who should hold a number (a *claim*: practical pass, a
  competency code from the list, no theory sheet disputing the code) and
  holds none gets the next free number of the group (province, district,
  competency): one more than the highest number the group ever had, withdrawn
  numbers included, so a number is never issued twice.  Newcomers of one run
  are numbered in nomor-peserta order, so a first run numbers each group
  1, 2, 3 ... in nomor-peserta order (Lampiran 1: "nomor urut peserta uji").
- A withdrawn number (a pass that was an error) is not replaced by itself:
  while the practical file still shows the very score it was issued for, the
  participant gets no new number.  A different passing score (a repeat
  practical exam, IV.C.6) is a new pass and gets a new number.
- Nothing is changed silently: a held number the inputs no longer support
  (no pass any more, another competency, a withdrawn number whose pass is
  still in the file) is reported as a :class:`CertificateConflict` for a
  person to settle.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from ._formulas import certificate_number
from ._rules import GradingRules


@dataclass(frozen=True, order=True)
class CertificateGroup:
    """The numbering group of a certificate: province, district, competency.

    ``provinsi`` 2 digits, ``kabupaten_kota`` 3 digits, ``kode_kompetensi``
    4 digits, as in ``PP.DDD.A.KKKK.NNNN``.
    """

    provinsi: str
    kabupaten_kota: str
    kode_kompetensi: str

    def __str__(self) -> str:
        return f"{self.provinsi}.{self.kabupaten_kota} {self.kode_kompetensi}"


@dataclass(frozen=True)
class CertificateClaim:
    """Why a participant should hold a number now: the group, and the practical pass.

    ``nilai_praktik`` is the passing practical score the number is for.
    """

    group: CertificateGroup
    nilai_praktik: Decimal


@dataclass(frozen=True)
class IssuedCertificate:
    """One certificate number of the register (or about to enter it).

    Attributes
    ----------
    nomor_sertifikat : str
        ``PP.DDD.A.KKKK.NNNN``, as printed.
    nomor_peserta : str
        14 digits.
    group : CertificateGroup
    sequence : int
        ``NNNN`` as a number, 1-based within the group.
    issued_at : str
        ISO 8601 UTC time it was recorded; ``""`` before it is.
    batch_id : int or None
        The ``ljun grade`` run (store batch of kind ``grade``) that issued it.
    withdrawn_at, withdrawn_reason, withdrawn_by : str or None, str, str
        Set by ``ljun certificates withdraw``; a withdrawn number stays taken.
    nilai_praktik : Decimal or None
        The practical score the number was issued for.
    """

    nomor_sertifikat: str
    nomor_peserta: str
    group: CertificateGroup
    sequence: int
    issued_at: str = ""
    batch_id: int | None = None
    withdrawn_at: str | None = None
    withdrawn_reason: str = ""
    withdrawn_by: str = ""
    nilai_praktik: Decimal | None = None

    @property
    def active(self) -> bool:
        """Whether the number is in force (not withdrawn)."""
        return self.withdrawn_at is None

    @property
    def issued_by_run(self) -> str:
        """``issued 2026-12-03 by grade run 4``, for messages."""
        when = self.issued_at[:10] or "now"
        run = f" by grade run {self.batch_id}" if self.batch_id is not None else ""
        return f"issued {when}{run}"


class ConflictKind(enum.StrEnum):
    """How a held number and this run's inputs disagree."""

    #: The participant holds a number, and the inputs give no certificate now.
    WITHOUT_CLAIM = "without_claim"
    #: The participant holds a number of another group (province, district, competency).
    OTHER_GROUP = "other_group"
    #: The participant's number of this group was withdrawn, and the inputs still give
    #: the pass (the same practical score) it was issued for.
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class CertificateConflict:
    """A held or withdrawn number that this run's inputs do not support."""

    kind: ConflictKind
    certificate: IssuedCertificate
    claimed: CertificateGroup | None = None


@dataclass(frozen=True)
class CertificatePlan:
    """The numbers of a grading run.

    Attributes
    ----------
    numbers : mapping of nomor peserta to IssuedCertificate
        The number each claimant holds after this run (kept or new).
    new : tuple of IssuedCertificate
        Numbers this run adds to the register, by group then sequence.
    conflicts : mapping of nomor peserta to CertificateConflict
        Held or withdrawn numbers the inputs disagree with.
    """

    numbers: Mapping[str, IssuedCertificate]
    new: tuple[IssuedCertificate, ...]
    conflicts: Mapping[str, CertificateConflict]

    def held(self, nomor_peserta: str) -> IssuedCertificate | None:
        """The number in force for ``nomor_peserta`` (kept, new or in conflict), if any."""
        number = self.numbers.get(nomor_peserta)
        if number is not None:
            return number
        conflict = self.conflicts.get(nomor_peserta)
        if conflict is not None and conflict.certificate.active:
            return conflict.certificate
        return None

    @property
    def new_by_nomor(self) -> frozenset[str]:
        """Nomor peserta of the participants given a number in this run."""
        return frozenset(c.nomor_peserta for c in self.new)


def plan_certificates(
    claims: Mapping[str, CertificateClaim],
    register: Iterable[IssuedCertificate],
    rules: GradingRules,
) -> CertificatePlan:
    """Keep every number of the register; give claimants without one the next free number.

    Parameters
    ----------
    claims : mapping of nomor peserta to CertificateClaim
        Everyone who should hold a number now, in which group, for which score.
    register : iterable of IssuedCertificate
        Every number ever recorded, withdrawn ones included.
    rules : GradingRules
        For the curriculum letter of new numbers.

    Returns
    -------
    CertificatePlan

    Raises
    ------
    CertificateNumberError
        When a group runs past 9999.

    Examples
    --------
    >>> from ljun.grade import load_rules
    >>> group = CertificateGroup("05", "003", "6018")
    >>> kept = IssuedCertificate("05.003.A.6018.0001", "41205030120027", group, 1)
    >>> claim = CertificateClaim(group, Decimal("8.00"))
    >>> plan = plan_certificates(
    ...     {"41205030120017": claim, "41205030120027": claim}, [kept], load_rules())
    >>> [c.nomor_sertifikat for c in plan.new]
    ['05.003.A.6018.0002']
    >>> plan.numbers["41205030120027"].nomor_sertifikat
    '05.003.A.6018.0001'
    """
    active: dict[str, IssuedCertificate] = {}
    withdrawn: dict[tuple[str, CertificateGroup], IssuedCertificate] = {}
    last_sequence: dict[CertificateGroup, int] = defaultdict(int)
    for certificate in register:
        group = certificate.group
        last_sequence[group] = max(last_sequence[group], certificate.sequence)
        if certificate.active:
            active[certificate.nomor_peserta] = certificate
        else:
            withdrawn[(certificate.nomor_peserta, group)] = certificate

    numbers: dict[str, IssuedCertificate] = {}
    conflicts: dict[str, CertificateConflict] = {}
    new: list[IssuedCertificate] = []
    for nomor in sorted(claims):
        claim = claims[nomor]
        group = claim.group
        held = active.get(nomor)
        if held is not None:
            if held.group == group:
                numbers[nomor] = held
            else:
                conflicts[nomor] = CertificateConflict(ConflictKind.OTHER_GROUP, held, group)
            continue
        taken_back = withdrawn.get((nomor, group))
        if taken_back is not None and taken_back.nilai_praktik in (None, claim.nilai_praktik):
            conflicts[nomor] = CertificateConflict(ConflictKind.WITHDRAWN, taken_back, group)
            continue
        last_sequence[group] += 1
        sequence = last_sequence[group]
        number = certificate_number(
            group.provinsi, group.kabupaten_kota, group.kode_kompetensi, sequence, rules
        )
        numbers[nomor] = IssuedCertificate(
            number, nomor, group, sequence, nilai_praktik=claim.nilai_praktik
        )
        new.append(numbers[nomor])
    for nomor, held in active.items():
        if nomor not in claims:
            conflicts[nomor] = CertificateConflict(ConflictKind.WITHOUT_CLAIM, held)
    new.sort(key=lambda c: (c.group, c.sequence))
    return CertificatePlan(numbers, tuple(new), conflicts)
