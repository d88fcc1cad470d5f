"""Overload on SQLite: a bounded busy wait answers 503 + Retry-After; abandoned requests are not committed;
the WAL is checkpointed by the sweep."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import make_config
from tests.support.complaint import GOOD, publish_complaint
from tests.support.web import token_for

FILE_URL = "/api/v1/case-types/complaint/cases"


@pytest.fixture
def sqlite_app(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    from app import create_app
    from app.extensions import db

    path = tmp_path / "casework.db"
    shutil.copy(sqlite_template, path)
    app = create_app(make_config(f"sqlite:///{path}", SQLITE_BUSY_TIMEOUT=0.3))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint(app)
    yield app, path
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _case_count(app: Any) -> int:
    from app.extensions import db
    from cases.models import Case

    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Case)) or 0
        db.session.remove()
        return count


def test_a_locked_database_answers_503_with_retry_after_then_works(sqlite_app: tuple[Any, Path]) -> None:
    app, path = sqlite_app
    headers = token_for(app, "requester@example.com")
    client = app.test_client()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock longer than the busy wait
    try:
        started = time.monotonic()
        response = client.post(FILE_URL, json={"data": GOOD}, headers=headers)
        assert time.monotonic() - started < 5
        assert response.status_code == 503, response.get_data(as_text=True)[:300]
        assert response.headers["Retry-After"] == "2"
        assert response.get_json()["error"]["code"] == "busy"
    finally:
        holder.rollback()
        holder.close()
    assert _case_count(app) == 0
    assert client.post(FILE_URL, json={"data": GOOD}, headers=headers).status_code == 201


def test_a_request_that_queued_too_long_is_not_worked_on(app: Any) -> None:
    client = app.test_client()
    now = time.time()
    assert client.get("/healthz", headers={"X-Request-Start": f"t={now - 60:.3f}"}).status_code == 503
    late_ms = client.get("/healthz", headers={"X-Request-Start": f"t={int((now - 60) * 1000)}"})
    assert late_ms.status_code == 503 and late_ms.headers["Retry-After"] == "2"
    assert client.get("/healthz", headers={"X-Request-Start": f"t={int(now * 1e6)}"}).status_code == 200
    assert client.get("/healthz", headers={"X-Request-Start": "garbage"}).status_code == 200


def _raw_post(port: int, body: bytes, headers: dict[str, str]) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    lines = [f"POST {FILE_URL} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
             f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    sock.sendall("\r\n".join(lines).encode() + body)
    return sock


def test_a_client_that_hung_up_under_waitress_files_nothing(sqlite_template: Path, tmp_path: Path) -> None:
    from waitress import create_server

    from app import create_app
    from app.extensions import db

    path = tmp_path / "casework.db"
    shutil.copy(sqlite_template, path)
    app = create_app(make_config(f"sqlite:///{path}", SQLITE_BUSY_TIMEOUT=10))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint(app)
    headers = token_for(app, "requester@example.com")
    server = create_server(app, host="127.0.0.1", port=0, threads=2, channel_request_lookahead=5)
    port = server.effective_port  # type: ignore[union-attr]
    threading.Thread(target=server.run, daemon=True).start()
    body = json.dumps({"data": GOOD}).encode()
    try:
        for hang_up in (True, False):
            holder = sqlite3.connect(path, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")  # the filing waits for the write lock...
            sock = _raw_post(port, body, headers)
            time.sleep(0.8)
            if hang_up:
                sock.close()  # ...and its client gives up meanwhile
                time.sleep(0.5)
            holder.rollback()
            holder.close()
            if not hang_up:
                sock.settimeout(15)
                assert b" 201 " in sock.recv(4096).split(b"\r\n")[0]
                sock.close()
            time.sleep(1.0)
            assert _case_count(app) == (0 if hang_up else 1)
    finally:
        server.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_sweep_checkpoints_the_wal(sqlite_app: tuple[Any, Path]) -> None:
    from app.jobs import JOBS

    app, path = sqlite_app
    headers = token_for(app, "requester@example.com")
    for _ in range(3):
        assert app.test_client().post(FILE_URL, json={"data": GOOD}, headers=headers).status_code == 201
    wal = Path(f"{path}-wal")
    assert wal.exists() and os.path.getsize(wal) > 0
    with app.app_context():
        JOBS["sla_sweep"]()
    assert os.path.getsize(wal) == 0
