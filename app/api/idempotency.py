"""`Idempotency-Key` on API POSTs: the first request runs, retries get its status and body again.

A key is per user; reusing it with another request (method, path or body differ) is refused with 422.
A retry that arrives while the first request still runs waits for its outcome (up to
IDEMPOTENCY_WAIT_S seconds, then 409). Keys are kept 24 hours. A request that failed with a server
error keeps no key, so it can be retried; one that never finished (the process died) answers 409 and
is never run again under that key, because it may have filed already.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from flask import Response, current_app, make_response, request
from flask.typing import ResponseReturnValue

from app.api.base import api_user
from app.api.openapi import mark_idempotent
from app.errors import json_error
from app.extensions import db
from cases import idempotency
from cases.clock import utcnow

HEADER = "Idempotency-Key"
STUCK_AFTER = timedelta(minutes=10)


def _stored(response: Response) -> str:
    headers = {k: v for k, v in response.headers.items() if k in ("Location", "ETag")}
    return json.dumps({"body": response.get_data(as_text=True), "mimetype": response.mimetype, "headers": headers})


def _replay(status: int, stored: str) -> Response:
    saved = json.loads(stored)
    response = Response(saved["body"], status=status, mimetype=saved["mimetype"])
    for name, value in saved["headers"].items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _run(view: Callable[..., ResponseReturnValue], row_id: int, args: Any, kwargs: Any) -> Response:
    try:
        try:
            response = make_response(view(*args, **kwargs))
        except Exception as exc:  # domain errors become their usual answers, and are stored like successes
            response = make_response(current_app.handle_user_exception(exc))
    except Exception:
        db.session.rollback()
        idempotency.forget(db.session, row_id)
        raise
    if response.status_code >= 500:
        idempotency.forget(db.session, row_id)
    else:
        idempotency.complete(db.session, row_id, response.status_code, _stored(response))
    return response


def idempotent(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Honour an Idempotency-Key header on this POST (requests without one run as usual)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        key = key.strip()
        if not key or len(key) > idempotency.MAX_KEY or not key.isprintable():
            return json_error(400, f"{HEADER} must be 1 to {idempotency.MAX_KEY} printable characters.",
                              fields={HEADER: ["Use a unique value per operation, e.g. a UUID."]})
        user = api_user()
        fingerprint = idempotency.fingerprint(request.method, request.path, request.get_data())
        deadline = time.monotonic() + float(current_app.config.get("IDEMPOTENCY_WAIT_S", 30))
        reserve = True
        while True:
            if reserve:
                row_id = idempotency.reserve(db.session, user, key, fingerprint)
                if row_id is not None:
                    return _run(view, row_id, args, kwargs)
            # Waiting is reading only: no write lock is held or queued for while the first request runs.
            found = idempotency.find(db.session, user, key)
            row = None if found is None else SimpleNamespace(
                fingerprint=found.fingerprint, status_code=found.status_code, response=found.response,
                created_at=found.created_at)
            # End the read (so the next look sees new commits) and give the connection back while we wait;
            # the values were copied, since touching the expired row would open a transaction again.
            db.session.rollback()
            reserve = row is None
            if row is None:
                continue  # forgotten meanwhile (the first request failed): try to run it ourselves
            if row.fingerprint != fingerprint:
                return json_error(422, f"This {HEADER} was used for a different request.",
                                  code="idempotency_key_reused",
                                  fields={HEADER: ["Use a new key for a new request."]})
            if row.status_code is not None and row.response is not None:
                return _replay(row.status_code, row.response)
            if utcnow() - row.created_at > STUCK_AFTER:
                return json_error(409, f"The request with this {HEADER} did not finish; check whether it took effect "
                                       "before you retry with a new key.", code="idempotency_unfinished")
            if time.monotonic() > deadline:
                return json_error(409, f"A request with this {HEADER} is still running; retry in a moment.",
                                  code="idempotency_in_progress")
            time.sleep(0.05)

    mark_idempotent(wrapper)
    return wrapper
