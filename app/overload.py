"""Under overload: answer "try again" instead of failing, and do not commit work nobody waits for.

- SQLite's bounded busy wait (`SQLITE_BUSY_TIMEOUT`) ending in "database is locked" answers 503 with
  `Retry-After`, not a 500: the request changed nothing and can simply be sent again.
- A request that waited in front of Casework longer than `REQUEST_QUEUE_TIMEOUT` seconds (measured
  from the reverse proxy's `X-Request-Start: t=<epoch seconds or ms or µs>` header) is answered 503
  without being worked on: its client has most likely given up and would retry.
- Under waitress (`casework serve`), a client that hung up while its request was being worked on is
  noticed at commit time: the transaction is rolled back instead of committed, so a timed-out client that
  retries does not file twice. (gunicorn's sync workers cannot tell; use `Idempotency-Key` there.)
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Flask, current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.extensions import db
from cases.database import is_busy

log = logging.getLogger(__name__)
RETRY_AFTER_S = 2


class ClientGone(Exception):
    """The client closed its connection before its change was committed."""


def _busy_response(message: str) -> Any:
    from app.errors import error_response
    from app.metrics import DB_BUSY

    DB_BUSY.inc()
    response = error_response(503, message, code="busy")
    if isinstance(response, tuple):
        body, status = response
        return body, status, {"Retry-After": str(RETRY_AFTER_S)}
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _database_error(exc: OperationalError) -> Any:
    db.session.rollback()
    if is_busy(exc):
        log.warning("Database busy on %s %s: answered 503", request.method, request.path)
        return _busy_response("The server is busy. Nothing was changed; try again in a moment.")
    from app.errors import _unexpected

    return _unexpected(exc)


def _client_gone(_exc: ClientGone) -> Any:
    db.session.rollback()
    log.info("Client went away before %s %s was committed: rolled back", request.method, request.path)
    return _busy_response("The request was abandoned by its client; nothing was changed.")


def queue_seconds(header: str, now: float) -> float | None:
    """How long ago the proxy received the request, from `t=1700000000.123` (s, ms or µs)."""
    value = header.strip().removeprefix("t=")
    try:
        started = float(value)
    except ValueError:
        return None
    for scale in (1e6, 1e3):  # µs, then ms: whichever puts it near now
        if started > now * scale / 10:
            started /= scale
            break
    return now - started


def _check_queue_time() -> Any:
    header = request.headers.get("X-Request-Start")
    limit = current_app.config.get("REQUEST_QUEUE_TIMEOUT")
    if not header or not limit:
        return None
    waited = queue_seconds(header, time.time())
    if waited is not None and waited > float(limit):
        log.warning("Request waited %.1f s before being worked on: answered 503", waited)
        return _busy_response("The server was too busy to answer in time; nothing was changed. Try again.")
    return None


def client_disconnected() -> bool:
    """True when waitress saw the client hang up (needs `channel_request_lookahead` > 0)."""
    if not has_request_context():
        return False
    probe = request.environ.get("waitress.client_disconnected")
    return bool(probe and probe())


_installed = threading.Event()
_install_lock = threading.Lock()


def _install_session_hook() -> None:
    @event.listens_for(db.session, "before_commit")
    def _refuse_abandoned(session: Session) -> None:
        if (session.new or session.dirty or session.deleted or session.info.get("ops_flushed")) \
                and client_disconnected():
            raise ClientGone()

    @event.listens_for(db.session, "after_flush")
    def _note_flush(session: Session, _ctx: Any) -> None:
        session.info["ops_flushed"] = True

    @event.listens_for(db.session, "after_commit")
    def _forget(session: Session) -> None:
        session.info.pop("ops_flushed", None)

    @event.listens_for(db.session, "after_rollback")
    def _forget_rollback(session: Session) -> None:
        session.info.pop("ops_flushed", None)


def init_overload(app: Flask) -> None:
    app.register_error_handler(OperationalError, _database_error)
    app.register_error_handler(ClientGone, _client_gone)
    # Right after the request id (app.observability), before anything reads the database.
    app.before_request_funcs.setdefault(None, []).insert(1, _check_queue_time)
    with _install_lock:
        if not _installed.is_set():
            _install_session_hook()
            _installed.set()
