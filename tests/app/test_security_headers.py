"""Security headers on every response (ASVS V3.4)."""

from __future__ import annotations

from tests.conftest import Web


def test_pages_carry_the_security_headers(web: Web) -> None:
    response = web.get("/login")
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "HX-Request" in response.headers["Vary"]


def test_error_and_api_responses_carry_them_too(web: Web) -> None:
    for url in ("/nope", "/api/v1/me"):
        response = web.get(url)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_pages_have_no_inline_script(web: Web) -> None:
    body = web.get("/login").get_data(as_text=True)
    assert "<script>" not in body
    assert " onclick=" not in body and " onload=" not in body


def test_secure_cookies_behind_https(app: object) -> None:
    from app import create_app
    from tests.conftest import make_config

    secure = create_app(make_config(app.config["DATABASE_URL"], SESSION_COOKIE_SECURE=True))  # type: ignore[attr-defined]
    client = secure.test_client()
    client.get("/login")
    cookie = client.get_cookie("casework_session")
    assert cookie is not None and cookie.secure
