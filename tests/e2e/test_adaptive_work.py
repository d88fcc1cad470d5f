"""Adaptive case work in Chromium: an admin adds a task agents may start to a case type and publishes it; an
agent starts it on a complaint with a reason; the member of the task's queue completes it; the complaint closes."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.support.browser import login
from tests.support.complaint import GOOD


def _setup(live_app: Any, complaint_form: str) -> int:
    """A published case type without tasks to start, and the reviewers' queue with its one member."""
    from app.extensions import db
    from case_types.workflow import starter_case_type
    from cases import accounts, definitions

    slug, number = complaint_form.split("@")
    with live_app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        queue = accounts.create_queue(db.session, slug="product-safety", name="Product-safety reviewers")
        sam = accounts.create_user(db.session, email="sam.safety@example.com", name="Sam Safety",
                                   password="casework-demo", roles=["agent"])
        accounts.add_queue_member(db.session, queue, sam)
        document = starter_case_type("Safety-sensitive complaint", form=slug, form_version=int(number),
                                     queue="general")
        document["prefix"] = "SSC"
        case_type = definitions.create(db.session, "case_type", slug="safety-complaint",
                                       title="Safety-sensitive complaint", actor=admin, document=document)
        definitions.publish(db.session, case_type, actor=admin)
        db.session.commit()
        definition_id = case_type.id
        db.session.remove()
    return definition_id


def _file_and_start(live_app: Any) -> tuple[int, str]:
    from app.extensions import db
    from cases import accounts, definitions, lifecycle
    from cases.submissions import Uploader

    with live_app.app_context():
        case_type = definitions.find_definition(db.session, "case_type", "safety-complaint")
        requester = accounts.find_user(db.session, "requester@example.com")
        agent = accounts.find_user(db.session, "agent@example.com")
        assert case_type is not None and requester is not None and agent is not None
        case = lifecycle.file_case(db.session, case_type, {**GOOD, "email": requester.email},
                                   uploader=Uploader(requester))
        lifecycle.transition(db.session, case, "start", agent)
        db.session.commit()
        found = (case.id, case.ref)
        db.session.remove()
    return found


def _as(page: Page, email: str) -> None:
    page.context.clear_cookies()
    login(page, email)


def test_an_admin_adds_a_safety_review_an_agent_starts_it_and_its_queue_completes_it(
        page: Page, live_app: Any, complaint_form: str) -> None:
    errors: list[str] = []  # the refused Resolve answers 409 on purpose; anything else is a fault
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
            and "409 (CONFLICT)" not in m.text else None)
    definition_id = _setup(live_app, complaint_form)

    # The admin adds "Product-safety review" in the case-type designer and publishes version 2.
    _as(page, "admin@example.com")
    page.goto(f"/designer/case-types/{definition_id}")
    tasks = page.locator("#tasks")
    tasks.get_by_text("Add a task agents may start").click()
    new = tasks.locator("details.ct-add")
    new.get_by_label("Name", exact=True).fill("Product-safety review")
    new.locator("#nd-states").get_by_label("In progress").check()
    new.get_by_label("Agents working the case (its queue's agents, its assignee)").check()
    new.get_by_label("A reason is required to start it").check()
    new.get_by_label("The case cannot close while it is open").check()
    new.get_by_label("Queue that works it").select_option("product-safety")
    new.get_by_label("Due within (hours)").fill("16")
    new.get_by_role("button", name="Add task").click()
    card = page.locator("#task-product_safety_review")
    expect(card).to_contain_text("worked by Product-safety reviewers")
    expect(card).to_contain_text("blocks closing")
    expect(page.locator("#problems")).to_contain_text("No problems")
    page.get_by_label("Change note").fill("Agents can ask for a product-safety review.")
    page.get_by_role("button", name="Publish version 2").click()
    expect(page.locator("#ct-status")).to_contain_text("Version 2 published")

    # The agent starts it on a complaint, with a reason; closing waits for it and says so.
    case_id, ref = _file_and_start(live_app)
    _as(page, "agent@example.com")
    page.goto(f"/work/cases/{case_id}")
    start = page.locator("form.start-item", has=page.get_by_role("button", name="Start: Product-safety review"))
    start.get_by_label("Reason").fill("The charger smoked when plugged in.")
    start.get_by_role("button", name="Start: Product-safety review").click()
    expect(page.locator("#case")).to_contain_text("The charger smoked when plugged in.")
    resolve = page.locator("form.transition", has=page.get_by_role("button", name="Resolve"))
    resolve.get_by_label("Comment (required)").fill("Replaced the charger.")
    resolve.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("alert")).to_contain_text("'Product-safety review' (Product-safety reviewers) is still "
                                                      "open")
    expect(page.get_by_role("button", name="Complete Product-safety review")).to_have_count(0)

    # The reviewers' member sees the case and completes the review.
    _as(page, "sam.safety@example.com")
    page.goto(f"/work/cases/{case_id}")
    expect(page.locator(".case-head")).to_contain_text(ref)
    page.get_by_role("button", name="Complete Product-safety review").click()
    expect(page.locator("ul.tasks li.done")).to_have_count(1)

    # Now the complaint closes.
    _as(page, "agent@example.com")
    page.goto(f"/work/cases/{case_id}")
    resolve = page.locator("form.transition", has=page.get_by_role("button", name="Resolve"))
    resolve.get_by_label("Comment (required)").fill("Replaced the charger; the review found no fault.")
    resolve.get_by_role("button", name="Resolve").click()
    expect(page.locator(".case-head")).to_contain_text("Resolved")
    expect(page.locator(".timeline")).to_contain_text(re.compile("Product-safety review", re.I))
    assert errors == []
