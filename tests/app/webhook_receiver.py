"""A real HTTP receiver for webhook tests: an http.server on 127.0.0.1 in a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    path: str


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  # answers in order; 200 once they run out
    requests: list[Received] = field(default_factory=list)
    hang_first: bool = False
    got_one: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    location: str = ""

    def wait_for(self, count: int, timeout: float = 20.0) -> None:
        deadline = threading.Event()
        for _ in range(int(timeout * 20)):
            if len(self.requests) >= count:
                return
            deadline.wait(0.05)
        raise AssertionError(f"expected {count} requests, got {len(self.requests)}")


@contextmanager
def receiver(**options: object) -> Iterator[Receiver]:
    state = Receiver(url="", **options)  # type: ignore[arg-type]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                state.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body, self.path))
                first = len(state.requests) == 1
                status = state.statuses.pop(0) if state.statuses else 200
            state.got_one.set()
            if first and state.hang_first:
                state.release.wait(60)
                return
            self.send_response(status)
            if state.location:
                self.send_header("Location", state.location)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
