"""Reading many files at once: an executor runs :func:`read_file` per file.

By default files are spread over ``workers`` local processes (a
:class:`~concurrent.futures.ProcessPoolExecutor` whose workers receive the
template and calibration once); any other :class:`concurrent.futures.Executor`
(a thread pool in a test, a Dask client's executor) can be injected instead.
Results come back **in file order** whatever order the workers finish in, so
the store, the exports and the summary are the same for any executor.

Local worker processes die with the process that started them: each watches
it from a daemon thread (:func:`_watch_main_process`) and exits as soon as it
is gone, however it died (``kill -9`` included), taking the forkserver that
started it along.

A multi-page TIFF or PDF of more than :data:`PART_PAGES` pages is read as
page ranges by several tasks (one of them hashes the file), and its parts are
joined back into one :class:`FileResult` in page order: one 500-page file
keeps every core busy.

:func:`start_reading` starts the workers and submits every task at once,
before the pages are counted and before its caller prepares the store, so
those overlap with the reading; :func:`iter_file_results` is the same as a
generator.
"""

from __future__ import annotations

import concurrent.futures
import gc
import multiprocessing
import os
import select
import signal
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..calibration import Calibration
from ..errors import BatchError, LjunError
from ..load import quiet_tifffile
from ..template import Template
from ..vocabulary import NEW_STORE_DIGEST, DigestAlgorithm
from ._reading import FileResult, read_file, with_digest

__all__ = [
    "default_workers",
    "iter_file_results",
    "PART_PAGES",
    "plan_parts",
    "Reading",
    "start_reading",
    "start_worker_server",
]

# How often the progress display hears about pages read in worker processes.
_PROGRESS_POLL_S = 0.2

# How often a worker checks that the main process is alive where it cannot
# wait on a pidfd (not Linux): seconds.
_MAIN_PROCESS_POLL_S = 1.0

# Exit status of a worker whose main process died (128 + SIGHUP, as a shell would).
_ORPHAN_EXIT_STATUS = 128 + signal.SIGHUP

# The command line of multiprocessing's forkserver (the workers' parent).
_FORKSERVER_MARK = b"multiprocessing.forkserver"

#: Pages per task when one file is shared across workers.  An envelope (at
#: most 20 sheets plus a blank or a cover page) stays whole (but at the
#: batch's end, see :func:`plan_parts`); a 500-page scan becomes 20 tasks,
#: enough to keep 2-16 cores evenly busy.
PART_PAGES = 25
#: A small batch is cut so that each worker gets about this many tasks
#: (the last ones end at about the same time), in ranges of at least
#: MIN_PART_PAGES pages (each range opens the file again).
TASKS_PER_WORKER = 4
MIN_PART_PAGES = 5

_MAGIC_MULTI_PAGE = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+", b"%PDF")


def _page_count(path: str) -> int | None:
    """Pages of a multi-page TIFF or PDF from its structure; None for other files
    or when the structure cannot be read (the file is then read whole, and its
    loader reports what is wrong)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError:
        return None
    if not head.startswith(_MAGIC_MULTI_PAGE):
        return None
    try:
        if head.startswith(b"%PDF"):
            from .._pdf import pdf_page_count

            return pdf_page_count(path)
        import tifffile

        with tifffile.TiffFile(path) as tif:
            tif.pages.cache = False
            return len(tif.pages)
    except (LjunError, ValueError, OSError, RuntimeError, IndexError, KeyError, struct.error):
        return None


def _may_have_pages(path: str | os.PathLike[str]) -> bool:
    """Whether the file starts as a TIFF or a PDF (without reading its pages)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(4).startswith(_MAGIC_MULTI_PAGE)
    except OSError:
        return False


