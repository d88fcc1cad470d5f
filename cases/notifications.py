"""Notifications as outbox rows, written with the change that causes them (the transactional outbox).

Delivery (SMTP when configured) is the web layer's background job; without SMTP the outbox is what
admins read. A notification therefore never gets lost because a mail server was down, and never goes
out for a change that was rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.clock import Clock, utcnow
from cases.models import Case, OutboxMessage

MAX_ATTEMPTS = 5
# Messages whose text is a credential (a one-time link that logs its reader in): only the addressee may
# read them, so the admins' outbox shows that they exist and whether they went out, never their text.
CREDENTIAL_REASONS = frozenset({"account.registration_confirm"})
WITHHELD_TEXT = ("This message carries a one-time confirmation link for its addressee. It is not shown here, "
               "because whoever opens it is logged in as the person registering.")


def queue_message(session: Session, *, to: str, subject: str, body: str, reason: str, case: Case | None = None,
                  clock: Clock = utcnow) -> OutboxMessage | None:
    """Add a message to the outbox in the current transaction (nothing when there is no address)."""
    if not to:
        return None
    message = OutboxMessage(to=to, subject=subject[:300], body=body, reason=reason,
                            case_id=case.id if case is not None else None, created_at=clock())
    session.add(message)
    return message


def pending(session: Session, limit: int = 100) -> Sequence[OutboxMessage]:
    stmt = (select(OutboxMessage).where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None),
                   OutboxMessage.attempts < MAX_ATTEMPTS)
            .order_by(OutboxMessage.id).limit(limit))
    return session.scalars(stmt).all()


def recent(session: Session, limit: int = 200) -> Sequence[OutboxMessage]:
    return session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)).all()


def body_for_admins(message: OutboxMessage) -> str:
    """What the admins' outbox may show of a message: its text, unless that text is a credential."""
    return WITHHELD_TEXT if message.reason in CREDENTIAL_REASONS else message.body
