"""Write failures: one line and exit code 74; private files; leftovers cleaned (issue 10).

A full disk is a real tiny tmpfs where this process may mount one (root, as
in CI), skipped otherwise; the same cases also run against a fault-injected
``fsync`` that fails with ``ENOSPC``, which needs no privilege.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import subprocess
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ljun import _io
from ljun.cli import EXIT_IO, EXIT_USAGE
from ljun.errors import OutputError, StoreOutputError
from ljun.export import export_records
from ljun.records import RESULT_KEYS
from ljun.store import open_store

FORMATS = ("csv", "jsonl", "xlsx")

# Size of the tiny file system: enough for a few files, not for the exports below.
_TINY_FS = "64k"


def _records(count: int) -> list[dict[str, Any]]:
    record: dict[str, Any] = {name: "x" * 20 for name in RESULT_KEYS}
    record.update(page=1, answers=["A"] * 40, correct=30, score=Decimal("7.50"), flags=[])
    record.update(review=False, paket="A")
    return [dict(record, page=n) for n in range(1, count + 1)]


@contextlib.contextmanager
def _tiny_disk(folder: Path, options: str = f"size={_TINY_FS}") -> Iterator[Path]:
    folder.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({exc}); the fault-injected cases cover this")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)


def _fill(folder: Path) -> None:
    """Fill the file system at ``folder`` to the last byte."""
    with contextlib.suppress(OSError), open(folder / "filler", "wb", buffering=0) as handle:
        while True:
            handle.write(b"\0" * 4096)


@pytest.fixture
def stored(tmp_path: Path, run_cli) -> Path:
    """A results store with a few sheets (an empty file and a blank page)."""
    from _hostile_helpers import key_args

    (tmp_path / "a.tif").write_bytes(b"")
    (tmp_path / "b.tif").write_bytes(b"")
    db = tmp_path / "store.sqlite"
    result = run_cli(
        "score", tmp_path / "a.tif", tmp_path / "b.tif", *key_args(), "--db", db,
        "--workers", "1", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return db


def _one_clear_line(stderr: str, path: Path, cause: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and str(path) in lines[0] and cause in lines[0], stderr


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_to_a_full_disk_is_one_line_and_exit_74(fmt, tmp_path, run_cli, stored):
    with _tiny_disk(tmp_path / "disk") as disk:
        _fill(disk)
        out = disk / f"hasil.{fmt}"
        result = run_cli("export", "--db", stored, "--out", out)
        assert result.exit_code == EXIT_IO
        _one_clear_line(result.stderr, out, "No space left on device")
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]  # no .part left


@pytest.mark.parametrize("fmt", FORMATS)
def test_full_disk_during_write_leaves_the_old_file(fmt, tmp_path):
    with _tiny_disk(tmp_path / "disk") as disk:
        out = disk / f"hasil.{fmt}"
        out.write_bytes(b"old")
        with pytest.raises(OutputError, match=rf"cannot write {out}: No space left on device"):
            export_records(_records(2000), out)
        assert out.read_bytes() == b"old"
        assert sorted(p.name for p in disk.iterdir()) == [out.name]


@pytest.mark.parametrize("fmt", FORMATS)
def test_fault_injected_full_disk_for_every_format(fmt, tmp_path, monkeypatch):
    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_io.os, "fsync", no_space)
    out = tmp_path / f"hasil.{fmt}"
    with pytest.raises(OutputError) as caught:
        export_records(_records(3), out)
    assert str(caught.value) == (
        f"cannot write {out}: No space left on device "
        "(fix: free some disk space or write to another disk)"
    )
    assert list(tmp_path.iterdir()) == []


def test_store_on_a_full_disk_is_one_line_and_leaves_no_empty_file(tmp_path, run_cli):
    """Regression: --db on a full disk said 'not an ljun results store' and left 0 bytes."""
    from _hostile_helpers import key_args

    (tmp_path / "a.tif").write_bytes(b"")
    with _tiny_disk(tmp_path / "disk") as disk:
        _fill(disk)
        db = disk / "ljun.sqlite"
        result = run_cli("score", tmp_path / "a.tif", *key_args(), "--db", db, "--no-progress")
        assert result.exit_code == EXIT_IO, result.stderr
        assert "not an ljun results store" not in result.stderr
        _one_clear_line(result.stderr, db, "full")
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]
        with pytest.raises(StoreOutputError):
            open_store(db)


def test_read_only_disk(tmp_path, run_cli, stored):
    with _tiny_disk(tmp_path / "disk", "size=64k,ro") as disk:
        result = run_cli("export", "--db", stored, "--out", disk / "hasil.csv")
        assert result.exit_code == EXIT_IO
        _one_clear_line(result.stderr, disk / "hasil.csv", "Read-only file system")


def test_unwritable_destination_is_one_line_and_exit_74(tmp_path, run_cli, stored):
    (tmp_path / "berkas").write_text("a file, not a folder")
    out = tmp_path / "berkas" / "hasil.xlsx"
    result = run_cli("export", "--db", stored, "--out", out)
    assert result.exit_code == EXIT_IO
    _one_clear_line(result.stderr, out, "Not a directory")
    # A bad argument is still exit code 2, not the I/O code.
    assert run_cli("export", "--db", stored, "--out", tmp_path / "x.txt").exit_code == EXIT_USAGE


def test_grade_output_to_an_unwritable_destination(tmp_path, run_cli):
    (tmp_path / "berkas").write_text("a file, not a folder")
    (tmp_path / "praktik.csv").write_text(
        "nomor_peserta,nama,kode_kompetensi,nilai_praktik\n41205030120017,Ani,6018,8.25\n"
    )
    (tmp_path / "hasil.jsonl").write_text("")
    result = run_cli(
        "grade", "--results", tmp_path / "hasil.jsonl", "--praktik", tmp_path / "praktik.csv",
        "--out", tmp_path / "nilai.csv", "--out", tmp_path / "berkas" / "nilai.xlsx",
    )  # fmt: skip
    assert result.exit_code == EXIT_IO, result.stderr
    assert "Traceback" not in result.stderr and "Not a directory" in result.stderr
    # Written together or not at all: the CSV did not appear without its XLSX.
    assert not (tmp_path / "nilai.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_grade_writes_its_outputs_as_one_set(tmp_path, run_cli):
    (tmp_path / "praktik.csv").write_text(
        "nomor_peserta,nama,kode_kompetensi,nilai_praktik\n41205030120017,Ani,6018,8.25\n"
    )
    (tmp_path / "hasil.jsonl").write_text("")
    outs = [tmp_path / "nilai.csv", tmp_path / "nilai.xlsx", tmp_path / "masalah.csv"]
    result = run_cli(
        "grade", "--results", tmp_path / "hasil.jsonl", "--praktik", tmp_path / "praktik.csv",
        "--out", outs[0], "--out", outs[1], "--problems", outs[2],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert f"wrote {outs[0]}, {outs[1]}, {outs[2]}" in result.stderr
    assert len({p.stat().st_mtime_ns for p in outs}) == 1


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_store_and_exports_are_private(tmp_path, run_cli, stored):
    old = os.umask(0o022)
    try:
        assert run_cli("export", "--db", stored, "--out", tmp_path / "hasil.csv").exit_code == 0
    finally:
        os.umask(old)
    assert _mode(stored) == 0o600
    assert _mode(tmp_path / "hasil.csv") == 0o600
    for sidecar in tmp_path.glob("store.sqlite-*"):
        assert _mode(sidecar) == 0o600, sidecar.name


def test_shared_files_follow_the_umask(tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("LJUN_SHARED_FILES", "1")
    old = os.umask(0o022)
    try:
        with open_store(tmp_path / "s.sqlite"):
            pass
        export_records(_records(1), tmp_path / "hasil.jsonl")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "s.sqlite") == 0o644
    assert _mode(tmp_path / "hasil.jsonl") == 0o644


def test_part_file_of_a_killed_export_is_removed_next_time(tmp_path):
    """Regression: a killed export's .part (12 KB of results, world-readable) stayed for ever."""
    stale = tmp_path / f".hasil.csv.{uuid.uuid4().hex[:8]}.part"
    stale.write_text("half of the results")
    live = tmp_path / ".hasil.csv.writing.part"
    live.write_text("another process is writing this")
    with open(live, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        export_records(_records(1), tmp_path / "hasil.csv")
        assert not stale.exists()
        assert live.exists()  # a live writer's file is left alone
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "hasil.csv"]


