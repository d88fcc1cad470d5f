"""The tamper suite: what someone with write access to the database could do behind the application,
with the append-only triggers switched off. `casework audit verify` and the offline verifier (against a
checkpoint file kept before the change) must detect each one and name the case."""

# ruff: noqa: S608 - the tampering is raw SQL on purpose, from constants of this module
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.extensions import db
from cases import audit
from cases.models import GENESIS_HASH, Base
from tests.app.proof_fixtures import api_json, keep_checkpoint, make_proof_app
from tests.conftest import Web
from verifier import casework_verify as cv

CASE = 2  # CMP-000002: open, with three internal comments (at least five events)
STREAM = f"case:{CASE}"


@pytest.fixture
def proof_app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    yield from make_proof_app(database_url, tmp_path)


def _without_triggers(session: Session, statements: list[str]) -> None:
    """Run raw SQL the way a database owner could: the audit tables' triggers off, then on again."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL session_replication_role = replica"))  # triggers and FK checks off
        for sql in statements:
            session.connection().exec_driver_sql(sql)
    else:
        triggers = session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
        for name, _sql in triggers:
            session.execute(text(f"DROP TRIGGER {name}"))
        for sql in statements:
            session.connection().exec_driver_sql(sql)
        for _name, ddl in triggers:
            session.execute(text(ddl))
    session.commit()


def edit_payload(session: Session) -> list[str]:
    return [f"UPDATE audit_events SET payload = '{{\"body\":\"changed\"}}' WHERE stream = '{STREAM}' AND seq = 2"]


def delete_last_event(session: Session) -> list[str]:
    last = session.scalar(text(f"SELECT max(seq) FROM audit_events WHERE stream = '{STREAM}'"))
    return [f"DELETE FROM audit_events WHERE stream = '{STREAM}' AND seq = {last}"]


def delete_middle_event(session: Session) -> list[str]:
    return [f"DELETE FROM audit_events WHERE stream = '{STREAM}' AND seq = 3"]


def delete_whole_case(session: Session) -> list[str]:
    """The case row, every row that belongs to it, its events and its stream head."""
    statements = []
    for table in reversed(Base.metadata.sorted_tables):
        if "case_id" in table.c and table.name != "cases":
            statements.append(f"DELETE FROM {table.name} WHERE case_id = {CASE}")
    return [*statements, f"DELETE FROM audit_events WHERE stream = '{STREAM}'",
            f"DELETE FROM audit_streams WHERE stream = '{STREAM}'", f"DELETE FROM cases WHERE id = {CASE}"]


def reorder_two_events(session: Session) -> list[str]:
    return [f"UPDATE audit_events SET seq = -1 WHERE stream = '{STREAM}' AND seq = 3",
            f"UPDATE audit_events SET seq = 3 WHERE stream = '{STREAM}' AND seq = 4",
            f"UPDATE audit_events SET seq = 4 WHERE stream = '{STREAM}' AND seq = -1"]


def rewrite_chain_and_head(session: Session) -> list[str]:
    """Change event 2 and recompute every hash after it and the head: the chain alone verifies."""
    rows = audit.events(session, STREAM)
    statements, prev = [], GENESIS_HASH
    for event in rows:
        document = audit.event_document(event)
        if event.seq == 2:
            document["payload"] = {"body": "Nothing to see here.", "internal": True}
        new_hash = audit.compute_hash(prev, document)
        payload = audit.canonical(document["payload"]).replace("'", "''")
        statements.append(f"UPDATE audit_events SET payload = '{payload}', prev_hash = '{prev}', hash = '{new_hash}' "
                          f"WHERE id = {event.id}")
        prev = new_hash
    statements.append(f"UPDATE audit_streams SET head_hash = '{prev}' WHERE stream = '{STREAM}'")
    return statements


TAMPERINGS: dict[str, Callable[[Session], list[str]]] = {
    "edit a payload": edit_payload,
    "delete the last event": delete_last_event,
    "delete a middle event": delete_middle_event,
    "delete a whole case": delete_whole_case,
    "reorder two events": reorder_two_events,
    "rewrite a chain and its head": rewrite_chain_and_head,
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_every_tampering_is_detected_and_the_case_named(proof_app: Any, tmp_path: Path, tampering: str) -> None:
    kept_path = tmp_path / "kept.json"
    kept = keep_checkpoint(proof_app, kept_path)
    assert kept["refs"][STREAM] == "CMP-000002"
    runner = proof_app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    with proof_app.app_context():
        _without_triggers(db.session, TAMPERINGS[tampering](db.session))
        db.session.remove()
    if tampering == "rewrite a chain and its head":
        with proof_app.app_context():
            assert audit.verify(db.session).ok  # the chain alone cannot tell
            db.session.remove()

    # In the database: the chains plus the signed checkpoints, with and without the kept file.
    named = "case:2 at event" if tampering == "delete a whole case" else "CMP-000002 (case:2) at event"
    for args in (["audit", "verify"], ["audit", "verify", "--since", str(kept_path)]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, (tampering, result.output)
        assert f"BROKEN: {named}" in result.output, (tampering, result.output)

    # The API and the auditor's verify page say the same.
    status, verdict = api_json(proof_app, "/api/v1/audit/verify")
    assert status == 200 and not verdict["ok"] and verdict["first_broken"]["stream"] == STREAM, verdict
    web = Web(proof_app.test_client())
    web.login("auditor@example.com")
    page = web.get("/audit/verify?run=1").get_data(as_text=True)
    assert "BROKEN: 1 chain broken" in page and ("CMP-000002" in page or tampering == "delete a whole case")

    # Offline: what the server exports now, checked against the checkpoint kept before the change.
    if tampering == "delete a whole case":
        status, _ = api_json(proof_app, f"/api/v1/cases/{CASE}/bundle")
        assert status == 404
        status, bundle = api_json(proof_app, "/api/v1/audit/bundle")
    else:
        status, bundle = api_json(proof_app, f"/api/v1/cases/{CASE}/bundle")
    assert status == 200
    for since in (kept, None):
        with pytest.raises(cv.Refused) as refused:
            cv.verify_bundle(bundle, since)
        assert "case:2" in str(refused.value), (tampering, str(refused.value))
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    result = runner.invoke(args=["audit", "verify-file", str(path), "--since", str(kept_path)])
    assert result.exit_code == 1 and "REFUSED: " in result.output and "case:2" in result.output, result.output
    # The other cases still verify against the kept checkpoint.
    status, other = api_json(proof_app, "/api/v1/cases/3/bundle")
    assert status == 200 and cv.verify_bundle(other, kept).cases == 1


def test_removing_checkpoints_to_hide_a_change_is_caught_with_the_kept_file(proof_app: Any, tmp_path: Path) -> None:
    kept_path = tmp_path / "kept.json"
    kept = keep_checkpoint(proof_app, kept_path)
    with proof_app.app_context():
        statements = rewrite_chain_and_head(db.session)
        statements += ["DELETE FROM audit_checkpoint_leaves", "DELETE FROM audit_checkpoints"]
        _without_triggers(db.session, statements)
        db.session.remove()
    runner = proof_app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0  # nothing left to compare with...
    result = runner.invoke(args=["audit", "verify", "--since", str(kept_path)])
    assert result.exit_code == 1 and "no longer in the database" in result.output, result.output
    assert "BROKEN: CMP-000002 (case:2)" in result.output
    status, bundle = api_json(proof_app, f"/api/v1/cases/{CASE}/bundle")  # a fresh tree, newly signed
    assert status == 200
    cv.verify_bundle(bundle)  # consistent in itself,
    with pytest.raises(cv.Refused, match=r"CMP-000002 \(case:2\) event \d+: differs from the earlier checkpoint"):
        cv.verify_bundle(bundle, kept)  # but not with what the auditor kept
