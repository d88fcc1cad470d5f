"""Single sign-on against a real OpenID Connect provider (npm oidc-provider under Node), in Chromium."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from tests.conftest import Web, make_config, migrate, need

OIDC_DIR = Path(__file__).resolve().parent.parent / "oidc"
CLIENTS = ("casework", "casework-wrongaud", "casework-expired")
MAPPING = '{"casework-admins": {"roles": ["admin"]}, "support": {"roles": ["agent"], "queues": ["general"]}}'


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    return {client: _free_port() for client in CLIENTS}


@pytest.fixture(scope="module")
def provider(ports: dict[str, int]) -> Iterator[str]:
    node = shutil.which("node")
    need(node is not None, "Node.js is not installed")
    need((OIDC_DIR / "node_modules" / "oidc-provider").is_dir(),
         "tests/oidc/node_modules is missing (make setup-dev installs it)")
    port = _free_port()
    callbacks = ",".join(f"http://127.0.0.1:{p}/sso/callback" for p in ports.values())
    logouts = ",".join(f"http://127.0.0.1:{p}/login" for p in ports.values())
    process = subprocess.Popen([str(node), "provider.js", str(port), callbacks, logouts], cwd=OIDC_DIR,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    issuer = f"http://localhost:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=2):  # noqa: S310
                break
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"the OpenID provider stopped: {process.stdout.read() if process.stdout else ''}")
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("the OpenID provider did not start")
    yield issuer
    process.terminate()
    process.wait(10)


@contextmanager
def _casework(tmp: Path, issuer: str, client_id: str, port: int, **extra: Any) -> Iterator[tuple[str, Any]]:
    from app import create_app
    from app.extensions import db
    from cases import sso

    url = f"sqlite:///{tmp / 'casework.db'}"
    migrate(url)
    app = create_app(make_config(url, OIDC_ISSUER=issuer, OIDC_CLIENT_ID=client_id,
                                 OIDC_CLIENT_SECRET="test-secret", **extra))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        sso.save_mapping(db.session, MAPPING)
        db.session.remove()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.shutdown()
        thread.join(10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def casework(provider: str, ports: dict[str, int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with _casework(tmp_path_factory.mktemp("sso"), provider, "casework", ports["casework"]) as running:
        yield running


def _sign_in_at_provider(page: Page, login: str) -> None:
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("anything")
    page.get_by_role("button", name="Sign-in").click()
    consent = page.get_by_role("button", name="Continue")
    if consent.count():
        consent.click()


def _user(app: Any, email: str) -> Any:
    from app.extensions import db
    from cases import accounts

    with app.app_context():
        user = accounts.find_user(db.session, email)
        if user is None:
            return None
        facts = (set(user.roles), {q.slug for q in accounts.queues_of(db.session, user)})
        db.session.remove()
        return facts


def test_first_login_creates_the_user_with_mapped_roles_and_logout_ends_both_sessions(
        page: Page, casework: tuple[str, Any]) -> None:
    base, app = casework
    assert _user(app, "ada@corp.example") is None
    page.goto(f"{base}/login")
    page.locator("#sso-login").click()
    _sign_in_at_provider(page, "ada")
    page.wait_for_url(f"{base}/designer/**")
    assert _user(app, "ada@corp.example") == ({"admin", "agent"}, {"general"})
    page.goto(f"{base}/work/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    # Log out: Casework's session ends, then the provider asks to end its own.
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{base}/login**")
    page.goto(f"{base}/work/")
    assert "/login" in page.url
    page.locator("#sso-login").click()
    expect(page.locator("input[name=login]")).to_be_visible()  # the provider asks who you are again


def test_a_replayed_sign_in_answer_is_refused(page: Page, casework: tuple[str, Any]) -> None:
    base, app = casework
    callbacks: list[str] = []
    page.on("request", lambda request: callbacks.append(request.url) if "/sso/callback" in request.url else None)
    page.goto(f"{base}/login")
    page.locator("#sso-login").click()
    _sign_in_at_provider(page, "sam")
    page.wait_for_url(f"{base}/work/**")
    assert _user(app, "sam@corp.example") == ({"agent"}, {"general"})
    assert callbacks
    response = page.goto(callbacks[0])
    assert response is not None and response.status == 400
    expect(page.locator("#sso-refused")).to_contain_text("already used")


@pytest.mark.parametrize(("client_id", "reason"), [("casework-wrongaud", "wrong audience"),
                                                   ("casework-expired", "has expired")])
def test_an_id_token_for_another_audience_or_expired_is_refused(
        page: Page, provider: str, ports: dict[str, int], tmp_path: Path, client_id: str, reason: str) -> None:
    with _casework(tmp_path, provider, client_id, ports[client_id]) as (base, app):
        page.goto(f"{base}/login")
        page.locator("#sso-login").click()
        _sign_in_at_provider(page, "ada")
        page.wait_for_url(f"{base}/sso/callback**")
        expect(page.locator("#sso-refused")).to_contain_text(reason)
        assert _user(app, "ada@corp.example") is None
        page.goto(f"{base}/designer/")
        assert "/login" in page.url  # not signed in


def test_sso_only_turns_password_login_off(provider: str, tmp_path: Path) -> None:
    from app import create_app

    url = f"sqlite:///{tmp_path / 'casework.db'}"
    migrate(url)
    app = create_app(make_config(url, OIDC_ISSUER=provider, OIDC_CLIENT_ID="casework",
                                 OIDC_CLIENT_SECRET="test-secret", OIDC_ONLY=True))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    web = Web(app.test_client())
    page = web.get("/login").get_data(as_text=True)
    assert 'id="sso-login"' in page and 'name="password"' not in page
    token = web.client.get("/register")
    assert token.status_code == 403
    response = web.post("/login", {"email": "admin@example.com", "password": "casework-demo"})
    assert response.status_code == 403 and "single sign-on" in response.get_data(as_text=True)


def test_admins_edit_the_group_mapping_and_bad_mappings_are_refused(app: Any) -> None:
    web = Web(app.test_client())
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    web.login("admin@example.com")
    bad = web.post("/admin/sso", {"mapping": '{"x": {"roles": ["wizard"], "queues": ["nowhere"]}}'})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "unknown roles wizard" in text and "unknown queues nowhere" in text
    assert web.post("/admin/sso", {"mapping": "not json"}).status_code == 422
    good = web.post("/admin/sso", {"mapping": MAPPING})
    assert good.status_code == 303
    assert "casework-admins" in web.get("/admin/sso").get_data(as_text=True)
    web.logout()
    web.login("agent@example.com")
    assert web.get("/admin/sso").status_code == 403
