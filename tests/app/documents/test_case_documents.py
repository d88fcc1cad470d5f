"""Documents of real cases: filed and closed through the services, rendered by the job, read back.

Each test renders only a few PDFs (a dossier takes a few tenths of a second in the warm child), and reads
each one once for everything it checks.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pikepdf
import pytest

from app.documents.checks import gather_facts
from app.extensions import db
from cases import audit, document_checks
from cases.models import Case, Document
from tests.app.documents.conftest import open_pdf, pdftotext, squeeze, tool_output
from tests.app.documents.real_cases import (
    documents_of,
    file_case,
    publish_complaint_with_templates,
    render_queued,
    stored_pdf,
    work_and_close,
)
from tests.conftest import Web, make_config
from tests.support.complaint import GOOD
from tests.support.web import token_for
from verifier import casework_verify


@pytest.fixture
def docs_app(database_url: str, tmp_path: Path) -> Any:
    """An app that stores documents in this test's own folder; renders run when the test says so."""
    from app import create_app

    app = create_app(make_config(database_url, DOCUMENT_FOLDER=str(tmp_path / "documents"),
                                 UPLOAD_FOLDER=str(tmp_path / "uploads"), ORGANISATION_NAME="Example Municipality"))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint_with_templates(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _events_api(app: Any, case_id: int, who: str = "auditor@example.com") -> list[dict[str, Any]]:
    response = app.test_client().get(f"/api/v1/cases/{case_id}/events", headers=token_for(app, who))
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json["items"]
    return items


def test_closing_a_case_queues_its_documents_in_the_same_transaction(docs_app: Any) -> None:
    case_id = file_case(docs_app)
    assert documents_of(docs_app, case_id) == []
    work_and_close(docs_app, case_id)
    rows = documents_of(docs_app, case_id)
    assert [(d.kind, d.status, d.draft, d.internal, d.template_version) for d in rows] == [
        ("dossier", "queued", False, True, None),
        ("Decision letter", "queued", False, False, 2),
        ("Internal memo", "queued", False, True, 1),
    ]
    assert {d.case_type_version for d in rows} == {1}


def test_a_closed_case_gets_a_pdfa_dossier_that_holds_its_data_timeline_and_audit_log(
        docs_app: Any, tmp_path: Path, need_tools: None) -> None:
    case_id = file_case(docs_app, name="Zoë Ångström-Müller")
    work_and_close(docs_app, case_id, description="The vase was broken; the box was soaked too.")
    timeline_before = _timeline_texts(docs_app, case_id)
    rows = render_queued(docs_app, case_id)
    assert [(d.kind, d.status) for d in rows] == [("dossier", "done"), ("Decision letter", "done"),
                                                   ("Internal memo", "done")], [d.reason for d in rows]
    dossier = rows[0]
    pdf = stored_pdf(docs_app, dossier)
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == dossier.sha256 and len(pdf) == dossier.size

    # The text: reference, every field value, every timeline step.
    text = pdftotext(pdf)
    flat = squeeze(text)
    assert "CMP-000001" in text and "Example Municipality" in text
    for value in ("Zoë Ångström-Müller", "riley@example.com", "ORD-123456", "High", "Gold",
                  "The vase was broken; the box was soaked too."):
        assert squeeze(value) in flat, value
    for step in timeline_before:
        assert squeeze(step) in flat, step

    # The attachments: exactly the case's events as the API shows them, up to the covered head.
    api_items = _events_api(docs_app, case_id)
    with open_pdf(pdf) as parsed:
        embedded = {name: spec.get_file().read_bytes() for name, spec in parsed.attachments.items()}
        assert set(embedded) == {"audit.json", "audit.csv", "bundle.json"}
        items = json.loads(embedded["audit.json"])["items"]
        # The proof bundle: the same events, under a signed checkpoint the offline verifier accepts (as
        # they hash: personal values behind their commitments, where audit.json shows the values).
        proof = json.loads(embedded["bundle.json"])
        def same(event: dict) -> tuple:
            return event["seq"], event["kind"], event["at"], event["prev_hash"], event["hash"]
        assert [same(e) for e in proof["cases"][0]["events"][: dossier.chain_seq]] == [same(e) for e in items]
        assert proof["cases"][0]["events"][0]["actor"].startswith("personal:")  # the requester, sealed
        assert casework_verify.verify_bundle(proof).cases == 1
        assert items == api_items[: dossier.chain_seq]
        assert items[-1]["hash"] == dossier.chain_head
        assert embedded["audit.csv"].decode().splitlines()[0] == ",".join(audit.CSV_COLUMNS)
        # PDF/A-3b: identification, output intent, associated files.
        meta = parsed.open_metadata()
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("3", "B")
        assert parsed.Root.OutputIntents[0].S == pikepdf.Name.GTS_PDFA1
        assert {str(spec.UF) for spec in parsed.Root.AF} == {"audit.json", "audit.csv", "bundle.json"}
        assert all(spec.AFRelationship == pikepdf.Name.Data for spec in parsed.Root.AF)
    generated = [e for e in api_items if e["kind"] == "document.generated" and e["payload"]["document"] == dossier.id]
    assert generated and generated[0]["payload"]["sha256"] == dossier.sha256
    assert generated[0]["payload"]["covers_seq"] == dossier.chain_seq

    checked = tool_output(["qpdf", "--check"], pdf, tmp_path)
    assert checked.returncode == 0 and "No syntax or stream encoding errors" in checked.stdout, checked.stdout
    fonts = tool_output(["pdffonts"], pdf, tmp_path).stdout.splitlines()[2:]
    assert fonts and all(row.split()[-5] == "yes" for row in fonts), fonts

    # Reproducible: rendering the stored dossier again, after more events, gives the same unsigned bytes
    # and the same content; the stored file is signed and its signature valid.
    with docs_app.app_context():
        found = db.session.get(Document, dossier.id)
        facts = gather_facts(found, docs_app)
        verdict = document_checks.judge(found, facts)
        db.session.remove()
    assert verdict == ("match", ["Rendering again gave the same bytes."])
    assert facts.again_unsigned_sha256 == dossier.unsigned_sha256 != dossier.sha256
    assert facts.stored_sha256 == dossier.sha256 and facts.signature_valid
    assert facts.again_content_sha256 == facts.stored_content_sha256 == dossier.content_sha256

    # The letter: placeholders filled from the case, the requester's (public) timeline, no attachments.
    letter = stored_pdf(docs_app, rows[1])
    letter_text = squeeze(pdftotext(letter))
    assert squeeze("Dear Zoë Ångström-Müller,") in letter_text and squeeze("Decision on CMP-000001") in letter_text
    assert "agent@example.com" not in letter_text and "Supportteam" in letter_text
    assert "[missing:" not in letter_text
    with open_pdf(letter) as parsed:
        assert len(parsed.attachments) == 0
        assert parsed.open_metadata()["pdfaid:part"] == "3"


def _timeline_texts(app: Any, case_id: int) -> list[str]:
    from cases import case_versions
    from cases.read import timeline

    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case is not None
        entries = timeline.build(audit.events(db.session, case.stream), case_versions.case_spec(db.session, case),
                                 schema=case_versions.case_schema(case))
        texts = [e.text for e in entries]
        db.session.remove()
    return texts


def test_who_sees_and_downloads_which_documents(docs_app: Any) -> None:
    case_id = file_case(docs_app)
    work_and_close(docs_app, case_id)
    rows = render_queued(docs_app, case_id)
    dossier, letter, memo = rows
    client = docs_app.test_client()

    requester = token_for(docs_app, "requester@example.com")
    listed = client.get(f"/api/v1/cases/{case_id}/documents", headers=requester).json["items"]
    assert [(d["kind"], d["status"]) for d in listed] == [("Decision letter", "done")]
    assert listed[0]["sha256"] == letter.sha256
    # What a check compares travels with it: the content digest and the toolchain that drew it.
    assert listed[0]["content_sha256"] == letter.content_sha256 and listed[0]["signer_sha256"]
    assert listed[0]["toolchain"]["font_subsetter"] == "harfbuzz" and listed[0]["toolchain"]["weasyprint"]
    assert client.get(f"/api/v1/cases/{case_id}/documents/{dossier.id}", headers=requester).status_code == 404
    assert client.get(f"/api/v1/cases/{case_id}/documents/{memo.id}", headers=requester).status_code == 404
    got = client.get(f"/api/v1/cases/{case_id}/documents/{letter.id}", headers=requester)
    assert got.status_code == 200 and got.mimetype == "application/pdf"
    assert hashlib.sha256(got.data).hexdigest() == letter.sha256
    assert got.headers["Content-Disposition"].startswith("attachment;")

    auditor = token_for(docs_app, "auditor@example.com")
    listed = client.get(f"/api/v1/cases/{case_id}/documents", headers=auditor).json["items"]
    assert {d["kind"] for d in listed} == {"dossier", "Decision letter", "Internal memo"}
    assert {"id", "kind", "sha256", "status"} <= set(listed[0])
    assert client.get(f"/api/v1/cases/{case_id + 1}/documents/{dossier.id}", headers=auditor).status_code == 404

    # Another requester's case: as if it did not exist.
    other = file_case(docs_app)
    assert client.get(f"/api/v1/cases/{other}/documents/{letter.id}", headers=auditor).status_code == 404

    # Every download is an audit event of the case.
    kinds = [(e["kind"], e["actor"], e["payload"].get("document")) for e in _events_api(docs_app, case_id)]
    assert ("document.downloaded", "requester@example.com", letter.id) in kinds

    # The requester's portal page lists the letter, not the dossier.
    web = Web(docs_app.test_client())
    web.login("requester@example.com")
    page = web.get(f"/portal/cases/{case_id}").get_data(as_text=True)
    assert "Decision letter" in page and f"/documents/{letter.id}" in page
    assert f"/documents/{dossier.id}" not in page and "Internal memo" not in page
    # No hashes on the customer's page, none in the footer of the letter they download; auditors see them.
    assert "SHA-256" not in page and letter.sha256[:16] not in page
    assert "chain head" not in pdftotext(stored_pdf(docs_app, letter))
    watcher = Web(docs_app.test_client())
    watcher.login("auditor@example.com")
    assert f"SHA-256 <code title=\"{letter.sha256}\">" in watcher.get(f"/audit/cases/{case_id}").get_data(as_text=True)
    assert web.get(f"/documents/{dossier.id}").status_code == 404
    assert web.get(f"/documents/{letter.id}").status_code == 200


def test_agents_and_auditors_render_a_draft_dossier_of_an_open_case(docs_app: Any) -> None:
    case_id = file_case(docs_app)
    web = Web(docs_app.test_client())
    web.login("auditor@example.com")
    page = web.get(f"/audit/cases/{case_id}").get_data(as_text=True)
    assert "Render draft dossier" in page
    answered = web.post(f"/documents/cases/{case_id}/draft", htmx=True)
    assert answered.status_code == 200
    fragment = answered.get_data(as_text=True)
    assert fragment.lstrip().startswith('<section class="card documents" id="documents"')
    assert 'hx-trigger="every 2s"' in fragment and "Draft case dossier" in fragment
    again = web.post(f"/documents/cases/{case_id}/draft", htmx=True)  # one waiting draft is enough
    assert again.status_code == 200
    rows = render_queued(docs_app, case_id)
    assert [(d.kind, d.draft, d.status) for d in rows] == [("dossier", True, "done")]
    text = pdftotext(stored_pdf(docs_app, rows[0]))
    assert "DRAFT: this case is not complete" in text
    done = web.get(f"/documents/cases/{case_id}").get_data(as_text=True)
    assert "hx-trigger" not in done and f"/documents/{rows[0].id}" in done

    requester = Web(docs_app.test_client())
    requester.login("requester@example.com")
    assert requester.post(f"/documents/cases/{case_id}/draft").status_code == 403
    assert requester.get(f"/portal/cases/{case_id}").get_data(as_text=True).count("Draft case dossier") == 0
    work_and_close(docs_app, case_id)
    refused = web.post(f"/documents/cases/{case_id}/draft", htmx=True)
    assert refused.status_code == 409


def test_a_failed_render_is_recorded_leaves_the_case_intact_and_an_admin_retry_succeeds(
        database_url: str, tmp_path: Path) -> None:
    from app import create_app
    from app.documents.queue import render_documents

    app = create_app(make_config(database_url, DOCUMENT_FOLDER=str(tmp_path / "documents"),
                                 DOCUMENT_MEMORY_MB=64))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint_with_templates(app, templates=[])
    case_id = file_case(app)
    work_and_close(app, case_id)
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case is not None
        state, version = case.state, case.lock_version
        (dossier,) = documents_of(app, case_id)
        render_documents([dossier.id])
        db.session.expire_all()
        failed = db.session.get(Document, dossier.id)
        assert failed is not None and failed.status == "failed"
        assert failed.reason and "ran out of memory (limit 64 MB)" in failed.reason
        assert failed.storage_name is None and failed.sha256 is None
        case = db.session.get(Case, case_id)
        assert case is not None and (case.state, case.lock_version, case.is_open) == (state, version, False)
        assert audit.verify(db.session, case.stream).ok
        db.session.remove()
    assert [e["kind"] for e in _events_api(app, case_id)][-1] == "document.failed"

    agent, admin = Web(app.test_client()), Web(app.test_client())
    agent.login("agent@example.com")
    admin.login("admin@example.com")
    page = admin.get(f"/work/cases/{case_id}").get_data(as_text=True)
    assert "ran out of memory (limit 64 MB)" in page and "Retry Case dossier" in page
    assert "Retry" not in agent.get(f"/work/cases/{case_id}").get_data(as_text=True)
    assert agent.post(f"/documents/{dossier.id}/retry").status_code == 403
    retried = admin.post(f"/documents/{dossier.id}/retry", htmx=True)
    assert retried.status_code == 200 and "queued" in retried.get_data(as_text=True)
    assert admin.post(f"/documents/{dossier.id}/retry", htmx=True).status_code == 409  # queued, not failed

    app.config["DOCUMENT_MEMORY_MB"] = 512
    (row,) = render_queued(app, case_id)
    assert (row.status, row.reason, row.attempts) == ("done", None, 2)
    kinds = [e["kind"] for e in _events_api(app, case_id)]
    assert kinds[-3:] == ["document.failed", "document.retried", "document.generated"]
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_after_commit_kick_renders_in_the_background(database_url: str, tmp_path: Path) -> None:
    """With DOCUMENTS_AUTO_RENDER (the default outside tests) closing a case is all it takes."""
    from app import create_app

    app = create_app(make_config(database_url, DOCUMENT_FOLDER=str(tmp_path / "documents"),
                                 DOCUMENTS_AUTO_RENDER=True))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint_with_templates(app, templates=[])
    case_id = file_case(app, **{**GOOD})
    work_and_close(app, case_id)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = documents_of(app, case_id)
        if rows and all(d.status in ("done", "failed") for d in rows):
            break
        time.sleep(0.2)
    assert [(d.kind, d.status) for d in rows] == [("dossier", "done")], [d.reason for d in rows]
    app.extensions["casework_jobs"].shutdown(wait=True)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
