"""Cases: the work items filed under a pinned case-type version, and their comments."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from cases.models.accounts import Queue, User
from cases.models.base import Base
from cases.models.definitions import Definition, DefinitionVersion

if TYPE_CHECKING:
    from cases.models.links import CaseLink

PRIORITIES = ("low", "normal", "high", "urgent")


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name="priority_known"),
        Index("ix_cases_queue_open_created", "queue_id", "is_open", "created_at"),
        Index("ix_cases_assignee_open_created", "assignee_id", "is_open", "created_at"),
        Index("ix_cases_queue_open_due", "queue_id", "is_open", "due_at"),
        Index("ix_cases_queue_open_assignee", "queue_id", "is_open", "assignee_id"),
        Index("ix_cases_requester_created", "requester_id", "created_at"),
        Index("ix_cases_type_created", "case_type_id", "created_at"),
        Index("ix_cases_created", "created_at"),
        Index("ix_cases_contact_email_created", "contact_email", "created_at"),
        # case.requester_recent_cases: bounded range scans per case type and requester (cases.automation)
        Index("ix_cases_type_email_created", "case_type_id", "contact_email", "created_at"),
        Index("ix_cases_type_requester_created", "case_type_id", "requester_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(24), unique=True)
    case_type_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    # The case type version (and through it the form version and rules) the case was filed under, forever.
    case_type_version_id: Mapped[int] = mapped_column(ForeignKey("definition_versions.id"))
    form_version_id: Mapped[int] = mapped_column(ForeignKey("definition_versions.id"))
    summary: Mapped[str] = mapped_column(String(300), default="")
    data: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(64))
    # Where a case waiting for the requester's answer goes back to.
    resume_state: Mapped[str | None] = mapped_column(String(64))
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    due_at: Mapped[datetime | None]
    tags: Mapped[str] = mapped_column(Text, default="[]")
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    # Anonymous requesters follow their case through a private link; only its hash is stored.
    tracking_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]
    # Optimistic locking: every UPDATE checks and bumps it; a stale writer gets a conflict.
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    # Whether a legal hold covers the case, when the query asked (cases.privacy.holds.with_held); else None.
    held: Mapped[bool | None] = query_expression()

    __mapper_args__ = {"version_id_col": lock_version}

    case_type: Mapped[Definition] = relationship(foreign_keys=[case_type_id], lazy="joined")
    # Versions are immutable and read through caches: loaded (once) when asked for.
    case_type_version: Mapped[DefinitionVersion] = relationship(foreign_keys=[case_type_version_id])
    form_version: Mapped[DefinitionVersion] = relationship(foreign_keys=[form_version_id])
    queue: Mapped[Queue] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="joined")
    requester: Mapped[User | None] = relationship(foreign_keys=[requester_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    # Its links to other cases (cases.links): the case page reads them with the case, in the same query.
    links: Mapped[list[CaseLink]] = relationship(foreign_keys="CaseLink.case_id", order_by="CaseLink.id",
                                                 viewonly=True)

    @property
    def stream(self) -> str:
        """The case's audit stream."""
        return f"case:{self.id}"


class CaseCounter(Base):
    """The last reference number handed out per prefix (row-locked while numbering a new case)."""

    __tablename__ = "case_counters"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_case_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    # Internal comments are for staff only; the requester never sees them.
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]

    author: Mapped[User | None] = relationship(lazy="joined")
