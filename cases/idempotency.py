"""Idempotency keys: a retried request is answered from the first one's stored outcome, never run twice.

`reserve` inserts (user, key) in its own short transaction; the unique index decides which of several
concurrent requests runs (on PostgreSQL the others wait on the index until it commits, on SQLite the
write lock serialises them), so there is no check-then-insert race. The runner stores its status and
body with `complete`; the others read them back (`find`).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cases.clock import Clock, utcnow
from cases.models import IdempotencyKey, User
from cases.uow import transaction

KEEP_FOR = timedelta(hours=24)
MAX_KEY = 255


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and body bytes."""
    return hashlib.sha256(b"\0".join([method.upper().encode(), path.encode(), body])).hexdigest()


def reserve(session: Session, user: User, key: str, fingerprint: str, *, clock: Clock = utcnow) -> int | None:
    """Claim `key` for this request; its row id, or None when the key is taken (by an earlier request)."""
    try:
        with transaction(session):
            row = IdempotencyKey(user_id=user.id, key=key, fingerprint=fingerprint, created_at=clock())
            session.add(row)
        return row.id
    except IntegrityError:
        return None


def find(session: Session, user: User, key: str) -> IdempotencyKey | None:
    """The stored row as committed now (a fresh read, never the identity map's copy)."""
    return session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == user.id, IdempotencyKey.key == key)
                          .execution_options(populate_existing=True))


def complete(session: Session, row_id: int, status: int, response: str, *, clock: Clock = utcnow) -> None:
    with transaction(session):
        row = session.get(IdempotencyKey, row_id)
        if row is not None:
            row.status_code, row.response, row.completed_at = status, response, clock()


def forget(session: Session, row_id: int) -> None:
    """Drop a reservation whose request failed unexpectedly, so a retry may run it."""
    with transaction(session):
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row_id))


def expire(session: Session, *, clock: Clock = utcnow) -> int:
    """Remove keys older than KEEP_FOR (a retry after that runs again); returns how many."""
    with transaction(session):
        result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < clock() - KEEP_FOR))
    return int(getattr(result, "rowcount", 0) or 0)
