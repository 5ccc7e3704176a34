"""Running a batch: order, re-runs, crashes, reconciliation, attendance, rescoring."""

from __future__ import annotations

import concurrent.futures
import json
from decimal import Decimal

import numpy as np
import pytest
from _batch_helpers import first_pixel_tiff, use_fake_reader
from _score_helpers import key_set, make_key, make_reading, nomor

import ljun.batch._executor
import ljun.batch._reading
from ljun.batch import (
    Attendance,
    AttendanceError,
    BatchError,
    SheetSummary,
    image_hash,
    load_attendance,
    page_hash,
    reconcile,
    rescore,
    run_batch,
    summarise,
)
from ljun.calibration import load_calibration
from ljun.keys import AnswerKeySet, load_answer_keys
from ljun.nomor import normalise_nomor_peserta
from ljun.records import SheetReading
from ljun.store import open_store
from ljun.vocabulary import flag_reason

# --------------------------------------------------------------------------- a fake reader
#
# The batch machinery is tested with tiny scan files whose first pixel says
# which participant the page is, read by a stand-in for ljun.pipeline (in
# this process: workers=1).  The real pipeline is exercised at the end.


def _fake_read_sheet(page, template, calibration) -> SheetReading:
    participant = int(page.image[0, 0])
    if participant == 0:
        return SheetReading(
            source=page.source,
            page=page.page,
            template=template.id,
            flags=("blank_page",),
            review=True,
            failure="blank_page",
        )
    if participant == 255:
        raise ZeroDivisionError("a bug in a reader")
    return make_reading(
        source=page.source, page=page.page, participant=participant, correct=participant % 41
    )


@pytest.fixture
def fake_pipeline(monkeypatch):
    use_fake_reader(monkeypatch, _fake_read_sheet)


@pytest.fixture
def calibration():
    return load_calibration()


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "ljun.sqlite") as opened:
        yield opened


def _run(paths, store, ljun_template, calibration, keys=None, **options):
    return run_batch(
        paths,
        keys=keys or key_set(),
        store=store,
        template=ljun_template,
        calibration=calibration,
        **options,
    )


# --------------------------------------------------------------------------- batches


def test_results_follow_file_and_page_order(
    tmp_path, fake_pipeline, store, ljun_template, calibration
):
    scans = tmp_path / "scans"
    (scans / "b").mkdir(parents=True)
    first_pixel_tiff(scans / "b" / "env2.tif", [4, 5])
    first_pixel_tiff(scans / "env1.tif", [1, 2, 3])
    loose = first_pixel_tiff(tmp_path / "loose.tif", [9])
    result = _run([loose, scans], store, ljun_template, calibration)
    records = list(store.result_records(batch=result.batch_id))
    assert [(r["source"], r["page"]) for r in records] == [
        (str(loose), 1),
        (str(scans / "b" / "env2.tif"), 1),
        (str(scans / "b" / "env2.tif"), 2),
        (str(scans / "env1.tif"), 1),
        (str(scans / "env1.tif"), 2),
        (str(scans / "env1.tif"), 3),
    ]
    assert [r["nomor_peserta"] for r in records] == [nomor(p) for p in (9, 4, 5, 1, 2, 3)]
    assert [r["correct"] for r in records] == [9, 4, 5, 1, 2, 3]
    summary = result.summary
    assert (summary["files"], summary["pages"], summary["scored"], summary["review"]) == (
        3,
        6,
        6,
        0,
    )


def test_rerunning_the_same_files_does_not_duplicate_sheets(
    tmp_path, fake_pipeline, store, ljun_template, calibration
):
    scans = tmp_path / "scans"
    scans.mkdir()
    first_pixel_tiff(scans / "env1.tif", [1, 2, 3])
    _run([scans], store, ljun_template, calibration)
    moved = tmp_path / "archive"
    scans.rename(moved)  # the same files, somewhere else
    second = _run([moved], store, ljun_template, calibration)
    assert store.count("pages") == 3 and store.count("readings") == 3
    records = list(store.result_records())
    assert len(records) == 3
    assert {r["source"] for r in records} == {str(moved / "env1.tif")}
    assert len(list(store.result_records(batch=second.batch_id))) == 3


