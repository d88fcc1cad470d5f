"""Checklist tasks inside a case: created by a transition, worked by the members of a queue in parallel.

A task belongs to the state its transition led to (`state`); while a required task of the case's state
is open, the case cannot leave that state (cases.lifecycle.transition refuses and names the tasks).

A discretionary task was started by an agent or a rule from the case type's catalogue (cases.discretionary):
it has no transition, may carry a reason, a due time and a rule, and a blocking one keeps the case from
closing while it is open. Discretionary tasks can be cancelled.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.models.accounts import Queue, User
from cases.models.base import Base

TASK_STATUSES = ("open", "done", "cancelled")


class Task(Base):
    __tablename__ = "case_tasks"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'done', 'cancelled')", name="status_known"),
        Index("ix_case_tasks_case_id", "case_id"),
        # Work lists: the cases with tasks of my queues.
        Index("ix_case_tasks_queue_status", "queue_id", "status"),
        # The sweep of started tasks past their due time (cases.task_deadlines).
        Index("ix_case_tasks_open_due", "status", "due_at"),
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
    # Started from the catalogue (not by a transition): by whom or by which rule, why, until when.
    discretionary: Mapped[bool] = mapped_column(Boolean, default=False)
    blocks_closing: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rule_id: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime | None]
    # When the sweep found it open past `due_at` and escalated it (once).
    overdue_at: Mapped[datetime | None]

    queue: Mapped[Queue] = relationship(lazy="joined")
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id], lazy="joined")
    started_by: Mapped[User | None] = relationship(foreign_keys=[started_by_id])

    @property
    def is_open(self) -> bool:
        return self.status == "open"
