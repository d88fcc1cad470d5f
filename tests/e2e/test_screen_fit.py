"""Screens that looked broken or cramped: the form designer's palette at 1280x900 (file upload was below
the fold in a panel without a visible scrollbar), the case-type links on a phone (they ran into the draft
line), the work list's search box (shorter than its neighbours), Reject looking like Resolve."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.support.browser import login, new_case_type


def _box(page: Page, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box


def test_the_whole_palette_fits_a_1280_by_900_window(page: Page, live_app: Any) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "admin@example.com")
    page.goto("/designer/forms/")
    page.get_by_label("Title").fill("Palette fit")
    page.get_by_role("button", name="Create form").click()
    palette = page.locator(".dz-palette")
    expect(palette).to_be_visible()
    palette.scroll_into_view_if_needed()
    last = palette.locator("[data-palette-type]").last
    expect(last).to_be_in_viewport(ratio=1)
    assert palette.evaluate("p => p.scrollHeight <= p.clientHeight + 1"), "the palette needs scrolling"


def test_the_case_type_links_wrap_clear_of_the_draft_line_on_a_phone(page: Page, live_app: Any,
                                                                      complaint_form: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    new_case_type(page, complaint_form, "Phone links", "phone-links")
    links, meta = _box(page, ".ct-links"), _box(page, ".ct-meta")
    assert links["y"] + links["height"] <= meta["y"], (links, meta)
    assert links["x"] + links["width"] <= 390
    for link in page.locator(".ct-links a").all():
        box = link.bounding_box()
        assert box and box["x"] + box["width"] <= 390, "a link runs off the screen"


def test_the_search_box_is_as_tall_as_its_neighbours(page: Page, live_app: Any) -> None:
    login(page, "agent@example.com")
    expect(page).to_have_url(re.compile(r"/work/"))
    search, status = _box(page, "#f-q"), _box(page, "#f-status")
    assert abs(search["height"] - status["height"]) < 2, (search, status)


def test_reject_is_styled_destructive_and_unlike_resolve(page: Page, live_app: Any, complaint_form: str) -> None:
    from app.extensions import db
    from cases import accounts, definitions, lifecycle
    from cases.submissions import Uploader
    from tests.support.complaint import GOOD, complaint_case_type_document

    with live_app.app_context():
        admin, agent = (accounts.find_user(db.session, e) for e in ("admin@example.com", "agent@example.com"))
        requester = accounts.find_user(db.session, "requester@example.com")
        assert admin and agent and requester
        case_type = definitions.find_definition(db.session, "case_type", "reject-style")
        if case_type is None:
            case_type = definitions.create(
                db.session, "case_type", slug="reject-style", title="Reject style", actor=admin,
                document=complaint_case_type_document(name="Reject style", prefix="RJS",
                                                      form_version=int(complaint_form.split("@")[1])))
            definitions.publish(db.session, case_type, actor=admin)
        case = lifecycle.file_case(db.session, case_type, GOOD, uploader=Uploader(requester))
        lifecycle.transition(db.session, case, "start", agent)
        case_id = case.id
        db.session.remove()
    login(page, "agent@example.com")
    page.goto(f"/work/cases/{case_id}")
    resolve, reject = page.get_by_role("button", name="Resolve"), page.get_by_role("button", name="Reject")
    expect(reject).to_have_class(re.compile(r"\bdestructive\b"))
    expect(resolve).to_have_class(re.compile(r"\bprimary\b"))
    colour = "e => getComputedStyle(e).backgroundColor"
    assert reject.evaluate(colour) != resolve.evaluate(colour)
    assert reject.evaluate(colour) == "rgb(179, 38, 30)"  # --danger
