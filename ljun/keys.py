"""Answer keys: one JSON file per paket (and optionally per kode kompetensi).

The minimal form always works (ARCHITECTURE.md §3)::

    {"paket": "A", "answers": ["B", "D", "A", ...]}

Optional fields make a key richer:

``kode_kompetensi``
    The key holds for sheets of that competency only (4 digits from
    Lampiran 2); a paket's key without it is the general key, used for every
    other competency.
``cancelled``
    Item numbers (1-based) dropped after the exam: every sheet gets the
    point, whatever it marked.
``items``
    The number of items, stated so a short or long ``answers`` list is
    caught; when given it must equal the length of ``answers``.
``title``, ``note``, ``format``
    Free text for people and the format tag ``ljun-answer-key/1``.

An answer may also be a list of letters (``["A", "C"]``) when a correction
accepts more than one.  ``"paket"`` is ``A``, ``B``, ``S`` or ``Susulan``
(read as ``S``).  Files are validated against
``ljun/data/answer_key.schema.json``; every problem is reported with the
file, the JSON path and the fix.

>>> key = parse_answer_key({"paket": "Susulan", "answers": ["A", "B"], "cancelled": [2]})
>>> key.paket, key.items, key.cancelled
('S', 2, frozenset({2}))
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._jsondoc import COMMON_FIXES, json_path, packaged_validator, read_json, schema_problems
from .errors import AnswerKeyError
from .kompetensi import competency_codes
from .vocabulary import PAKETS

if TYPE_CHECKING:
    import jsonschema

__all__ = [
    "PAKETS",
    "PAKET_NAMES",
    "KEY_FILE_NAMES",
    "AnswerKey",
    "AnswerKeySet",
    "normalise_paket",
    "parse_answer_key",
    "load_answer_key",
    "load_answer_keys",
]

# The paket codes a sheet and a key can carry (ljun.vocabulary.PAKETS) are
# re-exported here, where keys are chosen by paket.

#: Names of the pakets for people.
PAKET_NAMES: dict[str, str] = {"A": "Paket A", "B": "Paket B", "S": "Paket Susulan"}

#: Conventional key file name of each paket (ARCHITECTURE.md §3).
KEY_FILE_NAMES: dict[str, str] = {"A": "paketA.json", "B": "paketB.json", "S": "susulan.json"}

# Spellings of ``"paket"`` accepted in a key file, and the code each stands for.
_PAKET_SPELLINGS = {"A": "A", "B": "B", "S": "S", "Susulan": "S"}

_KEY_SCHEMA = "data/answer_key.schema.json"

# Key-specific advice where the common phrase would be vague.
_KEY_FIXES = {
    **COMMON_FIXES,
    "uniqueItems": "list each item number once",
    "pattern": 'write the 4-digit kode kompetensi of Lampiran 2, e.g. "6018"',
    "oneOf": "write one letter A-E, or a list of letters for an item with several accepted answers",
}


@dataclass(frozen=True)
class AnswerKey:
    """The validated key of one paket (and optionally one kode kompetensi).

    Attributes
    ----------
    paket : str
        ``"A"``, ``"B"`` or ``"S"``.
    answers : tuple of frozenset of str, length ``items``
        The accepted letters of each item, item 1 first (usually one letter).
    cancelled : frozenset of int
        1-based numbers of cancelled items; every sheet gets their point.
    kode_kompetensi : str or None
        The competency this key is for; ``None`` for the paket's general key.
    source : str
        The file the key came from (``"<answer key>"`` when built in memory).
    content_hash : str
        SHA-256 (hex) of the key's canonical JSON (:meth:`canonical_json`):
        the same key always has the same hash, whatever the file's layout.
    declared_items : bool
        Whether the file stated ``items``; only such a key may have fewer
        items than the sheet has answer rows (see :meth:`AnswerKeySet.check_items`).
    """

    paket: str
    answers: tuple[frozenset[str], ...]
    cancelled: frozenset[int] = frozenset()
    kode_kompetensi: str | None = None
    source: str = "<answer key>"
    content_hash: str = ""
    declared_items: bool = False

    @property
    def items(self) -> int:
        """The number of items of the exam."""
        return len(self.answers)

    @property
    def selector(self) -> tuple[str, str | None]:
        """``(paket, kode_kompetensi)``: what the key is chosen by."""
        return (self.paket, self.kode_kompetensi)

    def describe(self) -> str:
        """``Paket A`` or ``Paket A, kode 6018``, for messages and summaries."""
        name = PAKET_NAMES[self.paket]
        return name if self.kode_kompetensi is None else f"{name}, kode {self.kode_kompetensi}"

    def to_document(self) -> dict[str, Any]:
        """The key as a JSON document in the rich form (accepted back by :func:`parse_answer_key`)."""
        document: dict[str, Any] = {"format": "ljun-answer-key/1", "paket": self.paket}
        if self.kode_kompetensi is not None:
            document["kode_kompetensi"] = self.kode_kompetensi
        document["items"] = self.items
        document["answers"] = [
            next(iter(accepted)) if len(accepted) == 1 else sorted(accepted)
            for accepted in self.answers
        ]
        if self.cancelled:
            document["cancelled"] = sorted(self.cancelled)
        return document

    def canonical_json(self) -> str:
        """Compact, key-sorted JSON of :meth:`to_document`: what :attr:`content_hash` hashes."""
        return json.dumps(self.to_document(), sort_keys=True, separators=(",", ":"))


def normalise_paket(text: str) -> str | None:
    """The paket code of a spelling used in key files (``Susulan`` -> ``S``), or ``None``."""
    return _PAKET_SPELLINGS.get(text)


# Longest text a key error message quotes (a letter, a paket name); longer
# texts may be a row of answers and are described instead.
_MAX_QUOTED_TEXT = 8


def _key_path(error: jsonschema.ValidationError) -> str:
    where = json_path(error.absolute_path)
    path = list(error.absolute_path)
    if len(path) >= 2 and path[0] in ("answers", "cancelled") and isinstance(path[1], int):
        # JSON indices count from 0, item numbers from 1: say both.
        where += f" (entry {path[1] + 1})"
    return where


def _key_value(value: Any) -> str:
    """A value of a key document as an error message may show it: never a row of answers.

    Keys are confidential: a list, an object or a long text is described, not quoted.
    """
    if isinstance(value, dict):
        return f"an object with {len(value)} entries"
    if isinstance(value, list):
        return f"a list of {len(value)} entries"
    if isinstance(value, str) and len(value) > _MAX_QUOTED_TEXT:
        return f"a text of {len(value)} characters"
    return repr(value)


def _key_message(error: jsonschema.ValidationError) -> str:
    shown = _key_value(error.instance)
    if str(error.validator) == "oneOf":
        # jsonschema's text for oneOf ("... is not valid under any of the given
        # schemas") does not say what an answer looks like; this does.
        return f"{shown} is not an answer"
    # jsonschema quotes the whole value ("['B', 'D', ...] is too long"): describe it instead.
    return error.message.replace(repr(error.instance), shown)


def _raise_problems(source: str, problems: Sequence[str]) -> None:
    if len(problems) == 1:
        raise AnswerKeyError(f"answer key {source}: {problems[0]}")
    lines = [f"answer key {source}: {len(problems)} problems:"]
    lines += [f"  - {p}" for p in problems]
    raise AnswerKeyError("\n".join(lines))


def parse_answer_key(document: Any, *, source: str = "<answer key>") -> AnswerKey:
    """Validate a key document and build an :class:`AnswerKey`.

    Parameters
    ----------
    document : object
        The decoded JSON.
    source : str, optional
        Where the document came from, for messages.

    Raises
    ------
    AnswerKeyError
        With every problem found, each naming ``source``, the JSON path and
        the fix: schema errors, ``items`` different from the number of
        answers, a cancelled item that does not exist, a ``kode_kompetensi``
        not in the competency list.
    """
    schema_errors = schema_problems(
        packaged_validator(_KEY_SCHEMA),
        document,
        fixes=_KEY_FIXES,
        default_fix=f"see ljun/{_KEY_SCHEMA}",
        where=_key_path,
        message=_key_message,
    )
    if schema_errors:
        _raise_problems(source, schema_errors)

    problems: list[str] = []
    answers = tuple(
        frozenset([answer]) if isinstance(answer, str) else frozenset(answer)
        for answer in document["answers"]
    )
    items = document.get("items", len(answers))
    if items != len(answers):
        problems.append(
            f"at $.answers: {len(answers)} answers but $.items says {items} "
            f"(fix: give exactly one answer per item, or correct $.items)"
        )
    cancelled = frozenset(document.get("cancelled", ()))
    beyond = sorted(n for n in cancelled if n > len(answers))
    if beyond:
        problems.append(
            f"at $.cancelled: item(s) {', '.join(map(str, beyond))} do not exist, the key has "
            f"{len(answers)} items (fix: list item numbers from 1 to {len(answers)})"
        )
    kode = document.get("kode_kompetensi")
    if kode is not None and kode not in competency_codes():
        problems.append(
            f"at $.kode_kompetensi: {kode!r} is not a kode kompetensi of Lampiran 2 "
            "(fix: use a code of ljun/data/kompetensi_keahlian.csv, or drop the field "
            "for the paket's general key)"
        )
    if problems:
        _raise_problems(source, problems)

    key = AnswerKey(
        paket=_PAKET_SPELLINGS[document["paket"]],
        answers=answers,
        cancelled=cancelled,
        kode_kompetensi=kode,
        source=source,
        declared_items="items" in document,
    )
    digest = hashlib.sha256(key.canonical_json().encode("utf-8")).hexdigest()
    return dataclasses.replace(key, content_hash=digest)


def load_answer_key(path: str | os.PathLike[str]) -> AnswerKey:
    """Read, validate and build the answer key in the JSON file ``path``.

    Raises
    ------
    AnswerKeyError
        When the file is missing, unreadable, not JSON, or not a valid key;
        the message names the file (and the JSON path and fix).
    """
    source = os.fspath(path)
    document = read_json(
        source,
        what="answer key",
        error=AnswerKeyError,
        hint='fix: a key looks like {"paket": "A", "answers": ["B", "D", ...]}',
    )
    return parse_answer_key(document, source=source)


@dataclass(frozen=True)
class AnswerKeySet:
    """The keys of one batch, chosen per sheet by paket and kode kompetensi.

    Build one with :meth:`from_keys` (or :func:`load_answer_keys`), which
    refuses two keys for the same ``(paket, kode_kompetensi)``.
    """

    keys: tuple[AnswerKey, ...]

    @classmethod
    def from_keys(cls, keys: Iterable[AnswerKey]) -> AnswerKeySet:
        """Check that no two keys are for the same paket and kode; keep their order.

        Raises
        ------
        AnswerKeyError
            On a duplicate, naming both files.
        """
        seen: dict[tuple[str, str | None], AnswerKey] = {}
        for key in keys:
            earlier = seen.get(key.selector)
            if earlier is not None:
                raise AnswerKeyError(
                    f"answer key {key.source}: {key.describe()} already has a key, "
                    f"{earlier.source} (fix: give one key per paket and kode kompetensi)"
                )
            seen[key.selector] = key
        return cls(tuple(seen.values()))

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self) -> Iterator[AnswerKey]:
        return iter(self.keys)

    @functools.cached_property
    def _by_selector(self) -> Mapping[tuple[str, str | None], AnswerKey]:
        return {key.selector: key for key in self.keys}

    def select(self, paket: str, kode_kompetensi: str = "") -> AnswerKey | None:
        """The key for a sheet of ``paket`` and ``kode_kompetensi``, or ``None``.

        The competency's own key wins; otherwise the paket's general key.

        >>> keys = AnswerKeySet.from_keys([parse_answer_key({"paket": "A", "answers": ["B"]})])
        >>> keys.select("A", "6018").paket, keys.select("B")
        ('A', None)
        """
        by_selector = self._by_selector
        return by_selector.get((paket, kode_kompetensi or None)) or by_selector.get((paket, None))

    def pakets(self) -> tuple[str, ...]:
        """The pakets that have at least one key, in :data:`PAKETS` order."""
        present = {key.paket for key in self.keys}
        return tuple(p for p in PAKETS if p in present)

    def check_items(self, sheet_items: int, *, template: str = "the template") -> None:
        """Refuse a key whose item count does not fit the sheet.

        A key needs one answer per answer row of the sheet, unless it states
        ``items`` (an exam with fewer items than the sheet has rows); it may
        never have more items than rows.

        Raises
        ------
        AnswerKeyError
            Naming the key file and both counts.
        """
        for key in self.keys:
            if key.items > sheet_items:
                raise AnswerKeyError(
                    f"answer key {key.source}: at $.answers: {key.items} answers, but {template} "
                    f"has only {sheet_items} answer rows (fix: remove the extra answers)"
                )
            if key.items < sheet_items and not key.declared_items:
                raise AnswerKeyError(
                    f"answer key {key.source}: at $.answers: {key.items} answers, but {template} "
                    f"has {sheet_items} answer rows (fix: add the missing answers, or state "
                    f'"items": {key.items} if the exam has fewer items than the sheet)'
                )


def load_answer_keys(paths: Iterable[str | os.PathLike[str]]) -> AnswerKeySet:
    """Load every key file and check that no paket/kode has two keys.

    Raises
    ------
    AnswerKeyError
        On the first unusable file, or on a duplicate key.
    """
    return AnswerKeySet.from_keys(load_answer_key(path) for path in paths)
