"""One large file shared across workers by page range: same results, same order."""

from __future__ import annotations

import concurrent.futures
import subprocess
import sys
from pathlib import Path

import pytest
from _batch_helpers import first_pixel_tiff, use_fake_reader

from ljun.batch import file_digest, iter_file_results, page_hash
from ljun.batch._executor import plan_parts, start_reading
from ljun.calibration import load_calibration
from ljun.records import SheetReading
from ljun.vocabulary import FailureReason


def _fake_read_sheet(page, template, calibration) -> SheetReading:
    # The first pixel names the page, so a page read twice or out of order shows.
    return SheetReading(
        source=page.source,
        page=page.page,
        template=template.id,
        nomor_peserta=str(int(page.image[0, 0])),
    )


@pytest.fixture
def fake_pipeline(monkeypatch):
    use_fake_reader(monkeypatch, _fake_read_sheet)


def test_plan_parts_splits_only_files_longer_than_a_part(tmp_path):
    big = first_pixel_tiff(tmp_path / "big.tif", range(7))
    small = first_pixel_tiff(tmp_path / "small.tif", range(3))
    text = tmp_path / "notes.tif"
    text.write_text("not a scan")
    tasks = plan_parts([small, big, text], part_pages=3)
    assert tasks == [
        (0, str(small), None),
        (1, str(big), range(0, 3)),
        (1, str(big), range(3, 6)),
        (1, str(big), range(6, 7)),
        (2, str(text), None),
    ]


def test_a_file_read_in_parts_gives_the_same_results_as_read_whole(
    tmp_path, fake_pipeline, ljun_template
):
    files = [
        first_pixel_tiff(tmp_path / "a.tif", [10, 11]),
        first_pixel_tiff(tmp_path / "big.tif", range(20, 31)),
        first_pixel_tiff(tmp_path / "c.tif", [40]),
    ]
    calibration = load_calibration()
    whole = list(
        iter_file_results(files, template=ljun_template, calibration=calibration, workers=1)
    )
    # Threads finish parts in any order; the results must still come back in order.
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as executor:
        done = []
        shared = list(
            iter_file_results(
                files,
                template=ljun_template,
                calibration=calibration,
                executor=executor,
                part_pages=3,
                on_file_done=done.append,
            )
        )
    assert [r.file_index for r in shared] == [0, 1, 2]
    assert sorted(r.file_index for r in done) == [0, 1, 2]

    def summary(results):
        return [
            (r.file_index, identity, reading.page, reading.nomor_peserta)
            for r in results
            for identity, reading in r.readings
        ]

    assert summary(shared) == summary(whole)
    big = shared[1]
    assert [reading.nomor_peserta for _, reading in big.readings] == [str(v) for v in range(20, 31)]
    digest = file_digest(files[1])
    assert big.digest == digest
    assert [identity for identity, _ in big.readings] == [
        page_hash(digest, page) for page in range(1, 12)
    ]


