"""An admin builds invoice routing in the rule designer in Chromium: "amount over 10,000 goes to the CFO",
tries it on sample invoices, back-tests it on invoices already filed, publishes, and new invoices follow it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.support.browser import login

SHOTS = os.environ.get("CASEWORK_SCREENSHOTS")
"""A folder to keep screenshots of the designer in (for reviewing the pages), unset in CI."""

INVOICE_FORM = {
    "schema_version": 1, "title": "Supplier invoice", "description": "An invoice to approve and pay.",
    "pages": [{"key": "invoice", "title": "Invoice", "fields": [
        {"type": "currency", "key": "amount", "label": "Amount", "currency": "USD", "required": True},
        {"type": "short_text", "key": "po_number", "label": "PO number", "required": True},
        {"type": "short_text", "key": "vendor", "label": "Vendor", "required": True},
    ]}],
}


def invoice_case_type() -> dict[str, Any]:
    staff = {"roles": ["agent"], "queue_members": True, "assignee_only": False, "requester": False}

    def move(key: str, label: str, sources: list[str], target: str) -> dict[str, Any]:
        return {"key": key, "label": label, "from": sources, "to": target, "who": staff}

    return {
        "schema_version": 1, "name": "Invoice approval", "description": "", "prefix": "INV",
        "form": "invoice", "form_version": 1, "default_queue": "general", "fallback_queue": "general",
        "states": [
            {"key": "submitted", "label": "Submitted", "kind": "initial", "color": "blue"},
            {"key": "manager_approval", "label": "Manager approval", "kind": "working", "color": "teal"},
            {"key": "cfo_approval", "label": "CFO approval", "kind": "working", "color": "purple"},
            {"key": "payment_scheduled", "label": "Payment scheduled", "kind": "working", "color": "amber"},
            {"key": "paid", "label": "Paid", "kind": "final", "color": "green"},
            {"key": "rejected", "label": "Rejected", "kind": "final", "color": "red"},
        ],
        "transitions": [
            move("to_manager", "Send to the manager", ["submitted"], "manager_approval"),
            move("to_cfo", "Send to the CFO", ["submitted", "manager_approval"], "cfo_approval"),
            move("approve", "Approve", ["manager_approval", "cfo_approval"], "payment_scheduled"),
            move("pay", "Mark as paid", ["payment_scheduled"], "paid"),
            move("reject", "Reject", ["submitted", "manager_approval", "cfo_approval"], "rejected"),
        ],
        "editable_fields": {}, "sla": [],
    }


def invoice(amount: str, n: int) -> dict[str, str]:
    return {"amount": amount, "po_number": f"PO-{n:04d}", "vendor": "Acme Supplies"}


@pytest.fixture
def invoices(live_app: Any) -> dict[str, Any]:
    """The invoice form and case type (version 1, no rules yet) set up through the services, and three
    invoices filed under it."""
    from app.extensions import db
    from cases import accounts, definitions, lifecycle
    from cases.submissions import Uploader

    with live_app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        requester = accounts.find_user(db.session, "requester@example.com")
        assert admin is not None and requester is not None
        form = definitions.create(db.session, "form", slug="invoice", title="Supplier invoice", actor=admin,
                                  document=INVOICE_FORM)
        definitions.publish(db.session, form, actor=admin)
        case_type = definitions.create(db.session, "case_type", slug="invoice", title="Invoice approval",
                                       actor=admin, document=invoice_case_type())
        definitions.publish(db.session, case_type, actor=admin)
        filed = [lifecycle.file_case(db.session, case_type, invoice(amount, n), uploader=Uploader(requester)).ref
                 for n, amount in enumerate(("15000.00", "4200.00", "25000.00"), start=1)]
        out = {"id": case_type.id, "filed": filed}
        db.session.remove()
    return out


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def workspace_edit(page: Page, url_part: str) -> Any:
    return page.expect_response(lambda r: url_part in r.url and r.request.method in ("POST", "GET"))


def add_rule(page: Page, name: str) -> None:
    adding = page.locator("#rl-add")
    if adding.get_attribute("open") is None:
        adding.locator("summary").click()
    adding.get_by_label("Name").fill(name)
    with workspace_edit(page, "/rules/"):
        adding.get_by_role("button", name="Add rule").click()
    expect(page.locator("#rl-editor-h")).to_have_text(f"Rule “{name}”")


def add_move_to_state(page: Page, state_label: str) -> None:
    form = page.locator("#act-form-new")
    with workspace_edit(page, "/action-form"):
        form.get_by_label("Action", exact=True).select_option(label="Move to state")
    form = page.locator("#act-form-new")
    form.get_by_label("State", exact=True).select_option(label=state_label)
    with workspace_edit(page, "/actions"):
        form.get_by_role("button", name="Add action").click()


def rule_order(page: Page) -> list[str]:
    return page.locator(".rl-cards[data-trigger='case.submitted'] > .rl-card").evaluate_all(
        "cards => cards.map(c => c.dataset.rule)")


def drag(page: Page, source: Locator, target: Locator) -> None:
    """A real mouse drag: press on the source card's grip, move over the top of the target card, release."""
    target.scroll_into_view_if_needed()
    source.scroll_into_view_if_needed()
    start = source.locator(".dz-grip").bounding_box()
    end = target.bounding_box()
    assert start and end
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] * 0.25, steps=12)
    with page.expect_response(lambda r: r.url.endswith("/rules/move")):
        page.mouse.up()