def test_failed_pages_are_stored_and_routed_to_review(
    tmp_path, fake_pipeline, store, ljun_template, calibration
):
    first_pixel_tiff(tmp_path / "env.tif", [1, 0])
    (tmp_path / "notes.tif").write_text("not an image", encoding="utf-8")
    result = _run([tmp_path / "env.tif", tmp_path / "notes.tif"], store, ljun_template, calibration)
    records = list(store.result_records())
    assert [r["flags"] for r in records] == [[], ["blank_page"], ["unsupported_format"]]
    assert [r["review"] for r in records] == [False, True, True]
    assert [r["score"] for r in records][1:] == [None, None]
    assert result.summary["failed"] == 2
    assert result.summary["reasons"] == {"blank_page": 1, "unsupported_format": 1}


def test_reader_bug_on_one_page_does_not_stop_the_batch(
    tmp_path, fake_pipeline, store, ljun_template, calibration
):
    first_pixel_tiff(tmp_path / "a.tif", [1, 255, 3])
    first_pixel_tiff(tmp_path / "b.tif", [4])
    result = _run([tmp_path / "a.tif", tmp_path / "b.tif"], store, ljun_template, calibration)
    records = list(store.result_records())
    assert [(r["page"], r["flags"]) for r in records] == [
        (1, []),
        (2, ["reader_error"]),
        (3, []),
        (1, []),
    ]
    assert result.summary["reader_errors"] == 1
    (entry,) = [e for e in store.reconciliation(result.batch_id) if e.kind == "reader_error"]
    assert (entry.page, entry.source) == (2, str(tmp_path / "a.tif"))
    assert entry.detail.startswith("ZeroDivisionError: a bug in a reader")


def test_loader_bug_skips_the_rest_of_the_file_only(
    tmp_path, fake_pipeline, store, ljun_template, calibration, monkeypatch
):
    first_pixel_tiff(tmp_path / "a.tif", [1, 2, 3])
    first_pixel_tiff(tmp_path / "b.tif", [4])
    real_iter = ljun.batch._reading.iter_file_pages

    def breaking(path, **options):
        for item in real_iter(path, **options):
            yield item
            if str(path).endswith("a.tif"):
                raise MemoryError("decoder ran out")

    monkeypatch.setattr(ljun.batch._reading, "iter_file_pages", breaking)
    result = _run([tmp_path / "a.tif", tmp_path / "b.tif"], store, ljun_template, calibration)
    records = list(store.result_records())
    assert [(r["page"], r["flags"]) for r in records] == [(1, []), (2, ["reader_error"]), (1, [])]
    (entry,) = [e for e in result.reconciliation if e.kind == "reader_error"]
    assert entry.detail == "MemoryError: decoder ran out; later pages not read"


