"""The SLA sweep from the outside: `casework sla sweep`, the sweeper thread of `casework serve`, and the
sweeps `casework worker` puts on Redis."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import make_config, need, redis_database
from tests.support.complaint import publish_complaint
from tests.support.sla import CALENDAR, TARGETS

LONG_AGO = datetime(2020, 1, 6, 9, 0, tzinfo=UTC)  # a Monday: the 4-hour response is long overdue


def file_overdue_case(app: Any) -> int:
    from app.extensions import db
    from cases import accounts, definitions
    from tests.support.sla import file

    with app.app_context():
        requester = accounts.find_user(db.session, "requester@example.com")
        case_type = definitions.find_definition(db.session, "case_type", "complaint")
        assert requester is not None and case_type is not None
        case_id = file(db.session, case_type, requester, LONG_AGO).id
        db.session.remove()
    return case_id


def breaches(app: Any) -> int:
    from app.extensions import db
    from cases.models import AuditEvent

    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.kind == "sla.breached")) or 0
        db.session.remove()
    return count


def wait_for(predicate: Any, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def sla_app(app: Any, demo_users: Any) -> Any:
    publish_complaint(app, sla=TARGETS, calendar=CALENDAR)
    file_overdue_case(app)
    return app


def test_sla_sweep_fires_what_is_due_once(sla_app: Any) -> None:
    runner = sla_app.test_cli_runner()
    result = runner.invoke(args=["sla", "sweep"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "1 SLA event fired."
    again = runner.invoke(args=["sla", "sweep"])
    assert again.output.strip() == "0 SLA events fired."
    assert breaches(sla_app) == 1


def test_the_embedded_sweeper_thread_sweeps_periodically(sla_app: Any) -> None:
    from app.jobs import start_sla_sweeper

    sweeper = start_sla_sweeper(sla_app, interval=0.05)
    try:
        assert wait_for(lambda: breaches(sla_app) == 1)
        file_overdue_case(sla_app)  # a later one is found by a later round
        assert wait_for(lambda: breaches(sla_app) == 2)
        time.sleep(0.3)  # several more rounds fire nothing again
    finally:
        sweeper.stop()
    assert not sweeper.thread.is_alive()
    assert breaches(sla_app) == 2


def test_a_failing_round_does_not_stop_the_sweeper(sla_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import jobs

    calls: list[int] = []

    def flaky() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database restarting")
        return 0

    monkeypatch.setitem(jobs.JOBS, "sla_sweep", flaky)
    sweeper = jobs.start_sla_sweeper(sla_app, interval=0.02)
    try:
        assert wait_for(lambda: len(calls) >= 3)
    finally:
        sweeper.stop()


def test_serve_starts_the_sweeper_only_without_redis(app: Any, database_url: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import waitress

    from app import create_app, jobs

    started: list[float] = []
    monkeypatch.setattr(waitress, "serve", lambda *args, **kwargs: None)
    monkeypatch.setattr(jobs, "start_sla_sweeper", lambda app, interval: started.append(interval))
    assert app.test_cli_runner().invoke(args=["serve"]).exit_code == 0
    assert started == [60.0]
    assert app.test_cli_runner().invoke(args=["serve", "--sla-interval", "0"]).exit_code == 0
    assert started == [60.0]
    with_redis = create_app(make_config(database_url, REDIS_URL="redis://127.0.0.1:6379/14"))
    assert with_redis.test_cli_runner().invoke(args=["serve"]).exit_code == 0
    assert started == [60.0]  # the workers sweep


def test_worker_starts_its_sweeper_before_working(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import rq

    from app import create_app, jobs

    events: list[str] = []
    monkeypatch.setattr(jobs, "start_sla_sweeper", lambda app, interval: events.append(f"sweeper {interval}"))

    class FakeWorker:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def work(self, **kwargs: Any) -> None:
            events.append("work")

    monkeypatch.setattr(rq, "Worker", FakeWorker)
    app = create_app(make_config(database_url, REDIS_URL="redis://127.0.0.1:6379/14"))
    result = app.test_cli_runner().invoke(args=["worker", "--sla-interval", "30"])
    assert result.exit_code == 0, result.output
    assert events == ["sweeper 30.0", "work"]


@pytest.mark.redis
def test_workers_enqueue_one_sweep_at_a_time_and_run_it(database_url: str) -> None:
    import redis
    from rq import Queue, SimpleWorker

    from app import create_app
    from app.jobs import URGENT_QUEUE, Periodic, enqueue_unless_waiting

    url = redis_database(database_url, 9)
    try:
        connection = redis.Redis.from_url(url, socket_connect_timeout=2)
        connection.ping()
    except redis.RedisError as exc:
        need(False, f"Redis is not reachable at {url}: {exc}")
    queue = Queue(URGENT_QUEUE, connection=connection)
    queue.empty()
    connection.delete("rq:job:casework-periodic-sla_sweep")
    app = create_app(make_config(database_url, REDIS_URL=url, RATELIMIT_KEY_PREFIX=uuid.uuid4().hex))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint(app, sla=TARGETS, calendar=CALENDAR)
    file_overdue_case(app)
    Periodic(app, "sla_sweep", interval=60).tick()  # what the worker's thread does each minute
    assert enqueue_unless_waiting(app, "sla_sweep") is False  # one is still waiting
    assert queue.count == 1
    assert breaches(app) == 0  # nothing runs in this process when Redis is configured
    with app.app_context():
        SimpleWorker([queue], connection=connection).work(burst=True)
    assert breaches(app) == 1
    assert enqueue_unless_waiting(app, "sla_sweep") is True  # done: the next round may go
    with app.app_context():
        SimpleWorker([queue], connection=connection).work(burst=True)
    assert breaches(app) == 1
    queue.empty()
