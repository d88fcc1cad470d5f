"""Links between cases, stored both ways so each case page lists its links with one query: a child case
started from its parent (the parent's row says `child`, the child's `parent`), or a link an agent made
between existing cases (`related` both ways; `duplicate_of` / `duplicated_by`; `caused_by` / `causes`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.models.base import Base
from cases.models.cases import Case

LINK_KINDS = ("child", "parent", "related", "duplicate_of", "duplicated_by", "caused_by", "causes")


class CaseLink(Base):
    __tablename__ = "case_links"
    __table_args__ = (
        CheckConstraint("kind IN ('child', 'parent', 'related', 'duplicate_of', 'duplicated_by', 'caused_by', "
                        "'causes')", name="kind_known"),
        UniqueConstraint("case_id", "other_id", "kind", name="uq_case_links_case_other_kind"),
        Index("ix_case_links_other_id", "other_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    other_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(20))
    # The catalogue entry that started the child (on both rows of a parent/child pair).
    item_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]

    other: Mapped[Case] = relationship(foreign_keys=[other_id], lazy="joined")
