"""Account services on a plain SQLAlchemy session (no Flask), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from case_types.errors import Conflict, NotFound, ValidationFailed
from cases import accounts
from cases.clock import fixed
from cases.errors import AuthenticationFailed
from cases.models import Role
from cases.passwords import hash_password, verify_password

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _user(session: Session, email: str = "ann@example.com", roles: tuple[str, ...] = ("agent",)) -> object:
    return accounts.create_user(session, email=email, name=email.split("@")[0], password="long enough pw",
                                roles=roles)


def test_create_user_normalises_email_and_reports_every_problem(session: Session) -> None:
    user = accounts.create_user(session, email="  Ann@Example.COM ", name=" Ann ", password="long enough pw",
                                roles=["agent", "auditor"])
    assert user.email == "ann@example.com"
    assert user.name == "Ann"
    assert user.roles == {Role.AGENT, Role.AUDITOR}
    with pytest.raises(ValidationFailed) as info:
        accounts.create_user(session, email="ann@example.com", name="", password="short", roles=["pilot"])
    assert set(info.value.fields) == {"email", "name", "password", "roles"}


def test_authenticate(session: Session) -> None:
    _user(session)
    user = accounts.authenticate(session, "ANN@example.com", "long enough pw", clock=fixed(T0))
    assert user.last_login_at == T0
    for email, password in (("ann@example.com", "wrong"), ("nobody@example.com", "long enough pw"), ("", "")):
        with pytest.raises(AuthenticationFailed, match="e-mail address or password is not right"):
            accounts.authenticate(session, email, password)


def test_login_sessions_expire_and_idle_out(session: Session) -> None:
    user = _user(session)
    token = accounts.start_login_session(session, user, lifetime=timedelta(hours=12), clock=fixed(T0))
    idle = timedelta(hours=2)
    assert accounts.resolve_login_session(session, token, idle=idle, clock=fixed(T0 + timedelta(hours=1))) == user
    # last seen moved to T0+1h, so T0+2h30 is within the idle window
    assert accounts.resolve_login_session(session, token, idle=idle,
                                          clock=fixed(T0 + timedelta(hours=2, minutes=30))) == user
    assert accounts.resolve_login_session(session, token, idle=idle, clock=fixed(T0 + timedelta(hours=13))) is None
    # an expired session is deleted, not just refused
    assert accounts.resolve_login_session(session, token, idle=idle, clock=fixed(T0)) is None
    assert accounts.resolve_login_session(session, "forged", idle=idle) is None


def test_api_tokens_are_stored_hashed_and_can_be_revoked(session: Session) -> None:
    owner = _user(session)
    other = _user(session, "bob@example.com", ("requester",))
    row, token = accounts.create_api_token(session, owner, name="ci")
    assert token.startswith("cw_") and token not in (row.token_hash, row.prefix)
    assert row.prefix == token[:10]
    assert accounts.user_for_api_token(session, token) == owner
    with pytest.raises(NotFound):
        accounts.revoke_api_token(session, row.id, actor=other)
    accounts.revoke_api_token(session, row.id, actor=owner, clock=fixed(T0))
    assert accounts.user_for_api_token(session, token) is None
    assert accounts.list_api_tokens(session, owner)[0].revoked_at == T0


def test_roles_and_last_admin_protection(session: Session) -> None:
    admin = _user(session, "root@example.com", ("admin",))
    with pytest.raises(Conflict):
        accounts.set_roles(session, admin, ["agent"], actor=admin)
    with pytest.raises(Conflict):
        accounts.set_active(session, admin, False, actor=admin)
    second = _user(session, "second@example.com", ("admin",))
    accounts.set_roles(session, admin, ["agent"], actor=second)
    assert admin.roles == {Role.AGENT}
    with pytest.raises(ValidationFailed):
        accounts.set_roles(session, admin, [], actor=second)


def test_deactivation_ends_sessions_and_tokens(session: Session) -> None:
    admin = _user(session, "root@example.com", ("admin",))
    ann = _user(session)
    token = accounts.start_login_session(session, ann, lifetime=timedelta(hours=1))
    _row, api_token = accounts.create_api_token(session, ann, name="x")
    accounts.set_active(session, ann, False, actor=admin)
    assert accounts.resolve_login_session(session, token, idle=timedelta(hours=1)) is None
    assert accounts.user_for_api_token(session, api_token) is None
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(session, "ann@example.com", "long enough pw")


def test_queues(session: Session) -> None:
    agent = _user(session)
    requester = _user(session, "req@example.com", ("requester",))
    queue = accounts.create_queue(session, slug="billing", name="Billing")
    with pytest.raises(ValidationFailed):
        accounts.create_queue(session, slug="billing", name="Billing again")
    with pytest.raises(ValidationFailed):
        accounts.add_queue_member(session, queue, requester)
    accounts.add_queue_member(session, queue, agent)
    accounts.add_queue_member(session, queue, agent)  # twice is harmless
    assert [u.email for u in queue.members] == ["ann@example.com"]
    assert [q.slug for q in accounts.queues_of(session, agent)] == ["billing"]
    accounts.remove_queue_member(session, queue, agent)
    assert accounts.queues_of(session, agent) == []


def test_password_hashes_are_salted_and_production_cost_is_kept() -> None:
    a, b = hash_password("same password"), hash_password("same password")
    assert a != b
    assert verify_password("same password", a) and not verify_password("other", a)
    assert not verify_password("x", "garbage") and not verify_password("x", "scrypt$1$2$3$!!$!!")
    strong = hash_password("same password", n=2**15)
    assert strong.split("$")[1] == str(2**15)
    assert verify_password("same password", strong)
