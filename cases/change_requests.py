"""Four-eyes change: an admin submits a definition's draft for review, a second admin approves or rejects it,
and only the approved snapshot is published, right away or at a given time (the periodic sweep).

Review is required when the instance-wide setting or the definition's own switch says so
(cases.definitions.review_required); then publishing directly is refused and nobody approves their own
change. Every step is an event in the definition's audit stream (`<kind>:<slug>`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from case_types.calendar import BusinessCalendar, read_calendar
from case_types.errors import Conflict, NotFound, ValidationFailed
from cases import accounts, audit, definitions, rule_backtest, rule_testing
from cases.clock import Clock, utcnow
from cases.errors import PermissionDenied
from cases.kinds import kind_of
from cases.models import ChangeRequest, Definition, DefinitionVersion, Role, Setting, User
from cases.rule_backtest import Backtest
from cases.uow import transaction
from forms.errors import DefinitionError
from forms.text import text_problem

log = logging.getLogger(__name__)
MAX_NOTE = 2000
#: The audit stream of the instance-wide review switch (shown in the auditor's definition log).
SETTINGS_STREAM = "instance:settings"
REVIEW_SETTING = "definition_review_required"


# ---------------------------------------------------------------- reading


def get(session: Session, change_id: int) -> ChangeRequest:
    change = session.get(ChangeRequest, change_id)
    if change is None:
        raise NotFound("No such change request.")
    return change


def open_change(session: Session, definition: Definition) -> ChangeRequest | None:
    """The definition's change waiting for review or for publishing (at most one at a time)."""
    return session.scalar(select(ChangeRequest).where(ChangeRequest.definition_id == definition.id,
                                                      ChangeRequest.status.in_(("pending", "approved"))))


def changes_of(session: Session, definition: Definition) -> Sequence[ChangeRequest]:
    """Every change request of the definition, newest first."""
    return session.scalars(select(ChangeRequest).where(ChangeRequest.definition_id == definition.id)
                           .order_by(ChangeRequest.id.desc())).all()


def waiting(session: Session) -> Sequence[ChangeRequest]:
    """The changes of every definition still waiting for review or for publishing, oldest first."""
    return session.scalars(select(ChangeRequest).where(ChangeRequest.status.in_(("pending", "approved")))
                           .options(joinedload(ChangeRequest.definition)).order_by(ChangeRequest.id)).all()


def changes(change: ChangeRequest) -> list[str]:
    """What the change does, in words, against the definition's latest version (what the reviewer approves)."""
    definition = change.definition
    latest = definition.latest_version
    if latest is None:
        return [f"First version of the {kind_of(definition.kind).label}."]
    try:
        return kind_of(definition.kind).diff(definitions.version_document(latest), json.loads(change.document))
    except DefinitionError:
        return []


def backtest(session: Session, change: ChangeRequest) -> Backtest | None:
    """For a case type whose rules change: the new rules against the published ones on recent cases."""
    definition = change.definition
    if definition.kind != "case_type":
        return None
    document = json.loads(change.document)
    latest = definition.latest_version
    before = rule_testing.rules_document(definitions.version_document(latest)) if latest else None
    if before == rule_testing.rules_document(document):
        return None
    return rule_backtest.backtest_draft(session, definition, document)


# ---------------------------------------------------------------- the steps


def submit(
    session: Session, definition: Definition, *, note: str, actor: User, expected_revision: int | None = None,
    clock: Clock = utcnow,
) -> ChangeRequest:
    """Submit the draft (as the page showed it) for review: a snapshot of it and its revision."""
    spec = kind_of(definition.kind)
    _require_admin(actor)
    if expected_revision is not None:
        definitions.check_revision(definition, expected_revision)
    if open_change(session, definition) is not None:
        raise Conflict(f"A change of this {spec.label} is already waiting for review or publishing; withdraw it "
                       "before submitting another.")
    try:
        document = spec.dump(spec.load(session, definitions.draft_document(definition)))
    except DefinitionError as exc:
        raise ValidationFailed(f"Fix the problems in the {spec.label} before submitting it for review.",
                               definitions.problems_as_fields(exc.errors)) from None
    text = definitions.canonical_json(document)
    latest = definition.latest_version
    if latest is not None and latest.document == text:
        raise Conflict(f"Nothing changed since version {latest.number}; there is nothing to review.")
    note = _text(note, "note")
    with transaction(session):
        change = ChangeRequest(definition_id=definition.id, status="pending", document=text,
                               draft_revision=definition.draft_revision, note=note, submitted_at=clock(),
                               submitted_by_id=actor.id, decision_comment="")
        session.add(change)
        session.flush()
        _event(session, change, "submitted", actor, clock, revision=change.draft_revision, note=note,
               changes=definitions.draft_changes(definition) or [])
    return change


def approve(session: Session, change: ChangeRequest, *, actor: User, comment: str = "",
            clock: Clock = utcnow) -> None:
    _decide(session, change, "approved", actor=actor, comment=comment, clock=clock)


