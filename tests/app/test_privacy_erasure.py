"""Erasure end to end on both backends: one requester's personal values leave the database and the files
directory, every chain still verifies (CLI and offline verifier, bundles from before and after), the KPI
figures stay as they were, the other requester and held cases are untouched."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from app.extensions import db
from cases import accounts, assignment, audit, conversation, definitions, lifecycle, submissions
from cases.models import AuditEvent, Case, PersonalValue
from cases.privacy import holds
from cases.privacy.values import readable
from cases.storage import LocalFolder
from cases.submissions import Uploader, store_case_file
from tests.app.documents.real_cases import documents_of, render_queued, stored_pdf
from tests.app.proof_fixtures import api_json, keep_checkpoint
from tests.conftest import Web
from tests.support.privacy import (
    OLIVE,
    OLIVE_VALUES,
    PERSONAL_FIELDS,
    RILEY,
    RILEY_VALUES,
    make_privacy_app,
)
from tests.support.privacy import file_as as _file
from tests.support.privacy import raw_text as _raw_text
from verifier import casework_verify as cv


@pytest.fixture
def privacy_app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    yield from make_privacy_app(database_url, tmp_path)


def _riley_conversation(app: Any, case_id: int, tmp_path: Path) -> None:
    """Comments both ways, a question answered, a file attached by the requester."""
    with app.app_context():
        requester = accounts.find_user(db.session, "requester@example.com")
        agent = accounts.find_user(db.session, "agent@example.com")
        case = db.session.get(Case, case_id)
        assert requester is not None and agent is not None and case is not None
        conversation.add_comment(db.session, case, requester, "Quixotecomment: call me after six.")
        assignment.claim(db.session, case, agent)
        lifecycle.transition(db.session, case, "start", agent)
        lifecycle.edit_fields(db.session, case, {"description": "Quixoteedit: the vase and a cup."}, agent)
        conversation.request_information(db.session, case, agent, "Which cup?")
        conversation.answer_information(db.session, case, requester, "Quixoteanswer: the blue one.")
        stored = store_case_file(db.session, LocalFolder(tmp_path / "uploads"), filename="quixote-passport.txt",
                                 stream=io.BytesIO(b"QUIXOTEFILEBYTES scanned\n"), uploader=Uploader(requester))
        conversation.attach_files(db.session, case, requester, [stored])
        conversation.record_download(db.session, case, stored, agent)
        db.session.remove()


def _dossiers(app: Any, case_id: int) -> list[Path]:
    """The case's rendered documents on disk now, kept where the test can read them."""
    out = []
    for document in documents_of(app, case_id):
        if document.status == "done" and document.storage_name:
            path = Path(str(app.config["DOCUMENT_FOLDER"])) / "copy" / f"{document.id}.pdf"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(stored_pdf(app, document))
            out.append(path)
    assert out
    return out


def _files_text(root: Path) -> bytes:
    chunks = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        chunks.append(path.read_bytes())
        if path.suffix == ".pdf" or path.read_bytes()[:4] == b"%PDF":
            chunks.append(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout)
    return b"\n".join(chunks)


def _process(app: Any) -> set[tuple[Any, ...]]:
    """What KPIs are computed from: every event's stream, position, time, kind and the states it moved."""
    with app.app_context():
        rows = {(e.stream, e.seq, e.at, e.kind, json.loads(e.payload).get("to"), json.loads(e.payload).get("from"))
                for e in db.session.scalars(select(AuditEvent))}
        db.session.remove()
    return rows


def _facts(app: Any) -> list[tuple[Any, ...]]:
    with app.app_context():
        rows = [(c.ref, c.state, c.is_open, c.queue_id, c.priority, c.created_at, c.closed_at, c.due_at)
                for c in db.session.scalars(select(Case).order_by(Case.id))]
        db.session.remove()
    return rows


