"""The life of a case: filing, claiming and assigning, transitions, field edits, reopening (comments,
files and requests for information are cases.conversation). Each use case is one transaction holding
the change and its audit events.

Concurrency: every UPDATE of a case checks its `lock_version` (optimistic locking), so of two agents
who claim or change the same case at once exactly one wins; the other gets a Conflict that says who
changed it and when.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from case_types import workflow
from case_types.errors import Conflict, NotFound, ValidationFailed
from cases import (
    access,
    approvals,
    audit,
    automation,
    discretionary,
    links,
    milestones,
    notifications,
    recent,
    tasks,
    webhooks,
)
from cases.case_versions import case_schema, case_spec, published
from cases.clock import Clock, utcnow
from cases.errors import CaseChanged, PermissionDenied
from cases.models import (
    Case,
    Comment,
    Definition,
    DefinitionVersion,
    Queue,
    Role,
    User,
)
from cases.numbering import next_ref
from cases.privacy.values import seal, seal_changes, seal_fields
from cases.submissions import TRACKING_PREFIX, Uploader, files_for_filing
from cases.uow import transaction
from forms.errors import SubmissionInvalid
from forms.schema import FormSchema
from forms.text import text_problem
from forms.validation import from_json_values, to_json_values, validate_submission

MAX_COMMENT = 20_000


# ---------------------------------------------------------------- helpers


def _queue(session: Session, slug: str) -> Queue:
    queue = session.scalar(select(Queue).where(Queue.slug == slug))
    if queue is None:
        raise NotFound(f"Queue '{slug}' does not exist.")
    return queue


def _summary(schema: FormSchema, clean: Mapping[str, Any]) -> str:
    """A line to recognise the case by in lists: the first short text answer."""
    for spec in schema.fields:
        value = clean.get(spec.key)
        if spec.family == "text" and isinstance(value, str) and value.strip() and spec.type != "email":
            return value.strip().splitlines()[0][:200]
    return ""


def _who_changed(session: Session, case: Case) -> str:
    # By id: the relationship attribute may still hold the previous editor until the next refresh.
    editor = session.get(User, case.updated_by_id) if case.updated_by_id else None
    who = editor.name if editor else "someone"
    return f"This case was changed by {who} at {case.updated_at:%Y-%m-%d %H:%M} UTC. Reload to see the changes."


@contextmanager
def case_change(session: Session, case: Case, expected_version: int | None) -> Iterator[None]:
    """One use case on one case: a stale page or a lost race becomes a clear CaseChanged conflict."""
    observed = case.lock_version  # the version the caller's checks were made against
    if expected_version is not None and expected_version != observed:
        raise CaseChanged(_who_changed(session, case))
    try:
        # No autoflush: reading an expired attribute mid-change must not write half of it (one UPDATE
        # per use case, so lock_version moves by exactly one).
        with transaction(session), session.no_autoflush:
            # On SQLite the write lock is taken by refreshing the case; if it moved meanwhile, the checks
            # above were made on old data. (PostgreSQL's UPDATE ... WHERE lock_version catches the same.)
            if case.lock_version != observed:
                raise StaleDataError("case changed before the write lock was taken")
            yield
    except StaleDataError:
        session.expire_all()
        fresh = session.get(Case, case.id)
        if fresh is None:
            raise Conflict("This case was changed by someone else.") from None
        raise CaseChanged(_who_changed(session, fresh)) from None


def touch(session: Session, case: Case, actor: User | None, clock: Clock) -> None:
    """Record who changed the case and flush, so the version check runs before the audit events."""
    case.updated_at = clock()
    case.updated_by_id = actor.id if actor else None
    session.flush()


def _validate(schema: FormSchema, raw: Mapping[str, Any], refs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    try:
        return validate_submission(schema, raw, files=refs)
    except SubmissionInvalid as exc:
        raise ValidationFailed("Some answers need attention.", exc.errors) from None


def notify_requester(session: Session, case: Case, subject: str, body: str, reason: str, clock: Clock) -> None:
    to = case.requester.email if case.requester else case.contact_email
    notifications.queue_message(session, to=to, subject=f"[{case.ref}] {subject}", body=body, reason=reason,
                                case=case, clock=clock)


# ---------------------------------------------------------------- filing


def file_case_anonymously(
    session: Session, case_type: Definition, raw: Mapping[str, Any], *, uploader: Uploader,
    file_ids: Mapping[str, Sequence[int]] | None = None, contact_email: str = "", clock: Clock = utcnow,
) -> tuple[Case, str]:
    """File a case on a public case type without an account; returns the case and its tracking token
    (shown once, stored hashed)."""
    token = TRACKING_PREFIX + secrets.token_urlsafe(24)
    case = file_case(session, case_type, raw, uploader=uploader, file_ids=file_ids, contact_email=contact_email,
                     clock=clock, tracking_hash=hashlib.sha256(token.encode()).hexdigest())
    return case, token


def case_by_tracking_token(session: Session, token: str) -> Case:
    if not token or not token.startswith(TRACKING_PREFIX) or len(token) > 100:
        raise NotFound("This tracking link is not valid.")
    case = session.scalar(select(Case).where(Case.tracking_hash == hashlib.sha256(token.encode()).hexdigest()))
    if case is None:
        raise NotFound("This tracking link is not valid.")
    return case


def _open_version(case_type: Definition, user: User | None) -> DefinitionVersion:
    """The version a new case is filed under, if the case type takes requests from this user."""
    if case_type.kind != "case_type" or case_type.archived or not case_type.open_for_requests \
            or case_type.latest_version is None:
        raise NotFound("This case type is not open for requests.")
    if user is None and not case_type.public:
        raise PermissionDenied("Log in to file this request.")
    if user is not None and not user.has_role(Role.REQUESTER):
        raise PermissionDenied("Only requesters file cases.")
    return case_type.latest_version


def _routing_inputs(session: Session, case_type: Definition, version: DefinitionVersion, spec: workflow.CaseTypeSpec, *,
                    email: str, user: User | None, now: datetime) -> tuple[dict[str, Queue], Any, bool]:
    """The rules' facts that need the database, every queue a decision may name and whether a webhook
    subscription may want the case's events, read in two queries before the write transaction. Rules
    that cannot even compile are left to run_rules, which sends the case to the fallback queue."""
    try:
        compiled = automation.compiled_for(session, case_type.slug, version, spec)
    except automation.RULE_ERRORS:
        compiled = None
    # With the queues: whether any webhook subscription wants this case type's events (file_case).
    rows = session.execute(select(Queue, webhooks.subscribed(case_type.id)).where(
        Queue.slug.in_(sorted(automation.queues_named(compiled, spec))))).all()
    queues = {q.slug: q for q, _subscribed in rows}
    subscribed = any(flag for _q, flag in rows)
    if spec.default_queue not in queues:
        raise NotFound(f"Queue '{spec.default_queue}' does not exist.")
    try:
        prepared = recent.prepared_facts(session, compiled, case_type_id=case_type.id, contact_email=email,
                                         requester_id=user.id if user else None, created_at=now)
    except automation.RULE_ERRORS:
        prepared = None
    return queues, prepared, subscribed


def file_case(
    session: Session, case_type: Definition, raw: Mapping[str, Any], *, uploader: Uploader,
    file_ids: Mapping[str, Sequence[int]] | None = None, contact_email: str = "", clock: Clock = utcnow,
    tracking_hash: str | None = None,
) -> Case:
    """File a case: validate against the pinned form, number it, put it in its initial state and queue."""
    user = uploader.user
    version = _open_version(case_type, user)
    # Everything that needs no write lock happens first: the definition from the per-process cache of
    # published versions, validation, the queue. The write transaction then only writes (and runs the rules).
    pinned = published(session, version)
    spec, schema = pinned.spec, pinned.schema
    files = files_for_filing(session, file_ids, uploader)
    clean = _validate(schema, raw, {key: [f.ref() for f in fs] for key, fs in files.items()})
    data = to_json_values(clean)
    kept = {r["id"] for v in clean.values() if isinstance(v, list) for r in v if isinstance(r, Mapping) and "id" in r}
    email = (contact_email or (user.email if user else "")).strip().lower()[:254]
    now = clock()
    queues, prepared, subscribed = _routing_inputs(session, case_type, version, spec, email=email, user=user,
                                                   now=now)
    queue = queues[spec.default_queue]
    # keep_loaded: the user, case type and queue read above stay as read (on SQLite the read snapshot ends
    # without reloading them), and the response is answered from the objects written, not re-read.
    with transaction(session, keep_loaded=True):
        if not subscribed:
            webhooks.no_subscriptions(session, case_type.id)
        case = Case(
            ref=next_ref(session, spec.prefix), case_type=case_type, case_type_version_id=version.id,
            form_version_id=pinned.form_version_id, summary=_summary(schema, clean), data=json.dumps(data),
            state=spec.initial.key, is_open=True, queue=queue, priority="normal",
            requester=user, contact_email=email, tracking_hash=tracking_hash,
            created_at=now, updated_at=now, updated_by_id=user.id if user else None,
            due_at=None, closed_at=None, resume_state=None, assignee=None, tags="[]",
        )
        session.add(case)
        session.flush()
        for stored in (f for fs in files.values() for f in fs if f.id in kept):
            stored.case_id = case.id
        audit.append(session, case.stream, "case.filed", {
            "ref": case.ref, "case_type": case_type.slug, "case_type_version": version.number,
            "form": spec.form.slug, "form_version": spec.form.version,
            "data": seal_fields(session, data, schema.personal_keys, case_id=case.id, clock=clock),
            "state": case.state, "queue": queue.slug, "priority": case.priority,
        }, actor=user, clock=clock, fresh=True)
        automation.state_entered(session, case, spec, None, clock)
        automation.run_rules(session, case, "case.submitted", actor=user, clock=clock, prepared=prepared,
                             queues=queues)
        notify_requester(session, case, f"We received your request: {spec.name}",
                          f"Your request {case.ref} ({spec.name}) has been received. We will keep you posted.",
                          "case.filed", clock)
    return case


# ---------------------------------------------------------------- claiming and assigning


def require_staff(session: Session, user: User, case: Case) -> None:
    if not access.is_staff_on(session, user, case):
        raise PermissionDenied("Only agents of this case's queue can do this.")


# ---------------------------------------------------------------- transitions and edits


def _refuse_while_awaiting_approval(session: Session, case: Case) -> None:
    if approvals.pending_approval(session, case) is not None:
        raise workflow.TransitionNotAllowed("The case waits for an approval; it moves on once that is decided.")


def allowed_transitions(session: Session, case: Case, user: User) -> list[workflow.Transition]:
    """The transitions `user` may fire on `case` now (required fields and comments are checked on firing)."""
    if approvals.pending_approval(session, case) is not None:
        return []
    spec = case_spec(session, case)
    actor = access.actor_facts(session, user, case)
    return [t for t in spec.transitions_from(case.state) if workflow.may_fire(t, actor)]


def _merge(case: Case, changes: Mapping[str, Any], allowed: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate the case data with `changes` applied; returns (before, after) as JSON values."""
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed("These fields cannot be changed now.",
                               {key: ["This field cannot be changed in the case's current state."]
                                for key in sorted(unknown)})
    before = json.loads(case.data)
    raw = {**before, **changes}
    schema = case_schema(case)
    refs = {k: v for k, v in before.items() if isinstance(v, list) and schema.by_key.get(k) is not None
            and schema.by_key[k].family == "file"}
    after = to_json_values(_validate(schema, raw, refs))
    return before, after


