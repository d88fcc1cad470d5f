"""The case-type designer's retention setting: saved into the draft, its problems shown in place."""

from __future__ import annotations

from typing import Any

from tests.conftest import Web
from tests.support.complaint import publish_complaint_form
from tests.support.designer import draft, edit, element

GENERAL = {"name": "Complaints", "prefix": "cmp", "description": "", "form_ref": "complaint@1",
           "default_queue": "general", "fallback_queue": "general", "request_info_state": "waiting",
           "reopen_to": "in_progress", "reopen_days": "14"}


def test_the_settings_set_change_and_clear_the_retention(app: Any, demo_users: Any) -> None:
    publish_complaint_form(app)
    web = Web(app.test_client())
    web.login("admin@example.com")
    created = web.post("/designer/case-types/new", {"name": "Customer complaint", "slug": "complaint",
                                                    "form_ref": "complaint@1", "queue": "general"})
    url = str(created.headers["Location"])
    editor = web.get(url).get_data(as_text=True)
    assert 'id="retention"' in editor and "Keep closed cases for" in editor

    saved = edit(web, app, url + "/general", "g", **GENERAL, retention_keep="18", retention_unit="months",
                 retention_then="delete_files")
    assert saved.status_code == 200
    assert draft(app, url)[0]["retention"] == {"keep": 18, "unit": "months", "then": "delete_files",
                                                "block_erasure": False, "reason": ""}
    assert 'value="18"' in web.get(url).get_data(as_text=True)

    waiting = edit(web, app, url + "/general", "g", **GENERAL, retention_keep="10", retention_unit="years",
                   retention_then="anonymise", retention_block="y")
    problem = element(waiting.get_data(as_text=True), "g-retention_reason-problem")
    assert "Say why erasure waits" in problem

    edit(web, app, url + "/general", "g", **GENERAL)
    assert "retention" not in draft(app, url)[0]