def test_interrupted_batch_stores_nothing(
    tmp_path, fake_pipeline, store, ljun_template, calibration, monkeypatch
):
    first_pixel_tiff(tmp_path / "first.tif", [1])
    _run([tmp_path / "first.tif"], store, ljun_template, calibration)
    first_pixel_tiff(tmp_path / "a.tif", [2, 3])
    first_pixel_tiff(tmp_path / "b.tif", [4])
    real_read_file = ljun.batch._reading.read_file

    def interrupted(path, **kwargs):
        if str(path).endswith("b.tif"):
            raise KeyboardInterrupt
        return real_read_file(path, **kwargs)

    monkeypatch.setattr(ljun.batch._executor, "read_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run([tmp_path / "a.tif", tmp_path / "b.tif"], store, ljun_template, calibration)
    assert [r["source"] for r in store.result_records()] == [str(tmp_path / "first.tif")]
    assert [b.status for b in store.batches()] == ["complete", "failed"]


def test_same_file_given_twice_is_stored_once(
    tmp_path, fake_pipeline, store, ljun_template, calibration
):
    first_pixel_tiff(tmp_path / "env.tif", [1, 2])
    result = _run([tmp_path / "env.tif", tmp_path], store, ljun_template, calibration)
    assert store.count("pages") == 2
    assert result.summary["duplicate_pages"] == 2 and result.summary["pages"] == 4
    kinds = [e.kind for e in result.reconciliation]
    assert kinds.count("duplicate_page") == 2


def test_duplicates_are_flagged_and_sent_to_review(
    tmp_path, fake_pipeline, store, ljun_template, calibration
):
    first_pixel_tiff(tmp_path / "env1.tif", [1, 2])
    first_pixel_tiff(tmp_path / "env2.tif", [2, 3])  # participant 2 scanned twice
    result = _run([tmp_path / "env1.tif", tmp_path / "env2.tif"], store, ljun_template, calibration)
    records = list(store.result_records())
    flagged = [(r["source"].rsplit("/", 1)[-1], r["page"]) for r in records if r["review"]]
    assert flagged == [("env1.tif", 2), ("env2.tif", 1)]
    for record in records:
        if record["review"]:
            assert record["flags"] == ["duplicate_nomor_peserta", "duplicate_barcode"]
            assert record["score"] is not None  # the score stays; a person decides
    assert result.summary["duplicate_nomor_peserta"] == 2
    assert result.summary["duplicate_barcode"] == 2
    stored = {e.kind for e in store.reconciliation(result.batch_id)}
    assert {"duplicate_nomor_peserta", "duplicate_barcode", "file_pages"} <= stored


def test_a_participant_scanned_in_an_earlier_batch_is_a_duplicate_in_both(
    tmp_path, fake_pipeline, store, ljun_template, calibration
):
    first_pixel_tiff(tmp_path / "env1.tif", [1, 2])
    first = _run([tmp_path / "env1.tif"], store, ljun_template, calibration)
    assert first.summary["review"] == 0
    first_pixel_tiff(tmp_path / "env2.tif", [2, 3])  # participant 2 again, in a later batch
    second = _run([tmp_path / "env2.tif"], store, ljun_template, calibration)
    records = {(r["source"].rsplit("/", 1)[-1], r["page"]): r for r in store.result_records()}
    for place in (("env1.tif", 2), ("env2.tif", 1)):
        assert records[place]["review"], place
        assert "duplicate_nomor_peserta" in records[place]["flags"]
        assert records[place]["score"] is not None
    assert not records[("env1.tif", 1)]["review"] and not records[("env2.tif", 2)]["review"]
    assert second.summary["duplicates_in_store"] == 1
    (entry,) = [
        e
        for e in store.reconciliation(second.batch_id)
        if e.kind == "duplicate_nomor_peserta" and e.source.endswith("env2.tif")
    ]
    assert entry.detail == f"also on {tmp_path / 'env1.tif'} page 2 (batch {first.batch_id})"
    # A rescore keeps the flag the later batch gave the earlier sheet.
    rescore(store, key_set())
    records = {(r["source"].rsplit("/", 1)[-1], r["page"]): r for r in store.result_records()}
    assert "duplicate_nomor_peserta" in records[("env1.tif", 2)]["flags"]


def test_rerunning_the_same_file_is_not_a_duplicate_of_itself(
    tmp_path, fake_pipeline, store, ljun_template, calibration
):
    first_pixel_tiff(tmp_path / "env1.tif", [1, 2])
    _run([tmp_path / "env1.tif"], store, ljun_template, calibration)
    again = _run([tmp_path / "env1.tif"], store, ljun_template, calibration)
    assert again.summary["review"] == 0 and again.summary["duplicates_in_store"] == 0
    assert store.count("pages") == 2


def test_an_injected_executor_reads_the_files(
    tmp_path, fake_pipeline, store, ljun_template, calibration
):
    for index in range(4):
        first_pixel_tiff(tmp_path / f"env{index}.tif", [3 * index + 1, 3 * index + 2])
    pages_seen = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as executor:
        result = _run(
            [tmp_path],
            store,
            ljun_template,
            calibration,
            executor=executor,
            on_pages=pages_seen.append,
        )
        # The caller's executor stays the caller's: still open after the batch.
        assert executor.submit(int, "42").result() == 42
    records = list(store.result_records(batch=result.batch_id))
    assert [(r["source"].rsplit("/", 1)[-1], r["page"]) for r in records] == [
        (f"env{i}.tif", p) for i in range(4) for p in (1, 2)
    ]
    assert sum(pages_seen) == 8


def test_attendance_reconciliation(tmp_path, fake_pipeline, store, ljun_template, calibration):
    first_pixel_tiff(tmp_path / "env.tif", [1, 2, 7])
    listed = Attendance(
        frozenset({nomor(1), nomor(2), nomor(3), nomor(4)}),
        marked_absent=frozenset({nomor(2), nomor(4)}),
    )
    result = _run([tmp_path / "env.tif"], store, ljun_template, calibration, attendance=listed)
    records = {r["nomor_peserta"]: r for r in store.result_records()}
    assert records[nomor(1)]["review"] is False
    assert records[nomor(2)]["flags"] == ["marked_absent"] and records[nomor(2)]["review"]
    assert records[nomor(7)]["flags"] == ["not_on_attendance"] and records[nomor(7)]["review"]
    entries = {(e.kind, e.nomor_peserta) for e in store.reconciliation(result.batch_id)}
    assert ("absent", nomor(4)) in entries
    assert ("missing_sheet", nomor(3)) in entries
    summary = result.summary
    assert (
        summary["absent"],
        summary["missing_sheet"],
        summary["not_on_attendance"],
        summary["marked_absent"],
        summary["attendance_listed"],
    ) == (1, 1, 1, 1, 4)


def test_no_scan_files_is_an_error(tmp_path, store, ljun_template, calibration):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BatchError, match="no scan files"):
        _run([tmp_path / "empty"], store, ljun_template, calibration)
    assert store.batches() == []


