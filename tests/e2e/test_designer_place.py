"""Saving in the case-type designer keeps the admin's place: the control they used stays where it was on
screen, keeps focus, and what the save did is said beside it (before, the page jumped far below)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.support.browser import new_case_type


def _top(control: Locator) -> float:
    box = control.bounding_box()
    assert box is not None, "the control is not on the page"
    return box["y"]


def test_saving_a_state_keeps_the_place_and_says_saved_beside_the_button(page: Page, live_app: Any,
                                                                        complaint_form: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    new_case_type(page, complaint_form, "Place keeping", "place-keeping")
    waiting = page.locator("#state-waiting")
    waiting.get_by_text("Edit the state").click()
    save = waiting.get_by_role("button", name="Save state")
    save.scroll_into_view_if_needed()
    before = _top(save)
    save.click()
    expect(page.locator("#ct-status")).to_have_text("State saved.")
    save = page.locator("#state-waiting").get_by_role("button", name="Save state")
    expect(save).to_be_focused()
    expect(save).to_be_in_viewport()
    assert abs(_top(save) - before) < 5
    note = page.locator("#state-waiting .saved-note")
    expect(note).to_have_text("State saved.")
    expect(note).to_be_in_viewport()


def test_repeated_moves_leave_the_arrow_under_the_pointer(page: Page, live_app: Any, complaint_form: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    new_case_type(page, complaint_form, "Place keeping moves", "place-keeping-moves")
    order = page.locator("#states > ol > li h3")
    first = order.all_inner_texts()
    moving = first[-1]
    up = page.locator("#states li.ct-item").last.get_by_role("button", name=f"Move “{moving}” up")
    up.scroll_into_view_if_needed()
    before = _top(up)
    for moves in (1, 2):
        up.click()
        expect(page.locator("#ct-status")).to_have_text("Moved up.")
        expect(order.nth(len(first) - 1 - moves)).to_have_text(moving)
        up = page.get_by_role("button", name=f"Move “{moving}” up")
        expect(up).to_be_focused()
        assert abs(_top(up) - before) < 5, f"the arrow moved on screen after move {moves}"
        expect(page.locator("#states .saved-note")).to_have_text("Moved up.")
