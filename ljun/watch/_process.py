"""One round of the watcher: complete files scored, journalled and moved, restart-safe.

The order of a round is what makes ``kill -9`` harmless:

1. **score and commit**: the files are scored by :func:`ljun.batch.run_batch`
   (the code path of ``ljun score``) as one batch of kind ``watch``,
   committed in one transaction.  Sheets are keyed by the file's content and
   page (:func:`ljun.batch.page_hash`), so scoring the same bytes again would
   update them, never add them twice;
2. **journal**: one row per file in ``watched_files`` (content digest, name,
   outcome, destination), in one transaction;
3. **move**: to ``done/YYYY-MM-DD/`` or ``quarantine/`` (reason file first).

Whatever step a crash interrupts, the next round finds the file still in the
inbox and finishes the job from what the store holds:

- a journal row for the same bytes and name whose destination does not exist
  yet: the move was not done; it is done now;
- a journal row for the same bytes otherwise: the file was dropped again
  (another name, or after it was moved): a **duplicate**, moved to ``done/``
  without scoring;
- no journal row but the file's pages are in the store: committed, not yet
  journalled (or scored earlier by ``ljun score``): journalled and moved
  without scoring again;
- nothing: scored.
"""

from __future__ import annotations

import concurrent.futures
import datetime as _dt
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..batch import Attendance, FileResult, file_digest, page_hash, run_batch
from ..calibration import Calibration
from ..errors import BatchError
from ..keys import AnswerKeySet
from ..store import ResultsStore, WatchedFile
from ..template import Template
from ..vocabulary import BatchKind, ReconciliationKind, WatchOutcome
from ._moves import day_folder, free_name, move_file, reason_path, write_reason

__all__ = ["WatchSettings", "FileOutcome", "process_files"]

_LOGGER = logging.getLogger("ljun.watch")

# Pages looked up at a time when a file's stored sheets are counted.
_PAGE_LOOKUP_CHUNK = 64


@dataclass(frozen=True)
class WatchSettings:
    """What the watcher scores with and where files go.

    Attributes
    ----------
    inbox, done, quarantine : Path
        The watched folder; where scored files go (``done/YYYY-MM-DD/``);
        where unreadable ones go (with ``NAME.reason.txt``).
    keys, template, calibration, attendance
        As for :func:`ljun.batch.run_batch`.
    workers : int
        Worker processes when no executor is given (1: read in this process).
    arguments : mapping
        Stored with each batch (the command line, for the record).
    """

    inbox: Path
    done: Path
    quarantine: Path
    keys: AnswerKeySet
    template: Template
    calibration: Calibration
    attendance: Attendance | None = None
    workers: int = 1
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FileOutcome:
    """What one round did with one file (for the log line).

    ``recovered`` is true when the file's sheets were already in the store
    (a crash before the move, or ``ljun score`` before); ``seconds`` runs
    from the start of the round to the file's move.
    """

    name: str
    outcome: WatchOutcome
    destination: Path
    pages: int = 0
    review: int = 0
    failed: int = 0
    detail: str = ""
    batch_id: int | None = None
    recovered: bool = False
    seconds: float = 0.0


def _today() -> _dt.date:
    return _dt.datetime.now().date()


