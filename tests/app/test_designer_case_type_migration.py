"""The case-type designer's migration page: choose the version, map states with selects, dry run, migrate."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from app.extensions import db
from cases import audit, definitions
from cases.models import Case
from tests.conftest import Web
from tests.support.migration import six_cases_on_version_one


def test_an_admin_sees_the_dry_run_then_migrates(app: Any, demo_users: Any) -> None:
    refs = six_cases_on_version_one(app)
    with app.app_context():
        definition = definitions.find_definition(db.session, "case_type", "complaint")
        assert definition is not None
        url = f"/designer/case-types/{definition.id}/migrate"
    web = Web(app.test_client())
    web.login("admin@example.com")
    assert url in web.get(url.removesuffix("/migrate")).get_data(as_text=True)

    page = web.get(url).get_data(as_text=True)
    assert '<option value="2" selected>' in page
    # Review and Escalated are gone in version 2: their selects start unmapped; the others on the same state.
    escalated = re.search(r'<select id="map-escalated" name="map-escalated">(.*?)</select>', page, re.S)
    assert escalated and '<option value="">Not mapped' in escalated.group(1)
    assert '<option value="checking">Checking</option>' in escalated.group(1)
    triage = re.search(r'<select id="map-triage" name="map-triage">(.*?)</select>', page, re.S)
    assert triage and '<option value="triage" selected>Triage (same state)</option>' in triage.group(1)
    assert "resolved" not in escalated.group(1)  # closing states are not offered

    unmapped = web.get(url, query_string={"to": 2, "dry_run": 1}).get_data(as_text=True)
    assert "not migratable: the state &#39;review&#39; is not in version 2; map it to a state" in unmapped
    assert "3 of 6 open cases can move to version 2." in unmapped

    choice = {"to": 2, "map-review": "checking", "map-escalated": "in_progress", "map-triage": "triage"}
    dry = web.get(url, query_string={**choice, "dry_run": 1}).get_data(as_text=True)
    assert "4 of 6 open cases can move to version 2." in dry and "would be mapped to Checking (was Review)" in dry
    assert '<input type="hidden" name="map-review" value="checking">' in dry
    with app.app_context():
        assert {c.case_type_version.number for c in db.session.scalars(select(Case))} == {1}

    done = web.post(url, {"to": "2", "map-review": "checking", "map-escalated": "in_progress"})
    body = done.get_data(as_text=True)
    assert done.status_code == 200, body[:2000]
    assert "4 of 6 open cases moved" in body and f"{refs[3]}" in body
    assert "migrated, mapped to Checking (was Review)" in body
    with app.app_context():
        versions = {c.ref: (c.case_type_version.number, c.state) for c in db.session.scalars(select(Case))}
        assert versions[refs[3]] == (2, "checking") and versions[refs[0]][0] == 1
        assert audit.verify(db.session).ok

    bad = web.get(url, query_string={"to": 2, "map-escalated": "nowhere", "dry_run": 1})
    assert bad.status_code == 422 and "&#39;nowhere&#39; is not a state of the version migrated to." in \
        bad.get_data(as_text=True)


def test_only_admins_open_the_migration_page(app: Any, demo_users: Any) -> None:
    six_cases_on_version_one(app)
    web = Web(app.test_client())
    web.login("agent@example.com")
    with app.app_context():
        definition = definitions.find_definition(db.session, "case_type", "complaint")
        assert definition is not None
        url = f"/designer/case-types/{definition.id}/migrate"
    assert web.get(url).status_code == 403
    assert web.post(url, {"to": "2"}).status_code == 403
