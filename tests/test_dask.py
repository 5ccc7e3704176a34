"""Scoring on a real Dask LocalCluster: the same results as one process, every sheet once when a worker dies."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

pytest.importorskip("distributed")

from ljun._dask import DaskError, dask_executor, parse_cluster_spec  # noqa: E402
from ljun.batch import run_batch  # noqa: E402
from ljun.calibration import load_calibration  # noqa: E402
from ljun.keys import load_answer_keys  # noqa: E402
from ljun.store import open_store  # noqa: E402


@pytest.fixture(scope="module")
def generated_set(tmp_path_factory):
    """Twelve generated sheets in six two-page TIFF files, with keys."""
    from ljun.samples import make_samples
    from ljun.template import load_template

    folder = tmp_path_factory.mktemp("generated")
    make_samples(
        load_template("ljun-teori-kejuruan"),
        folder,
        count=12,
        seed=5,
        level="easy",
        fmt="tiff",
        pages_per_file=2,
        include_special_pages=False,
    )
    return folder


def _keys(folder):
    return load_answer_keys([folder / n for n in ("paketA.json", "paketB.json", "susulan.json")])


def _score(folder, db, ljun_template, **options):
    with open_store(db) as store:
        run_batch(
            [folder],
            keys=_keys(folder),
            store=store,
            template=ljun_template,
            calibration=load_calibration(),
            **options,
        )
        return list(store.result_records()), store.count("pages")


def test_cluster_specs():
    assert parse_cluster_spec("local") == ("local", None)
    assert parse_cluster_spec("local:3") == ("local", 3)
    assert parse_cluster_spec("tcp://scanner-pc:8786") == ("tcp://scanner-pc:8786", None)
    with pytest.raises(DaskError, match="give local, local:N or a scheduler address"):
        parse_cluster_spec("two-machines")


@pytest.fixture(scope="module")
def cluster():
    """A real local Dask cluster with two worker processes, shared by this module's tests."""
    with dask_executor("local:2") as executor:
        yield executor


def test_a_local_cluster_gives_the_results_of_one_process(
    generated_set, tmp_path, ljun_template, cluster
):
    alone, _ = _score(generated_set, tmp_path / "one.sqlite", ljun_template, workers=1)
    on_dask, pages = _score(generated_set, tmp_path / "dask.sqlite", ljun_template,
                            executor=cluster)  # fmt: skip
    assert len(alone) == 12 and pages == 12
    assert on_dask == alone


def test_a_worker_killed_mid_run_loses_and_duplicates_no_sheet(
    generated_set, tmp_path, ljun_template, cluster
):
    from distributed import get_client

    killed: list[int] = []

    def kill_a_worker(result):
        # After the first file is back, kill -9 one worker process: its
        # running and queued files must be read again elsewhere.
        if killed:
            return
        client = get_client()
        pids = client.run(os.getpid)
        victim = sorted(pids.values())[0]
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)
        time.sleep(0.2)

    records, pages = _score(generated_set, tmp_path / "dask.sqlite", ljun_template,
                            executor=cluster, on_file_done=kill_a_worker)  # fmt: skip
    assert killed, "no worker was killed"
    assert pages == 12
    places = [(r["source"], r["page"]) for r in records]
    assert len(places) == len(set(places)) == 12
    alone, _ = _score(generated_set, tmp_path / "one.sqlite", ljun_template, workers=1)
    assert records == alone


def test_an_unreachable_scheduler_is_one_clear_error():
    with (
        pytest.raises(DaskError, match="tcp://127.0.0.1:9/?: cannot connect"),
        dask_executor("tcp://127.0.0.1:9"),
    ):
        pass


def test_ljun_score_on_a_local_cluster(generated_set, tmp_path, run_cli):
    keys = [a for n in ("paketA.json", "paketB.json", "susulan.json")
            for a in ("--key", generated_set / n)]  # fmt: skip
    db = tmp_path / "cli.sqlite"
    result = run_cli("score", generated_set, *keys, "--db", db, "--dask", "local:1")
    assert result.exit_code == 0, result.stderr
    with open_store(db) as store:
        assert store.count("pages") == 12
        (batch,) = store.batches()
        assert batch.arguments["dask"] == "local:1"


def test_ljun_score_refuses_a_scheduler_that_is_not_an_address(generated_set, tmp_path, run_cli):
    result = run_cli("score", generated_set, "--key", generated_set / "paketA.json",
                     "--db", tmp_path / "x.sqlite", "--scheduler", "localhost")  # fmt: skip
    assert result.exit_code == 2
    assert "not a scheduler address such as tcp://HOST:8786" in result.stderr


def test_ljun_bench_has_a_dask_mode(tmp_path, run_cli):
    out = tmp_path / "bench.json"
    result = run_cli("bench", "--generate", "1", "--mode", "1bit", "--format", "tif-g4",
                     "--repeat", "1", "--workers", "1", "--dask", "local:1", "--json", out)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    on_dask = json.loads(out.read_text())["dask"]
    assert on_dask["cluster"] == "local:1" and on_dask["workers"] == 1 and on_dask["pages"] == 1
    assert on_dask["wall_s"] > 0 and on_dask["sheets_per_s"] > 0
    assert "dask local:1 (1 workers)" in result.stdout
