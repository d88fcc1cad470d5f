"""Logging in and out: messages, rate limit, session rotation and invalidation, registration."""

from __future__ import annotations

from typing import Any

from tests.app.registration_mail import follow_confirmation_link
from tests.conftest import Web


def test_login_page_is_served(web: Web, demo_users: Any) -> None:
    page = web.get("/login")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert '<label for="email">E-mail address</label>' in body
    assert '<label for="password">Password</label>' in body


def test_each_demo_role_lands_on_its_home(app: Any, demo_users: Any) -> None:
    homes = {"admin": "/designer/", "agent": "/work/", "requester": "/portal/", "auditor": "/audit/"}
    for who, home in homes.items():
        web = Web(app.test_client())
        response = web.login(f"{who}@example.com")
        assert response.headers["Location"] == home
        assert web.get(home).status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_message(web: Web, demo_users: Any) -> None:
    wrong_password = web.post("/login", {"email": "admin@example.com", "password": "not-the-password"})
    unknown_email = web.post("/login", {"email": "nobody@example.com", "password": "casework-demo"})
    assert wrong_password.status_code == unknown_email.status_code == 401
    message = "The e-mail address or password is not right."
    assert message in wrong_password.get_data(as_text=True)
    assert message in unknown_email.get_data(as_text=True)
    # The e-mail typed is kept so the person only retypes the password.
    assert 'value="admin@example.com"' in wrong_password.get_data(as_text=True)


def test_ten_failed_logins_in_a_minute_get_429(web: Web, demo_users: Any) -> None:
    for _ in range(10):
        assert web.post("/login", {"email": "admin@example.com", "password": "wrong-password"}).status_code == 401
    blocked = web.post("/login", {"email": "admin@example.com", "password": "casework-demo"})
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)


def test_successful_logins_do_not_count_towards_the_limit(app: Any, demo_users: Any) -> None:
    for _ in range(12):
        web = Web(app.test_client())
        web.login("agent@example.com")


def test_session_is_rotated_at_login(web: Web, demo_users: Any) -> None:
    web.get("/login")
    before = web.client.get_cookie("casework_session").value
    web.login("admin@example.com")
    after = web.client.get_cookie("casework_session").value
    assert before != after
    cookie = web.client.get_cookie("casework_session")
    assert cookie.http_only
    assert cookie.same_site == "Lax"


def test_logout_invalidates_the_session_even_if_the_cookie_is_replayed(app: Any, demo_users: Any) -> None:
    web = Web(app.test_client())
    web.login("admin@example.com")
    stolen = web.client.get_cookie("casework_session").value
    assert web.get("/designer/").status_code == 200
    web.logout()
    replay = app.test_client()
    replay.set_cookie("casework_session", stolen)
    response = replay.get("/designer/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_next_parameter_is_followed_only_within_the_site(web: Web, demo_users: Any) -> None:
    response = web.post("/login?next=/admin/users", {"email": "admin@example.com", "password": "casework-demo"})
    assert response.headers["Location"] == "/admin/users"
    web.logout()
    response = web.post("/login?next=//evil.example/", {"email": "admin@example.com", "password": "casework-demo"})
    assert response.headers["Location"] == "/designer/"


def test_anonymous_user_is_sent_to_login_with_next(web: Web) -> None:
    response = web.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/admin/users?"


def test_deactivated_user_is_logged_out_at_once(app: Any, demo_users: Any) -> None:
    agent = Web(app.test_client())
    agent.login("agent@example.com")
    admin = Web(app.test_client())
    admin.login("admin@example.com")
    agent_id = demo_users["agent"].id
    response = admin.post(f"/admin/users/{agent_id}", {"name": "Alex Agent", "roles": ["agent"], "absent": ""})
    assert response.status_code == 303
    assert agent.get("/work/").status_code == 302
    failed = agent.post("/login", {"email": "agent@example.com", "password": "casework-demo"})
    assert failed.status_code == 401


def test_password_change_ends_other_sessions_but_keeps_this_one(app: Any, demo_users: Any) -> None:
    laptop, phone = Web(app.test_client()), Web(app.test_client())
    laptop.login("requester@example.com")
    phone.login("requester@example.com")
    bad = laptop.post("/profile/password", {"current_password": "wrong", "new_password": "short"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "This is not your current password." in text
    assert "Use at least 10 characters." in text
    ok = laptop.post("/profile/password", {"current_password": "casework-demo",
                                             "new_password": "a much longer secret"})
    assert ok.status_code == 303
    assert laptop.get("/portal/").status_code == 200
    assert phone.get("/portal/").status_code == 302
    fresh = Web(app.test_client())
    assert fresh.post("/login", {"email": "requester@example.com", "password": "casework-demo"}).status_code == 401
    fresh.login("requester@example.com", "a much longer secret")


def test_registration_is_closed_by_default(web: Web, demo_users: Any) -> None:
    assert web.get("/register").status_code == 403
    response = web.post("/register", {"name": "Eve", "email": "eve@example.com", "password": "long enough pw"})
    assert response.status_code == 403


def test_admin_opens_registration_and_a_requester_registers(app: Any, demo_users: Any) -> None:
    admin = Web(app.test_client())
    admin.login("admin@example.com")
    assert admin.post("/admin/settings", {"registration_open": "y"}).status_code == 303
    visitor = Web(app.test_client())
    assert "Register" in visitor.get("/login").get_data(as_text=True)
    bad = visitor.post("/register", {"name": "Eve", "email": "admin@example.com", "password": "short"})
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert "already exists" not in body  # registration never reveals accounts (issue 11)
    assert "Use at least 10 characters." in body
    good = visitor.post("/register", {"name": "Eve", "email": "Eve@Example.com", "password": "long enough pw"})
    assert good.status_code == 303
    assert good.headers["Location"] == "/register/sent"
    assert visitor.get("/profile").status_code == 302  # no account, no session until the link is used
    confirmed = follow_confirmation_link(app, visitor, "eve@example.com")
    assert confirmed.headers["Location"] == "/portal/"
    me = visitor.get("/profile").get_data(as_text=True)
    assert "eve@example.com" in me
    assert "Requester" in me
