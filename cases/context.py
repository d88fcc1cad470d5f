"""The ambient context of the work in progress: which request (or job) a change belongs to.

The web layer sets the request id once per request and per background job; the audit trail records it
beside each event (outside the hash: it says where a change came from, not what it was), and the JSON
logs print it, so one id ties a request's log line, its audit events and the jobs it started together.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("casework_request_id", default=None)


def request_id() -> str | None:
    """The id of the request or job being served in this thread or task, if any."""
    return _request_id.get()


def set_request_id(value: str | None) -> None:
    _request_id.set(value)


@contextmanager
def request_context(value: str | None) -> Iterator[None]:
    """Run a block under `value` (e.g. a job started by a request carries that request's id)."""
    token = _request_id.set(value)
    try:
        yield
    finally:
        _request_id.reset(token)
