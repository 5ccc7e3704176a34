"""Running a batch: scan files in, scored sheets stored, reconciliation done.

:func:`run_batch` is what ``ljun score`` (and the folder watcher) call.  One
idea per module:

``_identity``     which page a sheet is: file digest + page number (:func:`page_hash`)
``_reading``      one file's pages loaded, registered, read, decoded (:func:`read_file`)
``_executor``     many files at once, in worker processes or an injected
                  :class:`concurrent.futures.Executor`; results in file order
``_attendance``   attendance lists (daftar hadir)
``_reconcile``    duplicates within the batch and across the store, attendance
``_summary``      counts for people and for the store
``_run``          the batch: read, score, stage, reconcile, commit in one transaction
``_rescore``      stored readings scored again with corrected keys

Each reading is scored in this process (:func:`ljun.score.score_sheet`),
staged in the store, and when every file is done the batch is reconciled and
committed in one transaction, so a crash leaves nothing half-stored.
"""

from ..errors import AttendanceError, BatchError
from ._attendance import (
    ATTENDANCE_COLUMN,
    HADIR_COLUMN,
    Attendance,
    attendance_files,
    load_attendance,
)
from ._executor import default_workers, iter_file_results, start_worker_server
from ._identity import file_digest, image_hash, page_hash
from ._reading import FileResult, read_file
from ._reconcile import Reconciliation, SheetSummary, reconcile
from ._rescore import RescoreResult, rescore
from ._run import BatchResult, run_batch
from ._summary import summarise

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
    "Attendance",
    "attendance_files",
    "load_attendance",
    "ATTENDANCE_COLUMN",
    "HADIR_COLUMN",
    "run_batch",
    "rescore",
    "default_workers",
    "start_worker_server",
]
