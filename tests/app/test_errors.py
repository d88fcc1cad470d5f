"""Error pages and the API error shape: clear words, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.conftest import Web


def test_unknown_url_gets_the_404_page(web: Web) -> None:
    response = web.get("/no/such/page")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "<h1>Page not found</h1>" in body
    assert "Log in" in body


def test_unknown_api_url_gets_json_404(web: Web) -> None:
    response = web.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_post_without_csrf_token_gets_a_clear_400_page(web: Web, demo_users: Any) -> None:
    response = web.client.post("/login", data={"email": "admin@example.com", "password": "casework-demo"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "without a valid security token" in body
    assert "Reload the page" in body


def test_htmx_post_without_csrf_header_is_refused(web: Web, demo_users: Any) -> None:
    web.login("agent@example.com")
    response = web.client.post("/profile/tokens", data={"token-name": "x"}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    # htmx swaps the fragment, so it must not be a whole page.
    assert "<html" not in response.get_data(as_text=True)


def test_wrong_method_gets_405(web: Web) -> None:
    response = web.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_oversized_request_gets_413(app: Any, web: Web) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = web.post("/login", {"email": "a@example.com", "password": "x" * 5000})
    assert response.status_code == 413
    assert "larger than allowed" in response.get_data(as_text=True)


@pytest.fixture
def exploding_app(app: Any) -> Any:
    def explode() -> str:
        raise RuntimeError("secret internals: /etc/shadow")

    app.add_url_rule("/_test/explode", "explode", explode)
    app.add_url_rule("/api/v1/_test/explode", "api_explode", explode)
    return app


def test_exception_in_a_view_gets_the_500_page_and_is_logged(
    exploding_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = exploding_app.test_client()
    with caplog.at_level(logging.ERROR):
        response = client.get("/_test/explode")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body
    assert "Traceback" not in body
    assert "secret internals" not in body
    assert any("Unhandled error on GET /_test/explode" in r.getMessage() for r in caplog.records)
    assert any(r.exc_info and "secret internals" in str(r.exc_info[1]) for r in caplog.records)


def test_exception_under_the_api_gets_json_500(exploding_app: Any) -> None:
    response = exploding_app.test_client().get("/api/v1/_test/explode")
    assert response.status_code in (401, 500)  # the API authenticates before the view runs
    assert "error" in response.json
    assert "secret internals" not in response.get_data(as_text=True)
