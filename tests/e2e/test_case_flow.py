"""The whole life of a case in Chromium: an admin designs the case type, a requester files, an agent
claims and asks for information, the requester answers, the agent resolves, the requester sees the outcome."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.support.browser import design_complaint_case_type, login


def _as(browser: Browser, base_url: str, email: str) -> Page:
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    login(page, email)
    return page


def test_a_case_from_design_to_outcome(page: Page, browser: Browser, base_url: str, live_app: Any,
                                       complaint_form: str) -> None:
    design_complaint_case_type(page, complaint_form, name="Customer care", slug="customer-care", prefix="cc")

    requester = _as(browser, base_url, "requester@example.com")
    requester.get_by_role("link", name="Customer care").click()
    requester.get_by_label("Your name").fill("Riley Requester")
    requester.get_by_label("Email address").fill("riley@example.com")
    requester.get_by_label("Order number").fill("ORD-123456")
    requester.get_by_label("High").check()
    requester.get_by_label("Category", exact=True).select_option("damaged")
    requester.get_by_label("What happened?").fill("The parcel arrived crushed and the vase is broken.")
    requester.get_by_role("button", name="Submit").click()
    confirmation = requester.get_by_role("status").filter(has_text="was received")
    expect(confirmation).to_contain_text(re.compile(r"CC-\d{6}"))
    ref = re.search(r"CC-\d{6}", confirmation.inner_text()).group(0)  # type: ignore[union-attr]

    agent = _as(browser, base_url, "agent@example.com")
    agent.get_by_role("link", name=ref).click()
    expect(agent.get_by_role("heading", level=1)).to_contain_text(ref)
    agent.get_by_role("button", name="Claim").click()
    expect(agent.get_by_role("button", name="Release")).to_be_visible()
    agent.get_by_role("button", name="Start work").click()
    expect(agent.locator(".case-head")).to_contain_text("In progress")
    agent.get_by_label("Ask the requester for information").fill("Could you send a photo of the box?")
    agent.get_by_role("button", name="Send request").click()
    expect(agent.locator(".case-head")).to_contain_text("Waiting for customer")

    requester.goto("/portal/")
    requester.get_by_role("link", name=ref).click()
    expect(requester.get_by_role("heading", name="We need more information")).to_be_visible()
    expect(requester.locator(".question")).to_have_text("Could you send a photo of the box?")
    requester.get_by_label("Your answer").fill("The box was soaked; photo to follow.")
    requester.get_by_role("button", name="Send answer").click()
    expect(requester.get_by_role("heading", name="We need more information")).to_have_count(0)

    agent.reload()
    expect(agent.locator(".case-head")).to_contain_text("In progress")
    resolve = agent.locator("form.transition", has=agent.get_by_role("button", name="Resolve"))
    resolve.get_by_label("Comment (required)").fill("Refund of 49.90 EUR sent.")
    resolve.get_by_role("button", name="Resolve").click()
    expect(agent.locator(".case-head")).to_contain_text("Resolved")

    requester.reload()
    expect(requester.locator(".case-head")).to_contain_text("Resolved")
    expect(requester.locator(".comments")).to_contain_text("Refund of 49.90 EUR sent.")
    steps = requester.locator(".timeline li .what")
    expect(steps).to_contain_text([
        re.compile("Filed in New"), re.compile("Start work: New → In progress"),
        re.compile("Asked the requester for information"), re.compile("Answered the request for information"),
        re.compile("Resolve: In progress → Resolved")])
    expect(requester.locator(".timeline")).not_to_contain_text("agent@example.com")

    agent_steps = agent.locator(".timeline li")
    expect(agent_steps.filter(has_text="Claimed the case")).to_contain_text("agent@example.com")
    for entry in agent_steps.all():
        expect(entry.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
