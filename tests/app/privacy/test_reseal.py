"""`casework privacy reseal` end to end on both backends: a database written the old way (personal values in
the hashed payloads, a requester's e-mail as actor) is rewritten once with a recorded re-anchoring and a
checkpoint before and after; `casework audit verify` and the offline verifier explain the old checkpoint
and bundle instead of reporting tampering; an erasure afterwards removes the values."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from app.extensions import db
from cases import accounts, assignment, audit, conversation, definitions, documents, lifecycle, submissions
from cases.models import Case, Document, DocumentCheck
from cases.privacy.values import ACTOR_PREFIX, readable
from cases.storage import LocalFolder
from cases.submissions import Uploader, store_case_file
from tests.app.documents.real_cases import documents_of, render_queued
from tests.app.proof_fixtures import api_json, keep_checkpoint
from tests.support.audit import tamper
from tests.support.privacy import RILEY, make_privacy_app
from tests.support.privacy import file_as as _file
from tests.support.privacy import raw_text as _raw_text
from verifier import casework_verify as cv

FILE_BYTES = b"QUIXOTEFILEBYTES scanned\n"
OLD_VALUES = ("Rileyname Quixote", "riley.quixote@example.org", "Zephyrvase", "Quixotecomment", "Zephyrsubmission",
              "quixote-passport", hashlib.sha256(FILE_BYTES).hexdigest(), "requester@example.com")


@pytest.fixture
def privacy_app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    yield from make_privacy_app(database_url, tmp_path)


@contextmanager
def written_the_old_way(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The code before personal values were sealed: every value went into the payload as it was, and the
    acting requester by e-mail."""
    with monkeypatch.context() as patched:
        plain = lambda _session, value, **_kw: value  # noqa: E731
        patched.setattr("cases.lifecycle.seal", plain)
        patched.setattr("cases.conversation.seal", plain)
        patched.setattr("cases.approvals.seal", plain)
        patched.setattr("cases.lifecycle.seal_fields", lambda _s, data, _p, **_kw: dict(data))
        patched.setattr("cases.submissions.seal_fields", lambda _s, data, _p, **_kw: dict(data))
        patched.setattr("cases.lifecycle.seal_changes", lambda _s, changes, _p, **_kw: [dict(c) for c in changes])
        patched.setattr("cases.audit.seal_actor", lambda _session, actor, **_kw: actor.email)
        yield


def _old_case(app: Any, tmp_path: Path) -> int:
    case_id = _file(app, "requester@example.com", RILEY)
    with app.app_context():
        requester = accounts.find_user(db.session, "requester@example.com")
        agent = accounts.find_user(db.session, "agent@example.com")
        case = db.session.get(Case, case_id)
        assert requester is not None and agent is not None and case is not None
        conversation.add_comment(db.session, case, requester, "Quixotecomment: call me after six.")
        stored = store_case_file(db.session, LocalFolder(tmp_path / "uploads"), filename="quixote-passport.txt",
                                 stream=io.BytesIO(FILE_BYTES), uploader=Uploader(requester))
        conversation.attach_files(db.session, case, requester, [stored])
        assignment.claim(db.session, case, agent)
        lifecycle.transition(db.session, case, "start", agent)
        form = definitions.find_definition(db.session, "form", "complaint")  # a plain submission, outside cases
        assert form is not None and form.latest_version is not None
        submissions.submit(db.session, form, {**RILEY, "description": "Zephyrsubmission of mine."},
                           uploader=Uploader(requester), version=form.latest_version)
        db.session.remove()
    return case_id


def _hashed(app: Any) -> str:
    with app.app_context():
        rows = db.session.execute(text("SELECT actor, payload FROM audit_events")).all()
        db.session.remove()
    return "\n".join(f"{a} {p}" for a, p in rows)


