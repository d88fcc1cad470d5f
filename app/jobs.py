"""Background jobs behind one small interface: `enqueue(app, name, *args)`.

With REDIS_URL set, jobs go to Redis and run in `casework worker` processes (RQ); without it they run
in a small thread pool of the server process (the embedded default). Jobs are registered by name, and
always run inside an application context with their own database session.

Periodic jobs (the SLA sweep, every minute) run from a `Periodic` daemon thread: started by
`casework serve` in the embedded default, where the thread runs the job itself, and by every
`casework worker`, where the thread only puts the job on the Redis queue (unless one is still waiting)
and the worker runs it like any other job. The worker's own process never touches the database, so
the connections of the jobs it forks are never shared with a thread. Several workers on several
machines each enqueue sweeps; that is safe because a sweep fires each deadline exactly once.

Work written by a transaction (queued documents, outbox mail, webhook deliveries) is handed to its job
by one after-commit dispatcher: each job kind registers the rows it watches with `after_commit`, and
the dispatcher kicks it once the outer transaction has committed (never on a released savepoint).
"""

from __future__ import annotations

import logging
import os
import smtplib
import threading
import uuid
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db
from app.mail import smtp_send
from app.uploads import document_store, file_store
from cases import change_requests, outbox, sla_sweep, task_deadlines, uploads
from cases.clock import utcnow
from cases.context import request_context, request_id
from cases.database import checkpoint
from cases.models import OutboxMessage
from cases.privacy import retention

log = logging.getLogger(__name__)
QUEUE_NAME = "casework"
# Short jobs (e-mail, sweeps, the watchdog) go to a queue of their own that workers always take first:
# on one FIFO queue they waited behind every PDF render queued before them (minutes, in the load run).
URGENT_QUEUE = "casework-urgent"
WORKER_QUEUES = (URGENT_QUEUE, QUEUE_NAME)
SLA_SWEEP_INTERVAL = 60.0
OUTBOX_INTERVAL = 60.0
RETENTION_SWEEP_INTERVAL = 24 * 3600.0
JOBS: dict[str, Callable[..., Any]] = {}
#: job name -> the in-process pool it runs in ("default" unless registered otherwise)
POOLS: dict[str, str] = {}
#: RQ retries a failed or abandoned job (its worker died) this often, after these many seconds.
RETRY_INTERVALS = [10, 30, 90]


def job(name: str, *, pool: str = "default") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a job function under `name` (it runs inside an app context, in the named in-process pool)."""
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        JOBS[name] = fn
        POOLS[name] = pool
        return fn
    return register


def enqueue(app: Flask, name: str, *args: Any) -> None:
    """Run job `name` in the background: on Redis when configured, else in this process's pool."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}")
    if app.config.get("REDIS_URL"):
        from redis import Redis
        from rq import Queue

        queue = Queue(QUEUE_NAME, connection=Redis.from_url(app.config["REDIS_URL"]))
        queue.enqueue(run_job, name, *args, job_timeout=600, meta={"request_id": request_id()})
        return
    _pool_for(app, name).submit(_run_in_app, app, name, args, request_id())


def enqueue_once(app: Flask, name: str, key: str, *args: Any, timeout_s: int = 600) -> bool:
    """Run job `name` unless the job known as `key` is still waiting or running; True if queued now.

    The one way to queue work that must not pile up and must survive a dead worker: on Redis the job
    id is `casework-<key>` and RQ retries it (RETRY_INTERVALS) when it fails or its worker dies; in this
    process a set of waiting keys keeps duplicates out. The watchdog re-queues through here too.
    """
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}")
    if app.config.get("REDIS_URL"):
        from redis import Redis
        from rq import Queue, Retry

        connection = Redis.from_url(app.config["REDIS_URL"])
        job_id = f"casework-{key}"
        if _rq_waiting(connection, job_id):
            return False
        Queue(QUEUE_NAME, connection=connection).enqueue(
            run_job, name, *args, job_id=job_id, job_timeout=timeout_s, failure_ttl=7 * 24 * 3600,
            meta={"request_id": request_id()},
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS))
        return True
    waiting: _Waiting = app.extensions["casework_waiting"]
    if not waiting.add(key):
        return False
    try:
        _pool_for(app, name).submit(_run_once, app, name, key, args, request_id())
    except BaseException:
        waiting.discard(key)
        raise
    return True


