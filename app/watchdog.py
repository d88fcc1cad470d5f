"""The watchdog: work a dead process left behind goes back to the queue, with no human action.

A process can die at any moment (kill -9, out of memory, a node lost): a document it was rendering
stays `rendering`, the jobs waiting in its in-process pool are gone, and an RQ job whose worker died
stays "started" until RQ notices. One periodic job, `watchdog` (every WATCHDOG_INTERVAL_S, run where
the SLA sweep runs: in `casework serve` without Redis, by the workers with it), does two things:

- with Redis, it runs RQ's own clean-up of abandoned jobs, which re-queues those with retries left
  (every job queued through `app.jobs.enqueue_once` carries RQ retries), for every job kind at once;
- it calls every registered recoverer (`@recoverer("documents")` in app.documents.queue): each finds its
  kind's work that is stuck past JOB_STUCK_AFTER_S and queues it again through `enqueue_once`, which
  skips what is still waiting. Another job kind adds one function here, nothing else.

Recoverers lock the rows they change with SKIP LOCKED, so several watchdogs (several workers, several
nodes) are as safe as one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from flask import Flask, current_app

from app.extensions import db
from app.jobs import WORKER_QUEUES, Periodic, job
from cases.clock import utcnow

log = logging.getLogger(__name__)
Recoverer = Callable[[Flask, datetime], int]
RECOVERERS: dict[str, Recoverer] = {}


def recoverer(kind: str) -> Callable[[Recoverer], Recoverer]:
    """Register `fn(app, now) -> count` as the watchdog's recovery of one kind of job."""
    def register(fn: Recoverer) -> Recoverer:
        RECOVERERS[kind] = fn
        return fn
    return register


def run_watchdog(app: Flask, now: datetime | None = None) -> dict[str, int]:
    """One round (inside an app context): RQ's abandoned jobs, then every recoverer; what each recovered."""
    now = now or utcnow()
    found: dict[str, int] = {}
    if app.config.get("REDIS_URL"):
        found["rq"] = clean_abandoned_rq_jobs(app, now)
    for kind, recover in RECOVERERS.items():
        try:
            found[kind] = recover(app, now)
        except Exception:  # one kind failing must not keep the others from being recovered
            log.exception("Watchdog: recovering %s failed", kind)
            db.session.rollback()
            found[kind] = 0
    return found


def clean_abandoned_rq_jobs(app: Flask, now: datetime) -> int:
    """RQ's clean-up of jobs whose worker stopped sending heartbeats: retried if they have retries left."""
    from redis import Redis
    from rq import Queue
    from rq.registry import StartedJobRegistry

    connection = Redis.from_url(app.config["REDIS_URL"])
    found = 0
    for name in WORKER_QUEUES:
        registry = StartedJobRegistry(queue=Queue(name, connection=connection))
        expired = registry.get_expired_job_ids(now.timestamp())
        if expired:
            log.warning("Watchdog: %s RQ jobs lost their worker: %s", len(expired), ", ".join(expired[:10]))
            registry.cleanup(now.timestamp())
        found += len(expired)
    return found


@job("watchdog")
def watchdog() -> int:
    """The periodic round; returns how many things it recovered."""
    found = run_watchdog(current_app._get_current_object())  # type: ignore[attr-defined]
    return sum(found.values())


def start_watchdog(app: Flask, interval: float | None = None) -> Periodic | None:
    """The watchdog every `interval` (WATCHDOG_INTERVAL_S) seconds; None when set to 0."""
    seconds = float(app.config["WATCHDOG_INTERVAL_S"] if interval is None else interval)
    if seconds <= 0:
        return None
    return Periodic(app, "watchdog", interval=seconds).start()
