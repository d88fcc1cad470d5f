"""The document queue: the after-commit kick, the render pool and the watchdog, on both databases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db
from app.jobs import shutdown_pools
from cases.models import Document
from tests.app.documents.real_cases import documents_of, file_case, work_and_close
from tests.conftest import make_config, redis_database
from tests.support.complaint import GOOD, publish_complaint

#: A ruleset that matches nothing still runs on every transition, in a savepoint of the transition's transaction.
NO_OP_RULES = {"schema_version": 1, "rules": []}


def publish_complaint_with_rules(app: Any) -> None:
    publish_complaint(app, documents=[], rules=NO_OP_RULES)


@pytest.fixture
def auto_app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """An app that renders in the background after each commit, as outside the tests."""
    from app import create_app

    app = create_app(make_config(database_url, DOCUMENT_FOLDER=str(tmp_path / "documents"),
                                 DOCUMENTS_AUTO_RENDER=True))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint_with_rules(app)
    yield app
    shutdown_pools(app)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def wait_until_settled(app: Any, case_id: int, timeout: float) -> list[Document]:
    deadline = time.monotonic() + timeout
    rows = documents_of(app, case_id)
    while time.monotonic() < deadline:
        if rows and all(d.status in ("done", "failed") for d in rows):
            break
        time.sleep(0.2)
        rows = documents_of(app, case_id)
    return rows


def test_documents_of_a_case_closed_with_rules_render_once_the_closing_commit_is_visible(auto_app: Any) -> None:
    """Finding: on PostgreSQL the savepoint of the rules fired the kick before the case's commit, so the job
    found no queued row and the documents stayed queued. A slow outer commit makes that race certain."""
    case_id = file_case(auto_app, **GOOD)

    closing: list[bool] = []

    def note_queued(session: Session, _ctx: Any) -> None:
        closing.extend(True for obj in session.new if isinstance(obj, Document))

    def slow_outer_commit(session: Session) -> None:
        if closing and not session.in_nested_transaction():
            closing.clear()
            time.sleep(1.5)  # a loaded machine: the rest of the closing transaction takes a while to commit

    event.listen(db.session, "after_flush", note_queued)
    event.listen(db.session, "before_commit", slow_outer_commit)
    try:
        work_and_close(auto_app, case_id)
    finally:
        event.remove(db.session, "after_flush", note_queued)
        event.remove(db.session, "before_commit", slow_outer_commit)
    rows = wait_until_settled(auto_app, case_id, timeout=30)
    assert [(d.kind, d.status) for d in rows] == [("dossier", "done")], [d.reason for d in rows]


# A renderer that dies mid-render: claims the document, then renders it (again and again) until killed.
DYING_RENDERER = """
import sys
from app import create_app
from app.documents.queue import make_signed
from app.extensions import db
from cases import documents
from tests.conftest import make_config

app = create_app(make_config(sys.argv[1], DOCUMENT_FOLDER=sys.argv[2]))
with app.app_context():
    document = documents.claim(db.session, int(sys.argv[3]))
    assert document is not None
    print("rendering", flush=True)
    while True:
        make_signed(document, app)
"""


def test_a_document_whose_renderer_was_killed_mid_render_is_rendered_again_by_the_watchdog(
        database_url: str, tmp_path: Path) -> None:
    from app import create_app
    from app.watchdog import run_watchdog
    from cases.clock import utcnow

    folder = str(tmp_path / "documents")
    app = create_app(make_config(database_url, DOCUMENT_FOLDER=folder))  # no kick: the dying renderer claims
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint_with_rules(app)
    case_id = file_case(app, **GOOD)
    work_and_close(app, case_id)
    [queued] = documents_of(app, case_id)
    renderer = subprocess.Popen([sys.executable, "-c", DYING_RENDERER, database_url, folder, str(queued.id)],
                                stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[3],
                                start_new_session=True)
    try:
        assert renderer.stdout is not None and renderer.stdout.readline().strip() == "rendering"
        time.sleep(0.5)  # well into the render
    finally:
        os.killpg(renderer.pid, signal.SIGKILL)
        renderer.wait(30)
    [stuck] = documents_of(app, case_id)
    assert (stuck.status, stuck.attempts) == ("rendering", 1)

    app.config["DOCUMENTS_AUTO_RENDER"] = True
    with app.app_context():
        assert run_watchdog(app)["documents"] == 0  # not yet past the limit: a live render is left alone
        later = utcnow() + timedelta(seconds=app.config["JOB_STUCK_AFTER_S"] + 1)
        assert run_watchdog(app, now=later)["documents"] >= 1  # queued again (the commit kicks its render job)
        db.session.remove()
    rows = wait_until_settled(app, case_id, timeout=60)
    shutdown_pools(app)
    assert [(d.status, d.attempts) for d in rows] == [("done", 2)], [d.reason for d in rows]
    kinds = [e.kind for e in _case_events(app, case_id)]
    assert kinds[-2:] == ["document.requeued", "document.generated"]
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _case_events(app: Any, case_id: int) -> list[Any]:
    from cases import audit
    from cases.models import Case

    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case is not None
        events = list(audit.events(db.session, case.stream))
        db.session.expunge_all()
        db.session.remove()
    return events


def _wait_for(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.redis
def test_an_rq_render_job_whose_worker_died_is_retried(database_url: str, tmp_path: Path) -> None:
    """kill -9 of `casework worker` in the middle of a render job: the watchdog has RQ retry the job, and the
    next worker renders the document."""
    import redis
    from rq.job import Job, JobStatus

    from app import create_app
    from app.watchdog import run_watchdog
    from cases.clock import utcnow
    from tests.conftest import need

    url = redis_database(database_url, 11)
    try:
        connection = redis.Redis.from_url(url, socket_connect_timeout=2)
        connection.ping()
    except redis.RedisError as exc:
        need(False, f"Redis is not reachable at {url}: {exc}")
    connection.flushdb()
    instance, folder = tmp_path / "instance", tmp_path / "documents"
    instance.mkdir()
    (instance / "config.py").write_text(f"WATCHDOG_INTERVAL_S = 0\nDOCUMENT_FOLDER = {str(folder)!r}\n")
    app = create_app(make_config(database_url, REDIS_URL=url, DOCUMENT_FOLDER=str(folder), DOCUMENTS_AUTO_RENDER=True))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint_with_rules(app)
    case_id = file_case(app, **GOOD)
    work_and_close(app, case_id)
    [document] = documents_of(app, case_id)
    job = Job.fetch(f"casework-document-{document.id}", connection=connection)
    assert job.get_status() == JobStatus.QUEUED and job.retries_left == 3

    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": url, "CASEWORK_INSTANCE": str(instance)}
    command = [str(Path(sys.executable).parent / "casework"), "worker", "--sla-interval", "0"]

    def start_worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    worker = start_worker()
    try:
        assert _wait_for(lambda: job.get_status(refresh=True) == JobStatus.STARTED, timeout=60)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(30)
    assert documents_of(app, case_id)[0].status in ("queued", "rendering")  # killed before it finished

    with app.app_context():
        found = run_watchdog(app, now=utcnow() + timedelta(minutes=5))  # past the dead worker's last heartbeat
        db.session.remove()
    assert found["rq"] == 1
    job.refresh()
    assert job.retries_left == 2 and job.get_status() in (JobStatus.SCHEDULED, JobStatus.QUEUED)

    worker = start_worker()
    try:
        rows = wait_until_settled(app, case_id, timeout=90)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(30)
    assert [d.status for d in rows] == ["done"], [d.reason for d in rows]
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