def _praktik(folder: Path) -> Path:
    path = folder / "praktik.csv"
    path.write_text(
        "nomor_peserta,nama,kode_kompetensi,nilai_praktik\n41205030120017,Ani,6018,8.25\n"
    )
    return path


@pytest.mark.parametrize("command", ["score", "rescore", "grade"])
def test_every_command_reports_a_full_disk_in_one_line(command, tmp_path, run_cli, stored):
    """Regression: --out on a full disk gave tracebacks (three for XLSX) in all three commands."""
    from _hostile_helpers import KEYS, key_args

    with _tiny_disk(tmp_path / "disk") as disk:
        _fill(disk)
        out = disk / "hasil.xlsx"
        if command == "score":
            args = ["score", tmp_path / "a.tif", *key_args(), "--db", stored, "--out", out]
        elif command == "rescore":
            args = ["rescore", "--db", stored, "--key", KEYS[0], "--out", out]
        else:
            args = ["grade", "--db", stored, "--praktik", _praktik(tmp_path), "--out", out]
        result = run_cli(*args, *(["--no-progress"] if command == "score" else []))
        assert result.exit_code == EXIT_IO
        assert result.stderr.count("ljun: error:") == 1 and "Traceback" not in result.stderr
        assert f"cannot write {out}: No space left on device" in result.stderr
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]


def test_store_filling_up_during_a_batch_keeps_the_earlier_results(tmp_path, run_cli):
    from _hostile_helpers import SAMPLE_TIFF, key_args

    with _tiny_disk(tmp_path / "disk", "size=1m") as disk:
        db = disk / "ljun.sqlite"
        (tmp_path / "a.tif").write_bytes(b"")
        first = run_cli("score", tmp_path / "a.tif", *key_args(), "--db", db, "--no-progress")
        assert first.exit_code == 0, first.stderr
        _fill(disk)
        result = run_cli(
            "score", SAMPLE_TIFF, *key_args(), "--db", db, "--workers", 1, "--no-progress"
        )
        assert result.exit_code == EXIT_IO, result.stderr
        assert result.stderr.count("ljun: error:") == 1 and "Traceback" not in result.stderr
        assert f"results store {db}: cannot be written" in result.stderr
        (disk / "filler").unlink()
        with open_store(db) as store:
            assert store.count("pages") == 1  # the first batch, whole; nothing of the second


def test_score_refuses_an_impossible_out_before_reading(tmp_path, run_cli):
    from _hostile_helpers import key_args

    (tmp_path / "berkas").write_text("a file")
    (tmp_path / "a.tif").write_bytes(b"")
    out = tmp_path / "berkas" / "sub" / "hasil.csv"
    result = run_cli(
        "score", tmp_path / "a.tif", *key_args(), "--db", tmp_path / "s.sqlite", "--out", out
    )
    assert result.exit_code == EXIT_IO
    _one_clear_line(result.stderr, out, "Not a directory")
    assert not (tmp_path / "s.sqlite").exists()  # nothing was read or stored