def reject(session: Session, change: ChangeRequest, *, actor: User, comment: str, clock: Clock = utcnow) -> None:
    """Refuse the change; the draft stays as it is, to be fixed and submitted again."""
    if not (comment or "").strip():
        raise ValidationFailed("Say why the change is rejected.", {"comment": ["Say why the change is rejected."]})
    _decide(session, change, "rejected", actor=actor, comment=comment, clock=clock)


def _decide(session: Session, change: ChangeRequest, status: str, *, actor: User, comment: str,
            clock: Clock) -> None:
    _require_admin(actor)
    comment = _text(comment, "comment")
    if (change.submitted_by_id == actor.id and definitions.review_required(session, change.definition)):
        raise PermissionDenied("You submitted this change: another admin has to review it (four-eyes review).")
    with transaction(session):
        _lock(session, change, "pending", "This change has already been reviewed.")
        change.status, change.decided_at, change.decided_by_id = status, clock(), actor.id
        change.decision_comment = comment
        _event(session, change, status, actor, clock, comment=comment)


def withdraw(session: Session, change: ChangeRequest, *, actor: User, clock: Clock = utcnow) -> None:
    """Take back a change that is waiting for review or publishing (a schedule is cancelled with it)."""
    _require_admin(actor)
    with transaction(session):
        _lock(session, change, ("pending", "approved"), "This change is no longer waiting.")
        change.status, change.publish_at = "withdrawn", None
        _event(session, change, "withdrawn", actor, clock)


def publish(session: Session, change: ChangeRequest, *, actor: User, clock: Clock = utcnow) -> DefinitionVersion:
    """Publish exactly the approved snapshot (refused when the draft changed since it was submitted)."""
    _require_admin(actor)
    return definitions.publish(session, change.definition, actor=actor, change_note=change.note, clock=clock,
                               change=change)


#: What happens to a scheduled time outside the calendar's working hours: refused, or moved to the next opening.
OUTSIDE_HOURS = ("refuse", "next_opening")


def publishing_calendar(change: ChangeRequest) -> BusinessCalendar | None:
    """The working time a change takes effect in: the case type's own calendar (as the change has it). Forms
    and case types without a calendar take effect at any time."""
    if change.definition.kind != "case_type":
        return None
    raw = json.loads(change.document).get("calendar")
    calendar, problems = read_calendar(raw) if raw is not None else (None, [])
    return None if problems else calendar


def schedule(session: Session, change: ChangeRequest, *, at: datetime | None = None, next_business_day: bool = False,
             outside_hours: str = "refuse", actor: User, clock: Clock = utcnow) -> datetime:
    """The approved change takes effect at `at`, or at the opening of the next business day (published by
    the periodic sweep); cancellable until then. A time outside the case type's working hours is refused or,
    `outside_hours="next_opening"`, moved to the next opening. Returns the time it takes effect."""
    _require_admin(actor)
    calendar, now = publishing_calendar(change), clock()
    asked = at
    if next_business_day:
        if calendar is None:
            raise ValidationFailed("This definition has no business calendar: choose the date and time.",
                                   {"publish_at": ["Choose the date and time."]})
        at = calendar.next_day_opening(now)
    if at is None:
        raise ValidationFailed("Choose when the change takes effect.", {"publish_at": ["Choose a date and time."]})
    if at.tzinfo is None:
        raise ValueError("publish times are timezone-aware")
    if outside_hours not in OUTSIDE_HOURS:
        raise ValidationFailed("Say what happens outside working hours.",
                               {"outside_hours": [f"Choose one of {', '.join(OUTSIDE_HOURS)}."]})
    if at <= now:
        raise ValidationFailed("Choose a time in the future.", {"publish_at": ["Choose a time in the future."]})
    if calendar is not None and not calendar.is_working_time(at):
        if outside_hours == "refuse":
            message = (f"{calendar.local(at)} is outside the working hours ({calendar.describe()}): choose a time "
                       f"within them, or let it move to the next opening, {calendar.local(calendar.next_opening(at))}.")
            raise ValidationFailed(message, {"publish_at": [message]})
        at = calendar.next_opening(at)
    payload: dict[str, object] = {"at": at.isoformat()}
    if calendar is not None:
        payload["local"] = calendar.local(at)
        if next_business_day:
            payload["how"] = "next business day"
        elif asked is not None and asked != at:
            payload["how"] = f"moved from {calendar.local(asked)}, outside working hours, to the next opening"
    with transaction(session):
        _lock(session, change, "approved", "Only an approved change can be scheduled.")
        change.publish_at, change.scheduled_by_id = at, actor.id
        _event(session, change, "scheduled", actor, clock, **payload)
    return at


def cancel_schedule(session: Session, change: ChangeRequest, *, actor: User, clock: Clock = utcnow) -> None:
    _require_admin(actor)
    with transaction(session):
        _lock(session, change, "approved", "This change is no longer scheduled.")
        if change.publish_at is None:
            raise Conflict("This change is not scheduled.")
        at, change.publish_at = change.publish_at, None
        _event(session, change, "schedule_cancelled", actor, clock, at=at.isoformat())


