"""Governed change in Chromium, the whole story: admin A raises the complaint escalation threshold in the rule
designer and submits it for review; admin B reads the diff and the back-test, approves and schedules it; the
sweep publishes it when it is due (a fixed clock) and not before; A moves the open complaints after a dry
run; an auditor reads the whole story in the definition log and on one migrated case."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import login

REVIEWER, PASSWORD = "bea.reviewer@example.com", "long enough pw"
FORM = {
    "schema_version": 1, "title": "Escalating complaint", "description": "A complaint about money owed.",
    "pages": [{"key": "claim", "title": "Claim", "fields": [
        {"type": "currency", "key": "amount", "label": "Amount claimed", "currency": "EUR", "required": True},
        {"type": "short_text", "key": "summary", "label": "What happened", "required": True},
    ]}],
}
ESCALATE = {"id": "escalate", "name": "Escalate large claims", "trigger": "case.submitted", "priority": 10,
            "condition": {"field": "amount", "op": "gt", "value": 500},
            "actions": [{"type": "set_priority", "priority": "urgent"}, {"type": "add_tag", "tag": "escalated"}]}


def case_type_document() -> dict[str, Any]:
    from case_types.workflow import starter_case_type

    document = starter_case_type("Escalating complaint", form="escalating", form_version=1, queue="general")
    document["prefix"] = "ESC"
    document["rules"] = {"schema_version": 1, "rules": [ESCALATE]}
    return document


@pytest.fixture
def complaints(live_app: Any) -> dict[str, Any]:
    """The complaint (version 1: claims over 500 escalate) whose changes need review, a second admin, and
    three open complaints of 300, 700 and 1,200."""
    from app.extensions import db
    from cases import accounts, change_requests, definitions, lifecycle
    from cases.submissions import Uploader

    with live_app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        requester = accounts.find_user(db.session, "requester@example.com")
        assert admin is not None and requester is not None
        accounts.create_user(db.session, email=REVIEWER, name="Bea Reviewer", password=PASSWORD, roles=["admin"])
        form = definitions.create(db.session, "form", slug="escalating", title="Escalating complaint", actor=admin,
                                  document=FORM)
        definitions.publish(db.session, form, actor=admin)
        case_type = definitions.create(db.session, "case_type", slug="escalating", title="Escalating complaint",
                                       actor=admin, document=case_type_document())
        definitions.publish(db.session, case_type, actor=admin)
        change_requests.set_review_required(db.session, case_type, True, actor=admin)
        refs = [lifecycle.file_case(db.session, case_type, {"amount": amount, "summary": "Refund owed"},
                                    uploader=Uploader(requester)).ref for amount in ("300.00", "700.00", "1200.00")]
        out = {"id": case_type.id, "refs": refs}
        db.session.remove()
    return out


@pytest.fixture
def person(browser: Browser, base_url: str) -> Iterator[Any]:
    contexts = []

    def sign_in(email: str, password: str = "casework-demo") -> Page:
        context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        login(page, email, password)
        return page

    yield sign_in
    for context in contexts:
        context.close()


def _sweep(live_app: Any, at: datetime) -> int:
    """The every-minute sweep's scheduled publishing, at `at`."""
    from app.extensions import db
    from cases import change_requests
    from cases.clock import fixed

    with live_app.app_context():
        published = change_requests.publish_due(db.session, clock=fixed(at))
        db.session.remove()
    return published


