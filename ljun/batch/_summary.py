"""Counts of a batch or a rescore, for people (the CLI summary) and for the store."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ..numbers import round_half_up
from ..vocabulary import PAKETS, UNREAD, flag_reason
from ._reconcile import SheetSummary

__all__ = ["summarise"]


def summarise(sheets: Sequence[SheetSummary]) -> dict[str, Any]:
    """Counts of a batch (or rescore) for people and for the store.

    Returns a JSON-ready dict: ``sheets``, ``scored``, ``review``,
    ``failed``, ``reasons`` (flag -> sheets carrying it, most frequent
    first; item and column numbers dropped, so ``answer_unsure:12`` and
    ``answer_unsure:30`` count as ``answer_unsure``, see :func:`ljun.vocabulary.flag_reason`),
    ``pakets`` (paket -> ``sheets``, ``scored``, ``mean`` of the
    scored sheets as 2-decimal text, rounded half up).
    """
    reasons: Counter[str] = Counter()
    per_paket: dict[str, dict[str, Any]] = {}
    totals: defaultdict[str, Decimal] = defaultdict(Decimal)
    for sheet in sheets:
        reasons.update({flag_reason(flag) for flag in sheet.flags})
        paket = sheet.paket if sheet.paket in PAKETS else UNREAD
        entry = per_paket.setdefault(paket, {"sheets": 0, "scored": 0, "mean": None})
        entry["sheets"] += 1
        if sheet.score is not None:
            entry["scored"] += 1
            totals[paket] += sheet.score
    for paket, entry in per_paket.items():
        if entry["scored"]:
            entry["mean"] = format(round_half_up(totals[paket] / entry["scored"]), "f")
    order = [*PAKETS, UNREAD]
    return {
        "sheets": len(sheets),
        "scored": sum(s.score is not None for s in sheets),
        "review": sum(s.review for s in sheets),
        "failed": sum(s.failed for s in sheets),
        "reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "pakets": {p: per_paket[p] for p in order if p in per_paket},
    }
