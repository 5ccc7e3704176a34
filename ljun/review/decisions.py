"""What a sheet in review asks of a person, and applying what the person decides.

:func:`review_items` turns a sheet's flags into the items an operator
decides one after the other: a question (``answer_unsure:12``), an identity
column (``unsure:nama:6``, ``multi_mark:nomor_peserta:3``), the paket
(``no_paket``), or a whole identity field typed in (``invalid:tanggal_lahir``,
``blank:nama``, ``duplicate_nomor_peserta``).  Flags about the whole sheet
(``registration_unsure``, ``not_on_attendance`` ...) are acknowledged when
the sheet is saved.

:func:`decide_sheet` applies the decisions in one transaction: the reading
(table ``readings``, the page's latest reading) gets the decided values and
loses the flags the person resolved; the sheet is **rescored with the same
scoring code** (:func:`ljun.score.score_sheet`, the store's current keys) and
a new ``scores`` row written (in a batch of kind ``review``), so ``ljun
export``, ``ljun rescore`` and ``ljun grade`` see the decided values; every
changed value goes to ``decisions`` and to the audit trail.  A save made on an
older version of the sheet than the stored one is refused (:class:`Conflict`):
two operators never overwrite each other silently.

Identity values are checked as the machine's are: 14 digits for the nomor
peserta (and its check digit where the calibration asks), a real date, a
code of the guide's Lampiran 2 list.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..calibration import load_calibration
from ..decode import (
    format_tanggal_lahir,
    valid_kode_kompetensi,
    valid_nomor_peserta,
    valid_tanggal_lahir,
)
from ..errors import LjunError
from ..keys import AnswerKeySet, parse_answer_key
from ..nomor import format_nomor_peserta
from ..records import SheetReading
from ..register import REFERENCE_DPI
from ..score import ScoredSheet, score_sheet, with_flags
from ..store import READING_SELECT, reading_from_row
from ..template import Template
from ..vocabulary import INFO_FLAGS, BatchKind, Flag, needs_review
from ._db import now, transaction
from .audit import append_audit

__all__ = [
    "BLANK_KEYS",
    "MULTIPLE",
    "DecisionError",
    "Conflict",
    "SheetState",
    "ReviewItem",
    "load_sheet",
    "review_items",
    "current_keys",
    "settle",
    "acknowledged_flags",
    "decide_sheet",
    "reject_sheet",
    "enter_by_hand",
    "HAND_FIELDS",
    "HAND_BLANK",
    "reopen_sheet",
    "DecidedSheets",
]

#: A question decided as more than one mark (scores 0), as in result records.
MULTIPLE = "*"

#: What an operator types for "no mark": ``0`` is a digit in identity grids,
#: so there only the space means blank.
BLANK_KEYS = (" ",)

# Flag words that ask for an identity field to be typed in whole.
_TEXT_FLAGS = {"invalid", "blank"}
# Reconciliation flags about the nomor peserta: the person checks it whole.
_NOMOR_FLAGS = {"duplicate_nomor_peserta", "not_on_attendance", "marked_absent"}
# Flags about the paket: the person decides the paket bubble.
_PAKET_FLAGS = {"no_paket", "barcode_paket_mismatch", "paket_from_barcode"}
# A sheet an operator rejected (not an LJUN): final, no review.
REJECTED = Flag.REJECTED
# A sheet a supervisor sent back to review.
REOPENED = Flag.REOPENED

# Identity fields whose whole value is checked after a decision.
_CHECKED_FIELDS = ("nomor_peserta", "tanggal_lahir", "kode_kompetensi")


class DecisionError(LjunError, ValueError):
    """A decision that cannot be stored; ``message_id`` names it in the catalogue."""

    def __init__(self, message: str, *, message_id: str, field_name: str = "") -> None:
        super().__init__(message)
        self.message_id = message_id
        self.field_name = field_name


class Conflict(LjunError, RuntimeError):
    """The sheet changed since the operator opened it (another operator saved it)."""


@dataclass(frozen=True, eq=False)
class SheetState:
    """A sheet as the review page sees it: its latest reading, score row and review state."""

    page_id: int
    page_hash: str
    batch_id: int
    reading: SheetReading
    batch_flags: tuple[str, ...]
    flags: tuple[str, ...]
    review: bool
    status: str
    version: int
    acknowledged: tuple[str, ...]
    decided: tuple[tuple[str, int], ...] = field(default=())

    @property
    def sheet(self) -> str:
        """``source page N``: how people name the sheet."""
        return f"{self.reading.source} page {self.reading.page}"


@dataclass(frozen=True)
class ReviewItem:
    """One thing an operator decides.

    ``kind`` is ``option`` (one bubble of ``options``, or blank, or ``*`` for
    a question) or ``text`` (the whole field typed in).  ``item`` is the
    question number or 1-based column; 0 for a whole field.  ``bubbles`` are
    geometry indices (``(options,)`` for an option item, every bubble of the
    field for a text item), ``value`` the current reading, ``flags`` what the
    item resolves.
    """

    key: str
    field: str
    item: int
    kind: str
    options: tuple[str, ...]
    value: str
    flags: tuple[str, ...]
    bubbles: tuple[int, ...]


def load_sheet(db: sqlite3.Connection, page_id: int) -> SheetState | None:
    """The sheet ``page_id`` with its latest reading and score, or ``None``."""
    row = db.execute(
        f"SELECT p.id, p.page_hash, p.batch_id, {READING_SELECT}, r.batch_flags, s.flags, s.review, "
        "rs.status, rs.version, rs.acknowledged FROM pages p "
        "JOIN readings r ON r.page_id = p.id "
        "JOIN scores s ON s.id = (SELECT max(id) FROM scores WHERE page_id = p.id) "
        "LEFT JOIN review_state rs ON rs.page_id = p.id WHERE p.id = ?",
        (page_id,),
    ).fetchone()
    if row is None:
        return None
    decided = db.execute(
        "SELECT DISTINCT field, item FROM decisions WHERE page_id = ? ORDER BY id", (page_id,)
    ).fetchall()
    return SheetState(
        page_id=row[0],
        page_hash=row[1],
        batch_id=row[2],
        reading=reading_from_row(row[3:18]),
        batch_flags=tuple(json.loads(row[18])),
        flags=tuple(json.loads(row[19])),
        review=bool(row[20]),
        status=row[21] or ("open" if row[20] else "resolved"),
        version=int(row[22] or 0),
        acknowledged=tuple(json.loads(row[23] or "[]")),
        decided=tuple((str(f), int(i)) for f, i in decided),
    )


# --------------------------------------------------------------------------- items


def _columns(reading: SheetReading, name: str, count: int) -> list[str]:
    """The characters of identity field ``name``, one per bubble column."""
    value = getattr(reading, name)
    if name in ("nomor_peserta", "tanggal_lahir"):
        value = value.replace("-", "")
    if name == "paket":
        value = value or " "
    return list(value.ljust(count)[:count])


def _field_value(name: str, chars: Sequence[str]) -> str:
    """The stored form of identity field ``name`` from its column characters."""
    text = "".join(chars)
    if name == "nomor_peserta":
        return format_nomor_peserta(text) if len(text) == 14 else text
    if name == "tanggal_lahir":
        return format_tanggal_lahir(text)
    if name == "paket":
        return text.strip()
    if name == "nama":
        return text.rstrip(" ")
    return text


def _item_of(flag: str) -> tuple[str, int] | None:
    """The item (field, column; 0 for the whole field) a flag asks about; None: the sheet."""
    parts = flag.split(":")
    word = parts[0]
    if word == "answer_unsure" and len(parts) == 2 and parts[1].isdigit():
        return ("answers", int(parts[1]))
    if word in ("unsure", "multi_mark") and len(parts) == 3 and parts[2].isdigit():
        return (parts[1], int(parts[2]))
    if word in _TEXT_FLAGS and len(parts) == 2 and parts[1] != "barcode":
        return (parts[1], 0)
    if word in _NOMOR_FLAGS:
        return ("nomor_peserta", 0)
    if word in _PAKET_FLAGS:
        return ("paket", 1)
    return None


def review_items(state: SheetState, template: Template) -> tuple[list[ReviewItem], list[str]]:
    """The items of a sheet to decide, in sheet order, and the sheet-wide flags.

    Flags the person resolved before are not asked again unless a
    supervisor reopened the sheet; then the items decided before are asked
    again too.
    """
    geometry = template.geometry(REFERENCE_DPI)
    reading = state.reading
    item_flags: dict[tuple[str, int], list[str]] = {}
    sheet_flags: list[str] = []
    every = list(state.flags) + [f for f in reading.flags if f not in state.flags]
    for flag in every:
        if flag.split(":")[0] in INFO_FLAGS:
            continue
        if flag in state.acknowledged and REOPENED not in state.flags:
            continue
        key = None if reading.failure is not None else _item_of(flag)
        if key is None:
            sheet_flags.append(flag)
        else:
            item_flags.setdefault(key, []).append(flag)
    if REOPENED in state.flags and reading.failure is None:
        for key in state.decided:
            item_flags.setdefault(key, [])
    # A field typed in whole covers its columns.
    whole = {name for name, item in item_flags if item == 0}
    for name, item in list(item_flags):
        if item and name in whole:
            item_flags[(name, 0)] += item_flags.pop((name, item))
    items = []
    for name in geometry.field_names:
        if not template.has_field(name):
            continue
        grid = geometry.grid(name)
        spec = template.field(name)
        keys = sorted(item for f, item in item_flags if f == name)
        for item in keys:
            flags = tuple(item_flags[(name, item)])
            if item == 0:
                value = _field_value(name, _columns(reading, name, grid.shape[0]))
                bubbles = tuple(int(i) for i in grid.ravel())
                items.append(
                    ReviewItem(f"{name}:0", name, 0, "text", spec.options, value, flags, bubbles)
                )
                continue
            if not 1 <= item <= grid.shape[0]:
                sheet_flags.extend(flags)
                continue
            if name == "answers":
                answers = reading.answers
                value = answers[item - 1] if item <= len(answers) else ""
            else:
                value = _columns(reading, name, grid.shape[0])[item - 1]
            items.append(
                ReviewItem(
                    f"{name}:{item}",
                    name,
                    item,
                    "option",
                    spec.options,
                    value,
                    flags,
                    tuple(int(i) for i in grid[item - 1]),
                )
            )
    return items, sheet_flags


# --------------------------------------------------------------------------- values


def _check_option(item: ReviewItem, value: str, letters: bool) -> str:
    allowed = set(item.options)
    if item.field == "answers":
        allowed |= {"", MULTIPLE}
    elif letters:
        allowed |= set(BLANK_KEYS)
    if value not in allowed:
        raise DecisionError(
            f"{item.key}: {value!r} is not one of {', '.join(sorted(allowed))}",
            message_id="error_option",
            field_name=item.key,
        )
    return value


def _clean_text(item: ReviewItem, value: str) -> str:
    """An identity field as typed, in the stored form; raises for what the machine would flag."""
    text = value.strip().upper()
    name = item.field
    if name == "nomor_peserta":
        digits = text.replace("-", "").replace(" ", "")
        check = _nomor_check()
        if not valid_nomor_peserta(digits, check):
            raise DecisionError(
                f"nomor peserta {value!r}: 14 digits are needed"
                + (" with a valid check digit" if check != "none" else ""),
                message_id="error_nomor",
                field_name=item.key,
            )
        return format_nomor_peserta(digits)
    if name == "tanggal_lahir":
        digits = text.replace("-", "").replace("/", "").replace(" ", "")
        formatted = format_tanggal_lahir(digits)
        if not digits.isdigit() or not valid_tanggal_lahir(formatted):
            raise DecisionError(
                f"tanggal lahir {value!r}: a real date DDMMYY is needed",
                message_id="error_tanggal",
                field_name=item.key,
            )
        return formatted
    if name == "kode_kompetensi":
        if not valid_kode_kompetensi(text):
            raise DecisionError(
                f"kode kompetensi {value!r}: not a code of the Lampiran 2 list",
                message_id="error_kode",
                field_name=item.key,
            )
        return text
    if name == "nama":
        if not text or len(text) > 20 or any(c != " " and c not in item.options for c in text):
            raise DecisionError(
                f"nama {value!r}: 1-20 letters A-Z and spaces",
                message_id="error_nama",
                field_name=item.key,
            )
        return " ".join(text.split())
    if text not in item.options:
        raise DecisionError(
            f"{name} {value!r}: one of {', '.join(item.options)}",
            message_id="error_option",
            field_name=item.key,
        )
    return text


@functools.lru_cache(maxsize=1)
def _nomor_check() -> str:
    return load_calibration().decode.nomor_peserta_check


def _valid_field(name: str, value: str) -> bool:
    if name == "nomor_peserta":
        return valid_nomor_peserta(value, _nomor_check())
    if name == "tanggal_lahir":
        return valid_tanggal_lahir(value)
    return valid_kode_kompetensi(value)


# --------------------------------------------------------------------------- scoring


def current_keys(db: sqlite3.Connection) -> AnswerKeySet:
    """The keys now in force: per paket and kode kompetensi, the one a batch used last."""
    rows = db.execute(
        "SELECT k.document, k.first_source FROM batch_keys b "
        "JOIN answer_keys k ON k.hash = b.key_hash ORDER BY b.batch_id, b.rowid"
    ).fetchall()
    latest = {}
    for document, source in rows:
        key = parse_answer_key(json.loads(document), source=source)
        latest[key.selector] = key
    return AnswerKeySet.from_keys(latest.values())


def settle(scored: ScoredSheet, acknowledged: Iterable[str]) -> ScoredSheet:
    """``scored`` without the flags a person resolved, review recomputed.

    Scoring may raise again a flag a person already looked at (the barcode's
    paket differs from the paket the person confirmed); a rejected sheet
    needs no more review.
    """
    done = set(acknowledged)
    if not done:
        return scored
    flags = tuple(f for f in scored.flags if f not in done)
    open_flags = [f for f in flags if f != REJECTED]
    review = needs_review(open_flags) if REJECTED in flags or scored.score is not None else True
    return replace(scored, flags=flags, review=review)


def acknowledged_flags(db: sqlite3.Connection) -> dict[int, tuple[str, ...]]:
    """Per page id, the flags people resolved (for ``ljun rescore``)."""
    rows = db.execute("SELECT page_id, acknowledged FROM review_state").fetchall()
    return {int(page_id): tuple(json.loads(done)) for page_id, done in rows}


# --------------------------------------------------------------------------- storing


def _check_version(db: sqlite3.Connection, page_id: int, version: int) -> int:
    row = db.execute("SELECT version FROM review_state WHERE page_id = ?", (page_id,)).fetchone()
    stored = int(row[0]) if row else 0
    if stored != version:
        raise Conflict(
            f"sheet {page_id} was changed by someone else since it was opened "
            f"(version {stored}, opened at {version}); open it again"
        )
    return stored


def sheet_to_change(db: sqlite3.Connection, page_id: int, version: int) -> SheetState:
    """The sheet ``page_id`` as it is now, inside the caller's write transaction.

    Raises
    ------
    DecisionError
        When there is no such sheet.
    Conflict
        When someone saved the sheet since ``version`` was opened.
    """
    state = load_sheet(db, page_id)
    if state is None:
        raise DecisionError(f"no sheet {page_id}", message_id="error_no_sheet")
    _check_version(db, page_id, version)
    return state


def _store_score(
    db: sqlite3.Connection, state: SheetState, scored: ScoredSheet, operator: str
) -> int:
    stamp = now()
    cursor = db.execute(
        "INSERT INTO batches (kind, status, started_at, finished_at, template, arguments, summary) "
        f"VALUES ('{BatchKind.REVIEW}', 'complete', ?, ?, ?, ?, '{{}}')",
        (
            stamp,
            stamp,
            state.reading.template,
            json.dumps({"operator": operator, "page_id": state.page_id}),
        ),
    )
    batch_id = int(cursor.lastrowid or 0)
    if scored.key is not None:
        db.execute(
            "INSERT OR IGNORE INTO batch_keys (batch_id, key_hash, source) VALUES (?, ?, ?)",
            (batch_id, scored.key.content_hash, scored.key.source),
        )
    db.execute(
        "INSERT INTO scores (page_id, batch_id, key_hash, correct, score, flags, review) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            state.page_id,
            batch_id,
            scored.key.content_hash if scored.key is not None else None,
            scored.correct,
            None if scored.score is None else format(scored.score, "f"),
            json.dumps(list(scored.flags), ensure_ascii=False),
            int(scored.review),
        ),
    )
    return batch_id


def _store_reading(
    db: sqlite3.Connection, page_id: int, reading: SheetReading, batch_flags: Sequence[str]
) -> None:
    db.execute(
        "UPDATE readings SET nomor_peserta = ?, nama = ?, tanggal_lahir = ?, "
        "kode_kompetensi = ?, paket = ?, answers = ?, flags = ?, review = ?, batch_flags = ? "
        "WHERE page_id = ?",
        (
            reading.nomor_peserta,
            reading.nama,
            reading.tanggal_lahir,
            reading.kode_kompetensi,
            reading.paket,
            json.dumps(list(reading.answers), ensure_ascii=False),
            json.dumps(list(reading.flags), ensure_ascii=False),
            int(reading.review),
            json.dumps(list(batch_flags), ensure_ascii=False),
            page_id,
        ),
    )


def _store_state(
    db: sqlite3.Connection,
    state: SheetState,
    status: str,
    acknowledged: Sequence[str],
    operator: str,
) -> int:
    version = state.version + 1
    db.execute(
        "INSERT INTO review_state (page_id, status, version, acknowledged, updated_by, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (page_id) DO UPDATE SET "
        "status = excluded.status, version = excluded.version, "
        "acknowledged = excluded.acknowledged, updated_by = excluded.updated_by, "
        "updated_at = excluded.updated_at",
        (state.page_id, status, version, json.dumps(sorted(set(acknowledged))), operator, now()),
    )
    return version


@dataclass(frozen=True)
class Outcome:
    """What a save did: the sheet's new version and status, and the values changed."""

    version: int
    status: str
    changes: tuple[tuple[str, str, str], ...]


