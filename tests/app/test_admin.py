"""Admin pages: users, roles, queues and members, settings."""

from __future__ import annotations

from typing import Any

from tests.conftest import Web


def _admin(app: Any) -> Web:
    web = Web(app.test_client())
    web.login("admin@example.com")
    return web


def test_admin_creates_a_user_with_several_roles(app: Any, demo_users: Any) -> None:
    web = _admin(app)
    bad = web.post("/admin/users/new", {"name": "", "email": "not-an-email", "password": "short"})
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert "Choose at least one role." in body
    assert 'aria-invalid="true"' in body
    good = web.post("/admin/users/new", {"name": "Sam Supervisor", "email": "sam@example.com",
                                          "password": "long enough pw", "roles": ["agent", "auditor"]})
    assert good.status_code == 303
    listing = web.get("/admin/users").get_data(as_text=True)
    assert "Sam Supervisor" in listing and "sam@example.com" in listing
    sam = Web(app.test_client())
    assert sam.login("sam@example.com", "long enough pw").headers["Location"] == "/work/"
    assert sam.get("/audit/").status_code == 200
    assert sam.get("/portal/").status_code == 403


def test_last_admin_cannot_lose_the_role_or_be_deactivated(app: Any, demo_users: Any) -> None:
    web = _admin(app)
    admin_id = demo_users["admin"].id
    response = web.post(f"/admin/users/{admin_id}", {"name": "Ada", "roles": ["agent"], "active": "y"})
    assert response.status_code == 422
    assert "last active admin" in response.get_data(as_text=True)
    response = web.post(f"/admin/users/{admin_id}", {"name": "Ada", "roles": ["admin"]})
    assert response.status_code == 422
    assert web.get("/designer/").status_code == 200


def test_admin_resets_a_password_and_creates_a_token_for_a_user(app: Any, demo_users: Any) -> None:
    web = _admin(app)
    agent_id = demo_users["agent"].id
    assert web.post(f"/admin/users/{agent_id}/password", {"password": "short"}).status_code == 422
    assert web.post(f"/admin/users/{agent_id}/password", {"password": "brand new secret"}).status_code == 303
    Web(app.test_client()).login("agent@example.com", "brand new secret")
    created = web.post(f"/admin/users/{agent_id}/tokens", {"token-name": "ERP"})
    assert created.status_code == 201
    token = created.get_data(as_text=True).split('id="new-token">')[1].split("<")[0]
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json["email"] == "agent@example.com"


def test_queues_and_members(app: Any, demo_users: Any) -> None:
    web = _admin(app)
    bad = web.post("/admin/queues/new", {"name": "Escalations", "slug": "Bad Slug!"})
    assert bad.status_code == 422
    assert "lower-case letters" in bad.get_data(as_text=True)
    dup = web.post("/admin/queues/new", {"name": "Another general", "slug": "general"})
    assert "Another queue already uses this short name." in dup.get_data(as_text=True)
    created = web.post("/admin/queues/new", {"name": "Escalations", "slug": "escalations"})
    assert created.status_code == 303
    queue_url = created.headers["Location"]
    queue_id = int(queue_url.rstrip("/").split("/")[-1])

    not_agent = web.post(f"/admin/queues/{queue_id}/members", {"email": "requester@example.com"}, htmx=True)
    assert not_agent.status_code == 422
    assert "This user is not an agent." in not_agent.get_data(as_text=True)
    unknown = web.post(f"/admin/queues/{queue_id}/members", {"email": "ghost@example.com"}, htmx=True)
    assert "No user has this e-mail address." in unknown.get_data(as_text=True)
    added = web.post(f"/admin/queues/{queue_id}/members", {"email": "agent@example.com"}, htmx=True)
    assert added.status_code == 200
    fragment = added.get_data(as_text=True)
    assert fragment.lstrip().startswith('<section class="card" id="members"')
    assert "Alex Agent" in fragment

    agent = Web(app.test_client())
    agent.login("agent@example.com")
    assert "Escalations" in agent.get("/work/").get_data(as_text=True)

    agent_id = demo_users["agent"].id
    removed = web.post(f"/admin/queues/{queue_id}/members/{agent_id}/remove", htmx=True)
    assert "No members yet." in removed.get_data(as_text=True)


def test_admin_text_is_escaped(app: Any, demo_users: Any) -> None:
    web = _admin(app)
    payload = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    web.post("/admin/queues/new", {"name": payload, "slug": "xss", "description": payload})
    body = web.get("/admin/queues").get_data(as_text=True)
    assert payload not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_the_designer_dashboard_counts_in_words(app: Any, demo_users: Any) -> None:
    """One queue is "1 queue", not "1 queues"."""
    from tests.conftest import Web

    web = Web(app.test_client())
    web.login("admin@example.com")
    page = web.get("/designer/").get_data(as_text=True)
    assert "1 queue ·" in page and "1 queues" not in page
