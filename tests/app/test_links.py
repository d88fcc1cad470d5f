"""Linked cases through the API and the pages: linking existing cases, and what a viewer of one case learns of
the other (checked by enumerating every page and API route that takes a case id)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.extensions import db
from case_types.workflow import starter_case_type
from cases import accounts, definitions, discretionary, lifecycle
from cases.models import Definition
from cases.submissions import Uploader
from tests.conftest import Web
from tests.support.complaint import GOOD, complaint_case_type_document, publish_complaint_form
from tests.support.web import token_for

MAPPED = {k: k for k in ("name", "email", "order_number", "severity", "category", "description")}
REFUND = {"key": "refund", "label": "Refund invoice", "who": {"roles": ["agent"]}, "states": ["in_progress"],
          "case_type": "invoice", "fields": MAPPED}
SECRET = "IBAN DE89 3704 0044 0532 0130 00"


@pytest.fixture
def world(app: Any, demo_users: Any) -> dict[str, Any]:
    """Two complaints of the requester in progress (queue general) and a refund invoice child of the first,
    worked by billing, whose data holds what the complaint's agents must not read."""
    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        billing = accounts.create_queue(db.session, slug="billing", name="Billing")
        bill = accounts.create_user(db.session, email="bill@example.com", name="Bill", password="casework-demo",
                                    roles=["agent"])
        accounts.add_queue_member(db.session, billing, bill)
        accounts.create_user(db.session, email="olga@example.com", name="Olga", password="casework-demo",
                             roles=["requester"])
        db.session.commit()
    publish_complaint_form(app)  # the invoice type files on the complaint form too
    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        document = starter_case_type("Refund invoice", form="complaint", form_version=1, queue="billing")
        document.update(prefix="INV", editable_fields={"in_progress": ["description"]})
        invoice = definitions.create(db.session, "case_type", slug="invoice", title="Refund invoice", actor=admin,
                                     document=document)
        definitions.publish(db.session, invoice, actor=admin)
        complaint = definitions.create(db.session, "case_type", slug="complaint", title="Customer complaint",
                                       actor=admin, document=complaint_case_type_document(discretionary=[REFUND]))
        definitions.publish(db.session, complaint, actor=admin)
        requester, agent = (accounts.find_user(db.session, f"{w}@example.com") for w in ("requester", "agent"))
        bill = accounts.find_user(db.session, "bill@example.com")
        assert requester and agent and bill
        complaint = db.session.query(Definition).filter_by(kind="case_type", slug="complaint").one()
        cases = [lifecycle.file_case(db.session, complaint, GOOD, uploader=Uploader(requester)) for _ in range(2)]
        for case in cases:
            lifecycle.transition(db.session, case, "start", agent)
        child = discretionary.start_task(db.session, cases[0], "refund", agent)
        lifecycle.transition(db.session, child, "start", bill)
        lifecycle.edit_fields(db.session, child, {"description": f"Pay back to {SECRET}"}, bill)
        found = {"parent": cases[0].id, "other": cases[1].id, "child": child.id, "refs": {
            "parent": cases[0].ref, "other": cases[1].ref, "child": child.ref}}
        db.session.commit()
        db.session.remove()
    found["tokens"] = {w: token_for(app, f"{w}@example.com") for w in ("agent", "requester", "bill", "olga")}
    return found


def test_an_agent_links_existing_cases_and_both_sides_show_it(app: Any, world: dict[str, Any]) -> None:
    client, tokens, refs = app.test_client(), world["tokens"], world["refs"]
    url = f"/api/v1/cases/{world['other']}/links"
    made = client.post(url, json={"case": refs["parent"].lower(), "kind": "duplicate_of"}, headers=tokens["agent"])
    assert made.status_code == 201, made.json
    assert made.json == {"kind": "duplicate_of", "id": world["parent"], "ref": refs["parent"],
                         "case_type": "Customer complaint", "visible": True, "summary": made.json["summary"],
                         "state": "In progress"}
    back = client.get(f"/api/v1/cases/{world['parent']}", headers=tokens["agent"]).json["links"]
    assert {"kind": "duplicated_by", "id": world["other"], "ref": refs["other"]} in back
    again = client.post(url, json={"case": refs["parent"], "kind": "related"}, headers=tokens["agent"])
    assert again.status_code == 409 and "already linked" in again.json["error"]["message"]

    # A case the agent may not see is refused exactly like one that does not exist.
    hidden = client.post(url, json={"case": refs["child"], "kind": "related"}, headers=tokens["agent"])
    missing = client.post(url, json={"case": "CMP-999999", "kind": "related"}, headers=tokens["agent"])
    assert hidden.status_code == missing.status_code == 422
    assert hidden.json["error"]["fields"]["case"] == [f"There is no case {refs['child']} that you may see."]
    assert missing.json["error"]["fields"]["case"] == ["There is no case CMP-999999 that you may see."]
    assert client.post(url, json={"case": refs["other"], "kind": "related"},
                       headers=tokens["agent"]).status_code == 422  # not to itself
    assert client.post(url, json={"case": refs["parent"], "kind": "child"}, headers=tokens["agent"]).status_code == 422
    assert client.post(url, json={"case": refs["parent"], "kind": "related"},
                       headers=tokens["requester"]).status_code == 403

    events = client.get(f"/api/v1/cases/{world['parent']}/events", headers=tokens["agent"]).json["items"]
    assert [e["payload"] for e in events if e["kind"] == "case.linked"] == [
        {"kind": "duplicated_by", "other": refs["other"], "other_id": world["other"]}]

    # The case page links too, and lists the link on both cases.
    web = Web(app.test_client())
    web.login("agent@example.com")
    page = web.post(f"/work/cases/{world['parent']}/links", {"case": refs["other"], "kind": "caused_by"}, htmx=True)
    assert page.status_code in (200, 409)  # linked already (duplicate): refused with the reason
    assert "already linked" in page.get_data(as_text=True)
    shown = web.get(f"/work/cases/{world['other']}").get_data(as_text=True)
    assert "Duplicate of" in shown and refs["parent"] in shown


