"""``kill -9`` of ``ljun score``: no worker survives, and the next run reports the batch (issue 10).

The command runs as a real subprocess on the bundled generated scans; every
process it starts (forkserver, workers, resource tracker) inherits a marker
in its environment, which is how the test finds them in ``/proc``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from _hostile_helpers import SAMPLE_TIFF, SCANS, key_args

from ljun.store import open_store
from ljun.vocabulary import BatchStatus

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")

_MARK_VARIABLE = "LJUN_HOSTILE_TEST_MARK"
# Generous: the machine may be shared and slow.
_START_TIMEOUT_S = 120.0
_EXIT_TIMEOUT_S = 20.0
_POLL_S = 0.1


def _marked(mark: str) -> dict[int, str]:
    """Live (not zombie) processes whose environment carries ``mark``: pid -> command line."""
    found = {}
    needle = f"{_MARK_VARIABLE}={mark}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "\nState:\tZ" not in status:
            found[int(entry.name)] = command
    return found


def _ljun(*args: object, mark: str, cwd: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, **{_MARK_VARIABLE: mark})
    return subprocess.Popen(
        [sys.executable, "-m", "ljun", *map(str, args)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(_POLL_S)
    return condition()


def test_kill_9_leaves_no_worker_and_the_batch_is_reported_interrupted(tmp_path, run_cli):
    mark = uuid.uuid4().hex
    db = tmp_path / "ljun.sqlite"
    # The scans three times over: enough work that the kill lands while workers read.
    process = _ljun(
        "score", SCANS, SCANS, SCANS, *key_args(), "--db", db, "--workers", 2, "--no-progress",
        mark=mark, cwd=tmp_path,
    )  # fmt: skip
    try:
        # main + resource tracker + forkserver + the workers
        started = _wait_for(lambda: len(_marked(mark)) >= 5, _START_TIMEOUT_S)
        assert started, f"the workers never started: {_marked(mark)}"
        assert process.poll() is None, "the batch finished before it could be killed"
        time.sleep(0.5)
        before = _marked(mark)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=_EXIT_TIMEOUT_S)
        gone = _wait_for(lambda: not _marked(mark), _EXIT_TIMEOUT_S)
        assert gone, f"still running after kill -9 of ljun score: {_marked(mark)} (of {before})"
    finally:
        for pid in _marked(mark):
            os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
        process.communicate()

    with open_store(db) as store:
        assert [b.status for b in store.batches()] == [BatchStatus.RUNNING]
        assert store.count("pages") == 0  # nothing half-stored
    (tmp_path / "leer.tif").write_bytes(b"")
    result = run_cli(
        "score", tmp_path / "leer.tif", *key_args(), "--db", db, "--workers", 1, "--no-progress"
    )
    assert result.exit_code == 0, result.stderr
    assert "batch 1 (score" in result.stderr and "was interrupted" in result.stderr
    with open_store(db) as store:
        statuses = [b.status for b in store.batches()]
    assert statuses == [BatchStatus.INTERRUPTED, BatchStatus.COMPLETE]
    # Reported once: the next run has nothing more to say.
    again = run_cli(
        "score", tmp_path / "leer.tif", *key_args(), "--db", db, "--workers", 1, "--no-progress"
    )
    assert "interrupted" not in again.stderr


_HOLD_A_BATCH = """
import sys
from ljun.store import open_store
store = open_store(sys.argv[1])
writer = store.begin_batch(template="t")
print(writer.batch_id, flush=True)
sys.stdin.read()
"""


def test_a_batch_a_live_process_is_writing_is_not_marked_interrupted(tmp_path):
    db = tmp_path / "ljun.sqlite"
    writer = subprocess.Popen(
        [sys.executable, "-c", _HOLD_A_BATCH, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        batch_id = int(writer.stdout.readline())
        with open_store(db) as store:
            assert store.mark_interrupted() == []
            assert store.batch(batch_id).status == BatchStatus.RUNNING
        writer.kill()
        writer.wait(timeout=_EXIT_TIMEOUT_S)
        with open_store(db) as store:
            assert [b.id for b in store.mark_interrupted()] == [batch_id]
            assert store.batch(batch_id).status == BatchStatus.INTERRUPTED
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.communicate()


def test_this_process_own_running_batch_is_live(tmp_path):
    with open_store(tmp_path / "ljun.sqlite") as store:
        writer = store.begin_batch(template="t")
        assert store.mark_interrupted() == []
        writer.abort()
        assert store.batch(writer.batch_id).status == BatchStatus.FAILED


def test_worker_processes_print_no_tifffile_warnings(tmp_path):
    """Regression: tifffile's own log lines about broken files reached stderr from workers."""
    data = SAMPLE_TIFF.read_bytes()
    for name in ("a.tif", "b.tif"):
        (tmp_path / name).write_bytes(data[: len(data) // 3])
    process = _ljun(
        "score", "a.tif", "b.tif", *key_args(), "--db", "s.sqlite", "--workers", 2,
        "--no-progress", mark=uuid.uuid4().hex, cwd=tmp_path,
    )  # fmt: skip
    _, stderr = process.communicate(timeout=_START_TIMEOUT_S)
    assert process.returncode == 0, stderr
    assert "tifffile" not in stderr and "invalid page offset" not in stderr
    assert stderr.count("damaged file") == 2
