"""The change-request API: submit with a note, list, read the diff and back-test, approve or reject with a
comment, schedule (business-calendar aware) and cancel, publish; four-eyes refusals as on the pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.extensions import db
from cases import accounts, audit, change_requests, definitions, lifecycle
from cases.clock import fixed
from cases.submissions import Uploader
from tests.support.complaint import CALM, GOOD, complaint_document, publish_complaint
from tests.support.web import token_for

REVIEWER = "bo@example.com"
ROUTE = {"id": "calm", "name": "Calm complaints", "trigger": "case.submitted", "priority": 10,
         "condition": {"all": [{"field": "severity", "op": "eq", "value": "low"}]},
         "actions": [{"type": "set_priority", "priority": "low"}]}
LONDON = {"timezone": "Europe/London", "days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}


@pytest.fixture
def tokens(app: Any, demo_users: Any) -> dict[str, dict[str, str]]:
    publish_complaint(app)
    with app.app_context():
        accounts.create_user(db.session, email=REVIEWER, name="Bo Reviewer", password="long enough pw",
                             roles=["admin"])
        accounts.set_setting(db.session, "definition_review_required", "true")
        db.session.remove()
    return {"ada": token_for(app, "admin@example.com"), "bo": token_for(app, REVIEWER),
            "agent": token_for(app, "agent@example.com")}


def _draft_rules(app: Any) -> None:
    """Two filed cases and a draft whose new rule decides the calm one differently; London office hours."""
    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        case_type = definitions.find_definition(db.session, "case_type", "complaint")
        assert admin is not None and case_type is not None
        requester = accounts.create_user(db.session, email="rae@example.com", name="Rae", password="long enough pw",
                                         roles=["requester"])
        for answers in (GOOD, CALM):
            lifecycle.file_case(db.session, case_type, answers, uploader=Uploader(requester))
        document = definitions.draft_document(case_type)
        document["rules"] = {"schema_version": 1, "rules": [ROUTE]}
        document["calendar"] = LONDON
        assert definitions.save_draft(db.session, case_type, document, actor=admin) == []
        db.session.remove()


def test_the_whole_review_through_the_api(app: Any, client: Any, tokens: dict[str, dict[str, str]]) -> None:
    _draft_rules(app)
    ada, bo = tokens["ada"], tokens["bo"]
    submitted = client.post("/api/v1/change-requests", json={"kind": "case_type", "slug": "complaint",
                                                             "note": "Calm ones are low"}, headers=ada)
    assert submitted.status_code == 201, submitted.get_json()
    change = submitted.get_json()
    change_id = change["id"]
    assert (change["status"], change["note"], change["submitted_by"]) == ("pending", "Calm ones are low",
                                                                          "admin@example.com")
    assert change["review_required"] and not change["stale"]
    assert any("Calm complaints" in line for line in change["changes"]), change["changes"]
    assert change["backtest"]["evaluated"] == 2 and change["backtest"]["changed"] == 1
    assert len(change["backtest"]["cases"]) == 1
    again = client.post("/api/v1/change-requests", json={"kind": "case_type", "slug": "complaint"}, headers=ada)
    assert again.status_code == 409

    listed = client.get("/api/v1/change-requests", headers=bo).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == change_id
    assert client.get("/api/v1/change-requests?status=published", headers=bo).get_json()["total"] == 0
    assert client.get(f"/api/v1/change-requests/{change_id}", headers=bo).get_json()["backtest"]["changed"] == 1

    own = client.post(f"/api/v1/change-requests/{change_id}/approve", json={}, headers=ada)
    assert own.status_code == 403 and "another admin" in own.get_json()["error"]["message"]
    early = client.post(f"/api/v1/change-requests/{change_id}/publish", headers=bo)
    assert early.status_code == 409
    approved = client.post(f"/api/v1/change-requests/{change_id}/approve", json={"comment": "Good"}, headers=bo)
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert approved.get_json()["decided_by"] == REVIEWER and approved.get_json()["comment"] == "Good"

    sunday = datetime(2030, 1, 6, 12, 0, tzinfo=UTC)  # a Sunday, long after any test runs
    url = f"/api/v1/change-requests/{change_id}/schedule"
    refused = client.post(url, json={"publish_at": sunday.isoformat()}, headers=bo)
    assert refused.status_code == 422 and "outside the working hours" in refused.get_json()["error"]["message"]
    naive = client.post(url, json={"publish_at": "2030-01-07T10:00"}, headers=bo)
    assert naive.status_code == 422 and "publish_at" in naive.get_json()["error"]["fields"]
    moved = client.post(url, json={"publish_at": sunday.isoformat(), "outside_hours": "next_opening"}, headers=bo)
    assert moved.status_code == 200, moved.get_json()
    monday = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
    assert moved.get_json()["publish_at"] == monday.isoformat()
    assert moved.get_json()["local"] == "Monday 2030-01-07 09:00 Europe/London"
    assert client.post(f"/api/v1/change-requests/{change_id}/cancel-schedule", headers=bo).status_code == 200
    assert client.post(f"/api/v1/change-requests/{change_id}/cancel-schedule", headers=bo).status_code == 409
    assert client.post(url, json={"next_business_day": True}, headers=ada).status_code == 200
    with app.app_context():
        assert change_requests.publish_due(db.session, clock=fixed(datetime.now(UTC))) == 0
        db.session.remove()
    published = client.post(f"/api/v1/change-requests/{change_id}/publish", headers=ada)
    assert published.status_code == 200 and published.get_json()["version"] == 2
    assert published.get_json()["status"] == "published" and published.get_json()["publish_at"] is None
    with app.app_context():
        case_type = definitions.find_definition(db.session, "case_type", "complaint")
        assert case_type is not None and [v.number for v in case_type.versions] == [1, 2]
        kinds = [e.kind for e in audit.events(db.session, case_type.stream)]
        assert kinds[-6:] == ["case_type.change_submitted", "case_type.change_approved", "case_type.change_scheduled",
                              "case_type.change_schedule_cancelled", "case_type.change_scheduled",
                              "case_type.published"]
        db.session.remove()


def test_rejection_needs_a_comment_and_keeps_the_draft(app: Any, client: Any,
                                                       tokens: dict[str, dict[str, str]]) -> None:
    with app.app_context():
        form = definitions.find_definition(db.session, "form", "complaint")
        admin = accounts.find_user(db.session, "admin@example.com")
        assert form is not None and admin is not None
        document = complaint_document()
        document["title"] = "Complaint, reworded"
        definitions.save_draft(db.session, form, document, actor=admin)
        revision = form.draft_revision
        db.session.remove()
    stale = client.post("/api/v1/change-requests", json={"kind": "form", "slug": "complaint",
                                                         "expected_revision": revision - 1}, headers=tokens["ada"])
    assert stale.status_code == 409
    change_id = client.post("/api/v1/change-requests", json={"kind": "form", "slug": "complaint",
                                                             "expected_revision": revision},
                            headers=tokens["ada"]).get_json()["id"]
    url = f"/api/v1/change-requests/{change_id}/reject"
    bare = client.post(url, json={"comment": "  "}, headers=tokens["bo"])
    assert bare.status_code == 422 and "comment" in bare.get_json()["error"]["fields"]
    rejected = client.post(url, json={"comment": "Keep the old title"}, headers=tokens["bo"])
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    assert client.post(url, json={"comment": "again"}, headers=tokens["bo"]).status_code == 409
    with app.app_context():
        form = definitions.find_definition(db.session, "form", "complaint")
        assert form is not None and len(form.versions) == 1 and form.draft_revision == revision
        db.session.remove()


def test_refusals(app: Any, client: Any, tokens: dict[str, dict[str, str]]) -> None:
    agent, ada = tokens["agent"], tokens["ada"]
    assert client.get("/api/v1/change-requests", headers=agent).status_code == 403
    assert client.post("/api/v1/change-requests", json={"kind": "form", "slug": "complaint"},
                       headers=agent).status_code == 403
    assert client.get("/api/v1/change-requests/999999", headers=ada).status_code == 404
    missing = client.post("/api/v1/change-requests", json={"kind": "form", "slug": "nope"}, headers=ada)
    assert missing.status_code == 404
    unchanged = client.post("/api/v1/change-requests", json={"kind": "form", "slug": "complaint"}, headers=ada)
    assert unchanged.status_code == 409 and "Nothing changed" in unchanged.get_json()["error"]["message"]
    typo = client.post("/api/v1/change-requests", json={"kind": "form", "slug": "complaint", "nota": ""}, headers=ada)
    assert typo.status_code == 422 and "nota" in typo.get_json()["error"]["fields"]
    assert client.get("/api/v1/change-requests?status=lost", headers=ada).status_code == 400
    assert client.post("/api/v1/change-requests/999999/schedule", json={"next_business_day": True},
                       headers=ada).status_code == 404
    document = client.get("/api/v1/openapi.json").get_json()
    assert {"/change-requests", "/change-requests/{change_id}/schedule"} <= set(document["paths"])
