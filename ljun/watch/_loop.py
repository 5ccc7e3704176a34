"""The watcher's loop: wake on file-system events (or poll), score what is complete, log.

:class:`Watcher` runs rounds (:func:`~ljun.watch._process.process_files`) on
the files :class:`~ljun.watch._inbox.Inbox` finds ready.  Between rounds it
sleeps until a ``watchdog`` event says the inbox changed, until a file being
waited for may have settled, or at most :data:`RESCAN_S` (events can be lost:
an overflowing kernel queue, a network share).  With ``poll_s`` there is no
observer, only a look every ``poll_s`` seconds (network shares, where
file-system events do not arrive).  A stop request (SIGINT, SIGTERM) is
honoured between rounds, so the files being scored are finished first.
"""

from __future__ import annotations

import concurrent.futures
import logging
import logging.handlers
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from ..errors import StoreError
from ..load import quiet_tifffile
from ..store import ResultsStore
from ..vocabulary import WatchOutcome
from ._inbox import Inbox
from ._process import FileOutcome, WatchSettings, process_files

__all__ = [
    "LOGGER",
    "StatusLine",
    "WatchTotals",
    "Watcher",
    "configure_logging",
    "describe",
    "install_stop_signals",
    "worker_pool",
]

#: The watcher's logger: one line per file, and what it starts, stops and skips.
LOGGER = logging.getLogger("ljun.watch")

#: Longest sleep between two looks at the inbox when file-system events are
#: watched (seconds): a safety net for lost events.
RESCAN_S = 30.0

# Wait after the store could not be written before trying again (seconds).
_STORE_RETRY_S = 5.0

# A worker process is replaced after this many files, so a slow leak in a
# library cannot grow over days of watching.
_FILES_PER_WORKER = 500

# How often a worker checks that the watcher still runs (seconds).
_ORPHAN_CHECK_S = 2.0

# Rotating log file: this many bytes per file, this many old files kept.
_LOG_BYTES = 5 * 1024 * 1024
_LOG_BACKUPS = 5

_LOG_FORMAT = "%(asctime)s %(message)s"
_LOG_DATE = "%Y-%m-%d %H:%M:%S"


@dataclass
class WatchTotals:
    """Counts since the watcher started (for the status line)."""

    started: float = field(default_factory=time.monotonic)
    files: int = 0
    sheets: int = 0
    review: int = 0
    quarantined: int = 0
    duplicates: int = 0
    last: str = ""

    def add(self, outcome: FileOutcome) -> None:
        self.files += 1
        self.sheets += outcome.pages if outcome.batch_id is not None else 0
        self.review += outcome.review if outcome.batch_id is not None else 0
        self.quarantined += outcome.outcome == WatchOutcome.QUARANTINE
        self.duplicates += outcome.outcome == WatchOutcome.DUPLICATE
        self.last = f"{outcome.name} {time.strftime('%H:%M:%S')}"


class StatusLine:
    """One line at the bottom of a terminal, redrawn in place; nothing elsewhere."""

    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        self._stream = stream
        self.enabled = enabled
        self._text = ""

    def show(self, text: str) -> None:
        if self.enabled:
            self._text = text
            self._stream.write("\r\033[K" + text)
            self._stream.flush()

    def clear(self) -> None:
        if self.enabled and self._text:
            self._stream.write("\r\033[K")
            self._stream.flush()

    def redraw(self) -> None:
        if self.enabled and self._text:
            self._stream.write(self._text)
            self._stream.flush()


class _AboveStatusLine(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """Writes log lines above the status line (clears it, writes, draws it again)."""

    def __init__(self, stream: TextIO, status: StatusLine) -> None:
        super().__init__(stream)
        self._status = status

    def emit(self, record: logging.LogRecord) -> None:
        self._status.clear()
        super().emit(record)
        self._status.redraw()


def configure_logging(log_file: Path | None, status: StatusLine, stream: TextIO) -> None:
    """Log lines of :data:`LOGGER` to ``stream`` (above ``status``) and a rotating file."""
    formatter = logging.Formatter(_LOG_FORMAT, _LOG_DATE)
    # watchdog warns when its thread is stopped with events queued, and its
    # inotify emitter logs that as an error: harmless noise at every stop.
    logging.getLogger("watchdog").setLevel(logging.ERROR)
    logging.getLogger("watchdog.observers.inotify").setLevel(logging.CRITICAL)
    LOGGER.handlers.clear()
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False
    console = _AboveStatusLine(stream, status)
    console.setFormatter(formatter)
    LOGGER.addHandler(console)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=_LOG_BYTES, backupCount=_LOG_BACKUPS, encoding="utf-8"
        )
        rotating.setFormatter(formatter)
        LOGGER.addHandler(rotating)


def _exit_with(watcher_pid: int) -> None:
    """Ends this worker once the watcher is gone (killed with SIGKILL: no one to stop it)."""
    while True:
        time.sleep(_ORPHAN_CHECK_S)
        try:
            os.kill(watcher_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # pragma: no cover - the pid was reused by another user
            os._exit(1)


def _init_worker(watcher_pid: int) -> None:
    if sys.platform != "win32":  # there os.kill(pid, 0) would end the watcher, not probe it
        threading.Thread(target=_exit_with, args=(watcher_pid,), daemon=True).start()
    try:
        import cv2

        # One process per core already: OpenCV's own threads would only compete.
        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - opencv is a dependency
        pass
    quiet_tifffile()
    # Ctrl-C and SIGTERM are for the watcher, which stops after the current
    # files; its workers must go on reading them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def worker_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """A long-lived pool of ``workers`` reader processes for the watcher's rounds."""
    # spawn: workers start from a clean process, not a fork of one that
    # already runs threads (the observer, OpenCV), and are the watcher's own
    # children (no fork server left behind when the watcher is killed).
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(os.getpid(),),
        max_tasks_per_child=_FILES_PER_WORKER,
    )


