"""Through a live, threaded server: a filing against a catastrophic pattern holds nobody up (issue 11.1).

The server runs in its own process (waitress, as `casework serve` does), so that if a pattern ever
backtracked again it would freeze that process only and this test would fail on its timeouts instead of
hanging the suite.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.complaint import GOOD, complaint_document, publish_complaint
from tests.support.web import token_for

ROOT = Path(__file__).resolve().parents[2]
SERVER = """
import sys
import waitress
from app import create_app
from tests.conftest import make_config
waitress.serve(create_app(make_config(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]), threads=16,
               ident="casework-test")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(port: int, method: str, path: str, headers: dict[str, str], body: bytes | None = None,
             timeout: float = 5.0) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        conn.close()


@pytest.mark.timeout(120)
def test_a_catastrophic_pattern_filing_while_ten_clients_read(app: Any, demo_users: Any,
                                                               database_url: str) -> None:
    form = complaint_document()
    next(f for p in form["pages"] for f in p["fields"] if f["key"] == "order_number")["pattern"] = "((a+))+$"
    publish_complaint(app, form=form)
    auth = token_for(app, "requester@example.com")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-c", SERVER, database_url, str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _request(port, "GET", "/login", {}, timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("the server did not start") from None
                time.sleep(0.2)
        for _ in range(3):  # warm every path once (imports, the pinned form, the first connections)
            _request(port, "GET", "/api/v1/me", auth)

        stop = threading.Event()
        timings: list[float] = []
        failures: list[str] = []

        def reader(index: int) -> None:
            paths = ["/api/v1/me", "/login", "/api/v1/case-types", "/api/v1/cases"]
            n = 0
            while not stop.is_set():
                path = paths[(index + n) % len(paths)]
                n += 1
                try:
                    status, took = _request(port, "GET", path, auth, timeout=5)
                except OSError as exc:
                    failures.append(f"{path}: {exc.__class__.__name__}")
                    continue
                if status != 200:
                    failures.append(f"{path}: {status}")
                timings.append(took)

        readers = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(10)]
        for thread in readers:
            thread.start()
        time.sleep(1.0)
        body = json.dumps({"data": {**GOOD, "order_number": "a" * 34 + "!"}}).encode()
        headers = {**auth, "Content-Type": "application/json"}
        filings = [_request(port, "POST", "/api/v1/case-types/complaint/cases", headers, body, timeout=5)
                   for _ in range(3)]
        time.sleep(1.0)
        stop.set()
        for thread in readers:
            thread.join(10)

        assert not failures, failures[:5]
        for status, took in filings:
            assert status == 422 and took < 1.0, (status, took)
        timings.sort()
        p95 = timings[int(len(timings) * 0.95) - 1]
        assert len(timings) >= 20 and p95 < 1.0, (len(timings), p95)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
