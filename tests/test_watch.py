"""``ljun.watch`` without threads: names, settling, file structure, moves, one round."""

from __future__ import annotations

import datetime as _dt
import io
import json
import re
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from _watch_helpers import KEY_NAMES, make_scans
from PIL import Image

from ljun.batch import file_digest, page_hash, run_batch
from ljun.calibration import load_calibration
from ljun.keys import load_answer_keys
from ljun.store import WatchedFile, open_store
from ljun.template import load_template
from ljun.vocabulary import BatchKind, WatchOutcome
from ljun.watch import (
    REASON_SUFFIX,
    Completeness,
    Inbox,
    Listing,
    WatchSettings,
    completeness,
    free_name,
    is_candidate,
    is_temporary_name,
    move_file,
    observe,
    process_files,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED = REPO_ROOT / "samples" / "scans"


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> list[Path]:
    """Three one-page generated TIFF scans (keys beside them)."""
    return make_scans(tmp_path_factory.mktemp("scans"), count=3, seed=3)


@pytest.fixture
def settings(scans, tmp_path) -> WatchSettings:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return WatchSettings(
        inbox=inbox,
        done=tmp_path / "done",
        quarantine=tmp_path / "quarantine",
        keys=load_answer_keys([scans[0].parent / name for name in KEY_NAMES]),
        template=load_template("ljun-teori-kejuruan"),
        calibration=load_calibration(None),
        workers=1,
    )


def _today(settings: WatchSettings) -> Path:
    return settings.done / _dt.datetime.now().date().isoformat()


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "name, temporary, candidate",
    [
        ("amplop-001.tif", False, True),
        ("AMPLOP.TIFF", False, True),
        ("scan.pdf", False, True),
        ("scan.jpeg", False, True),
        ("scan.tif.tmp", True, False),
        ("scan.TMP", True, False),
        ("~scan.tif", True, False),
        (".scan.tif", True, False),
        (".scan.tif.abc.part", True, False),  # ljun's own atomic writes
        ("scan.tif.part", True, False),
        ("Thumbs.db", False, False),
        ("notes.txt", False, False),
    ],
)
def test_temporary_and_candidate_names(name, temporary, candidate):
    assert is_temporary_name(name) is temporary
    assert is_candidate(name) is candidate


# --------------------------------------------------------------------------- settling


def test_a_changing_file_restarts_its_settling_time():
    first = observe(None, size=100, mtime_ns=1, now=10.0)
    same = observe(first, size=100, mtime_ns=1, now=11.0)
    assert same.unchanged_for(12.0) == 2.0
    touched = observe(same, size=100, mtime_ns=2, now=11.5)
    assert touched.unchanged_for(12.0) == 0.5
    grown = observe(touched, size=200, mtime_ns=2, now=11.8)
    assert grown.unchanged_for(12.0) == pytest.approx(0.2)


def _inbox(states: dict[str, Completeness], *, settle: float = 1.0, give_up: float = 5.0) -> Inbox:
    def check(path: Path) -> Completeness:
        state = states[path.name]
        if state is None:
            raise FileNotFoundError(path)
        return state

    return Inbox(Path("/inbox"), settle_s=settle, give_up_s=give_up, check=check)


def test_a_file_is_ready_only_after_it_kept_size_and_mtime_for_the_settling_time():
    inbox = _inbox({"a.tif": Completeness.WHOLE})
    assert inbox.update([Listing("a.tif", 10, 1)], now=0.0) == []
    assert inbox.update([Listing("a.tif", 20, 2)], now=1.0) == []  # still growing
    assert inbox.update([Listing("a.tif", 20, 2)], now=1.75) == []  # 0.75 s unchanged
    assert inbox.next_look(1.75) == pytest.approx(0.25)
    assert inbox.update([Listing("a.tif", 20, 2)], now=2.0) == [Path("/inbox/a.tif")]


def test_a_file_cut_short_waits_for_the_give_up_time():
    inbox = _inbox({"cut.tif": Completeness.CUT_SHORT}, settle=1.0, give_up=5.0)
    inbox.update([Listing("cut.tif", 10, 1)], now=0.0)
    assert inbox.update([Listing("cut.tif", 10, 1)], now=2.0) == []
    assert inbox.update([Listing("cut.tif", 10, 1)], now=4.9) == []
    assert inbox.update([Listing("cut.tif", 10, 1)], now=5.0) == [Path("/inbox/cut.tif")]


