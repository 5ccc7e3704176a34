"""Running a batch: scan files in, scored sheets stored, reconciliation done.

:func:`run_batch` is what ``ljun score`` calls.  Files are listed with
:func:`ljun.load.list_scan_files`; each file is read (pages loaded,
registered, read and decoded by :func:`ljun.pipeline.read_sheet`) in a
worker process, files spread over ``workers`` processes (``workers=1``
reads in this process).  Results are taken back **in file order** whatever
order the workers finish in, so the store, the exports and the summary are
the same for any number of workers.  Each reading is scored here
(:func:`ljun.score.score_sheet`), staged in the store, and when every file
is done the batch is reconciled (:func:`reconcile`) and committed in one
transaction.

Sheets are identified by :func:`page_hash`: the SHA-256 of the file's bytes
plus the page number, so re-running the same files updates those sheets
instead of adding them again, wherever the files have moved.

Reconciliation (per batch, and per file for the page counts):

- same nomor peserta on two or more sheets: each gets ``duplicate_nomor_peserta``
  and goes to review; same for the barcode (``duplicate_barcode``);
- the same page given twice (same file twice): the second is not stored
  (``duplicate_page`` entry);
- with attendance lists (:func:`load_attendance`): participants the list
  marks absent (``absent``) or present but without a sheet
  (``missing_sheet``), sheets whose nomor peserta is on no list (flag
  ``not_on_attendance``) or marked absent (flag ``marked_absent``);
- pages counted per file (``file_pages`` entries), and pages a reader
  raised on (``reader_error``, the exception's text kept).

Flagged sheets keep their score and go to review: a person decides.
"""

from __future__ import annotations

import concurrent.futures
import csv
import hashlib
import io
import json
import multiprocessing
import os
import queue
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .calibration import Calibration
from .errors import LjunError
from .keys import PAKETS, AnswerKeySet
from .load import SCAN_SUFFIXES, iter_file_pages, list_scan_files, quiet_tifffile
from .nomor import normalise_nomor_peserta
from .numbers import round_half_up
from .records import PageFailure, SheetReading
from .score import ScoredSheet, score_sheet, with_flags
from .store import ReconciliationEntry, ResultsStore
from .template import Template

if TYPE_CHECKING:
    from .pipeline import SheetAnalysis
    from .review._capture import CapturedPage

__all__ = [
    "BatchError",
    "AttendanceError",
    "FileResult",
    "SheetSummary",
    "Reconciliation",
    "BatchResult",
    "RescoreResult",
    "file_digest",
    "page_hash",
    "image_hash",
    "read_file",
    "iter_file_results",
    "reconcile",
    "summarise",
    "flag_reason",
    "Attendance",
    "attendance_files",
    "load_attendance",
    "run_batch",
    "rescore",
    "default_workers",
]

# Failure reason of a page whose reading raised (a bug in a reader, not bad
# page content): the sheet goes to review instead of stopping the batch.
READER_ERROR = "reader_error"

# How often the progress display hears about pages read in worker processes.
_PROGRESS_POLL_S = 0.2

# Bytes read at a time when hashing a scan file.
_HASH_CHUNK_BYTES = 1 << 20

# Columns of an attendance list: the participant number, and (optional)
# whether they were present.
ATTENDANCE_COLUMN = "nomor_peserta"
HADIR_COLUMN = "hadir"


class BatchError(LjunError, RuntimeError):
    """A batch could not be run (a worker process died, no file to read ...)."""


class AttendanceError(LjunError, ValueError):
    """An attendance list CSV is malformed; the message names the file and line."""


def default_workers() -> int:
    """Worker processes used when none are asked for: one per core."""
    return os.cpu_count() or 1


# --------------------------------------------------------------------------- identity


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a file's bytes; ``""`` when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(_HASH_CHUNK_BYTES), b""):
                digest.update(chunk)
    except OSError:
        return ""
    return digest.hexdigest()


def page_hash(digest: str, page: int, *, source: str = "") -> str:
    """The identity of page ``page`` of a file whose bytes hash to ``digest``.

    A file that cannot be read (``digest == ""``) is identified by its
    ``source`` path instead, so its failure is stored once per path.
    """
    basis = f"file:{digest}:{page}" if digest else f"path:{source}:{page}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


