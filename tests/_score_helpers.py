"""Helpers for the scoring tests: keys, hand-made readings, records."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from ljun.keys import AnswerKey, AnswerKeySet, parse_answer_key
from ljun.records import RESULT_KEYS, SheetReading

#: Answers of the paket A key used across the tests (40 items, A–E repeating).
KEY_A = tuple("ABCDE"[i % 5] for i in range(40))
#: Answers of the paket B key (shifted by one letter).
KEY_B = tuple("ABCDE"[(i + 1) % 5] for i in range(40))
#: Answers of the Susulan key.
KEY_S = tuple("ABCDE"[(i + 2) % 5] for i in range(40))

KEYS_BY_PAKET = {"A": KEY_A, "B": KEY_B, "S": KEY_S}

# A kode kompetensi of the Lampiran 2 list (Akuntansi).
KODE = "6018"

# Bubbles of the LJUN sheet, for darkness arrays of a realistic size.
N_BUBBLES = 963


def key_document(
    paket: str = "A", answers: tuple[str, ...] | list[Any] = KEY_A, **extra: Any
) -> dict[str, Any]:
    """A key document in the minimal form, plus ``extra`` fields."""
    return {"paket": paket, "answers": list(answers), **extra}


def make_key(
    paket: str = "A", answers: tuple[str, ...] | list[Any] | None = None, **extra: Any
) -> AnswerKey:
    """A parsed key (default answers: those of :data:`KEYS_BY_PAKET`)."""
    code = {"Susulan": "S"}.get(paket, paket)
    return parse_answer_key(key_document(paket, answers or KEYS_BY_PAKET[code], **extra))


def key_set(*pakets: str) -> AnswerKeySet:
    """Keys for ``pakets`` (default all three)."""
    return AnswerKeySet.from_keys(make_key(p) for p in (pakets or ("A", "B", "S")))


def write_key(folder: Path, name: str, document: Any) -> Path:
    """Write a key document as JSON into ``folder``; return the path."""
    path = folder / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def write_keys(folder: Path) -> list[Path]:
    """paketA.json, paketB.json and susulan.json of the test keys."""
    return [
        write_key(folder, "paketA.json", key_document("A", KEY_A)),
        write_key(folder, "paketB.json", key_document("B", KEY_B)),
        write_key(folder, "susulan.json", key_document("Susulan", KEY_S)),
    ]


def answers_with(correct: int, paket: str = "A") -> tuple[str, ...]:
    """40 answers of which the first ``correct`` match the paket's key, the rest wrong."""
    key = KEYS_BY_PAKET[paket]
    wrong = tuple("ABCDE"[("ABCDE".index(k) + 1) % 5] for k in key)
    return key[:correct] + wrong[correct:]


def nomor(participant: int, school: int = 1) -> str:
    """A participant number in display form (check digit not computed)."""
    return f"4-12-01-02-{school:03d}-{participant:03d}-0"


def make_reading(
    *,
    source: str = "scan.tif",
    page: int = 1,
    paket: str = "A",
    correct: int = 30,
    answers: tuple[str, ...] | None = None,
    participant: int = 1,
    barcode: str | None = None,
    kode: str = KODE,
    flags: tuple[str, ...] = (),
    review: bool = False,
    failure: str | None = None,
    seed: int = 0,
) -> SheetReading:
    """A plausible reading of one LJUN sheet, with per-bubble arrays."""
    if failure is not None:
        return SheetReading(
            source=source,
            page=page,
            template="ljun-teori-kejuruan",
            flags=(failure,),
            review=True,
            failure=failure,
        )
    rng = np.random.default_rng(seed)
    key_paket = paket if paket in KEYS_BY_PAKET else "A"
    return SheetReading(
        source=source,
        page=page,
        template="ljun-teori-kejuruan",
        nomor_peserta=nomor(participant),
        nama=f"SISWA {participant:03d}".replace("0", "O"),
        tanggal_lahir="17-08-95",
        kode_kompetensi=kode,
        paket=paket,
        barcode=f"LJUN-{paket}-{participant:06d}" if barcode is None else barcode,
        answers=answers if answers is not None else answers_with(correct, key_paket),
        flags=flags,
        review=review,
        darkness=rng.random(N_BUBBLES, dtype=np.float32),
        confidence=rng.random(N_BUBBLES, dtype=np.float32),
    )


def record_of(**fields: Any) -> dict[str, Any]:
    """A result record with every key of RESULT_KEYS (defaults filled in)."""
    record: dict[str, Any] = {
        "source": "batch.tif",
        "page": 1,
        "template": "ljun-teori-kejuruan",
        "nomor_peserta": nomor(1),
        "nama": "SITI AMINAH",
        "tanggal_lahir": "17-08-95",
        "kode_kompetensi": KODE,
        "paket": "A",
        "barcode": "LJUN-A-000001",
        "answers": list(answers_with(30)),
        "correct": 30,
        "score": Decimal("7.50"),
        "flags": [],
        "review": False,
    }
    record.update(fields)
    assert tuple(record) == RESULT_KEYS
    return record
