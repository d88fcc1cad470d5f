"""`casework serve` in separate processes for the reproducibility tests, and a small browser for them.

Each server is its own interpreter (own hash seed, own render child), sharing the test's database and
instance folder. `NO_HARFBUZZ_SUBSET` is a sitecustomize that makes loading libharfbuzz-subset fail the
way it fails on a machine without the package, before WeasyPrint looks for it: WeasyPrint's own
`_dlopen(..., allow_fail=True)` then gives `harfbuzz_subset = None` and `pdf/fonts.py` subsets with
fontTools, exactly as on such a machine. The render child (a forkserver started by the server) inherits
the environment, so it is affected too.
"""

from __future__ import annotations

import http.cookiejar
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import IO, Any

from tests.conftest import CSRF_RE

CASEWORK = Path(sys.executable).parent / "casework"

NO_HARFBUZZ_SUBSET = '''
import cffi

_dlopen = cffi.FFI.dlopen


def _without_harfbuzz_subset(self, name, *args, **kwargs):
    if name is not None and "harfbuzz-subset" in str(name):
        raise OSError(f"{name}: cannot open shared object file: No such file or directory")
    return _dlopen(self, name, *args, **kwargs)


cffi.FFI.dlopen = _without_harfbuzz_subset
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One `casework serve` process; `stop()` ends it (and its render child) and returns its output."""

    def __init__(self, database_url: str, instance: Path, *, hash_seed: int, without_harfbuzz_subset: bool = False,
                 log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "COV_"))}
        env.update(DATABASE_URL=database_url, CASEWORK_INSTANCE=str(instance), PYTHONHASHSEED=str(hash_seed),
                   SECRET_KEY="reproducibility-test-secret-key-long-enough")
        if without_harfbuzz_subset:
            site = instance.parent / f"no-harfbuzz-subset-{hash_seed}"
            site.mkdir(exist_ok=True)
            (site / "sitecustomize.py").write_text(NO_HARFBUZZ_SUBSET)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH", "")) if p)
        self.log = log
        self._out: IO[bytes] = log.open("wb")
        self.process = subprocess.Popen(
            [str(CASEWORK), "serve", "--port", str(self.port), "--sla-interval", "0"],
            env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server stopped: {self.output()}")
            try:
                with urllib.request.urlopen(f"{self.base}/login", timeout=5):  # noqa: S310 - local test server
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        raise AssertionError(f"the server did not come up: {self.output()}")

    def output(self) -> str:
        self._out.flush()
        return self.log.read_text(errors="replace")

    def stop(self) -> str:
        if self.process.poll() is None:
            # The whole session: the server and the forkserver it started for its render children.
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(30)
        self._out.close()
        return self.log.read_text(errors="replace")


class Browser:
    """Cookies, CSRF token and form posts against a live server, like a person with a browser."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect())
        self.token = ""

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str, Any]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=60) as response:
                return response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace"), error.headers

    def get(self, path: str) -> str:
        status, text, _headers = self.request(path)
        assert status == 200, (path, status, text[:500])
        match = CSRF_RE.search(text)
        if match:
            self.token = match.group(1) or match.group(2)
        return text

    def post(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str, Any]:
        return self.request(path, {**(data or {}), "csrf_token": self.token})

    def login(self, email: str, password: str = "casework-demo", *, landing: str = "/audit/") -> None:
        self.get("/login")
        status, text, _headers = self.post("/login", {"email": email, "password": password})
        assert status == 303, text[:500]
        self.get(landing)  # the session was rotated, and with it the CSRF token


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def run_check(browser: Browser, document_id: int, timeout: float = 180) -> str:
    """Ask for a check of the document and follow its page until the background job has answered."""
    url = f"/documents/{document_id}/check"
    browser.get(f"/audit{url}")
    status, text, _headers = browser.post(f"/audit{url}")
    assert status == 303, (status, text[:500])
    deadline = time.monotonic() + timeout
    while True:
        page = browser.get(f"/audit{url}")
        if "Checking…" not in page:
            return page
        assert time.monotonic() < deadline, "the check did not finish"
        time.sleep(0.5)
