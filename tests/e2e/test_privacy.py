"""Personal data in a real Chromium: an admin marks a field personal, sets a retention schedule, places a
legal hold, processes an erasure request and downloads its completion record."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.support.browser import login

PERSON = "kim.berg@example.org"


def _setup(live_app: Any) -> tuple[int, int, str]:
    """A complaint form and case type of their own (other walks share the server) and three cases of PERSON."""
    from app.extensions import db
    from cases import accounts, definitions, lifecycle
    from cases.submissions import Uploader
    from tests.support.complaint import GOOD, complaint_case_type_document, complaint_document

    with live_app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        document = {**complaint_document(), "title": "Privacy complaint"}  # other walks look for their own
        form = definitions.create(db.session, "form", slug="privacy-complaint", title="Privacy complaint",
                                  actor=admin, document=document)
        definitions.publish(db.session, form, actor=admin)
        case_type = definitions.create(db.session, "case_type", slug="privacy-complaint", title="Privacy complaint",
                                       actor=admin, document=complaint_case_type_document(
                                           form="privacy-complaint", prefix="PRV", name="Privacy complaint"))
        definitions.publish(db.session, case_type, actor=admin)
        person = accounts.create_user(db.session, email=PERSON, name="Kim Berg", password="long enough pw",
                                      roles=["requester"])
        refs = [lifecycle.file_case(db.session, case_type, {**GOOD, "name": "Kim Berg", "email": PERSON},
                                    uploader=Uploader(person)).ref for _ in range(3)]
        found = form.id, case_type.id, refs[0]
        db.session.remove()
    return found


def test_an_admin_marks_sets_holds_erases_and_keeps_the_record(page: Page, live_app: Any,
                                                               tmp_path: Path) -> None:
    form_id, case_type_id, held_ref = _setup(live_app)
    login(page, "admin@example.com")

    # A field of the complaint form becomes personal in the side panel.
    page.goto(f"/designer/forms/{form_id}")
    with page.expect_response(lambda r: "field=order_number" in r.url):
        page.locator("#sel-order_number").click()
    personal = page.locator("#panel").get_by_label("Personal data")
    expect(personal).not_to_be_checked()
    with page.expect_response(lambda r: r.request.method == "POST" and "/fields/order_number" in r.url):
        personal.check()
    page.reload()
    with page.expect_response(lambda r: "field=order_number" in r.url):
        page.locator("#sel-order_number").click()
    expect(page.locator("#panel").get_by_label("Personal data")).to_be_checked()

    # The complaint case type keeps closed cases a year, then anonymises them.
    page.goto(f"/designer/case-types/{case_type_id}")
    settings = page.locator("#general")
    settings.get_by_label("Keep closed cases for").fill("1")
    settings.get_by_label("Unit").select_option("years")
    settings.get_by_label("Then", exact=True).select_option("anonymise")
    settings.get_by_role("button", name="Save settings").click()
    expect(page.locator("#ct-status")).to_have_text("Settings saved.")
    publish = page.locator("#publish")
    publish.get_by_label("Change note").fill("Retention: one year")
    publish.get_by_role("button", name=re.compile(r"^Publish version \d+$")).click()
    expect(page.locator("#ct-status")).to_contain_text("published")
    page.goto("/admin/privacy/retention")
    expect(page.locator("#retention-privacy-complaint")).to_contain_text("Keep 1 year(s) after closing, then anonymise")

    # A legal hold on one of the person's cases.
    page.goto("/admin/privacy/holds")
    page.get_by_label("Reason").fill("Pending court case 2026/17")
    page.get_by_label("One case").fill(held_ref)
    page.get_by_role("button", name="Place hold").click()
    expect(page.locator("#holds")).to_contain_text(held_ref)
    expect(page.locator("#holds")).to_contain_text("Pending court case 2026/17")

    # The person asks to be erased: the held case is kept, with the reason, the others are erased.
    page.get_by_role("link", name="Erasure requests").first.click()
    page.get_by_label("E-mail address of the person").fill(PERSON)
    page.get_by_label("Note").fill("Asked by e-mail on 2 December")
    page.get_by_role("button", name="Record request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Erasure request #\d+"))
    expect(page.locator(f'tr[data-case="{held_ref}"]')).to_contain_text("Legal hold: Pending court case 2026/17")
    page.get_by_role("button", name="Erase this person").click()
    expect(page.locator("#request-done")).to_contain_text("Erased")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the completion record").click()
    saved = tmp_path / "record.json"
    download.value.save_as(saved)
    record = json.loads(saved.read_text())
    assert [h["ref"] for h in record["held"]] == [held_ref]
    assert record["cases"] and PERSON not in saved.read_text()
