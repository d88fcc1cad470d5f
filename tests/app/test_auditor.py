"""The auditor workspace: search, a case's whole history, exports, chain verification, definition changes,
document checks; and an auditor cannot change anything, through any page or API route."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from app.extensions import db
from cases import accounts, definitions, lifecycle
from cases.models import AuditEvent, Case, Comment, Definition, Document
from cases.submissions import Uploader
from tests.app.documents.real_cases import (
    LETTER,
    file_case,
    publish_complaint_with_templates,
    render_queued,
    work_and_close,
)
from tests.conftest import Web, make_config
from tests.support.audit import tamper
from tests.support.complaint import GOOD, complaint_case_type_document
from tests.support.web import token_for

URGENT_GOLD = {"id": "urgent_gold", "name": "Gold customers first", "trigger": "case.submitted", "priority": 10,
               "condition": {"field": "customer_tier", "op": "eq", "value": "gold"},
               "actions": [{"type": "set_priority", "priority": "urgent"}]}


@pytest.fixture
def audited(database_url: str, tmp_path: Path) -> Any:
    """Three complaints: CMP-000001 closed (a description edit on the way), 2 and 3 open; v2 of the case
    type adds a rule and a decision letter."""
    from app import create_app

    app = create_app(make_config(database_url, DOCUMENT_FOLDER=str(tmp_path / "documents")))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint_with_templates(app, templates=[])
    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        case_type = definitions.find_definition(db.session, "case_type", "complaint")
        assert admin is not None and case_type is not None
        document = complaint_case_type_document(documents=[LETTER])
        document["rules"] = {"schema_version": 1, "rules": [URGENT_GOLD]}
        assert definitions.save_draft(db.session, case_type, document, actor=admin) == []
        definitions.publish(db.session, case_type, actor=admin, change_note="Letters and gold customers")
        db.session.remove()
    first = file_case(app)
    work_and_close(app, first, description="The box was soaked and the vase inside is broken.")
    file_case(app, customer_tier="standard", description="The lamp flickers and the switch sparks.")
    file_case(app, customer_tier="standard", email="sam@example.com")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _auditor(app: Any) -> Web:
    web = Web(app.test_client())
    web.login("auditor@example.com")
    return web


def _refs(page: str) -> list[str]:
    return re.findall(r">(CMP-\d{6})</a>", page)


def test_search_every_case_with_filters_and_pages(audited: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    web = _auditor(audited)
    assert _refs(web.get("/audit/").get_data(as_text=True)) == ["CMP-000003", "CMP-000002", "CMP-000001"]
    assert _refs(web.get("/audit/?status=closed").get_data(as_text=True)) == ["CMP-000001"]
    assert _refs(web.get("/audit/?status=open&q=sparks").get_data(as_text=True)) == ["CMP-000002"]
    assert _refs(web.get("/audit/?q=CMP-000003").get_data(as_text=True)) == ["CMP-000003"]
    assert _refs(web.get("/audit/?case_type=complaint&state=resolved").get_data(as_text=True)) == ["CMP-000001"]
    assert len(_refs(web.get("/audit/?requester=requester@example.com").get_data(as_text=True))) == 3
    assert _refs(web.get("/audit/?requester=nobody@example.com").get_data(as_text=True)) == []
    assert _refs(web.get("/audit/?created_from=2999-01-01").get_data(as_text=True)) == []
    assert web.get("/audit/?created_from=yesterday").status_code == 400
    assert web.get("/audit/?page=0").status_code == 400

    from app.blueprints import audit as audit_pages

    monkeypatch.setattr(audit_pages, "PER_PAGE", 2)
    first = web.get("/audit/?q=CMP").get_data(as_text=True)
    assert _refs(first) == ["CMP-000003", "CMP-000002"] and "page 1 of 2" in first
    second = web.get("/audit/?q=CMP&page=2").get_data(as_text=True)
    assert _refs(second) == ["CMP-000001"] and 'rel="prev"' in second
    assert "/audit/export.csv?q=CMP" in second


def test_a_case_history_shows_every_event_with_changes_decisions_and_hashes(audited: Any) -> None:
    web = _auditor(audited)
    with audited.app_context():
        case = db.session.scalar(select(Case).where(Case.ref == "CMP-000001"))
        assert case is not None
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.stream == case.stream)))
        case_id = case.id
        db.session.remove()
    page = web.get(f"/audit/cases/{case_id}").get_data(as_text=True)
    for event in events:
        assert f'id="event-{event.seq}"' in page and event.kind in page and event.hash[:16] in page
    assert "agent@example.com" in page and "requester@example.com" in page
    # A field edit with before and after; a rule decision with its rule and ruleset version.
    assert re.search(r"<td>What happened\?</td><td>The parcel arrived crushed and the vase inside is broken\.</td>"
                     r"<td>The box was soaked and the vase inside is broken\.</td>", page)
    assert "set_priority(priority=urgent) by rule urgent_gold" in page and "ruleset complaint@v2 v2" in page
    # Read-only: the only form that posts anything is the draft dossier's (closed here, so none at all).
    assert re.findall(r'<form method="post" action="([^"]+)"', page) == ["/logout"]
    assert "<button" not in page.split("</header>", 1)[1]  # after the site header (its log-out button)
    open_page = web.get(f"/audit/cases/{case_id + 1}").get_data(as_text=True)
    assert sorted(re.findall(r'<form method="post" action="([^"]+)"', open_page)) == [
        f"/documents/cases/{case_id + 1}/draft", "/logout"]


def test_exports_of_one_case_and_of_a_filtered_set(audited: Any) -> None:
    with audited.app_context():
        evil = accounts.create_user(db.session, email="=1+2@example.com", name="=HYPERLINK(\"x\")",
                                    password="long enough pw", roles=["requester"])
        case_type = db.session.scalar(select(Definition).where(Definition.slug == "complaint",
                                                               Definition.kind == "case_type"))
        assert case_type is not None
        filed = lifecycle.file_case(db.session, case_type, {**GOOD, "name": "=cmd|' /C calc'!A0"},
                                    uploader=Uploader(evil))
        evil_id = filed.id
        db.session.remove()
    web = _auditor(audited)
    exported = web.get(f"/audit/cases/{evil_id}/export.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert exported.headers["Content-Disposition"] == 'attachment; filename="audit-CMP-000004.csv"'
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert rows[0] == ["case_ref", "stream", "seq", "at", "actor", "kind", "payload", "prev_hash", "hash"]
    assert [r[0] for r in rows[1:]] == ["CMP-000004"] * (len(rows) - 1)
    assert rows[1][4] == "'=1+2@example.com"  # the actor's cell would have been a formula
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), row

    api = audited.test_client().get(f"/api/v1/cases/{evil_id}/events",
                                    headers=token_for(audited, "auditor@example.com")).json["items"]
    as_json = json.loads(web.get(f"/audit/cases/{evil_id}/export.json").get_data(as_text=True))
    assert as_json["items"] == api and as_json["cases"] == {f"case:{evil_id}": "CMP-000004"}

    closed = list(csv.reader(io.StringIO(web.get("/audit/export.csv?status=closed").get_data(as_text=True))))
    assert {r[0] for r in closed[1:]} == {"CMP-000001"}
    every = json.loads(web.get("/audit/export.json").get_data(as_text=True))
    assert set(every["cases"].values()) == {"CMP-000001", "CMP-000002", "CMP-000003", "CMP-000004"}
    assert web.get("/audit/export.xml").status_code == 404


def test_verify_says_ok_then_names_the_case_and_event_that_was_changed(audited: Any) -> None:
    web = _auditor(audited)
    page = web.get("/audit/verify").get_data(as_text=True)
    assert "Verify all chains" in page and "OK:" not in page
    ok = web.get("/audit/verify?run=1").get_data(as_text=True)
    assert "OK: the chains are intact" in ok
    one = web.get("/audit/verify?case=cmp-000002").get_data(as_text=True)
    assert "OK: the chain of CMP-000002 is intact" in one
    missing = web.get("/audit/verify?case=CMP-999999")
    assert missing.status_code == 422 and "No case has the reference CMP-999999" in missing.get_data(as_text=True)

    with audited.app_context():
        case = db.session.scalar(select(Case).where(Case.ref == "CMP-000002"))
        assert case is not None
        stream = f"case:{int(case.id)}"
        tamper(db.session, f"UPDATE audit_events SET actor = 'nobody@example.com' WHERE stream = '{stream}' "  # noqa: S608
                "AND seq = 1")
        case_id = case.id
        db.session.remove()
    broken = web.get("/audit/verify?run=1").get_data(as_text=True)
    assert "BROKEN: 1 chain broken" in broken
    assert re.search(rf'First broken event:</strong>\s*<a href="/audit/cases/{case_id}#event-1">CMP-000002</a>\s*'
                     r"event 1: content does not match its hash", broken)
    assert "BROKEN" in web.get("/audit/verify?case=CMP-000002").get_data(as_text=True)
    assert "OK: the chain of CMP-000001 is intact" in web.get("/audit/verify?case=CMP-000001").get_data(as_text=True)


def test_the_definition_change_log_reads_like_sentences(audited: Any) -> None:
    web = _auditor(audited)
    listing = web.get("/audit/definitions").get_data(as_text=True)
    assert "Customer complaint" in listing and "<code>complaint</code>" in listing
    with audited.app_context():
        case_type = definitions.find_definition(db.session, "case_type", "complaint")
        assert case_type is not None
        case_type_id = case_type.id
        db.session.remove()
    page = web.get(f"/audit/definitions/{case_type_id}").get_data(as_text=True)
    assert "Version 2 published" in page and "Letters and gold customers" in page
    assert "Document template &#39;Decision letter&#39; added." in page
    assert "Rules changed from None to" in page
    assert web.get("/audit/definitions/999999").status_code == 404


def _run_check(web: Any, document_id: int) -> str:
    """Ask for a check and follow the page until the background job has given its verdict."""
    url = f"/audit/documents/{document_id}/check"
    response = web.client.post(url, data={"csrf_token": web.csrf()})
    assert response.status_code == 303 and response.headers["Location"].endswith(url)
    deadline = time.monotonic() + 120
    while True:
        page = web.get(url).get_data(as_text=True)
        if "Checking…" not in page:
            return page
        assert 'hx-trigger="every 1s"' in page  # the section refreshes itself while the job runs
        assert time.monotonic() < deadline, "the check did not finish"
        time.sleep(0.5)


def test_an_auditor_checks_a_stored_document_against_the_chain(audited: Any) -> None:
    with audited.app_context():
        case = db.session.scalar(select(Case).where(Case.ref == "CMP-000001"))
        assert case is not None
        case_id = case.id
        db.session.remove()
    rows = render_queued(audited, case_id)
    web = _auditor(audited)
    page = web.get(f"/audit/cases/{case_id}").get_data(as_text=True)
    assert f"/audit/documents/{rows[0].id}/check" in page
    # The page itself renders nothing: it shows the latest check, or none yet.
    first = web.get(f"/audit/documents/{rows[0].id}/check").get_data(as_text=True)
    assert "Not checked yet" in first and rows[0].sha256 in first and "Check now" in first
    partial = web.get(f"/audit/documents/{rows[0].id}/check", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<section id="document-check"' in partial
    assert "<html" not in partial and "Not checked yet" in partial
    checked = _run_check(web, rows[0].id)
    assert "OK: stored file intact and reproduced by the audit chain" in checked and rows[0].sha256 in checked
    assert "valid, by" in checked and "same bytes" in checked
    from app.uploads import document_store

    store, name = document_store(audited), rows[0].storage_name or ""
    store.put(name, io.BytesIO(store.read(name) + b"%tampered"))
    checked = _run_check(web, rows[0].id)
    assert "Does not match" in checked and "missing or different from the recorded SHA-256" in checked
    assert "The stored file differs from the recorded SHA-256." in checked


# ---------------------------------------------------------------- auditors never write

# What an auditor may send that changes anything: their own session and profile, and a DRAFT dossier.
AUDITOR_MAY_POST = {"auth.login", "auth.logout", "sso.logout", "auth.register", "auth.profile", "auth.change_password",
                    "auth.create_token", "auth.revoke_token", "documents.draft", "api.request_draft", "audit.run_check",
                    # Signing a checkpoint records the chains' heads; it changes no case (tests/app/test_proof.py).
                    "audit.make_checkpoint_now"}


def _state(app: Any) -> tuple[Any, ...]:
    """Everything a write could change, in a few numbers."""
    with app.app_context():
        session = db.session
        snapshot = (
            session.scalar(select(func.count()).select_from(AuditEvent)),
            tuple(session.execute(select(Case.id, Case.lock_version, Case.state, Case.assignee_id)
                                  .order_by(Case.id)).all()),
            session.scalar(select(func.count()).select_from(Comment)),
            session.scalar(select(func.count()).select_from(Document)),
            tuple(session.execute(select(Definition.id, Definition.draft_revision).order_by(Definition.id)).all()),
        )
        session.remove()
    return snapshot


def _fill(rule: Any, ids: dict[str, int]) -> str:
    values: dict[str, Any] = {}
    for arg in rule.arguments:
        numeric = isinstance(rule._converters[arg], IntegerConverter)  # app/inputs.py's IdConverter too
        values[arg] = ids.get(arg, 1) if numeric else {"fmt": "csv"}.get(arg, "x")
    return str(rule.build(values)[1])


def test_an_auditor_sees_no_write_controls_and_every_write_route_refuses_them(audited: Any) -> None:
    with audited.app_context():
        first = db.session.scalar(select(Case).where(Case.ref == "CMP-000001"))
        assert first is not None
        rows = render_queued(audited, first.id)
        open_case = db.session.scalar(select(Case).where(Case.ref == "CMP-000002"))
        assert open_case is not None
        ids = {"case_id": open_case.id, "document_id": rows[0].id, "definition_id": 1, "user_id": 1,
               "queue_id": 1, "file_id": 1, "doc_id": rows[0].id, "token_id": 1, "submission_id": 1}
        db.session.remove()
    web = _auditor(audited)
    headers = token_for(audited, "auditor@example.com")
    before = _state(audited)
    checked = []
    for rule in audited.url_map.iter_rules():
        methods = rule.methods - {"GET", "HEAD", "OPTIONS"}
        if not methods or rule.endpoint in AUDITOR_MAY_POST:
            continue
        url = _fill(rule, ids)
        for method in sorted(methods):
            if rule.endpoint.startswith("api."):
                response = web.client.open(url, method=method, json={"data": GOOD, "body": "x", "transition": "start"},
                                           headers=headers)
            else:
                response = web.client.open(url, method=method, headers={"X-CSRFToken": web.csrf()},
                                           data={"csrf_token": web.csrf(), "body": "x", "version": "1"})
            checked.append(rule.endpoint)
            assert response.status_code in (400, 403, 404, 405, 409, 422), (method, url, response.status_code)
    assert len(checked) > 40 and {"work.claim", "api.claim", "portal.comment", "documents.retry",
                                  "designer_case_types.publish", "admin.users"} & set(checked)
    assert _state(audited) == before
