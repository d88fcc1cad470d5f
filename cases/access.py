"""Who may see and touch which case: roles, and for cases, the row.

Requesters see their own cases; agents see the cases of their queues, those assigned to them and those
with a checklist task for one of their queues (cases.tasks); admins and auditors see every case
(auditors never write). An id someone may not see is answered exactly like an id that does not exist.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, exists, or_, select, true
from sqlalchemy.orm import Session, joinedload, scoped_session

from case_types import workflow
from case_types.errors import NotFound
from cases.models import Approval, Case, QueueMember, Role, Task, User
from cases.privacy.holds import with_held

_MEMBERSHIPS = "casework_queue_ids"


def queue_ids_of(session: Session, user: User) -> set[int]:
    """The user's queues, read once per transaction (a page asks for them many times); any flush, which is
    where a membership change would be written, forgets them."""
    session = session.registry() if isinstance(session, scoped_session) else session
    transaction = session.get_transaction()
    held = session.info.get(_MEMBERSHIPS)
    if transaction is None or held is None or held[0] is not transaction:
        held = (transaction, {})
        session.info[_MEMBERSHIPS] = held
    known: dict[int, frozenset[int]] = held[1]
    if user.id not in known:
        known[user.id] = frozenset(session.scalars(select(QueueMember.queue_id)
                                                   .where(QueueMember.user_id == user.id)))
        if transaction is None:  # the query began the transaction: remember under it
            session.info[_MEMBERSHIPS] = (session.get_transaction(), known)
    return set(known[user.id])


def remember_queue_ids(session: Session, user: User, queue_ids: set[int]) -> None:
    """Keep the user's queues as read in the current transaction (with their login, cases.accounts), so
    queue_ids_of does not read them again."""
    session = session.registry() if isinstance(session, scoped_session) else session
    transaction = session.get_transaction()
    if transaction is None:
        return
    held = session.info.get(_MEMBERSHIPS)
    if held is None or held[0] is not transaction:
        known: dict[int, frozenset[int]] = {}
        held = session.info[_MEMBERSHIPS] = (transaction, known)
    held[1][user.id] = frozenset(queue_ids)


@event.listens_for(Session, "after_flush")
def _forget_memberships(session: Session, _context: Any) -> None:
    session.info.pop(_MEMBERSHIPS, None)


def _awaiting_my_approval(user: User) -> Any:
    roles = [r.value for r in user.roles]
    return exists().where(Approval.case_id == Case.id, Approval.status == "pending",
                          or_(Approval.user_id == user.id, Approval.role.in_(roles)))


def _has_task_of(queues: set[int]) -> Any:
    return exists().where(Task.case_id == Case.id, Task.queue_id.in_(queues))


def visible_clause(session: Session, user: User) -> Any:
    """A WHERE clause selecting the cases `user` may see (approvers see what waits for them)."""
    if user.has_role(Role.ADMIN, Role.AUDITOR):
        return true()
    clauses = [_awaiting_my_approval(user)]
    if user.has_role(Role.AGENT):
        clauses.append(Case.assignee_id == user.id)
        queues = queue_ids_of(session, user)
        if queues:
            clauses.append(Case.queue_id.in_(queues))
            clauses.append(_has_task_of(queues))
    if user.has_role(Role.REQUESTER):
        clauses.append(Case.requester_id == user.id)
    return or_(*clauses)


def can_view(session: Session, user: User, case: Case) -> bool:
    if user.has_role(Role.ADMIN, Role.AUDITOR):
        return True
    if user.has_role(Role.REQUESTER) and case.requester_id == user.id:
        return True
    if user.has_role(Role.AGENT):
        queues = queue_ids_of(session, user)
        if case.assignee_id == user.id or case.queue_id in queues:
            return True
        if queues and session.scalar(select(Task.id).where(Task.case_id == case.id, Task.queue_id.in_(queues))
                                     .limit(1)) is not None:
            return True
    return bool(session.scalar(select(Case.id).where(Case.id == case.id, _awaiting_my_approval(user))))


def is_staff_on(session: Session, user: User, case: Case) -> bool:
    """May work the case (comment internally, claim, see internal notes): its agents and admins."""
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.AGENT) and (case.assignee_id == user.id
                                          or case.queue_id in queue_ids_of(session, user))


def sees_internal(session: Session, user: User, case: Case) -> bool:
    """Internal comments and attachments: staff on the case and auditors, never the requester."""
    return user.has_role(Role.AUDITOR) or is_staff_on(session, user, case)


def get_case_for(session: Session, case_id: int, user: User) -> Case:
    """The case if `user` may see it; otherwise NotFound, as if it did not exist."""
    # The case page and the API read the version it was filed under, its requester and its links: same query.
    case = session.get(Case, case_id, options=[joinedload(Case.case_type_version),
                                                joinedload(Case.requester).joinedload(User.role_rows), with_held(),
                                                joinedload(Case.links)])
    if case is None or not can_view(session, user, case):
        raise NotFound("No such case.")
    return case


def find_case_for(session: Session, ref: str, user: User) -> Case:
    case = session.scalar(select(Case).where(Case.ref == ref.strip().upper()))
    if case is None or not can_view(session, user, case):
        raise NotFound("No such case.")
    return case


def actor_facts(session: Session, user: User, case: Case) -> workflow.Actor:
    """The facts the transition guards need about `user` on `case`."""
    roles = {r.value for r in user.roles} - {Role.AUDITOR.value}
    return workflow.Actor(
        user_id=user.id,
        roles=frozenset(roles),
        queue_member=case.queue_id in queue_ids_of(session, user),
        is_assignee=case.assignee_id == user.id,
        is_requester=case.requester_id == user.id,
    )
