"""Scoring on a Dask cluster: an executor for :func:`ljun.batch.run_batch` backed by ``dask.distributed``.

Nothing here schedules work: Dask does.  :func:`dask_executor` connects to a
scheduler (``tcp://HOST:8786``) or starts a local cluster (``local`` or
``local:N``) and yields a :class:`concurrent.futures.Executor` whose tasks run
:func:`ljun.batch.read_file` on the workers.  The files are read by the
workers from the paths given (a folder every worker can reach under the same
path); only the readings come back.  The template and the calibration are
sent to every worker once (``Client.scatter(..., broadcast=True)``), not with
each task.  A worker that dies mid-task has its tasks run again elsewhere
(Dask's retries); the results store takes each sheet once by its page hash
whatever happens, so nothing is lost or duplicated.

Dask is an optional dependency: ``pip install 'ljun[dask]'``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

from .calibration import Calibration
from .errors import LjunError
from .template import Template

__all__ = ["DaskError", "DaskExecutor", "dask_executor", "parse_cluster_spec", "TASK_RETRIES"]

#: Times a file's task is tried again after its worker died or it failed.
TASK_RETRIES = 3

_LOCAL = re.compile(r"local(?::(?P<workers>[1-9][0-9]*))?")


class DaskError(LjunError, RuntimeError):
    """The Dask cluster cannot be used (not installed, unreachable scheduler)."""


def parse_cluster_spec(spec: str) -> tuple[str, int | None]:
    """``"local"`` / ``"local:N"`` → ``("local", N or None)``; an address → ``(address, None)``.

    >>> parse_cluster_spec("local:2"), parse_cluster_spec("tcp://10.0.0.5:8786")
    (('local', 2), ('tcp://10.0.0.5:8786', None))
    """
    match = _LOCAL.fullmatch(spec.strip())
    if match:
        workers = match.group("workers")
        return "local", int(workers) if workers else None
    if "://" not in spec:
        raise DaskError(
            f"cluster {spec!r}: give local, local:N or a scheduler address such as tcp://HOST:8786"
        )
    return spec.strip(), None


class DaskExecutor(concurrent.futures.Executor):
    """A Dask client's executor that sends each template and calibration to the workers once.

    ``client`` is the :class:`distributed.Client` it submits through.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self._executor = client.get_executor(pure=False, retries=TASK_RETRIES)
        self._shared: dict[int, Any] = {}

    def _share(self, value: Any) -> Any:
        if not isinstance(value, Template | Calibration):
            return value
        if id(value) not in self._shared:
            self._shared[id(value)] = (value, self.client.scatter(value, broadcast=True))
        return self._shared[id(value)][1]

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        args = tuple(self._share(a) for a in args)
        kwargs = {name: self._share(value) for name, value in kwargs.items()}
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._executor.shutdown(wait=wait)


@contextlib.contextmanager
def dask_executor(spec: str) -> Iterator[DaskExecutor]:
    """A :class:`concurrent.futures.Executor` on the Dask cluster ``spec``.

    Parameters
    ----------
    spec : str
        ``local`` (a local cluster, one worker process per core), ``local:N``
        (N worker processes) or a scheduler address (``tcp://HOST:8786``).

    Raises
    ------
    DaskError
        When dask.distributed is not installed or the scheduler cannot be
        reached.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise DaskError(
            "scoring on Dask needs dask.distributed: pip install 'ljun[dask]'"
        ) from None
    target, workers = parse_cluster_spec(spec)
    with contextlib.ExitStack() as stack:
        if target == "local":
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",  # any free port: never clash with a running cluster
                )
            )
            client = stack.enter_context(Client(cluster))
        else:
            try:
                client = stack.enter_context(Client(target, timeout="10s"))
            except OSError as exc:
                raise DaskError(f"Dask scheduler {target}: cannot connect ({exc})") from None
        executor = DaskExecutor(client)
        try:
            yield executor
        finally:
            executor.shutdown(wait=False)