def _run_once(app: Flask, name: str, key: str, args: tuple[Any, ...], started_by: str | None = None) -> Any:
    try:
        return _run_in_app(app, name, args, started_by)
    finally:
        app.extensions["casework_waiting"].discard(key)


def _rq_waiting(connection: Any, job_id: str) -> bool:
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    try:
        status = Job.fetch(job_id, connection=connection).get_status()
    except NoSuchJobError:
        return False
    return status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


class _Waiting:
    """Keys of the jobs waiting or running in this process's pools."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: set[str] = set()

    def add(self, key: str) -> bool:
        with self._lock:
            if key in self._keys:
                return False
            self._keys.add(key)
            return True

    def discard(self, key: str) -> None:
        with self._lock:
            self._keys.discard(key)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._keys


def _pool_for(app: Flask, name: str) -> ThreadPoolExecutor:
    pools: dict[str, ThreadPoolExecutor] = app.extensions["casework_pools"]
    return pools.get(POOLS.get(name, "default")) or pools["default"]


def pool_size(app: Flask, pool: str) -> int:
    """Threads of an in-process pool: DOCUMENT_WORKERS (default: one per core) for renders, 2 otherwise."""
    if pool == "documents":
        configured = app.config.get("DOCUMENT_WORKERS")
        return max(1, int(configured)) if configured else max(1, os.cpu_count() or 1)
    return 2


def shutdown_pools(app: Flask, wait: bool = True) -> None:
    """Stop this app's in-process pools (tests, and a clean shutdown)."""
    for pool in app.extensions["casework_pools"].values():
        pool.shutdown(wait=wait)


def _run_in_app(app: Flask, name: str, args: tuple[Any, ...], started_by: str | None = None) -> Any:
    # A job logs and audits under the id of the request that started it (or its own, for periodic ones).
    with app.app_context(), request_context(started_by or f"job-{uuid.uuid4().hex[:16]}"):
        try:
            return JOBS[name](*args)
        except Exception:
            log.exception("Background job %s failed", name)
            raise
        finally:
            db.session.remove()


_worker_app: Flask | None = None
_worker_lock = threading.Lock()


def run_job(name: str, *args: Any) -> Any:
    """The entry point RQ workers call (importable by name)."""
    if has_app_context():
        return JOBS[name](*args)
    global _worker_app
    with _worker_lock:
        if _worker_app is None:
            from app import create_app

            _worker_app = create_app()
    from rq import get_current_job

    current = get_current_job()
    return _run_in_app(_worker_app, name, args, current.meta.get("request_id") if current else None)


def init_jobs(app: Flask) -> None:
    """Thread pools for the embedded default, and delivery of the outbox after each commit that filled it."""
    default = ThreadPoolExecutor(max_workers=pool_size(app, "default"), thread_name_prefix="casework-job")
    app.extensions["casework_jobs"] = default
    app.extensions["casework_pools"] = {
        "default": default,
        "documents": ThreadPoolExecutor(max_workers=pool_size(app, "documents"), thread_name_prefix="casework-render"),
    }
    app.extensions["casework_waiting"] = _Waiting()
    app.extensions["casework_coalesced"] = _Waiting()
    after_commit("outbox", OutboxMessage, kick=_kick_outbox)
    with _hooks_lock:
        if not _hooks_installed.is_set():
            _install_session_hooks()
            _hooks_installed.set()


def _kick_outbox(app: Flask, _messages: set[Any]) -> None:
    if app.config.get("SMTP_URL"):
        enqueue_coalesced(app, "deliver_outbox")


def enqueue_coalesced(app: Flask, name: str) -> bool:
    """Run job `name` (no arguments) unless a run of it is queued and has not started yet: that run reads
    what this commit wrote, so a second one would find nothing. True if queued now.

    One delivery per commit piled up hundreds of `deliver_outbox` jobs under load, each a round trip to
    the database, ahead of the document renders on the same queue. A run that has started may have read
    before this commit, so then another is queued.
    """
    if app.config.get("REDIS_URL"):
        from redis import Redis
        from rq import Queue
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        connection = Redis.from_url(app.config["REDIS_URL"])
        marker = f"casework:coalesced:{name}"
        queued = connection.get(marker)
        if queued:
            job_id = queued.decode() if isinstance(queued, bytes) else str(queued)
            try:
                if Job.fetch(job_id, connection=connection).get_status() == JobStatus.QUEUED:
                    return False
            except NoSuchJobError:
                pass
        made = Queue(URGENT_QUEUE, connection=connection).enqueue(
            run_job, name, job_timeout=600, result_ttl=0, failure_ttl=24 * 3600, meta={"request_id": request_id()})
        connection.set(marker, made.id, ex=3600)
        return True
    waiting: _Waiting = app.extensions["casework_coalesced"]
    if not waiting.add(name):
        return False
    try:
        _pool_for(app, name).submit(_run_coalesced, app, name, request_id())
    except BaseException:
        waiting.discard(name)
        raise
    return True


