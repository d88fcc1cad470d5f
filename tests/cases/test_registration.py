"""Open registration as a service (no Flask), on SQLite and PostgreSQL: a pending registration becomes an
account only through its one-time, expiring link; an existing address changes nothing."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from case_types.errors import NotFound, ValidationFailed
from cases import accounts, registration
from cases.clock import fixed
from cases.errors import PermissionDenied
from cases.models import OutboxMessage, PendingRegistration, Role, User

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _register(session: Session, email: str = "eve@example.com", password: str = "long enough pw",
              at: datetime = T0) -> None:
    registration.request_registration(session, email=email, name="Eve", password=password,
                                      link_for=lambda token: f"https://casework.test/register/confirm/{token}",
                                      clock=fixed(at))


def _token(session: Session, to: str = "eve@example.com") -> str:
    bodies = session.scalars(select(OutboxMessage.body).where(OutboxMessage.to == to).order_by(OutboxMessage.id))
    tokens = [t for body in bodies for t in re.findall(r"/register/confirm/([A-Za-z0-9_-]+)", body)]
    assert tokens
    return tokens[-1]


def _users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def test_registration_follows_the_setting(session: Session) -> None:
    with pytest.raises(PermissionDenied):
        _register(session)
    accounts.set_setting(session, "registration_open", "true")
    _register(session)
    assert _users(session) == 0  # nothing but a pending registration until the link is used
    eve = registration.confirm_registration(session, _token(session), clock=fixed(T0 + timedelta(hours=1)))
    assert eve.email == "eve@example.com" and eve.roles == {Role.REQUESTER}
    assert eve.created_at == T0 + timedelta(hours=1)
    assert accounts.authenticate(session, "eve@example.com", "long enough pw").id == eve.id


def test_the_link_works_once_and_only_the_hash_of_its_token_is_stored(session: Session) -> None:
    accounts.set_setting(session, "registration_open", "true")
    _register(session)
    token = _token(session)
    stored = session.scalars(select(PendingRegistration.token_hash)).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()] and token not in stored[0]
    registration.confirm_registration(session, token, clock=fixed(T0))
    with pytest.raises(NotFound, match="used already"):
        registration.confirm_registration(session, token, clock=fixed(T0))
    with pytest.raises(NotFound):
        registration.pending_registration(session, token, clock=fixed(T0))
    assert _users(session) == 1


def test_the_link_expires_after_a_day(session: Session) -> None:
    accounts.set_setting(session, "registration_open", "true")
    _register(session)
    token = _token(session)
    registration.pending_registration(session, token, clock=fixed(T0 + timedelta(hours=23, minutes=59)))
    with pytest.raises(NotFound):
        registration.confirm_registration(session, token, clock=fixed(T0 + timedelta(hours=24)))
    assert _users(session) == 0


def test_an_existing_address_gets_a_note_and_its_account_is_left_alone(session: Session) -> None:
    accounts.set_setting(session, "registration_open", "true")
    ann = accounts.create_user(session, email="ann@example.com", name="Ann", password="the old password",
                               roles=["agent"])
    before = (ann.name, ann.password_hash, ann.roles)
    _register(session, email="Ann@Example.com", password="a new password")
    session.expire_all()
    assert (ann.name, ann.password_hash, ann.roles) == before
    assert session.scalar(select(func.count()).select_from(PendingRegistration)) == 0
    subjects = session.scalars(select(OutboxMessage.subject).where(OutboxMessage.to == "ann@example.com")).all()
    assert subjects == [registration.ATTEMPT_SUBJECT]
    assert "/register/confirm/" not in session.scalars(select(OutboxMessage.body)).one()


def test_bad_input_is_refused_alike_for_new_and_existing_addresses(session: Session) -> None:
    accounts.set_setting(session, "registration_open", "true")
    accounts.create_user(session, email="ann@example.com", name="Ann", password="the old password", roles=["agent"])
    for email in ("ann@example.com", "eve@example.com"):
        with pytest.raises(ValidationFailed) as info:
            _register(session, email=email, password="short")
        assert set(info.value.fields) == {"password"}
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_confirming_one_link_spends_the_other_links_of_that_address(session: Session) -> None:
    accounts.set_setting(session, "registration_open", "true")
    _register(session)
    first = _token(session)
    _register(session, password="another long one")
    second = _token(session)
    assert first != second
    eve = registration.confirm_registration(session, second, clock=fixed(T0))
    with pytest.raises(NotFound):
        registration.confirm_registration(session, first, clock=fixed(T0))
    assert accounts.authenticate(session, "eve@example.com", "another long one").id == eve.id