def image_hash(image: np.ndarray) -> str:
    """The identity of an in-memory page: SHA-256 of its shape and pixels."""
    digest = hashlib.sha256(repr(image.shape).encode("ascii"))
    digest.update(np.ascontiguousarray(image).data)
    return digest.hexdigest()


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, eq=False)
class FileResult:
    """Every page of one file, read.

    ``readings`` holds ``(page_hash, reading)`` in page order.  ``errors``
    holds ``(page, text)`` of each unexpected exception of a reader: that
    page has a ``reader_error`` reading; when the loader itself raised, the
    rest of the file is missing too.
    """

    file_index: int
    source: str
    readings: tuple[tuple[str, SheetReading], ...]
    errors: tuple[tuple[int, str], ...] = ()
    #: What review needs of each page the pipeline sent to review (ljun.review).
    review_images: tuple[CapturedPage, ...] = ()


def _pipeline() -> tuple[Callable[..., SheetAnalysis], Callable[..., SheetReading]]:
    # Imported on first use: worker processes and ``--help`` do not pay for
    # the reading stack before it is needed.
    from .pipeline import analyse_sheet, reading_from_failure

    return analyse_sheet, reading_from_failure


def _reader_error(source: str, page: int, template: Template) -> SheetReading:
    # Built here rather than by the pipeline, which is what just failed.
    return SheetReading(
        source=source,
        page=page,
        template=template.id,
        flags=(READER_ERROR,),
        review=True,
        failure=READER_ERROR,
    )


def read_file(
    path: str | os.PathLike[str],
    *,
    file_index: int,
    template: Template,
    calibration: Calibration,
    on_page: Callable[[int], None] | None = None,
) -> FileResult:
    """Load and read every page of one scan file.

    ``on_page`` (progress display) is called with 1 after each page.

    Never raises for file or page content: load failures become failure
    readings (:func:`ljun.pipeline.reading_from_failure`).  An unexpected
    exception of a reader (a bug, not bad content) is caught and recorded
    as a ``reader_error`` reading of that page, with the exception's text in
    :attr:`FileResult.errors`, so one bad page never stops a batch of
    thousands; reading goes on with the next page (or, when the loader
    itself raised, with the next file).
    """
    analyse_sheet, reading_from_failure = _pipeline()
    source = str(path)
    digest = file_digest(path)
    readings: list[tuple[str, SheetReading]] = []
    captured: list[CapturedPage] = []
    errors: list[tuple[int, str]] = []
    pages = iter_file_pages(path)
    next_page = 1
    while True:
        try:
            item = next(pages, None)
        except Exception as exc:  # noqa: BLE001 -- recorded as a failure reading, see docstring
            errors.append((next_page, f"{type(exc).__name__}: {exc}; later pages not read"))
            readings.append(
                (
                    page_hash(digest, next_page, source=source),
                    _reader_error(source, next_page, template),
                )
            )
            break
        if item is None:
            break
        identity = page_hash(digest, item.page, source=source)
        try:
            if isinstance(item, PageFailure):
                reading = reading_from_failure(item, template)
            else:
                analysis = analyse_sheet(item, template, calibration)
                reading = analysis.reading
                if reading.review and digest:
                    from .review._images import capture_page  # with the reading stack

                    captured.append(capture_page(item, analysis, template, identity, digest))
        except Exception as exc:  # noqa: BLE001 -- recorded as a failure reading, see docstring
            errors.append((item.page, f"{type(exc).__name__}: {exc}"))
            reading = _reader_error(source, item.page, template)
        readings.append((identity, reading))
        next_page = item.page + 1
        if on_page is not None:
            on_page(1)
    return FileResult(file_index, source, tuple(readings), tuple(errors), tuple(captured))


# Per worker process: what every task of the pool needs, sent once.
_WORKER_STATE: dict[str, Any] = {}


def _init_worker(template: Template, calibration: Calibration, page_ticks: Any) -> None:
    try:
        import cv2

        # One process per core already: OpenCV's own threads would only compete.
        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - opencv is a dependency
        pass
    quiet_tifffile()
    _WORKER_STATE["template"] = template
    _WORKER_STATE["calibration"] = calibration
    _WORKER_STATE["on_page"] = lambda pages: page_ticks.put(pages)


def _read_file_in_worker(path: str, file_index: int) -> FileResult:
    return read_file(
        path,
        file_index=file_index,
        template=_WORKER_STATE["template"],
        calibration=_WORKER_STATE["calibration"],
        on_page=_WORKER_STATE["on_page"],
    )