def publish_due(session: Session, *, clock: Clock = utcnow, limit: int = 50) -> int:
    """Publish the scheduled changes that are due (the periodic sweep); returns how many were published.

    Several sweepers may run at once: each change is published under its row lock, once. A change that can
    no longer be published (its draft was edited) is unscheduled, with the reason in the audit stream.
    """
    now = clock()
    due = session.scalars(select(ChangeRequest.id).where(ChangeRequest.status == "approved",
                                                         ChangeRequest.publish_at <= now)
                          .order_by(ChangeRequest.publish_at, ChangeRequest.id).limit(limit)).all()
    published = 0
    for change_id in due:
        change = session.get(ChangeRequest, change_id, populate_existing=True)
        if change is None or change.status != "approved" or change.publish_at is None or change.publish_at > now:
            continue
        actor = change.scheduled_by or change.decided_by
        if actor is None:
            continue
        try:
            definitions.publish(session, change.definition, actor=actor, change_note=change.note, clock=clock,
                                change=change)
            published += 1
        except (Conflict, ValidationFailed) as exc:
            _unschedule_failed(session, change_id, exc.message, clock)
    return published


def _unschedule_failed(session: Session, change_id: int, reason: str, clock: Clock) -> None:
    with transaction(session):
        change = session.scalar(select(ChangeRequest).where(ChangeRequest.id == change_id).with_for_update()
                                .execution_options(populate_existing=True))
        if change is None or change.status != "approved" or change.publish_at is None:
            return  # another sweeper published it meanwhile
        change.publish_at = None
        _event(session, change, "schedule_failed", None, clock, reason=reason)
    log.warning("Scheduled change %s could not be published: %s", change_id, reason)


def restore_version(session: Session, definition: Definition, number: int, *, actor: User,
                    expected_revision: int | None = None, clock: Clock = utcnow) -> None:
    """Rollback without rewriting history: version `number` becomes the draft again, to be published as the
    next version (through review when it is required)."""
    _require_admin(actor)
    document = definitions.version_document(definitions.get_version(definition, number))
    definitions.save_draft(session, definition, document, actor=actor, expected_revision=expected_revision,
                           clock=clock)
    with transaction(session):
        audit.append(session, definition.stream, f"{definition.kind}.version_restored",
                     {"version": number, "revision": definition.draft_revision}, actor=actor, clock=clock)


def set_review_required(session: Session, definition: Definition, required: bool, *, actor: User,
                        clock: Clock = utcnow) -> None:
    """This definition's own four-eyes switch (the instance-wide one is in the admin settings)."""
    _require_admin(actor)
    if definition.review_required == required:
        return
    with transaction(session):
        definition.review_required = required
        audit.append(session, definition.stream, f"{definition.kind}.review_setting_changed",
                     {"review_required": required}, actor=actor, clock=clock)


def instance_review_required(session: Session) -> bool:
    return accounts.get_setting(session, REVIEW_SETTING) == "true"


def set_instance_review_required(session: Session, required: bool, *, actor: User, clock: Clock = utcnow) -> bool:
    """Turn four-eyes review on or off for every definition; the switch itself is an audit event (in
    SETTINGS_STREAM). Returns whether anything changed."""
    _require_admin(actor)
    if instance_review_required(session) == required:
        return False
    with transaction(session):
        row = session.get(Setting, REVIEW_SETTING)
        if row is None:
            session.add(Setting(key=REVIEW_SETTING, value="true" if required else "false"))
        else:
            row.value = "true" if required else "false"
        audit.append(session, SETTINGS_STREAM, "instance.review_setting_changed", {"review_required": required},
                     actor=actor, clock=clock)
    return True


def settings_history(session: Session) -> list[dict[str, object]]:
    """The instance-wide review switch's audit events, newest first (for the auditor's definition log)."""
    return [audit.event_json(e) for e in reversed(audit.events(session, SETTINGS_STREAM))]


# ---------------------------------------------------------------- helpers


def _require_admin(actor: User) -> None:
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied("Only admins review and publish changes.")


def _text(value: str, name: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_NOTE:
        raise ValidationFailed(f"Keep the {name} under {MAX_NOTE} characters.", {name: ["Too long."]})
    problem = text_problem(value)
    if problem:
        raise ValidationFailed(str(problem), {name: [str(problem)]})
    return value


def _lock(session: Session, change: ChangeRequest, status: str | tuple[str, ...], message: str) -> None:
    """Re-read the change under its row lock and refuse unless it is still in `status`."""
    session.scalar(select(ChangeRequest).where(ChangeRequest.id == change.id).with_for_update()
                   .execution_options(populate_existing=True))
    if change.status not in ((status,) if isinstance(status, str) else status):
        raise Conflict(message)


def _event(session: Session, change: ChangeRequest, step: str, actor: User | None, clock: Clock,
           **payload: object) -> None:
    definition = change.definition
    audit.append(session, definition.stream, f"{definition.kind}.change_{step}",
                 {"change_request": change.id, **payload}, actor=actor, clock=clock)
