"""The review page over real HTTP (a live ``ljun review``): sessions, CSRF, conflicts,
answer keys kept from the browser, decisions rescored into the store, the audit trail."""

from __future__ import annotations

import contextlib
import csv
import json
import shutil
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from _review_helpers import PASSWORD, Client, copy_unsure_sample, start_server

from ljun.review.audit import verify_audit
from ljun.review.auth import MAX_FAILED_LOGINS
from ljun.store import open_store


@contextlib.contextmanager
def _raw(db: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection, committed and closed (the store file is replaced between tests)."""
    connection = sqlite3.connect(db, isolation_level=None)
    try:
        yield connection
    finally:
        connection.close()


def _page_id(db: Path, name: str) -> int:
    with _raw(db) as raw:
        row = raw.execute("SELECT id FROM pages WHERE source LIKE ?", (f"%{name}",)).fetchone()
    return int(row[0])


def _record(db: Path, name: str) -> dict:
    with open_store(db, create=False) as store:
        return next(r for r in store.result_records() if r["source"].endswith(name))


def _logged_in(server, name: str = "sari") -> Client:
    client = Client(server.url)
    assert client.login(name).status == 303
    return client


# --------------------------------------------------------------------------- sessions


def test_every_page_but_login_is_refused_without_a_session(review_server):
    client = Client(review_server.url)
    sheet = _page_id(review_server.db, "013.png")
    for path in ("/", "/next", f"/sheet/{sheet}", f"/sheet/{sheet}/image"):
        reply = client.get(path)
        assert reply.status == 302 and reply.headers["Location"].endswith("/login"), path
        assert b"013.png" not in reply.body
        api = client.request("GET", path, headers={"Accept": "application/json"})
        assert api.status == 401, path
    for path in (f"/sheet/{sheet}/decide", f"/sheet/{sheet}/reject", "/logout", "/language"):
        assert client.request("POST", path, form={}).status in (302, 401), path
    assert client.get("/login").status == 200


def test_login_sets_a_strict_httponly_cookie_and_logout_ends_the_session(review_server):
    client = Client(review_server.url)
    reply = client.login("sari")
    cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/").status == 200
    assert client.request("POST", "/logout", form={"csrf_token": client.csrf}).status == 303
    assert client.get("/").status == 302


def test_repeated_wrong_passwords_lock_the_account(review_server):
    client = Client(review_server.url)
    for _ in range(MAX_FAILED_LOGINS):
        assert client.login("sari", "wrong-password").status == 401
    locked = client.login("sari")  # the right password, but locked now
    assert locked.status == 401 and "dikunci" in locked.text


def test_every_response_carries_security_headers(review_server):
    client = _logged_in(review_server)
    for path in ("/login", "/", f"/sheet/{_page_id(review_server.db, '013.png')}"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Cache-Control"] == "no-store"


def test_the_page_speaks_indonesian_by_default_and_english_on_request(review_server):
    client = _logged_in(review_server)
    assert "Antrean pemeriksaan" in client.get("/").text
    client.request("POST", "/language", form={"csrf_token": client.csrf, "lang": "en"})
    assert "Review queue" in client.get("/").text


# --------------------------------------------------------------------------- safety


def test_a_post_without_the_sessions_csrf_token_is_refused(review_server):
    client = _logged_in(review_server)
    sheet = _page_id(review_server.db, "013.png")
    before = _record(review_server.db, "013.png")
    for token in ("", "forged-token"):
        reply = client.decide(sheet, 0, {"answers:2": "*"}, csrf=token)
        assert reply.status == 403
    reject = client.request("POST", f"/sheet/{sheet}/reject", form={"version": "0", "reason": "x"})
    assert reject.status == 403
    assert _record(review_server.db, "013.png") == before
    # The login form has its own double-submit token.
    fresh = Client(review_server.url)
    fresh.get("/login")
    assert (
        fresh.request("POST", "/login", form={"name": "sari", "password": PASSWORD}).status == 403
    )


def test_no_answer_key_reaches_the_browser(review_server, repo_root):
    client = _logged_in(review_server)
    keys = [
        json.loads((repo_root / "samples" / "scans" / f"{k}.json").read_text())["answers"]
        for k in ("paketA", "paketB", "susulan")
    ]
    bodies = [client.get("/").text]
    for name in ("001.png", "010.png", "013.png"):
        sheet = _page_id(review_server.db, name)
        bodies.append(client.get(f"/sheet/{sheet}").text)
        bodies.append(json.dumps(client.sheet_data(sheet)))
    with _raw(review_server.db) as raw:
        hashes = [row[0] for row in raw.execute("SELECT hash FROM answer_keys")]
    for body in bodies:
        for answers in keys:
            assert "".join(answers) not in body
            assert json.dumps(answers) not in body
            assert json.dumps(answers, separators=(",", ":")) not in body
        for key_hash in hashes:
            assert key_hash not in body
        assert "6.75" not in body and "6,75" not in body  # the sheet's score stays too


def test_a_second_save_on_an_old_version_is_a_conflict(review_server):
    sari, budi = _logged_in(review_server, "sari"), _logged_in(review_server, "budi")
    sheet = _page_id(review_server.db, "013.png")
    version = sari.sheet_data(sheet)["version"]
    assert budi.sheet_data(sheet)["version"] == version
    first = sari.decide(sheet, version, {"answers:2": "*"})
    assert first.status == 200, first.text
    second = budi.decide(sheet, version, {"answers:2": "B"})
    assert second.status == 409
    assert "operator lain" in second.json()["error"]
    assert _record(review_server.db, "013.png")["answers"][1] == "*"


def test_identity_decisions_are_checked_as_the_machines_readings_are(review_server):
    client = _logged_in(review_server)
    sheet = _page_id(review_server.db, "001.png")
    data = client.sheet_data(sheet)
    assert [item["key"] for item in data["items"]] == ["nama:6"]
    bad = client.decide(sheet, data["version"], {"nama:6": "7"})
    assert bad.status == 422 and bad.json()["field"] == "nama:6"
    missing = client.decide(sheet, data["version"], {})
    assert missing.status == 422 and missing.json()["field"] == "nama:6"


# --------------------------------------------------------------------------- decisions


def test_a_decision_rescores_the_sheet_and_is_audited(review_server, run_cli, tmp_path):
    client = _logged_in(review_server)
    db = review_server.db
    sheet = _page_id(db, "013.png")
    before = _record(db, "013.png")
    assert before["review"] and before["score"] == Decimal("6.75")
    reply = client.decide(sheet, 0, {"answers:2": "*"})
    assert reply.status == 200 and reply.json()["status"] == "resolved"
    after = _record(db, "013.png")
    # Question 2 was right (E); a double mark scores 0: 26 of 40.
    assert after["answers"][1] == "*" and after["correct"] == 26
    assert after["score"] == Decimal("6.50") and not after["review"]
    assert "answer_unsure:2" not in after["flags"]

    # rescore keeps the decision and the sheet out of review
    keys = [f"--key={tmp_path.parent}/x"]  # placeholder replaced below
    samples = Path(__file__).resolve().parent.parent / "samples" / "scans"
    keys = [
        arg for k in ("paketA", "paketB", "susulan") for arg in ("--key", samples / f"{k}.json")
    ]
    assert run_cli("rescore", "--db", db, *keys).exit_code == 0
    rescored = _record(db, "013.png")
    assert rescored["score"] == Decimal("6.50") and not rescored["review"]

    out = tmp_path / "koreksi.csv"
    assert run_cli("export", "--db", db, "--corrections", "--out", out).exit_code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [
        (r["field"], r["item"], r["old_value"], r["new_value"], r["operator"]) for r in rows
    ] == [("answers", "2", "E", "*", "sari")]
    with _raw(db) as raw:
        assert verify_audit(raw).ok


def test_an_edited_audit_entry_is_found(review_server, run_cli):
    client = _logged_in(review_server)
    db = review_server.db
    client.decide(_page_id(db, "013.png"), 0, {"answers:2": "*"})
    assert run_cli("audit", "verify", "--db", db).exit_code == 0
    with _raw(db) as raw:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute("UPDATE audit SET new_value = 'B' WHERE action = 'decide'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute("DELETE FROM audit WHERE action = 'decide'")
        entry = raw.execute("SELECT id FROM audit WHERE action = 'decide'").fetchone()[0]
        raw.execute("DROP TRIGGER audit_no_update")
        raw.execute("UPDATE audit SET new_value = 'B' WHERE id = ?", (entry,))
    result = run_cli("audit", "verify", "--db", db)
    assert result.exit_code == 1
    assert f"entry {entry} was altered" in result.stderr


def test_a_removed_audit_entry_is_found(review_server, run_cli):
    client = _logged_in(review_server)
    db = review_server.db
    client.decide(_page_id(db, "013.png"), 0, {"answers:2": "*"})
    with _raw(db) as raw:
        raw.execute("DROP TRIGGER audit_no_delete")
        raw.execute("DELETE FROM audit WHERE id = 2")
    result = run_cli("audit", "verify", "--db", db)
    assert result.exit_code == 1 and "entry 3" in result.stderr and "removed" in result.stderr


def test_a_supervisor_reopens_a_resolved_sheet_an_operator_cannot(review_server):
    sari = _logged_in(review_server, "sari")
    sheet = _page_id(review_server.db, "013.png")
    assert sari.decide(sheet, 0, {"answers:2": "*"}).status == 200
    refused = sari.request(
        "POST",
        f"/sheet/{sheet}/reopen",
        form={"csrf_token": sari.csrf, "version": "1", "reason": "x"},
    )
    assert refused.status == 403
    boss = _logged_in(review_server, "kepala")
    reopened = boss.request(
        "POST",
        f"/sheet/{sheet}/reopen",
        form={"csrf_token": boss.csrf, "version": "1", "reason": "cek ulang"},
    )
    assert reopened.status == 303
    assert _record(review_server.db, "013.png")["review"]
    data = boss.sheet_data(sheet)
    assert data["status"] == "open" and [i["key"] for i in data["items"]] == ["answers:2"]


def test_a_page_that_is_not_an_ljun_is_rejected_with_a_reason(review_server):
    client = _logged_in(review_server)
    sheet = _page_id(review_server.db, "010.png")
    data = client.sheet_data(sheet)
    assert data["failed"] and data["image"] and not data["image"]["registered"]
    form = {"csrf_token": client.csrf, "version": "0", "reason": ""}
    assert client.request("POST", f"/sheet/{sheet}/reject", form=form).status == 422
    form["reason"] = "halaman sampul"
    assert client.request("POST", f"/sheet/{sheet}/reject", form=form).status == 303
    record = _record(review_server.db, "010.png")
    assert not record["review"] and "rejected" in record["flags"] and record["score"] is None


def test_a_resolved_review_survives_moving_the_scan(review_store_template, tmp_path, run_cli):
    # Score copies of the scans, then move them away (the watcher's done/ folder).
    samples = Path(__file__).resolve().parent.parent / "samples" / "scans"
    scans = tmp_path / "inbox"
    scans.mkdir()
    copy_unsure_sample(samples / "amplop-003" / "013.png", scans / "013.png")
    db = tmp_path / "ljun.sqlite"
    keys = [
        arg for k in ("paketA", "paketB", "susulan") for arg in ("--key", samples / f"{k}.json")
    ]
    assert run_cli("score", scans, *keys, "--db", db, "--workers", "1").exit_code == 0
    (tmp_path / "done").mkdir()
    shutil.move(scans / "013.png", tmp_path / "done" / "013.png")
    from ljun.review.auth import add_user

    with open_store(db, create=False) as store:
        add_user(store.connection, "sari", PASSWORD, by="test")
    server = start_server(db, tmp_path / "server.log")
    try:
        client = _logged_in(server)
        sheet = _page_id(db, "013.png")
        data = client.sheet_data(sheet)
        assert data["image"]["registered"]
        image = client.get(f"/sheet/{sheet}/image")
        assert image.status == 200 and image.headers["Content-Type"] == "image/jpeg"
        assert client.decide(sheet, data["version"], {"answers:2": "*"}).status == 200
        assert client.sheet_data(sheet)["status"] == "resolved"
        assert client.get(f"/sheet/{sheet}/image").status == 200
    finally:
        server.stop()
    assert _record(db, "013.png")["score"] == Decimal("6.50")


def test_a_kept_image_that_was_altered_is_not_shown(review_server):
    client = _logged_in(review_server)
    sheet = _page_id(review_server.db, "013.png")
    with _raw(review_server.db) as raw:
        raw.execute("UPDATE review_images SET image = x'ffd8ff00'")
    assert client.get(f"/sheet/{sheet}/image").status == 404


def test_queue_puts_failed_pages_then_identity_problems_first_and_counts_progress(review_server):
    client = _logged_in(review_server)
    page = client.get("/").text
    order = [page.index(name) for name in ("010.png", "001.png", "013.png")]
    assert order == sorted(order)
    assert "0 dari 3 selesai" in page
    only = client.get("/?reason=answer_unsure").text
    assert "013.png" in only and "001.png" not in only
    client.decide(_page_id(review_server.db, "013.png"), 0, {"answers:2": "E"})
    assert "1 dari 3 selesai" in client.get("/").text


def test_capture_keeps_the_sheet_upright_with_its_bubbles(ljun_template):
    import cv2

    from ljun.calibration import load_calibration
    from ljun.pipeline import analyse_sheet
    from ljun.records import Page
    from ljun.render import render_image
    from ljun.review._capture import CAPTURE_DPI, capture_review_image

    sheet = render_image(ljun_template, 200)
    geometry = ljun_template.geometry(200)
    item = int(geometry.grid("answers")[4, 2])  # question 5, option C
    x, y = geometry.centres[item]
    cv2.circle(sheet, (int(round(x)), int(round(y))), int(geometry.radii[item]), 0, -1)
    upside_down = np.ascontiguousarray(sheet[::-1, ::-1])
    analysis = analyse_sheet(
        Page(upside_down, "t.png", 1, 200.0), ljun_template, load_calibration()
    )
    assert analysis.registration is not None
    captured = capture_review_image(
        upside_down, analysis.registration.homography, ljun_template, scan_dpi=200.0
    )
    image = cv2.imdecode(np.frombuffer(captured.data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image.shape == (captured.height, captured.width)
    assert captured.dpi == CAPTURE_DPI and captured.registered
    cx, cy = captured.centres[item]
    assert image[int(round(cy)), int(round(cx))] < 80  # the filled bubble, upright
    blank = int(geometry.grid("answers")[4, 0])
    bx, by = captured.centres[blank]
    assert image[int(round(by)), int(round(bx))] > 170


def test_a_page_that_could_not_be_registered_is_entered_by_hand(review_server, repo_root):
    client = _logged_in(review_server)
    sheet = _page_id(review_server.db, "010.png")
    form = {
        "csrf_token": client.csrf,
        "version": "0",
        "nomor_peserta": "4-12-13-10-483-034-4",
        "nama": "ahmad sugiarto",
        "tanggal_lahir": "171293",
        "kode_kompetensi": "1743",
        "paket": "a",
        "answers": "A" * 39,
    }
    bad = client.request("POST", f"/sheet/{sheet}/enter", form=form)
    assert bad.status == 422 and "40" in bad.text
    form["tanggal_lahir"] = "311393"
    form["answers"] = "A" * 38 + "-*"
    assert client.request("POST", f"/sheet/{sheet}/enter", form=form).status == 422  # no month 13
    form["tanggal_lahir"] = "171293"
    assert client.request("POST", f"/sheet/{sheet}/enter", form=form).status == 303
    record = _record(review_server.db, "010.png")
    key = json.loads((repo_root / "samples" / "scans" / "paketA.json").read_text())["answers"]
    assert record["nama"] == "AHMAD SUGIARTO" and record["tanggal_lahir"] == "17-12-93"
    assert record["answers"][-2:] == ["", "*"] and not record["review"]
    assert record["correct"] == key[:38].count("A")
    with _raw(review_server.db) as raw:
        fields = [
            r[0] for r in raw.execute("SELECT field FROM audit WHERE action = 'enter_by_hand'")
        ]
        assert len(fields) == 6 and verify_audit(raw).ok


def test_a_page_without_all_its_corner_marks_is_registered_by_clicking_them(
    tmp_path, run_cli, ljun_template
):
    import cv2

    from ljun.calibration import load_calibration
    from ljun.load import iter_file_pages
    from ljun.pipeline import analyse_sheet
    from ljun.review.auth import add_user

    samples = Path(__file__).resolve().parent.parent / "samples" / "scans"
    original = next(iter_file_pages(samples / "amplop-003" / "013.png"))
    analysis = analyse_sheet(original, ljun_template, load_calibration())
    assert analysis.registration is not None
    fiducials = analysis.registration.fiducials  # where the corner marks are, scan pixels
    torn = original.image.copy()
    x, y = (int(v) for v in fiducials[0])
    torn[max(0, y - 60) : y + 60, max(0, x - 60) : x + 60] = 255  # the top-left mark torn off
    scans = tmp_path / "scans"
    scans.mkdir()
    cv2.imwrite(str(scans / "torn.png"), torn)
    db = tmp_path / "ljun.sqlite"
    keys = [
        arg for k in ("paketA", "paketB", "susulan") for arg in ("--key", samples / f"{k}.json")
    ]
    assert run_cli("score", scans, *keys, "--db", db, "--workers", "1").exit_code == 0
    record = _record(db, "torn.png")
    assert record["flags"] == ["no_fiducials"] and record["score"] is None
    with open_store(db, create=False) as store:
        add_user(store.connection, "sari", PASSWORD, by="test")
    server = start_server(db, tmp_path / "server.log")
    try:
        client = _logged_in(server)
        sheet = _page_id(db, "torn.png")
        data = client.sheet_data(sheet)
        image = data["image"]
        assert data["failed"] and not image["registered"] and len(data["corners"]) == 4
        scale = image["width"] / torn.shape[1]
        points = (fiducials * scale).tolist()
        crossed = [points[1], points[0], points[2], points[3]]
        reply = client.request(
            "POST",
            f"/sheet/{sheet}/corners",
            payload={"version": 0, "points": crossed},
            headers={"X-CSRF-Token": client.csrf, "Accept": "application/json"},
        )
        assert reply.status == 422
        reply = client.request(
            "POST",
            f"/sheet/{sheet}/corners",
            payload={"version": 0, "points": points},
            headers={"X-CSRF-Token": client.csrf, "Accept": "application/json"},
        )
        assert reply.status == 200, reply.text
        after = client.sheet_data(sheet)
        assert not after["failed"] and after["image"]["registered"]
    finally:
        server.stop()
    record = _record(db, "torn.png")
    machine = analysis.reading
    same = sum(a == b for a, b in zip(record["answers"], machine.answers))
    assert same >= 38 and record["nomor_peserta"] == machine.nomor_peserta
    assert "registered_by_hand" in record["flags"] and record["review"]
    assert record["score"] is not None


def test_an_identity_field_can_be_typed_whole_instead_of_its_columns(review_server):
    client = _logged_in(review_server)
    sheet = _page_id(review_server.db, "001.png")
    data = client.sheet_data(sheet)
    assert data["fields"]["nama"]["value"] == "AHMAD SUGIARTO"
    wrong = client.decide(sheet, data["version"], {"nama:0": "AHMAD 5UGIARTO"})
    assert wrong.status == 422 and wrong.json()["field"] == "nama:0"
    reply = client.decide(sheet, data["version"], {"nama:0": "ahmad  sugiarto"})
    assert reply.status == 200 and reply.json()["status"] == "resolved"
    record = _record(review_server.db, "001.png")
    assert record["nama"] == "AHMAD SUGIARTO" and not record["review"]
    assert not [f for f in record["flags"] if "nama" in f]


def test_a_sheet_sent_to_review_after_reading_gets_its_image_from_the_scan(tmp_path, run_cli):
    # Read sure, sent to review by scoring (no key for paket B): no image kept while
    # reading; the page takes it from the scan (checked by digest) and keeps it.
    samples = Path(__file__).resolve().parent.parent / "samples" / "scans"
    scans = tmp_path / "scans"
    scans.mkdir()
    shutil.copy(samples / "amplop-003" / "002.png", scans / "002.png")
    db = tmp_path / "ljun.sqlite"
    key = ("--key", samples / "paketA.json")
    assert run_cli("score", scans, *key, "--db", db, "--workers", "1").exit_code == 0
    assert "no_key:B" in _record(db, "002.png")["flags"]  # and rotated: it was fed upside down
    with _raw(db) as raw:
        assert raw.execute("SELECT count(*) FROM review_images").fetchone()[0] == 0
    from ljun.review.auth import add_user

    with open_store(db, create=False) as store:
        add_user(store.connection, "sari", PASSWORD, by="test")
    server = start_server(db, tmp_path / "server.log")
    try:
        client = _logged_in(server)
        sheet = _page_id(db, "002.png")
        assert client.sheet_data(sheet)["image"]["registered"]
        (scans / "002.png").unlink()
        assert client.get(f"/sheet/{sheet}/image").status == 200
    finally:
        server.stop()


def test_grade_holds_back_a_sheet_until_it_is_resolved(review_store, run_cli, tmp_path):
    import re

    from ljun.review.decisions import decide_sheet
    from ljun.template import load_template

    praktik = Path(__file__).resolve().parent.parent / "samples" / "scans" / "praktik.csv"
    out = tmp_path / "nilai.csv"

    def grade() -> tuple[int, str]:
        result = run_cli("grade", "--db", review_store, "--praktik", praktik, "--out", out)
        graded = re.search(r"(\d+) graded", result.stderr)
        assert result.exit_code == 0 and graded is not None
        return int(graded.group(1)), result.stderr

    graded_before, report = grade()
    assert "theory_under_review: 2" in report
    with _raw(review_store) as raw:
        decide_sheet(
            raw,
            _page_id(review_store, "013.png"),
            version=0,
            decisions={"answers:2": "E"},
            operator="sari",
            template=load_template("ljun-teori-kejuruan"),
        )
    graded_after, report = grade()
    assert "theory_under_review: 1" in report and graded_after == graded_before + 1


def test_scoring_the_same_scans_again_keeps_the_decisions(review_store, run_cli):
    from ljun.review.decisions import decide_sheet, reject_sheet
    from ljun.template import load_template

    template = load_template("ljun-teori-kejuruan")
    with _raw(review_store) as raw:
        decide_sheet(raw, _page_id(review_store, "013.png"), version=0,
                     decisions={"answers:2": "*"}, operator="sari", template=template)  # fmt: skip
        decide_sheet(raw, _page_id(review_store, "001.png"), version=0,
                     decisions={"nama:6": " "}, operator="sari",
                     template=template)  # fmt: skip
        reject_sheet(raw, _page_id(review_store, "010.png"), version=0, operator="sari",
                     reason="sampul")  # fmt: skip
    decided = {name: _record(review_store, name) for name in ("001.png", "010.png", "013.png")}
    scans = Path(decided["013.png"]["source"]).parent
    samples = Path(__file__).resolve().parent.parent / "samples" / "scans"
    keys = [
        arg for k in ("paketA", "paketB", "susulan") for arg in ("--key", samples / f"{k}.json")
    ]
    assert run_cli("score", scans, *keys, "--db", review_store, "--workers", "1").exit_code == 0
    for name, before in decided.items():
        assert _record(review_store, name) == before, name
    assert decided["013.png"]["score"] == Decimal("6.50")
    assert decided["001.png"]["nama"] == "AHMAD SUGIARTO" and not decided["010.png"]["review"]