# Identity fields a person may type whole instead of deciding column by column.
_RETYPABLE = ("nomor_peserta", "nama", "tanggal_lahir", "kode_kompetensi")


def _typed_whole(
    decisions: Mapping[str, str],
    items: Sequence[ReviewItem],
    template: Template,
    columns: Mapping[str, Sequence[str]],
) -> list[ReviewItem]:
    """Items for identity fields typed whole (``nama:0``) that the sheet did not ask whole.

    The page lets a person retype a field when a column the machine was sure
    of is wrong too; the field's column items are then covered by it.
    """
    asked = {item.key for item in items}
    extra = []
    for name in _RETYPABLE:
        key = f"{name}:0"
        if key in decisions and key not in asked and template.has_field(name):
            spec = template.field(name)
            current = _field_value(name, columns[name])
            extra.append(ReviewItem(key, name, 0, "text", spec.options, current, (), ()))
    return extra


def decide_sheet(
    db: sqlite3.Connection,
    page_id: int,
    *,
    version: int,
    decisions: Mapping[str, str],
    operator: str,
    template: Template,
    reason: str = "",
) -> Outcome:
    """Apply an operator's decisions on every item of a sheet, rescore it, audit it.

    Parameters
    ----------
    db : sqlite3.Connection
        The store, autocommit mode.
    page_id : int
        The sheet.
    version : int
        The sheet's version when the operator opened it.
    decisions : mapping of str to str
        :attr:`ReviewItem.key` to the decided value: a letter/digit, ``""``
        (answers) or ``" "`` (letters) for blank, ``"*"`` for a question with
        a real double mark, the whole field for a ``text`` item.  Every item
        of :func:`review_items` must be decided (keeping the machine's value
        is a decision).
    operator : str
        Who decides (recorded).
    template : Template
        The sheet's template.
    reason : str, optional
        Recorded with each change (default ``review``).

    Raises
    ------
    Conflict
        The sheet changed since ``version``.
    DecisionError
        An item is missing or a value is not allowed (the message names it).
    """
    with transaction(db):
        state = sheet_to_change(db, page_id, version)
        if state.reading.failure is not None:
            raise DecisionError(
                f"{state.sheet} could not be registered: enter it by hand or reject it",
                message_id="error_failed_sheet",
            )
        items, sheet_flags = review_items(state, template)
        reading = state.reading
        answers = list(reading.answers)
        geometry = template.geometry(REFERENCE_DPI)
        columns = {
            name: _columns(reading, name, geometry.grid(name).shape[0])
            for name in geometry.field_names
            if name != "answers"
        }
        texts: dict[str, str] = {}
        changes: list[tuple[str, str, str]] = []
        resolved = list(sheet_flags)
        typed_whole = _typed_whole(decisions, items, template, columns)
        items = items + typed_whole
        retyped = {item.field for item in typed_whole}
        for item in items:
            if item.key not in decisions and item.field in retyped:
                resolved += item.flags  # a column of a field typed whole
                continue
            if item.key not in decisions:
                raise DecisionError(
                    f"{item.key} is not decided", message_id="error_missing", field_name=item.key
                )
            value = decisions[item.key]
            if item.kind == "text":
                value = _clean_text(item, value)
                texts[item.field] = value
            elif item.field == "answers":
                value = _check_option(item, value, False)
                answers += [""] * (item.item - len(answers))
                answers[item.item - 1] = value
            else:
                letters = template.field(item.field).kind == "letters"
                value = _check_option(item, value, letters)
                columns[item.field][item.item - 1] = value
            resolved += item.flags
            if value != item.value:
                changes.append((item.key, item.value, value))
        fields = {name: _field_value(name, chars) for name, chars in columns.items()}
        fields.update(texts)
        for name in _CHECKED_FIELDS:
            touched = any(i.field == name for i in items)
            if touched and name in fields and not _valid_field(name, fields[name]):
                raise DecisionError(
                    f"{name} {fields[name]!r} is still not valid: decide its other columns "
                    "or type it whole",
                    message_id=f"error_{name.split('_')[0]}",
                    field_name=name,
                )
        flags = tuple(f for f in reading.flags if f not in resolved and f != REOPENED)
        new_reading = replace(
            reading,
            answers=tuple(answers),
            flags=flags,
            review=needs_review(flags),
            nomor_peserta=fields.get("nomor_peserta", reading.nomor_peserta),
            nama=fields.get("nama", reading.nama),
            tanggal_lahir=fields.get("tanggal_lahir", reading.tanggal_lahir),
            kode_kompetensi=fields.get("kode_kompetensi", reading.kode_kompetensi),
            paket=fields.get("paket", reading.paket),
        )
        batch_flags = tuple(f for f in state.batch_flags if f not in resolved)
        acknowledged = set(state.acknowledged) | set(resolved) | {REOPENED}
        scored = score_sheet(new_reading, current_keys(db))
        scored = settle(with_flags(scored, *batch_flags), acknowledged)
        _store_reading(db, page_id, new_reading, batch_flags)
        _store_score(db, state, scored, operator)
        status = "open" if scored.review else "resolved"
        new_version = _store_state(db, state, status, sorted(acknowledged), operator)
        stamp = now()
        why = reason or "review"
        for key, old, new in changes:
            name, item_text = key.split(":")
            db.execute(
                "INSERT INTO decisions (page_id, operator, at, field, item, old_value, new_value, "
                "reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (page_id, operator, stamp, name, int(item_text), old, new, why),
            )
            append_audit(
                db,
                operator=operator,
                action="decide",
                page_hash=state.page_hash,
                sheet=state.sheet,
                field=key,
                old=old,
                new=new,
                reason=why,
            )
        append_audit(
            db,
            operator=operator,
            action=status,
            page_hash=state.page_hash,
            sheet=state.sheet,
            field="flags",
            old=" ".join(sorted(set(resolved))),
            new=" ".join(scored.flags),
            reason=why,
        )
    return Outcome(new_version, status, tuple(changes))