def try_sample(page: Page, amount: str) -> Locator:
    panel = page.locator("#rule-test")
    panel.get_by_label("Amount").fill(amount)
    panel.get_by_label("PO number").fill("PO-0100")
    panel.get_by_label("Vendor").fill("Acme Supplies")
    with page.expect_response(lambda r: r.url.endswith("/rules/test")):
        panel.get_by_role("button", name="Try it").click()
    return page.locator("#rule-test-result")


def test_an_admin_routes_large_invoices_to_the_cfo(page: Page, base_url: str, live_app: Any,
                                                   invoices: dict[str, Any]) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page, "admin@example.com")
    page.get_by_role("link", name="Design case types").click()
    page.get_by_role("link", name="Invoice approval").first.click()
    page.get_by_role("link", name="Open the rule designer").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rules")
    status = page.locator("#rl-status")

    # Rule 1: amount over 10,000 goes to CFO approval; built with pickers, nothing typed but the number.
    add_rule(page, "Large invoices need the CFO")
    expect(status).to_contain_text("Rule “Large invoices need the CFO” added as rule 1 of 1")
    builder = page.locator("#rl-cond")
    with workspace_edit(page, "/condition?"):
        builder.get_by_label("Only cases where…").check()
    builder = page.locator("#rl-cond")
    with workspace_edit(page, "/condition?"):
        builder.get_by_label("Test", exact=True).select_option(label="Amount")
    with workspace_edit(page, "/condition?"):
        builder.get_by_label("Condition").select_option(label="is more than")
    builder.get_by_label("Value").fill("10,000")
    with workspace_edit(page, "/condition"):
        builder.get_by_role("button", name="Apply").click()
    expect(status).to_contain_text("Condition saved.")
    add_move_to_state(page, "CFO approval")
    cfo_card = page.locator(".rl-card", has_text="Large invoices need the CFO")
    expect(cfo_card.locator(".rl-summary")).to_contain_text(
        "When a case is submitted and Amount is greater than 10000: move to CFO approval")
    shot(page, "0-first-rule")

    # Rule 2: everything else goes to the manager.
    add_rule(page, "Everything else to the manager")
    add_move_to_state(page, "Manager approval")
    expect(page.locator(".rl-card", has_text="Everything else").locator(".rl-summary")).to_contain_text(
        "When a case is submitted: move to Manager approval")
    assert rule_order(page) == ["large_invoices_need_the_cfo", "everything_else_to_the_manager"]
    expect(page.locator(".ct-ok")).to_contain_text("No problems in the rules")
    shot(page, "1-rules")

    # Put the catch-all first by keyboard: the CFO rule could never fire, and the designer says so there.
    page.locator("#sel-everything_else_to_the_manager").focus()
    with page.expect_response(lambda r: r.url.endswith("/move")):
        page.keyboard.press("Alt+ArrowUp")
    expect(status).to_contain_text("“Everything else to the manager” is now rule 1 of 2")
    assert rule_order(page) == ["everything_else_to_the_manager", "large_invoices_need_the_cfo"]
    expect(page.locator("#rule-large_invoices_need_the_cfo .rl-card-problems")).to_contain_text("1 problem")
    expect(page.locator("#rl-problems")).to_contain_text("can never fire")
    expect(page.locator("#sel-everything_else_to_the_manager")).to_be_focused()
    shot(page, "1b-problem")
    # And back with the mouse.
    drag(page, page.locator("#rule-large_invoices_need_the_cfo"), page.locator("#rule-everything_else_to_the_manager"))
    expect(status).to_contain_text("“Large invoices need the CFO” is now rule 1 of 2")
    assert rule_order(page) == ["large_invoices_need_the_cfo", "everything_else_to_the_manager"]
    expect(page.locator(".ct-ok")).to_contain_text("No problems in the rules")

    # The test panel: 12,000 fires the CFO rule, 9,000 does not (it goes to the manager).
    result = try_sample(page, "12,000")
    expect(result).to_contain_text("Rule “Large invoices need the CFO” fires: move to CFO approval")
    expect(page.locator("#rule-test")).not_to_contain_text("evaluator")
    expect(page.locator("#rule-test")).not_to_contain_text("durable")
    shot(page, "2-test-panel")
    result = try_sample(page, "9000")
    expect(result).to_contain_text("Rule “Everything else to the manager” fires: move to Manager approval")
    expect(result).not_to_contain_text("CFO")

    # Back-test against the three invoices already filed (under version 1, without rules).
    backtest = page.locator("#backtest")
    with page.expect_response(lambda r: r.url.endswith("/rules/backtest")):
        backtest.get_by_role("button", name="Run the back-test").click()
    expect(backtest).to_contain_text("3 of 3 cases would be decided differently")
    changes = page.locator("#bt-changes")
    large, small, larger = invoices["filed"]
    expect(changes.locator("tr", has_text=large)).to_contain_text("move to CFO approval")
    expect(changes.locator("tr", has_text=larger)).to_contain_text("move to CFO approval")
    expect(changes.locator("tr", has_text=small)).to_contain_text("move to Manager approval")
    expect(changes.get_by_role("link", name=large)).to_have_attribute("href", re.compile(r"/work/cases/\d+$"))
    shot(page, "3-backtest")

    # Deleting is undone from the keyboard: focus waits on Undo.
    with page.expect_response(lambda r: r.url.endswith("/delete")):
        page.get_by_role("button", name="Delete “Everything else to the manager”").click()
    expect(status).to_contain_text("Rule “Everything else to the manager” deleted.")
    expect(page.locator("#undo-button")).to_be_focused()
    with page.expect_response(lambda r: r.url.endswith("/restore")):
        page.keyboard.press("Enter")
    expect(status).to_contain_text("Rule “Everything else to the manager” is back, rule 2 of 2")
    assert rule_order(page) == ["large_invoices_need_the_cfo", "everything_else_to_the_manager"]

    # Publish the case type with its rules.
    page.get_by_role("link", name="publish the case type").click()
    page.get_by_label("Change note").fill("Large invoices need the CFO")
    page.get_by_role("button", name="Publish version 2").click()
    expect(page.locator("#ct-status, .flashes")).to_contain_text("Version 2 published")

    # New invoices follow the rules: through the API, as an ERP would file them.
    result_token = live_app.test_cli_runner().invoke(args=["token", "create", "requester@example.com"])
    headers = {"Authorization": f"Bearer {result_token.output.split()[-1]}", "Content-Type": "application/json"}
    states = {}
    for n, amount in ((10, "12000"), (11, "9000")):
        response = page.request.post(f"{base_url}/api/v1/case-types/invoice/cases", headers=headers,
                                     data=json.dumps({"data": invoice(amount, n)}))
        assert response.status == 201, response.text()
        states[amount] = response.json()["state"]
    assert states == {"12000": "cfo_approval", "9000": "manager_approval"}
    assert dialogs == []
