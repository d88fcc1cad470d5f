"""The API does what the case pages do: assign, route, prioritise, ask and answer, edit with If-Match,
comments with visibility, attachments, approvals, draft dossiers; with the pages' access rules."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from app.extensions import db
from cases import accounts, definitions
from tests.support.complaint import GOOD, complaint_case_type_document
from tests.support.web import token_for

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def api(complaint_app: Any) -> Any:
    runner = complaint_app.test_cli_runner()
    for email, role in (("outsider@example.com", "agent"), ("other@example.com", "requester")):
        result = runner.invoke(args=["user", "create", email, "--role", role, "--password", "casework-demo-pw"])
        assert result.exit_code == 0, result.output
    with complaint_app.app_context():
        queue = accounts.create_queue(db.session, slug="elsewhere", name="Elsewhere")
        outsider = accounts.find_user(db.session, "outsider@example.com")
        assert outsider is not None
        accounts.add_queue_member(db.session, queue, outsider)
        accounts.create_queue(db.session, slug="escalations", name="Escalations")
        db.session.remove()
    tokens = {who: token_for(complaint_app, f"{who}@example.com")
              for who in ("admin", "agent", "requester", "auditor", "outsider", "other")}
    return complaint_app.test_client(), tokens


def _file(client: Any, tokens: dict[str, Any], **extra: Any) -> int:
    response = client.post("/api/v1/case-types/complaint/cases", json={"data": {**GOOD, **extra}},
                           headers=tokens["requester"])
    assert response.status_code == 201, response.json
    return int(response.json["id"])


def _refused(client: Any, tokens: dict[str, Any], method: str, url: str, *, body: Any = None,
             expect: dict[str, int]) -> None:
    for who, status in expect.items():
        response = client.open(url, method=method, json=body, headers=tokens[who])
        assert response.status_code == status, (who, url, response.status_code, response.json)
        assert response.json["error"]["code"]


def test_assign_release_route_and_prioritise(api: Any) -> None:
    client, tokens = api
    case_id = _file(client, tokens)
    base = f"/api/v1/cases/{case_id}"
    outsiders = {"outsider": 404, "other": 404, "requester": 403, "auditor": 403}
    _refused(client, tokens, "POST", f"{base}/assign", body={"assignee": "agent@example.com"}, expect=outsiders)
    _refused(client, tokens, "POST", f"{base}/priority", body={"priority": "high"}, expect=outsiders)
    _refused(client, tokens, "POST", f"{base}/queue", body={"queue": "escalations"}, expect=outsiders)
    assigned = client.post(f"{base}/assign", json={"assignee": "agent@example.com"}, headers=tokens["agent"])
    assert assigned.status_code == 200 and assigned.json["assignee"] == "agent@example.com"
    assert client.post(f"{base}/assign", json={"assignee": "outsider@example.com"},
                       headers=tokens["agent"]).status_code == 200
    assert client.post(f"{base}/assign", json={"assignee": "requester@example.com"},
                       headers=tokens["agent"]).status_code == 422
    assert client.post(f"{base}/assign", json={"assignee": "nobody@example.com"},
                       headers=tokens["agent"]).json["error"]["fields"] == {"assignee": ["Choose an active agent."]}
    assert client.post(f"{base}/assign", json={}, headers=tokens["agent"]).status_code == 422
    # Only the holder (or an admin) releases.
    assert client.post(f"{base}/release", headers=tokens["agent"]).status_code == 403
    released = client.post(f"{base}/release", headers=tokens["admin"])
    assert released.status_code == 200 and released.json["assignee"] is None
    high = client.post(f"{base}/priority", json={"priority": "high"}, headers=tokens["agent"])
    assert high.status_code == 200 and high.json["priority"] == "high"
    assert client.post(f"{base}/priority", json={"priority": "whenever"}, headers=tokens["agent"]).status_code == 422
    assert client.post(f"{base}/queue", json={"queue": "nope"}, headers=tokens["agent"]).status_code == 422
    moved = client.post(f"{base}/queue", json={"queue": "escalations"}, headers=tokens["agent"])
    assert moved.status_code == 200 and moved.json["queue"] == "escalations"
    kinds = [e["kind"] for e in client.get(f"{base}/events", headers=tokens["auditor"]).json["items"]]
    assert kinds.count("case.assigned") == 2 and {"case.released", "case.prioritised", "case.routed"} <= set(kinds)


def test_etags_and_optimistic_locking(api: Any) -> None:
    client, tokens = api
    case_id = _file(client, tokens)
    base = f"/api/v1/cases/{case_id}"
    first = client.get(base, headers=tokens["agent"])
    etag = first.headers["ETag"]
    assert etag == f'"{first.json["version"]}"' and "Authorization" in first.headers["Vary"]
    cached = client.get(base, headers={**tokens["agent"], "If-None-Match": etag})
    assert cached.status_code == 304 and cached.data == b""
    client.post(f"{base}/claim", headers=tokens["agent"])
    client.post(f"{base}/transitions", json={"transition": "start"}, headers=tokens["agent"])
    fresh = client.get(base, headers={**tokens["agent"], "If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    version = fresh.json["version"]
    change = {"data": {"customer_tier": "silver"}}
    missing = client.patch(f"{base}/data", json=change, headers=tokens["agent"])
    assert missing.status_code == 428 and missing.json["error"]["code"] == "precondition_required"
    stale = client.patch(f"{base}/data", json=change, headers={**tokens["agent"], "If-Match": f'"{version - 1}"'})
    assert stale.status_code == 412 and stale.json["error"]["code"] == "precondition_failed"
    garbage = client.patch(f"{base}/data", json=change, headers={**tokens["agent"], "If-Match": "soon"})
    assert garbage.status_code == 412
    staff_field = client.patch(f"{base}/data", json={"data": {"severity": "low"}},
                               headers={**tokens["agent"], "If-Match": f'"{version}"'})
    assert staff_field.status_code == 422 and "severity" in staff_field.json["error"]["fields"]
    _refused(client, tokens, "PATCH", f"{base}/data", body=change,
             expect={"requester": 428, "outsider": 404, "other": 404})
    for who, status in (("requester", 403), ("auditor", 403)):
        refused = client.patch(f"{base}/data", json=change, headers={**tokens[who], "If-Match": f'"{version}"'})
        assert refused.status_code == status, who
    ok = client.patch(f"{base}/data", json=change, headers={**tokens["agent"], "If-Match": f'"{version}"'})
    assert ok.status_code == 200 and ok.json["data"]["customer_tier"] == "silver"
    assert ok.headers["ETag"] == f'"{version + 1}"'
    again = client.patch(f"{base}/data", json={"data": {"customer_tier": "gold"}},
                         headers={**tokens["agent"], "If-Match": f'"{version}"'})
    assert again.status_code == 412
    assert client.get(base, headers=tokens["agent"]).json["data"]["customer_tier"] == "silver"
    # Other writes honour If-Match too.
    assert client.post(f"{base}/priority", json={"priority": "urgent"},
                       headers={**tokens["agent"], "If-Match": f'"{version}"'}).status_code == 412


def test_ask_for_information_and_answer_it(api: Any) -> None:
    client, tokens = api
    case_id = _file(client, tokens)
    base = f"/api/v1/cases/{case_id}"
    question = {"question": "Which colour was the vase?"}
    _refused(client, tokens, "POST", f"{base}/information-requests", body=question,
             expect={"requester": 403, "auditor": 403, "outsider": 404, "other": 404})
    asked = client.post(f"{base}/information-requests", json=question, headers=tokens["agent"])
    assert asked.status_code == 200 and asked.json["state"] == "waiting"
    assert client.post(f"{base}/information-requests", json=question, headers=tokens["agent"]).status_code == 409
    answer = {"answer": "Blue."}
    _refused(client, tokens, "POST", f"{base}/information-requests/answer", body=answer,
             expect={"agent": 403, "auditor": 403, "outsider": 404, "other": 404})
    assert client.post(f"{base}/information-requests/answer", json={"answer": ""},
                       headers=tokens["requester"]).status_code == 422
    answered = client.post(f"{base}/information-requests/answer", json=answer, headers=tokens["requester"])
    assert answered.status_code == 200 and answered.json["state"] == "new"
    assert client.post(f"{base}/information-requests/answer", json=answer,
                       headers=tokens["requester"]).status_code == 409
    bodies = [c["body"] for c in client.get(f"{base}/comments", headers=tokens["requester"]).json["items"]]
    assert bodies == ["Which colour was the vase?", "Blue."]


def test_comments_have_visibility_and_requesters_never_see_internal_ones(api: Any) -> None:
    client, tokens = api
    case_id = _file(client, tokens)
    url = f"/api/v1/cases/{case_id}/comments"
    internal = client.post(url, json={"body": "Customer is a reseller", "visibility": "internal"},
                           headers=tokens["agent"])
    assert internal.status_code == 201 and internal.json["visibility"] == "internal"
    assert client.post(url, json={"body": "We are on it"}, headers=tokens["agent"]).json["visibility"] == "public"
    refused = client.post(url, json={"body": "psst", "visibility": "internal"}, headers=tokens["requester"])
    assert refused.status_code == 403
    assert client.post(url, json={"body": "psst", "internal": True}, headers=tokens["requester"]).status_code == 403
    assert client.post(url, json={"body": "x", "visibility": "secret"}, headers=tokens["agent"]).status_code == 422
    mine = client.post(url, json={"body": "Thanks"}, headers=tokens["requester"])
    assert mine.status_code == 201 and mine.json["author"] == "requester@example.com"
    _refused(client, tokens, "POST", url, body={"body": "hi"}, expect={"auditor": 403, "outsider": 404, "other": 404})
    seen = client.get(url, headers=tokens["requester"]).json["items"]
    assert [(c["body"], c["author"]) for c in seen] == [("We are on it", "support"),
                                                        ("Thanks", "requester@example.com")]
    assert "agent@example.com" not in json.dumps(seen)
    staff_view = client.get(url, headers=tokens["auditor"]).json["items"]
    assert [c["visibility"] for c in staff_view] == ["internal", "public", "public"]
    assert staff_view[0]["author"] == "agent@example.com"
    assert client.get(url, headers=tokens["outsider"]).status_code == 404


def test_attachments_list_add_and_download(api: Any, complaint_app: Any) -> None:
    client, tokens = api
    case_id = _file(client, tokens)
    url = f"/api/v1/cases/{case_id}/attachments"
    public = client.post(url, data={"file": (io.BytesIO(PNG), "photo.png")}, headers=tokens["requester"],
                         content_type="multipart/form-data")
    assert public.status_code == 201, public.json
    secret = client.post(url, data={"file": (io.BytesIO(PNG + b"x"), "notes.png"), "visibility": "internal"},
                         headers=tokens["agent"], content_type="multipart/form-data")
    assert secret.status_code == 201 and secret.json["items"][0]["visibility"] == "internal"
    sneaky = client.post(url, data={"file": (io.BytesIO(PNG), "a.png"), "visibility": "internal"},
                         headers=tokens["requester"], content_type="multipart/form-data")
    assert sneaky.status_code == 403
    for who in ("auditor", "outsider", "other"):
        response = client.post(url, data={"file": (io.BytesIO(PNG), "a.png")}, headers=tokens[who],
                               content_type="multipart/form-data")
        assert response.status_code in (403, 404), who
    assert [f["name"] for f in client.get(url, headers=tokens["requester"]).json["items"]] == ["photo.png"]
    assert [f["name"] for f in client.get(url, headers=tokens["auditor"]).json["items"]] == ["photo.png", "notes.png"]
    public_id, secret_id = public.json["items"][0]["id"], secret.json["items"][0]["id"]
    download = client.get(f"{url}/{public_id}", headers=tokens["requester"])
    assert download.status_code == 200 and download.data == PNG
    assert "attachment" in download.headers["Content-Disposition"]
    assert client.get(f"{url}/{secret_id}", headers=tokens["requester"]).status_code == 404
    assert client.get(f"{url}/{secret_id}", headers=tokens["agent"]).data == PNG + b"x"
    assert client.get(f"{url}/{public_id}", headers=tokens["outsider"]).status_code == 404
    # Attaching by upload id: the caller's own pending uploads only.
    from app.uploads import file_store
    from cases import submissions
    from cases.submissions import Uploader

    with complaint_app.app_context():
        agent = accounts.find_user(db.session, "agent@example.com")
        stored = submissions.store_case_file(db.session, file_store(complaint_app), filename="later.png",
                                             stream=io.BytesIO(PNG), uploader=Uploader(agent))
        upload_id = stored.id
        db.session.remove()
    by_id = f"{url}/from-uploads"
    assert client.post(by_id, json={"uploads": [upload_id]}, headers=tokens["requester"]).status_code == 422
    assert client.post(by_id, json={"uploads": "1"}, headers=tokens["agent"]).status_code == 422
    attached = client.post(by_id, json={"uploads": [upload_id]}, headers=tokens["agent"])
    assert attached.status_code == 201 and attached.json["items"][0]["name"] == "later.png"
    assert client.post(by_id, json={"uploads": [upload_id]}, headers=tokens["agent"]).status_code == 422
    kinds = [e["kind"] for e in client.get(f"/api/v1/cases/{case_id}/events", headers=tokens["auditor"]).json["items"]]
    assert kinds.count("case.file_attached") == 3 and "case.file_downloaded" in kinds


def test_approvals_through_the_api(api: Any, complaint_app: Any) -> None:
    client, tokens = api
    with complaint_app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        case_type = definitions.find_definition(db.session, "case_type", "complaint")
        document = complaint_case_type_document()
        document["rules"] = {"schema_version": 1, "rules": [
            {"id": "gold", "name": "Gold needs an admin's approval", "trigger": "case.submitted", "priority": 1,
             "condition": {"field": "customer_tier", "op": "eq", "value": "gold"},
             "actions": [{"type": "require_approval", "role": "admin", "on_approve": "in_progress",
                          "on_reject": "rejected"}]}]}
        assert definitions.save_draft(db.session, case_type, document, actor=admin) == []
        definitions.publish(db.session, case_type, actor=admin)
        db.session.remove()
    case_id = _file(client, tokens, customer_tier="gold")
    url = f"/api/v1/cases/{case_id}/approval"
    pending = client.get(url, headers=tokens["agent"]).json["approval"]
    assert pending["status"] == "pending" and pending["may_decide"] is False
    assert client.get(url, headers=tokens["admin"]).json["approval"]["may_decide"] is True
    assert client.get(url, headers=tokens["outsider"]).status_code == 404
    _refused(client, tokens, "POST", url, body={"decision": "approve"},
             expect={"agent": 403, "requester": 403, "auditor": 403, "outsider": 404})
    assert client.post(url, json={"decision": "maybe"}, headers=tokens["admin"]).status_code == 422
    approved = client.post(url, json={"decision": "approve", "comment": "Fine"}, headers=tokens["admin"])
    assert approved.status_code == 200 and approved.json["state"] == "in_progress"
    assert client.get(url, headers=tokens["admin"]).json == {"approval": None}
    assert client.post(url, json={"decision": "approve"}, headers=tokens["admin"]).status_code == 409


def test_tasks_and_draft_dossiers(api: Any) -> None:
    client, tokens = api
    case_id = _file(client, tokens)
    assert client.get(f"/api/v1/cases/{case_id}/tasks", headers=tokens["agent"]).json["items"] == []
    url = f"/api/v1/cases/{case_id}/documents/drafts"
    _refused(client, tokens, "POST", url, expect={"requester": 403, "outsider": 404, "other": 404})
    draft = client.post(url, headers=tokens["agent"])
    assert draft.status_code == 202 and draft.json["status"] == "queued"
    assert draft.headers["Location"] == f"/api/v1/cases/{case_id}/documents/{draft.json['id']}"
    assert client.post(url, headers=tokens["auditor"]).json["id"] == draft.json["id"]  # still waiting: the same
    listed = client.get(f"/api/v1/cases/{case_id}/documents", headers=tokens["agent"]).json["items"]
    assert [d["id"] for d in listed] == [draft.json["id"]]
    assert client.get(f"/api/v1/cases/{case_id}/documents/{draft.json['id']}",
                      headers=tokens["agent"]).status_code == 409  # not rendered yet


def test_tasks_are_completed_and_reopened_by_their_queue_only(app: Any) -> None:
    from tests.support.packs import onboarding_in_setup

    case_id, ivy = onboarding_in_setup(app)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["user", "create", "out@example.com", "--role", "agent",
                               "--password", "casework-demo-pw"]).exit_code == 0
    tokens = {who: token_for(app, email) for who, email in (
        ("ivy", ivy), ("requester", "requester@example.com"), ("auditor", "auditor@example.com"),
        ("outsider", "out@example.com"))}
    client = app.test_client()
    items = client.get(f"/api/v1/cases/{case_id}/tasks", headers=tokens["ivy"]).json["items"]
    it_task = next(t for t in items if t["queue"] == "it")
    payroll = next(t for t in items if t["queue"] != "it")
    base = f"/api/v1/cases/{case_id}/tasks"
    _refused(client, tokens, "POST", f"{base}/{it_task['id']}/complete",
             expect={"requester": 403, "auditor": 403, "outsider": 404})
    assert client.post(f"{base}/{payroll['id']}/complete", headers=tokens["ivy"]).status_code == 403
    done = client.post(f"{base}/{it_task['id']}/complete", headers=tokens["ivy"])
    assert done.status_code == 200 and done.json["status"] == "done"
    assert client.post(f"{base}/{it_task['id']}/complete", headers=tokens["ivy"]).status_code == 409
    _refused(client, tokens, "POST", f"{base}/{it_task['id']}/reopen",
             expect={"requester": 403, "auditor": 403, "outsider": 404})
    reopened = client.post(f"{base}/{it_task['id']}/reopen", headers=tokens["ivy"])
    assert reopened.status_code == 200 and reopened.json["status"] == "open"


def test_upload_ids_beyond_the_id_range_are_refused(api: Any) -> None:
    client, tokens = api
    case_id = _file(client, tokens)
    response = client.post(f"/api/v1/cases/{case_id}/attachments/from-uploads",
                           json={"uploads": [4503599627370495, -1]}, headers=tokens["agent"])
    assert response.status_code == 422 and set(response.json["error"]["fields"]) == {"uploads.0", "uploads.1"}
