"""Requesters: filing through the form wizard, following a case, public forms and tracking links."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from tests.conftest import Web
from tests.support.complaint import FIXTURES, GOOD


def _requester(app: Any) -> Web:
    web = Web(app.test_client())
    web.login("requester@example.com")
    return web


def test_portal_lists_what_can_be_filed(complaint_app: Any) -> None:
    page = _requester(complaint_app).get("/portal/").get_data(as_text=True)
    assert 'href="/portal/new/complaint"' in page
    assert "/portal/forms/complaint" not in page  # filed through its case type, not twice


def test_mistakes_are_shown_inline_and_input_is_kept(complaint_app: Any) -> None:
    web = _requester(complaint_app)
    form = web.get("/portal/new/complaint").get_data(as_text=True)
    assert 'id="field-order_number"' in form and 'name="_page" value="details"' in form
    bad = {**GOOD, "order_number": "12345", "email": "not-an-email", "_page": "details", "_nav": "next"}
    response = web.post("/portal/new/complaint", bad)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Enter the order number as ORD- followed by 6 digits" in body
    assert 'value="12345"' in body and 'value="Riley Requester"' in body  # input kept
    assert 'aria-describedby="field-order_number-error"' in body or 'field-order_number-error' in body
    good = web.post("/portal/new/complaint", {**GOOD, "_page": "details", "_nav": "next"})
    assert good.status_code == 303
    case_page = web.get(good.headers["Location"]).get_data(as_text=True)
    assert "your request CMP-000001 was received" in case_page
    assert "ORD-123456" in case_page


def test_hidden_field_is_not_stored(complaint_app: Any) -> None:
    web = _requester(complaint_app)
    response = web.post("/portal/new/complaint", {**GOOD, "other_category": "Sneaky", "_page": "details"})
    assert response.status_code == 303
    from app.extensions import db
    from cases.models import Case

    with complaint_app.app_context():
        case = db.session.scalars(db.select(Case)).one()
        assert "other_category" not in json.loads(case.data)


def test_upload_in_the_form_is_kept_and_judged_by_content(complaint_app: Any) -> None:
    web = _requester(complaint_app)
    exe = web.client.post("/portal/new/complaint", data={
        **GOOD, "_page": "details", "csrf_token": web.csrf(),
        "attachment": (io.BytesIO(b"MZ\x90\x00 not a photo"), "photo.png")})
    assert exe.status_code == 422
    assert "photo.png" not in exe.get_data(as_text=True) or "not" in exe.get_data(as_text=True)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    broken = {k: v for k, v in GOOD.items() if k != "description"}
    first = web.client.post("/portal/new/complaint", data={
        **broken, "_page": "details", "csrf_token": web.csrf(),
        "attachment": (io.BytesIO(png), "box.png")})
    assert first.status_code == 422  # description missing, but the upload is kept
    body = first.get_data(as_text=True)
    assert "box.png" in body and 'name="_files-attachment"' in body
    file_id = body.split('name="_files-attachment" value="')[1].split('"')[0]
    done = web.post("/portal/new/complaint", {**GOOD, "_page": "details", "_files-attachment": file_id})
    assert done.status_code == 303
    page = web.get(done.headers["Location"]).get_data(as_text=True)
    assert "box.png" in page


def test_oversized_request_is_413(complaint_app: Any) -> None:
    complaint_app.config["MAX_CONTENT_LENGTH"] = 2048
    web = _requester(complaint_app)
    response = web.client.post("/portal/new/complaint", data={
        **GOOD, "_page": "details", "csrf_token": web.csrf(),
        "attachment": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 5000), "big.png")})
    assert response.status_code == 413


def test_multi_page_wizard_keeps_answers_back_and_forth(complaint_app: Any) -> None:
    from app.extensions import db
    from cases import accounts, definitions

    document = json.loads((FIXTURES / "complaint.form.json").read_text())
    fields = document["pages"][0]["fields"]
    document["pages"] = [{"key": "you", "title": "About you", "fields": fields[:3]},
                         {"key": "problem", "title": "The problem", "fields": fields[3:]}]
    with complaint_app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        form = definitions.create(db.session, "form", slug="feedback", title="Feedback", actor=admin,
                                  document=document)
        definitions.publish(db.session, form, actor=admin)
    web = _requester(complaint_app)
    assert "/portal/forms/feedback" in web.get("/portal/").get_data(as_text=True)
    page1 = web.post("/portal/forms/feedback", {"name": "Ada", "email": "bad", "_page": "you"})
    assert page1.status_code == 422 and 'aria-current="step"' in page1.get_data(as_text=True)
    page2 = web.post("/portal/forms/feedback", {"name": "Ada", "email": "ada@example.com", "_page": "you"})
    text = page2.get_data(as_text=True)
    assert 'name="_page" value="problem"' in text and 'type="hidden" name="name" value="Ada"' in text
    back = web.post("/portal/forms/feedback", {"name": "Ada", "email": "ada@example.com", "_page": "problem",
                                              "severity": "low", "_nav": "back"})
    back_text = back.get_data(as_text=True)
    assert 'name="_page" value="you"' in back_text and 'value="Ada"' in back_text
    assert 'name="severity" value="low"' in back_text  # the later page's answer travels along
    answers = {k: v for k, v in GOOD.items() if k not in ("name", "email")}
    done = web.post("/portal/forms/feedback", {**answers, "name": "Ada", "email": "ada@example.com",
                                              "_page": "problem"})
    assert done.status_code == 303
    thanks = web.get(done.headers["Location"]).get_data(as_text=True)
    assert "Thank you" in thanks and "Ada" in thanks and "Damaged item" in thanks


def test_requester_answers_information_requests_and_comments(complaint_app: Any) -> None:
    web = _requester(complaint_app)
    case_url = web.post("/portal/new/complaint", {**GOOD, "_page": "details"}).headers["Location"].split("?")[0]
    case_id = int(case_url.rstrip("/").split("/")[-1])
    agent = Web(complaint_app.test_client())
    agent.login("agent@example.com")
    agent.post(f"/work/cases/{case_id}/transitions/start", {"version": "1"}, htmx=True)
    agent.post(f"/work/cases/{case_id}/request-info", {"version": "2", "question": "Which courier?"}, htmx=True)
    agent.post(f"/work/cases/{case_id}/comments", {"body": "Secret note", "internal": "y"}, htmx=True)
    page = web.get(case_url).get_data(as_text=True)
    assert "We need more information" in page and "Which courier?" in page
    assert "Secret note" not in page and "agent@example.com" not in page
    answered = web.post(f"/portal/cases/{case_id}/answer", {"answer": "DHL"})
    assert answered.status_code == 303
    after = web.get(case_url).get_data(as_text=True)
    assert "We need more information" not in after and "DHL" in after
    assert web.post(f"/portal/cases/{case_id}/answer", {"answer": "again"}).status_code == 409


def test_requesters_cannot_reach_each_others_cases(complaint_app: Any) -> None:
    web = _requester(complaint_app)
    case_url = web.post("/portal/new/complaint", {**GOOD, "_page": "details"}).headers["Location"].split("?")[0]
    case_id = int(case_url.rstrip("/").split("/")[-1])
    attached = web.client.post(f"/portal/cases/{case_id}/files", data={
        "csrf_token": web.csrf(), "file": (io.BytesIO(b"%PDF-1.7\n%mine\n"), "receipt.pdf")})
    assert attached.status_code == 303
    file_id = int(web.get(case_url).get_data(as_text=True).split('href="/files/')[1].split('"')[0])
    assert web.get(f"/files/{file_id}").status_code == 200
    admin = Web(complaint_app.test_client())
    admin.login("admin@example.com")
    admin.post("/admin/users/new", {"name": "Eve", "email": "eve@example.com", "password": "long enough pw",
                                    "roles": ["requester"]})
    eve = Web(complaint_app.test_client())
    eve.login("eve@example.com", "long enough pw")
    for cid in (case_id, case_id + 1, 0):
        assert eve.get(f"/portal/cases/{cid}").status_code == 404
        assert eve.post(f"/portal/cases/{cid}/comments", {"body": "hi"}).status_code == 404
        assert eve.post(f"/portal/cases/{cid}/answer", {"answer": "x"}).status_code == 404
    assert "CMP-000001" not in eve.get("/portal/").get_data(as_text=True)
    for fid in (file_id, file_id + 1):
        assert eve.get(f"/files/{fid}").status_code == 404
    assert eve.get(f"/portal/cases/{case_id}", headers={"HX-Request": "true"}).status_code == 404


@pytest.fixture
def public_app(complaint_app: Any) -> Any:
    from app.extensions import db
    from cases import accounts, definitions

    with complaint_app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        case_type = definitions.find_definition(db.session, "case_type", "complaint")
        definitions.set_availability(db.session, case_type, open_for_requests=True, public=True, archived=False,
                                     actor=admin)
    return complaint_app


def test_anonymous_visitors_file_public_requests_and_get_a_tracking_link(public_app: Any) -> None:
    web = Web(public_app.test_client())
    form = web.get("/request/complaint")
    assert form.status_code == 200 and 'name="website"' in form.get_data(as_text=True)
    bot = web.post("/request/complaint", {**GOOD, "_page": "details", "website": "http://spam.example"})
    assert bot.status_code == 422
    done = web.post("/request/complaint", {**GOOD, "_page": "details"})
    assert done.status_code == 303 and done.headers["Location"].startswith("/track/trk_")
    page = web.get(done.headers["Location"])
    text = page.get_data(as_text=True)
    assert "CMP-000001" in text and "tracking-link" in text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert Web(public_app.test_client()).get("/track/trk_guess").status_code == 404


def test_private_case_types_are_not_public(complaint_app: Any) -> None:
    assert Web(complaint_app.test_client()).get("/request/complaint").status_code == 404


def test_timelines_name_queues_as_people_know_them(complaint_app: Any) -> None:
    """Staff read "into the queue General enquiries", not the short name; requesters read no queue at all."""
    from app.extensions import db
    from cases import accounts

    with complaint_app.app_context():
        escalations = accounts.create_queue(db.session, slug="escalations", name="Escalations team")
        agent_user = accounts.find_user(db.session, "agent@example.com")
        assert agent_user is not None
        accounts.add_queue_member(db.session, escalations, agent_user)
        db.session.commit()
    web = _requester(complaint_app)
    case_url = web.post("/portal/new/complaint", {**GOOD, "_page": "details"}).headers["Location"].split("?")[0]
    case_id = int(case_url.rstrip("/").split("/")[-1])
    agent = Web(complaint_app.test_client())
    agent.login("agent@example.com")
    assert agent.post(f"/work/cases/{case_id}/queue", {"version": "1", "queue": "escalations"},
                      htmx=True).status_code == 200
    staff = agent.get(f"/work/cases/{case_id}").get_data(as_text=True)
    assert "into the queue General enquiries" in staff and "Queue general" not in staff
    assert "Moved to the queue Escalations team" in staff and "from General enquiries" in staff
    mine = web.get(case_url).get_data(as_text=True)
    assert "General enquiries" not in mine and "queue general" not in mine.lower()
