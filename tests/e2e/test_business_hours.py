"""Business hours in the case-type designer: the calendar is edited in the browser (working days, hours,
time zone, holidays) and every deadline form says what business hours mean (before, nothing said which
days, hours or time zone counted, and the calendar lived only in the case-type file)."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Page, expect

from tests.support.browser import new_case_type


def test_an_admin_sets_the_business_hours_and_every_deadline_form_names_them(page: Page, live_app: Any,
                                                                           complaint_form: str) -> None:
    new_case_type(page, complaint_form, "Berlin hours", "berlin-hours")
    calendar = page.locator("#calendar")
    expect(calendar).to_contain_text("Monday to Friday, 09:00 to 17:00 UTC time")
    calendar.get_by_label("Time zone").select_option("Europe/Berlin")
    calendar.get_by_label("Friday").uncheck()
    calendar.get_by_label("Working day starts").fill("08:00")
    calendar.get_by_label("Working day ends").fill("16:30")
    calendar.get_by_label("Holidays").fill("2026-12-25\n2026-12-26")
    calendar.get_by_role("button", name="Save business hours").click()
    expect(page.locator("#ct-status")).to_have_text("Business hours saved.")
    sentence = "Monday to Thursday, 08:00 to 16:30 Europe/Berlin time, except 2 holidays"
    expect(page.locator("#calendar-now")).to_contain_text(sentence)
    waiting = page.locator("#state-new")
    waiting.get_by_text("Deadlines (SLA)").click()
    expect(waiting).to_contain_text(f"Business hours: {sentence}.")

    # A mistake is said at its input; nothing is saved.
    calendar = page.locator("#calendar")
    calendar.get_by_label("Working day ends").fill("07:00")
    calendar.get_by_role("button", name="Save business hours").click()
    expect(page.locator("#calendar")).to_contain_text("The working day must end after it starts (08:00).")
    expect(page.locator("#ct-status")).to_have_text("")

    from app.extensions import db
    from cases import definitions

    with live_app.app_context():
        definition = definitions.find_definition(db.session, "case_type", "berlin-hours")
        assert definition is not None
        assert json.loads(definition.draft)["calendar"] == {
            "timezone": "Europe/Berlin", "days": [1, 2, 3, 4], "start": "08:00", "end": "16:30",
            "holidays": ["2026-12-25", "2026-12-26"]}
        db.session.remove()
