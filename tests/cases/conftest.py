"""Fixtures for the case services: an admin, a requester and the complaint form, published."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from cases import accounts, definitions
from cases.models import Definition, User
from tests.support.complaint import complaint_case_type_document, complaint_document


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


@pytest.fixture
def complaint_type(session: Session, admin: User, complaint: Definition, general: Any) -> Definition:
    definition = definitions.create(session, "case_type", slug="complaint", title="Customer complaint",
                                    actor=admin, document=complaint_case_type_document())
    definitions.publish(session, definition, actor=admin)
    return definition
