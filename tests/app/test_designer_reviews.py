"""The review pages: submit a draft for review, a second admin approves or rejects, publish or schedule."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.extensions import db
from cases import accounts, audit, change_requests, definitions, lifecycle
from cases.clock import fixed
from cases.submissions import Uploader
from tests.conftest import Web
from tests.support.complaint import CALM, GOOD, complaint_document, publish_complaint

REVIEWER = "bo@example.com"
PASSWORD = "long enough pw"


@pytest.fixture
def two_admins(app: Any, demo_users: Any) -> None:
    with app.app_context():
        accounts.create_user(db.session, email=REVIEWER, name="Bo Reviewer", password=PASSWORD, roles=["admin"])
        db.session.remove()


def _form(app: Any) -> Any:
    with app.app_context():
        form = definitions.find_definition(db.session, "form", "complaint", with_versions=True)
        db.session.expunge_all()
        return form


def _stream(app: Any, stream: str) -> list[str]:
    with app.app_context():
        kinds = [e.kind for e in audit.events(db.session, stream)]
        db.session.remove()
        return kinds


def _edit_form(app: Any, label: str) -> int:
    with app.app_context():
        form = definitions.find_definition(db.session, "form", "complaint")
        admin = accounts.find_user(db.session, "admin@example.com")
        assert form is not None and admin is not None
        document = complaint_document()
        document["pages"][0]["fields"][1]["label"] = label
        definitions.save_draft(db.session, form, document, actor=admin)
        revision = form.draft_revision
        db.session.remove()
        return revision


@pytest.mark.usefixtures("two_admins")
def test_review_required_then_another_admin_approves_and_publishes(app: Any, web: Web) -> None:
    publish_complaint(app)
    web.login("admin@example.com")
    saved = web.post("/admin/settings", {"review_required": "y"})
    assert saved.status_code == 303
    box = re.search(r'<input[^>]*name="review_required"[^>]*>', web.get("/admin/settings").get_data(as_text=True))
    assert box is not None and "checked" in box.group(0)
    revision = _edit_form(app, "Full name")
    form_id = _form(app).id
    page = web.get(f"/designer/forms/{form_id}/versions").get_data(as_text=True)
    assert 'id="review-required"' in page and "Publish version 2" not in page
    refused = web.post(f"/designer/forms/{form_id}/publish", {"revision": revision, "expected_revision": revision})
    assert refused.status_code == 303
    assert "Review is required" in web.get(refused.headers["Location"]).get_data(as_text=True)
    assert [v.number for v in _form(app).versions] == [1]

    submitted = web.post(f"/designer/reviews/submit/{form_id}", {"expected_revision": revision,
                                                                  "note": "Clearer label"})
    assert submitted.status_code == 303
    review_url = submitted.headers["Location"]
    page = web.get(review_url).get_data(as_text=True)
    assert "Submitted for review" in page and "Clearer label" in page and "Full name" in page
    assert 'id="own-change"' in page and 'id="approve"' not in page
    change_id = int(review_url.rstrip("/").rsplit("/", 1)[1])
    self_approved = web.post(f"/designer/reviews/{change_id}/approve", {"comment": "fine by me"})
    assert "another admin has to review it" in web.get(self_approved.headers["Location"]).get_data(as_text=True)
    assert "Change " + str(change_id) in web.get("/designer/reviews/").get_data(as_text=True)

    web.logout()
    web.login(REVIEWER, PASSWORD)
    page = web.get(review_url).get_data(as_text=True)
    assert 'id="approve"' in page and "Full name" in page
    approved = web.post(f"/designer/reviews/{change_id}/approve", {"comment": "Reads better"})
    page = web.get(approved.headers["Location"]).get_data(as_text=True)
    assert "Approved." in page and "Reads better" in page and 'id="publish-now"' in page
    published = web.post(f"/designer/reviews/{change_id}/publish")
    assert "Published as a new version" in web.get(published.headers["Location"]).get_data(as_text=True)
    assert [v.number for v in _form(app).versions] == [1, 2]
    assert _stream(app, "form:complaint")[-3:] == ["form.change_submitted", "form.change_approved",
                                                   "form.published"]
    page = web.get(f"/designer/forms/{form_id}/versions").get_data(as_text=True)
    assert 'id="restore-version-1"' in page and 'id="restore-version-2"' not in page and "after review" in page
    restored = web.post(f"/designer/reviews/restore/{form_id}/1", {"expected_revision": _form(app).draft_revision})
    assert "Version 1 is the draft again" in web.get(restored.headers["Location"]).get_data(as_text=True)
    form = _form(app)
    assert form.draft == form.versions[0].document and [v.number for v in form.versions] == [1, 2]
    web.logout()
    web.login("auditor@example.com")
    log = web.get(f"/audit/definitions/{form_id}").get_data(as_text=True)
    assert f"Submitted for review (change {change_id})" in log and f"Change approved (change {change_id})" in log
    assert "Comment: Reads better" in log and f"Approved change {change_id}" in log


@pytest.mark.usefixtures("two_admins")
def test_rejection_keeps_the_draft_and_needs_a_comment(app: Any, web: Web) -> None:
    publish_complaint(app)
    with app.app_context():
        accounts.set_setting(db.session, "definition_review_required", "true")
    revision = _edit_form(app, "Your full name")
    form_id = _form(app).id
    web.login("admin@example.com")
    change_url = web.post(f"/designer/reviews/submit/{form_id}", {"expected_revision": revision}).headers["Location"]
    change_id = int(change_url.rsplit("/", 1)[1])
    web.logout()
    web.login(REVIEWER, PASSWORD)
    bare = web.post(f"/designer/reviews/{change_id}/reject", {"comment": ""})
    assert "Say why the change is rejected" in web.get(bare.headers["Location"]).get_data(as_text=True)
    rejected = web.post(f"/designer/reviews/{change_id}/reject", {"comment": "Keep the legal wording"})
    page = web.get(rejected.headers["Location"]).get_data(as_text=True)
    assert "Rejected. The draft is kept" in page and "Keep the legal wording" in page
    form = _form(app)
    assert json.loads(form.draft)["pages"][0]["fields"][1]["label"] == "Your full name"
    assert form.draft_revision == revision and [v.number for v in form.versions] == [1]
    assert _stream(app, "form:complaint")[-1] == "form.change_rejected"
    assert 'id="review-submit"' in web.get(f"/designer/forms/{form_id}/versions").get_data(as_text=True)


ROUTE = {"id": "calm", "name": "Calm complaints", "trigger": "case.submitted", "priority": 10,
         "condition": {"all": [{"field": "severity", "op": "eq", "value": "low"}]},
         "actions": [{"type": "set_priority", "priority": "low"}]}


@pytest.mark.usefixtures("two_admins")
def test_a_case_type_change_shows_the_back_test_and_takes_effect_when_scheduled(app: Any, web: Web) -> None:
    publish_complaint(app)
    web.login("admin@example.com")
    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        case_type = definitions.find_definition(db.session, "case_type", "complaint")
        assert admin is not None and case_type is not None
        requester = accounts.create_user(db.session, email="rae@example.com", name="Rae", password=PASSWORD,
                                         roles=["requester"])
        for answers in (GOOD, CALM):
            lifecycle.file_case(db.session, case_type, answers, uploader=Uploader(requester))
        change_requests.set_review_required(db.session, case_type, True, actor=admin)
        document = definitions.draft_document(case_type)
        document["rules"] = {"schema_version": 1, "rules": [ROUTE]}
        assert definitions.save_draft(db.session, case_type, document, actor=admin) == []
        case_type_id, revision = case_type.id, case_type.draft_revision
        db.session.remove()
    page = web.get(f"/designer/case-types/{case_type_id}").get_data(as_text=True)
    assert 'id="review-required"' in page and 'id="pub-save"' not in page
    change_url = web.post(f"/designer/reviews/submit/{case_type_id}",
                          {"expected_revision": revision, "note": "Calm ones are low"}).headers["Location"]
    change_id = int(change_url.rsplit("/", 1)[1])
    page = web.get(change_url).get_data(as_text=True)
    assert "Back-test of the changed rules" in page and "1 of 2 cases would be decided differently" in page
    web.logout()
    web.login(REVIEWER, PASSWORD)
    web.post(f"/designer/reviews/{change_id}/approve", {"comment": ""})
    noon = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=1)
    scheduled = web.post(f"/designer/reviews/{change_id}/schedule", {"publish_at": noon.strftime("%Y-%m-%dT%H:%M")})
    page = web.get(scheduled.headers["Location"]).get_data(as_text=True)
    assert "Scheduled: it takes effect at" in page and 'id="cancel-schedule"' in page
    web.post(f"/designer/reviews/{change_id}/cancel-schedule")
    web.post(f"/designer/reviews/{change_id}/schedule", {"publish_at": noon.strftime("%Y-%m-%dT%H:%M")})
    with app.app_context():
        assert change_requests.publish_due(db.session, clock=fixed(noon - timedelta(minutes=1))) == 0
        assert change_requests.publish_due(db.session, clock=fixed(noon)) == 1
        db.session.remove()
    assert "Published</strong> as version 2" in web.get(change_url).get_data(as_text=True)
    assert _stream(app, "case_type:complaint")[-6:] == [
        "case_type.change_submitted", "case_type.change_approved", "case_type.change_scheduled",
        "case_type.change_schedule_cancelled", "case_type.change_scheduled", "case_type.published"]


@pytest.mark.usefixtures("two_admins")
def test_turning_review_on_and_off_is_audited_and_shown_to_auditors(app: Any, web: Web) -> None:
    web.login("admin@example.com")
    assert web.post("/admin/settings", {"review_required": "y"}).status_code == 303
    assert web.post("/admin/settings", {"review_required": "y"}).status_code == 303  # unchanged: no event
    web.logout()
    web.login(REVIEWER, PASSWORD)
    assert web.post("/admin/settings", {}).status_code == 303
    assert _stream(app, change_requests.SETTINGS_STREAM) == ["instance.review_setting_changed"] * 2
    with app.app_context():
        assert not change_requests.instance_review_required(db.session)
        history = change_requests.settings_history(db.session)
        assert [(e["payload"]["review_required"], e["actor"]) for e in history] == [
            (False, REVIEWER), (True, "admin@example.com")]
        assert audit.verify(db.session).ok
        db.session.remove()
    web.logout()
    web.login("auditor@example.com")
    log = web.get("/audit/definitions").get_data(as_text=True)
    assert "Instance-wide review setting" in log
    turned_on, turned_off = log.index("Review turned on"), log.index("Review turned off")
    assert turned_off < turned_on  # newest first


@pytest.mark.usefixtures("two_admins")
def test_the_schedule_form_follows_the_case_types_working_hours(app: Any, web: Web) -> None:
    from zoneinfo import ZoneInfo

    from case_types.calendar import load_calendar

    london = {"timezone": "Europe/London", "days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}
    publish_complaint(app)
    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        case_type = definitions.find_definition(db.session, "case_type", "complaint")
        assert admin is not None and case_type is not None
        accounts.set_setting(db.session, "definition_review_required", "true")
        document = definitions.draft_document(case_type)
        document["calendar"] = london
        assert definitions.save_draft(db.session, case_type, document, actor=admin) == []
        change_id = change_requests.submit(db.session, case_type, note="Office hours", actor=admin).id
        db.session.remove()
    web.login(REVIEWER, PASSWORD)
    web.post(f"/designer/reviews/{change_id}/approve", {"comment": "Fine"})
    page = web.get(f"/designer/reviews/{change_id}").get_data(as_text=True)
    assert "Monday to Friday, 09:00 to 17:00 Europe/London" in page and 'id="schedule-next-day"' in page
    sunday_night = datetime.now(UTC).replace(hour=23, minute=0, second=0, microsecond=0) + timedelta(days=7)
    sunday_night += timedelta(days=(6 - sunday_night.weekday()))
    posted = sunday_night.strftime("%Y-%m-%dT%H:%M")
    refused = web.post(f"/designer/reviews/{change_id}/schedule", {"publish_at": posted})
    assert "is outside the working hours" in web.get(refused.headers["Location"]).get_data(as_text=True)
    moved = web.post(f"/designer/reviews/{change_id}/schedule", {"publish_at": posted, "outside_hours": "next_opening"})
    monday = load_calendar(london).next_opening(sunday_night)
    assert monday.weekday() == 0 and monday.astimezone(ZoneInfo("Europe/London")).hour == 9
    assert f"takes effect at {monday:%Y-%m-%d %H:%M} UTC" in web.get(moved.headers["Location"]).get_data(as_text=True)
    web.post(f"/designer/reviews/{change_id}/cancel-schedule")
    next_day = web.post(f"/designer/reviews/{change_id}/schedule", {"when": "next_business_day"})
    expected = load_calendar(london).next_day_opening(datetime.now(UTC))
    page = web.get(next_day.headers["Location"]).get_data(as_text=True)
    assert f"takes effect at {expected:%Y-%m-%d %H:%M} UTC" in page
    with app.app_context():
        assert change_requests.get(db.session, change_id).publish_at == expected
        db.session.remove()