#: What a person types for an unmarked question when entering a sheet by hand.
HAND_BLANK = "-"

#: The fields of a sheet entered by hand, in form order.
HAND_FIELDS = ("nomor_peserta", "nama", "tanggal_lahir", "kode_kompetensi", "paket", "answers")


def _hand_answers(text: str, template: Template) -> tuple[str, ...]:
    spec = template.field("answers")
    marks = text.strip().upper().replace(" ", "")
    allowed = set(spec.options) | {HAND_BLANK, MULTIPLE}
    if len(marks) != spec.n_items or any(mark not in allowed for mark in marks):
        raise DecisionError(
            f"answers {text!r}: {spec.n_items} marks, each one of "
            f"{''.join(spec.options)}, {HAND_BLANK} (blank) or {MULTIPLE} (double)",
            message_id="error_answers",
            field_name="answers",
        )
    return tuple("" if mark == HAND_BLANK else mark for mark in marks)


def enter_by_hand(
    db: sqlite3.Connection,
    page_id: int,
    *,
    version: int,
    values: Mapping[str, str],
    operator: str,
    template: Template,
    reason: str = "",
) -> Outcome:
    """Enter a page that could not be registered by hand, from the paper sheet.

    ``values`` holds every field of :data:`HAND_FIELDS`: the identity fields
    as typed (checked as the machine's readings are) and ``answers`` as one
    mark per question (``A``-``E``, ``-`` blank, ``*`` double).  The sheet is
    then scored like any other and leaves review; every value is audited.
    """
    with transaction(db):
        state = sheet_to_change(db, page_id, version)
        reading = state.reading
        if reading.failure is None:
            raise DecisionError(
                f"{state.sheet} was read: decide its flagged items", message_id="error_option"
            )
        typed: dict[str, str] = {}
        for name in HAND_FIELDS[:-1]:
            spec = template.field(name)
            item = ReviewItem(f"{name}:0", name, 0, "text", spec.options, "", (), ())
            typed[name] = _clean_text(item, values.get(name, ""))
        answers = _hand_answers(values.get("answers", ""), template)
        new_reading = replace(
            reading,
            answers=answers,
            flags=(),
            review=False,
            failure=None,
            **typed,  # type: ignore[arg-type]
        )
        acknowledged = set(state.acknowledged) | set(state.flags) | set(reading.flags)
        acknowledged |= {reading.failure, REOPENED}
        scored = score_sheet(new_reading, current_keys(db))
        scored = settle(with_flags(scored, *state.batch_flags), acknowledged)
        _store_reading(db, page_id, new_reading, state.batch_flags)
        db.execute("UPDATE readings SET failure = NULL WHERE page_id = ?", (page_id,))
        _store_score(db, state, scored, operator)
        status = "open" if scored.review else "resolved"
        new_version = _store_state(db, state, status, sorted(acknowledged), operator)
        why = reason or "entered by hand"
        stamp = now()
        for name in HAND_FIELDS:
            new = "".join(m or HAND_BLANK for m in answers) if name == "answers" else typed[name]
            db.execute(
                "INSERT INTO decisions (page_id, operator, at, field, item, old_value, new_value, "
                "reason) VALUES (?, ?, ?, ?, 0, '', ?, ?)",
                (page_id, operator, stamp, name, new, why),
            )
            append_audit(
                db,
                operator=operator,
                action="enter_by_hand",
                page_hash=state.page_hash,
                sheet=state.sheet,
                field=f"{name}:0",
                old="",
                new=new,
                reason=why,
            )
    return Outcome(new_version, status, ())


