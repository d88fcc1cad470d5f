"""Discretionary work: what agents (and rules) start from the case type's catalogue when a case needs more
than its modelled path (case_types.adaptive).

A started task is a checklist task (cases.tasks) without a transition: the members of its queue see the
case and complete it, and a blocking one keeps the case from closing (the refusal names it). An entry of
the catalogue that starts a child case files it through cases.links. Every start, completion and
cancellation is an event on the case's audit stream, with the rule that started it if a rule did.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from case_types import adaptive, workflow
from case_types.errors import Conflict, NotFound, ValidationFailed
from cases import access, accounts, audit, links
from cases.case_versions import case_spec
from cases.clock import Clock, utcnow
from cases.errors import PermissionDenied
from cases.models import Case, Queue, Role, Task, User
from cases.privacy.values import seal
from cases.tasks import may_work, task_for_update, touch
from cases.uow import transaction
from forms.text import text_problem

MAX_REASON = 2000


def start_actor(session: Session, user: User, case: Case) -> adaptive.StartActor:
    """The facts the catalogue's `who` needs about `user` on `case`."""
    roles = {r.value for r in user.roles} - {Role.AUDITOR.value, Role.REQUESTER.value} if user.active else set()
    ids = access.queue_ids_of(session, user)
    slugs = set(session.scalars(select(Queue.slug).where(Queue.id.in_(ids)))) if ids else set()
    return adaptive.StartActor(roles=frozenset(roles), staff_on_case=access.is_staff_on(session, user, case),
                               queues=frozenset(slugs))


def _open_keys(session: Session, case: Case) -> set[str]:
    return set(session.scalars(select(Task.key).where(Task.case_id == case.id, Task.discretionary.is_(True),
                                                      Task.status == "open")))


def item_of(session: Session, case: Case, key: str) -> adaptive.Discretionary | None:
    """The catalogue entry `key` of the case's pinned case type."""
    return case_spec(session, case).discretionary_item(key)


def is_open(session: Session, case: Case, key: str) -> bool:
    """Whether a started task of the catalogue entry `key` is open on the case, or a child case it started."""
    return key in _open_keys(session, case) or key in links.open_child_keys(session, case)


def tasks_available(session: Session, case: Case, actor: User) -> list[adaptive.Discretionary]:
    """What `actor` may start on `case` now (a reason may still be asked for when they start it).

    A task already open is not offered again; child cases can be started more than once."""
    if not case.is_open:
        return []
    spec = case_spec(session, case)
    if not spec.discretionary:
        return []
    here = [item for item in spec.discretionary if case.state in item.states]
    if not here:  # the usual case: nothing to read
        return []
    facts, running = start_actor(session, actor, case), _open_keys(session, case)
    return [item for item in here if adaptive.may_start(item, facts) and (item.starts_case or item.key not in running)]


def _refuse(session: Session, case: Case, spec: workflow.CaseTypeSpec, key: str, actor: User,
            reason: str) -> adaptive.Discretionary:
    item = spec.discretionary_item(key)
    if item is None:
        raise NotFound(f"This case type has no task '{key}' to start.")
    if not case.is_open:
        raise Conflict("The case is closed.")
    refusal = adaptive.start_refusal(item, state=case.state, state_label=spec.state(case.state).label,
                                     actor=start_actor(session, actor, case), reason=reason)
    if refusal is not None and refusal.kind == "who":
        raise PermissionDenied(refusal.message)
    if refusal is not None and refusal.kind == "state":
        raise Conflict(refusal.message)
    if refusal is not None:
        raise ValidationFailed(refusal.message, {"reason": [refusal.message]})
    if len(reason) > MAX_REASON:
        raise ValidationFailed("The reason is too long.", {"reason": [f"Use at most {MAX_REASON} characters."]})
    problem = text_problem(reason)
    if problem:
        raise ValidationFailed(problem, {"reason": [problem]})
    if not item.starts_case and item.key in _open_keys(session, case):
        raise Conflict(f"'{item.label}' is already open on this case.")
    return item


def start_task(session: Session, case: Case, key: str, actor: User, *, reason: str = "",
               clock: Clock = utcnow) -> Task | Case:
    """Start an entry of the catalogue by hand: the task, or the child case it files."""
    reason = (reason or "").strip()
    spec = case_spec(session, case)
    item = _refuse(session, case, spec, key, actor, reason)
    with transaction(session):
        started = open_item(session, case, spec, item, actor=actor, reason=reason, rule_id=None, clock=clock)
        touch(session, case, actor, clock)
    return started