def test_a_small_batch_is_cut_so_every_worker_stays_busy(tmp_path):
    from ljun.batch._executor import MIN_PART_PAGES, PART_PAGES, TASKS_PER_WORKER

    envelopes = [first_pixel_tiff(tmp_path / f"{k}.tif", range(20)) for k in range(3)]
    # One worker: envelopes stay whole.
    assert plan_parts(envelopes) == [(k, str(p), None) for k, p in enumerate(envelopes)]
    # A batch large enough: envelopes stay whole but for the last PART_PAGES
    # pages a worker, cut in ranges of MIN_PART_PAGES so the workers end together.
    many = envelopes * 4
    tasks = plan_parts(many, workers=2)
    tail = [k for k, _, pages in tasks if pages is not None]
    assert tail and min(tail) == len(many) - -(-2 * PART_PAGES // 20)
    assert tasks[: min(tail)] == [(k, str(p), None) for k, p in enumerate(many[: min(tail)])]
    # Exactly the last 2 * PART_PAGES pages are in ranges of MIN_PART_PAGES;
    # the first tail file's pages before them are one range.
    sizes = [len(pages) for k, _, pages in tasks if k >= min(tail)]
    head = (len(many) - min(tail)) * 20 - 2 * PART_PAGES
    assert sizes == [head] * (head > 0) + [MIN_PART_PAGES] * (2 * PART_PAGES // MIN_PART_PAGES)
    # Three envelopes on two workers: about TASKS_PER_WORKER ranges each, in
    # order; the last (the tail) in ranges of MIN_PART_PAGES.
    tasks = plan_parts(envelopes, workers=2)
    size = -(-60 // (TASKS_PER_WORKER * 2))
    assert size >= MIN_PART_PAGES
    assert tasks == [
        (k, str(p), range(start, min(start + step, 20)))
        for k, p in enumerate(envelopes)
        for step in [size if k < 2 else MIN_PART_PAGES]
        for start in range(0, 20, step)
    ]
    # Never below MIN_PART_PAGES pages a range.
    short = plan_parts(envelopes[:1], workers=16)
    assert [len(pages) for _, _, pages in short] == [5, 5, 5, 5]


def test_the_worker_server_can_be_waited_for_until_it_has_the_reading_stack():
    """``start_worker_server(wait=True)`` returns once the server has imported
    the reading stack (OpenCV is mapped into it), so ``ljun bench`` does not
    time the server's imports as part of the batch."""
    code = (
        "import multiprocessing.forkserver as fs, os\n"
        "from ljun.batch import start_worker_server\n"
        "start_worker_server(wait=True)\n"
        "pid = fs._forkserver._forkserver_pid\n"
        "maps = open(f'/proc/{pid}/maps').read()\n"
        "print('cv2' in maps, 'ljun.pipeline' in open(f'/proc/{pid}/cmdline').read())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


def test_a_file_that_ends_the_batch_is_cut_fine_only_at_its_end(tmp_path):
    """A 500-page scan on two workers: ranges of PART_PAGES, then the last
    2 * PART_PAGES pages in ranges of MIN_PART_PAGES (not all 100 ranges of
    MIN_PART_PAGES, each opening the file again)."""
    from ljun.batch._executor import MIN_PART_PAGES, PART_PAGES

    big = first_pixel_tiff(tmp_path / "big.tif", [k % 256 for k in range(500)])
    tasks = plan_parts([big], workers=2)
    ranges = [pages for _, _, pages in tasks]
    assert [page for pages in ranges for page in pages] == list(range(500))
    fine = 2 * PART_PAGES // MIN_PART_PAGES
    assert [len(pages) for pages in ranges] == [PART_PAGES] * (500 // PART_PAGES - 2) + [
        MIN_PART_PAGES
    ] * fine


def _review_everything(page, template, calibration) -> SheetReading:
    return SheetReading(source=page.source, page=page.page, template=template.id, review=True)


def test_pages_of_every_part_keep_their_review_images(tmp_path, monkeypatch, ljun_template):
    """Regression: only the part that hashed the file captured review images,
    so pages of a large file read by several workers lost theirs."""
    use_fake_reader(monkeypatch, _review_everything)
    files = [first_pixel_tiff(tmp_path / "big.tif", range(11))]
    calibration = load_calibration()
    (whole,) = iter_file_results(files, template=ljun_template, calibration=calibration)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as executor:
        (shared,) = iter_file_results(
            files, template=ljun_template, calibration=calibration, executor=executor, part_pages=3
        )

    def images(result):
        return [(i.page_hash, i.file_digest, i.page, i.image.data) for i in result.review_images]

    assert len(images(whole)) == 11
    assert images(shared) == images(whole)
    assert [i.page_hash for i in shared.review_images] == [h for h, _ in shared.readings]


def _tiny_batch(tmp_path):
    # 8x8 pages: the real pipeline fails them fast (no fiducials), one reading a page.
    return [
        first_pixel_tiff(tmp_path / "a.tif", [1, 2]),
        first_pixel_tiff(tmp_path / "big.tif", range(12)),
        first_pixel_tiff(tmp_path / "c.tif", [3]),
    ]


def _pages(results):
    return [
        (r.file_index, identity, reading.page) for r in results for identity, reading in r.readings
    ]


def test_worker_processes_report_every_page_and_keep_file_order(tmp_path, ljun_template):
    files = _tiny_batch(tmp_path)
    calibration = load_calibration()
    alone = list(iter_file_results(files, template=ljun_template, calibration=calibration))
    progress, done = [], []
    with start_reading(
        files,
        template=ljun_template,
        calibration=calibration,
        workers=2,
        part_pages=3,
        on_pages=progress.append,
        on_file_done=done.append,
    ) as reading:
        shared = list(reading.results())
    assert _pages(shared) == _pages(alone)
    assert sum(progress) == 15
    assert sorted(r.file_index for r in done) == [0, 1, 2]


def _running(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def test_leaving_a_reading_unread_stops_its_workers(tmp_path, ljun_template):
    files = _tiny_batch(tmp_path)
    with start_reading(
        files, template=ljun_template, calibration=load_calibration(), workers=2, part_pages=3
    ) as reading:
        pids = [process.pid for process in reading._pool._processes.values()]
    assert pids
    for pid in pids:
        assert not _running(pid), f"worker {pid} still running after the reading was left"


def _fails_on_page_25(page, template, calibration) -> SheetReading:
    if int(page.image[0, 0]) == 25:
        raise RuntimeError("a reader bug")
    return _fake_read_sheet(page, template, calibration)


def test_a_page_that_fails_in_one_part_loses_no_other_page(tmp_path, monkeypatch, ljun_template):
    use_fake_reader(monkeypatch, _fails_on_page_25)
    files = [first_pixel_tiff(tmp_path / "big.tif", range(20, 31))]
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as executor:
        (result,) = iter_file_results(
            files,
            template=ljun_template,
            calibration=load_calibration(),
            executor=executor,
            part_pages=3,
        )
    assert [reading.page for _, reading in result.readings] == list(range(1, 12))
    assert [reading.nomor_peserta for _, reading in result.readings] == [
        "" if value == 25 else str(value) for value in range(20, 31)
    ]
    assert [page for page, _ in result.errors] == [6]
    assert result.readings[5][1].failure == FailureReason.READER_ERROR


def test_a_file_too_small_to_share_is_read_in_this_process(tmp_path, ljun_template):
    """Workers are started for a lone multi-page file before its pages are
    counted; with too few pages to share, it is read here all the same."""
    files = [first_pixel_tiff(tmp_path / "small.tif", [1, 2, 3])]
    with start_reading(
        files, template=ljun_template, calibration=load_calibration(), workers=2
    ) as reading:
        assert reading._pool is None
        (result,) = reading.results()
    assert [reading.page for _, reading in result.readings] == [1, 2, 3]


def test_a_reading_process_freezes_its_start_up_objects_once(tmp_path):
    """Reading in this process freezes what it holds before the first page
    out of the collector's full collections (``gc.freeze``), once: the
    second batch of the same process freezes nothing more."""
    scan = first_pixel_tiff(tmp_path / "one.tif", [7])
    code = (
        "import gc, sys\n"
        "from ljun.batch._executor import start_reading\n"
        "from ljun.calibration import load_calibration\n"
        "from ljun.template import DEFAULT_TEMPLATE, load_template\n"
        "def read():\n"
        "    with start_reading([sys.argv[1]], template=load_template(DEFAULT_TEMPLATE),\n"
        "                       calibration=load_calibration(), workers=1) as reading:\n"
        "        return [r.page for result in reading.results() for _, r in result.readings]\n"
        "before = gc.get_freeze_count()\n"
        "pages = read()\n"
        "first = gc.get_freeze_count()\n"
        "kept = [[n] for n in range(1000)]\n"
        "pages += read()\n"
        "print(pages, before, first > 10000, gc.get_freeze_count() == first)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(scan)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[1,", "1]", "0", "True", "True"]
