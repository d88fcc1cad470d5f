"""Fixtures for the case services: an admin, a requester and the complaint form, published."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from cases import accounts, definitions
from cases.models import Definition, User

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def complaint_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / "complaint.form.json").read_text())
    return document


@pytest.fixture
def admin(session: Session) -> User:
    return accounts.create_user(session, email="admin@example.com", name="Ada Admin",
                                password="long enough pw", roles=["admin"])


@pytest.fixture
def requester(session: Session) -> User:
    return accounts.create_user(session, email="riley@example.com", name="Riley",
                                password="long enough pw", roles=["requester"])


@pytest.fixture
def complaint(session: Session, admin: User) -> Definition:
    form = definitions.create(session, "form", slug="complaint", title="Customer complaint", actor=admin,
                                        document=complaint_document())
    definitions.publish(session, form, actor=admin, change_note="First version")
    return form


@pytest.fixture
def agent(session: Session) -> User:
    return accounts.create_user(session, email="alex@example.com", name="Alex Agent",
                                password="long enough pw", roles=["agent"])


@pytest.fixture
def general(session: Session, agent: User) -> Any:
    queue = accounts.create_queue(session, slug="general", name="General")
    accounts.add_queue_member(session, queue, agent)
    return queue


def complaint_case_type_document(**overrides: Any) -> dict[str, Any]:
    from case_types.workflow import starter_case_type

    document = starter_case_type("Customer complaint", form="complaint", form_version=1, queue="general")
    document["prefix"] = "CMP"
    document["editable_fields"] = {"in_progress": ["description", "customer_tier"]}
    document["transitions"][1]["required_fields"] = []
    document.update(overrides)
    return document


@pytest.fixture
def complaint_type(session: Session, admin: User, complaint: Definition, general: Any) -> Definition:
    definition = definitions.create(session, "case_type", slug="complaint", title="Customer complaint",
                                    actor=admin, document=complaint_case_type_document())
    definitions.publish(session, definition, actor=admin)
    return definition
