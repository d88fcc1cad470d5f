"""The customer complaint every test files: its form, its case type, answers that fit, rules that route it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

GOOD = {
    "name": "Riley Requester", "email": "riley@example.com", "order_number": "ORD-123456",
    "severity": "high", "customer_tier": "gold", "category": "damaged",
    "description": "The parcel arrived crushed and the vase inside is broken.",
}
CALM = {**GOOD, "severity": "low", "customer_tier": "standard"}

ESCALATE = {
    "id": "escalate", "name": "Escalate", "trigger": "case.submitted", "priority": 10,
    "condition": {"any": [
        {"field": "severity", "op": "in", "value": ["high", "critical"]},
        {"field": "customer_tier", "op": "eq", "value": "gold"},
        {"field": "case.requester_recent_cases", "days": 90, "op": "gte", "value": 2}]},
    "actions": [{"type": "route_to_queue", "queue": "escalations"}, {"type": "set_priority", "priority": "urgent"},
                {"type": "notify", "to": "queue", "queue": "escalations", "message": "Escalated complaint"}],
}


def complaint_document() -> dict[str, Any]:
    """The complaint form's definition (tests/fixtures/complaint.form.json), a fresh copy each call."""
    document: dict[str, Any] = json.loads((FIXTURES / "complaint.form.json").read_text())
    return document


def complaint_with_fields(*fields: dict[str, Any]) -> dict[str, Any]:
    """The complaint form with `fields` added at the end of its first page."""
    document = complaint_document()
    document["pages"][0]["fields"] += list(fields)
    return document


def complaint_case_type_document(**overrides: Any) -> dict[str, Any]:
    """The complaint case type on form complaint@1 and queue general; `overrides` replace top-level keys."""
    from case_types.workflow import starter_case_type

    document = starter_case_type("Customer complaint", form="complaint", form_version=1, queue="general")
    document["prefix"] = "CMP"
    document["editable_fields"] = {"in_progress": ["description", "customer_tier"]}
    document["transitions"][1]["required_fields"] = []
    document.update(overrides)
    return document


def publish_complaint_form(app: Any, form: dict[str, Any] | None = None) -> None:
    """Publish the complaint form (v1, or `form` in its place) as admin@example.com."""
    from app.extensions import db
    from cases import accounts, definitions

    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        assert admin is not None
        published = definitions.create(db.session, "form", slug="complaint", title="Customer complaint", actor=admin,
                                       document=form or complaint_document())
        definitions.publish(db.session, published, actor=admin)
        db.session.remove()


def publish_complaint(app: Any, *, form: dict[str, Any] | None = None, **case_type_options: Any) -> None:
    """Publish the complaint form (v1, or `form`) and a complaint case type on it, as admin@example.com
    (`case_type_options` go to `complaint_case_type_document`, e.g. `rules=` or `documents=`)."""
    from app.extensions import db
    from cases import accounts, definitions

    publish_complaint_form(app, form)
    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        case_type = definitions.create(db.session, "case_type", slug="complaint", title="Customer complaint",
                                       actor=admin, document=complaint_case_type_document(**case_type_options))
        problems = definitions.draft_problems(db.session, case_type)
        assert not problems, problems
        definitions.publish(db.session, case_type, actor=admin)
        db.session.remove()


def with_rules(session: Any, admin: Any, case_type: Any, *rules: dict[str, Any]) -> None:
    """Publish a new version of the complaint case type carrying `rules`."""
    from cases import definitions

    document = complaint_case_type_document()
    document["rules"] = {"schema_version": 1, "rules": list(rules)}
    problems = definitions.save_draft(session, case_type, document, actor=admin)
    assert problems == [], problems
    definitions.publish(session, case_type, actor=admin)
