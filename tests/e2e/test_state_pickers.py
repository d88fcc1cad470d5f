"""Agents and auditors pick states by their labels and read labels in the lists (they used to type state
keys: "Resolved" found nothing, the hint said `e.g. in_progress`, the lists showed `in progress`)."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from tests.support.browser import login
from tests.support.complaint import GOOD, complaint_case_type_document

SLUG = "state-pickers"


@pytest.fixture
def sorted_out(live_app: Any, complaint_form: str) -> None:
    """A case type whose resolved state reads "Sorted out", with one case there and one in progress."""
    from app.extensions import db
    from cases import accounts, definitions, lifecycle
    from cases.submissions import Uploader

    with live_app.app_context():
        if definitions.find_definition(db.session, "case_type", SLUG) is not None:
            return
        admin, agent = (accounts.find_user(db.session, e) for e in ("admin@example.com", "agent@example.com"))
        requester = accounts.find_user(db.session, "requester@example.com")
        assert admin and agent and requester
        document = complaint_case_type_document(name="State pickers", prefix="STP",
                                                form_version=int(complaint_form.split("@")[1]))
        document["states"][3]["label"] = "Sorted out"
        case_type = definitions.create(db.session, "case_type", slug=SLUG, title="State pickers", actor=admin,
                                       document=document)
        definitions.publish(db.session, case_type, actor=admin)
        for n in range(2):
            case = lifecycle.file_case(db.session, case_type, GOOD, uploader=Uploader(requester))
            lifecycle.transition(db.session, case, "start", agent)
            if n == 0:
                lifecycle.transition(db.session, case, "resolve", agent, comment="Refund sent.")
        db.session.remove()


def test_the_agent_filters_by_a_state_label(page: Page, live_app: Any, sorted_out: None) -> None:
    login(page, "agent@example.com")
    expect(page).to_have_url(re.compile(r"/work/"))
    page.get_by_label("Status").select_option("any")
    page.get_by_label("Case type").select_option(label="State pickers")
    rows = page.locator("#case-list table.cases tbody tr")
    expect(rows).to_have_count(2)
    assert sorted(rows.locator(".badge.state").all_inner_texts()) == ["In progress", "Sorted out"]
    state = page.get_by_label("State", exact=True)
    expect(state.locator("option", has_text="Sorted out")).to_have_count(1)
    expect(state.locator("option", has_text="_")).to_have_count(0)
    # Other case types on the shared server may call the same key differently ("Resolved / Sorted out").
    state.select_option(label=state.locator("option", has_text="Sorted out").inner_text())
    expect(page).to_have_url(re.compile(r"state=resolved"))
    expect(rows).to_have_count(1)
    expect(rows.locator(".badge.state")).to_have_text("Sorted out")


def test_the_auditor_searches_by_a_state_label(page: Page, live_app: Any, sorted_out: None) -> None:
    login(page, "auditor@example.com")
    page.goto("/audit/")
    expect(page.get_by_label("State (key)")).to_have_count(0)
    page.get_by_label("Case type").select_option(label="State pickers")
    page.get_by_label("State", exact=True).select_option(label="In progress")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"state=in_progress"))
    expect(page.locator("#case-list .badge.state")).to_have_text(["In progress"])


def test_a_late_answer_to_an_earlier_filter_never_replaces_the_later_one(page: Page, live_app: Any,
                                                                          sorted_out: None) -> None:
    """Two filter changes in quick succession: the list shows the second even when the first one's answer
    comes last (the work list showed every case after "Case type" was picked, under load in CI)."""
    held: list[Any] = []

    def hold_the_first(route: Any) -> None:
        if "status=any" in route.request.url and "case_type=&" in route.request.url and not held:
            held.append(route)
        else:
            route.continue_()

    login(page, "agent@example.com")
    expect(page).to_have_url(re.compile(r"/work/"))
    rows = page.locator("#case-list table.cases tbody tr")
    page.route(re.compile(r".*/work/\?.*"), hold_the_first)
    page.get_by_label("Status").select_option("any")
    page.get_by_label("Case type").select_option(label="State pickers")
    for _ in range(100):  # the route handler runs while the page is waited on
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the first filter's request was not sent"
    expect(rows).to_have_count(2)  # the second change's answer is in
    with contextlib.suppress(PlaywrightError):  # the page may have aborted it already, which is the point
        held[0].continue_()  # its answer now arrives after the second one was asked for
    page.wait_for_timeout(1000)
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"case_type=state-pickers"))
