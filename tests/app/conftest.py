"""Web-layer fixtures: the complaint form and case type published by the real services."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def publish_complaint(app: Any, **case_type_options: Any) -> None:
    """Publish the complaint form (v1) and a complaint case type on it, as admin@example.com
    (`case_type_options` go to `complaint_case_type_document`, e.g. `rules=` or `documents=`)."""
    from app.extensions import db
    from cases import accounts, definitions
    from tests.cases.conftest import complaint_case_type_document

    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        assert admin is not None
        form = definitions.create(db.session, "form", slug="complaint", title="Customer complaint", actor=admin,
                                  document=json.loads((FIXTURES / "complaint.form.json").read_text()))
        definitions.publish(db.session, form, actor=admin)
        case_type = definitions.create(db.session, "case_type", slug="complaint", title="Customer complaint",
                                       actor=admin, document=complaint_case_type_document(**case_type_options))
        assert not definitions.draft_problems(db.session, case_type)
        definitions.publish(db.session, case_type, actor=admin)
        db.session.remove()


@pytest.fixture
def complaint_app(app: Any, demo_users: Any) -> Any:
    publish_complaint(app)
    return app


def token_for(app: Any, email: str) -> dict[str, str]:
    result = app.test_cli_runner().invoke(args=["token", "create", email])
    assert result.exit_code == 0, result.output
    return {"Authorization": f"Bearer {result.output.split()[-1]}"}


GOOD = {
    "name": "Riley Requester", "email": "riley@example.com", "order_number": "ORD-123456",
    "severity": "high", "customer_tier": "gold", "category": "damaged",
    "description": "The parcel arrived crushed and the vase inside is broken.",
}
