"""Rescoring: the stored readings scored again with corrected keys, without rescanning."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..keys import AnswerKeySet
from ..score import ScoredSheet, score_sheet, with_flags
from ..store import ResultsStore
from ._reconcile import SheetSummary
from ._summary import summarise

__all__ = ["RescoreResult", "rescore"]


@dataclass(frozen=True)
class RescoreResult:
    """The outcome of :func:`rescore`.

    ``rescored`` sheets had a key among the new ones; ``changed`` of them
    got another score (or flags, or review) than before; ``kept`` sheets had
    no new key and keep their score.
    """

    batch_id: int
    rescored: int
    changed: int
    kept: int
    summary: Mapping[str, Any]


def rescore(
    store: ResultsStore,
    keys: AnswerKeySet,
    *,
    template: str = "",
    arguments: Mapping[str, Any] | None = None,
) -> RescoreResult:
    """Score the stored readings again with ``keys``, without rescanning.

    Only sheets that one of ``keys`` applies to (by paket and kode
    kompetensi) are rescored; the others keep their current score.  The
    flags reconciliation gave a sheet are kept.  One transaction: the new
    scores are stored all together or not at all.
    """
    from ..review.decisions import acknowledged_flags, settle

    counts: Counter[str] = Counter()
    sheets: list[SheetSummary] = []
    # Flags people resolved on the review page stay resolved.
    acknowledged = acknowledged_flags(store.connection)

    def rescored() -> Iterator[tuple[int, ScoredSheet]]:
        for stored in store.stored_sheets():
            scored = score_sheet(stored.reading, keys)
            if scored.key is None:
                counts["kept"] += 1
                continue
            scored = with_flags(scored, *stored.batch_flags)
            scored = settle(scored, acknowledged.get(stored.page_id, ()))
            counts["rescored"] += 1
            if (scored.score, scored.flags, scored.review) != (
                stored.score,
                stored.flags,
                stored.review,
            ):
                counts["changed"] += 1
            sheets.append(SheetSummary.of(scored, seq=stored.page_id, file_index=0))
            yield stored.page_id, scored

    def summary() -> dict[str, Any]:
        totals = summarise(sheets)
        totals.update(
            {"rescored": counts["rescored"], "changed": counts["changed"], "kept": counts["kept"]}
        )
        return totals

    batch_id = store.record_rescore(
        template=template, keys=keys, rescored=rescored(), arguments=arguments, summary=summary
    )
    return RescoreResult(batch_id, counts["rescored"], counts["changed"], counts["kept"], summary())