# --------------------------------------------------------------------------- rescoring


def test_rescore_after_cancelling_an_item(
    tmp_path, fake_pipeline, store, ljun_template, calibration
):
    first_pixel_tiff(tmp_path / "env.tif", [30, 31, 0])
    first_pixel_tiff(tmp_path / "env2.tif", [31])  # a duplicate: its flag must survive rescoring
    _run([tmp_path / "env.tif", tmp_path / "env2.tif"], store, ljun_template, calibration)
    before = list(store.result_records())
    assert [r["correct"] for r in before] == [30, 31, None, 31]

    corrected = AnswerKeySet.from_keys([make_key("A", cancelled=[40])])
    result = rescore(store, corrected)
    after = list(store.result_records())
    # answers_with(n) gets items 1..n right, so item 40 was wrong on every sheet.
    assert [r["correct"] for r in after] == [31, 32, None, 32]
    assert [r["score"] for r in after] == [Decimal("7.75"), Decimal("8.00"), None, Decimal("8.00")]
    assert after[1]["flags"] == ["duplicate_nomor_peserta", "duplicate_barcode"]
    assert after[2] == before[2]  # the blank page has no key to be scored with
    assert (result.rescored, result.changed, result.kept) == (3, 3, 1)
    assert store.count("pages") == 4
    assert store.last_batch().kind == "rescore"


def test_rescore_keeps_sheets_of_other_pakets(
    tmp_path, monkeypatch, store, ljun_template, calibration
):
    def read_b(page, template, calibration):
        return make_reading(source=page.source, page=page.page, paket="B", correct=20)

    use_fake_reader(monkeypatch, read_b)
    first_pixel_tiff(tmp_path / "env.tif", [1])
    _run([tmp_path / "env.tif"], store, ljun_template, calibration)
    result = rescore(store, AnswerKeySet.from_keys([make_key("A", cancelled=[1])]))
    (record,) = store.result_records()
    assert record["correct"] == 20 and record["flags"] == []
    assert (result.rescored, result.kept) == (0, 1)


