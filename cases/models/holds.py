"""Legal holds: while one is in force, the cases it covers are never erased, anonymised or deleted.

A hold names one case, or a search (case type, requester e-mail, state, filing period) that every case it
covers matches now and later: a dispute about "everything Jane Doe filed in 2025" also covers what is
filed or moves into that state after the hold was placed. Lifting keeps the row (who, when, why).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.models.accounts import User
from cases.models.base import Base
from cases.models.cases import Case
from cases.models.definitions import Definition


class LegalHold(Base):
    __tablename__ = "legal_holds"
    __table_args__ = (Index("ix_legal_holds_lifted_case", "lifted_at", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    # One case, or (case_id empty) every case matching all the criteria that are set.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    case_type_id: Mapped[int | None] = mapped_column(ForeignKey("definitions.id"))
    email: Mapped[str | None] = mapped_column(String(254))  # lower-cased
    state: Mapped[str | None] = mapped_column(String(64))
    filed_from: Mapped[datetime | None]  # inclusive
    filed_until: Mapped[datetime | None]  # exclusive
    placed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    placed_at: Mapped[datetime]
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lifted_at: Mapped[datetime | None]
    lift_reason: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case | None] = relationship(lazy="joined")
    case_type: Mapped[Definition | None] = relationship(lazy="joined")
    placed_by: Mapped[User] = relationship(foreign_keys=[placed_by_id], lazy="joined")
    lifted_by: Mapped[User | None] = relationship(foreign_keys=[lifted_by_id], lazy="joined")

    @property
    def stream(self) -> str:
        """The hold's audit stream (placed, lifted)."""
        return f"hold:{self.id}"

    @property
    def active(self) -> bool:
        return self.lifted_at is None
