"""Delivering the outbox: claim one message at a time, record the outcome, back off, give up visibly.

Any number of senders (server threads, workers on several machines) may run at once. A sender claims a
message in a short transaction that locks its row (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite
the BEGIN IMMEDIATE transaction of cases.uow is exclusive) and leases it until `claimed_until`, so no
other sender takes it meanwhile; the lock is not held while talking to the mail server. A sender that
dies mid-send leaves a lease that runs out, and the message is taken again. A failure is retried after
an exponential backoff; after MAX_ATTEMPTS the message is marked failed for admins to see and retry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from case_types.errors import Conflict, NotFound
from cases.clock import Clock, utcnow
from cases.models import OutboxMessage
from cases.notifications import MAX_ATTEMPTS
from cases.uow import transaction

LEASE = timedelta(minutes=5)
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_LONGEST = timedelta(hours=1)

Send = Callable[[OutboxMessage], None]


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure: 1, 2, 4, 8... minutes, at most an hour."""
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_LONGEST)


def _deliverable(now: datetime) -> list[ColumnElement[bool]]:
    return [
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.failed_at.is_(None),
        OutboxMessage.attempts < MAX_ATTEMPTS,
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    ]


def claim_next(session: Session, *, clock: Clock = utcnow, lease: timedelta = LEASE) -> OutboxMessage | None:
    """Lease the oldest deliverable message to this sender, or None when nothing is due."""
    with transaction(session):
        now = clock()
        stmt = (select(OutboxMessage).where(*_deliverable(now)).order_by(OutboxMessage.id).limit(1)
                .with_for_update(skip_locked=True))
        message = session.scalars(stmt).first()
        if message is None:
            return None
        message.claimed_until = now + lease
    return message


def record_sent(session: Session, message_id: int, *, clock: Clock = utcnow) -> None:
    with transaction(session):
        message = session.get(OutboxMessage, message_id, with_for_update=True)
        if message is None:
            return
        message.attempts += 1
        message.sent_at, message.claimed_until, message.last_error = clock(), None, ""


def record_failure(session: Session, message_id: int, error: str, *, clock: Clock = utcnow) -> OutboxMessage | None:
    """Count a failed attempt: try again after the backoff, or give up after MAX_ATTEMPTS."""
    with transaction(session):
        message = session.get(OutboxMessage, message_id, with_for_update=True)
        if message is None:
            return None
        now = clock()
        message.attempts += 1
        message.last_error, message.claimed_until = error[:1000], None
        if message.attempts >= MAX_ATTEMPTS:
            message.failed_at = now
        else:
            message.next_attempt_at = now + backoff(message.attempts)
    return message


def deliver(session: Session, send: Send, *, clock: Clock = utcnow, limit: int = 100,
            errors: tuple[type[BaseException], ...] = (OSError,)) -> tuple[int, int]:
    """Claim and send up to `limit` messages one by one; returns (sent, failed)."""
    sent = failed = 0
    for _ in range(limit):
        message = claim_next(session, clock=clock)
        if message is None:
            break
        message_id = message.id
        try:
            send(message)
        except errors as exc:
            record_failure(session, message_id, f"{exc.__class__.__name__}: {exc}", clock=clock)
            failed += 1
        else:
            record_sent(session, message_id, clock=clock)
            sent += 1
    return sent, failed


def retry(session: Session, message_id: int) -> OutboxMessage:
    """An admin's retry of a message that failed for good: it is tried again from the start."""
    with transaction(session):
        message = session.get(OutboxMessage, message_id, with_for_update=True)
        if message is None:
            raise NotFound("There is no such message in the outbox.")
        if message.sent_at is not None:
            raise Conflict("This message has already been sent.")
        message.failed_at = message.next_attempt_at = message.claimed_until = None
        message.attempts, message.last_error = 0, ""
    return message


@dataclass(frozen=True)
class Backlog:
    waiting: int  # not sent and not given up
    failed: int  # given up after MAX_ATTEMPTS, waiting for an admin
    oldest: datetime | None  # created_at of the oldest waiting message


def backlog(session: Session) -> Backlog:
    waiting_filter = (OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
    waiting = session.scalar(select(func.count()).select_from(OutboxMessage).where(*waiting_filter)) or 0
    oldest = session.scalar(select(OutboxMessage.created_at).where(*waiting_filter)
                            .order_by(OutboxMessage.created_at).limit(1))
    failed = session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_not(None))) or 0
    return Backlog(waiting=int(waiting), failed=int(failed), oldest=oldest)
