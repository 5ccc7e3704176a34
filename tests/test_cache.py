"""Arrays cached between runs (ljun._cache): the sampling pattern built once per machine."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ljun import _cache
from ljun.read import _pattern_arrays, _sampling_pattern, sampling_pattern


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("LJUN_CACHE_DIR", str(folder))
    _sampling_pattern.cache_clear()
    yield folder
    _sampling_pattern.cache_clear()


def test_a_cached_pattern_is_the_pattern_built_afresh(cache_dir, ljun_template):
    first = sampling_pattern(ljun_template)
    (stored,) = cache_dir.glob("sampling-pattern-*.npz")
    _sampling_pattern.cache_clear()
    again = sampling_pattern(ljun_template)  # from the file this time
    built = _pattern_arrays(ljun_template, 200.0)
    for name, array in built.items():
        for pattern in (first, again):
            np.testing.assert_array_equal(getattr(pattern, name), array)
            assert getattr(pattern, name).dtype == array.dtype
            assert not getattr(pattern, name).flags.writeable
    assert list(cache_dir.glob("sampling-pattern-*.npz")) == [stored]


def test_the_cache_is_used_and_keyed_by_what_made_the_arrays(cache_dir):
    built = []

    def build():
        built.append(1)
        return {"a": np.arange(3)}

    key = ("template-a", 200.0)
    for _ in range(2):
        arrays = _cache.cached_arrays("t", key, build, modules=("read.py",))
        np.testing.assert_array_equal(arrays["a"], np.arange(3))
    assert len(built) == 1
    # Another template, another dpi or other code: built afresh.
    _cache.cached_arrays("t", ("template-b", 200.0), build, modules=("read.py",))
    _cache.cached_arrays("t", ("template-a", 300.0), build, modules=("read.py",))
    _cache.cached_arrays("t", key, build, modules=("read.py", "render.py"))
    assert len(built) == 4
    assert len(list(cache_dir.glob("t-*.npz"))) == 4


def test_a_damaged_cache_file_is_built_again(cache_dir):
    def build():
        return {"a": np.arange(5)}

    _cache.cached_arrays("t", ("k",), build, modules=("read.py",))
    (stored,) = cache_dir.glob("t-*.npz")
    stored.write_bytes(stored.read_bytes()[:40])
    arrays = _cache.cached_arrays("t", ("k",), build, modules=("read.py",))
    np.testing.assert_array_equal(arrays["a"], np.arange(5))


def test_off_or_unwritable_cache_still_gives_the_arrays(tmp_path, monkeypatch):
    monkeypatch.setenv("LJUN_CACHE_DIR", "off")
    arrays = _cache.cached_arrays("t", ("k",), lambda: {"a": np.ones(2)}, modules=("read.py",))
    np.testing.assert_array_equal(arrays["a"], np.ones(2))
    assert not (tmp_path / "off").exists()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LJUN_CACHE_DIR", str(blocker / "cache"))
    arrays = _cache.cached_arrays("t", ("k",), lambda: {"a": np.zeros(2)}, modules=("read.py",))
    np.testing.assert_array_equal(arrays["a"], np.zeros(2))


def test_a_changed_template_does_not_get_the_old_pattern(cache_dir, ljun_template):
    sampling_pattern(ljun_template)
    moved = dataclasses.replace(
        ljun_template,
        fiducials=tuple(dataclasses.replace(f, x_mm=f.x_mm + 0.5) for f in ljun_template.fiducials),
    )
    sampling_pattern(moved)
    assert len(list(cache_dir.glob("sampling-pattern-*.npz"))) == 2
