"""A batch: files read, every sheet scored, reconciled with the batch and the store, committed."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..calibration import Calibration
from ..errors import BatchError
from ..keys import AnswerKeySet
from ..load import SCAN_SUFFIXES, list_scan_files
from ..score import score_sheet
from ..store import BatchWriter, ReconciliationEntry, ResultsStore
from ..template import Template
from ..vocabulary import BatchKind, ReconciliationKind
from ._attendance import Attendance
from ._executor import start_reading
from ._reading import FileResult
from ._reconcile import (
    Reconciliation,
    SheetSummary,
    complete_identity,
    file_entries,
    reconcile,
)
from ._summary import summarise

__all__ = ["BatchResult", "run_batch"]


@dataclass(frozen=True)
class BatchResult:
    """The outcome of :func:`run_batch`.

    ``summary`` is :func:`summarise`'s dict plus ``files``, ``pages``,
    ``duplicate_pages``, ``reader_errors``, ``absent``, ``duplicates_in_store``
    (sheets of earlier batches found to share a nomor peserta or barcode),
    ``not_on_attendance``, ``duplicate_nomor_peserta``,
    ``duplicate_barcode``, ``seconds`` and ``sheets_per_second``.
    """

    batch_id: int
    summary: Mapping[str, Any]
    reconciliation: tuple[ReconciliationEntry, ...] = field(default=())


def run_batch(
    paths: Iterable[str | os.PathLike[str]],
    *,
    keys: AnswerKeySet,
    store: ResultsStore,
    template: Template,
    calibration: Calibration,
    workers: int = 1,
    executor: concurrent.futures.Executor | None = None,
    attendance: Attendance | None = None,
    arguments: Mapping[str, Any] | None = None,
    kind: BatchKind = BatchKind.SCORE,
    on_file_done: Callable[[FileResult], None] | None = None,
    on_files: Callable[[int], None] | None = None,
    on_pages: Callable[[int], None] | None = None,
    known_digests: Mapping[str, str] | None = None,
) -> BatchResult:
    """Read, score, reconcile and store every page under ``paths``.

    Parameters
    ----------
    paths : iterable of str or PathLike
        Files and folders, in the order given.
    keys : AnswerKeySet
        Keys for the pakets (see :func:`ljun.keys.load_answer_keys`).
    store : ResultsStore
        Where the batch goes; committed in one transaction at the end.
    template, calibration
        What the sheets are read with.
    workers : int, optional
        Worker processes (1 = read in this process).
    executor : concurrent.futures.Executor, optional
        Reads the files instead of local worker processes (see
        :func:`~ljun.batch.iter_file_results`).
    attendance : Attendance, optional
        The attendance lists (:func:`load_attendance`).
    arguments : mapping, optional
        Stored with the batch (the command line, for the record).
    kind : BatchKind, optional
        What the batch row says ran it (``watch`` for the folder watcher).
    on_file_done : callable, optional
        Called with each :class:`FileResult` as it finishes (progress).
    on_files : callable, optional
        Called once with the number of files found, before reading starts.
    on_pages : callable, optional
        Called with the number of pages read since the last call (progress).
    known_digests : mapping of str to str, optional
        File digests (the store's algorithm) the caller computed already, by
        ``str(path)``; those files are not hashed again (the folder watcher).

    Returns
    -------
    BatchResult
    """
    started = time.perf_counter()
    paths = list(paths)
    files = list_scan_files(paths)
    if not files:
        raise BatchError(
            f"no scan files ({', '.join(SCAN_SUFFIXES)}) found under "
            f"{', '.join(os.fspath(p) for p in paths)}"
        )
    if on_files is not None:
        on_files(len(files))
    writer = store.begin_batch(
        kind=kind,
        template=template.id,
        arguments=arguments,
        calibration=calibration.identity,
    )
    try:
        # The workers start reading now: what follows until the first
        # result (imports, earlier decisions) overlaps with their work.
        with start_reading(
            files,
            template=template,
            calibration=calibration,
            workers=workers,
            executor=executor,
            on_file_done=on_file_done,
            on_pages=on_pages,
            digest_algorithm=store.file_digest_algorithm,
            known_digests=known_digests,
        ) as reading:
            sheets, seen_pages, page_entries = _staged(
                reading.results(), writer, store=store, keys=keys, template=template
            )
        # Sheets of earlier batches (other scans) with the same participant or barcode.
        earlier = store.identities_matching(
            nomor_peserta={s.nomor_peserta for s in sheets if complete_identity(s.nomor_peserta)},
            barcodes={s.barcode for s in sheets if complete_identity(s.barcode)},
            exclude_page_hashes=set(seen_pages),
        )
        del seen_pages
        found = reconcile(sheets, attendance, earlier)
        for seq, flags in found.flags.items():
            writer.flag(seq, flags)
        for page_id, flags in found.earlier_flags.items():
            writer.flag_stored(page_id, flags)
        sheets = [
            _flagged(sheet, found.flags[sheet.seq]) if sheet.seq in found.flags else sheet
            for sheet in sheets
        ]
        summary = _batch_summary(
            sheets, files, page_entries, found, attendance, elapsed=time.perf_counter() - started
        )
        entries = tuple(file_entries(sheets) + page_entries + list(found.entries))
        writer.commit(keys=keys, reconciliation=entries, summary=summary)
    except BaseException:
        writer.abort()
        raise
    return BatchResult(writer.batch_id, summary, entries)


def _batch_summary(
    sheets: Sequence[SheetSummary],
    files: Sequence[Path],
    page_entries: Sequence[ReconciliationEntry],
    found: Reconciliation,
    attendance: Attendance | None,
    *,
    elapsed: float,
) -> dict[str, Any]:
    summary = summarise(sheets)
    kinds = Counter(entry.kind for entry in list(found.entries) + list(page_entries))
    summary.update(
        {
            "files": len(files),
            "pages": len(sheets) + kinds[ReconciliationKind.DUPLICATE_PAGE],
            "duplicate_pages": kinds[ReconciliationKind.DUPLICATE_PAGE],
            "reader_errors": kinds[ReconciliationKind.READER_ERROR],
            "duplicate_nomor_peserta": kinds[ReconciliationKind.DUPLICATE_NOMOR_PESERTA],
            "duplicate_barcode": kinds[ReconciliationKind.DUPLICATE_BARCODE],
            "duplicates_in_store": len(found.earlier_flags),
            "not_on_attendance": kinds[ReconciliationKind.NOT_ON_ATTENDANCE],
            "marked_absent": kinds[ReconciliationKind.MARKED_ABSENT],
            "absent": kinds[ReconciliationKind.ABSENT],
            "missing_sheet": kinds[ReconciliationKind.MISSING_SHEET],
            "unread_nomor_peserta": sum(
                1 for s in sheets if not s.failed and not complete_identity(s.nomor_peserta)
            ),
            "attendance_listed": None if attendance is None else len(attendance.listed),
            "seconds": round(elapsed, 3),
            "sheets_per_second": round(len(sheets) / elapsed, 2) if elapsed > 0 else None,
        }
    )
    return summary


def _flagged(sheet: SheetSummary, flags: tuple[str, ...]) -> SheetSummary:
    merged = sheet.flags + tuple(f for f in flags if f not in sheet.flags)
    return dataclasses.replace(sheet, flags=merged, review=True)


def _staged(
    results: Iterator[FileResult],
    writer: BatchWriter,
    *,
    store: ResultsStore,
    keys: AnswerKeySet,
    template: Template,
) -> tuple[list[SheetSummary], dict[str, tuple[str, int]], list[ReconciliationEntry]]:
    """Every result scored and staged in file order: the sheets' summaries,
    the pages seen (by page hash) and the entries of duplicate pages and
    reader errors."""
    from ..review._images import save_review_images
    from ..review.decisions import DecidedSheets

    # Pages people already decided keep their decisions when read again.
    decided = DecidedSheets.load(store.connection)
    sheets: list[SheetSummary] = []
    seen_pages: dict[str, tuple[str, int]] = {}
    page_entries: list[ReconciliationEntry] = []  # duplicate pages, reader errors
    for result in results:
        page_entries += [
            ReconciliationEntry(
                kind=ReconciliationKind.READER_ERROR,
                source=result.source,
                page=page,
                detail=detail,
            )
            for page, detail in result.errors
        ]
        save_review_images(store, result.review_images)
        for identity, reading in result.readings:
            first = seen_pages.get(identity)
            if first is not None:
                page_entries.append(
                    ReconciliationEntry(
                        kind=ReconciliationKind.DUPLICATE_PAGE,
                        source=reading.source,
                        page=reading.page,
                        detail=f"the same scan as {first[0]} page {first[1]}; not stored twice",
                    )
                )
                continue
            seen_pages[identity] = (reading.source, reading.page)
            reading = decided.reading(identity, reading, template)
            scored = decided.settle(identity, score_sheet(reading, keys))
            seq = writer.stage(scored, page_hash=identity, file_index=result.file_index)
            sheets.append(SheetSummary.of(scored, seq=seq, file_index=result.file_index))
    return sheets, seen_pages, page_entries
