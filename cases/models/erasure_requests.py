"""Erasure requests: who asked (by e-mail), who recorded it, and the completion record once processed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.models.accounts import User
from cases.models.base import Base


class ErasureRequest(Base):
    __tablename__ = "erasure_requests"
    __table_args__ = (Index("ix_erasure_requests_email", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The person's address until the erasure; afterwards only its SHA-256 (the record names no erased value).
    email: Mapped[str] = mapped_column(String(254))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime | None]
    # The completion record (JSON): what was erased, what was kept and why.
    record: Mapped[str | None] = mapped_column(Text)

    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id], lazy="joined")
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id], lazy="joined")

    @property
    def done(self) -> bool:
        return self.done_at is not None