def plan_parts(
    files: Sequence[str | os.PathLike[str]], *, part_pages: int = PART_PAGES, workers: int = 1
) -> list[tuple[int, str, range | None]]:
    """The tasks of a batch: ``(file_index, path, pages)`` in file and page order.

    ``pages`` is None (the whole file) except for files of more than
    ``part_pages`` pages, which get one task per range of ``part_pages``.
    A batch too small to give ``workers`` about ``TASKS_PER_WORKER`` tasks
    each that way (three envelopes on two cores: one core would read two
    of them while the other waits) is cut in smaller ranges, down to
    ``MIN_PART_PAGES``.  With several workers, the batch's last
    ``workers * part_pages`` pages are cut in ranges of ``MIN_PART_PAGES``
    too, so that the workers end together: otherwise one core reads the
    last envelope alone (a tenth of the time of 200 pages on two cores).
    Only those pages: the rest of a file that ends the batch (a 500-page
    scan) keeps ranges of ``part_pages`` (each range opens the file again).
    """
    counts = [_page_count(str(path)) for path in files]
    if workers > 1:
        total = sum(count or 1 for count in counts)
        balanced = -(-total // (TASKS_PER_WORKER * workers))  # ceiling
        part_pages = min(part_pages, max(balanced, MIN_PART_PAGES))
    # Pages from the end of the batch to the end of each file.
    to_end = np.cumsum([count or 1 for count in counts][::-1])[::-1]
    tasks: list[tuple[int, str, range | None]] = []
    for index, (path, count) in enumerate(zip(files, counts)):
        # The file's first page in the batch's tail (its last
        # ``workers * part_pages`` pages); ``count`` when none is.
        tail = count or 0
        if workers > 1 and count:
            tail = _tail_start(count, int(to_end[index]), workers * part_pages)
        if count is None or (count <= part_pages and tail == count) or count <= MIN_PART_PAGES:
            tasks.append((index, str(path), None))
            continue
        starts = [*range(0, tail, part_pages), *range(tail, count, MIN_PART_PAGES)]
        tasks += [
            (index, str(path), range(start, end))
            for start, end in zip(starts, starts[1:] + [count])
        ]
    return tasks


def _tail_start(count: int, to_end: int, tail_pages: int) -> int:
    """The first page (0-based) of a ``count``-page file that lies in the last
    ``tail_pages`` pages of a batch, when ``to_end`` pages are left from the
    file's first page to the batch's end; ``count`` when none does.  Moved
    back to a whole number of ``MIN_PART_PAGES`` ranges from the file's end."""
    start = min(count, max(0, to_end - tail_pages))
    fine = -(-(count - start) // MIN_PART_PAGES) * MIN_PART_PAGES  # ceiling
    return max(0, count - fine)


def default_workers() -> int:
    """Worker processes used when none are asked for: one per core."""
    return os.cpu_count() or 1


# Per worker process: what every task of the pool needs, sent once.
_WORKER_STATE: dict[str, Any] = {}


def _main_process_gone(main_pid: int) -> None:
    """Block until process ``main_pid`` has exited."""
    try:
        pidfd = os.pidfd_open(main_pid)
    except (AttributeError, OSError):
        pidfd = None
    if pidfd is not None:
        # Readable once the process has exited: no polling, no pid reuse.
        select.select([pidfd], [], [])
        return
    while True:
        try:
            os.kill(main_pid, 0)
        except ProcessLookupError:
            return
        except PermissionError:
            pass  # alive, someone else's (cannot happen for our own parent chain)
        threading.Event().wait(_MAIN_PROCESS_POLL_S)


def _stop_forkserver() -> None:
    """Stop this worker's parent when it is multiprocessing's forkserver."""
    parent = os.getppid()
    try:
        with open(f"/proc/{parent}/cmdline", "rb") as handle:
            is_forkserver = _FORKSERVER_MARK in handle.read()
    except OSError:
        return
    if is_forkserver:
        try:
            os.kill(parent, signal.SIGTERM)
        except OSError:
            return


def _watch_main_process(main_pid: int) -> None:
    """Exit this worker as soon as the main process ``main_pid`` is gone.

    The worker's parent is the forkserver, not the main process, so nothing
    else tells it; a killed ``ljun score`` would otherwise leave its workers
    (and the forkserver, about 250 MB) running for ever.
    """

    def watch() -> None:
        _main_process_gone(main_pid)
        _stop_forkserver()
        os._exit(_ORPHAN_EXIT_STATUS)

    threading.Thread(target=watch, name="ljun-main-watch", daemon=True).start()


def _init_worker(
    template: Template, calibration: Calibration, pages_read: Any, main_pid: int | None = None
) -> None:
    if main_pid is not None:
        _watch_main_process(main_pid)
    try:
        import cv2

        # One process per core already: OpenCV's own threads would only compete.
        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - opencv is a dependency
        pass
    quiet_tifffile()
    _WORKER_STATE["template"] = template
    _WORKER_STATE["calibration"] = calibration
    _WORKER_STATE["on_page"] = lambda pages: _count_pages(pages_read, pages)
    _freeze_startup_objects()


def _freeze_startup_objects() -> None:
    """Keep what a reading process holds before its first page (modules,
    template, calibration: some 50,000 objects) out of the garbage
    collector's full collections from now on (``gc.freeze``).

    Those objects live as long as the process; without this, each full
    collection during a batch walks them all again (34 ms of CPU per 100
    gray pages, one worker).  Nothing read changes: only what the
    collector looks at.  Once per process: a process that reads batch after
    batch (``ljun watch``) would otherwise also freeze, for good, whatever
    garbage was waiting for the collector at the start of each.
    """
    if not _FROZEN:
        gc.freeze()
        _FROZEN.append(True)


# Whether this process froze its start-up objects (_freeze_startup_objects).
_FROZEN: list[bool] = []


def _count_pages(pages_read: Any, pages: int) -> None:
    with pages_read.get_lock():
        pages_read.value += pages


def _read_file_in_worker(
    path: str,
    file_index: int,
    pages: range | None = None,
    hash_file: bool = True,
    digest_algorithm: DigestAlgorithm = NEW_STORE_DIGEST,
    known_digest: str = "",
) -> FileResult:
    return read_file(
        path,
        file_index=file_index,
        template=_WORKER_STATE["template"],
        calibration=_WORKER_STATE["calibration"],
        on_page=_WORKER_STATE["on_page"],
        pages=pages,
        hash_file=hash_file,
        digest_algorithm=digest_algorithm,
        known_digest=known_digest,
    )


def iter_file_results(
    files: Sequence[str | os.PathLike[str]],
    *,
    template: Template,
    calibration: Calibration,
    workers: int = 1,
    executor: concurrent.futures.Executor | None = None,
    on_file_done: Callable[[FileResult], None] | None = None,
    on_pages: Callable[[int], None] | None = None,
    part_pages: int = PART_PAGES,
    digest_algorithm: DigestAlgorithm = NEW_STORE_DIGEST,
    known_digests: Mapping[str, str] | None = None,
) -> Iterator[FileResult]:
    """Read ``files`` and yield the results in file order.

    Parameters
    ----------
    files : sequence of str or PathLike
    template, calibration
        What the sheets are read with.
    workers : int, optional
        Local worker processes when no ``executor`` is given; ``1`` reads in
        this process.
    executor : concurrent.futures.Executor, optional
        Runs :func:`read_file` for each file instead of local processes (its
        tasks receive the template and calibration as arguments).  It is not
        shut down here: the caller owns it.
    on_file_done : callable, optional
        Called with each :class:`FileResult` as it finishes (completion order).
    on_pages : callable, optional
        Called with the number of pages read since its last call, for a
        progress display (per page with local processes, per file with an
        injected executor).
    part_pages : int, optional
        Files of more pages are shared across workers in ranges of this
        many pages (see :func:`plan_parts`); each file still comes back as
        one :class:`FileResult`.
    digest_algorithm : {"blake3", "sha256"}, optional
        The file digest of the results store the pages go to.
    known_digests : mapping of str to str, optional
        Digests the caller has computed already, by ``str(path)``: those
        files are not hashed again.

    Raises
    ------
    BatchError
        When a worker dies (killed, out of memory) or the executor breaks.

    See Also
    --------
    start_reading : the same, with the workers started at the call.
    """
    with start_reading(
        files,
        template=template,
        calibration=calibration,
        workers=workers,
        executor=executor,
        on_file_done=on_file_done,
        on_pages=on_pages,
        part_pages=part_pages,
        digest_algorithm=digest_algorithm,
        known_digests=known_digests,
    ) as reading:
        yield from reading.results()


def start_reading(
    files: Sequence[str | os.PathLike[str]],
    *,
    template: Template,
    calibration: Calibration,
    workers: int = 1,
    executor: concurrent.futures.Executor | None = None,
    on_file_done: Callable[[FileResult], None] | None = None,
    on_pages: Callable[[int], None] | None = None,
    part_pages: int = PART_PAGES,
    digest_algorithm: DigestAlgorithm = NEW_STORE_DIGEST,
    known_digests: Mapping[str, str] | None = None,
) -> Reading:
    """Start reading ``files`` now; :meth:`Reading.results` yields them in file order.

    As :func:`iter_file_results` (same parameters), but the worker processes
    are started and the tasks submitted before this returns, so the caller's
    own preparations (opening the store, loading earlier decisions) overlap
    with the reading instead of preceding it.  Use it as a context manager
    (or call :meth:`Reading.close`): leaving stops the workers.
    """
    reading = Reading(
        files,
        template=template,
        calibration=calibration,
        on_file_done=on_file_done,
        on_pages=on_pages,
        digest_algorithm=digest_algorithm,
        known_digests=known_digests or {},
    )
    try:
        reading._start(workers, executor, part_pages)
    except BaseException:
        reading.close()
        raise
    return reading


class Reading:
    """A batch's files being read (see :func:`start_reading`)."""

    def __init__(
        self,
        files: Sequence[str | os.PathLike[str]],
        *,
        template: Template,
        calibration: Calibration,
        on_file_done: Callable[[FileResult], None] | None,
        on_pages: Callable[[int], None] | None,
        digest_algorithm: DigestAlgorithm,
        known_digests: Mapping[str, str],
    ) -> None:
        self._files = list(files)
        self._template = template
        self._calibration = calibration
        self._on_file_done = on_file_done or (lambda result: None)
        self._on_pages = on_pages
        self._digest_algorithm = digest_algorithm
        self._known = known_digests
        self._tasks: list[tuple[int, str, range | None]] = []
        self._futures: dict[concurrent.futures.Future[FileResult], int] = {}
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._pages_read: Any = None  # the workers' shared count
        self._pages_reported = 0
        self._on_wake: Callable[[], None] = lambda: None

    def __enter__(self) -> Reading:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start(
        self, workers: int, executor: concurrent.futures.Executor | None, part_pages: int
    ) -> None:
        if executor is None and workers > 1:
            # Workers start (fork, receive the template, warm up) on the
            # other cores while this process counts the pages of the files
            # (500 page headers of one large scan).
            if len(self._files) > 1:
                self._start_pool(workers, warm=min(workers, len(self._files)))
            elif _may_have_pages(self._files[0]):
                self._start_pool(workers, warm=workers)
        if executor is not None or workers > 1:
            # Counting pages opens every multi-page file: only worth it when
            # they can be shared.
            self._tasks = plan_parts(self._files, part_pages=part_pages, workers=workers)
        if executor is None and len(self._tasks) <= 1:
            self._tasks = []  # read in this process, by results()
            self.close(wait=False)  # the workers started for nothing end on their own
            return
        if executor is None:
            if self._pool is None:
                self._start_pool(workers, warm=0)
            executor = self._pool
            assert executor is not None
            self._futures = {
                executor.submit(
                    _read_file_in_worker,
                    path,
                    index,
                    pages,
                    _hashes_file(pages),
                    self._digest_algorithm,
                    self._known.get(str(path), ""),
                ): number
                for number, (index, path, pages) in enumerate(self._tasks)
            }
            return
        # Keyed by task number: task order is file order, then page order.
        self._futures = {
            executor.submit(
                read_file,
                path,
                file_index=index,
                template=self._template,
                calibration=self._calibration,
                pages=pages,
                hash_file=_hashes_file(pages),
                digest_algorithm=self._digest_algorithm,
                known_digest=self._known.get(str(path), ""),
            ): number
            for number, (index, path, pages) in enumerate(self._tasks)
        }
        on_pages, on_file_done = self._on_pages, self._on_file_done

        def done(result: FileResult) -> None:
            if on_pages is not None:
                on_pages(len(result.readings))
            on_file_done(result)

        self._on_file_done = done

    def _start_pool(self, workers: int, *, warm: int) -> None:
        context = _worker_context()
        # A counter in shared memory, not a queue: a page read costs the
        # worker a lock and an addition, the main process nothing (it reads
        # the count when it wakes up).
        self._pages_read = context.Value("q", 0)
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(self._template, self._calibration, self._pages_read, os.getpid()),
        )
        # Each submission starts a worker while none is idle (forkserver).
        for _ in range(warm):
            self._pool.submit(_warm_up_worker)
        self._on_wake = self._report_pages

    def _report_pages(self) -> None:
        read = int(self._pages_read.value)
        pages, self._pages_reported = read - self._pages_reported, read
        if pages and self._on_pages is not None:
            self._on_pages(pages)

    def results(self) -> Iterator[FileResult]:
        """Every file's result in file order (parts joined); ``on_file_done``
        is called in completion order.

        Raises
        ------
        BatchError
            When a worker dies (killed, out of memory) or the executor breaks.
        """
        if not self._futures:
            yield from self._read_here()
            return
        try:
            yield from _in_file_order(
                self._tasks, self._futures, on_done=self._on_file_done, on_wake=self._on_wake
            )
        finally:
            self.close()

    def _read_here(self) -> Iterator[FileResult]:
        _freeze_startup_objects()
        for index, path in enumerate(self._files):
            result = read_file(
                path,
                file_index=index,
                template=self._template,
                calibration=self._calibration,
                on_page=self._on_pages,
                digest_algorithm=self._digest_algorithm,
                known_digest=self._known.get(str(path), ""),
            )
            self._on_file_done(result)
            yield result

    def close(self, *, wait: bool = True) -> None:
        """Cancel what has not started and stop the workers (idempotent);
        with ``wait``, return once they have exited."""
        for future in self._futures:
            future.cancel()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
            self._report_pages()


def _warm_up_worker() -> None:
    """Nothing but start a worker (its initializer) and build the sampling
    pattern it reads every page with, while the main process plans."""
    from ..read import sampling_pattern
    from ..register import REFERENCE_DPI

    sampling_pattern(_WORKER_STATE["template"], REFERENCE_DPI)


def _hashes_file(pages: range | None) -> bool:
    # Of a file read in parts, the first part hashes it.
    return pages is None or pages.start == 0


# What the process workers fork from imports once: the reading stack and the
# decoders of the page formats and the barcode (tifffile, PDFium, zbar, the
# Code 128 table of python-barcode), which each worker would otherwise
# import at its first page.
WORKER_PRELOAD = (
    "ljun.pipeline",
    "ljun.batch._reading",
    "ljun._pdf",
    "tifffile",
    "pypdfium2",
    "pyzbar.pyzbar",
    "barcode.charsets.code128",
)


def _worker_context() -> Any:
    # forkserver: workers start from a clean process, not a fork of one
    # that may already run threads (progress display, OpenCV).  They are
    # forked from a server that has imported the reading stack once, instead
    # of importing it each (about 0.4 s of CPU per worker).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_PRELOAD))
    return context


def start_worker_server(*, wait: bool = False) -> None:
    """Start the process local workers fork from, now rather than at the first file.

    It imports the reading stack (0.3-0.4 s) on another core while the
    caller loads the template and keys, opens the store and lists the
    files, instead of after.  Harmless when no worker is started after all.

    With ``wait``, return only once the server has imported it (by starting
    one process from it that does nothing): ``ljun bench`` counts that as
    start-up, as it counts the imports of a one-worker run.
    """
    from multiprocessing import forkserver

    context = _worker_context()
    forkserver.ensure_running()
    if wait:
        ready = context.Process(target=os.getpid, name="ljun-worker-server-ready")
        ready.start()
        ready.join()


class _Assembly:
    """Finished tasks in, whole files out in file order (parts joined in page order)."""

    def __init__(self, tasks: Sequence[tuple[int, str, range | None]]) -> None:
        self._parts_of = Counter(index for index, _, _ in tasks)
        self._parts: dict[int, list[tuple[int, FileResult]]] = {}
        self._ready: dict[int, FileResult] = {}
        self._next = 0

    def add(self, task_number: int, result: FileResult) -> FileResult | None:
        """Take a finished task; the whole file's result once its last part is in."""
        parts = self._parts.setdefault(result.file_index, [])
        parts.append((task_number, result))
        if len(parts) < self._parts_of[result.file_index]:
            return None
        del self._parts[result.file_index]
        joined = [part for _, part in sorted(parts, key=lambda numbered: numbered[0])]
        whole = joined[0] if len(joined) == 1 else with_digest(joined, joined[0].digest)
        self._ready[whole.file_index] = whole
        return whole

    def in_order(self) -> Iterator[FileResult]:
        """Whole files that are next in file order."""
        while self._next in self._ready:
            yield self._ready.pop(self._next)
            self._next += 1


def _in_file_order(
    tasks: Sequence[tuple[int, str, range | None]],
    futures: dict[concurrent.futures.Future[FileResult], int],
    *,
    on_done: Callable[[FileResult], None],
    on_wake: Callable[[], None] = lambda: None,
) -> Iterator[FileResult]:
    """Yield whole files' results in file order; ``on_done`` in completion order.

    ``futures`` maps each future to its task number in ``tasks``.
    """
    pending = set(futures)
    assembly = _Assembly(tasks)
    while pending:
        done, pending = concurrent.futures.wait(
            pending, timeout=_PROGRESS_POLL_S, return_when=concurrent.futures.FIRST_COMPLETED
        )
        on_wake()
        for future in sorted(done, key=futures.__getitem__):
            try:
                result = future.result()
            except concurrent.futures.BrokenExecutor as exc:
                raise BatchError(
                    f"a worker process died while reading {tasks[futures[future]][1]} ({exc}); "
                    "run again with --workers 1 to see the page that kills it"
                ) from None
            whole = assembly.add(futures[future], result)
            if whole is not None:
                on_done(whole)
        yield from assembly.in_order()
