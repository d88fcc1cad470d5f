"""Webhooks: admins' subscriptions, the deliveries written with the events they announce, and the
attempts made to deliver them (the delivery log).

A delivery row is written in the same transaction as the audit event it announces (the transactional
outbox): a change that rolls back announces nothing, and a committed one is delivered however often the
sending side crashes, because a worker's claim on a row expires (`claimed_until`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.models.accounts import User
from cases.models.base import Base
from cases.models.definitions import Definition

DELIVERY_STATUSES = ("pending", "delivered", "failed")


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    # None: every case type.
    case_type_id: Mapped[int | None] = mapped_column(ForeignKey("definitions.id"))
    # JSON list of event kinds (cases.webhooks.EVENT_KINDS).
    event_kinds: Mapped[str] = mapped_column(Text, default="[]")
    # Standard Webhooks secret ("whsec_" + base64); shown to the admin once, kept to sign deliveries.
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str] = mapped_column(Text, default="")
    # Failed attempts in a row (reset by a success); too many disable the subscription.
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case_type: Mapped[Definition | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class WebhookDelivery(Base):
    """One event for one subscription; its `message_id` is the `webhook-id` of every attempt."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_known"),
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_kind: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # The exact JSON body sent on every attempt (a snapshot taken when the event happened).
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    # Retries stop after this (a day after the event, or after a manual redelivery).
    give_up_at: Mapped[datetime]
    # A worker's claim; a crashed worker's claim expires and the next sweep takes the row over.
    claimed_until: Mapped[datetime | None]
    claim_token: Mapped[str] = mapped_column(String(32), default="")
    delivered_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str] = mapped_column(Text, default="")

    subscription: Mapped[WebhookSubscription] = relationship()


class WebhookAttempt(Base):
    """One try at delivering: when, the receiver's status code (or the error), how long it took."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"))
    at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