def test_a_file_that_is_no_image_is_taken_after_settling_to_go_to_quarantine():
    inbox = _inbox({"junk.pdf": Completeness.FOREIGN})
    inbox.update([Listing("junk.pdf", 10, 1)], now=0.0)
    assert inbox.update([Listing("junk.pdf", 10, 1)], now=1.0) == [Path("/inbox/junk.pdf")]


def test_files_that_vanish_are_forgotten_and_unreadable_ones_wait():
    inbox = _inbox({"a.tif": None, "b.tif": Completeness.WHOLE})
    inbox.update([Listing("a.tif", 1, 1), Listing("b.tif", 1, 1)], now=0.0)
    assert inbox.update([Listing("a.tif", 1, 1), Listing("b.tif", 1, 1)], now=2.0) == [
        Path("/inbox/b.tif")
    ]
    inbox.update([], now=3.0)
    assert len(inbox) == 0 and inbox.next_look(3.0) is None


# --------------------------------------------------------------------------- structure


def _cuts(data: bytes) -> list[int]:
    return sorted({1, 4, 7, 8, 9, 200, len(data) // 3, len(data) // 2, len(data) - 1})


def _multipage_tiff(scans: list[Path], tmp_path: Path) -> Path:
    import tifffile

    path = tmp_path / "three.tif"
    with tifffile.TiffWriter(path) as tiff:
        for scan in scans:
            pixels = tifffile.imread(scan)
            if pixels.dtype == bool:  # 1-bit scans: write them as 8-bit gray
                pixels = pixels.astype(np.uint8) * 255
            tiff.write(pixels, compression="zlib")
    return path


@pytest.mark.parametrize("kind", ["tiff", "bigtiff", "pdf", "png", "jpeg"])
def test_whole_files_are_whole_and_every_cut_is_cut_short(kind, scans, tmp_path):
    if kind == "tiff":
        data = _multipage_tiff(scans, tmp_path).read_bytes()
    elif kind == "bigtiff":
        import tifffile

        path = tmp_path / "big.tif"
        tifffile.imwrite(
            path, np.zeros((3, 40, 30), np.uint8), bigtiff=True, photometric="minisblack"
        )
        data = path.read_bytes()
    elif kind == "pdf":
        data = (BUNDLED / "amplop-001.pdf").read_bytes()
    elif kind == "png":
        data = (BUNDLED / "amplop-003" / "001.png").read_bytes()
    else:
        buffer = io.BytesIO()
        Image.fromarray(np.full((40, 30), 200, np.uint8)).save(buffer, "JPEG")
        data = buffer.getvalue()
    whole = tmp_path / f"whole.{kind}"
    whole.write_bytes(data)
    assert completeness(whole) == Completeness.WHOLE
    for cut in _cuts(data):
        part = tmp_path / f"cut.{kind}"
        part.write_bytes(data[:cut])
        assert completeness(part) == Completeness.CUT_SHORT, f"{kind} cut at {cut} of {len(data)}"


def test_a_multipage_tiff_cut_between_pages_is_cut_short(scans, tmp_path):
    """A copy stalled after whole pages must not look like a shorter batch."""
    import tifffile

    path = _multipage_tiff(scans, tmp_path)
    data = path.read_bytes()
    with tifffile.TiffFile(path) as tiff:
        second = tiff.pages[1]
        end_of_second = max(o + n for o, n in zip(second.dataoffsets, second.databytecounts))
    for cut in (end_of_second, end_of_second + 1):
        part = tmp_path / "part.tif"
        part.write_bytes(data[:cut])
        assert completeness(part) == Completeness.CUT_SHORT


def test_empty_and_foreign_files(tmp_path):
    (tmp_path / "empty.tif").write_bytes(b"")
    (tmp_path / "junk.tif").write_bytes(b"this is not an image at all\n" * 10)
    assert completeness(tmp_path / "empty.tif") == Completeness.CUT_SHORT
    assert completeness(tmp_path / "junk.tif") == Completeness.FOREIGN


# --------------------------------------------------------------------------- moves


def test_a_name_in_use_gets_a_number(tmp_path):
    (tmp_path / "scan.tif").write_bytes(b"1")
    (tmp_path / "scan (2).tif").write_bytes(b"2")
    (tmp_path / f"bad.pdf{REASON_SUFFIX}").write_text("x")
    assert free_name(tmp_path, "scan.tif").name == "scan (3).tif"
    assert free_name(tmp_path, "scan.tif", frozenset({"scan (3).tif"})).name == "scan (4).tif"
    assert free_name(tmp_path, "bad.pdf").name == "bad (2).pdf"
    assert free_name(tmp_path, "new.tif").name == "new.tif"


def test_a_move_never_overwrites(tmp_path):
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    with pytest.raises(FileExistsError):
        move_file(tmp_path / "a", tmp_path / "b")
    move_file(tmp_path / "a", tmp_path / "day" / "a")
    assert (tmp_path / "day" / "a").read_bytes() == b"a" and not (tmp_path / "a").exists()


# --------------------------------------------------------------------------- one round


def _watched(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT name, outcome, destination FROM watched_files ORDER BY id"
        ).fetchall()


def test_a_round_scores_moves_quarantines_and_recognises_a_duplicate(scans, settings, tmp_path):
    inbox = settings.inbox
    shutil.copy(scans[0], inbox / "a.tif")
    shutil.copy(scans[0], inbox / "copy-of-a.tif")  # the same bytes, another name
    shutil.copy(scans[1], inbox / "b.tif")
    (inbox / "junk.tif").write_bytes(b"not a scan\n" * 100)
    db = tmp_path / "s.sqlite"
    with open_store(db) as store:
        outcomes = process_files(
            sorted(inbox.iterdir()), settings=settings, store=store, executor=None
        )
        batches = store.batches()
    by_name = {o.name: o for o in outcomes}
    assert by_name["a.tif"].outcome == WatchOutcome.DONE and by_name["a.tif"].pages == 1
    assert by_name["b.tif"].outcome == WatchOutcome.DONE
    assert by_name["junk.tif"].outcome == WatchOutcome.QUARANTINE
    assert by_name["copy-of-a.tif"].outcome == WatchOutcome.DUPLICATE
    assert "a.tif" in by_name["copy-of-a.tif"].detail
    assert [b.kind for b in batches] == [BatchKind.WATCH] and batches[0].status == "complete"
    assert sorted(p.name for p in _today(settings).iterdir()) == ["a.tif", "b.tif", "copy-of-a.tif"]
    quarantined = sorted(p.name for p in settings.quarantine.iterdir())
    assert quarantined == ["junk.tif", f"junk.tif{REASON_SUFFIX}"]
    reason = (settings.quarantine / f"junk.tif{REASON_SUFFIX}").read_text()
    assert "junk.tif" in reason and "no page" in reason and "Fix:" in reason
    assert list(inbox.iterdir()) == []
    # Sheets: a, b and the junk file's failure; the duplicate is not counted.
    expected = {page_hash(file_digest(scans[k]), 1) for k in (0, 1)}
    with sqlite3.connect(db) as connection:
        hashes = {row[0] for row in connection.execute("SELECT page_hash FROM pages")}
    assert expected <= hashes and len(hashes) == 3


def test_a_file_dropped_again_after_it_was_moved_is_a_duplicate(scans, settings, tmp_path):
    db = tmp_path / "s.sqlite"
    with open_store(db) as store:
        shutil.copy(scans[0], settings.inbox / "scan.tif")
        process_files([settings.inbox / "scan.tif"], settings=settings, store=store)
        shutil.copy(scans[0], settings.inbox / "scan.tif")  # the same name and bytes again
        [again] = process_files([settings.inbox / "scan.tif"], settings=settings, store=store)
        assert len(store.batches()) == 1
    assert again.outcome == WatchOutcome.DUPLICATE
    assert again.destination.name == "scan (2).tif"
    assert sorted(p.name for p in _today(settings).iterdir()) == ["scan (2).tif", "scan.tif"]


def test_a_file_whose_sheets_are_stored_is_moved_without_scoring_again(scans, settings, tmp_path):
    """As after a crash between the batch's commit and the journal (or after `ljun score`)."""
    db = tmp_path / "s.sqlite"
    target = settings.inbox / "scan.tif"
    shutil.copy(scans[2], target)
    with open_store(db) as store:
        run_batch(
            [target],
            keys=settings.keys,
            store=store,
            template=settings.template,
            calibration=settings.calibration,
        )
        [outcome] = process_files([target], settings=settings, store=store)
        assert len(store.batches()) == 1  # no second batch
        assert store.count("scores") == 1
    assert outcome.outcome == WatchOutcome.DONE and outcome.recovered and outcome.pages == 1
    assert (_today(settings) / "scan.tif").is_file() and not target.exists()
    assert _watched(db) == [("scan.tif", "done", str(_today(settings) / "scan.tif"))]


def test_a_journalled_file_not_yet_moved_goes_where_the_journal_says(scans, settings, tmp_path):
    """As after a crash between the journal and the move: no new row, no new batch."""
    db = tmp_path / "s.sqlite"
    target = settings.inbox / "scan.tif"
    shutil.copy(scans[1], target)
    planned = settings.done / "2020-01-01" / "scan.tif"
    with open_store(db) as store:
        store.record_watched(
            [
                WatchedFile(
                    digest=file_digest(target),
                    name="scan.tif",
                    inbox=str(settings.inbox),
                    outcome=WatchOutcome.DONE,
                    destination=str(planned),
                    pages=1,
                )
            ]
        )
        [outcome] = process_files([target], settings=settings, store=store)
        assert store.batches() == []
    assert outcome.destination == planned and planned.is_file() and not target.exists()
    assert len(_watched(db)) == 1


def test_status_shows_what_the_store_holds(scans, settings, tmp_path, run_cli):
    db = tmp_path / "s.sqlite"
    shutil.copy(scans[0], settings.inbox / "a.tif")
    (settings.inbox / "junk.pdf").write_bytes(b"%PDF-1.4 broken")
    with open_store(db) as store:
        process_files(sorted(settings.inbox.iterdir()), settings=settings, store=store)
    result = run_cli("status", "--db", db)
    assert result.exit_code == 0, result.stderr
    assert "batches today:     1 (1 complete)" in result.stdout
    assert "files today:       2 (1 done, 1 quarantine)" in result.stdout
    assert "sheets:            2" in result.stdout and "failed (not read): 1" in result.stdout
    assert "last file seen:    junk.pdf" in result.stdout
    document = json.loads(run_cli("status", "--db", db, "--json").stdout)
    assert document["files_today"] == {"done": 1, "quarantine": 1}
    assert document["last_file"]["outcome"] == "quarantine"


def test_status_of_a_missing_store_is_a_clear_error(run_cli, tmp_path):
    result = run_cli("status", "--db", tmp_path / "none.sqlite")
    assert (
        result.exit_code == 2 and "none.sqlite" in result.stderr and "no such file" in result.stderr
    )


def test_watch_refuses_a_missing_inbox_and_a_bad_key(run_cli, tmp_path, scans):
    result = run_cli("watch", tmp_path / "nowhere", "--key", scans[0].parent / "paketA.json")
    assert result.exit_code == 2 and "nowhere" in result.stderr
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (tmp_path / "bad.json").write_text("{")
    result = run_cli("watch", inbox, "--key", tmp_path / "bad.json", "--db", tmp_path / "s.sqlite")
    assert result.exit_code == 2 and "bad.json" in result.stderr


def test_one_participant_in_two_files_of_two_rounds_flags_both_sheets(scans, settings, tmp_path):
    """Reconciliation looks across the store: the earlier round's sheet is flagged too."""
    db = tmp_path / "s.sqlite"
    first, second = settings.inbox / "first.tif", settings.inbox / "rescan.tif"
    first.write_bytes(scans[0].read_bytes())
    # Another scan of the same sheet: other bytes (a trailer), the same participant.
    with open_store(db) as store:
        process_files([first], settings=settings, store=store)
        second.write_bytes(scans[0].read_bytes() + b"\0rescanned")
        [outcome] = process_files([second], settings=settings, store=store)
        records = list(store.result_records())
    assert outcome.outcome == WatchOutcome.DONE and outcome.review == 1
    assert len(records) == 2
    assert all("duplicate_nomor_peserta" in r["flags"] and r["review"] for r in records)


def test_a_file_that_cannot_be_moved_stays_and_is_moved_by_a_later_round(
    scans, settings, tmp_path, caplog
):
    db = tmp_path / "s.sqlite"
    target = settings.inbox / "scan.tif"
    target.write_bytes(scans[1].read_bytes())
    settings.done.mkdir()
    blocker = _today(settings)
    blocker.write_bytes(b"a file where the day's folder should be")
    with open_store(db) as store:
        assert process_files([target], settings=settings, store=store) == []
        assert target.is_file() and "cannot be moved" in caplog.text
        blocker.unlink()
        [outcome] = process_files([target], settings=settings, store=store)
        assert len(store.batches()) == 1 and store.count("watched_files") == 1
    assert outcome.destination == blocker / "scan.tif" and outcome.destination.is_file()


def test_log_lines_are_written_above_the_live_status_line(tmp_path):
    from ljun.watch import LOGGER, StatusLine, configure_logging

    screen = io.StringIO()
    status = StatusLine(screen, enabled=True)
    configure_logging(tmp_path / "watch.log", status, screen)
    try:
        status.show("watching inbox: 1 files")
        LOGGER.info("done a.tif: 1 sheets, 0 to review")
    finally:
        LOGGER.handlers.clear()
        LOGGER.propagate = True
    # The status line is cleared, the log line written, the status drawn again.
    pattern = (
        r"\r\x1b\[Kwatching inbox: 1 files"
        r"\r\x1b\[K\d{4}-\d\d-\d\d \d\d:\d\d:\d\d done a\.tif: 1 sheets, 0 to review\n"
        r"watching inbox: 1 files"
    )
    assert re.fullmatch(pattern, screen.getvalue()), repr(screen.getvalue())
    assert "done a.tif: 1 sheets, 0 to review" in screen.getvalue()
    assert "done a.tif" in (tmp_path / "watch.log").read_text()
    quiet = io.StringIO()
    StatusLine(quiet, enabled=False).show("watching")
    assert quiet.getvalue() == ""


def test_a_file_with_a_bad_page_keeps_its_good_pages_and_names_the_bad_one(
    scans, settings, tmp_path
):
    import tifffile

    whole = _multipage_tiff(scans, tmp_path)
    with tifffile.TiffFile(whole) as tiff:
        cut = tiff.pages[2].dataoffsets[0] + 10  # into the third page's data
    target = settings.inbox / "cut.tif"
    target.write_bytes(whole.read_bytes()[:cut])
    with open_store(tmp_path / "s.sqlite") as store:
        [outcome] = process_files([target], settings=settings, store=store)
        records = list(store.result_records())
    assert outcome.outcome == WatchOutcome.DONE
    assert (outcome.pages, outcome.failed) == (3, 1)
    assert outcome.detail.startswith("page 3: ")
    assert [r["score"] is not None for r in records] == [True, True, False]
    assert (_today(settings) / "cut.tif").is_file()


def test_a_copy_of_a_quarantined_file_joins_it_in_quarantine(settings, tmp_path):
    junk = b"II*\0\x08\0\0\0" + b"\xff" * 300
    db = tmp_path / "s.sqlite"
    with open_store(db) as store:
        (settings.inbox / "a.tif").write_bytes(junk)
        (settings.inbox / "b.tif").write_bytes(junk)  # the same round
        process_files(sorted(settings.inbox.iterdir()), settings=settings, store=store)
        (settings.inbox / "c.tif").write_bytes(junk)  # a later round
        [later] = process_files([settings.inbox / "c.tif"], settings=settings, store=store)
    assert later.outcome == WatchOutcome.DUPLICATE
    assert sorted(p.name for p in settings.quarantine.iterdir()) == [
        f"{name}{suffix}" for name in ("a.tif", "b.tif", "c.tif") for suffix in ("", REASON_SUFFIX)
    ]
    assert "the same bytes as a.tif" in (settings.quarantine / f"c.tif{REASON_SUFFIX}").read_text()
    assert not settings.done.exists() or not any(settings.done.rglob("*.tif"))
    assert [row[1] for row in _watched(db)] == ["quarantine", "duplicate", "duplicate"]


def test_a_round_hashes_each_file_once(scans, settings, tmp_path, monkeypatch):
    # The watcher's journal hashes every file; reading it uses that digest
    # instead of hashing the file again.
    import ljun.batch._identity
    import ljun.batch._reading
    import ljun.watch._process

    hashed: list[str] = []
    real = ljun.batch._identity.file_digest

    def counted(path, *args, **kwargs):
        hashed.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(ljun.batch._reading, "file_digest", counted)
    monkeypatch.setattr(ljun.watch._process, "file_digest", counted)
    shutil.copy(scans[0], settings.inbox / "a.tif")
    shutil.copy(scans[1], settings.inbox / "b.tif")
    db = tmp_path / "s.sqlite"
    with open_store(db) as store:
        outcomes = process_files(
            sorted(settings.inbox.iterdir()), settings=settings, store=store, executor=None
        )
    assert [o.outcome for o in outcomes] == [WatchOutcome.DONE, WatchOutcome.DONE]
    assert sorted(hashed) == ["a.tif", "b.tif"]
    with sqlite3.connect(db) as connection:
        hashes = {row[0] for row in connection.execute("SELECT page_hash FROM pages")}
    assert hashes == {page_hash(file_digest(scans[k]), 1) for k in (0, 1)}
