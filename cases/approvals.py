"""Approvals a rule asked for (`require_approval`): the one a case waits for, who may decide it, the decision.

Deciding moves the case on to the state the rule chose for approval or rejection, in one transaction with
the decision's audit event; what follows the move (deadlines, documents) is cases.automation's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from case_types.errors import Conflict
from case_types.workflow import TransitionNotAllowed
from cases import audit, discretionary
from cases.automation import enter_state, state_entered
from cases.case_versions import case_spec
from cases.clock import Clock, utcnow
from cases.errors import PermissionDenied
from cases.models import Approval, Case, User
from cases.privacy.values import seal
from cases.uow import transaction

_PENDING_APPROVALS = "casework_pending_approvals"


def pending_approval(session: Session, case: Case) -> Approval | None:
    """The approval the case waits for, read once per transaction (a case page asks twice); any flush,
    which is where an approval would be written or decided, forgets it."""
    session = session.registry() if isinstance(session, scoped_session) else session
    transaction = session.get_transaction()
    held = session.info.get(_PENDING_APPROVALS)
    if transaction is None or held is None or held[0] is not transaction:
        held = (transaction, {})
    known: dict[int, Approval | None] = held[1]
    if case.id not in known:
        known[case.id] = session.scalar(select(Approval).where(Approval.case_id == case.id,
                                                               Approval.status == "pending").order_by(Approval.id))
        held = (session.get_transaction(), known)
    session.info[_PENDING_APPROVALS] = held
    return known[case.id]


@sa_event.listens_for(Session, "after_flush")
def _forget_pending_approvals(session: Session, _context: Any) -> None:
    session.info.pop(_PENDING_APPROVALS, None)


def may_decide(approval: Approval, user: User) -> bool:
    if approval.user_id is not None:
        return approval.user_id == user.id
    return bool(approval.role) and user.has_role(approval.role or "")


def decide_approval(session: Session, case: Case, actor: User, *, approve: bool, comment: str = "",
                    clock: Clock = utcnow) -> Approval:
    """Approve or reject what a rule sent for approval; the case moves on to the rule's chosen state."""
    approval = pending_approval(session, case)
    if approval is None:
        raise Conflict("Nothing on this case waits for approval.")
    if not may_decide(approval, actor):
        raise PermissionDenied("You cannot decide this approval.")
    spec = case_spec(session, case)
    target = approval.on_approve if approve else approval.on_reject
    refusal = discretionary.closing_refusal(session, case, spec, str(target), automatic=True) \
        if target and target != case.state else None
    if refusal:
        raise TransitionNotAllowed(f"The approval has to wait: {refusal}.")
    with transaction(session):
        approval.status = "approved" if approve else "rejected"
        approval.decided_at, approval.decided_by_id = clock(), actor.id
        approval.comment = (comment or "").strip()[:5000]
        previous = case.state
        moved = bool(target) and target != previous
        if moved:
            enter_state(case, spec, str(target), clock)
        case.updated_at, case.updated_by_id = clock(), actor.id
        session.flush()
        audit.append(session, case.stream, "case.approval_decided",
                     {"approved": approve,
                      "comment": seal(session, approval.comment, path="comment", case_id=case.id, clock=clock),
                      "from": previous, "to": case.state,
                      "rule": approval.rule_id}, actor=actor, clock=clock)
        if moved:
            state_entered(session, case, spec, previous, clock)
    return approval
