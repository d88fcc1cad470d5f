"""The browser checks a field's pattern with the syntax the server accepts (issue 11.1)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, expect

from tests.support.browser import login

FORM = {"schema_version": 1, "title": "Order lookup", "pages": [{"key": "p", "title": "Order", "fields": [
    {"type": "short_text", "key": "order", "label": "Order number", "pattern": "ORD-[0-9]{6}",
     "pattern_message": "Use ORD- and six digits."},
    {"type": "short_text", "key": "code", "label": "Code", "pattern": "(a+)+b",
     "pattern_message": "Only a's, then b."},
]}]}


def _publish(app: Any) -> None:
    from app.extensions import db
    from cases import accounts, definitions

    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        form = definitions.find_definition(db.session, "form", "order-lookup") or definitions.create(
            db.session, "form", slug="order-lookup", title="Order lookup", actor=admin, document=FORM)
        if form.latest_version is None:
            definitions.publish(db.session, form, actor=admin)
        definitions.set_availability(db.session, form, open_for_requests=True, public=False, archived=False,
                                     actor=admin)
        db.session.remove()


def test_the_browser_and_the_server_read_a_pattern_alike(browser: Browser, base_url: str, live_app: Any) -> None:
    _publish(live_app)
    page = browser.new_context(base_url=base_url).new_page()
    login(page, "requester@example.com")
    page.goto("/portal/forms/order-lookup")
    order = page.locator("#field-order")
    order.fill("ORD-12")
    assert order.evaluate("e => e.validationMessage") == "Use ORD- and six digits."
    order.fill("ORD-123456")
    assert order.evaluate("e => e.validity.valid") is True
    # A pattern a backtracking engine could hang on is checked by the server (RE2) only.
    code = page.locator("#field-code")
    assert code.get_attribute("data-pattern") is None
    code.fill("a" * 40 + "!")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Only a's, then b.")).to_be_visible()
    page.context.close()
