"""The analytics read model (cases.insight): derived from the case audit events, written in the same
transaction as the events, rebuildable from the chain with identical rows. Nothing personal is kept: states,
queues, staff e-mails of assignees, user ids of actors, times and durations.

Durations are float seconds computed once when the row is written (so every backend reads the same value).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base


class InsightCase(Base):
    """One row per case: its facts for KPIs (filing, closing, current queue and priority, exceptions) and the
    fold state the live path continues from (`fold`, JSON)."""

    __tablename__ = "insight_cases"
    __table_args__ = (
        Index("ix_insight_cases_type_filed", "case_type", "filed_at"),
        Index("ix_insight_cases_type_closed", "case_type", "closed_at"),
        Index("ix_insight_cases_type_open_queue", "case_type", "is_open", "queue"),
    )

    case_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_type: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    ref: Mapped[str] = mapped_column(String(24))
    filed_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    cycle_seconds: Mapped[float | None] = mapped_column(Float)
    is_open: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(64))
    assignee: Mapped[str | None] = mapped_column(String(254))
    priority: Mapped[str] = mapped_column(String(10))
    # account (a logged-in requester), anonymous (a public form), internal (a child case started by staff/rules)
    requester: Mapped[str] = mapped_column(String(16))
    first_response_at: Mapped[datetime | None]
    first_response_seconds: Mapped[float | None] = mapped_column(Float)
    reopens: Mapped[int] = mapped_column(Integer)
    escalations: Mapped[int] = mapped_column(Integer)
    escalated_at: Mapped[datetime | None]
    rule_failures: Mapped[int] = mapped_column(Integer)
    rule_failed_at: Mapped[datetime | None]
    exception_at: Mapped[datetime | None]
    # The states visited in order, joined by ">" (variants group by it).
    path: Mapped[str] = mapped_column(Text)
    last_seq: Mapped[int] = mapped_column(Integer)
    fold: Mapped[str] = mapped_column(Text)


class StateVisit(Base):
    """One stay of a case in a state: entered by what (filing, transition, rule, migration...), left when."""

    __tablename__ = "insight_state_visits"
    __table_args__ = (
        Index("ix_insight_state_visits_type_left", "case_type", "left_at"),
        Index("ix_insight_state_visits_type_entered", "case_type", "entered_at"),
    )

    case_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_type: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(64))
    state_kind: Mapped[str] = mapped_column(String(16))
    entered_at: Mapped[datetime]
    left_at: Mapped[datetime | None]
    seconds: Mapped[float | None] = mapped_column(Float)
    # The queue and assignee the case had while in the state (the last ones, once left).
    queue: Mapped[str] = mapped_column(String(64))
    assignee: Mapped[str | None] = mapped_column(String(254))
    entered_by: Mapped[str] = mapped_column(String(16))
    via: Mapped[str | None] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    # The how-many-th visit of this state in the case (> 1: a loop back).
    visit_no: Mapped[int] = mapped_column(Integer)
    # The state before and the time from entering it to entering this one (the directly-follows edge).
    previous: Mapped[str | None] = mapped_column(String(64))
    edge_seconds: Mapped[float | None] = mapped_column(Float)


class SlaOutcome(Base):
    """One decided SLA deadline of a case (met, breached or cancelled): its target, when it was due, when it
    was decided, and the time it was paused. Written once, when decided; running and paused deadlines are
    in the case's fold state (and in sla_deadlines)."""

    __tablename__ = "insight_sla"
    __table_args__ = (Index("ix_insight_sla_type_due", "case_type", "due_at"),)

    case_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    deadline_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_type: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(64))
    # The case's queue when the deadline was decided (met or breached), else when it started.
    queue: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    warned_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    # When it was met or cancelled.
    ended_at: Mapped[datetime | None]
    paused_seconds: Mapped[float] = mapped_column(Float)
    paused_at: Mapped[datetime | None]


class Handoff(Base):
    """A case moving from one queue to another after its filing (by hand, by a rule, or to the fallback queue)."""

    __tablename__ = "insight_handoffs"
    __table_args__ = (Index("ix_insight_handoffs_type_at", "case_type", "at"),)

    case_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_type: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(64))
    from_queue: Mapped[str] = mapped_column(String(64))
    to_queue: Mapped[str] = mapped_column(String(64))
    by: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str | None] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(Integer)