def iter_file_results(
    files: Sequence[str | os.PathLike[str]],
    *,
    template: Template,
    calibration: Calibration,
    workers: int = 1,
    on_file_done: Callable[[FileResult], None] | None = None,
    on_pages: Callable[[int], None] | None = None,
) -> Iterator[FileResult]:
    """Read ``files``, in ``workers`` processes, and yield the results in file order.

    ``on_file_done`` is called as each file finishes and ``on_pages`` with
    the number of pages read since its last call (both in completion order,
    for progress display); the results themselves come out in the order of
    ``files``.  ``workers=1`` reads in this process.

    Raises
    ------
    BatchError
        When a worker process dies (killed, out of memory).
    """
    if workers <= 1 or len(files) <= 1:
        for index, path in enumerate(files):
            result = read_file(
                path, file_index=index, template=template, calibration=calibration, on_page=on_pages
            )
            if on_file_done is not None:
                on_file_done(result)
            yield result
        return

    # forkserver: workers start from a clean process, not a fork of one
    # that may already run threads (progress display, OpenCV).
    context = multiprocessing.get_context("forkserver")
    page_ticks = context.Queue()
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=min(workers, len(files)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(template, calibration, page_ticks),
    )

    def report_pages() -> None:
        pages = 0
        while True:
            try:
                pages += page_ticks.get_nowait()
            except queue.Empty:
                break
        if pages and on_pages is not None:
            on_pages(pages)

    try:
        futures = {
            pool.submit(_read_file_in_worker, str(path), index): index
            for index, path in enumerate(files)
        }
        pending = set(futures)
        waiting: dict[int, FileResult] = {}
        next_index = 0
        while pending:
            done, pending = concurrent.futures.wait(
                pending, timeout=_PROGRESS_POLL_S, return_when=concurrent.futures.FIRST_COMPLETED
            )
            report_pages()
            for future in sorted(done, key=futures.__getitem__):
                try:
                    result = future.result()
                except concurrent.futures.process.BrokenProcessPool as exc:
                    raise BatchError(
                        f"a worker process died while reading {files[futures[future]]} ({exc}); "
                        "run again with --workers 1 to see the page that kills it"
                    ) from None
                if on_file_done is not None:
                    on_file_done(result)
                waiting[result.file_index] = result
            while next_index in waiting:
                yield waiting.pop(next_index)
                next_index += 1
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        report_pages()
        page_ticks.close()


# --------------------------------------------------------------------------- attendance


@dataclass(frozen=True)
class Attendance:
    """Who is on the attendance lists (daftar hadir) of a batch.

    Attributes
    ----------
    listed : frozenset of str
        Every participant number on the lists (display form).
    marked_absent : frozenset of str
        Those a list's ``hadir`` column marks absent and no list marks
        present (a subset of ``listed``): a participant absent from the main
        sitting who sat the Susulan is present.
    """

    listed: frozenset[str]
    marked_absent: frozenset[str] = frozenset()


# Values of the optional ``hadir`` column: present, or absent (tidak hadir,
# and the register's S/I/A: sakit, izin, alpa).  Empty means not recorded.
_HADIR_PRESENT = frozenset({"ya", "y", "hadir", "h", "yes", "true", "1"})
_HADIR_ABSENT = frozenset(
    {
        "tidak",
        "t",
        "tidak hadir",
        "absen",
        "alpa",
        "a",
        "sakit",
        "s",
        "izin",
        "i",
        "no",
        "n",
        "false",
        "0",
    }
)


def attendance_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The attendance list files under ``paths``: files as given, folders' ``*.csv`` sorted."""
    found: list[Path] = []
    for path in map(Path, paths):
        found += sorted(path.glob("*.csv")) if path.is_dir() else [path]
    return found


