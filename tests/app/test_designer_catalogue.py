"""The case-type designer's catalogue of tasks agents may start, through its pages (both backends)."""

from __future__ import annotations

import html
from typing import Any

import pytest

from app.extensions import db
from case_types.workflow import starter_case_type
from cases import accounts, definitions
from tests.conftest import Web
from tests.support.complaint import publish_complaint_form
from tests.support.designer import draft, edit, element

BASE = "/designer/case-types/"
SAFETY = {"label": "Product-safety review", "kind": "task", "states": ["in_progress"], "roles": ["agent"],
          "queues": ["safety"], "reason_required": "y", "blocks_closing": "y", "queue": "safety", "sla_hours": "48"}


@pytest.fixture
def admin(app: Any, demo_users: Any) -> Web:
    """The demo admin, logged in; the complaint form published, a safety queue and a published invoice type."""
    publish_complaint_form(app)
    with app.app_context():
        accounts.create_queue(db.session, slug="safety", name="Product safety")
        author = accounts.find_user(db.session, "admin@example.com")
        document = starter_case_type("Refund invoice", form="complaint", form_version=1, queue="general")
        document["prefix"] = "INV"
        invoice = definitions.create(db.session, "case_type", slug="invoice", title="Refund invoice", actor=author,
                                     document=document)
        definitions.publish(db.session, invoice, actor=author)
        db.session.commit()
        db.session.remove()
    web = Web(app.test_client())
    web.login("admin@example.com")
    return web


def _create(web: Web) -> str:
    response = web.post(BASE + "new", {"name": "Customer complaint", "slug": "complaint", "form_ref": "complaint@1",
                                       "queue": "general"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return str(response.headers["Location"])


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def test_an_admin_adds_edits_and_removes_a_task_agents_may_start(app: Any, admin: Web) -> None:
    url = _create(admin)
    page = text(admin.get(url))
    assert "Tasks agents may start" in page and "None yet" in page
    refused = edit(admin, app, url + "/catalogue", "nd", **{**SAFETY, "states": ["resolved"]})
    assert refused.status_code == 422 and "is not a valid choice" in element(text(refused), "nd-states-error")
    added = edit(admin, app, url + "/catalogue", "nd", **SAFETY)
    assert added.status_code == 200, text(added)[:2000]
    assert draft(app, url)[0]["discretionary"] == [{
        "key": "product_safety_review", "label": "Product-safety review",
        "who": {"roles": ["agent"], "queues": ["safety"]}, "states": ["in_progress"], "reason_required": True,
        "blocks_closing": True, "queue": "safety", "sla_hours": 48.0}]
    card = element(text(added), "task-product_safety_review")
    for fact in ("in In progress", "started by agents working the case or members of Product safety",
                 "worked by Product safety", "due within 48 hours", "reason required", "blocks closing"):
        assert fact in card, fact
    assert "No problems: this draft can be published." in text(added)

    # A task without its queue is stored and shown as a problem at its card.
    unqueued = edit(admin, app, url + "/catalogue/product_safety_review", "d-product_safety_review",
                    **{**SAFETY, "key": "safety_review", "queue": ""})
    assert unqueued.status_code == 200
    card = element(text(unqueued), "task-safety_review")
    assert "Choose the queue whose members work this task." in card
    assert 'href="#task-safety_review"' in element(text(unqueued), "problems")
    saved = edit(admin, app, url + "/catalogue/safety_review", "d-safety_review",
                 **{**SAFETY, "key": "safety_review", "reason_required": ""})
    assert draft(app, url)[0]["discretionary"][0]["reason_required"] is False
    assert "No problems" in text(saved)

    published = admin.post(url + "/publish", {"pub-expected_revision": draft(app, url)[1], "pub-change_note": ""},
                           htmx=True)
    assert published.status_code == 200 and "Version 1 published" in text(published)
    with app.app_context():
        definition = definitions.find_definition(db.session, "case_type", "complaint")
        assert definition is not None and definition.latest_version is not None
        assert definitions.version_document(definition.latest_version)["discretionary"][0]["key"] == "safety_review"

    removed = edit(admin, app, url + "/catalogue/safety_review/remove")
    assert "discretionary" not in draft(app, url)[0]
    assert "Task to start 'Product-safety review' removed." in html.unescape(element(text(removed), "publish"))
    gone = edit(admin, app, url + "/catalogue/safety_review", "d-safety_review", **SAFETY)
    assert gone.status_code == 404


def test_a_child_case_entry_maps_fields_with_pickers(app: Any, admin: Web) -> None:
    url = _create(admin)
    child = {"label": "Refund invoice", "kind": "case", "states": ["in_progress"], "roles": ["agent"],
             "case_type": "invoice", "queue": "safety", "sla_hours": "5"}
    added = edit(admin, app, url + "/catalogue", "nd", **child)
    assert added.status_code == 200, text(added)[:2000]
    entry = draft(app, url)[0]["discretionary"][0]
    assert entry == {"key": "refund_invoice", "label": "Refund invoice", "who": {"roles": ["agent"], "queues": []},
                     "states": ["in_progress"], "reason_required": False, "blocks_closing": False,
                     "case_type": "invoice", "fields": {}}  # a child case has no queue or deadline of its own
    card = element(text(added), "task-refund_invoice")
    assert "starts a Refund invoice case" in card
    assert 'name="d-refund_invoice-map_order_number"' in card  # the pickers, now that the case type is known
    mapped = edit(admin, app, url + "/catalogue/refund_invoice", "d-refund_invoice",
                  **{**child, "map_order_number": "order_number", "map_email": "email", "map_name": "name"})
    assert mapped.status_code == 200
    assert draft(app, url)[0]["discretionary"][0]["fields"] == {
        "name": "name", "email": "email", "order_number": "order_number"}
    assert "copying 3 fields" in element(text(mapped), "task-refund_invoice")
    wrong = edit(admin, app, url + "/catalogue/refund_invoice", "d-refund_invoice",
                 **{**child, "map_order_number": "no_such_field"})
    assert "The form of 'invoice' has no field 'no_such_field'." in html.unescape(
        element(text(wrong), "task-refund_invoice"))


def test_renaming_or_removing_a_state_follows_into_the_catalogue(app: Any, admin: Web) -> None:
    url = _create(admin)
    edit(admin, app, url + "/catalogue", "nd", **{**SAFETY, "states": ["new", "in_progress"]})
    edit(admin, app, url + "/states/in_progress", "s-in_progress", label="Investigation", key="investigation",
         kind="working", color="teal")
    assert draft(app, url)[0]["discretionary"][0]["states"] == ["new", "investigation"]
    edit(admin, app, url + "/states/new/remove")
    assert draft(app, url)[0]["discretionary"][0]["states"] == ["investigation"]


def test_a_transition_that_waits_for_the_child_cases_keeps_it_when_edited(app: Any, admin: Web) -> None:
    url = _create(admin)
    move = {"label": "Resolve", "key": "resolve", "sources": ["in_progress"], "target": "resolved",
            "roles": ["agent"], "queue_members": "y", "comment_required": "y"}
    saved = edit(admin, app, url + "/transitions/resolve", "t-resolve", **{**move, "after_children": "y"})
    assert draft(app, url)[0]["transitions"][1]["after_children"] is True
    assert "waits for the child cases" in element(text(saved), "transition-resolve")
    edit(admin, app, url + "/transitions/resolve", "t-resolve", **move)
    assert "after_children" not in draft(app, url)[0]["transitions"][1]
