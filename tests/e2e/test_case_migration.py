"""An admin moves open cases to a new case-type version in Chromium: picks the version, maps the states it
no longer has with selects, reads the dry run, migrates."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.support.browser import login
from tests.support.migration import six_cases_on_version_one


def test_an_admin_maps_states_sees_the_dry_run_and_migrates(page: Page, live_app: Any, base_url: str) -> None:
    from app.extensions import db
    from cases import definitions

    refs = six_cases_on_version_one(live_app, slug="parcels")
    with live_app.app_context():
        definition = definitions.find_definition(db.session, "case_type", "parcels")
        assert definition is not None
        editor = f"{base_url}/designer/case-types/{definition.id}"
    login(page, "admin@example.com")
    page.goto(editor)
    page.get_by_role("link", name="Move open cases").click()
    expect(page.get_by_label("Version", exact=True)).to_have_value("2")
    page.get_by_label("Review").select_option(label="Checking")
    page.get_by_label("Escalated").select_option(label="In progress")
    page.get_by_role("button", name="Show what would happen").click()
    outcomes = page.locator("#migration-outcomes")
    expect(outcomes).to_contain_text(f"{refs[3]}")
    expect(outcomes).to_contain_text("would be mapped to Checking (was Review)")
    expect(page.get_by_text("4 of 6 open cases can move to version 2.")).to_be_visible()
    page.get_by_role("button", name="Migrate 4 cases").click()
    expect(page.locator("#migration-summary")).to_contain_text("4 of 6 open cases moved")
    expect(page.locator("#migration-outcomes")).to_contain_text("migrated, mapped to Checking (was Review)")
