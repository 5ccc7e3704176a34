"""An operator who knows the generator's truth: decides every flagged sheet of a store.

Decisions go through the review code (:func:`ljun.review.decisions.decide_sheet`,
:func:`~ljun.review.decisions.enter_by_hand`, :func:`~ljun.review.decisions.reject_sheet`),
as the review page makes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ljun.register import REFERENCE_DPI
from ljun.review.decisions import (
    HAND_BLANK,
    MULTIPLE,
    decide_sheet,
    enter_by_hand,
    load_sheet,
    reject_sheet,
    review_items,
)
from ljun.review.queue import load_queue
from ljun.store import open_store
from ljun.template import Template

OPERATOR = "sari"


@dataclass
class Decided:
    """What the operator did, by ``(file name, page)``."""

    resolved: list[tuple[str, int]] = field(default_factory=list)
    rejected: list[tuple[str, int]] = field(default_factory=list)
    left_open: list[tuple[str, int]] = field(default_factory=list)


def load_generator_truth(truth_file: Path) -> dict[tuple[str, int], dict]:
    """The generator's truth records by ``(file name, page)``."""
    records = map(json.loads, truth_file.read_text().splitlines())
    return {(Path(r["source"]).name, int(r["page"])): r for r in records}


def _column(record: dict, name: str, item: int, count: int) -> str:
    text = str(record.get(name, ""))
    if name in ("nomor_peserta", "tanggal_lahir"):
        text = text.replace("-", "")
    return text.ljust(count)[item - 1]


def decide_with_truth(
    db: Path,
    truth: dict[tuple[str, int], dict],
    template: Template,
    *,
    leave_open: int = 0,
) -> Decided:
    """Decide every open sheet of ``db`` as the generator's ``truth`` says.

    Pages that are not student sheets are rejected; the first ``leave_open``
    open sheets are left in review.
    """
    done = Decided()
    with open_store(db, create=False) as store:
        conn = store.connection
        for entry in load_queue(conn).open:
            name = (Path(entry.source).name, entry.page)
            if len(done.left_open) < leave_open:
                done.left_open.append(name)
                continue
            record = truth[name]
            state = load_sheet(conn, entry.page_id)
            assert state is not None
            if not record.get("answers"):
                reject_sheet(
                    conn, entry.page_id, version=state.version, operator=OPERATOR,
                    reason="not an LJUN sheet",
                )  # fmt: skip
                done.rejected.append(name)
                continue
            if state.reading.failure is not None:
                values = {n: record[n] for n in ("nomor_peserta", "nama", "tanggal_lahir")}
                values["kode_kompetensi"] = record["kode_kompetensi"]
                values["paket"] = record["paket"]
                values["answers"] = "".join(a or HAND_BLANK for a in record["answers"])
                enter_by_hand(
                    conn, entry.page_id, version=state.version, values=values,
                    operator=OPERATOR, template=template,
                )  # fmt: skip
                done.resolved.append(name)
                continue
            items, _ = review_items(state, template)
            decisions = {}
            for item in items:
                if item.kind == "text":
                    decisions[item.key] = str(record[item.field])
                elif item.field == "answers":
                    value = record["answers"][item.item - 1]
                    decisions[item.key] = MULTIPLE if value == MULTIPLE else value
                else:
                    count = template.geometry(REFERENCE_DPI).grid(item.field).shape[0]
                    decisions[item.key] = _column(record, item.field, item.item, count)
            outcome = decide_sheet(
                conn, entry.page_id, version=state.version, decisions=decisions,
                operator=OPERATOR, template=template,
            )  # fmt: skip
            (done.resolved if outcome.status == "resolved" else done.left_open).append(name)
    return done