def test_erasing_one_requester_keeps_every_chain_verifiable(privacy_app: Any, tmp_path: Path) -> None:
    app = privacy_app
    closed = _file(app, "requester@example.com", RILEY)
    _riley_conversation(app, closed, tmp_path)
    with app.app_context():
        agent = accounts.find_user(db.session, "agent@example.com")
        case = db.session.get(Case, closed)
        assert agent is not None and case is not None
        lifecycle.transition(db.session, case, "resolve", agent, comment="Refund sent to Quixote Lane 7.")
        db.session.remove()
    dossier = render_queued(app, closed)[-1]
    assert dossier.status == "done" and b"Zephyrvase" in _files_text(tmp_path / "documents")
    kept_dossier = tmp_path / "kept" / "dossier-before.pdf"  # downloaded before the erasure
    kept_dossier.parent.mkdir()
    kept_dossier.write_bytes(stored_pdf(app, dossier))
    open_case = _file(app, "requester@example.com", RILEY)
    with app.app_context():  # a plain form submission, outside any case
        requester = accounts.find_user(db.session, "requester@example.com")
        form = definitions.find_definition(db.session, "form", "complaint")
        assert requester is not None and form is not None and form.latest_version is not None
        submissions.submit(db.session, form, {**RILEY, "description": "Zephyrsubmission of mine."},
                           uploader=Uploader(requester), version=form.latest_version)
        db.session.remove()
    olive = _file(app, "olive@example.com", OLIVE)
    assert all(v in _raw_text(app) for v in OLIVE_VALUES)

    # Before: no personal value in any hashed payload, and the readers still show them.
    with app.app_context():
        events = db.session.execute(text("SELECT actor, payload FROM audit_events")).all()
        hashed = "\n".join(f"{a} {p}" for a, p in events)
        assert not [v for v in RILEY_VALUES + OLIVE_VALUES if v in hashed]
        shown = readable(db.session, audit.events(db.session, f"case:{closed}"))
        assert "Zephyrvase" in "".join(e.payload for e in shown)
        assert any(e.actor == "requester@example.com" for e in shown)
        db.session.remove()
    kept = keep_checkpoint(app, tmp_path / "before.json")
    status, before_bundle = api_json(app, f"/api/v1/cases/{closed}/bundle")
    assert status == 200 and cv.verify_bundle(before_bundle).cases == 1
    (tmp_path / "before-bundle.json").write_text(json.dumps(before_bundle))
    process, facts = _process(app), _facts(app)

    runner = app.test_cli_runner()
    listed = runner.invoke(args=["privacy", "erase", "requester@example.com"])
    assert listed.exit_code == 1 and "CMP-000001" in listed.output and "add --yes" in listed.output
    assert "Zephyrvase" in _raw_text(app)
    done = runner.invoke(args=["privacy", "erase", "requester@example.com", "--yes"])
    assert done.exit_code == 0, done.output
    assert "CMP-000001: erased" in done.output and "CMP-000002: erased" in done.output
    assert "CMP-000003" not in done.output and "Account: erased" in done.output

    raw = _raw_text(app)
    assert [v for v in RILEY_VALUES if v in raw] == []
    assert all(v in raw for v in OLIVE_VALUES)
    render_queued(app, closed)
    on_disk = _files_text(tmp_path / "documents") + _files_text(tmp_path / "uploads")
    assert [v for v in RILEY_VALUES if v.encode() in on_disk] == []
    assert b"erased" in on_disk  # the dossier queued again says where values were erased
    today = f"{datetime.now(UTC):%Y-%m-%d}"
    for pdf in _dossiers(app, closed):  # ... and when: each erased answer reads "erased <date> <time> UTC"
        printed = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout.decode()
        assert printed.count(f"erased {today}") >= len(PERSONAL_FIELDS), printed
    web = Web(app.test_client())
    web.login("admin@example.com")
    page = web.get(f"/work/cases/{closed}").get_data(as_text=True)
    details = page[page.index('id="data-h"'):]
    details = details[:details.index("</section>")]
    assert details.count(f"erased on {today}") == len(PERSONAL_FIELDS), details
    assert _facts(app) == facts
    added = _process(app) - process
    assert process <= _process(app) and {kind for _s, _n, _a, kind, _t, _f in added} <= {
        "case.personal_data_erased", "privacy.person_erased", "document.generated"}

    verified = runner.invoke(args=["audit", "verify", "--since", str(tmp_path / "before.json")])
    assert verified.exit_code == 0 and verified.output.startswith("OK:"), verified.output
    keep_checkpoint(app, tmp_path / "after.json")
    status, after_bundle = api_json(app, f"/api/v1/cases/{closed}/bundle")
    assert status == 200 and cv.verify_bundle(after_bundle).cases == 1
    assert [v for v in RILEY_VALUES if v in json.dumps(after_bundle)] == []
    (tmp_path / "after-bundle.json").write_text(json.dumps(after_bundle))
    for name in ("before-bundle.json", "after-bundle.json"):
        offline = runner.invoke(args=["audit", "verify-file", str(tmp_path / name)])
        assert offline.exit_code == 0, offline.output
    for pdf in (kept_dossier, *_dossiers(app, closed)):  # the dossier from before and the one made after
        offline = runner.invoke(args=["audit", "verify-file", str(pdf), "--allow-unsigned"])
        assert offline.exit_code == 0, offline.output
    assert kept["tree_size"] >= 1

    status, events = api_json(app, f"/api/v1/cases/{closed}/events")
    payloads = json.dumps(events)
    assert status == 200 and "erased" in payloads and "Zephyrvase" not in payloads
    status, theirs = api_json(app, f"/api/v1/cases/{olive}/events")
    assert "Umbralamp" in json.dumps(theirs)
    status, mine = api_json(app, f"/api/v1/cases/{open_case}", "admin@example.com")
    assert status == 200 and "Zephyrvase" not in json.dumps(mine)


def test_a_held_case_is_not_erased_and_keeps_the_account(privacy_app: Any, tmp_path: Path) -> None:
    app = privacy_app
    olive = _file(app, "olive@example.com", OLIVE)
    with app.app_context():
        case = db.session.get(Case, olive)
        admin = accounts.find_user(db.session, "admin@example.com")
        assert case is not None and admin is not None
        holds.place_hold(db.session, reason="Litigation 2026-17", actor=admin, case=case)
        db.session.remove()
    listed = app.test_cli_runner().invoke(args=["privacy", "erase", "olive@example.com"])
    assert "(not erasable: Legal hold: Litigation 2026-17)" in listed.output
    done = app.test_cli_runner().invoke(args=["privacy", "erase", "olive@example.com", "--yes"])
    assert done.exit_code == 0, done.output
    assert "not erased (Legal hold: Litigation 2026-17)" in done.output and "Account: kept" in done.output
    raw = _raw_text(app)
    assert all(v in raw for v in OLIVE_VALUES) and "olive@example.com" in raw
    with app.app_context():
        assert db.session.scalar(select(PersonalValue).where(PersonalValue.erased_at.is_not(None))) is None
        db.session.remove()
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0
