"""Signed checkpoints over every audit stream's head (see cases.checkpoints for the construction).

Both tables are append-only (database triggers, like the audit events): a checkpoint row holds the
signed tree head; a leaf row says "in this checkpoint, position `idx` holds stream `stream` at `seq`
with head `head`". Only the leaves that changed are stored with each checkpoint; the full tree of
checkpoint N is, per position, the newest leaf row of a checkpoint <= N.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base


class Checkpoint(Base):
    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_size: Mapped[int] = mapped_column(Integer)
    root_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    signature: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(String(64))
    # What the heads summed to when it was made: the periodic sweep skips a new one when nothing changed.
    events_total: Mapped[int] = mapped_column(Integer, default=0)


class CheckpointLeaf(Base):
    __tablename__ = "audit_checkpoint_leaves"
    __table_args__ = (Index("ix_audit_checkpoint_leaves_stream_seq", "stream", "seq"),)

    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("audit_checkpoints.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream: Mapped[str] = mapped_column(String(120))
    seq: Mapped[int] = mapped_column(Integer)
    head: Mapped[str] = mapped_column(String(64))