def reject_sheet(
    db: sqlite3.Connection, page_id: int, *, version: int, operator: str, reason: str
) -> Outcome:
    """Reject a page that is not an LJUN sheet (a cover page, a blank); audited with ``reason``."""
    if not reason.strip():
        raise DecisionError("a rejection needs a reason", message_id="error_reason")
    with transaction(db):
        state = sheet_to_change(db, page_id, version)
        reading = state.reading
        flags = tuple(f for f in reading.flags if f != REOPENED) + (REJECTED,)
        new_reading = replace(reading, flags=flags)
        acknowledged = set(state.acknowledged) | set(state.flags) | set(reading.flags)
        acknowledged |= set(state.batch_flags) | {REOPENED}
        scored = ScoredSheet(new_reading, None, None, None, (REJECTED,), False)
        _store_reading(db, page_id, new_reading, state.batch_flags)
        _store_score(db, state, scored, operator)
        new_version = _store_state(db, state, "rejected", sorted(acknowledged), operator)
        append_audit(
            db,
            operator=operator,
            action="reject",
            page_hash=state.page_hash,
            sheet=state.sheet,
            field="sheet",
            old=" ".join(state.flags),
            new=REJECTED,
            reason=reason.strip(),
        )
    return Outcome(new_version, "rejected", ())


