"""Definitions admins design (forms, case types, document templates): an editable draft plus
immutable, numbered published versions. One mechanism for every kind; cases.kinds says how each
kind is validated, compared and started."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.models.accounts import User
from cases.models.base import Base


class Definition(Base):
    """The working copy. `draft` is JSON and may have problems while being edited; only a valid draft
    can be published."""

    __tablename__ = "definitions"
    __table_args__ = (UniqueConstraint("kind", "slug", name="uq_definitions_kind_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    slug: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    draft: Mapped[str] = mapped_column(Text)
    # Optimistic locking of the draft: a save names the revision it started from.
    draft_revision: Mapped[int] = mapped_column(Integer, default=1)
    draft_updated_at: Mapped[datetime]
    draft_updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # For kinds people file (forms, case types): requesters may file it; anonymous visitors too when public.
    open_for_requests: Mapped[bool] = mapped_column(Boolean, default=True)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    # Four-eyes review for this definition alone (the instance-wide setting may require it for all).
    review_required: Mapped[bool] = mapped_column(Boolean, default=False)

    # Loaded when asked for: lists of cases join their case type without pulling every version along.
    versions: Mapped[list[DefinitionVersion]] = relationship(
        back_populates="definition", order_by="DefinitionVersion.number"
    )
    # Only the designer's draft page names the last editor: loaded when asked for, not with every lookup.
    draft_updated_by: Mapped[User | None] = relationship(foreign_keys=[draft_updated_by_id])

    @property
    def latest_version(self) -> DefinitionVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def stream(self) -> str:
        """The audit stream of this definition's history."""
        return f"{self.kind}:{self.slug}"


class DefinitionVersion(Base):
    """A published version; database triggers refuse any UPDATE or DELETE of these rows."""

    __tablename__ = "definition_versions"
    __table_args__ = (UniqueConstraint("definition_id", "number", name="uq_definition_versions_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    number: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    change_note: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    definition: Mapped[Definition] = relationship(back_populates="versions")
    # Read by the version pages only; eager loading it (and the user's roles) cost every filing 6 queries.
    published_by: Mapped[User | None] = relationship()


#: pending -> approved -> published, or pending -> rejected; pending or approved -> withdrawn.
CHANGE_STATUSES = ("pending", "approved", "rejected", "withdrawn", "published")


class ChangeRequest(Base):
    """A draft submitted for review: the snapshot of the draft (and its revision) that a second admin
    approves or rejects, and that is published exactly as approved, now or at `publish_at`."""

    __tablename__ = "change_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    document: Mapped[str] = mapped_column(Text)
    draft_revision: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_comment: Mapped[str] = mapped_column(Text, default="")
    # When an approved change takes effect on its own (the periodic sweep publishes it), and who said so.
    publish_at: Mapped[datetime | None] = mapped_column(index=True)
    scheduled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version_number: Mapped[int | None] = mapped_column(Integer)

    definition: Mapped[Definition] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    scheduled_by: Mapped[User | None] = relationship(foreign_keys=[scheduled_by_id])

    @property
    def is_open(self) -> bool:
        return self.status in ("pending", "approved")