def _data_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"field": key, "before": before.get(key), "after": after.get(key)}
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]


def _sealed_changes(session: Session, case: Case, changes: list[dict[str, Any]], clock: Clock) -> list[dict[str, Any]]:
    """Data changes as the chain keeps them: personal fields' before and after sealed."""
    return seal_changes(session, changes, case_schema(case).personal_keys, case_id=case.id, clock=clock)


def writable_fields(session: Session, case: Case, move: workflow.Transition, actor: User) -> set[str]:
    """The fields `actor` may send with `move`: its required fields (whoever may fire it fills them), and
    the fields the case type lets staff edit in the current state, for staff on the case only."""
    allowed = set(move.required_fields)
    if access.is_staff_on(session, actor, case):
        allowed |= set(case_spec(session, case).editable_fields.get(case.state, ()))
    return allowed


def transition(
    session: Session, case: Case, key: str, actor: User, *, comment: str = "",
    data: Mapping[str, Any] | None = None, expected_version: int | None = None, clock: Clock = utcnow,
) -> Case:
    """Fire a transition; an illegal one raises TransitionNotAllowed with the reason."""
    spec = case_spec(session, case)
    move = spec.transition(key)
    changes = dict(data or {})
    allowed_fields = writable_fields(session, case, move, actor)
    before, after = (json.loads(case.data), json.loads(case.data))
    if changes:
        before, after = _merge(case, changes, allowed_fields)
    filled = {k for k, v in after.items() if v not in (None, "", [])}
    _refuse_while_awaiting_approval(session, case)
    workflow.check_transition(spec, move, state=case.state, actor=access.actor_facts(session, actor, case),
                              filled=filled, comment=comment)
    tasks.refuse_while_open(session, case, move)
    discretionary.refuse_closing(session, case, spec, move)
    links.refuse_while_children_open(session, case, move)
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed("The comment is too long.", {"comment": [f"Use at most {MAX_COMMENT} characters."]})
    problem = text_problem(comment)
    if problem:
        raise ValidationFailed(problem, {"comment": [problem]})
    source = case.state
    with case_change(session, case, expected_version):
        if after != before:
            case.data = json.dumps(after)
            case.summary = _summary(case_schema(case), from_json_values(case_schema(case), after)) or case.summary
        automation.enter_state(case, spec, move.target, clock)
        case.resume_state = None
        touch(session, case, actor, clock)
        if after != before:
            audit.append(session, case.stream, "case.updated",
                         {"changes": _sealed_changes(session, case, _data_changes(before, after), clock)},
                         actor=actor, clock=clock)
        audit.append(session, case.stream, "case.transitioned",
                     {"transition": move.key, "label": move.label, "from": source, "to": move.target,
                      "comment": seal(session, comment.strip(), path="comment", case_id=case.id, clock=clock)},
                     actor=actor, clock=clock)
        automation.state_entered(session, case, spec, source, clock)
        milestones.reach(session, case, spec, actor=actor, clock=clock, transition=move.key)
        tasks.create_for(session, case, move, actor=actor, clock=clock)
        if comment.strip():
            session.add(Comment(case_id=case.id, author_id=actor.id, body=comment.strip(), internal=False,
                                created_at=clock()))
        automation.run_rules(session, case, "case.transitioned", actor=actor, clock=clock, transition=move.key)
        if not case.is_open:
            state = spec.state(move.target)
            notify_requester(session, case, f"Your request is {state.label.lower()}",
                              f"Your request {case.ref} is now {state.label}." +
                              (f"\n\n{comment.strip()}" if comment.strip() else ""), "case.closed", clock)
    return case


