"""The audit chain: append, verify, append-only triggers, tampering, concurrency, atomicity."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from cases import audit
from cases.clock import fixed
from cases.database import make_engine
from cases.models import GENESIS_HASH, AuditEvent
from cases.uow import transaction
from tests.support.audit import tamper

T0 = datetime(2026, 5, 4, 10, 30, 15, 123456, tzinfo=UTC)


def _append(session: Session, stream: str = "case:1", n: int = 3) -> list[AuditEvent]:
    out = []
    with transaction(session):
        for i in range(n):
            out.append(audit.append(session, stream, "case.updated", {"field": "amount", "before": i,
                                                                      "after": Decimal("10.50")},
                                    actor=None, clock=fixed(T0)))
    return out


def test_hash_is_sha256_of_previous_hash_and_canonical_event(session: Session) -> None:
    first, second, _ = _append(session)
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    document = {"stream": "case:1", "seq": 2, "at": "2026-05-04T10:30:15.123456+00:00", "actor": "system",
                "kind": "case.updated", "payload": {"field": "amount", "before": 1, "after": "10.50"}}
    expected = hashlib.sha256((first.hash + json.dumps(document, sort_keys=True, separators=(",", ":")))
                              .encode()).hexdigest()
    assert second.hash == expected


def test_verify_good_chains(session: Session) -> None:
    _append(session, "case:1")
    _append(session, "form:complaint", 2)
    result = audit.verify(session)
    assert result.ok and result.checked == 5 and result.streams == 2
    assert audit.verify(session, "form:complaint").checked == 2


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET kind = 'x'", "DELETE FROM audit_events"])
def test_events_table_refuses_update_and_delete(session: Session, statement: str) -> None:
    _append(session)
    with pytest.raises(DatabaseError, match="append-only"):
        session.execute(text(statement))
    session.rollback()
    assert audit.verify(session).ok


def test_an_edited_event_is_named_by_verify(session: Session) -> None:
    _append(session, "case:7", 5)
    _append(session, "case:8", 2)
    tamper(session, "UPDATE audit_events SET payload = '{\"field\":\"amount\",\"before\":0,\"after\":\"99\"}' "
                     "WHERE stream = 'case:7' AND seq = 3")
    result = audit.verify(session)
    assert not result.ok
    assert result.first_broken is not None
    assert (result.first_broken.stream, result.first_broken.seq) == ("case:7", 3)
    assert "altered" in result.first_broken.reason
    assert audit.verify(session, "case:8").ok


def test_removed_tail_events_are_detected(session: Session) -> None:
    _append(session, "case:9", 4)
    tamper(session, "DELETE FROM audit_events WHERE stream = 'case:9' AND seq >= 3")
    broken = audit.verify(session).first_broken
    assert broken is not None and (broken.stream, broken.seq) == ("case:9", 3)
    assert "removed" in broken.reason


def test_a_removed_middle_event_is_detected(session: Session) -> None:
    _append(session, "case:10", 4)
    tamper(session, "DELETE FROM audit_events WHERE stream = 'case:10' AND seq = 2")
    broken = audit.verify(session).first_broken
    assert broken is not None and broken.seq == 3 and "missing" in broken.reason


def test_a_failed_use_case_leaves_no_event(session: Session) -> None:
    with pytest.raises(RuntimeError), transaction(session):
        audit.append(session, "case:1", "case.submitted", {}, actor=None)
        raise RuntimeError("boom after the event was written")
    assert audit.events(session, "case:1") == []
    assert audit.verify(session).ok and audit.verify(session).checked == 0


def test_concurrent_appends_keep_every_chain_whole(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=20, max_overflow=0) if "postgresql" in database_url \
        else make_engine(database_url)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            with Session(engine) as s:
                for j in range(10):
                    with transaction(s):
                        audit.append(s, "case:shared", "case.commented", {"worker": i, "n": j}, actor=None)
                        audit.append(s, f"case:{i}", "case.commented", {"n": j}, actor=None)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session(engine) as s:
        result = audit.verify(s)
        assert result.ok, result.broken
        assert [e.seq for e in audit.events(s, "case:shared")] == list(range(1, 201))
        assert result.checked == 400
    engine.dispose()


def test_csv_export_neutralises_formulas(session: Session) -> None:
    with transaction(session):
        audit.append(session, "case:1", "case.commented", {"body": "=HYPERLINK(\"http://x\")"}, actor=None)
    assert audit.csv_safe("=1+1") == "'=1+1" and audit.csv_safe("@SUM") == "'@SUM"
    assert audit.csv_safe("-5") == "'-5" and audit.csv_safe("plain") == "plain"
    rows = audit.to_csv(audit.events(session, "case:1")).splitlines()
    assert rows[0] == ",".join(audit.CSV_COLUMNS)
    assert "=HYPERLINK" in rows[1]
    assert not any(cell.startswith("=") for cell in rows[1].split(","))


def test_payload_must_be_json_values(session: Session) -> None:
    with pytest.raises(TypeError), transaction(session):
        audit.append(session, "case:1", "x", {"bad": object()}, actor=None)


def test_verify_judges_stored_text_as_json_like_before(session: Session) -> None:
    """Verification hashes the stored payload text directly; text that is not in canonical form (never
    written by append) is judged by its JSON meaning as it always was: equivalent text verifies, altered
    content is named at its event."""
    first = _append(session, "case:1", 1)[0]
    loose = '{ "field": "x",  "after": 2 }'  # the canonical text of this payload has no spaces
    document = {"stream": "case:1", "seq": 2, "at": audit.format_time(T0), "actor": "system", "kind": "case.updated",
                "payload": json.loads(loose)}
    row = {"stream": "case:1", "seq": 2, "at": T0, "actor_id": None, "actor": "system", "kind": "case.updated",
           "payload": loose, "prev_hash": first.hash, "hash": audit.compute_hash(first.hash, document)}
    session.execute(AuditEvent.__table__.insert(), [row])
    session.execute(text("UPDATE audit_streams SET head_seq = 2, head_hash = :h WHERE stream = 'case:1'"),
                    {"h": row["hash"]})
    session.commit()
    assert audit.verify(session).ok
    third = {**row, "seq": 3, "payload": '{"field": "x", "after": 3}', "prev_hash": row["hash"],
             "hash": row["hash"]}  # content that does not match its hash
    session.execute(AuditEvent.__table__.insert(), [third])
    session.commit()
    result = audit.verify(session)
    assert [(b.stream, b.seq, b.reason) for b in result.broken] == [
        ("case:1", 3, "content does not match its hash (the event was altered)")]


def test_verify_is_not_misled_by_how_the_database_quotes_strings(session: Session) -> None:
    """The hashed text is built by the database (json_quote / to_json); names with quotes, backslashes,
    control characters and non-ASCII letters still verify exactly as Python's canonical JSON hashes them,
    and an event altered in such a name is still named."""
    odd = 'case:"7"\\ \u00e9\u6f22 \x01\x1f\t\n\u2028 \x7f'
    _append(session, odd, 3)
    with transaction(session):
        audit.append(session, "case:9", 'kind "with" \\ quotes \u00e9', {"text": 'a "b" \\ \u00e9 \x02'},
                     actor=None, clock=fixed(T0))
    assert audit.verify(session).ok and audit.verify(session).checked == 4
    assert audit.verify(session, odd).ok
    tamper(session, "UPDATE audit_events SET kind = 'case.closed' WHERE stream = 'case:9' AND seq = 1")
    result = audit.verify(session)
    assert [(b.stream, b.seq) for b in result.broken] == [("case:9", 1)]


def test_an_event_whose_time_was_changed_is_named(session: Session) -> None:
    _append(session, "case:3", 3)
    tamper(session, "UPDATE audit_events SET at = at + INTERVAL '1 second' WHERE stream = 'case:3' AND seq = 2"
           if session.get_bind().dialect.name == "postgresql" else
           "UPDATE audit_events SET at = '2026-05-04 10:30:16.123456' WHERE stream = 'case:3' AND seq = 2")
    result = audit.verify(session)
    assert [(b.stream, b.seq, b.reason) for b in result.broken] == [
        ("case:3", 2, "content does not match its hash (the event was altered)")]