def test_rescoring_with_the_same_key_changes_nothing(
    tmp_path, fake_pipeline, store, ljun_template, calibration
):
    first_pixel_tiff(tmp_path / "env.tif", [5, 6])
    _run([tmp_path / "env.tif"], store, ljun_template, calibration)
    before = list(store.result_records())
    result = rescore(store, key_set())
    assert (result.rescored, result.changed) == (2, 0)
    assert list(store.result_records()) == before


# --------------------------------------------------------------------------- reconciliation


def _summary(seq, nomor_peserta="", barcode="", **extra):
    fields = dict(
        seq=seq,
        file_index=0,
        source="env.tif",
        page=seq,
        nomor_peserta=nomor_peserta,
        barcode=barcode,
        paket="A",
        score=Decimal("5.00"),
        flags=(),
        review=False,
        failed=False,
    )
    fields.update(extra)
    return SheetSummary(**fields)


def test_unread_identities_are_not_duplicates():
    sheets = [
        _summary(1, "4-12-01-02-001-00?-0", "LJUN-A-00000?"),
        _summary(2, "4-12-01-02-001-00?-0", "LJUN-A-00000?"),
        _summary(3, "", ""),
        _summary(4, "", ""),
    ]
    found = reconcile(sheets)
    assert found.flags == {} and found.entries == ()


def test_duplicate_entries_name_the_other_sheets():
    sheets = [_summary(1, nomor(1)), _summary(2, nomor(1)), _summary(3, nomor(1))]
    found = reconcile(sheets)
    assert found.flags == {
        1: ("duplicate_nomor_peserta",),
        2: ("duplicate_nomor_peserta",),
        3: ("duplicate_nomor_peserta",),
    }
    assert found.entries[0].detail == "also on env.tif page 2; env.tif page 3"


def test_a_participant_on_many_sheets_names_a_few_of_the_others():
    # Every sheet of a large group listed all the others: 120 MB of entries
    # in a 10,000-page batch where each participant appeared 100 times.
    from ljun.batch._reconcile import OTHERS_NAMED

    sheets = [_summary(k, nomor(1)) for k in range(1, 41)]
    found = reconcile(sheets)
    assert len(found.flags) == 40
    first = found.entries[0].detail
    named = [f"env.tif page {k}" for k in range(2, 2 + OTHERS_NAMED)]
    assert first == f"also on {'; '.join(named)}; and {39 - OTHERS_NAMED} more"


def test_summary_means_are_rounded_half_up():
    sheets = [
        _summary(1, score=Decimal("7.25")),
        _summary(2, score=Decimal("7.50")),
        _summary(3, score=None, review=True, flags=("no_key:A",)),
        _summary(4, paket="?", score=None, failed=True, flags=("blank_page",), review=True),
    ]
    summary = summarise(sheets)
    assert summary["pakets"]["A"] == {"sheets": 3, "scored": 2, "mean": "7.38"}  # 7.375 up
    assert summary["pakets"]["?"] == {"sheets": 1, "scored": 0, "mean": None}
    assert (summary["sheets"], summary["scored"], summary["review"], summary["failed"]) == (
        4,
        2,
        2,
        1,
    )
    json.dumps(summary)  # stored as JSON with the batch


def test_flag_reason_drops_numbers():
    assert flag_reason("answer_unsure:7") == "answer_unsure"
    assert flag_reason("multi_mark:nomor_peserta:12") == "multi_mark:nomor_peserta"
    assert flag_reason("no_key:S") == "no_key:S"


# --------------------------------------------------------------------------- attendance lists


def test_attendance_list_with_hadir_column(tmp_path):
    path = tmp_path / "amplop-001.csv"
    path.write_text(
        "no,nomor_peserta,nama,hadir\n"
        f"1,{nomor(1)},ANI,ya\n"
        f"2,{nomor(2).replace('-', '')},BUDI,tidak\n"
        "\n"
        f"3,{nomor(3)},CITRA,A\n"
        f"4,{nomor(4)},DEDI,\n",
        encoding="utf-8",
    )
    attendance = load_attendance([path])
    assert attendance.listed == {nomor(1), nomor(2), nomor(3), nomor(4)}
    assert attendance.marked_absent == {nomor(2), nomor(3)}


