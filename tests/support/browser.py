"""Driving Chromium through Playwright as a person does."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def login(page: Page, email: str, password: str = "casework-demo") -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def new_case_type(page: Page, complaint_form: str, name: str, slug: str) -> None:
    """As admin: a new case type from the starter states on the complaint form; its editor is open."""
    login(page, "admin@example.com")
    page.goto("/designer/case-types/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Short name").fill(slug)
    page.get_by_label("Form and version").select_option(complaint_form)
    page.get_by_label("Default queue").select_option("general")
    page.get_by_role("button", name="Create case type").click()
    expect(page).to_have_url(re.compile(r"/designer/case-types/\d+$"))


def design_complaint_case_type(page: Page, complaint_form: str, *, name: str = "Complaint handling",
                               slug: str = "complaint-handling", prefix: str = "cmp") -> None:
    """As admin: build New, In progress, Waiting for customer, Resolved, Rejected in the designer; publish."""
    login(page, "admin@example.com")
    expect(page).to_have_url(re.compile(r"/designer/$"))
    page.get_by_role("link", name="Design case types").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Case types")
    page.get_by_role("link", name="New case type").click()

    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Short name").fill(slug)
    page.get_by_label("Form and version").select_option(complaint_form)
    page.get_by_label("Default queue").select_option("general")
    page.get_by_role("button", name="Create case type").click()
    expect(page).to_have_url(re.compile(r"/designer/case-types/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    status = page.locator("#ct-status")

    # The starter's waiting state becomes "Waiting for customer" (opened with the keyboard).
    waiting = page.locator("#state-waiting")
    waiting.get_by_text("Edit the state “Waiting for requester”").focus()
    page.keyboard.press("Enter")
    waiting.get_by_label("Label").fill("Waiting for customer")
    waiting.get_by_label("Key", exact=True).fill("waiting_customer")
    waiting.get_by_role("button", name="Save state").click()
    expect(status).to_have_text("State saved.")
    expect(page.locator("#state-waiting_customer h3")).to_have_text("Waiting for customer")
    expect(page.get_by_role("button", name="Save state").and_(page.locator(":focus"))).to_have_count(1)

    # "Reject" is taken out and put back through the form, from New and In progress.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#transition-reject").get_by_role("button", name="Remove “Reject”").click()
    expect(status).to_have_text("Transition removed.")
    expect(page.locator("#transition-reject")).to_have_count(0)
    page.locator("#transitions summary", has_text="Add a transition").click()
    adding = page.locator("#transitions .ct-add")
    adding.get_by_label("Label").fill("Reject")
    adding.get_by_label("Key", exact=True).fill("reject")
    adding.get_by_role("group", name="From").get_by_label("New", exact=True).check()
    adding.get_by_role("group", name="From").get_by_label("In progress").check()
    adding.get_by_label("To", exact=True).select_option(label="Rejected")
    adding.get_by_label("A comment is required").check()
    adding.get_by_role("button", name="Add transition").click()
    expect(status).to_have_text("Transition “Reject” added.")
    expect(page.locator("#transition-reject .ct-facts")).to_contain_text("from New, In progress to Rejected")
    expect(page.locator("#transition-start .ct-facts")).to_contain_text("from New to In progress")
    expect(page.locator("#transition-resolve .ct-facts")).to_contain_text("comment required")

    settings = page.locator("#general")
    expect(settings.get_by_label("Waiting state for requests for information")).to_have_value("waiting_customer")
    settings.get_by_label("Reference prefix").fill(prefix)
    settings.get_by_label("Default queue").select_option("general")
    settings.get_by_role("button", name="Save settings").click()
    expect(status).to_have_text("Settings saved.")
    expect(settings.get_by_label("Reference prefix")).to_have_value(prefix.upper())
    expect(page.locator("#problems")).to_have_text("No problems: this draft can be published.")

    publish = page.locator("#publish")
    publish.get_by_label("Change note").fill("First version")
    publish.get_by_role("button", name="Publish version 1").click()
    expect(status).to_have_text("Version 1 published. New cases are filed under it.")
    expect(page.get_by_role("link", name="version 1", exact=True)).to_be_visible()
    expect(publish).to_contain_text("The draft is the same as version 1.")
