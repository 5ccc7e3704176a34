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
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import queue
import select
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..calibration import Calibration
from ..errors import BatchError
from ..load import quiet_tifffile
from ..template import Template
from ._reading import FileResult, read_file

__all__ = ["default_workers", "iter_file_results"]

# How often the progress display hears about pages read in worker processes.
_PROGRESS_POLL_S = 0.2

# How often a worker checks that the main process is alive where it cannot
# wait on a pidfd (not Linux): seconds.
_MAIN_PROCESS_POLL_S = 1.0

# Exit status of a worker whose main process died (128 + SIGHUP, as a shell would).
_ORPHAN_EXIT_STATUS = 128 + signal.SIGHUP

# The command line of multiprocessing's forkserver (the workers' parent).
_FORKSERVER_MARK = b"multiprocessing.forkserver"


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
    template: Template, calibration: Calibration, page_ticks: Any, main_pid: int | None = None
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
    executor: concurrent.futures.Executor | None = None,
    on_file_done: Callable[[FileResult], None] | None = None,
    on_pages: Callable[[int], None] | None = None,
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

    Raises
    ------
    BatchError
        When a worker dies (killed, out of memory) or the executor breaks.
    """
    if executor is None and (workers <= 1 or len(files) <= 1):
        for index, path in enumerate(files):
            result = read_file(
                path, file_index=index, template=template, calibration=calibration, on_page=on_pages
            )
            if on_file_done is not None:
                on_file_done(result)
            yield result
    elif executor is None:
        yield from _read_in_local_processes(
            files, template, calibration, workers, on_file_done, on_pages
        )
    else:
        futures = {
            executor.submit(
                read_file, str(path), file_index=index, template=template, calibration=calibration
            ): index
            for index, path in enumerate(files)
        }

        def done(result: FileResult) -> None:
            if on_pages is not None:
                on_pages(len(result.readings))
            if on_file_done is not None:
                on_file_done(result)

        try:
            yield from _in_file_order(files, futures, on_done=done)
        finally:
            for future in futures:
                future.cancel()


def _read_in_local_processes(
    files: Sequence[str | os.PathLike[str]],
    template: Template,
    calibration: Calibration,
    workers: int,
    on_file_done: Callable[[FileResult], None] | None,
    on_pages: Callable[[int], None] | None,
) -> Iterator[FileResult]:
    # forkserver: workers start from a clean process, not a fork of one
    # that may already run threads (progress display, OpenCV).
    context = multiprocessing.get_context("forkserver")
    page_ticks: Any = context.Queue()
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=min(workers, len(files)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(template, calibration, page_ticks, os.getpid()),
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
        yield from _in_file_order(
            files, futures, on_done=on_file_done or (lambda result: None), on_wake=report_pages
        )
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        report_pages()
        page_ticks.close()


def _in_file_order(
    files: Sequence[str | os.PathLike[str]],
    futures: dict[concurrent.futures.Future[FileResult], int],
    *,
    on_done: Callable[[FileResult], None],
    on_wake: Callable[[], None] = lambda: None,
) -> Iterator[FileResult]:
    """Yield the futures' results in file order; ``on_done`` in completion order."""
    pending = set(futures)
    waiting: dict[int, FileResult] = {}
    next_index = 0
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
                    f"a worker process died while reading {files[futures[future]]} ({exc}); "
                    "run again with --workers 1 to see the page that kills it"
                ) from None
            on_done(result)
            waiting[result.file_index] = result
        while next_index in waiting:
            yield waiting.pop(next_index)
            next_index += 1