def test_who_learns_what_of_a_linked_case_by_enumeration(app: Any, world: dict[str, Any]) -> None:
    """Every GET route that takes a case id, for the child, as the parent's agent and as another requester:
    never the child's data. The parent's pages name the child (reference and type) and nothing more."""
    routes = [r for r in app.url_map.iter_rules() if "case_id" in r.arguments and "GET" in (r.methods or set())]
    assert len(routes) > 10, [r.rule for r in routes]
    agent, olga = Web(app.test_client()), Web(app.test_client())
    agent.login("agent@example.com")
    olga.login("olga@example.com")

    def url(rule: Any, case_id: int) -> str:
        values = {a: 1 for a in rule.arguments}
        values["case_id"] = case_id
        return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(values[m.group(1)]), rule.rule)

    child, refs = world["child"], world["refs"]
    for rule in routes:
        api = rule.rule.startswith("/api/")
        for who, web in (("agent", agent), ("olga", olga)):
            address = url(rule, child)
            response = app.test_client().get(address, headers=world["tokens"][who]) if api else web.get(address)
            body = response.get_data(as_text=True)
            assert response.status_code in (302, 403, 404), (who, address, response.status_code)
            assert SECRET not in body and "Pay back" not in body, (who, address)
        address = url(rule, world["parent"])
        response = app.test_client().get(address, headers=world["tokens"]["agent"]) if api else agent.get(address)
        assert SECRET not in response.get_data(as_text=True), address

    page = agent.get(f"/work/cases/{world['parent']}").get_data(as_text=True)
    assert refs["child"] in page and "Refund invoice" in page and "you may not open it" in page
    detail = app.test_client().get(f"/api/v1/cases/{world['parent']}/links", headers=world["tokens"]["agent"]).json
    assert detail["items"] == [{"kind": "child", "id": child, "ref": refs["child"], "case_type": "Refund invoice",
                                "visible": False, "summary": "", "state": ""}]
    # The requester of both sees the child as theirs; billing sees the parent exists, not its data.
    mine = app.test_client().get(f"/api/v1/cases/{world['parent']}/links", headers=world["tokens"]["requester"]).json
    assert [(i["ref"], i["visible"], i["state"]) for i in mine["items"]] == [(refs["child"], True, "In progress")]
    portal = Web(app.test_client())
    portal.login("requester@example.com")
    assert refs["child"] in portal.get(f"/portal/cases/{world['parent']}").get_data(as_text=True)
    billing = app.test_client().get(f"/api/v1/cases/{child}/links", headers=world["tokens"]["bill"]).json
    assert [(i["kind"], i["visible"], i["summary"]) for i in billing["items"]] == [("parent", False, "")]


def test_the_dossier_lists_the_linked_cases(app: Any, world: dict[str, Any]) -> None:
    from app.documents.templating import dossier_html
    from cases import document_content, links
    from cases.models import Case, User

    refs = world["refs"]
    with app.app_context():
        agent = db.session.query(User).filter_by(email="agent@example.com").one()
        parent, other, child = (db.session.get(Case, world[k]) for k in ("parent", "other", "child"))
        assert parent is not None and other is not None and child is not None
        links.link(db.session, other, refs["parent"], "caused_by", agent)
        contexts = {k: document_content.preview_context(db.session, c, organisation="Casework")
                    for k, c in (("parent", parent), ("other", other), ("child", child))}
        public = document_content.preview_context(db.session, parent, organisation="Casework", public=True)
    assert contexts["parent"].links == (("Child case", refs["child"]), ("Causes", refs["other"]))
    assert contexts["other"].links == (("Caused by", refs["parent"]),)
    assert contexts["child"].links == (("Parent case", refs["parent"]),)
    assert public.links == ()  # a document the requester receives does not list staff links
    html = dossier_html(contexts["parent"])
    assert "<h2>Linked cases</h2>" in html and f"<td>Child case</td><td>{refs['child']}</td>" in html
    assert "Linked cases" not in dossier_html(public)