def _run_coalesced(app: Flask, name: str, started_by: str | None) -> Any:
    app.extensions["casework_coalesced"].discard(name)  # from now on a commit needs a run of its own
    return _run_in_app(app, name, (), started_by)


# ---------------------------------------------------------------- after commit


@dataclass(frozen=True, slots=True)
class AfterCommit:
    """A job kind that starts when a commit wrote rows of `model`.

    pick: what a flushed row asks the job for (e.g. a document's id), None if nothing;
    changed_rows: whether changed rows count too, not only new ones (a document queued again);
    kick: queue the job for everything the committed transaction picked.
    """

    model: type
    pick: Callable[[Any], Hashable | None]
    kick: Callable[[Flask, set[Any]], None]
    changed_rows: bool


AFTER_COMMIT: dict[str, AfterCommit] = {}
_PICKED = "jobs_after_commit"
_HELD = "jobs_held"


def after_commit(kind: str, model: type, *, kick: Callable[[Flask, set[Any]], None],
                 pick: Callable[[Any], Hashable | None] = lambda _row: True, changed_rows: bool = False) -> None:
    """Register job kind `kind` with the one after-commit dispatcher (idempotent: the last one wins)."""
    AFTER_COMMIT[kind] = AfterCommit(model=model, pick=pick, kick=kick, changed_rows=changed_rows)


@contextmanager
def held(kind: str) -> Iterator[None]:
    """Work of `kind` committed inside is the caller's to run (e.g. the CLI renders inline): no kick."""
    kinds: set[str] = db.session.info.setdefault(_HELD, set())
    kinds.add(kind)
    try:
        yield
    finally:
        kinds.discard(kind)


_hooks_installed = threading.Event()
_hooks_lock = threading.Lock()


def _install_session_hooks() -> None:
    """Once per process: the session is shared by every app, so are its hooks."""

    @event.listens_for(db.session, "after_flush")
    def _pick(session: Session, _ctx: Any) -> None:
        picked: dict[str, set[Hashable]] = session.info.setdefault(_PICKED, {})
        for row, new in _flushed(session):
            for kind, spec in AFTER_COMMIT.items():
                if isinstance(row, spec.model) and (new or spec.changed_rows):
                    item = spec.pick(row)
                    if item is not None:
                        picked.setdefault(kind, set()).add(item)

    @event.listens_for(db.session, "after_commit")
    def _dispatch(session: Session) -> None:
        if session.in_nested_transaction():
            # A savepoint released (the rules run in one): its rows are not visible to a job until the outer
            # commit. Kicking now let a render job find nothing on PostgreSQL and the rows stayed queued.
            return
        picked: dict[str, set[Hashable]] = session.info.pop(_PICKED, None) or {}
        if not picked or not has_app_context():
            return
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        held_kinds = session.info.get(_HELD, set())
        for kind, items in picked.items():
            if items and kind not in held_kinds and kind in AFTER_COMMIT:
                AFTER_COMMIT[kind].kick(app, items)

    @event.listens_for(db.session, "after_rollback")
    def _forget(session: Session) -> None:
        if not session.in_nested_transaction():  # a savepoint's rollback keeps what the outer one wrote
            session.info.pop(_PICKED, None)


def _flushed(session: Session) -> Iterator[tuple[Any, bool]]:
    """The rows the flush wrote, each with whether it is new (after_flush still sees the pre-flush sets)."""
    for row in session.new:
        yield row, True
    for row in session.dirty:
        yield row, False


# ---------------------------------------------------------------- periodic jobs


class Periodic:
    """Run job `name` now and then every `interval` seconds in a daemon thread, until `stop()`."""

    def __init__(self, app: Flask, name: str, *, interval: float) -> None:
        if name not in JOBS:
            raise KeyError(f"unknown job {name!r}")
        if interval <= 0:
            raise ValueError("the interval must be positive")
        self.app, self.name, self.interval = app, name, interval
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=f"casework-periodic-{name}", daemon=True)

    def start(self) -> Periodic:
        self.thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    def tick(self) -> None:
        """One round: enqueue on Redis when configured, else run the job in this thread."""
        if self.app.config.get("REDIS_URL"):
            enqueue_unless_waiting(self.app, self.name)
        else:
            _run_in_app(self.app, self.name, ())

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # logged (by _run_in_app for the job itself); the next round tries again
                log.exception("Periodic job %s failed", self.name)
            if self._stop.wait(self.interval):
                return


