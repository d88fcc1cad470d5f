"""Four-eyes change requests and scheduled publishing, for forms and case types, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from case_types.errors import Conflict, ValidationFailed
from cases import accounts, audit, change_requests, definitions
from cases.clock import fixed
from cases.errors import PermissionDenied
from cases.models import Definition, User
from tests.support.complaint import complaint_document

NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def reviewer(session: Session) -> User:
    return accounts.create_user(session, email="bo@example.com", name="Bo Reviewer", password="long enough pw",
                                roles=["admin"])


@pytest.fixture
def reviewed(session: Session, complaint: Definition) -> None:
    """Review turned on once the complaint form is published (as an admin would, later)."""
    accounts.set_setting(session, "definition_review_required", "true")


def _edit(session: Session, form: Definition, admin: User, label: str = "Full name") -> None:
    document = complaint_document()
    document["pages"][0]["fields"][1]["label"] = label
    definitions.save_draft(session, form, document, actor=admin)


def _payloads(session: Session, form: Definition) -> list[dict[str, object]]:
    return [audit.event_json(e)["payload"] for e in audit.events(session, form.stream)]


def _kinds(session: Session, form: Definition) -> list[str]:
    return [e.kind for e in audit.events(session, form.stream)]


def test_review_is_off_for_a_new_instance(session: Session, admin: User, complaint: Definition) -> None:
    assert not definitions.review_required(session, complaint)
    _edit(session, complaint, admin)
    assert definitions.publish(session, complaint, actor=admin).number == 2


@pytest.mark.usefixtures("reviewed")
def test_review_required_refuses_direct_publish_and_self_approval(session: Session, admin: User,
                                                                   complaint: Definition) -> None:
    _edit(session, complaint, admin)
    with pytest.raises(PermissionDenied, match="Review is required"):
        definitions.publish(session, complaint, actor=admin)
    change = change_requests.submit(session, complaint, note="Clearer label", actor=admin,
                                    expected_revision=complaint.draft_revision)
    with pytest.raises(PermissionDenied, match="another admin"):
        change_requests.approve(session, change, actor=admin)
    with pytest.raises(Conflict, match="Only an approved change"):
        change_requests.publish(session, change, actor=admin)
    assert change.status == "pending" and [v.number for v in complaint.versions] == [1]


@pytest.mark.usefixtures("reviewed")
def test_approval_by_another_admin_publishes_exactly_the_snapshot(session: Session, admin: User, reviewer: User,
                                                                  complaint: Definition) -> None:
    _edit(session, complaint, admin)
    change = change_requests.submit(session, complaint, note="Clearer label", actor=admin)
    assert any("Full name" in line for line in change_requests.changes(change))
    change_requests.approve(session, change, actor=reviewer, comment="Looks right")
    version = change_requests.publish(session, change, actor=admin)
    assert version.number == 2 and version.change_note == "Clearer label"
    assert version.document == change.document
    assert change.status == "published" and change.version_number == 2
    assert _kinds(session, complaint)[-3:] == ["form.change_submitted", "form.change_approved", "form.published"]
    payloads = _payloads(session, complaint)
    assert payloads[-2]["comment"] == "Looks right" and payloads[-1]["change_request"] == change.id
    assert payloads[-3]["note"] == "Clearer label"
    with pytest.raises(Conflict):
        change_requests.publish(session, change, actor=admin)  # never twice


@pytest.mark.usefixtures("reviewed")
def test_a_draft_edited_after_submission_is_not_published(session: Session, admin: User, reviewer: User,
                                                          complaint: Definition) -> None:
    _edit(session, complaint, admin)
    change = change_requests.submit(session, complaint, note="", actor=admin)
    change_requests.approve(session, change, actor=reviewer)
    _edit(session, complaint, admin, "Something nobody reviewed")
    with pytest.raises(Conflict, match="changed after this change was submitted"):
        change_requests.publish(session, change, actor=reviewer)
    assert [v.number for v in complaint.versions] == [1] and change.status == "approved"


@pytest.mark.usefixtures("reviewed")
def test_rejection_keeps_the_draft(session: Session, admin: User, reviewer: User, complaint: Definition) -> None:
    _edit(session, complaint, admin)
    draft, revision = complaint.draft, complaint.draft_revision
    change = change_requests.submit(session, complaint, note="Try", actor=admin)
    with pytest.raises(ValidationFailed, match="Say why"):
        change_requests.reject(session, change, actor=reviewer, comment=" ")
    change_requests.reject(session, change, actor=reviewer, comment="The old label is the legal wording")
    assert change.status == "rejected" and change.decided_by_id == reviewer.id
    assert complaint.draft == draft and complaint.draft_revision == revision
    assert [v.number for v in complaint.versions] == [1]
    with pytest.raises(Conflict):
        change_requests.approve(session, change, actor=reviewer)
    assert _kinds(session, complaint)[-1] == "form.change_rejected"
    # the kept draft can be submitted again
    assert change_requests.submit(session, complaint, note="Again", actor=admin).status == "pending"


def test_submitting_refuses_a_draft_with_problems_nothing_new_or_a_second_open_change(
        session: Session, admin: User, complaint: Definition) -> None:
    with pytest.raises(Conflict, match="nothing to review"):
        change_requests.submit(session, complaint, note="", actor=admin)
    _edit(session, complaint, admin)
    change = change_requests.submit(session, complaint, note="", actor=admin)
    with pytest.raises(Conflict, match="already waiting"):
        change_requests.submit(session, complaint, note="", actor=admin)
    change_requests.withdraw(session, change, actor=admin)
    assert change.status == "withdrawn" and change_requests.open_change(session, complaint) is None
    document = complaint_document()
    document["pages"][0]["fields"][2]["key"] = "name"
    definitions.save_draft(session, complaint, document, actor=admin)
    with pytest.raises(ValidationFailed, match="Fix the problems"):
        change_requests.submit(session, complaint, note="", actor=admin)


def test_without_review_an_admin_may_approve_their_own_change(session: Session, admin: User,
                                                               complaint: Definition) -> None:
    _edit(session, complaint, admin)
    change = change_requests.submit(session, complaint, note="", actor=admin)
    change_requests.approve(session, change, actor=admin)
    assert change_requests.publish(session, change, actor=admin).number == 2


def test_review_per_definition(session: Session, admin: User, reviewer: User, complaint: Definition,
                               complaint_type: Definition) -> None:
    change_requests.set_review_required(session, complaint_type, True, actor=admin)
    assert definitions.review_required(session, complaint_type)
    assert not definitions.review_required(session, complaint)
    assert _kinds(session, complaint_type)[-1] == "case_type.review_setting_changed"
    document = definitions.draft_document(complaint_type)
    document["name"] = "Customer complaint (reviewed)"
    definitions.save_draft(session, complaint_type, document, actor=admin)
    with pytest.raises(PermissionDenied):
        definitions.publish(session, complaint_type, actor=admin)
    change = change_requests.submit(session, complaint_type, note="Rename", actor=admin)
    change_requests.approve(session, change, actor=reviewer)
    assert change_requests.publish(session, change, actor=reviewer).number == 2
    assert audit.events(session, complaint_type.stream)[-1].kind == "case_type.published"


@pytest.mark.usefixtures("reviewed")
def test_a_scheduled_change_takes_effect_at_its_time_and_not_before(session: Session, admin: User,
                                                                     reviewer: User, complaint: Definition) -> None:
    _edit(session, complaint, admin)
    change = change_requests.submit(session, complaint, note="At noon", actor=admin)
    with pytest.raises(Conflict, match="Only an approved change"):
        change_requests.schedule(session, change, at=NOON, actor=reviewer, clock=fixed(NOON - timedelta(hours=1)))
    change_requests.approve(session, change, actor=reviewer)
    with pytest.raises(ValidationFailed, match="future"):
        change_requests.schedule(session, change, at=NOON, actor=reviewer, clock=fixed(NOON))
    change_requests.schedule(session, change, at=NOON, actor=reviewer, clock=fixed(NOON - timedelta(hours=1)))
    assert change_requests.publish_due(session, clock=fixed(NOON - timedelta(seconds=1))) == 0
    assert [v.number for v in complaint.versions] == [1]
    assert change_requests.publish_due(session, clock=fixed(NOON)) == 1
    session.expire_all()
    assert [v.number for v in complaint.versions] == [1, 2]
    assert complaint.versions[1].published_at == NOON and complaint.versions[1].published_by_id == reviewer.id
    assert change.status == "published" and change.publish_at is None
    assert change_requests.publish_due(session, clock=fixed(NOON + timedelta(hours=1))) == 0
    assert _kinds(session, complaint)[-4:] == ["form.change_submitted", "form.change_approved",
                                               "form.change_scheduled", "form.published"]


@pytest.mark.usefixtures("reviewed")
def test_a_schedule_is_cancellable_until_it_takes_effect(session: Session, admin: User, reviewer: User,
                                                         complaint: Definition) -> None:
    _edit(session, complaint, admin)
    change = change_requests.submit(session, complaint, note="", actor=admin)
    change_requests.approve(session, change, actor=reviewer)
    change_requests.schedule(session, change, at=NOON, actor=reviewer, clock=fixed(NOON - timedelta(hours=1)))
    change_requests.cancel_schedule(session, change, actor=admin, clock=fixed(NOON - timedelta(minutes=1)))
    assert change_requests.publish_due(session, clock=fixed(NOON + timedelta(minutes=1))) == 0
    assert [v.number for v in complaint.versions] == [1] and change.status == "approved"
    assert _kinds(session, complaint)[-1] == "form.change_schedule_cancelled"
    with pytest.raises(Conflict, match="not scheduled"):
        change_requests.cancel_schedule(session, change, actor=admin)


@pytest.mark.usefixtures("reviewed")
def test_a_scheduled_change_whose_draft_was_edited_is_unscheduled_with_the_reason(
        session: Session, admin: User, reviewer: User, complaint: Definition) -> None:
    _edit(session, complaint, admin)
    change = change_requests.submit(session, complaint, note="", actor=admin)
    change_requests.approve(session, change, actor=reviewer)
    change_requests.schedule(session, change, at=NOON, actor=reviewer, clock=fixed(NOON - timedelta(hours=1)))
    _edit(session, complaint, admin, "Edited after the review")
    assert change_requests.publish_due(session, clock=fixed(NOON)) == 0
    session.expire_all()
    assert [v.number for v in complaint.versions] == [1] and change.publish_at is None
    assert _kinds(session, complaint)[-1] == "form.change_schedule_failed"
    assert "changed after" in str(_payloads(session, complaint)[-1]["reason"])


@pytest.mark.usefixtures("reviewed")
def test_importing_with_publish_is_refused_while_review_is_required(session: Session, admin: User,
                                                                     complaint: Definition) -> None:
    document = complaint_document()
    document["title"] = "Imported complaint"
    raw = definitions.canonical_json(document).encode()
    with pytest.raises(PermissionDenied, match="import it without publishing"):
        definitions.import_document(session, "form", raw, slug="complaint", actor=admin, publish_now=True)
    assert definitions.draft_document(complaint)["title"] != "Imported complaint"  # nothing changed
    definitions.import_document(session, "form", raw, slug="complaint", actor=admin)
    assert definitions.draft_document(complaint)["title"] == "Imported complaint"


def test_only_admins_take_part(session: Session, admin: User, requester: User, complaint: Definition) -> None:
    _edit(session, complaint, admin)
    with pytest.raises(PermissionDenied):
        change_requests.submit(session, complaint, note="", actor=requester)


@pytest.mark.usefixtures("reviewed")
def test_rollback_publishes_an_earlier_version_again_as_a_new_one_through_review(
        session: Session, admin: User, reviewer: User, complaint: Definition) -> None:
    _edit(session, complaint, admin)
    first = change_requests.submit(session, complaint, note="v2", actor=admin)
    change_requests.approve(session, first, actor=reviewer)
    change_requests.publish(session, first, actor=admin)
    change_requests.restore_version(session, complaint, 1, actor=admin, expected_revision=complaint.draft_revision)
    assert definitions.draft_changes(complaint)  # the draft is version 1 again, unlike version 2
    with pytest.raises(PermissionDenied):
        definitions.publish(session, complaint, actor=admin)
    back = change_requests.submit(session, complaint, note="Back to the old label", actor=admin)
    change_requests.approve(session, back, actor=reviewer)
    version = change_requests.publish(session, back, actor=reviewer)
    assert version.number == 3 and version.document == complaint.versions[0].document
    assert [v.number for v in complaint.versions] == [1, 2, 3]  # history kept
    assert "form.version_restored" in _kinds(session, complaint)


LONDON = {"timezone": "Europe/London", "days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00",
          "holidays": ["2026-12-07"]}
FRIDAY_EVENING = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)  # after closing in London (UTC+0 in winter)
TUESDAY_OPENING = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)  # Monday 7 December is a holiday


def _calendar_change(session: Session, admin: User, reviewer: User, case_type: Definition) -> object:
    """An approved change of a case type that works London office hours (review on)."""
    accounts.set_setting(session, "definition_review_required", "true")
    document = definitions.draft_document(case_type)
    document["calendar"] = LONDON
    assert definitions.save_draft(session, case_type, document, actor=admin) == []
    change = change_requests.submit(session, case_type, note="Office hours", actor=admin)
    change_requests.approve(session, change, actor=reviewer)
    return change


def test_a_time_outside_working_hours_is_refused_or_moved_to_the_next_opening(
        session: Session, admin: User, reviewer: User, complaint_type: Definition) -> None:
    change = _calendar_change(session, admin, reviewer, complaint_type)
    before = fixed(FRIDAY_EVENING - timedelta(hours=8))
    with pytest.raises(ValidationFailed, match=r"Friday 2026-12-04 18:00 Europe/London is outside the working "
                                               r"hours .Monday to Friday, 09:00 to 17:00 Europe/London, except "
                                               r"holidays.*Tuesday 2026-12-08 09:00") as refused:
        change_requests.schedule(session, change, at=FRIDAY_EVENING, actor=reviewer, clock=before)
    assert "publish_at" in refused.value.fields and change.publish_at is None
    with pytest.raises(ValidationFailed, match="outside working hours"):
        change_requests.schedule(session, change, at=FRIDAY_EVENING, outside_hours="later", actor=reviewer,
                                 clock=before)
    at = change_requests.schedule(session, change, at=FRIDAY_EVENING, outside_hours="next_opening", actor=reviewer,
                                  clock=before)
    assert at == change.publish_at == TUESDAY_OPENING
    payload = _payloads(session, complaint_type)[-1]
    assert payload["at"] == TUESDAY_OPENING.isoformat() and payload["local"] == "Tuesday 2026-12-08 09:00 Europe/London"
    assert payload["how"] == ("moved from Friday 2026-12-04 18:00 Europe/London, outside working hours, to the next "
                              "opening")
    assert change_requests.publish_due(session, clock=fixed(TUESDAY_OPENING - timedelta(seconds=1))) == 0
    assert [v.number for v in complaint_type.versions] == [1]
    assert change_requests.publish_due(session, clock=fixed(TUESDAY_OPENING)) == 1
    session.expire_all()
    assert [v.number for v in complaint_type.versions] == [1, 2]
    assert complaint_type.versions[1].published_at == TUESDAY_OPENING


def test_next_business_day_takes_effect_at_its_opening_and_not_before(
        session: Session, admin: User, reviewer: User, complaint_type: Definition) -> None:
    change = _calendar_change(session, admin, reviewer, complaint_type)
    friday_noon = fixed(datetime(2026, 12, 4, 12, 0, tzinfo=UTC))
    at = change_requests.schedule(session, change, next_business_day=True, actor=reviewer, clock=friday_noon)
    assert at == TUESDAY_OPENING  # not Saturday, not the Monday holiday
    assert _payloads(session, complaint_type)[-1]["how"] == "next business day"
    assert change_requests.publish_due(session, clock=fixed(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))) == 0
    assert change_requests.publish_due(session, clock=fixed(TUESDAY_OPENING + timedelta(seconds=1))) == 1
    assert change.status == "published"


@pytest.mark.usefixtures("reviewed")
def test_without_a_calendar_any_time_is_accepted_and_next_business_day_is_refused(
        session: Session, admin: User, reviewer: User, complaint: Definition) -> None:
    _edit(session, complaint, admin)
    change = change_requests.submit(session, complaint, note="", actor=admin)
    change_requests.approve(session, change, actor=reviewer)
    with pytest.raises(ValidationFailed, match="no business calendar"):
        change_requests.schedule(session, change, next_business_day=True, actor=reviewer,
                                 clock=fixed(FRIDAY_EVENING - timedelta(hours=1)))
    assert change_requests.schedule(session, change, at=FRIDAY_EVENING, actor=reviewer,
                                    clock=fixed(FRIDAY_EVENING - timedelta(hours=1))) == FRIDAY_EVENING


def test_two_sweepers_at_once_publish_each_scheduled_change_exactly_once(
        session: Session, database_url: str, admin: User, reviewer: User, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both sweepers read the same due changes and then try to publish each one at the same instant (a
    barrier before every publish): one wins under the row lock, the other leaves it alone, no failure noted."""
    import contextlib
    import threading

    from cases.models import AuditEvent
    from tests.support.concurrency import race

    accounts.set_setting(session, "definition_review_required", "true")
    forms = []
    for i in range(4):
        form = definitions.create(session, "form", slug=f"complaint-{i}", title=f"Complaint {i}", actor=admin,
                                  document=complaint_document())
        forms.append(form)
    for form in forms:
        change_requests.submit(session, form, note="First", actor=admin)
    for change in change_requests.waiting(session):
        change_requests.approve(session, change, actor=reviewer)
        change_requests.schedule(session, change, at=NOON, actor=reviewer, clock=fixed(NOON - timedelta(hours=1)))
    ids = [c.id for c in change_requests.waiting(session)]
    session.commit()

    barrier = threading.Barrier(2)
    original = definitions.publish

    def in_step(*args: object, **kwargs: object) -> object:
        with contextlib.suppress(threading.BrokenBarrierError):  # a sweeper that skipped a change goes on
            barrier.wait(timeout=5)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(definitions, "publish", in_step)
    results = race(database_url, 2, lambda s, i: change_requests.publish_due(s, clock=fixed(NOON)))
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == len(ids)
    session.rollback()
    session.expire_all()
    events = session.scalars(select(AuditEvent).where(AuditEvent.kind.in_(
        ["form.published", "form.change_schedule_failed"])).order_by(AuditEvent.id)).all()
    assert sorted(e.stream for e in events) == sorted(f.stream for f in forms)  # one publication each, no failure
    assert all(e.kind == "form.published" for e in events)
    for form in forms:
        session.refresh(form)
        assert [v.number for v in form.versions] == [1]
    assert {change_requests.get(session, i).status for i in ids} == {"published"}
    assert audit.verify(session).ok
