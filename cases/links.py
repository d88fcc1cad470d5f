"""Linked cases: a case starts a child case of another type with some of its answers, and may wait for
its children (a transition with `after_children`).

The link is stored both ways (cases.models.links). When the last open child closes, the parent's waiting
transition fires by itself, exactly once: the closing child's transaction row-locks the parent before it
counts the open children, so of two children closing at the same moment the second one to get the lock
sees the first one closed (PostgreSQL reads each statement afresh under READ COMMITTED; SQLite writes
one at a time).

What a viewer of one case sees of the other follows the other case's own permissions: a requester sees
a linked case only if it is theirs; staff of the case see every link's reference and case type, and its
summary and state only when they may see the linked case itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from case_types import adaptive, workflow
from case_types.errors import Conflict, NotFound, ValidationFailed
from cases import access, audit, automation, discretionary, milestones, tasks
from cases.case_versions import case_spec, published
from cases.clock import Clock, utcnow
from cases.errors import PermissionDenied
from cases.models import Approval, Case, CaseLink, Definition, Queue, User
from cases.numbering import next_ref
from cases.privacy.values import seal, seal_fields
from cases.uow import transaction
from forms.errors import SubmissionInvalid
from forms.validation import to_json_values, validate_submission

#: The links an agent makes between existing cases, and how the other case names the same link.
LINKABLE = {"related": "related", "duplicate_of": "duplicated_by", "caused_by": "causes"}
KIND_LABELS = {"child": "Child case", "parent": "Parent case", "related": "Related", "duplicate_of": "Duplicate of",
               "duplicated_by": "Duplicated by", "caused_by": "Caused by", "causes": "Causes"}


def _child_type(session: Session, slug: str) -> Definition:
    child_type = session.scalar(select(Definition).where(Definition.kind == "case_type", Definition.slug == slug))
    if child_type is None or child_type.archived or child_type.latest_version is None:
        raise Conflict(f"The case type '{slug}' is not published; no child case can be started.")
    return child_type


def _mapped(parent: Case, fields: Mapping[str, str]) -> dict[str, Any]:
    answers = json.loads(parent.data)
    return {theirs: answers[mine] for mine, theirs in fields.items() if answers.get(mine) not in (None, "", [])}


def start_child(session: Session, parent: Case, item: adaptive.Discretionary, *, actor: User | None,
                reason: str, rule_id: str | None, clock: Clock) -> Case:
    """File a child case of `item.case_type` with the parent's mapped answers, inside the caller's transaction.

    The child belongs to the parent's requester and starts in its own type's initial state and queue."""
    child_type = _child_type(session, str(item.case_type))
    version = child_type.latest_version
    assert version is not None
    pinned = published(session, version)
    spec = pinned.spec
    try:
        data = to_json_values(validate_submission(pinned.schema, _mapped(parent, item.fields)))
    except SubmissionInvalid as exc:
        fields = ", ".join(sorted(exc.errors))
        raise ValidationFailed(f"'{item.label}' cannot be started: the child case also needs {fields}, which "
                               "this case does not fill in.", {"task": [f"The child case needs {fields}."]}) from None
    queue = session.scalar(select(Queue).where(Queue.slug == spec.default_queue))
    if queue is None:
        raise Conflict(f"The queue '{spec.default_queue}' of '{child_type.title}' no longer exists.")
    now = clock()
    child = Case(
        ref=next_ref(session, spec.prefix), case_type=child_type, case_type_version_id=version.id,
        form_version_id=pinned.form_version_id, summary=f"{item.label} for {parent.ref}"[:300],
        data=json.dumps(data), state=spec.initial.key, is_open=True, queue=queue, priority="normal",
        requester_id=parent.requester_id, contact_email=parent.contact_email, tracking_hash=None,
        created_at=now, updated_at=now, updated_by_id=actor.id if actor else None, due_at=None, closed_at=None,
        resume_state=None, assignee=None, tags="[]")
    session.add(child)
    session.flush()
    session.add_all([CaseLink(case_id=parent.id, other_id=child.id, kind="child", item_key=item.key, created_at=now),
                     CaseLink(case_id=child.id, other_id=parent.id, kind="parent", item_key=item.key, created_at=now)])
    session.expire(parent, ["links"])  # read again with the new child
    audit.append(session, child.stream, "case.filed", {
        "ref": child.ref, "case_type": child_type.slug, "case_type_version": version.number,
        "form": spec.form.slug, "form_version": spec.form.version,
        "data": seal_fields(session, data, pinned.schema.personal_keys, case_id=child.id, clock=clock),
        "state": child.state, "queue": queue.slug, "priority": child.priority, "parent": parent.ref,
        "reason": seal(session, reason, path="reason", case_id=child.id, clock=clock), "rule": rule_id,
    }, actor=actor, clock=clock, fresh=True)
    audit.append(session, parent.stream, "case.child_started",
                 {"child": child.ref, "child_id": child.id, "key": item.key, "label": item.label,
                  "case_type": child_type.slug, "reason": seal(session, reason, path="reason", case_id=parent.id,
                                                               clock=clock),
                  "rule": rule_id}, actor=actor, clock=clock)
    automation.state_entered(session, child, spec, None, clock)
    automation.run_rules(session, child, "case.submitted", actor=actor, clock=clock)
    return child


def _open_children(session: Session, case: Case) -> list[tuple[str | None, Case]]:
    rows = session.execute(select(CaseLink.item_key, Case).join(Case, Case.id == CaseLink.other_id)
                           .where(CaseLink.case_id == case.id, CaseLink.kind == "child", Case.is_open.is_(True))
                           .order_by(Case.id)).all()
    return [(key, child) for key, child in rows]


def open_child_keys(session: Session, case: Case) -> set[str]:
    """The catalogue entries with a child case still open on `case`."""
    return {key for key, _child in _open_children(session, case) if key}


def open_blocking_children(session: Session, case: Case, spec: workflow.CaseTypeSpec) -> list[tuple[str, str]]:
    """(label, reference) of the open child cases started by a blocking catalogue entry."""
    found = []
    for key, child in _open_children(session, case):
        item = spec.discretionary_item(key) if key else None
        if item is not None and item.blocks_closing:
            found.append((item.label, child.ref))
    return found


def awaited_children(session: Session, case: Case, spec: workflow.CaseTypeSpec) -> list[str]:
    """References of the open child cases, when the current state waits for them (`after_children`)."""
    if not any(t.after_children for t in spec.transitions_from(case.state)):
        return []
    return [child.ref for _key, child in _open_children(session, case)]


def refuse_while_children_open(session: Session, case: Case, move: workflow.Transition) -> None:
    """A transition that waits for the child cases cannot be fired by hand while one is open."""
    if not move.after_children:
        return
    waiting = [child.ref for _key, child in _open_children(session, case)]
    if waiting:
        raise workflow.TransitionNotAllowed(
            f"'{move.label}' waits for the child cases; still open: {', '.join(waiting)}.")


def child_closed(session: Session, child: Case, clock: Clock) -> None:
    """After a child case closed (inside its transaction): its parent moves on if this was the last open child.

    cases.automation.state_entered calls it whatever closed the child: a transition, a rule, an approval."""
    parent_id = session.scalar(select(CaseLink.other_id).where(CaseLink.case_id == child.id,
                                                               CaseLink.kind == "parent"))
    if parent_id is None:
        return
    session.flush()
    parent = session.scalar(select(Case).where(Case.id == parent_id).with_for_update(of=Case)
                            .execution_options(populate_existing=True))
    if parent is None or not parent.is_open:
        return
    spec = case_spec(session, parent)
    move = next((t for t in spec.transitions_from(parent.state) if t.after_children), None)
    if move is None or session.scalar(select(Approval.id).where(Approval.case_id == parent.id,
                                                                 Approval.status == "pending").limit(1)):
        return
    still_open = session.scalar(select(func.count()).select_from(CaseLink).join(Case, Case.id == CaseLink.other_id)
                                .where(CaseLink.case_id == parent.id, CaseLink.kind == "child",
                                       Case.is_open.is_(True)))
    if still_open or tasks.open_required(session, parent):
        return
    try:
        discretionary.refuse_closing(session, parent, spec, move)  # blocking work keeps it open
    except workflow.TransitionNotAllowed:
        return
    _fire(session, parent, spec, move, child, clock)


def _fire(session: Session, parent: Case, spec: workflow.CaseTypeSpec, move: workflow.Transition, child: Case,
          clock: Clock) -> None:
    source = parent.state
    automation.enter_state(parent, spec, move.target, clock)
    parent.resume_state = None
    parent.updated_at, parent.updated_by_id = clock(), None
    session.flush()
    audit.append(session, parent.stream, "case.transitioned",
                 {"transition": move.key, "label": move.label, "from": source, "to": move.target, "comment": "",
                  "by": "children_closed", "last_child": child.ref}, actor=None, clock=clock)
    automation.state_entered(session, parent, spec, source, clock)
    milestones.reach(session, parent, spec, actor=None, clock=clock, transition=move.key)
    tasks.create_for(session, parent, move, actor=None, clock=clock)
    automation.run_rules(session, parent, "case.transitioned", actor=None, clock=clock, transition=move.key)


def link(session: Session, case: Case, other_ref: str, kind: str, actor: User, *, clock: Clock = utcnow) -> Case:
    """Link `case` to an existing case the actor may see (staff of `case`); stored and audited on both sides.

    A case the actor may not see is refused exactly like one that does not exist, so linking reveals
    nothing about references."""
    if kind not in LINKABLE:
        choices = ", ".join(KIND_LABELS[k].lower() for k in LINKABLE)
        raise ValidationFailed("Choose how the cases are linked.", {"kind": [f"Choose one of: {choices}."]})
    if not access.is_staff_on(session, actor, case):
        raise PermissionDenied("Only agents of this case can link it to other cases.")
    ref = (other_ref or "").strip().upper()
    try:
        other = access.find_case_for(session, ref, actor) if ref else None
    except NotFound:
        other = None
    if other is None:
        message = f"There is no case {ref} that you may see." if ref else "Enter the reference of the other case."
        raise ValidationFailed(message, {"case": [message]})
    if other.id == case.id:
        raise ValidationFailed("A case cannot be linked to itself.", {"case": ["Enter another case's reference."]})
    existing = session.scalar(select(CaseLink.kind).where(CaseLink.case_id == case.id, CaseLink.other_id == other.id))
    if existing is not None:
        raise Conflict(f"{case.ref} is already linked to {other.ref} ({KIND_LABELS[existing].lower()}).")
    now = clock()
    try:
        with transaction(session):
            session.add_all([CaseLink(case_id=case.id, other_id=other.id, kind=kind, created_at=now),
                             CaseLink(case_id=other.id, other_id=case.id, kind=LINKABLE[kind], created_at=now)])
            session.flush()
            for mine, theirs, kind_here in ((case, other, kind), (other, case, LINKABLE[kind])):
                audit.append(session, mine.stream, "case.linked",
                             {"kind": kind_here, "other": theirs.ref, "other_id": theirs.id}, actor=actor, clock=clock)
    except IntegrityError:  # the same link, made at the same moment by someone else
        raise Conflict(f"{case.ref} was linked to {other.ref} meanwhile.") from None
    session.expire(case, ["links"])
    session.expire(other, ["links"])
    return other


@dataclass(frozen=True)
class LinkView:
    """A linked case as one viewer may see it: `visible` says whether they may open it."""

    kind: str
    id: int
    ref: str
    case_type: str
    visible: bool
    summary: str = ""
    state: str = ""
    is_open: bool = True

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


def links_for(session: Session, case: Case, viewer: User) -> list[LinkView]:
    """The links of `case` (which `viewer` may see) as `viewer` may see them."""
    staff = access.sees_internal(session, viewer, case)
    out = []
    for link in case.links:  # read with the case (access.get_case_for)
        other = link.other
        visible = access.can_view(session, viewer, other)
        if not visible and not staff:
            continue
        view = LinkView(kind=link.kind, id=other.id, ref=other.ref, case_type=other.case_type.title, visible=visible)
        if visible:
            state = case_spec(session, other).state(other.state).label
            view = LinkView(kind=link.kind, id=other.id, ref=other.ref, case_type=other.case_type.title,
                            visible=True, summary=other.summary, state=state, is_open=other.is_open)
        out.append(view)
    return out
