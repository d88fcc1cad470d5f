"""Open registration in the browser's terms (issue 11): one answer for every address, the account only
through the e-mailed one-time link, no session before it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from app.extensions import db
from cases import passwords, registration
from cases.clock import utcnow
from cases.models import PendingRegistration, User
from tests.app.registration_mail import confirmation_path, follow_confirmation_link, outbox_to
from tests.conftest import Web

CSRF_TOKEN = re.compile(r'(?<="X-CSRFToken": ")[^"]+|(?<=name="csrf_token" value=")[^"]+')
# Headers that differ between any two responses whatever they answer (the rate limit counts the
# caller's own registrations, whichever address they name, and its window moves with the clock).
PER_RESPONSE = {"Set-Cookie", "X-Request-ID", "Date", "Content-Length", "X-RateLimit-Remaining",
                "X-RateLimit-Reset", "Retry-After"}


def _open_registration(app: Any) -> None:
    admin = Web(app.test_client())
    admin.login("admin@example.com")
    assert admin.post("/admin/settings", {"registration_open": "y"}).status_code == 303


def _register(app: Any, email: str, password: str = "long enough pw") -> tuple[Web, Any]:
    visitor = Web(app.test_client())
    return visitor, visitor.post("/register", {"name": "Eve", "email": email, "password": password})


def _seen(response: Any) -> tuple[Any, ...]:
    """What a visitor sees of an answer, less what is per session (cookies, the CSRF token)."""
    headers = {k: v for k, v in response.headers.items() if k not in PER_RESPONSE}
    return response.status_code, headers, CSRF_TOKEN.sub("TOKEN", response.get_data(as_text=True))


def _user_count(app: Any, email: str) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(User).where(User.email == email)) or 0
        db.session.remove()
        return count


def test_new_and_existing_addresses_get_the_same_answer(app: Any, demo_users: Any) -> None:
    _open_registration(app)
    new_visitor, new = _register(app, "eve@example.com")
    old_visitor, existing = _register(app, "agent@example.com")
    for seen_new, seen_existing in zip(_seen(new), _seen(existing), strict=True):
        assert seen_new == seen_existing
    assert new.status_code == 303 and new.headers["Location"] == "/register/sent"
    assert _seen(new_visitor.get("/register/sent")) == _seen(old_visitor.get("/register/sent"))
    # What differs goes to the mailbox, where only the address's owner reads it.
    assert [m.subject for m in outbox_to(app, "eve@example.com")] == [registration.CONFIRM_SUBJECT]
    assert [m.subject for m in outbox_to(app, "agent@example.com")] == [registration.ATTEMPT_SUBJECT]


def test_both_answers_hash_the_password_so_they_take_as_long(app: Any, demo_users: Any, monkeypatch: Any) -> None:
    _open_registration(app)
    hashed: list[str] = []
    real = passwords.hash_password
    monkeypatch.setattr(registration, "hash_password", lambda pw, **kw: hashed.append(pw) or real(pw, **kw))
    _register(app, "eve@example.com", "first long password")
    _register(app, "agent@example.com", "second long password")
    assert hashed == ["first long password", "second long password"]


def test_no_session_and_no_account_before_the_link_is_used(app: Any, demo_users: Any) -> None:
    _open_registration(app)
    visitor, answer = _register(app, "eve@example.com")
    assert answer.status_code == 303
    assert visitor.get("/portal/").status_code == 302
    assert visitor.get("/profile").status_code == 302
    assert _user_count(app, "eve@example.com") == 0
    refused = Web(app.test_client()).post("/login", {"email": "eve@example.com", "password": "long enough pw"})
    assert refused.status_code == 401
    # Opening the link (as a mail scanner does) shows a button and spends nothing.
    path = confirmation_path(app, "eve@example.com")
    assert Web(app.test_client()).get(path).status_code == 200
    assert _user_count(app, "eve@example.com") == 0
    confirmed = follow_confirmation_link(app, visitor, "eve@example.com")
    assert confirmed.headers["Location"] == "/portal/"
    assert visitor.get("/portal/").status_code == 200
    assert _user_count(app, "eve@example.com") == 1


def test_the_link_works_once(app: Any, demo_users: Any) -> None:
    _open_registration(app)
    visitor, _ = _register(app, "eve@example.com")
    path = confirmation_path(app, "eve@example.com")
    follow_confirmation_link(app, visitor, "eve@example.com")
    other = Web(app.test_client())
    again = other.get(path)
    assert again.status_code == 404 and "used already" in again.get_data(as_text=True)
    assert other.post(path).status_code == 404
    assert other.get("/portal/").status_code == 302  # the second use logged nobody in
    assert _user_count(app, "eve@example.com") == 1


def test_the_link_expires(app: Any, demo_users: Any) -> None:
    _open_registration(app)
    visitor, _ = _register(app, "eve@example.com")
    path = confirmation_path(app, "eve@example.com")
    with app.app_context():
        db.session.execute(update(PendingRegistration).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert visitor.get(path).status_code == 404
    assert visitor.post(path).status_code == 404
    assert visitor.get("/portal/").status_code == 302
    assert _user_count(app, "eve@example.com") == 0


def test_an_existing_account_is_not_changed(app: Any, demo_users: Any) -> None:
    _open_registration(app)
    _register(app, "Agent@Example.com", "an attacker's password")
    assert "/register/confirm/" not in outbox_to(app, "agent@example.com")[0].body
    assert Web(app.test_client()).login("agent@example.com").status_code == 303  # the old password still works
    attacker = {"email": "agent@example.com", "password": "an attacker's password"}
    refused = Web(app.test_client()).post("/login", attacker)
    assert refused.status_code == 401


def test_the_admins_outbox_never_shows_a_confirmation_link(app: Any, demo_users: Any) -> None:
    """The link logs its reader in as the registrant: an admin reading the outbox must not be able to."""
    _open_registration(app)
    _register(app, "eve@example.com")
    _register(app, "agent@example.com")
    admin = Web(app.test_client())
    admin.login("admin@example.com")
    page = admin.get("/admin/outbox").get_data(as_text=True)
    assert confirmation_path(app, "eve@example.com").split("/")[-1] not in page
    assert "/register/confirm/" not in page
    assert "It is not shown here" in page
    assert "Someone (perhaps you) tried to register" in page  # other messages keep their text
