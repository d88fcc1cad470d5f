"""The requester's form in Chromium at a desktop, a tablet and a phone width: every label sits above its
input, every input starts at the same left edge (it used to sit beside its label, each box starting at a
different place, a textarea's label at its bottom-left), and a conditionally required field gets its
asterisk as soon as the condition holds."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import login
from tests.support.complaint import complaint_case_type_document

SLUG = "readable-form"


@pytest.fixture
def readable_form(live_app: Any, complaint_form: str) -> str:
    from app.extensions import db
    from cases import accounts, definitions

    with live_app.app_context():
        if definitions.find_definition(db.session, "case_type", SLUG) is None:
            admin = accounts.find_user(db.session, "admin@example.com")
            assert admin is not None
            document = complaint_case_type_document(name="Readable form", prefix="RDF",
                                                    form_version=int(complaint_form.split("@")[1]))
            case_type = definitions.create(db.session, "case_type", slug=SLUG, title="Readable form", actor=admin,
                                           document=document)
            definitions.publish(db.session, case_type, actor=admin)
        db.session.remove()
    return f"/portal/new/{SLUG}"


@pytest.mark.parametrize("width", [1280, 768, 390])
def test_labels_sit_above_inputs_that_share_one_left_edge(page: Page, readable_form: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    login(page, "requester@example.com")
    page.goto(readable_form)
    fields = page.locator(".form-fields > .ff:not([hidden])")
    expect(fields.first).to_be_visible()
    lefts = []
    for i in range(fields.count()):
        field = fields.nth(i)
        label = field.locator(":scope > label.ff-label")
        control = field.locator(":scope > input, :scope > textarea, :scope > select")
        if label.count() != 1 or control.count() != 1:
            continue
        lb, cb = label.bounding_box(), control.bounding_box()
        assert lb and cb
        assert lb["y"] + lb["height"] <= cb["y"] + 1, f"the label of field {i} is not above its input at {width}px"
        assert abs(lb["x"] - cb["x"]) < 1, f"field {i}: label and input start at different places at {width}px"
        # Side-by-side halves start a second column on wide screens; on a phone everything is one column.
        if width < 500 or "width-full" in (field.get_attribute("class") or ""):
            lefts.append(round(cb["x"]))
    assert len(lefts) >= 4 and len(set(lefts)) == 1, (width, lefts)
    description = page.get_by_label("What happened?")
    assert description.evaluate("e => e.tagName") == "TEXTAREA"
    box = description.bounding_box()
    assert box and box["x"] + box["width"] <= width


def test_a_conditionally_required_field_shows_its_asterisk_once_it_applies(page: Page, readable_form: str) -> None:
    login(page, "requester@example.com")
    page.goto(readable_form)
    page.locator("#field-category").select_option("other")
    which = page.locator("#wrap-other_category")
    expect(which).to_be_visible()
    expect(which.locator(".req-when .req")).to_be_visible()
    page.locator("#field-category").select_option("billing")
    expect(which).to_be_hidden()
    page.locator("#field-category").select_option("other")
    expect(which.locator(".req-when .req")).to_be_visible()
