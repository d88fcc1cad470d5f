"""Login and registration (issue 11, finding 7): the redirect target, the per-account limit, no account
enumeration through registration."""

from __future__ import annotations

from typing import Any

import pytest

from app.auth import safe_next
from tests.app.registration_mail import outbox_to
from tests.conftest import Web


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "//evil.example",
                                    "/\\evil.example", "https://evil.example/", "/ /evil.example", "/%09/x\x00",
                                    "\t//evil.example", "/\x7f/evil.example", "javascript:alert(1)"])
def test_redirect_targets_are_judged_as_a_browser_reads_them(target: str) -> None:
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/portal/", "/work/?q=a%20b", "/portal/cases/12#timeline"])
def test_same_site_paths_are_followed(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize("raw", ["/%09/evil.example", "/%0d%0aSet-Cookie:%20x=1", "/%0a/evil.example"])
def test_login_never_redirects_off_site_and_never_fails(web: Web, demo_users: Any, raw: str) -> None:
    token = web.csrf()
    response = web.client.post(f"/login?next={raw}", data={"email": "admin@example.com",
                                                           "password": "casework-demo", "csrf_token": token})
    assert response.status_code in (303, 400)
    location = response.headers.get("Location", "")
    assert "evil.example" not in location and "\n" not in location and "\r" not in location


def test_failed_logins_are_limited_per_account_across_addresses(app: Any, demo_users: Any) -> None:
    def attempt(n: int, password: str) -> Any:
        web = Web(app.test_client())
        web.client.environ_base["REMOTE_ADDR"] = f"10.0.{n // 200}.{n % 200 + 1}"
        return web.post("/login", {"email": "Admin@Example.com ", "password": password})

    for n in range(20):
        assert attempt(n, "wrong-password").status_code == 401
    blocked = attempt(99, "casework-demo")  # a fresh address, the right password: the account waits
    assert blocked.status_code == 429
    other = Web(app.test_client())
    other.client.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    assert other.login("agent@example.com").status_code == 303  # other accounts are not affected


def _open_registration(app: Any) -> None:
    admin = Web(app.test_client())
    admin.login("admin@example.com")
    assert admin.post("/admin/settings", {"registration_open": "y"}).status_code == 303


def test_registration_does_not_reveal_existing_accounts(app: Any, demo_users: Any) -> None:
    _open_registration(app)
    visitor = Web(app.test_client())
    taken = visitor.post("/register", {"name": "Eve", "email": "Agent@example.com", "password": "long enough pw"})
    assert taken.status_code == 303 and taken.headers["Location"] == "/register/sent"
    page = visitor.get("/register/sent").get_data(as_text=True)
    assert "already exists" not in page and "We have sent a message" in page
    mails = outbox_to(app, "agent@example.com")
    assert [m.subject for m in mails] == ["Someone tried to register with your e-mail address"]
    # Mistakes in the other answers are still shown, without a word about the address.
    bad = visitor.post("/register", {"name": "Eve", "email": "agent@example.com", "password": "short"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "already exists" not in body and "Use at least 10 characters." in body
    fresh = visitor.post("/register", {"name": "Eve", "email": "eve@example.com", "password": "long enough pw"})
    assert fresh.status_code == 303 and fresh.headers["Location"] == "/register/sent"  # the same answer
