"""The case API as the design's contract describes it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.complaint import GOOD
from tests.support.web import token_for


@pytest.fixture
def api(complaint_app: Any) -> Any:
    client = complaint_app.test_client()
    tokens = {who: token_for(complaint_app, f"{who}@example.com")
              for who in ("admin", "agent", "requester", "auditor")}
    return client, tokens


def _file(client: Any, headers: dict[str, str], **extra: Any) -> Any:
    return client.post("/api/v1/case-types/complaint/cases", json={"data": {**GOOD, **extra}}, headers=headers)


def test_requester_lists_and_reads_case_types(api: Any) -> None:
    client, tokens = api
    listing = client.get("/api/v1/case-types", headers=tokens["requester"]).json
    assert [t["slug"] for t in listing["items"]] == ["complaint"]
    detail = client.get("/api/v1/case-types/complaint", headers=tokens["requester"]).json
    assert detail["prefix"] == "CMP" and detail["form_schema"]["title"] == "Customer complaint"
    assert client.get("/api/v1/case-types/nope", headers=tokens["requester"]).status_code == 404


def test_filing_a_case(api: Any) -> None:
    client, tokens = api
    response = _file(client, tokens["requester"], state="resolved", assignee="agent@example.com")
    assert response.status_code == 201
    case = response.json
    assert case["ref"] == "CMP-000001"
    assert (case["state"], case["queue"], case["assignee"], case["priority"]) == ("new", "general", None, "normal")
    assert response.headers["Location"] == f"/api/v1/cases/{case['id']}"


def test_bad_data_gets_422_with_field_errors(api: Any) -> None:
    client, tokens = api
    response = _file(client, tokens["requester"], severity="unknown", order_number="123")
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert set(fields) >= {"severity", "order_number"}
    assert client.get("/api/v1/cases", headers=tokens["admin"]).json["total"] == 0
    bad_body = client.post("/api/v1/case-types/complaint/cases", data="nonsense", headers=tokens["requester"])
    assert bad_body.status_code == 400 and bad_body.json["error"]["code"] == "bad_request"
    no_data = client.post("/api/v1/case-types/complaint/cases", json={"data": [1]}, headers=tokens["requester"])
    assert no_data.status_code == 422


def test_work_a_case_through_the_api(api: Any) -> None:
    client, tokens = api
    case_id = _file(client, tokens["requester"]).json["id"]
    detail = client.get(f"/api/v1/cases/{case_id}", headers=tokens["agent"]).json
    assert [t["key"] for t in detail["transitions"]] == ["start", "reject"]
    assert detail["data"]["severity"] == "high"
    assert client.post(f"/api/v1/cases/{case_id}/claim", headers=tokens["agent"]).json["assignee"] == \
        "agent@example.com"
    illegal = client.post(f"/api/v1/cases/{case_id}/transitions", json={"transition": "resolve", "comment": "x"},
                          headers=tokens["agent"])
    assert illegal.status_code == 409
    assert "not possible while the case is New" in illegal.json["error"]["message"]
    ok = client.post(f"/api/v1/cases/{case_id}/transitions", json={"transition": "start"}, headers=tokens["agent"])
    assert ok.status_code == 200 and ok.json["state"] == "in_progress"
    bad_edit = client.post(f"/api/v1/cases/{case_id}/transitions",
                           json={"transition": "resolve", "comment": "Done", "data": {"customer_tier": "platinum"}},
                           headers=tokens["agent"])
    assert bad_edit.status_code == 422
    note = client.post(f"/api/v1/cases/{case_id}/comments", json={"body": "Internal", "internal": True},
                       headers=tokens["agent"])
    assert note.status_code == 201
    done = client.post(f"/api/v1/cases/{case_id}/transitions",
                       json={"transition": "resolve", "comment": "Refund sent"}, headers=tokens["agent"])
    assert done.json["state"] == "resolved" and done.json["closed_at"]
    events = client.get(f"/api/v1/cases/{case_id}/events", headers=tokens["auditor"]).json["items"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {"seq", "at", "actor", "kind", "payload", "prev_hash", "hash"} <= set(events[0])
    assert events[1]["prev_hash"] == events[0]["hash"]
    public = client.get(f"/api/v1/cases/{case_id}/events", headers=tokens["requester"]).json["items"]
    assert not any(e["payload"].get("internal") for e in public)
    assert len(public) < len(events)
    verify = client.get("/api/v1/audit/verify", headers=tokens["auditor"]).json
    assert verify["ok"] is True and verify["checked"] >= len(events)


def test_second_claim_is_409(api: Any, complaint_app: Any) -> None:
    client, tokens = api
    from tests.conftest import Web

    case_id = _file(client, tokens["requester"]).json["id"]
    admin = Web(complaint_app.test_client())
    admin.login("admin@example.com")
    admin.post("/admin/users/new", {"name": "Bo", "email": "bo@example.com", "password": "long enough pw",
                                    "roles": ["agent"]})
    queue_id = 1
    admin.post(f"/admin/queues/{queue_id}/members", {"email": "bo@example.com"}, htmx=True)
    bo = token_for(complaint_app, "bo@example.com")
    assert client.post(f"/api/v1/cases/{case_id}/claim", headers=tokens["agent"]).status_code == 200
    second = client.post(f"/api/v1/cases/{case_id}/claim", headers=bo)
    assert second.status_code == 409
    assert second.json["error"]["message"] == "Alex Agent already holds this case."


def test_row_level_access_by_enumerating_ids(api: Any, complaint_app: Any) -> None:
    client, tokens = api
    ids = [_file(client, tokens["requester"]).json["id"] for _ in range(3)]
    from tests.conftest import Web

    admin = Web(complaint_app.test_client())
    admin.login("admin@example.com")
    admin.post("/admin/users/new", {"name": "Eve", "email": "eve@example.com", "password": "long enough pw",
                                    "roles": ["requester"]})
    admin.post("/admin/users/new", {"name": "Lone", "email": "lone@example.com", "password": "long enough pw",
                                    "roles": ["agent"]})
    eve, lone = token_for(complaint_app, "eve@example.com"), token_for(complaint_app, "lone@example.com")
    for case_id in [*ids, 999, 0]:
        for path in ("", "/events"):
            assert client.get(f"/api/v1/cases/{case_id}{path}", headers=eve).status_code == 404
            assert client.get(f"/api/v1/cases/{case_id}{path}", headers=lone).status_code == 404
        assert client.post(f"/api/v1/cases/{case_id}/comments", json={"body": "hi"}, headers=eve).status_code == 404
        assert client.post(f"/api/v1/cases/{case_id}/claim", headers=lone).status_code == 404
    assert client.get("/api/v1/cases", headers=eve).json["total"] == 0
    assert client.get("/api/v1/cases", headers=lone).json["total"] == 0
    assert client.get("/api/v1/cases", headers=tokens["auditor"]).json["total"] == 3


def test_auditor_reads_everything_and_changes_nothing(api: Any) -> None:
    client, tokens = api
    case_id = _file(client, tokens["requester"]).json["id"]
    auditor = tokens["auditor"]
    assert client.get(f"/api/v1/cases/{case_id}", headers=auditor).json["transitions"] == []
    assert client.post(f"/api/v1/cases/{case_id}/claim", headers=auditor).status_code == 403
    assert client.post(f"/api/v1/cases/{case_id}/transitions", json={"transition": "start"},
                       headers=auditor).status_code == 409
    assert client.post(f"/api/v1/cases/{case_id}/comments", json={"body": "x"}, headers=auditor).status_code == 403
    assert _file(client, auditor).status_code == 403


def test_list_filters_and_bad_filters(api: Any) -> None:
    client, tokens = api
    _file(client, tokens["requester"])
    _file(client, tokens["requester"], description="The lamp flickers and the switch sparks badly.")
    agent = tokens["agent"]
    assert client.get("/api/v1/cases?q=sparks", headers=agent).json["total"] == 1
    assert client.get("/api/v1/cases?q=CMP-000001", headers=agent).json["total"] == 1
    assert client.get("/api/v1/cases?state=new&queue=general&case_type=complaint", headers=agent).json["total"] == 2
    assert client.get("/api/v1/cases?assignee=none", headers=agent).json["total"] == 2
    items = client.get("/api/v1/cases", headers=agent).json["items"]
    assert [c["ref"] for c in items] == ["CMP-000002", "CMP-000001"]
    bad = client.get("/api/v1/cases?sort=sideways&priority=meh", headers=agent)
    assert bad.status_code == 400 and set(bad.json["error"]["fields"]) == {"sort", "priority"}


def test_upload_then_file_with_attachment(api: Any) -> None:
    import io

    client, tokens = api
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    up = client.post("/api/v1/uploads?case_type=complaint&field=attachment",
                     data={"file": (io.BytesIO(png), "photo.png")}, headers=tokens["requester"])
    assert up.status_code == 201 and up.json["content_type"] == "image/png"
    exe = client.post("/api/v1/uploads?case_type=complaint&field=attachment",
                      data={"file": (io.BytesIO(b"MZ\x90\x00"), "photo.png")}, headers=tokens["requester"])
    assert exe.status_code == 422
    case = _file(client, tokens["requester"], attachment=[up.json["id"]]).json
    detail = client.get(f"/api/v1/cases/{case['id']}", headers=tokens["agent"]).json
    assert detail["data"]["attachment"][0]["name"] == "photo.png"
