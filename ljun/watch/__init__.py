"""``ljun watch``: a restart-safe hot folder for scanner stations.

Scanner software writes into an inbox folder; the watcher scores every
complete file with the code path of ``ljun score`` (:func:`ljun.batch.run_batch`),
commits it to the results store and moves it to ``done/YYYY-MM-DD/``, or to
``quarantine/`` with ``NAME.reason.txt`` when no page of it can be read.  One
idea per module:

``_settle``   when a file is complete: temporary names, a settling time, its structure
``_inbox``    which files of the inbox are ready (pure decisions over listings)
``_moves``    where files go: ``done/YYYY-MM-DD``, ``quarantine`` + reason, free names
``_process``  one round: score and commit, journal, move; restart-safe (see there)
``_loop``     the loop: watchdog observer or polling, logging, status line, signals
"""

from ._inbox import Inbox, Listing, list_inbox
from ._loop import (
    LOGGER,
    StatusLine,
    Watcher,
    configure_logging,
    describe,
    install_stop_signals,
    worker_pool,
)
from ._moves import REASON_SUFFIX, day_folder, free_name, move_file, write_reason
from ._process import FileOutcome, WatchSettings, process_files
from ._settle import Completeness, Settling, completeness, is_candidate, is_temporary_name, observe

__all__ = [
    "LOGGER",
    "REASON_SUFFIX",
    "Completeness",
    "FileOutcome",
    "Inbox",
    "Listing",
    "Settling",
    "StatusLine",
    "WatchSettings",
    "Watcher",
    "completeness",
    "configure_logging",
    "day_folder",
    "describe",
    "free_name",
    "install_stop_signals",
    "is_candidate",
    "is_temporary_name",
    "list_inbox",
    "move_file",
    "observe",
    "process_files",
    "worker_pool",
    "write_reason",
]
