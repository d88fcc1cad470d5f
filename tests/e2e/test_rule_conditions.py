"""The rule designer's condition builder in Chromium: switching a test to "is one of" ticks nothing (it
used to tick the option the "is" picker showed, Low, and so escalate every low-severity complaint)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.support.browser import new_case_type


def test_is_one_of_starts_with_nothing_ticked(page: Page, live_app: Any, complaint_form: str) -> None:
    new_case_type(page, complaint_form, "One-of trap", "one-of-trap")
    page.get_by_role("link", name="Open the rule designer").click()
    adding = page.locator("#rl-add")
    if adding.get_attribute("open") is None:
        adding.locator("summary").click()
    adding.get_by_label("Name").fill("Severe complaints")
    adding.get_by_role("button", name="Add rule").click()
    expect(page.locator("#rl-editor-h")).to_have_text("Rule “Severe complaints”")
    builder = page.locator("#rl-cond")
    with page.expect_response(lambda r: "/condition?" in r.url):
        builder.get_by_label("Only cases where…").check()
    with page.expect_response(lambda r: "/condition?" in r.url):
        builder.get_by_label("Test", exact=True).select_option(label="Severity")
    with page.expect_response(lambda r: "/condition?" in r.url):
        builder.get_by_label("Condition").select_option(label="is")
    expect(builder.get_by_label("Value")).to_have_value("low")
    with page.expect_response(lambda r: "/condition?" in r.url):
        builder.get_by_label("Condition").select_option(label="is one of")
    values = builder.get_by_role("group", name="Values").get_by_role("checkbox")
    expect(values).to_have_count(4)
    for i in range(4):
        expect(values.nth(i)).not_to_be_checked()
    # What was ticked on purpose survives another redraw (adding a second test).
    builder.get_by_label("High").check()
    with page.expect_response(lambda r: "/condition?" in r.url):
        builder.get_by_role("button", name="Add another test").click()
    expect(page.locator("#rl-cond").get_by_label("High")).to_be_checked()
    expect(page.locator("#rl-cond").get_by_label("Low")).not_to_be_checked()
