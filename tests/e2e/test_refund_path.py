"""The refund path in Chromium: an agent agrees a refund above the threshold on a complaint; the rule starts a
refund invoice case with the complaint's answers; the invoice shows its parent; the dossier lists both."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.support.browser import login
from tests.support.complaint import FIXTURES, GOOD

MAPPED = {k: k for k in ("name", "email", "order_number", "severity", "category", "description", "refund_amount")}
REFUND = {"key": "refund", "label": "Refund invoice", "who": {"roles": ["agent"]}, "states": ["in_progress"],
          "case_type": "refund-invoice", "fields": MAPPED}
RULE = {"id": "refund_above_500", "name": "Refunds above 500 need an invoice", "trigger": "case.updated",
        "priority": 10, "condition": {"all": [{"field": "refund_amount", "op": "gt", "value": 500},
                                              {"field": "case.state", "op": "eq", "value": "in_progress"}]},
        "actions": [{"type": "start_task", "task": "refund", "reason": "Refund above 500"}]}


def _setup(live_app: Any) -> tuple[int, str]:
    """A complaint form with a refund amount, an invoice case type on it, the complaint type with the refund
    path; one complaint of the demo requester, in progress."""
    from app.extensions import db
    from case_types.workflow import starter_case_type
    from cases import accounts, definitions, lifecycle
    from cases.submissions import Uploader

    form = json.loads((FIXTURES / "complaint.form.json").read_text())
    form["pages"][0]["fields"].append({"type": "currency", "key": "refund_amount", "label": "Refund amount",
                                       "currency": "EUR", "min": 0})
    with live_app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        requester = accounts.find_user(db.session, "requester@example.com")
        agent = accounts.find_user(db.session, "agent@example.com")
        assert admin is not None and requester is not None and agent is not None
        published = definitions.create(db.session, "form", slug="refund-complaint", title="Complaint with refund",
                                       actor=admin, document=form)
        definitions.publish(db.session, published, actor=admin)
        invoice = starter_case_type("Refund invoice", form="refund-complaint", form_version=1, queue="general")
        invoice["prefix"] = "RIN"
        invoice_type = definitions.create(db.session, "case_type", slug="refund-invoice", title="Refund invoice",
                                          actor=admin, document=invoice)
        definitions.publish(db.session, invoice_type, actor=admin)
        complaint = starter_case_type("Complaint with refund", form="refund-complaint", form_version=1,
                                      queue="general")
        complaint.update(prefix="RCM", editable_fields={"in_progress": ["refund_amount"]}, discretionary=[REFUND],
                         rules={"schema_version": 1, "rules": [RULE]})
        complaint_type = definitions.create(db.session, "case_type", slug="refund-complaint",
                                            title="Complaint with refund", actor=admin, document=complaint)
        assert definitions.draft_problems(db.session, complaint_type) == []
        definitions.publish(db.session, complaint_type, actor=admin)
        case = lifecycle.file_case(db.session, complaint_type, {**GOOD, "email": requester.email},
                                   uploader=Uploader(requester))
        lifecycle.transition(db.session, case, "start", agent)
        db.session.commit()
        found = (case.id, case.ref)
        db.session.remove()
    return found


def test_a_refund_above_the_threshold_starts_an_invoice_that_shows_its_parent(page: Page, live_app: Any) -> None:
    case_id, ref = _setup(live_app)
    login(page, "agent@example.com")
    page.goto(f"/work/cases/{case_id}")
    edit = page.locator("form", has=page.get_by_role("button", name="Save changes"))
    edit.get_by_label("Refund amount").fill("320.00")
    edit.get_by_role("button", name="Save changes").click()
    expect(page.locator(".timeline")).to_contain_text("Changed the case data")
    expect(page.locator("section.links")).not_to_contain_text("Child case")  # 320 is below the threshold

    edit = page.locator("form", has=page.get_by_role("button", name="Save changes"))
    edit.get_by_label("Refund amount").fill("749.90")
    edit.get_by_role("button", name="Save changes").click()
    links = page.locator("section.links")
    expect(links).to_contain_text("Child case")
    child = links.get_by_role("link", name=re.compile(r"^RIN-\d+$"))
    child_ref = child.inner_text()
    expect(page.locator(".timeline")).to_contain_text(f"Started Refund invoice: child case {child_ref}")
    child.click()

    expect(page.locator(".case-head")).to_contain_text(child_ref)
    expect(page.locator(".data")).to_contain_text("749.90")
    expect(page.locator(".data")).to_contain_text(GOOD["order_number"])
    parent = page.locator("section.links")
    expect(parent).to_contain_text("Parent case")
    parent.get_by_role("link", name=ref).click()
    expect(page.locator(".case-head")).to_contain_text(ref)

    # The dossier of each lists the other (the content WeasyPrint renders).
    from app.documents.templating import dossier_html
    from app.extensions import db
    from cases import document_content
    from cases.models import Case

    with live_app.app_context():
        complaint = db.session.get(Case, case_id)
        invoice = db.session.query(Case).filter_by(ref=child_ref).one()
        assert complaint is not None
        pages = {c.ref: dossier_html(document_content.preview_context(db.session, c, organisation="Casework"))
                 for c in (complaint, invoice)}
        db.session.remove()
    assert f"<td>Child case</td><td>{child_ref}</td>" in pages[ref]
    assert f"<td>Parent case</td><td>{ref}</td>" in pages[child_ref]