def open_item(session: Session, case: Case, spec: workflow.CaseTypeSpec, item: adaptive.Discretionary, *,
              actor: User | None, reason: str, rule_id: str | None, clock: Clock) -> Task | Case:
    """Start `item` inside the caller's transaction (a person's start, or a rule's decision)."""
    if item.starts_case:
        return links.start_child(session, case, item, actor=actor, reason=reason, rule_id=rule_id, clock=clock)
    queue = accounts.find_queue(session, item.queue)
    if queue is None:
        raise Conflict(f"The queue '{item.queue}' of '{item.label}' no longer exists.")
    now = clock()
    due: datetime | None = spec.calendar.add(now, item.sla_hours) if item.sla_hours else None
    task = Task(case_id=case.id, key=item.key, label=item.label, queue_id=queue.id, required=False,
                state=case.state, transition="", status="open", created_at=now, discretionary=True,
                blocks_closing=item.blocks_closing, reason=reason, started_by_id=actor.id if actor else None,
                rule_id=rule_id, due_at=due)
    session.add(task)
    session.flush()
    audit.append(session, case.stream, "task.started",
                 {"task": task.id, "key": item.key, "label": item.label, "queue": queue.slug,
                  "reason": seal(session, reason, path="reason", case_id=case.id, clock=clock),
                  "blocks_closing": item.blocks_closing, "due_at": due.isoformat() if due else None,
                  "rule": rule_id}, actor=actor, clock=clock)
    return task


def cancel(session: Session, case: Case, task_id: int, actor: User, *, reason: str = "",
           clock: Clock = utcnow) -> Task:
    """Call off a started task (staff on the case, or members of its queue); checklist tasks stay."""
    reason = (reason or "").strip()
    with transaction(session):
        task = task_for_update(session, case, task_id)
        if not task.discretionary:
            raise Conflict(f"'{task.label}' belongs to the case's step; it cannot be cancelled.")
        if not (access.is_staff_on(session, actor, case) or may_work(session, actor, task)):
            raise PermissionDenied(f"Only agents of this case or members of {task.queue.name} can cancel it.")
        if not task.is_open:
            raise Conflict(f"'{task.label}' is no longer open.")
        task.status, task.completed_at, task.completed_by_id = "cancelled", clock(), actor.id
        touch(session, case, actor, clock)
        audit.append(session, case.stream, "task.cancelled",
                     {"task": task.id, "key": task.key, "label": task.label, "queue": task.queue.slug,
                      "reason": seal(session, reason, path="reason", case_id=case.id, clock=clock)},
                     actor=actor, clock=clock)
    return task


def closing_refusal(session: Session, case: Case, spec: workflow.CaseTypeSpec, target: str, *,
                    automatic: bool = False) -> str | None:
    """Why the case cannot go to `target` now if that closes it (the open work named), or None.

    Blocking tasks and the child cases of blocking entries keep every path from closing the case; an
    `automatic` move (a rule's move_to_state, an approval's outcome) also waits for the child cases the
    current state waits for (an `after_children` transition leaves it), as a person firing that
    transition would have to."""
    if not spec.state(target).is_final:
        return None
    waiting = [f"'{t.label}' ({t.queue.name})" for t in session.scalars(
        select(Task).where(Task.case_id == case.id, Task.blocks_closing.is_(True), Task.status == "open")
        .order_by(Task.id))]
    waiting += [f"'{label}' ({ref})" for label, ref in links.open_blocking_children(session, case, spec)]
    if waiting:
        one = len(waiting) == 1
        return (f"{', '.join(waiting)} {'is' if one else 'are'} still open and {'has' if one else 'have'} to be "
                "finished before the case closes")
    awaited = links.awaited_children(session, case, spec) if automatic else []
    if awaited:
        return f"the case waits for its child cases; still open: {', '.join(awaited)}"
    return None


def refuse_closing(session: Session, case: Case, spec: workflow.CaseTypeSpec, move: workflow.Transition) -> None:
    """A transition into a final state waits for the blocking work still open; the refusal names it."""
    refusal = closing_refusal(session, case, spec, move.target)
    if refusal:
        raise workflow.TransitionNotAllowed(f"'{move.label}' has to wait: {refusal}.")