def describe(outcome: FileOutcome) -> str:
    """The log line of one file."""
    if outcome.outcome == WatchOutcome.DUPLICATE:
        return f"duplicate {outcome.name}: {outcome.detail} -> {outcome.destination}"
    line = (
        f"{outcome.outcome} {outcome.name}: {outcome.pages} sheets, {outcome.review} to review, "
        f"{outcome.failed} failed, {outcome.seconds:.1f} s -> {outcome.destination}"
    )
    if outcome.recovered:
        line += " (already in the store; not scored again)"
    elif outcome.detail:
        line += f" ({outcome.detail})"
    return line


class Watcher:
    """Watches an inbox and scores its complete files in rounds.

    Parameters
    ----------
    settings : WatchSettings
    store : ResultsStore
    settle_s, give_up_s : float
        See :class:`~ljun.watch._inbox.Inbox`.
    poll_s : float, optional
        Look every ``poll_s`` seconds instead of watching file-system events.
    files_per_round : int
        At most this many files are scored together.
    executor : concurrent.futures.Executor, optional
        Reads the files (see :func:`worker_pool`); the caller owns it.
    status : StatusLine, optional
        Redrawn after every look at the inbox.
    """

    def __init__(
        self,
        settings: WatchSettings,
        store: ResultsStore,
        *,
        settle_s: float,
        give_up_s: float,
        poll_s: float | None = None,
        files_per_round: int = 1,
        executor: concurrent.futures.Executor | None = None,
        status: StatusLine | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.inbox = Inbox(settings.inbox, settle_s=settle_s, give_up_s=give_up_s)
        self.poll_s = poll_s
        self.files_per_round = max(1, files_per_round)
        self.executor = executor
        self.status = status
        self.totals = WatchTotals()
        self.stop = threading.Event()
        self._wake = threading.Event()

    def request_stop(self) -> None:
        """Stop after the files being scored (thread- and signal-safe)."""
        self.stop.set()
        self._wake.set()

    def wake(self) -> None:
        """Look at the inbox now (called by the file-system observer)."""
        self._wake.set()

    def round(self) -> int:
        """Look at the inbox once and score what is ready; return the files moved."""
        ready = self.inbox.scan(time.monotonic())[: self.files_per_round]
        if ready:
            outcomes = process_files(
                ready,
                settings=self.settings,
                store=self.store,
                executor=self.executor,
                on_outcome=self._done,
            )
            for path in ready:
                self.inbox.forget(path)
            return len(outcomes)
        return 0

    def _done(self, outcome: FileOutcome) -> None:
        self.totals.add(outcome)
        LOGGER.info(describe(outcome))

    def _show_status(self) -> None:
        if self.status is None:
            return
        t = self.totals
        waiting = f", waiting for {len(self.inbox)}" if len(self.inbox) else ""
        last = f", last {t.last}" if t.last else ""
        self.status.show(
            f"watching {self.settings.inbox}: {t.files} files, {t.sheets} sheets, "
            f"{t.review} to review, {t.quarantined} quarantined{waiting}{last}"
        )

    def run(self, *, until_empty: bool = False) -> None:
        """Watch until :meth:`request_stop` (or, with ``until_empty``, until the inbox is empty).

        Batches an earlier watcher left ``running`` (killed) are marked
        ``interrupted`` first; their files are still in the inbox and are
        scored again.
        """
        interrupted = self.store.mark_interrupted()
        if interrupted:
            LOGGER.info(
                f"{len(interrupted)} batch(es) of an earlier run were interrupted; "
                "their files are scored again"
            )
        observer = None if self.poll_s is not None or until_empty else self._observe()
        try:
            while not self.stop.is_set():
                self._wake.clear()
                try:
                    moved = self.round()
                except (StoreError, OSError) as exc:
                    # The store is locked or full, a folder is not writable:
                    # the files stay in the inbox, and are taken again.
                    LOGGER.error(f"error: {exc}; trying again in {_STORE_RETRY_S:.0f} s")
                    self.stop.wait(_STORE_RETRY_S)
                    continue
                self._show_status()
                if moved:
                    continue
                waiting = self.inbox.next_look(time.monotonic())
                if until_empty and waiting is None:
                    break
                if self.poll_s is not None:
                    timeout = self.poll_s
                else:
                    timeout = RESCAN_S if waiting is None else min(waiting, RESCAN_S)
                self._wake.wait(timeout)
        finally:
            if observer is not None:
                observer.stop()
                observer.join()
            if self.status is not None:
                self.status.clear()

    def _observe(self) -> Any:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class _Wake(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                watcher.wake()

        observer = Observer()
        observer.schedule(_Wake(), str(self.settings.inbox), recursive=False)
        observer.daemon = True
        observer.start()
        return observer


def install_stop_signals(watcher: Watcher) -> Callable[[], None]:
    """SIGINT and SIGTERM stop ``watcher`` after its current files; a second one stops now.

    Returns a function that restores the previous handlers.
    """
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: FrameType | None) -> None:
        if watcher.stop.is_set():
            raise KeyboardInterrupt
        LOGGER.info(
            f"{signal.Signals(signum).name}: stopping after the files being scored "
            "(again to stop now)"
        )
        watcher.request_stop()

    for sig in previous:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
