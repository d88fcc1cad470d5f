"""The case lifecycle: filing, claiming, transitions with guards, edits, information requests, reopening."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from case_types.errors import Conflict, NotFound, ValidationFailed
from case_types.workflow import TransitionNotAllowed
from cases import access, accounts, assignment, audit, case_versions, conversation, lifecycle
from cases.clock import fixed
from cases.errors import PermissionDenied
from cases.models import AuditEvent, Case, Definition, OutboxMessage, User
from cases.submissions import Uploader
from tests.support.complaint import GOOD


def _file(session: Session, complaint_type: Definition, requester: User, **extra: Any) -> Case:
    return lifecycle.file_case(session, complaint_type, {**GOOD, **extra}, uploader=Uploader(requester))


def test_filing_numbers_routes_and_audits(session: Session, complaint_type: Definition, requester: User) -> None:
    case = _file(session, complaint_type, requester, state="resolved", assignee="agent@example.com",
                 priority="urgent")
    assert case.ref == "CMP-000001"
    assert (case.state, case.queue.slug, case.assignee_id, case.priority) == ("new", "general", None, "normal")
    assert case.summary == "Riley Requester"
    assert "state" not in json.loads(case.data)
    second = _file(session, complaint_type, requester)
    assert second.ref == "CMP-000002"
    events = audit.events(session, case.stream)
    assert [e.kind for e in events] == ["case.filed"]
    payload = json.loads(events[0].payload)
    assert payload["form_version"] == 1 and payload["state"] == "new" and payload["data"]["severity"] == "high"
    outbox = session.scalars(select(OutboxMessage)).all()
    assert [m.to for m in outbox] == ["riley@example.com", "riley@example.com"]


def test_an_unknown_choice_is_refused_not_routed(session: Session, complaint_type: Definition,
                                                 requester: User) -> None:
    with pytest.raises(ValidationFailed) as info:
        _file(session, complaint_type, requester, severity="apocalyptic")
    assert "severity" in info.value.fields
    assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_claiming(session: Session, complaint_type: Definition, requester: User, agent: User) -> None:
    case = _file(session, complaint_type, requester)
    outsider = accounts.create_user(session, email="out@example.com", name="Outsider", password="long enough pw",
                                    roles=["agent"])
    with pytest.raises(PermissionDenied):
        assignment.claim(session, case, outsider)
    assignment.claim(session, case, agent)
    assert case.assignee_id == agent.id
    colleague = accounts.create_user(session, email="col@example.com", name="Colleague",
                                     password="long enough pw", roles=["agent"])
    accounts.add_queue_member(session, case.queue, colleague)
    with pytest.raises(Conflict, match="Alex Agent already holds this case"):
        assignment.claim(session, case, colleague)


def test_transitions_are_guarded_with_reasons(session: Session, complaint_type: Definition, requester: User,
                                              agent: User) -> None:
    case = _file(session, complaint_type, requester)
    with pytest.raises(TransitionNotAllowed, match="not possible while the case is New"):
        lifecycle.transition(session, case, "resolve", agent, comment="done")
    with pytest.raises(TransitionNotAllowed, match="not allowed"):
        lifecycle.transition(session, case, "start", requester)
    with pytest.raises(TransitionNotAllowed, match="no transition 'fly'"):
        lifecycle.transition(session, case, "fly", agent)
    lifecycle.transition(session, case, "start", agent)
    with pytest.raises(TransitionNotAllowed, match="Add a comment"):
        lifecycle.transition(session, case, "resolve", agent)
    names = [t.key for t in lifecycle.allowed_transitions(session, case, agent)]
    assert names == ["resolve", "reject"]
    assert lifecycle.allowed_transitions(session, case, requester) == []
    lifecycle.transition(session, case, "resolve", agent, comment="Refund sent.")
    assert (case.state, case.is_open) == ("resolved", False) and case.closed_at is not None
    kinds = [e.kind for e in audit.events(session, case.stream)]
    assert kinds == ["case.filed", "case.transitioned", "case.transitioned"]
    assert audit.verify(session, case.stream).ok


def test_required_fields_come_with_the_transition(session: Session, admin: User, complaint_type: Definition,
                                                  requester: User, agent: User) -> None:
    from cases import definitions
    from tests.support.complaint import complaint_case_type_document

    document = complaint_case_type_document()
    document["transitions"][0]["required_fields"] = ["other_category"]
    definitions.save_draft(session, complaint_type, document, actor=admin)
    definitions.publish(session, complaint_type, actor=admin)
    case = _file(session, complaint_type, requester, category="other", other_category="Packaging")
    lifecycle.transition(session, case, "start", agent)
    assert case.state == "in_progress"
    case2 = _file(session, complaint_type, requester)
    with pytest.raises(TransitionNotAllowed, match="Fill in Which category"):
        lifecycle.transition(session, case2, "start", agent)


def test_field_edits_are_limited_by_state_and_audited(session: Session, complaint_type: Definition,
                                                      requester: User, agent: User) -> None:
    case = _file(session, complaint_type, requester)
    with pytest.raises(ValidationFailed):
        lifecycle.edit_fields(session, case, {"description": "Changed before work started, not allowed."}, agent)
    lifecycle.transition(session, case, "start", agent)
    with pytest.raises(ValidationFailed) as info:
        lifecycle.edit_fields(session, case, {"severity": "low"}, agent)
    assert "severity" in info.value.fields
    with pytest.raises(ValidationFailed):
        lifecycle.edit_fields(session, case, {"customer_tier": "platinum"}, agent)
    lifecycle.edit_fields(session, case, {"customer_tier": "silver"}, agent)
    event = audit.events(session, case.stream)[-1]
    assert event.kind == "case.updated"
    assert json.loads(event.payload)["changes"] == [{"field": "customer_tier", "before": "gold", "after": "silver"}]
    assert case_versions.case_data(case)["customer_tier"] == "silver"


def test_stale_page_gets_a_conflict_naming_who_and_when(session: Session, complaint_type: Definition,
                                                        requester: User, agent: User) -> None:
    case = _file(session, complaint_type, requester)
    seen = case.lock_version
    assignment.claim(session, case, agent, clock=fixed(datetime(2026, 6, 1, 9, 30, tzinfo=UTC)))
    with pytest.raises(Conflict, match=r"changed by Alex Agent at 2026-06-01 09:30 UTC"):
        assignment.set_priority(session, case, "high", agent, expected_version=seen)


def test_information_request_round_trip(session: Session, complaint_type: Definition, requester: User,
                                        agent: User) -> None:
    case = _file(session, complaint_type, requester)
    assignment.claim(session, case, agent)
    lifecycle.transition(session, case, "start", agent)
    with pytest.raises(PermissionDenied):
        conversation.request_information(session, case, requester, "?")
    conversation.request_information(session, case, agent, "Could you send a photo of the box?")
    assert (case.state, case.resume_state) == ("waiting", "in_progress")
    with pytest.raises(Conflict):
        conversation.request_information(session, case, agent, "Again?")
    with pytest.raises(PermissionDenied):
        conversation.answer_information(session, case, agent, "I answer for them")
    conversation.answer_information(session, case, requester, "Photo attached, the box was wet.")
    assert (case.state, case.resume_state) == ("in_progress", None)
    bodies = [c.body for c in conversation.comments_for(session, case, requester)]
    assert bodies == ["Could you send a photo of the box?", "Photo attached, the box was wet."]


def test_internal_comments_stay_internal(session: Session, complaint_type: Definition, requester: User,
                                         agent: User) -> None:
    case = _file(session, complaint_type, requester)
    conversation.add_comment(session, case, agent, "Looks like courier damage.", internal=True)
    conversation.add_comment(session, case, agent, "We are on it.")
    conversation.add_comment(session, case, requester, "Thanks!", internal=True)  # requesters cannot hide comments
    assert [c.body for c in conversation.comments_for(session, case, requester)] == ["We are on it.", "Thanks!"]
    assert len(conversation.comments_for(session, case, agent)) == 3


def test_reopen_within_the_allowed_days(session: Session, complaint_type: Definition, requester: User,
                                        agent: User) -> None:
    t0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    case = _file(session, complaint_type, requester)
    lifecycle.transition(session, case, "start", agent, clock=fixed(t0))
    lifecycle.transition(session, case, "resolve", agent, comment="Done", clock=fixed(t0))
    with pytest.raises(Conflict, match="within 30 days"):
        lifecycle.reopen(session, case, requester, clock=fixed(t0 + timedelta(days=31)))
    lifecycle.reopen(session, case, requester, reason="Still broken", clock=fixed(t0 + timedelta(days=3)))
    assert (case.state, case.is_open, case.closed_at) == ("in_progress", True, None)


def test_row_level_access(session: Session, complaint_type: Definition, requester: User, agent: User) -> None:
    case = _file(session, complaint_type, requester)
    other = accounts.create_user(session, email="o@example.com", name="O", password="long enough pw",
                                 roles=["requester"])
    outsider = accounts.create_user(session, email="x@example.com", name="X", password="long enough pw",
                                    roles=["agent"])
    auditor = accounts.create_user(session, email="a@example.com", name="A", password="long enough pw",
                                   roles=["auditor"])
    for user in (requester, agent, auditor):
        assert access.get_case_for(session, case.id, user) is case
    for user in (other, outsider):
        with pytest.raises(NotFound):
            access.get_case_for(session, case.id, user)
    assignment.claim(session, case, agent)
    visible = session.scalars(select(Case).where(access.visible_clause(session, outsider))).all()
    assert visible == []


def test_a_failure_halfway_leaves_no_case_and_no_event(session: Session, complaint_type: Definition,
                                                       requester: User, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full after the case row was written")

    monkeypatch.setattr(audit, "append", explode)
    with pytest.raises(RuntimeError):
        _file(session, complaint_type, requester)
    assert session.scalar(select(func.count()).select_from(Case)) == 0
    case_events = select(func.count()).select_from(AuditEvent).where(AuditEvent.stream.like("case:%"))
    assert session.scalar(case_events) == 0
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_new_case_type_version_does_not_touch_filed_cases(session: Session, admin: User,
                                                            complaint_type: Definition, requester: User) -> None:
    from cases import definitions
    from tests.support.complaint import complaint_case_type_document

    old = _file(session, complaint_type, requester)
    definitions.save_draft(session, complaint_type, complaint_case_type_document(prefix="CPL"), actor=admin)
    definitions.publish(session, complaint_type, actor=admin)
    new = _file(session, complaint_type, requester)
    assert new.ref.startswith("CPL-") and old.ref.startswith("CMP-")
    assert (old.case_type_version.number, new.case_type_version.number) == (1, 2)


def test_each_change_moves_the_version_by_exactly_one(session: Session, complaint_type: Definition,
                                                      requester: User, agent: User) -> None:
    case = _file(session, complaint_type, requester)
    assert case.lock_version == 1
    lifecycle.transition(session, case, "start", agent)
    assert case.lock_version == 2
    assignment.claim(session, case, agent)
    assignment.set_priority(session, case, "high", agent)
    assert case.lock_version == 4


def test_numbering_carries_on_after_the_highest_number_used(session: Session, complaint_type: Definition,
                                                            requester: User) -> None:
    """References continue after the prefix's counter (numbering from before PostgreSQL's per-prefix sequences),
    and two filings never share one."""
    from sqlalchemy import text

    from cases.models import CaseCounter

    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text('DROP SEQUENCE IF EXISTS "case_ref_cmp"'))  # as before the first filing ever
    session.add(CaseCounter(prefix="CMP", last=41))
    session.commit()
    try:
        first = lifecycle.file_case(session, complaint_type, GOOD, uploader=Uploader(requester))
        second = lifecycle.file_case(session, complaint_type, GOOD, uploader=Uploader(requester))
        assert (first.ref, second.ref) == ("CMP-000042", "CMP-000043")
    finally:
        if postgres:  # the next test's empty database starts at 1 again
            session.rollback()
            session.execute(text('DROP SEQUENCE IF EXISTS "case_ref_cmp"'))
            session.commit()
