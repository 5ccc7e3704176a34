"""Atomic writes: never a half-written file, and the usual permissions."""

from __future__ import annotations

import os
import stat

import pytest

from ljun._io import atomic_write, atomic_write_bytes


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "results.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("half of the new")
        raise RuntimeError("disk full")
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["results.csv"]


def test_written_file_is_private_by_default(tmp_path):
    """Issue 10: results and keys are confidential; 0600 whatever the umask."""
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "key.json", b"{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "key.json").stat().st_mode) == 0o600


def test_shared_files_follow_the_umask(tmp_path, monkeypatch):
    """With LJUN_SHARED_FILES=1 the umask decides, as for a plain open()."""
    monkeypatch.setenv("LJUN_SHARED_FILES", "1")
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "key.json", b"{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "key.json").stat().st_mode) == 0o644
