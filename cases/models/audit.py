"""The append-only, hash-chained audit log.

Each stream (a case, a form definition, a case type...) is its own chain: events carry a per-stream
sequence number and hash = sha256(prev_hash + canonical JSON of the event). Database triggers refuse
UPDATE and DELETE on the events; the head row of each stream is the lock point that serialises appends.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base

GENESIS_HASH = "0" * 64


class AuditStream(Base):
    """The head of one chain: last sequence number and hash (also detects cut-off tails)."""

    __tablename__ = "audit_streams"

    stream: Mapped[str] = mapped_column(String(120), primary_key=True)
    head_seq: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("stream", "seq", name="uq_audit_events_stream_seq"),
        Index("ix_audit_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(String(120))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    # Users are deactivated, never deleted, so this reference never needs to change.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The request or job that wrote it (outside the hash: context for logs, not part of the record).
    request_id: Mapped[str | None] = mapped_column(String(64))
