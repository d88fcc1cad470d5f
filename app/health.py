"""Operations endpoints: `/healthz` (the process answers), `/readyz` (it can do its work), `/metrics`.

`/readyz` answers 200 only when the database answers, Redis answers (when configured), the schema is
at the newest migration and the backlog of work (queued documents, waiting e-mails, Redis jobs) is
under `READY_MAX_BACKLOG`; otherwise 503 with the failing checks, so a load balancer stops sending
traffic to a node that cannot serve it. `/metrics` is for Prometheus: with `METRICS_TOKEN` set it needs
`Authorization: Bearer <token>`; without it only direct loopback callers (no `X-Forwarded-For`, i.e.
not through a reverse proxy) may read it.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import text

from app.extensions import db
from app.metrics import exposition, read_backlog

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)
LOOPBACK = {"127.0.0.1", "::1"}


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up and serving requests (nothing else is checked: restart it if this fails)."""
    return jsonify(status="ok")


def _script_heads() -> set[str]:
    heads = current_app.extensions.get("casework_script_heads")
    if heads is None:
        from alembic.script import ScriptDirectory
        from flask_migrate import Config

        migrate = current_app.extensions["migrate"]
        config = Config()
        config.set_main_option("script_location", migrate.directory)
        heads = set(ScriptDirectory.from_config(config).get_heads())
        current_app.extensions["casework_script_heads"] = heads
    return heads


def _check_database() -> dict[str, Any]:
    from alembic.runtime.migration import MigrationContext

    try:
        connection = db.session.connection()
        connection.execute(text("SELECT 1"))
        current = set(MigrationContext.configure(connection).get_current_heads())
    except Exception as exc:  # any failure to reach the database means: not ready
        return {"ok": False, "error": exc.__class__.__name__}
    finally:
        db.session.rollback()  # read only; also resets a session whose connection failed
    expected = _script_heads()
    if current != expected:
        return {"ok": False, "error": "migrations pending", "current": sorted(current), "expected": sorted(expected)}
    return {"ok": True}


def _check_redis(url: str) -> dict[str, Any]:
    from redis import Redis, RedisError

    try:
        Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except (RedisError, OSError) as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True}


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready to serve: database, Redis, migrations, backlog; 503 names what is wrong."""
    checks: dict[str, dict[str, Any]] = {"database": _check_database()}
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        checks["redis"] = _check_redis(redis_url)
    if checks["database"]["ok"] and checks.get("redis", {"ok": True})["ok"]:
        limit = int(current_app.config.get("READY_MAX_BACKLOG", 10_000))
        try:
            backlog = read_backlog(db.session, redis_url)
        except Exception as exc:
            db.session.rollback()
            checks["backlog"] = {"ok": False, "error": exc.__class__.__name__}
        else:
            waiting = backlog.documents_queued + backlog.outbox_waiting + (backlog.jobs_queued or 0)
            checks["backlog"] = {"ok": waiting <= limit, "waiting": waiting, "limit": limit}
    ok = all(check["ok"] for check in checks.values())
    if not ok:
        log.warning("Not ready: %s", {name: c for name, c in checks.items() if not c["ok"]})
    return jsonify(status="ok" if ok else "unavailable", checks=checks), 200 if ok else 503


def _may_read_metrics() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    return request.remote_addr in LOOPBACK and "X-Forwarded-For" not in request.headers


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format: request, domain and job counters of every process, and the backlogs."""
    if not _may_read_metrics():
        return Response("Set METRICS_TOKEN to read the metrics from elsewhere than this machine.\n",
                        status=403, mimetype="text/plain")
    backlog = read_backlog(db.session, current_app.config.get("REDIS_URL"))
    db.session.commit()
    return Response(exposition(backlog), mimetype="text/plain; version=0.0.4; charset=utf-8")