def process_files(
    paths: Sequence[Path],
    *,
    settings: WatchSettings,
    store: ResultsStore,
    executor: concurrent.futures.Executor | None = None,
    on_outcome: Callable[[FileOutcome], None] | None = None,
) -> list[FileOutcome]:
    """Score, journal and move complete files of the inbox (one round).

    Parameters
    ----------
    paths : sequence of Path
        Files of ``settings.inbox`` the caller found complete.
    settings : WatchSettings
    store : ResultsStore
    executor : concurrent.futures.Executor, optional
        Reads the files (a long-lived process pool of the watcher); without
        one, ``settings.workers`` decides as for :func:`ljun.batch.run_batch`.
    on_outcome : callable, optional
        Called with each :class:`FileOutcome` as soon as its file is moved.

    Returns
    -------
    list of FileOutcome
        In the order the files were moved; a file that vanished meanwhile
        has none.

    Raises
    ------
    StoreError
        When the store cannot be written; the files stay in the inbox, and
        the next round tries again.
    """
    started = time.perf_counter()
    outcomes: list[FileOutcome] = []
    # (file, journal row, text for NAME.reason.txt beside it in quarantine or "")
    planned: list[tuple[Path, WatchedFile, str]] = []
    pending_moves: list[tuple[Path, WatchedFile, str]] = []  # already journalled
    to_score: list[tuple[Path, str]] = []
    # (file, digest, what it repeats, whether that was quarantined; None: not known yet)
    duplicates: list[tuple[Path, str, str, bool | None]] = []
    claimed: dict[str, str] = {}
    taken: set[str] = set()

    def done_place(name: str) -> Path:
        place = free_name(day_folder(settings.done, _today()), name, frozenset(taken))
        taken.add(place.name)
        return place

    def quarantine_place(name: str) -> Path:
        place = free_name(settings.quarantine, name, frozenset(taken))
        taken.add(place.name)
        return place

    algorithm = store.file_digest_algorithm
    for path in paths:
        digest = file_digest(path, algorithm)
        if not digest:
            continue  # gone (or unreadable) since it was found complete; the next scan sees
        rows = store.watched(digest)
        unfinished = [
            row
            for row in rows
            if row.name == path.name
            and row.inbox == str(settings.inbox)
            and not Path(row.destination).exists()
        ]
        if unfinished:
            row = unfinished[-1]
            in_quarantine = Path(row.destination).parent == settings.quarantine
            pending_moves.append((path, row, row.detail if in_quarantine else ""))
        elif rows:
            first = rows[0]
            duplicates.append(
                (
                    path,
                    digest,
                    f"{first.name} ({first.outcome} {first.at})",
                    Path(first.destination).parent == settings.quarantine,
                )
            )
        elif digest in claimed:
            duplicates.append((path, digest, f"{claimed[digest]} (in the same round)", None))
        else:
            claimed[digest] = path.name
            recovered = _stored_outcome(store, digest)
            if recovered is None:
                to_score.append((path, digest))
            else:
                pages, review, failures = recovered
                failed = len(failures)
                quarantined = pages > 0 and failed == pages
                reason = _reason_text(path.name, failures) if quarantined else ""
                place = quarantine_place(path.name) if quarantined else done_place(path.name)
                row = WatchedFile(
                    digest=digest,
                    name=path.name,
                    inbox=str(settings.inbox),
                    outcome=WatchOutcome.QUARANTINE if quarantined else WatchOutcome.DONE,
                    destination=str(place),
                    pages=pages,
                    review=review,
                    failed=failed,
                    detail="sheets already in the store; not scored again",
                )
                planned.append((path, row, reason))

    if to_score:
        planned += _score(to_score, settings, store, executor, quarantine_place, done_place)
    quarantined_now = {
        row.digest for _, row, _ in planned if row.outcome == WatchOutcome.QUARANTINE
    }
    for path, digest, original, known in duplicates:
        # A copy of an unreadable file is no more readable: it joins it in quarantine.
        quarantined = digest in quarantined_now if known is None else known
        detail = f"the same bytes as {original}; not scored again"
        row = WatchedFile(
            digest=digest,
            name=path.name,
            inbox=str(settings.inbox),
            outcome=WatchOutcome.DUPLICATE,
            destination=str(quarantine_place(path.name) if quarantined else done_place(path.name)),
            detail=detail,
        )
        planned.append((path, row, f"{path.name}: {detail}" if quarantined else ""))

    store.record_watched(row for _, row, _ in planned)
    for path, row, reason in pending_moves + planned:
        if not _move(path, row, reason):
            continue
        outcome = FileOutcome(
            name=path.name,
            outcome=WatchOutcome(row.outcome),
            destination=Path(row.destination),
            pages=row.pages,
            review=row.review,
            failed=row.failed,
            detail=row.detail,
            batch_id=row.batch_id,
            recovered=row.batch_id is None and row.outcome != WatchOutcome.DUPLICATE,
            seconds=time.perf_counter() - started,
        )
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes


def _move(path: Path, row: WatchedFile, reason: str) -> bool:
    """Move a journalled file where its row says (reason file first); False if it stays."""
    destination = Path(row.destination)
    try:
        if reason and not reason_path(destination).exists():
            write_reason(destination, reason)
        move_file(path, destination)
    except FileNotFoundError:
        return False  # taken away by someone else after it was scored: nothing to move
    except OSError as exc:
        # Locked by the scanner software, no permission, disk full: the
        # journal says where it goes, so a later round moves it.
        _LOGGER.error(f"error: {path} cannot be moved to {destination}: {exc}; trying later")
        return False
    return True


