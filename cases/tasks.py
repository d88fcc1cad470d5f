"""Parallel checklist tasks inside a case: a transition creates them, the members of each task's queue
complete them (in any order, at the same time), and the case cannot leave the state while one of its
required tasks is open.

Every task change is an event on the case's audit stream and bumps the case's `lock_version`: a
transition checked against a checklist that changed meanwhile is refused as a conflict, so a case never
leaves its state with a required task that was just reopened.

Tasks started by hand or by a rule from the case type's catalogue are cases.discretionary; they are
completed here like the others.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from case_types import workflow
from case_types.errors import Conflict, NotFound
from cases import access, accounts, audit, milestones, notifications
from cases.case_versions import case_spec
from cases.clock import Clock, utcnow
from cases.errors import PermissionDenied
from cases.models import Case, Role, Task, User
from cases.uow import transaction


def tasks_of(session: Session, case: Case) -> list[Task]:
    """Every task of the case, oldest first (the checklist of the case page and the API)."""
    return list(session.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.id)))


def open_required(session: Session, case: Case) -> list[Task]:
    """The required tasks that keep the case in its current state."""
    return list(session.scalars(select(Task).where(
        Task.case_id == case.id, Task.state == case.state, Task.required.is_(True), Task.status == "open")
        .order_by(Task.id)))


def refuse_while_open(session: Session, case: Case, transition: workflow.Transition) -> None:
    """Raise TransitionNotAllowed naming the open required tasks of the state the case would leave."""
    waiting = open_required(session, case)
    if waiting:
        names = ", ".join(f"{t.label} ({t.queue.name})" for t in waiting)
        raise workflow.TransitionNotAllowed(
            f"'{transition.label}' has to wait: {'this task is' if len(waiting) == 1 else 'these tasks are'} "
            f"still open: {names}.")


def create_for(session: Session, case: Case, transition: workflow.Transition, *, actor: User | None,
               clock: Clock) -> list[Task]:
    """The tasks `transition` declares, for the state it led to; runs inside the caller's transaction."""
    created = []
    for spec in transition.tasks:
        queue = accounts.find_queue(session, spec.queue)
        if queue is None:
            raise Conflict(f"The queue '{spec.queue}' of the task '{spec.label}' no longer exists.")
        task = Task(case_id=case.id, key=spec.key, label=spec.label, queue_id=queue.id, required=spec.required,
                    state=transition.target, transition=transition.key, status="open", created_at=clock())
        session.add(task)
        session.flush()
        audit.append(session, case.stream, "task.created",
                     {"task": task.id, "key": spec.key, "label": spec.label, "queue": queue.slug,
                      "required": spec.required, "state": transition.target}, actor=actor, clock=clock)
        created.append(task)
    return created


def may_work(session: Session, user: User, task: Task) -> bool:
    """Members of the task's queue (agents) complete and reopen it; admins may too."""
    if not user.active:
        return False
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.AGENT) and task.queue_id in access.queue_ids_of(session, user)


def task_for_update(session: Session, case: Case, task_id: int) -> Task:
    # Locked (PostgreSQL) and fresh, so of two people completing the same task one sees the other's work.
    task = session.scalar(select(Task).where(Task.id == task_id, Task.case_id == case.id)
                          .with_for_update(of=Task).execution_options(populate_existing=True))
    if task is None:
        raise NotFound("This case has no such task.")
    return task


def touch(session: Session, case: Case, actor: User, clock: Clock) -> None:
    """Bump the case's version with the change, so a transition judged on the old checklist is refused."""
    case.updated_at = clock()
    case.updated_by_id = actor.id
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("This case was changed by someone else meanwhile. Reload to see the changes.") from None


def complete(session: Session, case: Case, task_id: int, actor: User, *, clock: Clock = utcnow) -> Task:
    """Mark a task done (a member of its queue); the case's assignee hears when the last required one is."""
    with transaction(session):
        task = task_for_update(session, case, task_id)
        if not may_work(session, actor, task):
            raise PermissionDenied(f"Only members of {task.queue.name} can complete this task.")
        if not case.is_open:
            raise Conflict("The case is closed.")
        if task.status == "cancelled":
            raise Conflict(f"'{task.label}' was cancelled.")
        if not task.is_open:
            who = task.completed_by.name if task.completed_by else "someone"
            when = f" at {task.completed_at:%Y-%m-%d %H:%M} UTC" if task.completed_at else ""
            raise Conflict(f"'{task.label}' was already completed by {who}{when}.")
        task.status, task.completed_at, task.completed_by_id = "done", clock(), actor.id
        touch(session, case, actor, clock)
        audit.append(session, case.stream, "task.completed",
                     {"task": task.id, "key": task.key, "label": task.label, "queue": task.queue.slug},
                     actor=actor, clock=clock)
        milestones.reach(session, case, case_spec(session, case), actor=actor, clock=clock, task=task.key)
        if task.required and task.state == case.state and not open_required(session, case) \
                and case.assignee is not None and case.assignee_id != actor.id:
            notifications.queue_message(
                session, to=case.assignee.email, subject=f"[{case.ref}] all tasks are done",
                body=f"The last required task of {case.ref} ({task.label}) is done; the case can move on.",
                reason="task.completed", case=case, clock=clock)
    return task


def reopen(session: Session, case: Case, task_id: int, actor: User, *, clock: Clock = utcnow) -> Task:
    """Open a done task again, while the case is still in the task's state (or waiting to return to it)."""
    with transaction(session):
        task = task_for_update(session, case, task_id)
        if not may_work(session, actor, task):
            raise PermissionDenied(f"Only members of {task.queue.name} can reopen this task.")
        if task.is_open:
            raise Conflict(f"'{task.label}' is open.")
        if task.status == "cancelled":
            raise Conflict(f"'{task.label}' was cancelled; start it again instead.")
        if not case.is_open or task.state not in (case.state, case.resume_state):
            raise Conflict(f"The case has moved on from the step of '{task.label}'; it cannot be reopened.")
        task.status, task.completed_at, task.completed_by_id = "open", None, None
        touch(session, case, actor, clock)
        audit.append(session, case.stream, "task.reopened",
                     {"task": task.id, "key": task.key, "label": task.label, "queue": task.queue.slug},
                     actor=actor, clock=clock)
    return task


def workable(session: Session, user: User, tasks: Sequence[Task]) -> set[int]:
    """Ids of the tasks `user` may complete or reopen (for the checklist's buttons)."""
    return {t.id for t in tasks if may_work(session, user, t)}
