"""POST /api/v1/case-types/<slug>/migrations: the dry run and the migration, for admins only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from cases.models import Case
from tests.support.migration import MAPPING, six_cases_on_version_one
from tests.support.web import token_for

URL = "/api/v1/case-types/complaint/migrations"


def test_the_dry_run_then_the_migration(app: Any, client: Any, demo_users: Any) -> None:
    refs = six_cases_on_version_one(app)
    admin = token_for(app, "admin@example.com")
    dry = client.post(URL, json={"to_version": 2, "state_mapping": MAPPING, "dry_run": True}, headers=admin)
    assert dry.status_code == 200, dry.get_json()
    body = dry.get_json()
    assert (body["migratable"], body["migrated"], body["dry_run"]) == (4, 0, True)
    assert [i["ref"] for i in body["items"]] == refs
    assert [i["status"] for i in body["items"]] == ["not_migratable", "kept", "kept", "mapped", "kept",
                                                    "not_migratable"]
    assert body["items"][3]["target"] == "checking" and body["items"][3]["outcome"].startswith("would be mapped")
    assert "Account number" in body["items"][0]["reasons"][0]

    only = client.post(URL, json={"to_version": 2, "state_mapping": MAPPING, "dry_run": False, "cases": [refs[3]]},
                       headers=admin).get_json()
    assert only["migrated"] == 1 and [i["ref"] for i in only["items"] if i["migrated"]] == [refs[3]]
    rest = client.post(URL, json={"to_version": 2, "state_mapping": MAPPING, "dry_run": False}, headers=admin)
    assert rest.get_json()["migrated"] == 3
    assert [i["status"] for i in rest.get_json()["items"]][3] == "current"
    with app.app_context():
        assert sorted(c.case_type_version.number for c in db.session.scalars(select(Case))) == [1, 1, 2, 2, 2, 2]


def test_refusals(app: Any, client: Any, demo_users: Any) -> None:
    six_cases_on_version_one(app)
    admin = token_for(app, "admin@example.com")
    agent = token_for(app, "agent@example.com")
    assert client.post(URL, json={"to_version": 2, "dry_run": True}, headers=agent).status_code == 403
    missing = client.post("/api/v1/case-types/nope/migrations", json={"to_version": 2, "dry_run": True},
                          headers=admin)
    assert missing.status_code == 404
    assert client.post(URL, json={"to_version": 9, "dry_run": True}, headers=admin).status_code == 404
    bad = client.post(URL, json={"to_version": 2, "dry_run": True, "state_mapping": {"review": "gone"}},
                      headers=admin)
    assert bad.status_code == 422 and "review" in bad.get_json()["error"]["fields"]
    assert client.post(URL, json={"to_version": 2}, headers=admin).status_code == 422  # say which
