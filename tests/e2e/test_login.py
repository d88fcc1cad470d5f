"""Each demo role logs in through a real Chromium and lands on its home; htmx POSTs carry CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from cases import accounts
from cases.models import OutboxMessage
from tests.support.browser import login

HOMES = [
    ("admin@example.com", "/designer/", "Designer"),
    ("agent@example.com", "/work/", "My work"),
    ("requester@example.com", "/portal/", "My cases"),
    ("auditor@example.com", "/audit/", "Audit workspace"),
]


@pytest.mark.parametrize(("email", "home", "heading"), HOMES)
def test_each_demo_role_lands_on_its_home(page: Page, email: str, home: str, heading: str) -> None:
    login(page, email)
    expect(page).to_have_url(re.compile(re.escape(home) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(home)
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_wrong_password_is_reported_without_saying_which_part(page: Page) -> None:
    login(page, "admin@example.com", "not-the-password")
    expect(page.get_by_role("alert")).to_have_text("The e-mail address or password is not right.")
    expect(page.get_by_label("E-mail address")).to_have_value("admin@example.com")


def test_htmx_post_carries_the_csrf_token(page: Page) -> None:
    login(page, "agent@example.com")
    page.goto("/profile")
    sent: list[dict[str, str]] = []
    page.on("request", lambda r: sent.append(r.headers) if r.method == "POST" else None)
    tokens = page.locator("#tokens")
    tokens.get_by_label("Token name").fill("browser test")
    with page.expect_response(lambda r: r.url.endswith("/profile/tokens")) as info:
        tokens.get_by_role("button", name="Create token").click()
    assert info.value.status == 201
    assert sent and sent[-1].get("hx-request") == "true"
    assert sent[-1].get("x-csrftoken"), "htmx POST went out without the CSRF header"
    expect(page.locator("#new-token")).to_have_text(re.compile(r"^cw_"))
    # The swap replaced only the tokens section: the page around it is untouched.
    expect(page.get_by_role("heading", name="Change password")).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_response(lambda r: "/revoke" in r.url) as revoked:
        page.get_by_role("button", name="Revoke").first.click()
    assert revoked.value.status == 200
    expect(page.locator("#tokens")).to_contain_text("revoked")


def test_keyboard_user_can_log_in_and_skip_to_content(page: Page) -> None:
    page.goto("/login")
    expect(page.get_by_label("E-mail address")).to_be_focused()  # autofocus: type straight away
    page.keyboard.type("requester@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type("casework-demo")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/portal/$"))
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_no_console_errors_and_no_csp_violations(page: Page) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, "admin@example.com")
    page.goto("/admin/queues")
    page.goto("/profile")
    assert errors == []


@pytest.fixture
def open_registration(live_app: Any) -> Iterator[None]:
    with live_app.app_context():
        accounts.set_setting(db.session, "registration_open", "true")
    yield
    with live_app.app_context():
        accounts.set_setting(db.session, "registration_open", "false")


def _mailed_link(live_app: Any, to: str) -> str:
    with live_app.app_context():
        bodies = db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.to == to)).all()
        db.session.remove()
    links = [m for body in bodies for m in re.findall(r"http://\S+/register/confirm/[\w-]+", body)]
    assert len(links) == 1, bodies
    return links[0]


def test_register_then_the_mailed_link_logs_the_new_requester_in(page: Page, live_app: Any,
                                                                  open_registration: None) -> None:
    page.goto("/login")
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Your name").fill("Erin Example")
    page.get_by_label("E-mail address").fill("erin@example.com")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/register/sent$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    page.goto("/portal/")
    expect(page).to_have_url(re.compile(r"/login\?next="))  # no session before the link is used

    link = _mailed_link(live_app, "erin@example.com")
    page.goto(link)
    page.get_by_role("button", name="Confirm and log in").click()
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My cases")
    page.get_by_role("button", name="Log out").click()
    page.goto(link)  # the link works once
    expect(page.get_by_role("heading", level=1)).to_have_text("This link is not valid")
