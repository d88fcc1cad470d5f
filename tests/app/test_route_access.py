"""Walk every route in the URL map as each kind of user and check who is let in.

A new route fails this test until it is given a policy below, so no page ships unguarded.
"""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.routing import IntegerConverter

from tests.conftest import make_config

ANON, ADMIN, AGENT, REQUESTER, AUDITOR = "anonymous", "admin", "agent", "requester", "auditor"
EVERYONE = {ANON, ADMIN, AGENT, REQUESTER, AUDITOR}
LOGGED_IN = EVERYONE - {ANON}

# endpoint -> who may use it
POLICY: dict[str, set[str]] = {
    "static": EVERYONE,
    "auth.root": EVERYONE,
    "auth.login": EVERYONE,
    "auth.register": EVERYONE,
    "auth.registration_sent": EVERYONE,
    "auth.confirm_registration": EVERYONE,
    "auth.logout": EVERYONE,
    "auth.profile": LOGGED_IN,
    "auth.change_password": LOGGED_IN,
    "auth.create_token": LOGGED_IN,
    "auth.revoke_token": LOGGED_IN,
    "designer.index": {ADMIN},
    "files.download": LOGGED_IN,
    "public.request_form": EVERYONE,
    "public.track": EVERYONE,
    "audit.index": {AUDITOR},
    "api.me": LOGGED_IN,
    "api.users": {ADMIN},
    "api.case_types": LOGGED_IN,
    "api.case_type": LOGGED_IN,
    "api.file_case": LOGGED_IN,
    "api.upload": LOGGED_IN,
    "api.list_cases": LOGGED_IN,
    "api.get_case": LOGGED_IN,
    "api.claim": LOGGED_IN,
    "api.fire_transition": LOGGED_IN,
    "api.comment": LOGGED_IN,
    "api.events": LOGGED_IN,
    "api.case_tasks": LOGGED_IN,
    "api.complete_task": LOGGED_IN,
    "api.reopen_task": LOGGED_IN,
    "api.start_task": LOGGED_IN,
    "api.case_links": LOGGED_IN,
    "api.link_case": LOGGED_IN,
    "api.verify": {ADMIN, AUDITOR},
}
BLUEPRINT_POLICY = {"admin": {ADMIN}, "work": {AGENT, ADMIN}, "portal": {REQUESTER}}
BLUEPRINT_POLICY["designer_case_types"] = {ADMIN}
BLUEPRINT_POLICY["designer_forms"] = {ADMIN}
BLUEPRINT_POLICY["designer_rules"] = {ADMIN}
BLUEPRINT_POLICY["privacy"] = {ADMIN}
# Documents (issue 6): downloads and the section follow the case's row-level access; drafts for the
# case's agents, auditors and admins; retries for admins. The auditor workspace is the auditors' own.
POLICY.update({
    "documents.download": LOGGED_IN,
    "documents.section": LOGGED_IN,
    "documents.draft": {AGENT, AUDITOR, ADMIN},
    "documents.retry": {ADMIN},
    "api.case_documents": LOGGED_IN,
    "api.download_document": LOGGED_IN,
})
# API completeness (issue 17): row-level and role checks happen in the services; every token gets in.
POLICY.update({f"api.{name}": LOGGED_IN for name in (
    "release", "assign", "move_queue", "set_priority", "request_information", "answer_information", "edit_data",
    "approval", "decide", "comments", "attachments", "add_attachment", "attach_uploads", "download_attachment",
    "request_draft")})
