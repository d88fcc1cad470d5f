"""Prometheus metrics (`/metrics`), safe with several processes.

Counters and histograms live in prometheus-client's own objects. Under `casework serve` and `casework
worker` the console script sets `PROMETHEUS_MULTIPROC_DIR` (default `instance/metrics`) before
anything imports prometheus-client, so every process (gunicorn workers, job workers on the same host)
writes its own files there and `/metrics` adds them up; `casework serve` empties the folder when it
starts. Backlogs (documents, outbox, the Redis job queue) are read from the database and Redis at
scrape time, so they are right whichever process answers.

Domain counters are taken from what a transaction committed: audit events (as cases.audit notes them) (`case.filed`,
`case.transitioned`, `case.rule_applied`, `case.rule_failed`, `sla.breached`, `sla.warning`) and
document outcomes, counted in the session's after-commit hook, so a rolled-back change counts nothing.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from app.extensions import db
from cases import audit
from cases.clock import utcnow
from cases.models import Document

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("casework_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram("casework_http_request_duration_seconds", "Time to answer a request", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
FILINGS = Counter("casework_filings", "Cases filed", ["case_type"])
TRANSITIONS = Counter("casework_transitions", "Transitions fired", ["transition"])
RULE_DECISIONS = Counter("casework_rule_decisions", "Rule decisions applied to cases")
RULE_FAILURES = Counter("casework_rule_failures", "Rules that failed (the case went to the fallback queue)")
SLA_BREACHES = Counter("casework_sla_breaches", "SLA deadlines breached", ["kind"])
SLA_WARNINGS = Counter("casework_sla_warnings", "SLA warnings fired", ["kind"])
RENDER_TIME = Histogram("casework_document_render_seconds", "Time from claiming a document to its outcome",
                        ["outcome"], buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120))
RENDER_FAILURES = Counter("casework_document_failures", "Document renders that failed")
OUTBOX_SENT = Counter("casework_outbox_sent", "E-mails sent from the outbox")
OUTBOX_FAILED = Counter("casework_outbox_failures", "Failed attempts to send an e-mail")
DB_BUSY = Counter("casework_database_busy", "Requests answered 503 because the database stayed locked")

_DOCS_KEY = "metrics_documents"
_render_started: dict[int, float] = {}
_render_lock = threading.Lock()


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def _count_event(kind: str, payload: str) -> None:
    if kind == "case.filed":
        FILINGS.labels(_payload(payload).get("case_type", "")).inc()
    elif kind == "case.transitioned":
        TRANSITIONS.labels(_payload(payload).get("transition", "")).inc()
    elif kind == "case.rule_applied":
        RULE_DECISIONS.inc()
    elif kind == "case.rule_failed":
        RULE_FAILURES.inc()
    elif kind == "sla.breached":
        SLA_BREACHES.labels(_payload(payload).get("kind", "")).inc()
    elif kind == "sla.warning":
        SLA_WARNINGS.labels(_payload(payload).get("kind", "")).inc()


def _payload(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


_COUNTED = {"case.filed", "case.transitioned", "case.rule_applied", "case.rule_failed", "sla.breached",
            "sla.warning"}


def install_session_hooks() -> None:
    """Once per process (the scoped session is shared by every app)."""
    with _render_lock:
        if getattr(install_session_hooks, "done", False):
            return
        install_session_hooks.done = True  # type: ignore[attr-defined]

    @event.listens_for(db.session, "after_flush")
    def _collect(session: Session, _ctx: Any) -> None:
        for obj in (*session.new, *session.dirty):
            if isinstance(obj, Document) and obj.id is not None:
                added = inspect(obj).attrs.status.history.added
                if added:
                    session.info.setdefault(_DOCS_KEY, []).append((obj.id, added[-1]))

    @event.listens_for(db.session, "after_commit")
    def _count(session: Session) -> None:
        for kind, payload in session.info.pop(audit.WRITTEN_KINDS, None) or []:
            if kind in _COUNTED:
                _count_event(kind, payload)
        now = time.perf_counter()
        for document_id, status in session.info.pop(_DOCS_KEY, []):
            with _render_lock:
                if status == "rendering":
                    _render_started[document_id] = now
                    continue
                started = _render_started.pop(document_id, None)
            if status in ("done", "failed") and started is not None:
                RENDER_TIME.labels(status).observe(now - started)
            if status == "failed":
                RENDER_FAILURES.inc()

    @event.listens_for(db.session, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop(audit.WRITTEN_KINDS, None)
        session.info.pop(_DOCS_KEY, None)


# ---------------------------------------------------------------- backlogs, read at scrape time


@dataclass(frozen=True)
class Backlog:
    documents_queued: int
    documents_rendering: int
    documents_oldest_queued: datetime | None
    outbox_waiting: int
    outbox_failed: int
    outbox_oldest: datetime | None
    jobs_queued: int | None  # the Redis queue, when there is one
    jobs_oldest: datetime | None


def read_backlog(session: Session, redis_url: str | None) -> Backlog:
    """What is waiting: documents, e-mails and (with Redis) jobs; used by /metrics and /readyz."""
    from cases import outbox

    counts: dict[str, int] = dict(session.execute(select(Document.status, func.count()).where(
        Document.status.in_(("queued", "rendering"))).group_by(Document.status)).all())
    oldest_doc = session.scalar(select(Document.created_at).where(Document.status == "queued")
                                .order_by(Document.created_at).limit(1))
    mail = outbox.backlog(session)
    jobs_queued: int | None = None
    jobs_oldest: datetime | None = None
    if redis_url:
        jobs_queued, jobs_oldest = _redis_queue(redis_url)
    return Backlog(int(counts.get("queued", 0)), int(counts.get("rendering", 0)), oldest_doc,
                   mail.waiting, mail.failed, mail.oldest, jobs_queued, jobs_oldest)


def _redis_queue(redis_url: str) -> tuple[int, datetime | None]:
    from redis import Redis
    from rq import Queue

    from app.jobs import WORKER_QUEUES

    connection = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    count, oldest = 0, None
    for name in WORKER_QUEUES:
        queue = Queue(name, connection=connection)
        count += queue.count
        ids = queue.get_job_ids(0, 0)
        job = queue.fetch_job(ids[0]) if ids else None
        if job is not None and job.enqueued_at is not None and (oldest is None or job.enqueued_at < oldest):
            oldest = job.enqueued_at
    return count, oldest


def _age(at: datetime | None) -> float:
    if at is None:
        return 0.0
    if at.tzinfo is None:  # RQ keeps naive UTC
        from datetime import UTC

        at = at.replace(tzinfo=UTC)
    return max((utcnow() - at).total_seconds(), 0.0)


class _BacklogCollector(Collector):
    def __init__(self, backlog: Backlog) -> None:
        self.backlog = backlog

    def collect(self) -> Iterator[GaugeMetricFamily]:
        b = self.backlog
        documents = GaugeMetricFamily("casework_documents", "Documents waiting or rendering", labels=["status"])
        documents.add_metric(["queued"], b.documents_queued)
        documents.add_metric(["rendering"], b.documents_rendering)
        yield documents
        yield GaugeMetricFamily("casework_documents_oldest_queued_age_seconds",
                                "Age of the oldest queued document", value=_age(b.documents_oldest_queued))
        mail = GaugeMetricFamily("casework_outbox_backlog", "E-mails not sent", labels=["status"])
        mail.add_metric(["waiting"], b.outbox_waiting)
        mail.add_metric(["failed"], b.outbox_failed)
        yield mail
        yield GaugeMetricFamily("casework_outbox_oldest_age_seconds", "Age of the oldest e-mail waiting",
                                value=_age(b.outbox_oldest))
        if b.jobs_queued is not None:
            yield GaugeMetricFamily("casework_job_queue_depth", "Jobs waiting in the Redis queue",
                                    value=b.jobs_queued)
            yield GaugeMetricFamily("casework_job_queue_oldest_age_seconds", "Age of the oldest waiting job",
                                    value=_age(b.jobs_oldest))


class _Everything(Collector):
    """The process-wide default registry (single-process mode)."""

    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


def exposition(backlog: Backlog) -> bytes:
    """The Prometheus text of every process's counters plus the current backlogs."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Everything())
    registry.register(_BacklogCollector(backlog))
    return generate_latest(registry)
