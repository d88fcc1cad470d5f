"""Who works a case and how urgently: claiming, releasing, assigning, routing by hand and priority.

Each is one audited change of the case (cases.lifecycle.case_change), allowed to the staff of its queue.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from case_types.errors import Conflict, NotFound, ValidationFailed
from cases import access, audit, notifications
from cases.clock import Clock, utcnow
from cases.errors import PermissionDenied
from cases.lifecycle import case_change, require_staff, touch
from cases.models import PRIORITIES, Case, Queue, Role, User


def claim(session: Session, case: Case, actor: User, *, expected_version: int | None = None,
          clock: Clock = utcnow) -> Case:
    """Take the case. Of two agents claiming at once, one wins; the other gets a Conflict naming the winner."""
    require_staff(session, actor, case)
    if not case.is_open:
        raise Conflict("The case is closed.")
    if case.assignee_id == actor.id:
        return case
    if case.assignee_id is not None:
        holder = case.assignee.name if case.assignee else "someone"
        raise Conflict(f"{holder} already holds this case.")
    with case_change(session, case, expected_version):
        case.assignee = actor
        touch(session, case, actor, clock)
        audit.append(session, case.stream, "case.claimed", {"assignee": actor.email}, actor=actor, clock=clock)
    return case


def release(session: Session, case: Case, actor: User, *, expected_version: int | None = None,
            clock: Clock = utcnow) -> Case:
    """Give the case back to its queue (its assignee or an admin).

    Staff are checked first, so a release of an unheld case is a no-op only for those who could work it.
    """
    require_staff(session, actor, case)
    if case.assignee_id is None:
        return case
    if case.assignee_id != actor.id and not actor.has_role(Role.ADMIN):
        raise PermissionDenied("Only the person holding the case (or an admin) can release it.")
    before = case.assignee.email if case.assignee else None
    with case_change(session, case, expected_version):
        case.assignee = None
        touch(session, case, actor, clock)
        audit.append(session, case.stream, "case.released", {"before": before}, actor=actor, clock=clock)
    return case


def assign(session: Session, case: Case, assignee: User | None, actor: User, *,
           expected_version: int | None = None, clock: Clock = utcnow) -> Case:
    """Give the case to an agent (or to nobody). Staff of the case may do it; the assignee must be an agent."""
    require_staff(session, actor, case)
    if assignee is not None and (not assignee.active or not assignee.has_role(Role.AGENT)):
        raise ValidationFailed("Cases can only be assigned to active agents.",
                               {"assignee": ["Choose an active agent."]})
    if (assignee.id if assignee else None) == case.assignee_id:
        return case
    before = case.assignee.email if case.assignee else None
    with case_change(session, case, expected_version):
        case.assignee = assignee
        touch(session, case, actor, clock)
        audit.append(session, case.stream, "case.assigned",
                     {"before": before, "after": assignee.email if assignee else None}, actor=actor, clock=clock)
        if assignee is not None and assignee.id != actor.id:
            notifications.queue_message(
                session, to=assignee.email, subject=f"[{case.ref}] assigned to you",
                body=f"{actor.name} assigned case {case.ref} ({case.summary or case.case_type.title}) to you.",
                reason="case.assigned", case=case, clock=clock)
    return case


def move_to_queue(session: Session, case: Case, queue: Queue, actor: User, *,
                  expected_version: int | None = None, clock: Clock = utcnow) -> Case:
    """Route the case to another queue by hand (its assignee keeps it unless they are not a member)."""
    require_staff(session, actor, case)
    if queue.id == case.queue_id:
        return case
    before = case.queue.slug
    with case_change(session, case, expected_version):
        case.queue = queue
        touch(session, case, actor, clock)
        audit.append(session, case.stream, "case.routed", {"before": before, "after": queue.slug, "by": "hand"},
                     actor=actor, clock=clock)
    return case


def set_priority(session: Session, case: Case, priority: str, actor: User, *,
                 expected_version: int | None = None, clock: Clock = utcnow) -> Case:
    require_staff(session, actor, case)
    if priority not in PRIORITIES:
        raise ValidationFailed("Unknown priority.", {"priority": [f"Choose one of {', '.join(PRIORITIES)}."]})
    if priority == case.priority:
        return case
    before = case.priority
    with case_change(session, case, expected_version):
        case.priority = priority
        touch(session, case, actor, clock)
        audit.append(session, case.stream, "case.prioritised", {"before": before, "after": priority},
                     actor=actor, clock=clock)
    return case


def bulk_assign(session: Session, case_ids: Sequence[int], assignee: User | None, actor: User, *,
                clock: Clock = utcnow) -> tuple[list[Case], dict[str, str]]:
    """Assign several cases; each is its own use case, so one refusal does not undo the others.

    Returns the cases assigned and, per reference (or id), why the others were not.
    """
    done: list[Case] = []
    problems: dict[str, str] = {}
    for case_id in dict.fromkeys(case_ids):
        try:
            case = access.get_case_for(session, case_id, actor)
            assign(session, case, assignee, actor, clock=clock)
            done.append(case)
        except (NotFound, PermissionDenied, Conflict, ValidationFailed) as exc:
            session.rollback()
            problems[str(case_id)] = exc.message
    return done, problems
