"""Queues without typing short names or e-mail addresses: the short name follows the name, a new case
type can create its queue in the same step, and members are picked from the agents."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.support.browser import login


def test_a_queue_gets_its_short_name_from_its_name_and_members_from_a_picker(page: Page, live_app: Any) -> None:
    login(page, "admin@example.com")
    page.goto("/admin/queues/new")
    page.get_by_label("Name", exact=True).fill("Billing disputes")
    expect(page.get_by_label("Short name")).to_have_value("billing-disputes")
    page.get_by_role("button", name="Create queue").click()
    expect(page.locator("body")).to_contain_text("Queue “Billing disputes” created.")
    members = page.locator("#members")
    picker = members.get_by_label("Agent")
    expect(picker.locator("option")).not_to_have_count(0)
    expect(members.locator("input[type=email]")).to_have_count(0)
    picker.select_option("agent@example.com")
    members.get_by_role("button", name="Add member").click()
    expect(page.locator("#members .members")).to_contain_text("agent@example.com")


def test_a_new_case_type_creates_its_queue_inline(page: Page, live_app: Any, complaint_form: str) -> None:
    login(page, "admin@example.com")
    page.goto("/designer/case-types/new")
    page.get_by_label("Name", exact=True).fill("Warranty claims")
    expect(page.get_by_label("Short name")).to_have_value("warranty-claims")
    page.get_by_label("Form and version").select_option(complaint_form)
    page.get_by_label("Or create a new queue named").fill("Warranty team")
    page.get_by_role("button", name="Create case type").click()
    expect(page).to_have_url(re.compile(r"/designer/case-types/\d+$"))
    expect(page.locator("#general").get_by_label("Default queue")).to_have_value("warranty-team")

    from app.extensions import db
    from cases import accounts

    with live_app.app_context():
        queue = accounts.find_queue(db.session, "warranty-team")
        assert queue is not None and queue.name == "Warranty team"
        db.session.remove()