def enqueue_unless_waiting(app: Flask, name: str) -> bool:
    """Put periodic job `name` on the Redis queue unless it is still queued or running; True if queued.

    A fixed job id per name keeps slow workers from piling up sweeps that would find nothing to do.
    """
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(app.config["REDIS_URL"])
    job_id = f"casework-periodic-{name}"
    if _rq_waiting(connection, job_id):
        return False
    Queue(URGENT_QUEUE, connection=connection).enqueue(run_job, name, job_id=job_id, job_timeout=600,
                                                     result_ttl=0, failure_ttl=24 * 3600)
    return True


def start_sla_sweeper(app: Flask, interval: float = SLA_SWEEP_INTERVAL) -> Periodic:
    """The SLA sweep every `interval` seconds (see Periodic for where it runs)."""
    return Periodic(app, "sla_sweep", interval=interval).start()


def start_retention_sweeper(app: Flask, interval: float = RETENTION_SWEEP_INTERVAL) -> Periodic:
    """The retention sweep once a day (and at start-up), like the SLA sweep (see Periodic)."""
    return Periodic(app, "retention_sweep", interval=interval).start()


def start_outbox_sender(app: Flask, interval: float = OUTBOX_INTERVAL) -> Periodic | None:
    """Outbox delivery every `interval` seconds, so backed-off messages are retried on time (SMTP only)."""
    if not app.config.get("SMTP_URL"):
        return None
    return Periodic(app, "deliver_outbox", interval=interval).start()


# ---------------------------------------------------------------- jobs


@job("deliver_outbox")
def deliver_outbox() -> int:
    """Send what is due in the outbox (each message claimed by one sender; failures back off, see
    cases.outbox); also runs every minute, so a failed message is retried without a new commit."""
    url = current_app.config.get("SMTP_URL")
    if not url:
        return 0
    sender = current_app.config.get("MAIL_FROM") or "casework@localhost"
    sent, failed = outbox.deliver(db.session, lambda message: smtp_send(url, sender, message),
                                  errors=(OSError, smtplib.SMTPException))
    from app.metrics import OUTBOX_FAILED, OUTBOX_SENT

    OUTBOX_SENT.inc(sent)
    OUTBOX_FAILED.inc(failed)
    if failed:
        log.warning("Outbox: %s sent, %s failed (retried with backoff)", sent, failed)
    return sent


@job("sla_sweep")
def periodic_sweep() -> int:
    """The periodic sweep: fire the SLA warnings and breaches that are due (each exactly once, whoever else
    sweeps), escalate the started tasks past their due time (cases.task_deadlines), publish the approved
    changes scheduled for now (cases.change_requests), sign a checkpoint of the
    audit chains if anything changed since the last one, and remove uploads that nothing took within a day
    (cases.uploads)."""
    from app.checkpoints import checkpoint_if_changed

    fired = sla_sweep.sweep(db.session, clock=utcnow)
    if fired:
        log.info("SLA sweep fired %s warnings and breaches", fired)
    overdue = task_deadlines.sweep(db.session, clock=utcnow)
    if overdue:
        log.info("Escalated %s overdue tasks", overdue)
    published = change_requests.publish_due(db.session, clock=utcnow)
    if published:
        log.info("Published %s scheduled changes", published)
    checkpoint_if_changed()
    removed = uploads.sweep_orphans(db.session, file_store(current_app))
    if removed:
        log.info("Removed %s uploads that were never filed", removed)
    # SQLite's WAL only shrinks when a checkpoint finds no reader in the way: try once a minute.
    db.session.remove()
    checkpoint(db.engine)
    return fired


@job("retention_sweep")
def retention_sweep() -> int:
    """Anonymise, or strip of documents and files, the closed cases whose retention period has passed and
    that no legal hold covers (cases.privacy.retention); the preview page lists the same cases."""
    done = retention.sweep(db.session, stores=retention.Stores(files=file_store(current_app),
                                                               documents=document_store(current_app)),
                           clock=utcnow)
    if done:
        log.info("Retention sweep acted on %s cases", len(done))
    return len(done)