def reopen_sheet(
    db: sqlite3.Connection, page_id: int, *, version: int, operator: str, reason: str
) -> Outcome:
    """Send a resolved sheet back to review (supervisors); audited with ``reason``."""
    if not reason.strip():
        raise DecisionError("reopening needs a reason", message_id="error_reason")
    with transaction(db):
        state = sheet_to_change(db, page_id, version)
        reading = state.reading
        flags = tuple(f for f in reading.flags if f != REJECTED) + (REOPENED,)
        new_reading = replace(reading, flags=flags, review=True)
        scored = score_sheet(new_reading, current_keys(db))
        scored = with_flags(scored, *state.batch_flags)
        _store_reading(db, page_id, new_reading, state.batch_flags)
        _store_score(db, state, scored, operator)
        new_version = _store_state(db, state, "open", [], operator)
        append_audit(
            db,
            operator=operator,
            action="reopen",
            page_hash=state.page_hash,
            sheet=state.sheet,
            field="sheet",
            old=state.status,
            new="open",
            reason=reason.strip(),
        )
    return Outcome(new_version, "open", ())


# --------------------------------------------------------------------------- rescans


@dataclass(frozen=True)
class _Decided:
    changes: tuple[tuple[str, int, str], ...]
    acknowledged: tuple[str, ...]
    status: str