def edit_fields(session: Session, case: Case, changes: Mapping[str, Any], actor: User, *,
                expected_version: int | None = None, clock: Clock = utcnow) -> Case:
    """Change the fields the case type lets staff edit in the current state; each change is audited."""
    require_staff(session, actor, case)
    if not case.is_open:
        raise Conflict("The case is closed.")
    spec = case_spec(session, case)
    before, after = _merge(case, changes, set(spec.editable_fields.get(case.state, ())))
    diff = _data_changes(before, after)
    if not diff:
        return case
    with case_change(session, case, expected_version):
        case.data = json.dumps(after)
        case.summary = _summary(case_schema(case), from_json_values(case_schema(case), after)) or case.summary
        touch(session, case, actor, clock)
        audit.append(session, case.stream, "case.updated", {"changes": _sealed_changes(session, case, diff, clock)},
                     actor=actor, clock=clock)
        automation.run_rules(session, case, "case.updated", actor=actor, clock=clock)
    return case



def reopen(session: Session, case: Case, actor: User, *, reason: str = "", clock: Clock = utcnow) -> Case:
    """Reopen a closed case when its case type allows it, within the allowed number of days."""
    spec = case_spec(session, case)
    if case.is_open:
        raise Conflict("The case is open.")
    if spec.reopen is None:
        raise Conflict("Cases of this type cannot be reopened.")
    staff = access.is_staff_on(session, actor, case)
    if not staff and case.requester_id != actor.id:
        raise PermissionDenied("You cannot reopen this case.")
    closed = case.closed_at or case.updated_at
    if clock() - closed > timedelta(days=spec.reopen.within_days):
        raise Conflict(f"Cases can be reopened within {spec.reopen.within_days} days of closing.")
    source = case.state
    with case_change(session, case, None):
        automation.enter_state(case, spec, spec.reopen.to, clock)
        touch(session, case, actor, clock)
        audit.append(session, case.stream, "case.reopened",
                     {"from": source, "to": case.state,
                      "reason": seal(session, (reason or "").strip(), path="reason", case_id=case.id, clock=clock)},
                     actor=actor, clock=clock)
        automation.state_entered(session, case, spec, source, clock)
        if reason.strip():
            session.add(Comment(case_id=case.id, author_id=actor.id, body=reason.strip(), internal=False,
                                created_at=clock()))
    return case