def _score(
    files: Sequence[tuple[Path, str]],
    settings: WatchSettings,
    store: ResultsStore,
    executor: concurrent.futures.Executor | None,
    quarantine_place: Callable[[str], Path],
    done_place: Callable[[str], Path],
) -> list[tuple[Path, WatchedFile, str]]:
    """Score ``files`` as one batch; their journal rows (not yet recorded) and reasons."""
    failures: dict[str, list[tuple[int, str]]] = {}

    def note_failures(result: FileResult) -> None:
        errors = dict(result.errors)
        failures[result.source] = [
            (reading.page, _failure_text(reading.failure, errors.get(reading.page, "")))
            for _, reading in result.readings
            if reading.failure is not None
        ]

    try:
        result = run_batch(
            [path for path, _ in files],
            keys=settings.keys,
            store=store,
            template=settings.template,
            calibration=settings.calibration,
            workers=settings.workers,
            executor=executor,
            attendance=settings.attendance,
            arguments=settings.arguments,
            kind=BatchKind.WATCH,
            on_file_done=note_failures,
            known_digests={str(path): digest for path, digest in files},
        )
    except BatchError as exc:
        if len(files) > 1:
            # One of them kills its reader: try each alone, so the others are scored.
            planned: list[tuple[Path, WatchedFile, str]] = []
            for one in files:
                planned += _score([one], settings, store, executor, quarantine_place, done_place)
            return planned
        path, digest = files[0]
        reason = f"{path.name}: could not be scored: {exc}"
        row = WatchedFile(
            digest=digest,
            name=path.name,
            inbox=str(settings.inbox),
            outcome=WatchOutcome.QUARANTINE,
            destination=str(quarantine_place(path.name)),
            detail=str(exc),
        )
        return [(path, row, reason)]

    counts = {
        entry.source: json.loads(entry.detail)
        for entry in result.reconciliation
        if entry.kind == ReconciliationKind.FILE_PAGES
    }
    planned = []
    for path, digest in files:
        source = str(path)
        count = counts.get(source, {"pages": 0, "review": 0, "failed": 0})
        pages, failed = int(count["pages"]), int(count["failed"])
        quarantined = failed == pages  # no page could be read (or the file has none)
        page_failures = failures.get(source, [])
        row = WatchedFile(
            digest=digest,
            name=path.name,
            inbox=str(settings.inbox),
            outcome=WatchOutcome.QUARANTINE if quarantined else WatchOutcome.DONE,
            destination=str(quarantine_place(path.name) if quarantined else done_place(path.name)),
            batch_id=result.batch_id,
            pages=pages,
            review=int(count["review"]),
            failed=failed,
            detail="; ".join(f"{_page_name(page)}: {text}" for page, text in page_failures),
        )
        reason = _reason_text(path.name, page_failures) if quarantined else ""
        planned.append((path, row, reason))
    return planned


def _page_name(page: int) -> str:
    # Page 0 is the loaders' number for a failure of the whole file.
    return f"page {page}" if page else "the file"


def _failure_text(failure: str, error: str) -> str:
    return f"{failure} ({error})" if error else str(failure)


def _reason_text(name: str, failures: Sequence[tuple[int, str]]) -> str:
    lines = [
        f"{name}: no page of this file could be read, so it was not scored.",
        *(f"{_page_name(page)}: {text}" for page, text in failures),
        "Fix: scan the envelope again (or export the file again from the scanner "
        "software) and drop the new file into the inbox.",
    ]
    if not failures:
        lines.insert(1, "the file has no pages")
    return "\n".join(lines)


def _stored_outcome(
    store: ResultsStore, digest: str
) -> tuple[int, int, list[tuple[int, str]]] | None:
    """``(pages, in review, [(page, failure)])`` of a file's stored sheets; ``None`` if none."""
    pages = 0
    review = 0
    failures: list[tuple[int, str]] = []
    while True:
        numbers = range(pages + 1, pages + 1 + _PAGE_LOOKUP_CHUNK)
        hashes = {page_hash(digest, n): n for n in numbers}
        found = store.stored_pages(hashes)
        for identity, (failure, in_review) in sorted(found.items(), key=lambda kv: hashes[kv[0]]):
            review += in_review
            if failure is not None:
                failures.append((hashes[identity], failure))
        pages += len(found)
        if len(found) < _PAGE_LOOKUP_CHUNK:
            break
    return (pages, review, failures) if pages else None