def test_an_old_database_is_resealed_verified_and_then_erasable(privacy_app: Any, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    app = privacy_app
    with written_the_old_way(monkeypatch):
        case_id = _old_case(app, tmp_path)
    assert all(v in _hashed(app) for v in OLD_VALUES)  # the old way: values inside the hashed payloads
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    keep_checkpoint(app, tmp_path / "before.json")
    status, old_bundle = api_json(app, f"/api/v1/cases/{case_id}/bundle")
    assert status == 200 and "Zephyrvase" in json.dumps(old_bundle)
    (tmp_path / "old-bundle.json").write_text(json.dumps(old_bundle))

    listed = runner.invoke(args=["privacy", "reseal"])
    assert listed.exit_code == 1 and f"case:{case_id}:" in listed.output and "add --yes" in listed.output
    assert "Zephyrvase" in _hashed(app)  # the listing rewrote nothing
    done = runner.invoke(args=["privacy", "reseal", "--yes"])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("Before: checkpoint #") and "After: checkpoint #" in done.output
    assert f"case:{case_id}:" in done.output and "submission:" in done.output
    hashed = _hashed(app)
    assert [v for v in OLD_VALUES if v in hashed] == []
    again = runner.invoke(args=["privacy", "reseal", "--yes"])
    assert again.exit_code == 0 and again.output.startswith("Nothing to reseal"), again.output

    with app.app_context():  # people still read every value; the chain records its re-anchoring
        events = audit.events(db.session, f"case:{case_id}")
        assert events[-1].kind == "audit.reanchored" and events[-1].actor == "system"
        rewritten = json.loads(events[-1].payload)["rewritten"]
        assert [seq for seq, _old, _new in rewritten] == [e.seq for e in events[:-1]]
        assert any(e.actor.startswith(ACTOR_PREFIX) for e in events)
        shown = readable(db.session, events)
        assert "Zephyrvase" in "".join(e.payload for e in shown)
        assert any(e.actor == "requester@example.com" for e in shown)
        db.session.remove()

    verified = runner.invoke(args=["audit", "verify", "--since", str(tmp_path / "before.json")])
    assert verified.exit_code == 0, verified.output
    assert "through a recorded re-anchoring" in verified.output
    status, new_bundle = api_json(app, f"/api/v1/cases/{case_id}/bundle")
    assert status == 200 and "Zephyrvase" not in json.dumps(new_bundle)
    (tmp_path / "new-bundle.json").write_text(json.dumps(new_bundle))
    for name in ("old-bundle.json", "new-bundle.json"):
        offline = runner.invoke(args=["audit", "verify-file", str(tmp_path / name)])
        assert offline.exit_code == 0, offline.output
    since = cv.verify_file(tmp_path / "new-bundle.json", tmp_path / "before.json")
    assert any("re-anchored since" in line for line in since.lines)
    # Without the chain's record the same rewrite is history rewritten.
    forged = json.loads(json.dumps(new_bundle))
    for event in forged["cases"][0]["events"]:
        if event["kind"] == "audit.reanchored":
            event["kind"] = "audit.note"
    with pytest.raises(cv.Refused):
        cv.check_since(forged, forged["checkpoint"], json.loads((tmp_path / "before.json").read_text()), None)

    erased = runner.invoke(args=["privacy", "erase", "requester@example.com", "--yes"])
    assert erased.exit_code == 0, erased.output
    raw = _raw_text(app)
    assert [v for v in OLD_VALUES if v in raw] == []
    after = runner.invoke(args=["audit", "verify", "--since", str(tmp_path / "before.json")])
    assert after.exit_code == 0, after.output
    status, erased_bundle = api_json(app, f"/api/v1/cases/{case_id}/bundle")
    (tmp_path / "erased-bundle.json").write_text(json.dumps(erased_bundle))
    offline = runner.invoke(args=["audit", "verify-file", str(tmp_path / "erased-bundle.json"),
                                  "--since", str(tmp_path / "before.json")])
    assert offline.exit_code == 0 and "re-anchored since" in offline.output, offline.output


def test_a_database_written_by_the_current_code_has_nothing_to_reseal(privacy_app: Any,
                                                                      tmp_path: Path) -> None:
    case_id = _old_case(privacy_app, tmp_path)  # the same work, written as Casework writes it now
    result = privacy_app.test_cli_runner().invoke(args=["privacy", "reseal"])
    assert result.exit_code == 0 and result.output.startswith("Nothing to reseal"), result.output
    assert f"case:{case_id}" not in result.output


def test_a_rewrite_after_the_reseal_is_still_history_rewritten(privacy_app: Any, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The re-anchoring explains exactly the hashes it recorded: a later rewrite of the same chain (made
    consistent, head included) is reported against the checkpoints before and after the reseal."""
    app = privacy_app
    with written_the_old_way(monkeypatch):
        case_id = _old_case(app, tmp_path)
    keep_checkpoint(app, tmp_path / "before.json")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["privacy", "reseal", "--yes"]).exit_code == 0
    stream = f"case:{case_id}"
    with app.app_context():
        prev = audit.GENESIS_HASH
        for event in audit.events(db.session, stream):
            document = audit.event_document(event)
            if event.kind == "case.commented":
                document["payload"] = {**document["payload"], "internal": True}
            digest = audit.compute_hash(prev, document)
            payload = audit.canonical(document["payload"]).replace("'", "''")
            tamper(db.session, f"UPDATE audit_events SET payload = '{payload}', prev_hash = '{prev}', "  # noqa: S608
                               f"hash = '{digest}' WHERE id = {event.id}")
            prev = digest
        db.session.execute(text("UPDATE audit_streams SET head_hash = :head WHERE stream = :stream"),
                           {"head": prev, "stream": stream})
        db.session.commit()
        db.session.remove()
    result = runner.invoke(args=["audit", "verify", "--since", str(tmp_path / "before.json")])
    assert result.exit_code == 1 and "history rewritten" in result.output, result.output


def _check(app: Any, document_id: int) -> tuple[str | None, list[str]]:
    """Run a document check as the background job does; its verdict and headline with the findings."""
    from app.documents.checks import check_document
    from cases import document_checks

    with app.app_context():
        auditor = accounts.find_user(db.session, "auditor@example.com")
        document = db.session.get(Document, document_id)
        assert auditor is not None and document is not None
        check_id = document_checks.request_check(db.session, document, auditor).id
        check_document(check_id)
        view = document_checks.check_view(db.session.get(DocumentCheck, check_id))
        db.session.remove()
    assert view is not None
    return view["verdict"], [view["headline"], *view["findings"]]


def test_documents_rendered_before_the_reseal_are_rendered_again_and_checked_honestly(
        privacy_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dossier made from the old events is not "Does not match" once the chain is re-anchored: its check
    says it was rendered before the re-anchoring, and a fresh rendering of the rewritten chain checks OK."""
    app = privacy_app
    with written_the_old_way(monkeypatch):
        case_id = _old_case(app, tmp_path)
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case is not None
        documents.queue_dossier(db.session, case)
        db.session.remove()
    [old] = [d for d in render_queued(app, case_id) if d.status == "done"]
    assert _check(app, old.id)[0] == "match"

    done = app.test_cli_runner().invoke(args=["privacy", "reseal", "--yes"])
    assert done.exit_code == 0 and "1 document(s) of the re-anchored cases queued to render again" in done.output, \
        done.output
    rows = documents_of(app, case_id)
    [fresh] = [d for d in rows if d.id != old.id]
    assert fresh.status == "queued" and (fresh.kind, fresh.draft) == (old.kind, old.draft)
    verdict, said = _check(app, old.id)
    assert verdict == "reanchored", said
    assert said[0] == "Rendered before the chain was re-anchored; superseded by the re-rendering"
    assert any("re-anchored on " in line and "stored file is intact" in line for line in said), said
    assert "Does not match" not in said

    [fresh] = [d for d in render_queued(app, case_id) if d.id == fresh.id]
    assert fresh.status == "done" and fresh.chain_seq is not None and fresh.chain_seq > (old.chain_seq or 0)
    assert _check(app, fresh.id)[0] == "match"
