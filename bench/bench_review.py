"""Keystrokes, seconds and page load times of the review page on the bundled samples.

Scores ``samples/scans`` into a temporary store, starts ``ljun review`` on a
free localhost port and drives Debian's chromium (Playwright) through the
whole review queue **by keyboard only**, as an operator who knows the truth
(``samples/scans/truth.jsonl``) would: on each flagged item, Enter alone when
the machine's reading is right, otherwise the right key then Enter; a typed
value for a field asked whole, or ``/`` and the whole field typed when a
column the machine did not flag is wrong too; a page that is not an LJUN
rejected with a typed reason.  Then the stored results are compared with the truth.

Reported: sheets, items, keystrokes (per sheet), seconds from the first Enter
on the queue to the queue showing every sheet resolved, and per sheet page
the load time (navigation start to the load event, image included) and the
server's time to first byte, median and worst.  Also saves a screenshot of a
sheet page at 1366x768 (``--screenshot``, default ``docs/review.png``).

Usage::

    .venv/bin/python bench/bench_review.py
    .venv/bin/python bench/bench_review.py --json /tmp/review.json --screenshot /tmp/review.png
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "scans"
DEFAULT_JSON = Path(__file__).resolve().parent / "out" / "bench_review.json"
DEFAULT_SHOT = ROOT / "docs" / "review.png"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PASSWORD = "kata-sandi-bench"
REJECT_REASON = "bukan LJUN"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _truth() -> dict[tuple[str, int], dict]:
    truth = {}
    for line in (SAMPLES / "truth.jsonl").read_text().splitlines():
        record = json.loads(line)
        truth[(record["source"], record["page"])] = record
    return truth


def _truth_of(truth: dict, source: str, page: int) -> dict | None:
    relative = os.path.relpath(source, SAMPLES)
    return truth.get((relative, page))


def _columns(record: dict, field: str, count: int) -> str:
    value = record.get(field) or ""
    if field in ("nomor_peserta", "tanggal_lahir"):
        value = value.replace("-", "")
    return value.ljust(count)[:count]


def _keys_for(item: dict, record: dict | None) -> list[str]:
    """The keys an operator who knows the truth presses for one item."""
    if record is None:
        return ["Enter"]
    if item["kind"] == "text":
        return ["Control+a", *list(record.get(item["field"], "")), "Enter"]
    if item["field"] == "answers":
        right = record["answers"][item["item"] - 1]
    else:
        right = _columns(record, item["field"], 40)[item["item"] - 1]
    if right == item["value"] or (right == " " and item["value"] == ""):
        return ["Enter"]
    if right in ("", " "):
        return ["0" if item["field"] == "answers" else " ", "Enter"]
    return [right, "Enter"]


def _retype(item: dict, data: dict, record: dict | None) -> bool:
    """True when the item's identity field is wrong in a column the sheet does not ask about."""
    field = item["field"]
    if record is None or item["kind"] != "option" or field not in data["fields"]:
        return False
    asked = {i["item"] for i in data["items"] if i["field"] == field}
    machine = _columns({field: data["fields"][field]["value"]}, field, 40)
    truth = _columns(record, field, 40)
    return any(m != t for n, (m, t) in enumerate(zip(machine, truth), 1) if n not in asked)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", default=str(DEFAULT_JSON), help="where to write the results")
    parser.add_argument("--screenshot", default=str(DEFAULT_SHOT), help="sheet page PNG")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from ljun.cli import main as ljun
    from ljun.review.auth import add_user
    from ljun.store import open_store

    truth = _truth()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "ljun.sqlite"
        keys = [
            a
            for k in ("paketA", "paketB", "susulan")
            for a in ("--key", str(SAMPLES / f"{k}.json"))
        ]
        started = time.perf_counter()
        code = ljun(["score", str(SAMPLES), *keys, "--db", str(db), "--workers", "1"])
        scoring_s = time.perf_counter() - started
        assert code == 0
        with open_store(db, create=False) as store:
            add_user(store.connection, "operator", PASSWORD, by="bench")
        port = _free_port()
        log = open(Path(folder) / "server.log", "wb")  # noqa: SIM115 -- open while the server runs
        server = subprocess.Popen(
            [sys.executable, "-m", "ljun", "review", "--db", str(db), "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            result = _drive(sync_playwright, f"http://127.0.0.1:{port}", truth, args.screenshot)
        finally:
            server.terminate()
            server.wait(timeout=10)
            log.close()
        with open_store(db, create=False) as store:
            records = list(store.result_records())
    wrong = []
    for record in records:
        expected = _truth_of(truth, record["source"], record["page"])
        if expected is None or record.get("review") or "rejected" in record["flags"]:
            continue
        for field in ("nomor_peserta", "nama", "tanggal_lahir", "kode_kompetensi", "paket"):
            if record[field] != expected[field]:
                wrong.append((record["source"], record["page"], field))
        if list(record["answers"]) != list(expected["answers"]):
            wrong.append((record["source"], record["page"], "answers"))
    result.update(
        {
            "machine": platform.platform(),
            "cpus": os.cpu_count(),
            "sheets_in_store": len(records),
            "still_in_review": sum(bool(r["review"]) for r in records),
            "differ_from_truth_after_review": wrong,
            "scoring_seconds": round(scoring_s, 2),
        }
    )
    _print(result)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    return 0


def _drive(sync_playwright, base: str, truth: dict, screenshot: str) -> dict:
    loads: list[float] = []
    ttfb: list[float] = []
    per_sheet: list[dict] = []
    keystrokes = 0
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(f"{base}/login")
        page.keyboard.type("operator")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        started = time.perf_counter()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        keystrokes += 1
        shot_taken = False
        while "/sheet/" in page.url:
            timing = page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0];"
                " return [n.loadEventEnd - n.startTime, n.responseStart - n.requestStart]; }"
            )
            loads.append(timing[0])
            ttfb.append(timing[1])
            data = json.loads(page.inner_text("#sheet-data"))
            source = page.get_attribute("h1", "title") or ""
            number = int(page.inner_text("h1").rsplit(" ", 1)[-1])
            record = _truth_of(truth, source, number)
            if not shot_taken and data["items"] and data["items"][0]["field"] != "answers":
                page.screenshot(path=screenshot)
                shot_taken = True
            pressed = 0
            if data["failed"]:
                page.keyboard.type(REJECT_REASON)
                pressed += len(REJECT_REASON)
                with page.expect_navigation():
                    page.keyboard.press("Enter")
                pressed += 1
            else:
                retyped: set[str] = set()
                for item in data["items"]:
                    if item["field"] in retyped:
                        continue
                    if _retype(item, data, record):
                        # A column the machine was sure of is wrong too: type the field whole.
                        retyped.add(item["field"])
                        keys = ["/", "Control+a", *list(record[item["field"]]), "Enter"]
                    else:
                        keys = _keys_for(item, record)
                    for key in keys:
                        page.keyboard.press(key)
                        pressed += 1
                with page.expect_navigation():
                    page.keyboard.press("Enter")
                pressed += 1
            keystrokes += pressed
            per_sheet.append(
                {
                    "sheet": f"{os.path.basename(source)} p{number}",
                    "items": len(data["items"]),
                    "failed": data["failed"],
                    "keys": pressed,
                }
            )
        seconds = time.perf_counter() - started
        progress = page.inner_text("#progress")
        browser.close()
    return {
        "sheets_reviewed": len(per_sheet),
        "items": sum(s["items"] for s in per_sheet),
        "keystrokes": keystrokes,
        "seconds": round(seconds, 2),
        "per_sheet": per_sheet,
        "page_load_ms_median": round(statistics.median(loads), 1) if loads else None,
        "page_load_ms_max": round(max(loads), 1) if loads else None,
        "ttfb_ms_median": round(statistics.median(ttfb), 1) if ttfb else None,
        "ttfb_ms_max": round(max(ttfb), 1) if ttfb else None,
        "final_progress": progress,
        "screenshot": screenshot,
    }


def _print(result: dict) -> None:
    print(f"{'sheet':<24} {'items':>5} {'keys':>5}")
    for sheet in result["per_sheet"]:
        kind = " (rejected)" if sheet["failed"] else ""
        print(f"{sheet['sheet']:<24} {sheet['items']:>5} {sheet['keys']:>5}{kind}")
    print(
        f"total: {result['sheets_reviewed']} sheets, {result['items']} items, "
        f"{result['keystrokes']} keystrokes (first Enter on the queue included), "
        f"{result['seconds']} s"
    )
    print(
        f"sheet page load: median {result['page_load_ms_median']} ms, worst "
        f"{result['page_load_ms_max']} ms (time to first byte: median "
        f"{result['ttfb_ms_median']} ms, worst {result['ttfb_ms_max']} ms)"
    )
    print(
        f"queue afterwards: {result['final_progress']}; "
        f"still in review: {result['still_in_review']}"
    )
    print(f"differ from truth after review: {result['differ_from_truth_after_review'] or 'none'}")


if __name__ == "__main__":
    sys.exit(main())