class DecidedSheets:
    """People's decisions by page hash, to keep them when the same scan is read again.

    ``ljun score`` on files already scored reads their pages afresh; a page
    a person decided gets the decided values back (:meth:`reading`) and keeps
    the flags they resolved resolved (:meth:`settle`) before it is staged,
    so the batch's single commit stores the decided sheet.
    """

    def __init__(self, decided: Mapping[str, _Decided]) -> None:
        self._decided = dict(decided)

    @classmethod
    def load(cls, db: sqlite3.Connection) -> DecidedSheets:
        """Every sheet with a review state, with its changed values in the order made."""
        decided: dict[str, _Decided] = {}
        rows = db.execute(
            "SELECT p.page_hash, rs.page_id, rs.acknowledged, rs.status FROM review_state rs "
            "JOIN pages p ON p.id = rs.page_id"
        ).fetchall()
        for page_hash, page_id, acknowledged, status in rows:
            changes = db.execute(
                "SELECT field, item, new_value FROM decisions WHERE page_id = ? ORDER BY id",
                (page_id,),
            ).fetchall()
            decided[page_hash] = _Decided(
                tuple((str(f), int(i), str(v)) for f, i, v in changes),
                tuple(json.loads(acknowledged)),
                status,
            )
        return cls(decided)

    def __len__(self) -> int:
        return len(self._decided)

    def reading(self, page_hash: str, reading: SheetReading, template: Template) -> SheetReading:
        """``reading`` with the decided values of its sheet (unchanged if none)."""
        decided = self._decided.get(page_hash)
        if decided is None:
            return reading
        geometry = template.geometry(REFERENCE_DPI)
        answers = list(reading.answers)
        columns = {
            name: _columns(reading, name, geometry.grid(name).shape[0])
            for name in geometry.field_names
            if name != "answers"
        }
        whole: dict[str, str] = {}
        failure = reading.failure
        for name, item, value in decided.changes:
            if name == "answers" and item == 0:
                answers = ["" if mark == HAND_BLANK else mark for mark in value]
                failure = None
            elif name == "answers":
                answers += [""] * (item - len(answers))
                answers[item - 1] = value
            elif item == 0:
                whole[name] = value
            elif name in columns and item <= len(columns[name]):
                columns[name][item - 1] = value
                whole.pop(name, None)
        touched = {name for name, _, _ in decided.changes}
        fields = {
            name: _field_value(name, chars) for name, chars in columns.items() if name in touched
        }
        fields.update(whole)
        flags = tuple(f for f in reading.flags if f not in decided.acknowledged)
        if decided.status == "rejected":
            flags += (REJECTED,)
        return replace(
            reading,
            answers=tuple(answers),
            flags=flags,
            review=needs_review([f for f in flags if f != REJECTED]) and failure is None,
            failure=failure,
            nomor_peserta=fields.get("nomor_peserta", reading.nomor_peserta),
            nama=fields.get("nama", reading.nama),
            tanggal_lahir=fields.get("tanggal_lahir", reading.tanggal_lahir),
            kode_kompetensi=fields.get("kode_kompetensi", reading.kode_kompetensi),
            paket=fields.get("paket", reading.paket),
        )

    def settle(self, page_hash: str, scored: ScoredSheet) -> ScoredSheet:
        """:func:`settle` with the flags resolved on this sheet."""
        decided = self._decided.get(page_hash)
        if decided is None:
            return scored
        if decided.status == "rejected":
            return replace(scored, flags=(REJECTED,), review=False, correct=None, score=None)
        return settle(scored, decided.acknowledged)