def load_attendance(paths: Iterable[str | os.PathLike[str]]) -> Attendance:
    """Read attendance list CSVs (one per room or envelope), or folders of them.

    Each file needs a header with a ``nomor_peserta`` column; an optional
    ``hadir`` column says who was present (``ya``/``tidak``, ``H``/``S``/``I``/``A``).
    Other columns are ignored; the delimiter may be ``,`` or ``;``; blank
    lines are skipped.

    Raises
    ------
    AttendanceError
        For a file that cannot be read, no ``nomor_peserta`` column, a value
        that is not 14 digits or an unknown ``hadir`` value, naming the file
        and line.
    """
    listed: set[str] = set()
    absent: set[str] = set()
    present: set[str] = set()
    for path in attendance_files(paths):
        name = os.fspath(path)
        try:
            text = Path(name).read_text("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise AttendanceError(f"attendance list {name}: cannot be read: {exc}") from None
        first_line = text.split("\n", 1)[0]
        delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        header = [cell.strip().lower() for cell in next(reader, [])]
        if ATTENDANCE_COLUMN not in header:
            raise AttendanceError(
                f"attendance list {name} line 1: no {ATTENDANCE_COLUMN} column "
                f"(fix: a header line naming the columns, one of them {ATTENDANCE_COLUMN})"
            )
        column = header.index(ATTENDANCE_COLUMN)
        hadir = header.index(HADIR_COLUMN) if HADIR_COLUMN in header else None
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            value = row[column].strip() if column < len(row) else ""
            nomor = normalise_nomor_peserta(value)
            if nomor is None:
                raise AttendanceError(
                    f"attendance list {name} line {reader.line_num}: {value!r} is not a "
                    f"nomor peserta (fix: 14 digits, e.g. 4-12-01-02-001-005-0)"
                )
            listed.add(nomor)
            mark = row[hadir].strip().lower() if hadir is not None and hadir < len(row) else ""
            if mark in _HADIR_ABSENT:
                absent.add(nomor)
            elif mark in _HADIR_PRESENT:
                present.add(nomor)
            elif mark:
                raise AttendanceError(
                    f"attendance list {name} line {reader.line_num}: hadir {mark!r} is neither "
                    "present nor absent (fix: write ya or tidak, or H, S, I, A)"
                )
    # Absent from the main sitting but present at the Susulan: present.
    return Attendance(frozenset(listed), frozenset(absent - present))


# --------------------------------------------------------------------------- reconciliation


@dataclass(frozen=True)
class SheetSummary:
    """What reconciliation and the summary need of one scored sheet (kept in memory).

    ``seq`` is the sheet's staging number in the store's batch writer.
    """

    seq: int
    file_index: int
    source: str
    page: int
    nomor_peserta: str
    barcode: str
    paket: str
    score: Decimal | None
    flags: tuple[str, ...]
    review: bool
    failed: bool

    @classmethod
    def of(cls, scored: ScoredSheet, *, seq: int, file_index: int) -> SheetSummary:
        reading = scored.reading
        return cls(
            seq,
            file_index,
            reading.source,
            reading.page,
            reading.nomor_peserta,
            reading.barcode,
            scored.key.paket if scored.key else reading.paket,
            scored.score,
            scored.flags,
            scored.review,
            reading.failure is not None,
        )


@dataclass(frozen=True)
class Reconciliation:
    """What :func:`reconcile` found.

    Attributes
    ----------
    flags : mapping of int to tuple of str
        Flags to add, by sheet ``seq``; such sheets go to review.
    entries : tuple of ReconciliationEntry
        Findings to store and show (duplicates, absent, not on the list).
    absent : tuple of str
        Participants on the attendance lists without a sheet (marked absent
        or not), sorted.
    """

    flags: Mapping[int, tuple[str, ...]]
    entries: tuple[ReconciliationEntry, ...]
    absent: tuple[str, ...] = ()


def _complete(identity: str) -> bool:
    return bool(identity) and "?" not in identity


def reconcile(
    sheets: Sequence[SheetSummary], attendance: Attendance | None = None
) -> Reconciliation:
    """Find duplicates and attendance mismatches among a batch's sheets.

    Parameters
    ----------
    sheets : sequence of SheetSummary
        The batch's sheets in file-and-page order.
    attendance : Attendance, optional
        The attendance lists; ``None`` when none was given.

    Returns
    -------
    Reconciliation
        Flags: ``duplicate_nomor_peserta``, ``duplicate_barcode``,
        ``not_on_attendance`` (nomor on no list), ``marked_absent`` (a sheet
        of someone the list marks absent).  Entries: those, plus ``absent``
        (marked absent, no sheet) and ``missing_sheet`` (listed and not
        marked absent, but no sheet with that nomor).  Only fully read
        identities take part: a nomor peserta with ``?`` is already in
        review and cannot be matched.
    """
    flags: defaultdict[int, list[str]] = defaultdict(list)
    entries: list[ReconciliationEntry] = []

    def add(kind: str, sheet: SheetSummary, detail: str) -> None:
        flags[sheet.seq].append(kind)
        entries.append(
            ReconciliationEntry(
                kind=kind,
                source=sheet.source,
                page=sheet.page,
                nomor_peserta=sheet.nomor_peserta,
                barcode=sheet.barcode,
                detail=detail,
            )
        )

    for attribute, flag in (
        ("nomor_peserta", "duplicate_nomor_peserta"),
        ("barcode", "duplicate_barcode"),
    ):
        groups: defaultdict[str, list[SheetSummary]] = defaultdict(list)
        for sheet in sheets:
            value = getattr(sheet, attribute)
            if _complete(value):
                groups[value].append(sheet)
        for group in groups.values():
            if len(group) > 1:
                for sheet in group:
                    others = "; ".join(f"{o.source} page {o.page}" for o in group if o is not sheet)
                    add(flag, sheet, f"also on {others}")
    absent: tuple[str, ...] = ()
    if attendance is not None:
        for sheet in sheets:
            if not _complete(sheet.nomor_peserta):
                continue
            if sheet.nomor_peserta not in attendance.listed:
                add("not_on_attendance", sheet, "nomor peserta on no attendance list")
            elif sheet.nomor_peserta in attendance.marked_absent:
                add("marked_absent", sheet, "the attendance list marks this participant absent")
        scanned = {sheet.nomor_peserta for sheet in sheets}
        absent = tuple(sorted(attendance.listed - scanned))
        for number in absent:
            if number in attendance.marked_absent:
                entries.append(
                    ReconciliationEntry(
                        kind="absent",
                        nomor_peserta=number,
                        detail="marked absent on the attendance list, no sheet",
                    )
                )
            else:
                entries.append(
                    ReconciliationEntry(
                        kind="missing_sheet",
                        nomor_peserta=number,
                        detail="on the attendance list, no sheet read with this nomor peserta",
                    )
                )
    return Reconciliation({seq: tuple(f) for seq, f in flags.items()}, tuple(entries), absent)


def _file_entries(sheets: Sequence[SheetSummary]) -> list[ReconciliationEntry]:
    per_file: dict[int, list[SheetSummary]] = defaultdict(list)
    for sheet in sheets:
        per_file[sheet.file_index].append(sheet)
    entries = []
    for index in sorted(per_file):
        group = per_file[index]
        counts = {
            "pages": len(group),
            "scored": sum(s.score is not None for s in group),
            "review": sum(s.review for s in group),
            "failed": sum(s.failed for s in group),
        }
        entries.append(
            ReconciliationEntry(
                kind="file_pages", source=group[0].source, detail=json.dumps(counts)
            )
        )
    return entries


def flag_reason(flag: str) -> str:
    """A flag without its item or column numbers: the reason it stands for.

    >>> flag_reason("answer_unsure:12"), flag_reason("unsure:nama:6"), flag_reason("no_key:S")
    ('answer_unsure', 'unsure:nama', 'no_key:S')
    """
    return ":".join(part for part in flag.split(":") if not part.isdigit())


def summarise(sheets: Sequence[SheetSummary]) -> dict[str, Any]:
    """Counts of a batch (or rescore) for people and for the store.

    Returns a JSON-ready dict: ``sheets``, ``scored``, ``review``,
    ``failed``, ``reasons`` (flag -> sheets carrying it, most frequent
    first; item and column numbers dropped, so ``answer_unsure:12`` and
    ``answer_unsure:30`` count as ``answer_unsure``, see :func:`flag_reason`),
    ``pakets`` (paket -> ``sheets``, ``scored``, ``mean`` of the
    scored sheets as 2-decimal text, rounded half up).
    """
    reasons: Counter[str] = Counter()
    per_paket: dict[str, dict[str, Any]] = {}
    totals: defaultdict[str, Decimal] = defaultdict(Decimal)
    for sheet in sheets:
        reasons.update({flag_reason(flag) for flag in sheet.flags})
        paket = sheet.paket if sheet.paket in PAKETS else "?"
        entry = per_paket.setdefault(paket, {"sheets": 0, "scored": 0, "mean": None})
        entry["sheets"] += 1
        if sheet.score is not None:
            entry["scored"] += 1
            totals[paket] += sheet.score
    for paket, entry in per_paket.items():
        if entry["scored"]:
            entry["mean"] = format(round_half_up(totals[paket] / entry["scored"]), "f")
    order = list(PAKETS) + ["?"]
    return {
        "sheets": len(sheets),
        "scored": sum(s.score is not None for s in sheets),
        "review": sum(s.review for s in sheets),
        "failed": sum(s.failed for s in sheets),
        "reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "pakets": {p: per_paket[p] for p in order if p in per_paket},
    }


# --------------------------------------------------------------------------- batch


@dataclass(frozen=True)
class BatchResult:
    """The outcome of :func:`run_batch`.

    ``summary`` is :func:`summarise`'s dict plus ``files``, ``pages``,
    ``duplicate_pages``, ``reader_errors``, ``absent``,
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
    attendance: Attendance | None = None,
    arguments: Mapping[str, Any] | None = None,
    on_file_done: Callable[[FileResult], None] | None = None,
    on_files: Callable[[int], None] | None = None,
    on_pages: Callable[[int], None] | None = None,
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
    attendance : Attendance, optional
        The attendance lists (:func:`load_attendance`).
    arguments : mapping, optional
        Stored with the batch (the command line, for the record).
    on_file_done : callable, optional
        Called with each :class:`FileResult` as it finishes (progress).
    on_files : callable, optional
        Called once with the number of files found, before reading starts.
    on_pages : callable, optional
        Called with the number of pages read since the last call (progress).

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
    from .review._images import save_review_images
    from .review.decisions import DecidedSheets

    # Pages people already decided keep their decisions when read again.
    decided = DecidedSheets.load(store.connection)
    writer = store.begin_batch(
        kind="score", template=template.id, arguments=arguments, calibration=calibration.identity
    )
    try:
        sheets: list[SheetSummary] = []
        seen_pages: dict[str, tuple[str, int]] = {}
        page_entries: list[ReconciliationEntry] = []  # duplicate pages, reader errors
        for result in iter_file_results(
            files,
            template=template,
            calibration=calibration,
            workers=workers,
            on_file_done=on_file_done,
            on_pages=on_pages,
        ):
            page_entries += [
                ReconciliationEntry(
                    kind=READER_ERROR, source=result.source, page=page, detail=detail
                )
                for page, detail in result.errors
            ]
            save_review_images(store, result.review_images)
            for identity, reading in result.readings:
                first = seen_pages.get(identity)
                if first is not None:
                    page_entries.append(
                        ReconciliationEntry(
                            kind="duplicate_page",
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
        del seen_pages

        found = reconcile(sheets, attendance)
        for seq, flags in found.flags.items():
            writer.flag(seq, flags)
        sheets = [
            _flagged(sheet, found.flags[sheet.seq]) if sheet.seq in found.flags else sheet
            for sheet in sheets
        ]
        summary = _batch_summary(
            sheets, files, page_entries, found, attendance, elapsed=time.perf_counter() - started
        )
        entries = tuple(_file_entries(sheets) + page_entries + list(found.entries))
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
            "pages": len(sheets) + kinds["duplicate_page"],
            "duplicate_pages": kinds["duplicate_page"],
            "reader_errors": kinds[READER_ERROR],
            "duplicate_nomor_peserta": kinds["duplicate_nomor_peserta"],
            "duplicate_barcode": kinds["duplicate_barcode"],
            "not_on_attendance": kinds["not_on_attendance"],
            "marked_absent": kinds["marked_absent"],
            "absent": kinds["absent"],
            "missing_sheet": kinds["missing_sheet"],
            "unread_nomor_peserta": sum(
                1 for s in sheets if not s.failed and not _complete(s.nomor_peserta)
            ),
            "attendance_listed": None if attendance is None else len(attendance.listed),
            "seconds": round(elapsed, 3),
            "sheets_per_second": round(len(sheets) / elapsed, 2) if elapsed > 0 else None,
        }
    )
    return summary


def _flagged(sheet: SheetSummary, flags: tuple[str, ...]) -> SheetSummary:
    merged = sheet.flags + tuple(f for f in flags if f not in sheet.flags)
    return SheetSummary(
        sheet.seq,
        sheet.file_index,
        sheet.source,
        sheet.page,
        sheet.nomor_peserta,
        sheet.barcode,
        sheet.paket,
        sheet.score,
        merged,
        True,
        sheet.failed,
    )


# --------------------------------------------------------------------------- rescoring


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
    from .review.decisions import acknowledged_flags, settle

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