def test_absent_in_the_room_but_present_at_the_susulan(tmp_path):
    room = tmp_path / "amplop-001.csv"
    room.write_text(
        f"nomor_peserta,paket,hadir\n{nomor(1)},A,tidak\n{nomor(2)},A,tidak\n", encoding="utf-8"
    )
    susulan = tmp_path / "amplop-009.csv"
    susulan.write_text(f"nomor_peserta,paket,hadir\n{nomor(1)},S,ya\n", encoding="utf-8")
    attendance = load_attendance([room, susulan])
    assert attendance.marked_absent == {nomor(2)}
    assert attendance.listed == {nomor(1), nomor(2)}


def test_attendance_list_with_semicolons_and_no_hadir(tmp_path):
    path = tmp_path / "ruang.csv"
    path.write_text(f"\ufeffNomor_Peserta;Nama\n{nomor(1)};ANI\n", encoding="utf-8")
    assert load_attendance([path]) == Attendance(frozenset({nomor(1)}))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nama\nANI\n", "line 1: no nomor_peserta column"),
        ("nomor_peserta\n4-12-01\n", "line 2: '4-12-01' is not a nomor peserta"),
        (f"nomor_peserta,hadir\n{nomor(1)},mungkin\n", "line 2: hadir 'mungkin'"),
    ],
)
def test_bad_attendance_list_names_file_and_line(tmp_path, text, message):
    path = tmp_path / "daftar.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AttendanceError, match=message) as caught:
        load_attendance([path])
    assert str(path) in str(caught.value)


def test_nomor_peserta_forms():
    assert normalise_nomor_peserta("4 12 01 02 001 005 0") == "4-12-01-02-001-005-0"
    assert normalise_nomor_peserta("412010200100500") is None


# --------------------------------------------------------------------------- identity


def test_page_identity():
    assert page_hash("abc", 1) == page_hash("abc", 1)
    assert page_hash("abc", 1) != page_hash("abc", 2) != page_hash("abd", 2)
    assert page_hash("", 1, source="a.tif") != page_hash("", 1, source="b.tif")
    image = np.zeros((4, 4), np.uint8)
    assert image_hash(image) == image_hash(image.copy())
    assert image_hash(image) != image_hash(image.reshape(2, 8))


# --------------------------------------------------------------------------- the real pipeline


@pytest.fixture(scope="module")
def generated_set(tmp_path_factory):
    """Eight generated sheets in three TIFF files, with truth and keys."""
    from ljun.samples import make_samples
    from ljun.template import load_template

    folder = tmp_path_factory.mktemp("generated")
    make_samples(
        load_template("ljun-teori-kejuruan"),
        folder,
        count=8,
        seed=11,
        level="easy",
        fmt="tiff",
        pages_per_file=3,
        include_special_pages=False,
    )
    return folder


def test_parallel_workers_give_the_same_results(
    generated_set, tmp_path, ljun_template, calibration
):
    keys = load_answer_keys(
        [generated_set / name for name in ("paketA.json", "paketB.json", "susulan.json")]
    )
    records = {}
    for workers in (1, 2):
        with open_store(tmp_path / f"w{workers}.sqlite") as store:
            run_batch(
                [generated_set],
                keys=keys,
                store=store,
                template=ljun_template,
                calibration=calibration,
                workers=workers,
            )
            records[workers] = list(store.result_records())
    assert len(records[1]) == 8
    assert records[1] == records[2]
    assert [r["source"].rsplit("/", 1)[-1] for r in records[1]] == (
        ["amplop-001_1.tif"] * 3 + ["amplop-001_2.tif"] * 3 + ["amplop-001_3.tif"] * 2
    )
