"""SLA deadlines: one row per target a case has to meet, so a sweep can find what is due with an index.

The life of a row is in cases/sla.py. In short: `status` is running (due_at set), paused (due_at NULL,
remaining_seconds set), met, cancelled or breached; `ended_at` is set once the deadline stops mattering
(met, cancelled, or its state left / its case closed after a breach). `warn_at` is the pending warning
and is cleared once the warning fired (`warned_at`), so the sweep's index only ever holds work to do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base

SLA_STATUSES = ("running", "paused", "met", "breached", "cancelled")


class Deadline(Base):
    __tablename__ = "sla_deadlines"
    __table_args__ = (
        CheckConstraint("kind IN ('response', 'resolution')", name="kind_known"),
        CheckConstraint("status IN ('running', 'paused', 'met', 'breached', 'cancelled')", name="status_known"),
        Index("ix_sla_deadlines_case_id", "case_id"),
        # The sweep's two questions: which running deadlines are due, which owe a warning.
        Index("ix_sla_deadlines_status_due", "status", "due_at"),
        Index("ix_sla_deadlines_status_warn", "status", "warn_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(16))
    # The state whose target this is (the target itself lives in the case's pinned case-type version).
    state: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="running")
    # Copied from the target so a paused deadline resumes without reading the case type again.
    target_seconds: Mapped[int] = mapped_column(Integer)
    business_hours: Mapped[bool] = mapped_column(Boolean, default=True)
    due_at: Mapped[datetime | None]
    warn_at: Mapped[datetime | None]
    # While paused: the (business) seconds that were left when the clock stopped.
    remaining_seconds: Mapped[int | None] = mapped_column(Integer)
    paused_at: Mapped[datetime | None]
    warned_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    # Failed attempts of the sweep's hook for the pending firing, and the last error (kept for admins).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    @property
    def is_open(self) -> bool:
        """Still owed: running, paused, or breached while its case is still in the state that owes it."""
        return self.ended_at is None
