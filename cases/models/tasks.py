"""Checklist tasks inside a case: created by a transition, worked by the members of a queue in parallel.

A task belongs to the state its transition led to (`state`); while a required task of the case's state
is open, the case cannot leave that state (cases.lifecycle.transition refuses and names the tasks).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.models.accounts import Queue, User
from cases.models.base import Base

TASK_STATUSES = ("open", "done")


class Task(Base):
    __tablename__ = "case_tasks"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'done')", name="status_known"),
        Index("ix_case_tasks_case_id", "case_id"),
        # Work lists: the cases with tasks of my queues.
        Index("ix_case_tasks_queue_status", "queue_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    # The task's key and label as declared on the transition of the pinned case-type version.
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"))
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    # The state the case may not leave while this (required) task is open, and the transition that made it.
    state: Mapped[str] = mapped_column(String(64))
    transition: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    queue: Mapped[Queue] = relationship(lazy="joined")
    completed_by: Mapped[User | None] = relationship(lazy="joined")

    @property
    def is_open(self) -> bool:
        return self.status == "open"
