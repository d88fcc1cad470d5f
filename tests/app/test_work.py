"""The agents' pages: lists with filters, the case page, actions through htmx, conflicts, row access."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Web
from tests.support.complaint import GOOD
from tests.support.web import token_for


@pytest.fixture
def filed(complaint_app: Any) -> list[int]:
    client = complaint_app.test_client()
    headers = token_for(complaint_app, "requester@example.com")
    ids = []
    for description in ("The parcel arrived crushed and the vase inside is broken.",
                        "The lamp flickers and the switch sparks when turned on."):
        response = client.post("/api/v1/case-types/complaint/cases",
                               json={"data": {**GOOD, "description": description}}, headers=headers)
        ids.append(response.json["id"])
    return ids


def _agent(app: Any) -> Web:
    web = Web(app.test_client())
    web.login("agent@example.com")
    return web


def test_work_list_filters_and_search(complaint_app: Any, filed: list[int]) -> None:
    web = _agent(complaint_app)
    page = web.get("/work/").get_data(as_text=True)
    assert "CMP-000001" in page and "CMP-000002" in page
    assert "2 cases" in page
    found = web.get("/work/?q=sparks", headers={"HX-Request": "true"})
    fragment = found.get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="case-list"')
    assert "CMP-000002" in fragment and "CMP-000001" not in fragment
    mine = web.get("/work/?scope=mine").get_data(as_text=True)
    assert "No cases match" in mine
    bad = web.get("/work/?sort=sideways")
    assert bad.status_code == 400


def test_claim_transition_and_comment_through_htmx(complaint_app: Any, filed: list[int]) -> None:
    web = _agent(complaint_app)
    case_id = filed[0]
    page = web.get(f"/work/cases/{case_id}").get_data(as_text=True)
    assert "Claim" in page and "Start work" in page and "Riley Requester" in page
    claimed = web.post(f"/work/cases/{case_id}/claim", {"version": "1"}, htmx=True)
    assert claimed.status_code == 200
    body = claimed.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="case"') and "Release" in body
    started = web.post(f"/work/cases/{case_id}/transitions/start", {"version": "2"}, htmx=True)
    assert "In progress" in started.get_data(as_text=True)
    refused = web.post(f"/work/cases/{case_id}/transitions/resolve", {"version": "3"}, htmx=True)
    assert refused.status_code == 409
    assert "Add a comment to &#39;Resolve&#39;" in refused.get_data(as_text=True) or \
        "Add a comment to 'Resolve'" in refused.get_data(as_text=True)
    web.post(f"/work/cases/{case_id}/comments", {"body": "Courier damage, refund.", "internal": "y"}, htmx=True)
    done = web.post(f"/work/cases/{case_id}/transitions/resolve", {"version": "3", "comment": "Refund sent"},
                    htmx=True)
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "Resolved" in text
    assert "Start work: New → In progress" in text and "Courier damage, refund." in text


def test_stale_page_is_told_who_changed_the_case(complaint_app: Any, filed: list[int]) -> None:
    web = _agent(complaint_app)
    case_id = filed[0]
    web.post(f"/work/cases/{case_id}/claim", {"version": "1"}, htmx=True)
    stale = web.post(f"/work/cases/{case_id}/priority", {"version": "1", "priority": "high"}, htmx=True)
    assert stale.status_code == 409
    assert "changed by Alex Agent" in stale.get_data(as_text=True)


def test_editable_fields_and_information_requests(complaint_app: Any, filed: list[int]) -> None:
    web = _agent(complaint_app)
    case_id = filed[0]
    web.post(f"/work/cases/{case_id}/transitions/start", {"version": "1"}, htmx=True)
    page = web.get(f"/work/cases/{case_id}").get_data(as_text=True)
    assert 'name="edit-customer_tier"' in page
    edited = web.post(f"/work/cases/{case_id}/edit", {"version": "2", "edit-customer_tier": "silver",
                                                      "edit-description": "Updated: the vase and a plate broke."},
                      htmx=True)
    text = edited.get_data(as_text=True)
    alert = text.split('role="alert">')[1][:300] if 'role="alert">' in text else ""
    assert edited.status_code == 200, alert
    assert "Customer tier: Gold → Silver" in text
    asked = web.post(f"/work/cases/{case_id}/request-info", {"version": "3", "question": "Photo please?"},
                     htmx=True)
    assert "Waiting for requester" in asked.get_data(as_text=True)


def test_bulk_assign(complaint_app: Any, filed: list[int]) -> None:
    web = _agent(complaint_app)
    response = web.post("/work/bulk-assign", {"case": [str(i) for i in filed], "assignee": "agent@example.com"})
    assert response.status_code == 303
    assert "2 case(s) assigned." in web.get("/work/").get_data(as_text=True)
    assert web.get("/work/?scope=mine").get_data(as_text=True).count("\">CMP-00000") == 2


def test_case_pages_are_row_checked(complaint_app: Any, filed: list[int]) -> None:
    admin = Web(complaint_app.test_client())
    admin.login("admin@example.com")
    admin.post("/admin/users/new", {"name": "Lone", "email": "lone@example.com", "password": "long enough pw",
                                    "roles": ["agent"]})
    lone = Web(complaint_app.test_client())
    lone.login("lone@example.com", "long enough pw")
    for case_id in [*filed, 9999]:
        assert lone.get(f"/work/cases/{case_id}").status_code == 404
        assert lone.post(f"/work/cases/{case_id}/claim", {"version": "1"}, htmx=True).status_code == 404
    requester = Web(complaint_app.test_client())
    requester.login("requester@example.com")
    assert requester.get(f"/work/cases/{filed[0]}").status_code == 403
    auditor = Web(complaint_app.test_client())
    auditor.login("auditor@example.com")
    assert auditor.get(f"/work/cases/{filed[0]}").status_code == 403


def test_case_files_are_uploaded_by_content_and_downloaded_as_attachments(complaint_app: Any,
                                                                        filed: list[int]) -> None:
    import io

    web = _agent(complaint_app)
    case_id = filed[0]
    bad = web.client.post(f"/work/cases/{case_id}/files", data={
        "csrf_token": web.csrf(), "file": (io.BytesIO(b"MZ\x90\x00binary"), "notes.pdf")},
        headers={"HX-Request": "true"})
    assert bad.status_code == 422
    ok = web.client.post(f"/work/cases/{case_id}/files", data={
        "csrf_token": web.csrf(), "file": (io.BytesIO(b"%PDF-1.7\n%test\n"), "Quote <1>.pdf"), "internal": "y"},
        headers={"HX-Request": "true"})
    assert ok.status_code == 200
    link = ok.get_data(as_text=True).split('href="/files/')[1].split('"')[0]
    download = web.get(f"/files/{link}")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.data.startswith(b"%PDF")
    requester = Web(complaint_app.test_client())
    requester.login("requester@example.com")
    assert requester.get(f"/files/{link}").status_code == 404  # internal file
