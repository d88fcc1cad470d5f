"""What the retention sweep has done to each case: one row per case and action, so it acts exactly once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base


class RetentionAction(Base):
    """Written in the transaction that acts; a second sweep (or a racing one) finds the row and skips."""

    __tablename__ = "retention_actions"
    __table_args__ = (UniqueConstraint("case_id", "action", name="uq_retention_actions_case_action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    action: Mapped[str] = mapped_column(String(32))
    done_at: Mapped[datetime]
    # What was removed, as counts (JSON); never the values.
    details: Mapped[str] = mapped_column(Text, default="{}")
