"""Helpers of the review page's tests: a live ``ljun review`` server and an HTTP client."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Chromium of Debian's ``chromium`` package (never a downloaded browser).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

PASSWORD = "kata-sandi-uji"

# How long a server may take to start listening, seconds.
_START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    """A ``ljun review`` process on a free localhost port."""

    process: subprocess.Popen[bytes]
    url: str
    db: Path
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(db: Path, log: Path) -> LiveServer:
    """Start ``python -m ljun review --db DB --port P``; wait until it answers."""
    port = free_port()
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "ljun", "review", "--db", str(db), "--port", str(port)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ljun review exited: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return LiveServer(process, f"http://127.0.0.1:{port}", db, log)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"ljun review did not start listening: {log.read_text()}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """An HTTP client with its own cookies; redirects are returned, not followed."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )
        self.csrf = ""

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        payload: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        data = None
        sent = {"Accept": "text/html", **(headers or {})}
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif payload is not None:
            data = json.dumps(payload).encode()
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with self.opener.open(request, timeout=30) as response:
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read())

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def login(self, name: str, password: str = PASSWORD) -> Reply:
        page = self.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        reply = self.request(
            "POST",
            "/login",
            form={"csrf_token": token.group(1), "name": name, "password": password},
        )
        if reply.status == 303:
            queue = self.get("/")
            found = re.search(r'name="csrf_token" value="([^"]+)"', queue.text)
            assert found is not None
            self.csrf = found.group(1)
        return reply

    def sheet_data(self, page_id: int) -> dict[str, Any]:
        page = self.get(f"/sheet/{page_id}")
        assert page.status == 200, page.text[:300]
        found = re.search(
            r'<script type="application/json" id="sheet-data">(.*?)</script>', page.text, re.S
        )
        assert found is not None
        data: dict[str, Any] = json.loads(found.group(1))
        return data

    def decide(self, page_id: int, version: int, decisions: dict[str, str], **kw: Any) -> Reply:
        headers = {"X-CSRF-Token": kw.get("csrf", self.csrf), "Accept": "application/json"}
        return self.request(
            "POST",
            f"/sheet/{page_id}/decide",
            payload={"version": version, "decisions": decisions},
            headers=headers,
        )


#: Erasure residue pencilled into option A of question 2 of the sample
#: ``amplop-003/013.png`` (1-bit, 200 dpi): 2 x 2 pixel specks at these
#: offsets from A's centre (scan pixel 383, 1747).  The sheet's only hard
#: mark, a partial fill of E there, reads surely on its own now (a lone solid
#: patch, ljun._lone_mark); with ink in A beside it the question goes to
#: review, which the review tests need: one sheet with one unsure answer.
RESIDUE_CENTRE = (383, 1747)
RESIDUE_SPECKS = (
    (-1, 0), (4, 8), (-9, -7), (5, 8), (-5, -4), (6, -2), (-5, 5), (-5, -2),
    (2, 0), (-8, -9), (6, 4), (6, 0), (5, -4), (-1, 5), (-7, -4), (-7, -1),
)  # fmt: skip


def copy_unsure_sample(source: Path, target: Path) -> None:
    """Copy the sample ``013.png`` to ``target`` with residue beside question 2's mark."""
    import numpy as np
    from PIL import Image

    with Image.open(source) as image:
        dpi = image.info["dpi"]
        pixels = np.asarray(image.convert("L")).copy()
    x, y = RESIDUE_CENTRE
    for dx, dy in RESIDUE_SPECKS:
        pixels[y + dy : y + dy + 2, x + dx : x + dx + 2] = 0
    Image.fromarray(pixels).convert("1").save(target, dpi=dpi)
