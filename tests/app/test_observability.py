"""Health, readiness, Prometheus metrics and request ids (in the access log, audit events and jobs)."""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.app.tcp_proxy import TcpProxy
from tests.conftest import make_config, need
from tests.support.complaint import GOOD
from tests.support.web import token_for


def _sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_healthz_answers_without_the_database(tmp_path: Any) -> None:
    from app import create_app

    # A folder cannot be opened as a database: the process is up all the same.
    app = create_app(make_config(f"sqlite:///{tmp_path}"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_is_ok_on_a_migrated_database(client: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["backlog"]["ok"] is True


def test_readyz_refuses_a_database_with_pending_migrations(tmp_path: Any) -> None:
    from app import create_app

    app = create_app(make_config(f"sqlite:///{tmp_path / 'empty.db'}"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"]["error"] == "migrations pending"


def test_readyz_refuses_when_the_backlog_is_over_the_limit(complaint_app: Any) -> None:
    complaint_app.config["READY_MAX_BACKLOG"] = 0
    client = complaint_app.test_client()
    client.post("/api/v1/case-types/complaint/cases", json={"data": GOOD},
                headers=token_for(complaint_app, "requester@example.com"))  # its e-mail waits in the outbox
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["backlog"] == {"ok": False, "waiting": 1, "limit": 0}


@pytest.mark.postgres
def test_readyz_follows_postgresql_going_away_and_coming_back(pg_database: str) -> None:
    from app import create_app
    from app.extensions import db

    proxy = TcpProxy(5432).start()
    url = pg_database.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    assert url != pg_database
    app = create_app(make_config(url))
    client = app.test_client()
    try:
        assert client.get("/readyz").status_code == 200
        proxy.stop()
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.get_json()["checks"]["database"]["ok"] is False
        assert client.get("/healthz").status_code == 200
        proxy.start()
        assert client.get("/readyz").status_code == 200
    finally:
        proxy.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.redis
def test_readyz_follows_redis_going_away_and_coming_back(database_url: str) -> None:
    import redis

    from app import create_app

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        need(False, f"Redis is not reachable: {exc}")
    proxy = TcpProxy(6379).start()
    app = create_app(make_config(database_url, REDIS_URL=f"redis://127.0.0.1:{proxy.port}/15",
                                 RATELIMIT_STORAGE_URI="memory://"))
    client = app.test_client()
    try:
        up = client.get("/readyz")
        assert up.status_code == 200, up.get_json()
        assert up.get_json()["checks"]["redis"] == {"ok": True}
        proxy.stop()
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.get_json()["checks"]["redis"]["ok"] is False
        proxy.start()
        assert client.get("/readyz").status_code == 200
    finally:
        proxy.stop()


def test_metrics_parse_and_count_a_filing(complaint_app: Any) -> None:
    client = complaint_app.test_client()
    headers = token_for(complaint_app, "requester@example.com")
    before = client.get("/metrics")
    assert before.status_code == 200
    filed_before = _sample(before.get_data(as_text=True), "casework_filings_total", case_type="complaint")
    route = "/api/v1/case-types/<slug>/cases"
    posts_before = _sample(before.get_data(as_text=True), "casework_http_requests_total", route=route, status="201")
    assert client.post("/api/v1/case-types/complaint/cases", json={"data": GOOD}, headers=headers).status_code == 201
    # A refused filing (422) is answered, and counted as a request, but files nothing.
    assert client.post("/api/v1/case-types/complaint/cases", json={"data": {}}, headers=headers).status_code == 422
    text = client.get("/metrics").get_data(as_text=True)
    assert _sample(text, "casework_filings_total", case_type="complaint") == filed_before + 1
    assert _sample(text, "casework_http_requests_total", route=route, status="201") == posts_before + 1
    assert _sample(text, "casework_http_request_duration_seconds_count", route=route) >= 2
    assert _sample(text, "casework_outbox_backlog", status="waiting") == 1
    assert _sample(text, "casework_documents", status="queued") == 0
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"casework_transitions", "casework_rule_decisions", "casework_rule_failures", "casework_sla_breaches",
            "casework_document_render_seconds", "casework_document_failures",
            "casework_outbox_oldest_age_seconds"} <= names


def test_metrics_are_for_loopback_or_the_token(app: Any) -> None:
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403
    assert client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"}).status_code == 403
    app.config["METRICS_TOKEN"] = "metrics-secret"
    remote = {"REMOTE_ADDR": "10.1.2.3"}
    assert client.get("/metrics", environ_base=remote).status_code == 403
    assert client.get("/metrics", environ_base=remote,
                      headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", environ_base=remote,
                      headers={"Authorization": "Bearer metrics-secret"}).status_code == 200


def test_one_request_id_in_the_header_the_log_line_and_the_audit_events(complaint_app: Any,
                                                                         caplog: Any) -> None:
    from sqlalchemy import select

    from app.extensions import db
    from app.observability import JsonFormatter
    from cases.models import AuditEvent, Case

    rid = f"req-{uuid.uuid4().hex}"
    headers = {**token_for(complaint_app, "requester@example.com"), "X-Request-ID": rid}
    with caplog.at_level(logging.INFO, logger="casework.access"):
        response = complaint_app.test_client().post("/api/v1/case-types/complaint/cases", json={"data": GOOD},
                                                    headers=headers)
    assert response.status_code == 201 and response.headers["X-Request-ID"] == rid
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "casework.access"]
    line = next(entry for entry in lines if entry.get("request_id") == rid)
    assert (line["method"], line["route"], line["status"]) == ("POST", "/api/v1/case-types/<slug>/cases", 201)
    assert isinstance(line["duration_ms"], float)
    with complaint_app.app_context():
        case = db.session.scalar(select(Case).where(Case.id == response.get_json()["id"]))
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.stream == case.stream)).all()
        assert events and {e.request_id for e in events} == {rid}
    # Without a usable incoming id, the server makes one.
    other = complaint_app.test_client().get("/healthz", headers={"X-Request-ID": "bad id <script>"})
    assert len(other.headers["X-Request-ID"]) == 32 and "<" not in other.headers["X-Request-ID"]


def test_a_job_runs_under_the_request_id_that_enqueued_it(app: Any, caplog: Any) -> None:
    from app.jobs import JOBS, enqueue, job
    from cases.context import request_context, request_id

    seen: list[str | None] = []
    done = threading.Event()

    @job("test_probe_request_id")
    def _probe() -> None:
        logging.getLogger("casework.test").info("probe ran")
        seen.append(request_id())
        done.set()

    try:
        with app.app_context(), request_context("req-from-a-request-1"):
            enqueue(app, "test_probe_request_id")
        assert done.wait(10)
    finally:
        JOBS.pop("test_probe_request_id", None)
    assert seen == ["req-from-a-request-1"]


def test_json_lines_carry_exceptions_and_known_fields() -> None:
    from app.observability import JsonFormatter
    from cases.context import request_context

    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("casework.x", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info())
    record.status = 500
    with request_context("req-12345678"):
        doc = json.loads(JsonFormatter().format(record))
    assert doc["message"] == "failed here" and doc["status"] == 500 and doc["request_id"] == "req-12345678"
    assert "ValueError: boom" in doc["exception"]


def test_serve_and_worker_processes_share_a_metrics_folder(tmp_path: Any) -> None:
    """The console script puts serve/worker into prometheus-client's multi-process mode."""
    import subprocess
    import sys

    env = {**os.environ, "CASEWORK_INSTANCE": str(tmp_path)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    code = ("import os, sys; sys.argv = ['casework', 'serve', '--help']; from app.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('DIR=' + os.environ.get('PROMETHEUS_MULTIPROC_DIR', ''))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert f"DIR={tmp_path / 'metrics'}" in out.stdout, out.stderr[-2000:]
    assert (tmp_path / "metrics").is_dir()
