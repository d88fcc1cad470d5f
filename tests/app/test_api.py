"""API plumbing: Bearer tokens, the error shape, pagination, /me."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Web


def _token(runner: Any, email: str) -> str:
    result = runner.invoke(args=["token", "create", email])
    assert result.exit_code == 0, result.output
    return result.output.split()[-1]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_me_with_a_valid_token(client: Any, runner: Any, demo_users: Any) -> None:
    token = _token(runner, "agent@example.com")
    response = client.get("/api/v1/me", headers=_bearer(token))
    assert response.status_code == 200
    assert response.json["email"] == "agent@example.com"
    assert response.json["roles"] == ["agent"]
    assert response.json["queues"] == ["general"]


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer cw_not-a-real-token", "Basic YWRtaW46YWRtaW4=",
                                    "Bearer " + "x" * 5000])
def test_me_without_a_valid_token_is_401_in_the_error_shape(client: Any, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    error = response.json["error"]
    assert error["code"] == "unauthorized"
    assert error["message"]


def test_revoked_token_is_refused(web: Web, client: Any, runner: Any, demo_users: Any) -> None:
    web.login("agent@example.com")
    created = web.post("/profile/tokens", {"token-name": "integration"}, htmx=True)
    assert created.status_code == 201
    body = created.get_data(as_text=True)
    token = body.split('id="new-token">')[1].split("<")[0]
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    token_id = int(body.split("/profile/tokens/")[1].split("/")[0])
    revoked = web.post(f"/profile/tokens/{token_id}/revoke", htmx=True)
    assert revoked.status_code == 200
    assert "revoked" in revoked.get_data(as_text=True)
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 401


def test_token_of_a_deactivated_user_is_refused(web: Web, client: Any, runner: Any, demo_users: Any) -> None:
    token = _token(runner, "requester@example.com")
    web.login("admin@example.com")
    requester = demo_users["requester"]
    web.post(f"/admin/users/{requester.id}", {"name": requester.name, "roles": ["requester"]})
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 401


def test_api_ignores_the_session_cookie(web: Web, demo_users: Any) -> None:
    web.login("admin@example.com")
    assert web.get("/api/v1/me").status_code == 401


def test_a_user_cannot_revoke_someone_elses_token(app: Any, runner: Any, demo_users: Any) -> None:
    owner = Web(app.test_client())
    owner.login("agent@example.com")
    created = owner.post("/profile/tokens", {"token-name": "mine"}, htmx=True).get_data(as_text=True)
    token_id = int(created.split("/profile/tokens/")[1].split("/")[0])
    other = Web(app.test_client())
    other.login("requester@example.com")
    assert other.post(f"/profile/tokens/{token_id}/revoke", htmx=True).status_code == 404


def test_pagination_shape_and_bad_values(client: Any, runner: Any, demo_users: Any) -> None:
    token = _token(runner, "admin@example.com")
    page = client.get("/api/v1/users?page=1&per_page=3", headers=_bearer(token))
    assert page.status_code == 200
    assert page.json["total"] == 4
    assert len(page.json["items"]) == 3
    second = client.get("/api/v1/users?page=2&per_page=3", headers=_bearer(token)).json
    assert [u["email"] for u in second["items"]] == ["auditor@example.com"]
    for query in ("page=0", "per_page=1000", "page=abc", "per_page=-1"):
        bad = client.get(f"/api/v1/users?{query}", headers=_bearer(token))
        assert bad.status_code == 400, query
        assert bad.json["error"]["code"] == "bad_request"
        assert bad.json["error"]["fields"]


def test_api_refuses_by_role(client: Any, runner: Any, demo_users: Any) -> None:
    token = _token(runner, "requester@example.com")
    response = client.get("/api/v1/users", headers=_bearer(token))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_token_create_cli_errors_are_clear(runner: Any, demo_users: Any) -> None:
    result = runner.invoke(args=["token", "create", "nobody@example.com"])
    assert result.exit_code != 0
    assert "No user has the e-mail address nobody@example.com" in result.output
