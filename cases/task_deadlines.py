"""Deadlines of started tasks: a task from the catalogue with an SLA (`sla_hours`) that is still open past
its due time escalates, exactly once, however many sweepers run.

Escalating records `task.overdue` on the case's audit stream, tells the members of the task's queue and
the case's assignee, and raises the case to high priority when it was lower; the task keeps `overdue_at`.
The periodic sweep (app.jobs) calls `sweep` beside the SLA sweep, with its session and clock.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit, notifications
from cases.clock import Clock
from cases.models import PRIORITIES, Case, Role, Task
from cases.uow import transaction

RAISED_TO = "high"


def _escalate(session: Session, task: Task, case: Case, clock: Clock) -> None:
    now = clock()
    task.overdue_at = now
    before = case.priority
    if PRIORITIES.index(before) < PRIORITIES.index(RAISED_TO):
        case.priority = RAISED_TO
    session.flush()
    audit.append(session, case.stream, "task.overdue",
                 {"task": task.id, "key": task.key, "label": task.label, "queue": task.queue.slug,
                  "due_at": task.due_at.isoformat() if task.due_at else None,
                  "priority": {"before": before, "after": case.priority}}, actor=None, clock=clock)
    people = {m.email for m in task.queue.members if m.active and m.has_role(Role.AGENT)}
    if case.assignee is not None:
        people.add(case.assignee.email)
    for email in sorted(people):
        notifications.queue_message(
            session, to=email, subject=f"[{case.ref}] {task.label} is overdue",
            body=f"The task '{task.label}' on {case.ref} was due at {task.due_at:%Y-%m-%d %H:%M} UTC and is still "
                 "open.", reason="task.overdue", case=case, clock=clock)


def sweep(session: Session, *, clock: Clock, limit: int = 100) -> int:
    """Escalate every open started task past its due time once; returns how many escalated."""
    total = 0
    while True:
        with transaction(session):
            now = clock()
            # PostgreSQL: the task and case rows locked, skipping those another sweeper holds, so each task
            # escalates once; SQLite's IMMEDIATE transaction lets one sweeper in at a time.
            rows = session.execute(
                select(Task, Case).join(Case, Case.id == Task.case_id)
                .where(Task.status == "open", Task.due_at <= now, Task.overdue_at.is_(None), Case.is_open.is_(True))
                .order_by(Task.case_id, Task.id).limit(limit)
                .with_for_update(skip_locked=True, of=[Task, Case])
                .execution_options(populate_existing=True)).all()
            for task, case in rows:
                _escalate(session, task, case, clock)
        total += len(rows)
        if len(rows) < limit:
            return total
