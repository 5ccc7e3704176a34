"""Grading inputs: theory result records, practical-score and report-card CSV files."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import ScoresFileError
from ..kompetensi import KODE_DIGITS
from ..nomor import (
    parse_nomor_peserta,
)
from ..numbers import ScoreFormatError, parse_score
from ._formulas import ReportCard
from ._rules import GradingRules, rules_or_default

#: Semesters a report card may list: 4-year SMK programmes have 8.  Which of
#: them count for Nilai Rapor is the rule set's (``rapor.semester``, default 1-5).
MAX_SEMESTER = 8

#: Values of the rapor CSV ``semester`` column that mean the school exam.
UJIAN_SEKOLAH_LABELS = frozenset({"us", "ujian_sekolah", "ujian sekolah"})

#: Columns of the practical-scores CSV.
PRAKTIK_COLUMNS: tuple[str, ...] = ("nomor_peserta", "nama", "kode_kompetensi", "nilai_praktik")

#: Columns of the report-card CSV (long format, one SK score per row).
RAPOR_COLUMNS: tuple[str, ...] = ("nomor_peserta", "semester", "sk", "nilai")

# Bad lines quoted in full in one error message; the rest are counted.
_LINES_SHOWN = 5

_KODE = re.compile(rf"[0-9]{{{KODE_DIGITS}}}")


@dataclass(frozen=True)
class PracticalScore:
    """One row of the practical-scores file.

    ``nomor_peserta`` is normalised to 14 digits; ``line`` is the line in the
    file (0 when not from a file).
    """

    nomor_peserta: str
    nama: str
    kode_kompetensi: str
    nilai_praktik: Decimal
    line: int = 0


@dataclass(frozen=True)
class TheorySheet:
    """What grading needs of one theory result record (ARCHITECTURE.md §3).

    ``nomor_peserta`` is normalised to 14 digits when it reads as a nomor
    peserta, else kept as read (with ``?``) and ``valid_nomor`` is false.
    ``nilai_teori`` is ``None`` when the sheet has no score.
    """

    nomor_peserta: str
    valid_nomor: bool
    nama: str
    kode_kompetensi: str
    paket: str
    nilai_teori: Decimal | None
    review: bool
    flags: tuple[str, ...]
    source: str
    page: int | None

    @property
    def where(self) -> str:
        """``source p.N``, for messages."""
        return f"{self.source} p.{self.page}" if self.page is not None else self.source


_TRUE_TEXTS = frozenset({"true", "1", "yes"})
_FALSE_TEXTS = frozenset({"false", "0", "no"})


def theory_sheet(record: Mapping[str, Any], rules: GradingRules | None = None) -> TheorySheet:
    """Check one result record and keep what grading needs.

    ``record`` has the keys of ARCHITECTURE.md §3; ``nomor_peserta``,
    ``kode_kompetensi``, ``score`` and ``review`` are required.  ``score`` may
    be a Decimal, number or text (``"7.50"``, ``"7,50"``), or ``None`` / ``""``
    for a sheet that was not scored; ``review`` a bool or ``true``/``false``;
    ``flags`` a list or its JSON text.

    Raises
    ------
    ScoresFileError
        When the record breaks the contract (missing key, score off the
        scale or with more than 2 decimals, review not a truth value); the
        message names the key.
    """
    r = rules_or_default(rules)
    for key in ("nomor_peserta", "kode_kompetensi", "score", "review"):
        if key not in record:
            raise ScoresFileError(f"the result record has no {key!r}")
    nomor_text = str(record["nomor_peserta"] or "")
    try:
        nomor, valid = parse_nomor_peserta(nomor_text).digits, True
    except ScoresFileError:
        nomor, valid = nomor_text.strip(), False
    page = record.get("page")
    try:
        page = None if page in (None, "") else int(page)
    except (TypeError, ValueError):
        raise ScoresFileError(f"page {page!r} is not a page number") from None
    return TheorySheet(
        nomor_peserta=nomor,
        valid_nomor=valid,
        nama=str(record.get("nama") or "").strip(),
        kode_kompetensi=str(record["kode_kompetensi"] or "").strip(),
        paket=str(record.get("paket") or "").strip(),
        nilai_teori=_record_score(record["score"], r),
        review=_truth(record["review"], "review"),
        flags=_flags(record.get("flags")),
        source=str(record.get("source") or ""),
        page=page,
    )


def _record_score(value: Any, rules: GradingRules) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            return parse_score(
                value, places=rules.decimals, minimum=rules.score_min, maximum=rules.score_max
            )
        except ScoreFormatError as exc:
            raise ScoresFileError(f"score: {exc}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ScoresFileError(f"score {value!r} is not a number")
    # A float is taken as the decimal it prints as (7.5, not 7.4999…).
    exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not exact.is_finite():
        raise ScoresFileError(f"score {value!r} is not a finite number")
    if exact != rules.round(exact):
        raise ScoresFileError(f"score {value!r} has more than {rules.decimals} decimals")
    if not rules.score_min <= exact <= rules.score_max:
        raise ScoresFileError(
            f"score {value!r} is off the scale {rules.score_min} to {rules.score_max}"
        )
    return exact


def _truth(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE_TEXTS | _FALSE_TEXTS:
        return value.strip().lower() in _TRUE_TEXTS
    raise ScoresFileError(f"{key} {value!r} is not true or false")


def _flags(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            raise ScoresFileError("flags is not a JSON list of words") from None
    if not isinstance(value, (list, tuple)):
        raise ScoresFileError(f"flags {value!r} is not a list")
    return tuple(str(flag) for flag in value)


# =========================================================================== input files


def _read_text(path: str | Path, what: str) -> str:
    try:
        # utf-8-sig: spreadsheet programs often start a CSV with a byte-order mark.
        return Path(path).read_text("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScoresFileError(
            f"{what} {path}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "save it as CSV UTF-8"
        ) from None
    except OSError as exc:
        raise ScoresFileError(f"{what} {path}: cannot be read: {exc.strerror or exc}") from None


def _csv_rows(text: str, columns: Sequence[str], name: str) -> Iterable[tuple[int, dict[str, str]]]:
    """Yield (line, row) of a CSV that has at least the given columns.

    ``row`` maps every header name to its stripped cell; a row with the wrong
    number of fields is yielded as ``{"": problem}``.

    The delimiter is ``,`` or, when the header has ``;`` and no ``,`` (the
    Indonesian spreadsheet default), ``;``.
    """
    header_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in header_line and "," not in header_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [cell.strip().lower() for cell in next(reader)]
    except StopIteration:
        raise ScoresFileError(
            f"{name}: the file is empty; it needs the header {','.join(columns)}"
        ) from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise ScoresFileError(
            f"{name} line 1: missing column(s) {', '.join(missing)}; the header must name "
            f"{','.join(columns)}"
        )
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                # The usual cause: an unquoted decimal comma splitting a score in two.
                hint = (
                    ' (quote a score with a decimal comma: "7,50")'
                    if len(row) > len(header) and delimiter == ","
                    else ""
                )
                yield (
                    reader.line_num,
                    {"": f"{len(row)} fields, the header has {len(header)}{hint}"},
                )
                continue
            yield reader.line_num, {h: cell.strip() for h, cell in zip(header, row)}
    except csv.Error as exc:
        raise ScoresFileError(f"{name} line {reader.line_num}: {exc}") from None


def _raise_bad_lines(name: str, bad: list[tuple[int, str]]) -> None:
    if not bad:
        return
    shown = "; ".join(f"line {line}: {message}" for line, message in bad[:_LINES_SHOWN])
    more = f"; and {len(bad) - _LINES_SHOWN} more bad line(s)" if len(bad) > _LINES_SHOWN else ""
    raise ScoresFileError(f"{name}: {len(bad)} bad line(s), nothing imported: {shown}{more}")


def _score_cell(text: str, column: str, rules: GradingRules) -> Decimal:
    try:
        return parse_score(
            text, places=rules.decimals, minimum=rules.score_min, maximum=rules.score_max
        )
    except ScoreFormatError as exc:
        raise ScoresFileError(f"{column}: {exc}") from None


def parse_praktik_csv(
    text: str, *, name: str = "<praktik>", rules: GradingRules | None = None
) -> tuple[PracticalScore, ...]:
    """Read a practical-scores CSV, all or nothing.

    Columns ``nomor_peserta,nama,kode_kompetensi,nilai_praktik`` (any order,
    extra columns ignored, ``;`` accepted as separator).  ``nomor_peserta`` is
    14 digits with or without the hyphens ``X-XX-XX-XX-XXX-XXX-X``;
    ``kode_kompetensi`` 4 digits; ``nilai_praktik`` 0–10 with at most
    2 decimals, ``7,50`` or ``7.50`` (quote a comma value when ``,`` separates
    the columns).  A nomor peserta may appear once.

    Raises
    ------
    ScoresFileError
        Naming ``name`` and every bad line (the first few in full); nothing is
        returned when any line is bad.
    """
    r = rules_or_default(rules)
    scores: list[PracticalScore] = []
    bad: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}
    for line, row in _csv_rows(text, PRAKTIK_COLUMNS, name):
        if "" in row:
            bad.append((line, row[""]))
            continue
        try:
            nomor = parse_nomor_peserta(row["nomor_peserta"]).digits
            if not row["nama"]:
                raise ScoresFileError("nama is empty")
            if not _KODE.fullmatch(row["kode_kompetensi"]):
                raise ScoresFileError(
                    f"kode_kompetensi {row['kode_kompetensi']!r} is not {KODE_DIGITS} digits"
                )
            nilai = _score_cell(row["nilai_praktik"], "nilai_praktik", r)
            if nomor in first_line:
                raise ScoresFileError(
                    f"nomor peserta {nomor} already appears on line {first_line[nomor]}"
                )
        except ScoresFileError as exc:
            bad.append((line, str(exc)))
            continue
        first_line[nomor] = line
        scores.append(PracticalScore(nomor, row["nama"], row["kode_kompetensi"], nilai, line))
    _raise_bad_lines(name, bad)
    return tuple(scores)


def read_praktik_csv(
    path: str | Path, rules: GradingRules | None = None
) -> tuple[PracticalScore, ...]:
    """Read a practical-scores CSV file; see :func:`parse_praktik_csv`."""
    return parse_praktik_csv(_read_text(path, "practical scores"), name=str(path), rules=rules)


def parse_rapor_csv(
    text: str, *, name: str = "<rapor>", rules: GradingRules | None = None
) -> tuple[ReportCard, ...]:
    """Read a report-card CSV (long format), all or nothing.

    One row per SK score: ``nomor_peserta,semester,sk,nilai``.  ``semester``
    is the semester number 1–8 (which of them count for Nilai Rapor is the
    rule set's; the others are kept and reported by :func:`grade`), or
    ``US`` (also ``ujian_sekolah``) for a score of the school exam; ``sk``
    names the standard competency (any text, unique per participant and
    semester); ``nilai`` 0–10 as in the practical file.
    Every participant needs at least one semester row and one ``US`` row.

    Raises
    ------
    ScoresFileError
        Naming ``name`` and every bad line; nothing is returned when any line
        is bad.
    """
    r = rules_or_default(rules)
    bad: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}
    semesters: dict[str, dict[int, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    school_exam: dict[str, list[Decimal]] = defaultdict(list)
    seen: dict[tuple[str, str, str], int] = {}
    lines: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for line, row in _csv_rows(text, RAPOR_COLUMNS, name):
        if "" in row:
            bad.append((line, row[""]))
            continue
        try:
            nomor = parse_nomor_peserta(row["nomor_peserta"]).digits
            semester = _semester(row["semester"])
            if not row["sk"]:
                raise ScoresFileError("sk is empty; name the standard competency")
            nilai = _score_cell(row["nilai"], "nilai", r)
            key = (nomor, str(semester), row["sk"].casefold())
            if key in seen:
                raise ScoresFileError(
                    f"SK {row['sk']!r} of semester {row['semester']} already appears on "
                    f"line {seen[key]}"
                )
        except ScoresFileError as exc:
            bad.append((line, str(exc)))
            continue
        seen[key] = line
        first_line.setdefault(nomor, line)
        if semester is None:
            school_exam[nomor].append(nilai)
        else:
            semesters[nomor][semester].append(nilai)
            lines[nomor][semester].append(line)
    for nomor, line in first_line.items():
        if nomor not in semesters:
            bad.append((line, f"nomor peserta {nomor} has no semester scores"))
        if nomor not in school_exam:
            bad.append((line, f"nomor peserta {nomor} has no ujian sekolah (US) scores"))
    bad.sort()
    _raise_bad_lines(name, bad)
    return tuple(
        ReportCard(
            nomor,
            tuple((s, tuple(scores)) for s, scores in sorted(semesters[nomor].items())),
            tuple(school_exam[nomor]),
            line,
            tuple((s, tuple(at)) for s, at in sorted(lines[nomor].items())),
        )
        for nomor, line in first_line.items()
    )


def _semester(text: str) -> int | None:
    """Semester number, or ``None`` for the school exam."""
    if text.strip().lower() in UJIAN_SEKOLAH_LABELS:
        return None
    if text.isdigit() and 1 <= int(text) <= MAX_SEMESTER:
        return int(text)
    raise ScoresFileError(
        f"semester {text!r} is not a semester 1–{MAX_SEMESTER} or US (ujian sekolah)"
    )


def read_rapor_csv(path: str | Path, rules: GradingRules | None = None) -> tuple[ReportCard, ...]:
    """Read a report-card CSV file; see :func:`parse_rapor_csv`."""
    return parse_rapor_csv(_read_text(path, "report cards"), name=str(path), rules=rules)


def read_theory_file(
    path: str | Path, rules: GradingRules | None = None
) -> tuple[TheorySheet, ...]:
    """Read theory result records as ``ljun score`` exports them, all or nothing.

    ``.jsonl``: one JSON object per line.  ``.csv``: the same keys as columns,
    ``answers``/``flags`` as JSON text, ``review`` as ``true``/``false``.

    Raises
    ------
    ScoresFileError
        Naming the file and line of every bad record (the first few in full).
    """
    r = rules_or_default(rules)
    name = str(path)
    suffix = Path(path).suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise ScoresFileError(
            f"theory results {name}: give a .jsonl or .csv file of result records"
        )
    text = _read_text(path, "theory results")
    records: Iterable[tuple[int, Any]]
    if suffix == ".jsonl":
        records = _jsonl_records(text)
    else:
        records = _csv_rows(text, ("nomor_peserta", "kode_kompetensi", "score", "review"), name)
    sheets: list[TheorySheet] = []
    bad: list[tuple[int, str]] = []
    for line, record in records:
        if isinstance(record, str):
            bad.append((line, record))
            continue
        if "" in record:
            bad.append((line, record[""]))
            continue
        try:
            sheets.append(theory_sheet(record, r))
        except ScoresFileError as exc:
            bad.append((line, str(exc)))
    _raise_bad_lines(f"theory results {name}", bad)
    return tuple(sheets)


def _jsonl_records(text: str) -> Iterable[tuple[int, Mapping[str, Any] | str]]:
    """(line, record) per non-blank line; a str instead of a record is the problem."""
    for line, content in enumerate(text.splitlines(), start=1):
        if not content.strip():
            continue
        try:
            record = json.loads(content, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            yield line, f"not valid JSON at column {exc.colno}: {exc.msg}"
            continue
        except RecursionError:
            yield line, "nested too deeply to be a result record"
            continue
        if not isinstance(record, dict):
            yield line, "not a JSON object"
            continue
        yield line, record
