"""Background jobs: notifications delivered over SMTP from a thread, or through Redis and an RQ worker."""

from __future__ import annotations

import socketserver
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import make_config, need, redis_database
from tests.support.complaint import GOOD, publish_complaint
from tests.support.web import token_for


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive messages: a stand-in mail server on a loopback port."""

    def handle(self) -> None:
        self.wfile.write(b"220 test ready\r\n")
        recipients: list[str] = []
        while line := self.rfile.readline():
            command = line.decode().strip()
            upper = command.upper()
            if upper.startswith(("EHLO", "HELO")):
                self.wfile.write(b"250 ok\r\n")
            elif upper.startswith("RCPT TO:"):
                recipients.append(command.split(":", 1)[1].strip(" <>"))
                self.wfile.write(b"250 ok\r\n")
            elif upper == "DATA":
                self.wfile.write(b"354 go\r\n")
                body = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(data.decode(errors="replace"))
                self.server.messages.append((recipients, "".join(body)))  # type: ignore[attr-defined]
                recipients = []
                self.wfile.write(b"250 queued\r\n")
            elif upper == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.messages = []  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _wait_for(predicate: Any, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_outbox_is_delivered_by_a_background_thread(database_url: str, smtp_server: Any) -> None:
    from app import create_app

    port = smtp_server.server_address[1]
    app = create_app(make_config(database_url, SMTP_URL=f"smtp://127.0.0.1:{port}", MAIL_FROM="cw@example.com"))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint(app)
    client = app.test_client()
    response = client.post("/api/v1/case-types/complaint/cases", json={"data": GOOD},
                           headers=token_for(app, "requester@example.com"))
    assert response.status_code == 201
    assert _wait_for(lambda: smtp_server.messages), "no message reached the SMTP server"
    recipients, body = smtp_server.messages[0]
    assert recipients == ["requester@example.com"]
    assert "CMP-000001" in body


def test_without_smtp_the_outbox_keeps_messages_for_admins(complaint_app: Any) -> None:
    from app.extensions import db
    from cases import notifications

    client = complaint_app.test_client()
    client.post("/api/v1/case-types/complaint/cases", json={"data": GOOD},
                headers=token_for(complaint_app, "requester@example.com"))
    with complaint_app.app_context():
        waiting = notifications.pending(db.session)
        assert [m.to for m in waiting] == ["requester@example.com"]
        assert waiting[0].sent_at is None


@pytest.mark.redis
def test_jobs_go_through_redis_to_an_rq_worker(database_url: str, smtp_server: Any) -> None:
    import redis
    from rq import Queue, SimpleWorker

    from app import create_app
    from app.jobs import URGENT_QUEUE, WORKER_QUEUES

    url = redis_database(database_url, 13)
    try:
        connection = redis.Redis.from_url(url, socket_connect_timeout=2)
        connection.ping()
    except redis.RedisError as exc:
        need(False, f"Redis is not reachable at {url}: {exc}")
    for name in WORKER_QUEUES:
        Queue(name, connection=connection).empty()
    port = smtp_server.server_address[1]
    app = create_app(make_config(database_url, REDIS_URL=url, RATELIMIT_STORAGE_URI="memory://",
                                 RATELIMIT_KEY_PREFIX=uuid.uuid4().hex, SMTP_URL=f"smtp://127.0.0.1:{port}"))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint(app)
    response = app.test_client().post("/api/v1/case-types/complaint/cases", json={"data": GOOD},
                                      headers=token_for(app, "requester@example.com"))
    assert response.status_code == 201
    queue = Queue(URGENT_QUEUE, connection=connection)
    assert queue.count == 1  # the e-mail's delivery, ahead of any render
    assert smtp_server.messages == []  # nothing runs in the web process when Redis is configured
    with app.app_context():
        SimpleWorker([queue], connection=connection).work(burst=True)
    assert _wait_for(lambda: smtp_server.messages)
    assert smtp_server.messages[0][0] == ["requester@example.com"]


def test_worker_command_needs_redis(app: Any) -> None:
    result = app.test_cli_runner().invoke(args=["worker"])
    assert result.exit_code != 0
    assert "Set REDIS_URL" in result.output


def test_admins_read_the_outbox(complaint_app: Any) -> None:
    from tests.conftest import Web

    complaint_app.test_client().post("/api/v1/case-types/complaint/cases", json={"data": GOOD},
                                     headers=token_for(complaint_app, "requester@example.com"))
    admin = Web(complaint_app.test_client())
    admin.login("admin@example.com")
    page = admin.get("/admin/outbox").get_data(as_text=True)
    assert "No SMTP server is configured" in page
    assert "requester@example.com" in page and "[CMP-000001] We received your request" in page


def test_one_dispatcher_kicks_each_job_kind_after_the_outer_commit_only(app: Any) -> None:
    """Every job kind registers with app.jobs.after_commit: a released savepoint kicks nothing (its rows are
    not visible to a job yet), the outer commit kicks once with what was picked, a rollback forgets it, and
    work `held` by the caller is not kicked."""
    from app.extensions import db
    from app.jobs import AFTER_COMMIT, after_commit, held
    from cases.models import Queue

    kicked: list[list[str]] = []
    after_commit("test-queues", Queue, pick=lambda queue: queue.slug,
                 kick=lambda _app, slugs: kicked.append(sorted(slugs)))
    try:
        with app.app_context():
            with db.session.begin_nested():
                db.session.add(Queue(slug="kick-a", name="A"))
            assert kicked == []
            db.session.add(Queue(slug="kick-b", name="B"))
            db.session.commit()
            assert kicked == [["kick-a", "kick-b"]]
            db.session.add(Queue(slug="kick-c", name="C"))
            db.session.flush()
            db.session.rollback()
            db.session.commit()
            assert kicked == [["kick-a", "kick-b"]]
            with held("test-queues"):
                db.session.add(Queue(slug="kick-d", name="D"))
                db.session.commit()
            assert kicked == [["kick-a", "kick-b"]]
    finally:
        AFTER_COMMIT.pop("test-queues", None)
