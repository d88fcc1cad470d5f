"""Request ids and structured logs: one JSON line per request, and the same id in audit events and jobs.

Every request gets an id (the reverse proxy's `X-Request-ID` when it sends a sane one, else a new
one), answered in the `X-Request-ID` header, set as the ambient id of cases.context (so audit events
written by the request record it, and jobs it enqueues run under it), and printed on every log line.
With `LOG_FORMAT = "json"` (the default outside debug and tests) each log record is one JSON object.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request

from cases.context import request_id, set_request_id

access_log = logging.getLogger("casework.access")
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
# Fields a record may carry (through `extra=`) that the JSON line prints as they are.
_FIELDS = ("method", "path", "route", "status", "duration_ms", "remote_addr", "user_id", "queue_ms", "job")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request_id and any known extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id()
        if rid:
            doc["request_id"] = rid
        for name in _FIELDS:
            if hasattr(record, name):
                doc[name] = getattr(record, name)
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


def configure_logging(app: Flask) -> None:
    """JSON (default) or plain text lines on standard error, once per process; tests keep pytest's."""
    if app.debug or app.testing:
        return
    root = logging.getLogger()
    if getattr(root, "_casework_configured", False):
        return
    handler = logging.StreamHandler()
    if str(app.config.get("LOG_FORMAT", "json")).lower() == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers[:] = [handler]
    root.setLevel(str(app.config.get("LOG_LEVEL", "INFO")).upper())
    root._casework_configured = True  # type: ignore[attr-defined]


def new_request_id() -> str:
    return uuid.uuid4().hex


def _start_request() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SANE_ID.match(incoming) else new_request_id()
    g.request_started = time.perf_counter()
    set_request_id(g.request_id)


def route_label() -> str:
    """The URL rule (`/api/v1/cases/<int:case_id>`), never the raw path: bounded label values."""
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


def _finish_request(response: Response) -> Response:
    rid = g.get("request_id")
    if rid:
        response.headers[REQUEST_ID_HEADER] = rid
    started = g.get("request_started")
    elapsed = time.perf_counter() - started if started is not None else 0.0
    route = route_label()
    from app.metrics import observe_request

    observe_request(request.method, route, response.status_code, elapsed)
    user = g.get("user")
    access_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
        "method": request.method, "path": request.path, "route": route, "status": response.status_code,
        "duration_ms": round(elapsed * 1000, 2), "remote_addr": request.remote_addr,
        "user_id": getattr(user, "id", None), "request_id": rid,
    })
    return response


def _end_request(_exc: BaseException | None) -> None:
    set_request_id(None)


def init_observability(app: Flask) -> None:
    """Request ids first of all hooks (so even the user lookup logs under them), access log last."""
    configure_logging(app)
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    app.after_request(_finish_request)
    app.teardown_request(_end_request)
