"""One-time tokens of rendered page forms, so a repeated post files nothing twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base


class FormToken(Base):
    """A wizard's token, claimed by the post that files it; holds what that post filed."""

    __tablename__ = "form_tokens"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime]
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
