"""Checkpoints and bundles through the app: API, CLI, the auditor workspace, the dossier's bundle.json."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.documents.queue import signing_key_for
from app.extensions import db
from cases.models import Case, Checkpoint
from tests.app.documents.real_cases import documents_of, render_queued, stored_pdf
from tests.app.proof_fixtures import api_json, keep_checkpoint, make_proof_app
from tests.conftest import Web
from tests.support.web import token_for
from verifier import casework_verify as cv


@pytest.fixture
def proof_app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    yield from make_proof_app(database_url, tmp_path)


def test_checkpoint_command_signs_once_per_change_with_a_private_key_file(proof_app: Any, tmp_path: Path) -> None:
    runner = proof_app.test_cli_runner()
    first = runner.invoke(args=["audit", "checkpoint"])
    assert first.exit_code == 0 and first.output.startswith("Signed checkpoint #1"), first.output
    again = runner.invoke(args=["audit", "checkpoint"])
    assert again.exit_code == 0 and again.output.startswith("Nothing changed since checkpoint #1"), again.output
    key_file = tmp_path / "checkpoint_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert b"PRIVATE KEY" in key_file.read_bytes()
    printed = runner.invoke(args=["audit", "public-key"]).output.split()[0]
    status, body = api_json(proof_app, "/api/v1/audit/checkpoint")
    assert status == 200 and body["public_key"] == printed
    assert {"tree_size", "root_hash", "signature", "public_key", "at"} <= set(body)
    cv.check_signature(body, printed)


def test_periodic_sweep_checkpoints_only_when_something_changed(proof_app: Any) -> None:
    from app.jobs import JOBS

    with proof_app.app_context():
        JOBS["sla_sweep"]()
        JOBS["sla_sweep"]()
        assert db.session.query(Checkpoint).count() == 1
        case = db.session.get(Case, 3)
        assert case is not None
        from cases import accounts, conversation

        agent = accounts.find_user(db.session, "agent@example.com")
        assert agent is not None
        conversation.add_comment(db.session, case, agent, "One more.")
        JOBS["sla_sweep"]()
        assert db.session.query(Checkpoint).count() == 2
        db.session.remove()


def test_case_bundle_verifies_and_is_for_staff_and_auditors(proof_app: Any) -> None:
    status, bundle = api_json(proof_app, "/api/v1/cases/2/bundle")
    assert status == 200
    report = cv.verify_bundle(bundle)
    assert report.cases == 1 and report.events == len(bundle["cases"][0]["events"]) >= 4
    assert bundle["cases"][0]["ref"] == "CMP-000002" and bundle["public_key"] == bundle["checkpoint"]["public_key"]
    status, agent_bundle = api_json(proof_app, "/api/v1/cases/2/bundle", "agent@example.com")
    assert status == 200 and cv.verify_bundle(agent_bundle).cases == 1
    status, refused = api_json(proof_app, "/api/v1/cases/1/bundle", "requester@example.com")
    assert status == 403 and "staff" in refused["error"]["message"]
    status, _ = api_json(proof_app, "/api/v1/cases/999/bundle")
    assert status == 404
    status, _ = api_json(proof_app, "/api/v1/audit/checkpoint", "requester@example.com")
    assert status == 403


def test_bundle_of_all_cases_is_complete_and_a_filtered_one_is_not(proof_app: Any) -> None:
    status, everything = api_json(proof_app, "/api/v1/audit/bundle")
    assert status == 200 and everything["complete"]
    assert len(everything["leaves"]) == everything["checkpoint"]["tree_size"]
    assert [c["ref"] for c in everything["cases"]] == ["CMP-000001", "CMP-000002", "CMP-000003"]
    assert cv.verify_bundle(everything).cases == 3
    status, closed = api_json(proof_app, "/api/v1/audit/bundle?status=closed")
    assert status == 200 and not closed["complete"] and [c["ref"] for c in closed["cases"]] == ["CMP-000001"]
    cv.verify_bundle(closed)
    status, _ = api_json(proof_app, "/api/v1/audit/bundle", "agent@example.com")
    assert status == 403


def test_auditor_workspace_shows_makes_and_downloads_checkpoints(proof_app: Any, tmp_path: Path) -> None:
    web = Web(proof_app.test_client())
    web.login("auditor@example.com")
    page = web.get("/audit/checkpoints").get_data(as_text=True)
    assert "No checkpoint has been signed yet." in page
    response = web.post("/audit/checkpoints", data={})
    assert response.status_code == 303
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "A new checkpoint was signed." in page
    with proof_app.app_context():
        from app.checkpoints import public_key

        assert public_key() in page
    kept = json.loads(web.get("/audit/checkpoints/1.json").get_data(as_text=True))
    assert len(kept["leaves"]) == kept["tree_size"] and kept["refs"]["case:1"] == "CMP-000001"
    cv.check_leaves(kept, [tuple(leaf) for leaf in kept["leaves"]], "kept")  # type: ignore[misc]
    assert web.get("/audit/checkpoints/99.json").status_code == 404
    bundle = json.loads(web.get("/audit/cases/2/bundle.json").get_data(as_text=True))
    assert "CMP-000002" in cv.verify_bundle(bundle, kept).lines[0]
    search = json.loads(web.get("/audit/bundle.json?status=open").get_data(as_text=True))
    assert [c["ref"] for c in search["cases"]] == ["CMP-000002", "CMP-000003"]
    case_page = web.get("/audit/cases/2").get_data(as_text=True)
    assert "/audit/cases/2/bundle.json" in case_page


def test_dossier_embeds_the_bundle_and_renders_again_to_the_same_bytes(proof_app: Any, tmp_path: Path) -> None:
    [dossier] = [d for d in render_queued(proof_app, 1) if d.is_dossier]
    assert dossier.status == "done", dossier.reason
    pdf = stored_pdf(proof_app, dossier)
    bundle = cv.bundle_from_pdf(pdf)
    report = cv.verify_bundle(bundle)
    assert bundle["cases"][0]["ref"] == "CMP-000001" and report.events >= dossier.chain_seq
    path = tmp_path / "dossier.pdf"
    path.write_bytes(pdf)
    runner = proof_app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify-file", str(path)])
    assert result.exit_code == 0 and result.output.startswith("OK: "), result.output
    # The command checks the dossier's signature too, against the instance's certificate when given it.
    own = signing_key_for(proof_app)
    assert own is not None and f"certificate SHA-256 {own.fingerprint}" in result.output
    result = runner.invoke(args=["audit", "verify-file", str(path), "--certificate", own.fingerprint])
    assert result.exit_code == 0 and "not compared with an expected one" not in result.output, result.output
    result = runner.invoke(args=["audit", "verify-file", str(path), "--certificate", "ab" * 32])
    assert result.exit_code == 1 and "REFUSED: the document was signed by another certificate" in result.output
    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(pdf[:pdf.index(b"%%EOF") + 6])
    result = runner.invoke(args=["audit", "verify-file", str(unsigned)])
    assert result.exit_code == 1 and "REFUSED: no signature" in result.output, result.output
    result = runner.invoke(args=["audit", "verify-file", str(unsigned), "--allow-unsigned"])
    assert result.exit_code == 0 and "not signed; --allow-unsigned" in result.output, result.output
    # Later checkpoints do not change what the dossier embeds: rendering it again gives the same bytes.
    keep_checkpoint(proof_app, tmp_path / "later.json")
    from app.documents.checks import gather_facts
    from cases.document_checks import judge

    with proof_app.app_context():
        stored = db.session.get(type(dossier), dossier.id)
        assert stored is not None
        verdict, findings = judge(stored, gather_facts(stored, proof_app))
        db.session.remove()
    assert verdict == "match", findings
    assert [d.status for d in documents_of(proof_app, 1)] == ["done"]


def test_audit_verify_checks_checkpoints_and_accepts_a_kept_file(proof_app: Any, tmp_path: Path) -> None:
    kept_path = tmp_path / "kept.json"
    keep_checkpoint(proof_app, kept_path)
    result = proof_app.test_cli_runner().invoke(args=["audit", "verify", "--since", str(kept_path)])
    assert result.exit_code == 0, result.output
    assert "signed heads of 1 checkpoints are still in their chains" in result.output
    token_for(proof_app, "agent@example.com")  # a change after the checkpoint is fine
    assert proof_app.test_cli_runner().invoke(args=["audit", "verify", "--since", str(kept_path)]).exit_code == 0
