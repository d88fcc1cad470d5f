"""A new admin designs the complaint case type in Chromium, from the dashboard to a published version 1."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Page, expect

from tests.support.browser import design_complaint_case_type


def test_an_admin_designs_and_publishes_the_complaint_case_type(page: Page, live_app: Any,
                                                                complaint_form: str) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico") else None)
    posts: list[dict[str, str]] = []
    page.on("request", lambda r: posts.append(r.headers) if r.method == "POST" and "hx-request" in r.headers
            else None)

    design_complaint_case_type(page, complaint_form)
    nodes = page.locator("#diagram svg g.node")
    expect(nodes).to_have_count(5)
    for label in ("New", "In progress", "Waiting for customer", "Resolved", "Rejected"):
        expect(page.locator("#diagram svg g.node text", has_text=label).first).to_be_visible()
    expect(page.locator("#diagram svg g.edge")).to_have_count(4)  # "reject" leaves two states: two arrows

    from app.extensions import db
    from cases import definitions

    with live_app.app_context():
        definition = definitions.find_definition(db.session, "case_type", "complaint-handling")
        assert definition is not None and [v.number for v in definition.versions] == [1]
        version = json.loads(definition.versions[0].document)
    assert [(s["label"], s["kind"]) for s in version["states"]] == [
        ("New", "initial"), ("In progress", "working"), ("Waiting for customer", "waiting"),
        ("Resolved", "final"), ("Rejected", "final")]
    assert {t["key"]: (t["from"], t["to"], t["comment_required"]) for t in version["transitions"]} == {
        "start": (["new"], "in_progress", False), "resolve": (["in_progress"], "resolved", True),
        "reject": (["new", "in_progress"], "rejected", True)}
    assert (version["request_info_state"], version["default_queue"], version["prefix"]) == (
        "waiting_customer", "general", "CMP")

    page.get_by_role("link", name="History").click()
    expect(page.locator("#version-1")).to_contain_text("First version")
    assert posts and all(h.get("x-csrftoken") for h in posts), "an htmx POST went out without the CSRF header"
    assert problems == []
