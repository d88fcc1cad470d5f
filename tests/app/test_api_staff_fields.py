"""Who may write which field, and who is named to whom, through the REST API, on the four starter packs.

Every field of every pack's form, in every state of its case type, sent by each role with every transition
from that state: what a role may not write is refused with 422 naming exactly those fields, and nothing is
written. Requesters never see who on the staff did something.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.web import token_for

PACKS = ["complaint", "contract", "invoice", "onboarding"]
ROLES = ["admin", "agent", "requester", "auditor"]


@pytest.fixture
def packs_api(app: Any) -> Any:
    """The demo users, the four packs, the demo agent in every pack queue; a token per role."""
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    result = runner.invoke(args=["packs", "import", "--all"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["demo"]).exit_code == 0
    tokens = {role: token_for(app, f"{role}@example.com") for role in ROLES}
    return app, app.test_client(), tokens


def _pack(app: Any, slug: str) -> tuple[Any, Any, list[dict[str, Any]]]:
    """(case-type spec, form schema, sample data) of a loaded pack."""
    from app.extensions import db
    from cases import case_versions, definitions, submissions
    from cases.seed import packs

    with app.app_context():
        definition = definitions.find_definition(db.session, "case_type", slug)
        spec = case_versions.spec_of(db.session, definition.latest_version)
        form_version = case_versions.pinned_form_version(db.session, spec.form.slug, spec.form.version)
        schema = submissions.form_schema(form_version)
        pack = packs.find_shipped(Path(app.config["PACKS_DIR"]), slug)
        db.session.remove()
    assert pack is not None
    return spec, schema, [dict(s.data) for s in pack.samples]


def _put_in_state(app: Any, case_id: int, state: str, final: bool) -> str:
    """Place the case in `state` directly (the test visits every state, reachable or not); returns its data."""
    from app.extensions import db
    from cases.models import Case

    with app.app_context():
        case = db.session.get(Case, case_id)
        case.state, case.is_open = state, not final
        db.session.commit()
        data = case.data
        db.session.remove()
    return data


def _stored_data(app: Any, case_id: int) -> str:
    from app.extensions import db
    from cases.models import Case

    with app.app_context():
        data = db.session.get(Case, case_id).data
        db.session.remove()
    return data


@pytest.mark.parametrize("slug", PACKS)
def test_no_role_writes_a_field_it_may_not_in_any_state(packs_api: Any, slug: str) -> None:
    app, client, tokens = packs_api
    spec, schema, samples = _pack(app, slug)
    sample = samples[0]
    filed = client.post(f"/api/v1/case-types/{slug}/cases", json={"data": sample}, headers=tokens["requester"])
    assert filed.status_code == 201, filed.json
    case_id = filed.json["id"]
    fields = {f.key for f in schema.fields if f.has_value and f.takes_input and f.family != "file"}
    values = {key: sample.get(key, "x") for key in fields}
    checked = 0
    for state in spec.states:
        before = _put_in_state(app, case_id, state.key, state.is_final)
        for move in spec.transitions_from(state.key):
            for role in ROLES:
                staff = role in ("admin", "agent")  # the demo agent is a member of every pack queue
                writable = set(move.required_fields) | (set(spec.editable_fields.get(state.key, ())) if staff
                                                        else set())
                refused = fields - writable
                response = client.post(f"/api/v1/cases/{case_id}/transitions",
                                       json={"transition": move.key, "comment": "why", "data": values},
                                       headers=tokens[role])
                where = (slug, state.key, move.key, role)
                assert response.status_code == 422, (where, response.json)
                assert set(response.json["error"]["fields"]) == refused, where
                assert _stored_data(app, case_id) == before, where
                checked += 1
    assert checked >= 4 * len(spec.transitions)


def test_a_requester_withdrawing_cannot_change_staff_fields(packs_api: Any) -> None:
    """The report: `withdraw` with `job_title` and `department` answered 200 and wrote them."""
    app, client, tokens = packs_api
    _spec, _schema, samples = _pack(app, "onboarding")
    case_id = client.post("/api/v1/case-types/onboarding/cases", json={"data": samples[0]},
                          headers=tokens["requester"]).json["id"]
    _put_in_state(app, case_id, "hr_profile", False)
    response = client.post(f"/api/v1/cases/{case_id}/transitions",
                           json={"transition": "withdraw", "comment": "Changed my mind",
                                 "data": {"job_title": "CEO", "department": "sales"}}, headers=tokens["requester"])
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"job_title", "department"}
    case = client.get(f"/api/v1/cases/{case_id}", headers=tokens["agent"]).json
    assert (case["state"], case["data"]["job_title"]) == ("hr_profile", samples[0]["job_title"])
    # Without the staff fields the requester may withdraw; an agent may change them in this state.
    agent = client.post(f"/api/v1/cases/{case_id}/transitions",
                        json={"transition": "start_setup", "data": {"job_title": "Staff engineer"}},
                        headers=tokens["agent"])
    assert agent.status_code == 200 and agent.json["data"]["job_title"] == "Staff engineer"


def test_requesters_never_edit_fields_in_any_state(packs_api: Any) -> None:
    """The other way to write case data (the staff edit) refuses requesters in every state."""
    from app.extensions import db
    from cases import accounts, lifecycle
    from cases.errors import PermissionDenied
    from cases.models import Case

    app, client, tokens = packs_api
    for slug in PACKS:
        spec, _schema, samples = _pack(app, slug)
        case_id = client.post(f"/api/v1/case-types/{slug}/cases", json={"data": samples[0]},
                              headers=tokens["requester"]).json["id"]
        for state in spec.states:
            _put_in_state(app, case_id, state.key, state.is_final)
            with app.app_context():
                requester = accounts.find_user(db.session, "requester@example.com")
                case = db.session.get(Case, case_id)
                for key in spec.editable_fields.get(state.key, ()) or ("x",):
                    with pytest.raises(PermissionDenied):
                        lifecycle.edit_fields(db.session, case, {key: samples[0].get(key)}, requester)
                db.session.remove()


STAFF = {"admin@example.com", "agent@example.com"}


def test_requester_facing_views_never_name_staff(packs_api: Any) -> None:
    app, client, tokens = packs_api
    _spec, _schema, samples = _pack(app, "onboarding")
    req, agent = tokens["requester"], tokens["agent"]
    case_id = client.post("/api/v1/case-types/onboarding/cases", json={"data": samples[0]}, headers=req).json["id"]
    assert client.post(f"/api/v1/cases/{case_id}/claim", headers=agent).status_code == 200
    assert client.post(f"/api/v1/cases/{case_id}/comments", json={"body": "We are on it."},
                       headers=agent).status_code == 201
    assert client.post(f"/api/v1/cases/{case_id}/comments", json={"body": "Thanks!"}, headers=req).status_code == 201
    for key in ("start_profile", "start_setup"):
        assert client.post(f"/api/v1/cases/{case_id}/transitions", json={"transition": key},
                           headers=agent).status_code == 200
    tasks = client.get(f"/api/v1/cases/{case_id}/tasks", headers=agent).json["items"]
    admin = tokens["admin"]
    assert client.post(f"/api/v1/cases/{case_id}/tasks/{tasks[0]['id']}/complete", headers=admin).status_code == 200

    staff_events = client.get(f"/api/v1/cases/{case_id}/events", headers=tokens["auditor"]).json["items"]
    assert {e["actor"] for e in staff_events} >= STAFF  # the staff view names them
    events = client.get(f"/api/v1/cases/{case_id}/events", headers=req).json["items"]
    assert {e["actor"] for e in events} == {"requester@example.com", "support"}
    assert [e["kind"] for e in events].count("case.transitioned") == 2
    detail = client.get(f"/api/v1/cases/{case_id}", headers=req).json
    assert detail["assignee"] == "support"
    assert client.get(f"/api/v1/cases/{case_id}", headers=agent).json["assignee"] == "agent@example.com"
    listed = client.get("/api/v1/cases", headers=req).json["items"]
    assert [c["assignee"] for c in listed] == ["support"]
    mine = client.get(f"/api/v1/cases/{case_id}/tasks", headers=req).json["items"]
    assert {t["completed_by"] for t in mine} == {"support", None}
    docs = client.get(f"/api/v1/cases/{case_id}/documents", headers=req).json["items"]
    payloads = json.dumps([e["payload"] for e in events])
    assert not any(email in payloads for email in ("admin@example.com",))
    assert all(d["requested_by"] in (None, "support") for d in docs)
