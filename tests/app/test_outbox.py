"""E-mail delivery from the outbox: claimed by one sender at a time, retried with backoff, failures shown."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import Web, make_config


class _Sink:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.subjects: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # aiosmtpd calls it by this name
        with self.lock:
            self.subjects.append(str(message_from_bytes(envelope.content)["Subject"]))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_sink() -> Iterator[tuple[_Sink, int]]:
    from aiosmtpd.controller import Controller

    sink = _Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def _queue(session: Session, count: int) -> None:
    from cases import notifications
    from cases.uow import transaction

    with transaction(session):
        for n in range(count):
            notifications.queue_message(session, to=f"person{n}@example.com", subject=f"message {n}",
                                        body="hello", reason="test")


def test_two_workers_delivering_the_same_outbox_never_send_a_message_twice(
        database_url: str, smtp_sink: tuple[_Sink, int]) -> None:
    from app.mail import smtp_send
    from cases import outbox
    from cases.database import make_engine
    from cases.models import OutboxMessage

    sink, port = smtp_sink
    engines = [make_engine(database_url) for _ in range(2)]
    with Session(engines[0]) as setup:
        _queue(setup, 30)

    def send(message: OutboxMessage) -> None:
        smtp_send(f"smtp://127.0.0.1:{port}", "cw@example.com", message)
        time.sleep(0.01)  # a slow mail server: both workers are at it at the same time

    results: list[tuple[int, int]] = []
    start = threading.Barrier(2)

    def worker(engine: Any) -> None:
        with Session(engine) as session:
            start.wait()
            results.append(outbox.deliver(session, send, limit=100))

    threads = [threading.Thread(target=worker, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(sink.subjects) == sorted(f"message {n}" for n in range(30))  # each exactly once
    assert sum(sent for sent, _ in results) == 30 and all(sent > 0 for sent, _ in results), results
    with Session(engines[0]) as check:
        rows = check.scalars(select(OutboxMessage)).all()
        assert all(row.sent_at is not None and row.attempts == 1 for row in rows)
    for engine in engines:
        engine.dispose()


def test_a_failed_message_backs_off_then_fails_for_good_and_admins_can_send_it_again(
        app: Any, demo_users: Any, smtp_sink: tuple[_Sink, int]) -> None:
    from app.extensions import db
    from app.mail import smtp_send
    from cases import outbox
    from cases.clock import utcnow
    from cases.models import OutboxMessage
    from cases.notifications import MAX_ATTEMPTS

    sink, port = smtp_sink
    closed = _free_port()
    with app.app_context():
        _queue(db.session, 1)
        message_id = db.session.scalar(select(OutboxMessage.id))
        now = utcnow()

        def deliver_at(at: Any, smtp_port: int) -> tuple[int, int]:
            return outbox.deliver(db.session, lambda m: smtp_send(f"smtp://127.0.0.1:{smtp_port}", "cw@x", m),
                                  clock=lambda: at)

        assert deliver_at(now, closed) == (0, 1)
        row = db.session.get(OutboxMessage, message_id)
        assert row.attempts == 1 and row.next_attempt_at == now + timedelta(minutes=1)
        assert "ConnectionRefusedError" in row.last_error
        assert deliver_at(now + timedelta(seconds=59), closed) == (0, 0)  # still backing off
        at = now
        for attempt in range(2, MAX_ATTEMPTS + 1):
            at = at + outbox.backoff(attempt - 1)
            assert deliver_at(at, closed) == (0, 1)
        row = db.session.get(OutboxMessage, message_id)
        assert row.failed_at is not None and row.attempts == MAX_ATTEMPTS
        assert deliver_at(at + timedelta(days=1), port) == (0, 0)  # given up: waits for an admin
        assert outbox.backlog(db.session).failed == 1

    web = Web(app.test_client())
    web.login("admin@example.com")
    page = web.get("/admin/outbox").get_data(as_text=True)
    assert "could not be sent after every retry" in page and "failed for good" in page
    assert web.post(f"/admin/outbox/{message_id}/retry").status_code == 303
    with app.app_context():
        assert outbox.deliver(db.session, lambda m: smtp_send(f"smtp://127.0.0.1:{port}", "cw@x", m)) == (1, 0)
    assert sink.subjects == ["message 0"]
    assert web.post(f"/admin/outbox/{message_id}/retry").status_code == 409  # already sent


def test_a_crashed_senders_lease_runs_out_and_the_message_is_taken_again(session: Session) -> None:
    from cases import outbox
    from cases.clock import utcnow

    _queue(session, 1)
    now = utcnow()
    first = outbox.claim_next(session, clock=lambda: now)
    assert first is not None
    assert outbox.claim_next(session, clock=lambda: now + timedelta(minutes=1)) is None  # leased
    again = outbox.claim_next(session, clock=lambda: now + outbox.LEASE + timedelta(seconds=1))
    assert again is not None and again.id == first.id


def test_the_periodic_sender_retries_without_a_new_commit(database_url: str, smtp_sink: tuple[_Sink, int]) -> None:
    from app import create_app
    from app.extensions import db
    from app.jobs import start_outbox_sender
    from cases.database import make_engine

    sink, port = smtp_sink
    app = create_app(make_config(database_url, SMTP_URL=f"smtp://127.0.0.1:{port}"))
    engine = make_engine(database_url)
    with Session(engine) as other_process:  # written elsewhere: no after-commit kick in this process
        _queue(other_process, 2)
    engine.dispose()
    sender = start_outbox_sender(app, interval=0.2)
    assert sender is not None
    try:
        deadline = time.monotonic() + 15
        while len(sink.subjects) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sender.stop()
        with app.app_context():
            db.engine.dispose()
    assert sorted(sink.subjects) == ["message 0", "message 1"]
    assert start_outbox_sender(create_app(make_config(database_url))) is None  # no SMTP: nothing to send


def _commit_one_message_each(app: Any, count: int) -> None:
    from app.extensions import db

    with app.app_context():
        for _ in range(count):
            _queue(db.session, 1)  # one commit each, as many requests that each send a mail do
        db.session.remove()


def test_commits_that_fill_the_outbox_share_one_queued_delivery_on_redis(
        database_url: str, smtp_sink: tuple[_Sink, int]) -> None:
    """The load run: one RQ job per commit piled up hundreds of deliveries ahead of the renders."""
    import redis
    from rq import Queue, SimpleWorker

    from app import create_app
    from app.extensions import db
    from app.jobs import QUEUE_NAME, URGENT_QUEUE, WORKER_QUEUES, enqueue
    from tests.conftest import redis_database

    sink, port = smtp_sink
    url = redis_database(database_url, 5)
    connection = redis.Redis.from_url(url)
    connection.flushdb()
    app = create_app(make_config(database_url, REDIS_URL=url, SMTP_URL=f"smtp://127.0.0.1:{port}"))
    queue, slow = Queue(URGENT_QUEUE, connection=connection), Queue(QUEUE_NAME, connection=connection)
    enqueue(app, "sla_sweep")  # queued first, on the queue the renders use
    _commit_one_message_each(app, 30)
    assert queue.count == 1 and slow.count == 1
    with app.app_context():  # what `casework worker` listens to: the delivery is taken first
        SimpleWorker([Queue(name, connection=connection) for name in WORKER_QUEUES],
                     connection=connection).work(burst=True, max_jobs=1)
    assert slow.count == 1 and queue.count == 0
    deadline = time.monotonic() + 15
    while len(sink.subjects) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(sink.subjects) == 30
    _commit_one_message_each(app, 2)  # the earlier run is over: the next commit queues a run of its own
    assert queue.count == 1
    with app.app_context():
        db.engine.dispose()
    connection.flushdb()


def test_commits_that_fill_the_outbox_share_one_waiting_delivery_in_process(
        database_url: str, smtp_sink: tuple[_Sink, int]) -> None:
    from app import create_app
    from app.extensions import db

    sink, port = smtp_sink
    app = create_app(make_config(database_url, SMTP_URL=f"smtp://127.0.0.1:{port}"))
    pool, release = app.extensions["casework_jobs"], threading.Event()
    for _ in range(2):  # both threads of the pool busy: every delivery waits
        pool.submit(release.wait, 30)
    try:
        _commit_one_message_each(app, 30)
        assert pool._work_queue.qsize() == 1
    finally:
        release.set()
    deadline = time.monotonic() + 15
    while len(sink.subjects) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(sink.subjects) == ["message 0"] * 30
    with app.app_context():
        db.engine.dispose()
