"""Personal values kept outside the audit chain.

An audit payload never holds a personal value itself: it holds ``{"$personal": commitment}`` where
``commitment = sha256(salt || canonical JSON of the value)``. The value and its salt live here, in an
ordinary (mutable) table. Erasure clears both and records when: the commitment then reveals nothing, and
every hash over the payload stays what it was (see cases.privacy.values).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base


class PersonalValue(Base):
    __tablename__ = "personal_values"
    __table_args__ = (Index("ix_personal_values_case_id", "case_id"),
                      Index("ix_personal_values_user_id", "user_id"))

    commitment: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # The account the value describes when it is not a case's (an event's acting requester).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    path: Mapped[str] = mapped_column(String(200))
    value: Mapped[str | None] = mapped_column(Text)
    salt: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    erased_at: Mapped[datetime | None]
    erasure_reason: Mapped[str | None] = mapped_column(String(200))