# Integrations (issue 17): the API's own description and its reference page are public; a case type's
# schema and typed document need a token (of someone who may read that case type).
POLICY.update({
    "api.openapi_document": EVERYONE,
    "api_docs.reference": EVERYONE,
    "api.case_type_schema": LOGGED_IN,
    "api.case_type_openapi": LOGGED_IN,
})
BLUEPRINT_POLICY["audit"] = {AUDITOR}
# Operations (issue 18): health and readiness for load balancers; metrics for loopback callers or the
# METRICS_TOKEN (tests/app/test_observability.py); single sign-on for everyone, its mapping for admins.
POLICY.update({
    "ops.healthz": EVERYONE,
    "ops.readyz": EVERYONE,
    "ops.metrics": EVERYONE,
    "sso.login": EVERYONE,
    "sso.callback": EVERYONE,
    "sso.logout": EVERYONE,
    "sso.mapping": {ADMIN},
})
# Proof (issue 13): the latest checkpoint for staff and auditors; bundles follow the case's row-level access
# (then 403 for a requester); bundles of many cases for auditors and admins.
POLICY.update({
    "api.latest_checkpoint": {ADMIN, AGENT, AUDITOR},
    "api.case_bundle": LOGGED_IN,
    "api.cases_bundle": {ADMIN, AUDITOR},
})
BLUEPRINT_POLICY["designer_documents"] = {ADMIN}
# Governed change (issue 16): reviewing drafts and moving open cases to another version are admins' work.
BLUEPRINT_POLICY["designer_reviews"] = {ADMIN}
POLICY["api.migrate_cases"] = {ADMIN}
# Process insight (issue 15): staff figures; agents see their cases' figures, requesters none.
POLICY.update({f"api.{name}": {ADMIN, AGENT, AUDITOR} for name in (
    "insight_kpis", "insight_event_log_xes", "insight_event_log_csv")})
POLICY.update({f"api.{name}": {ADMIN} for name in (
    "list_change_requests", "submit_change_request", "get_change_request", "approve_change_request",
    "reject_change_request", "publish_change_request", "schedule_change_request", "cancel_change_request_schedule",
    "withdraw_change_request")})
# Process insight (issue 15): admins and auditors see every figure, agents those of their own queues
# (tests/app/test_insight_access.py enumerates that); requesters nothing.
BLUEPRINT_POLICY["insight"] = {ADMIN, AGENT, AUDITOR}


def policy_for(endpoint: str) -> set[str]:
    if endpoint in POLICY:
        return POLICY[endpoint]
    blueprint = endpoint.split(".", 1)[0]
    if blueprint in BLUEPRINT_POLICY and "." in endpoint:
        return BLUEPRINT_POLICY[blueprint]
    raise AssertionError(f"route {endpoint!r} has no access policy in {__file__}")


def _url(rule: Any) -> str:
    values = {}
    for arg in rule.arguments:
        numeric = isinstance(rule._converters[arg], IntegerConverter)  # app/inputs.py's IdConverter too
        values[arg] = 999999 if numeric else "x"
    return rule.build(values)[1]


@pytest.fixture
def open_app(database_url: str) -> Any:
    from app import create_app
    from app.extensions import db
    from cases import accounts

    app = create_app(make_config(database_url, WTF_CSRF_ENABLED=False))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        accounts.set_setting(db.session, "registration_open", "true")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _client_as(app: Any, who: str, tokens: dict[str, str]) -> tuple[Any, dict[str, str]]:
    client = app.test_client()
    if who == ANON:
        return client, {}
    response = client.post("/login", data={"email": f"{who}@example.com", "password": "casework-demo"})
    assert response.status_code == 303
    return client, {"Authorization": f"Bearer {tokens[who]}"}


def _denied(response: Any, who: str, is_api: bool) -> bool:
    if is_api:
        return response.status_code in (401, 403)
    if who == ANON:
        return response.status_code == 302 and response.headers["Location"].startswith("/login")
    return response.status_code == 403


def test_every_route_allows_and_denies_as_declared(open_app: Any) -> None:
    runner = open_app.test_cli_runner()
    tokens = {who: runner.invoke(args=["token", "create", f"{who}@example.com"]).output.split()[-1]
              for who in LOGGED_IN}
    rules = [r for r in open_app.url_map.iter_rules()]
    assert len(rules) > 15
    problems = []
    for rule in rules:
        allowed = policy_for(rule.endpoint)
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS", "HEAD"})[0]
        url = _url(rule) if rule.endpoint != "static" else "/static/css/casework.css"
        is_api = rule.endpoint.startswith("api.")
        for who in sorted(EVERYONE):
            client, headers = _client_as(open_app, who, tokens)
            response = client.open(url, method=method, headers=headers if is_api else {})
            # "/" sends anonymous visitors to the login page by design: that is its job, not a denial.
            denied = _denied(response, who, is_api) and rule.endpoint != "auth.root"
            if response.status_code >= 500:
                problems.append(f"{who} {method} {url}: server error {response.status_code}")
            elif denied == (who in allowed):
                problems.append(f"{who} {method} {url}: got {response.status_code}, "
                                f"expected {'allow' if who in allowed else 'deny'}")
    assert not problems, "\n".join(problems)
