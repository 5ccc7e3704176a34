"""Reading many files at once: an executor runs :func:`read_file` per file.

By default files are spread over ``workers`` local processes (a
:class:`~concurrent.futures.ProcessPoolExecutor` whose workers receive the
template and calibration once); any other :class:`concurrent.futures.Executor`
(a thread pool in a test, a Dask client's executor) can be injected instead.
Results come back **in file order** whatever order the workers finish in, so
the store, the exports and the summary are the same for any executor.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import queue
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


def default_workers() -> int:
    """Worker processes used when none are asked for: one per core."""
    return os.cpu_count() or 1


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