def test_a_reviewed_scheduled_change_then_the_migration_and_the_audit_story(
        live_app: Any, complaints: dict[str, Any], person: Any) -> None:
    middle = complaints["refs"][1]  # 700: escalated under version 1, not under version 2
    editor = f"/designer/case-types/{complaints['id']}"

    # Admin A raises the threshold from 500 to 1,000 in the rule designer and submits the draft for review.
    ada = person("admin@example.com")
    ada.goto(f"{editor}/rules/?rule=escalate")
    builder = ada.locator("#rl-cond")
    builder.get_by_label("Value").fill("1,000")
    with ada.expect_response(lambda r: "/condition" in r.url and r.request.method == "POST"):
        builder.get_by_role("button", name="Apply").click()
    expect(ada.locator("#rl-status")).to_contain_text("Condition saved.")
    expect(ada.locator(".rl-card", has_text="Escalate large claims").locator(".rl-summary")).to_contain_text(
        "Amount claimed is greater than 1000")
    ada.goto(editor)
    expect(ada.locator("#review-required")).to_be_visible()
    ada.get_by_label("Note for the reviewer").fill("Escalate only claims over 1,000")
    ada.get_by_role("button", name="Submit for review").click()
    expect(ada.locator(".flashes")).to_contain_text("Submitted for review")
    expect(ada.locator("#own-change")).to_contain_text("another admin has to review it")
    change_url = ada.url

    # Admin B reads what changes and the back-test (the 700 claim would no longer escalate), approves, schedules.
    bea = person(REVIEWER, PASSWORD)
    bea.goto("/designer/reviews/")
    bea.locator("#waiting tr", has_text="Escalating complaint").get_by_role("link").click()
    expect(bea.locator("#change-note")).to_contain_text("Escalate only claims over 1,000")
    expect(bea.locator("#change-lines")).to_contain_text("Escalate large claims")
    backtest = bea.locator("#backtest")
    expect(backtest).to_contain_text("1 of 3 cases would be decided differently")
    expect(backtest).to_contain_text(middle)
    bea.get_by_label("Comment").fill("Agreed with the claims team")
    bea.get_by_role("button", name="Approve").click()
    expect(bea.locator("#change-status")).to_contain_text("Approved")
    at = (datetime.now(UTC) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    bea.get_by_label("Take effect at (UTC)").fill(at.strftime("%Y-%m-%dT%H:%M"))
    bea.get_by_role("button", name="Schedule").click()
    expect(bea.locator(".flashes")).to_contain_text(f"Scheduled: it takes effect at {at:%Y-%m-%d %H:%M} UTC")

    # The sweep publishes it when it is due, and not a minute before.
    assert _sweep(live_app, at - timedelta(minutes=1)) == 0
    assert _sweep(live_app, at) == 1
    ada.goto(change_url)
    expect(ada.locator("#change-status")).to_contain_text("Published as version 2")

    # A moves the open complaints to version 2 after the dry run.
    ada.goto(editor)
    ada.get_by_role("link", name="Move open cases").click()
    expect(ada.get_by_label("Version", exact=True)).to_have_value("2")
    ada.get_by_role("button", name="Show what would happen").click()
    expect(ada.get_by_text("3 of 3 open cases can move to version 2.")).to_be_visible()
    ada.get_by_role("button", name="Migrate 3 cases").click()
    expect(ada.locator("#migration-summary")).to_contain_text("3 of 3 open cases moved")

    # The auditor sees the whole story: in the definition log, and on a migrated case.
    auditor = person("auditor@example.com")
    auditor.goto("/audit/definitions")
    auditor.locator("tr", has_text="Case type").filter(has_text="escalating").get_by_role("link").click()
    story = auditor.locator("#events-h + p + table")
    for line in ("Submitted for review", "Note: Escalate only claims over 1,000", "Change approved",
                 "Comment: Agreed with the claims team", "Change scheduled",
                 f"Takes effect at {at:%Y-%m-%d %H:%M} UTC", "Version 2 published", "Approved change"):
        expect(story).to_contain_text(line)
    expect(auditor.locator("#version-2")).to_contain_text("1000")
    auditor.goto(_audit_case_url(live_app, middle))
    expect(auditor.locator("body")).to_contain_text("Moved to version 2 of the case type")
    expect(auditor.locator("body")).to_contain_text("from version 1")


def _audit_case_url(live_app: Any, ref: str) -> str:
    from sqlalchemy import select

    from app.extensions import db
    from cases.models import Case

    with live_app.app_context():
        case_id = db.session.scalar(select(Case.id).where(Case.ref == ref))
        db.session.remove()
    return f"/audit/cases/{case_id}"
