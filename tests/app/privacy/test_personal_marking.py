"""The form designer's panel marks a field personal; the starter packs mark theirs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from app.extensions import db
from cases import definitions
from tests.conftest import Web

PACKS = Path(__file__).resolve().parents[3] / "packs"


def test_the_panel_offers_personal_and_saving_marks_the_field(app: Any, web: Web, demo_users: Any) -> None:
    web.login("admin@example.com")
    created = web.post("/designer/forms/new", {"title": "Complaint", "slug": "complaint"})
    form_id = int(created.headers["Location"].rstrip("/").rsplit("/", 1)[1])

    def revision() -> str:
        with app.app_context():
            return str(definitions.get_definition(db.session, "form", form_id).draft_revision)

    panel = web.post(f"/designer/forms/{form_id}/fields/subject", {"revision": revision(), "present": ["label"],
                                                                   "label": "Subject"}, htmx=True)
    html = panel.get_data(as_text=True)
    assert re.search(r'<input[^>]*name="personal"', html) and "Personal data" in html
    saved = web.post(f"/designer/forms/{form_id}/fields/subject",
                     {"revision": revision(), "present": ["personal"], "personal": "1"}, htmx=True)
    assert saved.status_code == 200
    with app.app_context():
        document = definitions.draft_document(definitions.get_definition(db.session, "form", form_id))
    assert document["pages"][0]["fields"][0]["personal"] is True


def test_the_starter_packs_mark_the_requesters_fields_personal() -> None:
    def personal(pack: str) -> set[str]:
        form = json.loads((PACKS / pack / "form.json").read_text())
        return {f["key"] for page in form["pages"] for f in page["fields"] if f.get("personal")}

    assert personal("complaint") == {"name", "email", "order_number", "description", "attachment"}
    assert personal("onboarding") == {"employee_name", "personal_email", "notes"}
