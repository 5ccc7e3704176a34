"""The review page in a real browser: Debian's chromium driven by Playwright, against
a live ``ljun review``; every decision by keyboard only."""

from __future__ import annotations

import csv
import os
from decimal import Decimal

import pytest
from _review_helpers import CHROMIUM, CHROMIUM_ARGS, PASSWORD

from ljun.store import open_store

playwright_api = pytest.importorskip("playwright.sync_api")
if not os.access(CHROMIUM, os.X_OK):  # bash .ci/install installs it
    pytest.skip(f"{CHROMIUM} is missing (Debian package chromium)", allow_module_level=True)

# Playwright's own wait for a page, milliseconds.
_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


class Keyboard:
    """The browser's keyboard, counting the keys an operator presses."""

    def __init__(self, page) -> None:
        self.page = page
        self.count = 0

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.count += 1

    def press_and_wait(self, key: str) -> None:
        """Press a key that leads to another page; wait until it has loaded."""
        with self.page.expect_navigation():
            self.press(key)

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.count += len(text)


def _records(db):
    with open_store(db, create=False) as store:
        return {r["source"].rsplit("/", 1)[-1]: r for r in store.result_records()}


def test_operator_resolves_the_queue_by_keyboard(browser, review_server, run_cli, tmp_path):
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.set_default_timeout(_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    keys = Keyboard(page)
    base = review_server.url

    page.goto(f"{base}/sheet/1")  # no session: the login page
    assert page.url == f"{base}/login"
    # The name field has the focus (autofocus) before the operator types.
    page.wait_for_function("document.activeElement && document.activeElement.name === 'name'")
    keys.type("sari")
    keys.press("Tab")
    keys.type(PASSWORD)
    keys.press_and_wait("Enter")
    assert page.url == f"{base}/", page.inner_text("body")
    assert "0 dari 3 selesai" in page.inner_text("header")

    keys.count = 0
    keys.press_and_wait("Enter")  # start: the most urgent sheet first, the page that is not an LJUN
    assert "010.png" in page.inner_text("h1")
    keys.type("bukan LJUN")  # the reason field has the focus
    keys.press_and_wait("Enter")

    # then the identity problem: name column 6 (the gap between the words)
    assert "001.png" in page.inner_text("h1")
    assert "Nama, kolom 6" in page.inner_text("#current")
    assert page.locator(".crop").count() == 1 and page.locator("circle.current").count() == 26
    keys.press(" ")  # column 6: blank, as the machine read it
    assert "Keputusan: kosong" in page.inner_text("#current")
    keys.press("Enter")
    assert "Simpan" in page.inner_text("#keys") or "simpan" in page.inner_text("#keys")
    keys.press_and_wait("Enter")  # save, next sheet

    # the unsure answer: question 2
    assert "013.png" in page.inner_text("h1") and "Soal 2" in page.inner_text("#current")
    assert "0,46" in page.inner_text("#current")  # the darkness of E, with a decimal comma
    keys.press("*")  # a real double mark
    assert "ganda" in page.inner_text("#current")
    keys.press("Enter")
    keys.press_and_wait("Enter")  # save: the queue is done
    assert page.url == f"{base}/"
    assert "3 dari 3 selesai" in page.inner_text("header")
    assert keys.count == 1 + 11 + 3 + 3
    assert not errors

    records = _records(review_server.db)
    assert records["001.png"]["nama"] == "AHMAD SUGIARTO" and not records["001.png"]["review"]
    assert records["013.png"]["answers"][1] == "*"
    assert records["013.png"]["score"] == Decimal("6.50") and not records["013.png"]["review"]
    assert "rejected" in records["010.png"]["flags"] and not records["010.png"]["review"]

    out = tmp_path / "hasil.csv"
    assert run_cli("export", "--db", review_server.db, "--out", out).exit_code == 0
    rows = {r["source"].rsplit("/", 1)[-1]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert rows["013.png"]["score"] == "6.50" and rows["013.png"]["review"] == "false"
    assert rows["001.png"]["nama"] == "AHMAD SUGIARTO"

    verified = run_cli("audit", "verify", "--db", review_server.db)
    assert verified.exit_code == 0 and "intact" in verified.stdout
    shown = run_cli("audit", "show", "--db", review_server.db, "--operator", "sari").stdout
    assert "answers:2" in shown and "nama:6" in shown and "reject" in shown
    page.close()
