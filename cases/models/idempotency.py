"""Idempotency keys of API requests (one row per user and key)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base


class IdempotencyKey(Base):
    """A client's `Idempotency-Key` on a POST: the first request files, retries get its stored answer.

    The unique (user, key) constraint is what makes concurrent retries safe: exactly one insert wins.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        Index("uq_idempotency_keys_user_key", "user_id", "key", unique=True),
        Index("ix_idempotency_keys_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(255))
    # sha256 of method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    # None while the first request is still running.
    status_code: Mapped[int | None]
    response: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None]
