"""An auditor's first visit, in Chromium: find a closed complaint, read its history, download its dossier,
export its audit trail, verify the chains; then an event is changed behind the application's back and
verification names the case and the event."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pikepdf
from playwright.sync_api import Page, expect

from tests.support.browser import login
from tests.support.complaint import GOOD


def _closed_complaint(live_app: Any, form_version: int) -> tuple[str, int]:
    """Through the services: a case type with a letter, a complaint filed, worked, closed, its PDFs made."""
    from app.documents.queue import render_documents
    from app.extensions import db
    from cases import accounts, assignment, definitions, documents, lifecycle
    from cases.submissions import Uploader
    from tests.app.documents.real_cases import LETTER
    from tests.support.complaint import complaint_case_type_document

    with live_app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        requester = accounts.find_user(db.session, "requester@example.com")
        agent = accounts.find_user(db.session, "agent@example.com")
        assert admin and requester and agent
        case_type = definitions.find_definition(db.session, "case_type", "audited-complaint")
        if case_type is None:
            document = complaint_case_type_document(form_version=form_version, prefix="AUD", documents=[LETTER])
            case_type = definitions.create(db.session, "case_type", slug="audited-complaint",
                                           title="Audited complaint", actor=admin, document=document)
            definitions.publish(db.session, case_type, actor=admin)
        case = lifecycle.file_case(db.session, case_type, {**GOOD, "name": "=HYPERLINK(\"http://x\")"},
                                   uploader=Uploader(requester))
        assignment.claim(db.session, case, agent)
        lifecycle.transition(db.session, case, "start", agent)
        lifecycle.transition(db.session, case, "resolve", agent, comment="Refund of 49.90 EUR sent.")
        render_documents(documents.pending_ids(db.session, case))
        ref, case_id = case.ref, case.id
        db.session.remove()
    return ref, case_id


def _set_actor(live_app: Any, case_id: int, seq: int, actor: str) -> None:
    """Change an event's actor behind the application's back, as tests/cases/test_audit.py does."""
    from app.extensions import db
    from tests.support.audit import tamper

    assert "'" not in actor
    with live_app.app_context():
        tamper(db.session, f"UPDATE audit_events SET actor = '{actor}' "  # noqa: S608
                            f"WHERE stream = 'case:{int(case_id)}' AND seq = {int(seq)}")
        db.session.remove()


def test_an_auditor_finds_reads_downloads_exports_and_verifies(page: Page, live_app: Any, tmp_path: Path,
                                                               complaint_form: str) -> None:
    ref, case_id = _closed_complaint(live_app, int(complaint_form.split("@")[1]))

    login(page, "auditor@example.com")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit workspace")
    page.get_by_label("Reference or text").fill(ref)
    page.get_by_label("Open or closed").select_option("closed")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_have_text("1 case")
    page.get_by_role("link", name=ref).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(ref)
    history = page.get_by_role("table", name=f"Audit events of {ref}, oldest first")
    expect(history.get_by_role("row")).to_have_count(1 + 6)  # header; filed, claimed, started, resolved, 2 made
    expect(history).to_contain_text("case.transitioned")
    expect(history).to_contain_text("agent@example.com")
    expect(history).to_contain_text("document.generated")
    expect(page.get_by_role("button")).to_have_count(1)  # Log out: nothing here changes the case

    with page.expect_download() as dossier_download:
        page.get_by_role("link", name="Case dossier", exact=True).click()
    dossier = Path(dossier_download.value.path()).read_bytes()
    assert dossier.startswith(b"%PDF") and dossier_download.value.suggested_filename.startswith(f"{ref}-dossier-")
    with pikepdf.open(io.BytesIO(dossier)) as pdf:
        assert set(pdf.attachments) == {"audit.json", "audit.csv", "bundle.json"}
        embedded = json.loads(pdf.attachments["audit.json"].get_file().read_bytes())
        assert [item["kind"] for item in embedded["items"]][:2] == ["case.filed", "case.claimed"]

    with page.expect_download() as export:
        page.get_by_role("link", name="CSV").click()
    rows = list(csv.reader(io.StringIO(Path(export.value.path()).read_text())))
    assert rows[0][:3] == ["case_ref", "stream", "seq"] and {r[0] for r in rows[1:]} == {ref}
    assert "document.downloaded" in [r[5] for r in rows]  # the auditor's own download, on the record
    filed = next(r for r in rows if r[5] == "case.filed")
    assert '"name":"=HYPERLINK' in filed[6] and not filed[6].startswith("=")

    page.get_by_role("link", name="Verify the audit chains").click()
    page.get_by_role("button", name="Verify all chains").click()
    expect(page.get_by_role("status").filter(has_text="OK")).to_contain_text("OK: the chains are intact")

    _set_actor(live_app, case_id, 2, "someone-else@example.com")
    try:
        page.get_by_role("button", name="Verify all chains").click()
        result = page.get_by_role("status").filter(has_text="BROKEN")
        expect(result).to_contain_text("BROKEN: 1 chain broken")
        expect(result.locator(".first-broken")).to_contain_text(
            re.compile(rf"{ref}\s+event 2: content does not match its hash"))
        result.get_by_role("link", name=ref).click()
        expect(page).to_have_url(re.compile(rf"/audit/cases/{case_id}#event-2$"))
        expect(page.locator("#event-2")).to_contain_text("someone-else@example.com")
    finally:
        _set_actor(live_app, case_id, 2, "agent@example.com")  # the session's other tests see a sound log
