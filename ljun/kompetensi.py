"""The list of competencies (*kompetensi keahlian*) and their 4-digit codes.

The list is data, not code: ``ljun/data/kompetensi_keahlian.csv`` transcribes
Lampiran 2 of the exam guide (Tahun Pelajaran 2011/2012); its sibling
``kompetensi_keahlian.SOURCE.md`` names the source and explains the three
competencies the guide lists without a code (kept with an empty ``kode``,
never given an invented one).  Another year's list is another CSV with the
same columns (``kode,kompetensi_keahlian,program_studi_keahlian``), passed as
``path``.

>>> competency_name("6018")
'Akuntansi'
>>> "6018" in competency_codes(), "0000" in competency_codes()
(True, False)
"""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import LjunError

__all__ = [
    "Competency",
    "CompetencyListError",
    "COMPETENCY_COLUMNS",
    "KODE_DIGITS",
    "load_competencies",
    "uncoded_competencies",
    "competency_codes",
    "competency_name",
    "parse_competency_csv",
]

#: Columns of a competency list CSV, in order.
COMPETENCY_COLUMNS: tuple[str, ...] = ("kode", "kompetensi_keahlian", "program_studi_keahlian")

#: Digits of a competency code (LJUN grid, certificate number ``A.xxxx``).
KODE_DIGITS = 4

_KODE = re.compile(rf"[0-9]{{{KODE_DIGITS}}}")

# The bundled list, inside the ljun package.
_BUNDLED = "data/kompetensi_keahlian.csv"


class CompetencyListError(LjunError, ValueError):
    """A competency list CSV is malformed (bad header, code or duplicate)."""


@dataclass(frozen=True)
class Competency:
    """One competency of the list.

    Attributes
    ----------
    kode : str
        4-digit code, e.g. ``"6018"``; ``""`` for the few the guide lists
        without a code (only :func:`uncoded_competencies` returns those).
    nama : str
        Competency name, e.g. ``"Akuntansi"``.
    program : str
        Study programme (*program studi keahlian*), e.g. ``"Keuangan"``.
    """

    kode: str
    nama: str
    program: str


def load_competencies(path: str | Path | None = None) -> tuple[Competency, ...]:
    """The competencies that have a code, in the order of the list.

    Each file is read once per process (cached), like the other look-ups here.

    Parameters
    ----------
    path : str or Path, optional
        A competency list CSV; default the bundled Lampiran 2 list (2011/2012).

    Raises
    ------
    CompetencyListError
        When the file is malformed; the message names the file and line.
    """
    return tuple(c for c in _load_all(_source(path)) if c.kode)


def uncoded_competencies(path: str | Path | None = None) -> tuple[Competency, ...]:
    """The competencies the list names without a code (``kode == ""``)."""
    return tuple(c for c in _load_all(_source(path)) if not c.kode)


def competency_codes(path: str | Path | None = None) -> frozenset[str]:
    """Every valid competency code of the list."""
    return _codes(_source(path))


def competency_name(kode: str, path: str | Path | None = None) -> str | None:
    """The name of the competency with code ``kode``, ``None`` if there is none."""
    return _names(_source(path)).get(kode)


def _source(path: str | Path | None) -> str | None:
    return None if path is None else str(Path(path).resolve())


@functools.lru_cache(maxsize=8)
def _codes(source: str | None) -> frozenset[str]:
    return frozenset(c.kode for c in _load_all(source) if c.kode)


@functools.lru_cache(maxsize=8)
def _names(source: str | None) -> dict[str, str]:
    return {c.kode: c.nama for c in _load_all(source) if c.kode}


@functools.lru_cache(maxsize=8)
def _load_all(source: str | None) -> tuple[Competency, ...]:
    if source is None:
        name = f"ljun/{_BUNDLED}"
        text = resources.files("ljun").joinpath(_BUNDLED).read_text("utf-8")
    else:
        name = source
        try:
            text = Path(source).read_text("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CompetencyListError(f"competency list {name}: cannot be read: {exc}") from None
    return parse_competency_csv(text, name=name)


def parse_competency_csv(text: str, *, name: str = "<competency list>") -> tuple[Competency, ...]:
    """Parse and check the text of a competency list CSV.

    Every row needs a competency and a programme name; ``kode`` is 4 digits
    or empty; codes are unique.

    Raises
    ------
    CompetencyListError
        At the first bad line, naming ``name`` and the line number.
    """
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != COMPETENCY_COLUMNS:
        raise CompetencyListError(
            f"competency list {name} line 1: the header must be {','.join(COMPETENCY_COLUMNS)}"
        )
    competencies: list[Competency] = []
    first_line_of: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(COMPETENCY_COLUMNS):
            raise CompetencyListError(
                f"competency list {name} line {line}: {len(row)} columns, "
                f"expected {len(COMPETENCY_COLUMNS)}"
            )
        kode, nama, program = (cell.strip() for cell in row)
        if kode and not _KODE.fullmatch(kode):
            raise CompetencyListError(
                f"competency list {name} line {line}: kode {kode!r} is not "
                f"{KODE_DIGITS} digits (leave it empty when the list gives no code)"
            )
        if not nama or not program:
            raise CompetencyListError(
                f"competency list {name} line {line}: the competency and programme names "
                "must not be empty"
            )
        if kode in first_line_of:
            raise CompetencyListError(
                f"competency list {name} line {line}: kode {kode} is already used "
                f"on line {first_line_of[kode]}"
            )
        if kode:
            first_line_of[kode] = line
        competencies.append(Competency(kode=kode, nama=nama, program=program))
    return tuple(competencies)
