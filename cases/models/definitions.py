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
