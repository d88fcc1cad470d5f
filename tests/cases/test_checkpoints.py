"""Signed checkpoints: the Merkle tree, building only on change, heads only advancing, bundles, proofs."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from cases import audit, checkpoint_verify, checkpoints
from cases.clock import fixed
from cases.models import Checkpoint, CheckpointLeaf
from cases.uow import transaction
from verifier import casework_verify as cv

T0 = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)
SIGNER = checkpoints.Ed25519Signer.from_pem(checkpoints.new_private_key_pem())


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 2.1.1, written as the RFC states it (the reference for the level construction)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return cv.node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def test_merkle_root_and_inclusion_proofs_follow_rfc_9162() -> None:
    for n in range(0, 34):
        leaves = [cv.leaf_hash(f"case:{i}", i + 1, "ab" * 32) for i in range(n)]
        root = cv.merkle_root(leaves)
        assert root == _mth(leaves)
        levels = cv.merkle_levels(leaves) if leaves else []
        for i in range(n):
            proof = cv.inclusion_proof(levels, i)
            assert cv.verify_inclusion(i, n, leaves[i], proof, root)
            assert not cv.verify_inclusion(i, n, cv.leaf_hash("case:x", 1, "ab" * 32), proof, root)
            if n > 1:
                assert not cv.verify_inclusion((i + 1) % n, n, leaves[i], proof, root)
            assert not cv.verify_inclusion(i, n, leaves[i], proof[:-1], root) or not proof


def test_leaf_and_node_hashes_have_domain_prefixes() -> None:
    leaf = cv.leaf_hash("case:1", 2, "cd" * 32)
    body = b'{"head":"' + b"cd" * 32 + b'","seq":2,"stream":"case:1"}'
    assert leaf == hashlib.sha256(b"\x00" + body).digest()
    assert cv.node_hash(leaf, leaf) == hashlib.sha256(b"\x01" + leaf + leaf).digest()


def _append(session: Session, stream: str, n: int = 1, at: datetime = T0) -> None:
    with transaction(session):
        for i in range(n):
            audit.append(session, stream, "case.updated", {"i": i}, actor=None, clock=fixed(at))


def _build(session: Session, at: datetime = T0, **kw: object) -> checkpoints.BuildResult:
    return checkpoints.build(session, SIGNER, clock=fixed(at), **kw)  # type: ignore[arg-type]


def test_checkpoint_signs_every_stream_head_in_creation_order(session: Session) -> None:
    _append(session, "case:2", 2)
    _append(session, "case:1", 3)
    _append(session, "form:complaint")
    result = _build(session)
    assert result.created and result.checkpoint is not None
    cp = result.checkpoint
    leaves = checkpoints.leaves_at(session, cp.id)
    assert [(s, q) for s, q, _h in leaves] == [("case:2", 2), ("case:1", 3), ("form:complaint", 1)]
    heads = {s: h for s, _q, h in leaves}
    assert heads["case:1"] == audit.events(session, "case:1")[-1].hash
    assert cp.tree_size == 3 and cp.events_total == 6
    assert cp.root_hash == cv.merkle_root([cv.leaf_hash(*leaf) for leaf in leaves]).hex()
    cv.check_signature(checkpoints.checkpoint_json(cp), SIGNER.public_key)


def test_nothing_changed_means_no_new_checkpoint(session: Session) -> None:
    _append(session, "case:1")
    first = _build(session).checkpoint
    again = _build(session, T0 + timedelta(minutes=1), quick=True)
    assert not again.created and again.checkpoint is not None and again.checkpoint.id == first.id  # type: ignore[union-attr]
    assert not _build(session, T0 + timedelta(minutes=2)).created
    _append(session, "case:1")
    later = _build(session, T0 + timedelta(minutes=3), quick=True)
    assert later.created and later.checkpoint.tree_size == 1  # type: ignore[union-attr]
    # Only the changed leaf is stored with the new checkpoint; positions stay.
    rows = session.query(CheckpointLeaf).filter_by(checkpoint_id=later.checkpoint.id).all()  # type: ignore[union-attr]
    assert [(r.idx, r.stream, r.seq) for r in rows] == [(0, "case:1", 2)]


def test_empty_database_gets_an_empty_signed_checkpoint(session: Session) -> None:
    cp = _build(session).checkpoint
    assert cp is not None and cp.tree_size == 0 and cp.root_hash == hashlib.sha256(b"").hexdigest()


def test_checkpoint_tables_are_append_only(session: Session) -> None:
    _append(session, "case:1")
    _build(session)
    for statement in ("UPDATE audit_checkpoints SET tree_size = 9", "DELETE FROM audit_checkpoint_leaves"):
        with pytest.raises(DatabaseError, match="append-only"):
            session.execute(text(statement))
        session.rollback()


@contextmanager
def _behind_the_application(session: Session, backend: str) -> Iterator[None]:
    """One transaction with the append-only triggers out of the way, as a database owner could do.

    On PostgreSQL the triggers are only switched off for this transaction (the schema is shared by the
    worker's later tests); on SQLite each test has its own database file, so they are dropped.
    """
    with transaction(session):
        if backend == "postgresql":
            session.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for table in ("audit_events", "audit_checkpoints", "audit_checkpoint_leaves"):
                session.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
                session.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
        yield


def test_a_rewritten_chain_is_never_signed_again(session: Session, backend: str) -> None:
    _append(session, "case:1", 3)
    _build(session)
    with _behind_the_application(session, backend):  # rewrite the chain and its head consistently, one event longer
        session.execute(text("DELETE FROM audit_events WHERE stream = 'case:1'"))
        session.execute(text("DELETE FROM audit_streams WHERE stream = 'case:1'"))
    _append(session, "case:1", 4, at=T0 + timedelta(days=1))
    assert audit.verify(session).ok  # the chain alone looks fine
    result = _build(session, T0 + timedelta(days=1))
    assert not result.created
    assert [r.stream for r in result.refused] == ["case:1"]
    assert "no longer has the hash" in result.refused[0].reason
    report = checkpoint_verify.verify(session, SIGNER.public_key)
    assert report.broken and report.broken[0].stream == "case:1"
    assert "history rewritten" in report.broken[0].reason


def test_builder_refuses_to_extend_altered_leaves(session: Session, backend: str) -> None:
    _append(session, "case:1")
    _append(session, "case:2")
    _build(session)
    with _behind_the_application(session, backend):
        session.execute(text("DELETE FROM audit_checkpoint_leaves WHERE stream = 'case:2'"))
    _append(session, "case:3")
    with pytest.raises(checkpoints.CheckpointLogAltered):
        _build(session, T0 + timedelta(minutes=1))
    report = checkpoint_verify.verify(session, SIGNER.public_key)
    assert any("checkpoint log altered" in b.reason for b in report.broken or [])


def test_stored_checkpoint_with_foreign_key_is_named(session: Session) -> None:
    _append(session, "case:1")
    _build(session)
    other = checkpoints.Ed25519Signer.from_pem(checkpoints.new_private_key_pem())
    report = checkpoint_verify.verify(session, other.public_key)
    assert report.broken and "not this instance's key" in report.broken[0].reason


def test_signature_covers_size_root_and_time(session: Session) -> None:
    _append(session, "case:1")
    cp = _build(session).checkpoint
    assert cp is not None
    body = checkpoints.checkpoint_json(cp)
    for key, value in (("tree_size", 2), ("root_hash", "0" * 64), ("at", "2020-01-01T00:00:00.000000+00:00")):
        with pytest.raises(cv.Refused, match="bad signature"):
            cv.check_signature({**body, key: value}, SIGNER.public_key)
    assert session.query(Checkpoint).count() == 1


@pytest.mark.parametrize("stream", ["case:1", 'odd "name" \\ here', "ünïcode\nline"])
def test_fast_leaf_encoding_is_the_canonical_json(stream: str) -> None:
    for seq in (1, 98765):
        body = cv.canonical({"stream": stream, "seq": seq, "head": "ef" * 32}).encode()
        assert cv.leaf_hash(stream, seq, "ef" * 32) == hashlib.sha256(b"\x00" + body).digest()


def test_bundle_events_are_exactly_the_events_api_shape(session: Session) -> None:
    from types import SimpleNamespace

    _append(session, "case:1", 3)
    cp = _build(session).checkpoint
    assert cp is not None
    _append(session, "case:1")  # after the checkpoint: not in the bundle
    body = checkpoints.bundle(session, [SimpleNamespace(id=1, ref="CMP-000001", stream="case:1")], cp)  # type: ignore[list-item]
    assert body["cases"][0]["events"] == [audit.event_json(e) for e in audit.events(session, "case:1")[:3]]
    assert cv.verify_bundle(body).events == 3


@pytest.mark.parametrize("event", [
    {"stream": "case:1", "seq": 2, "at": "2026-05-04T10:30:00.000000+00:00", "actor": 'a"b\\ü\n', "kind": "k",
     "payload": {"z": [1, {"b": 2, "a": None}], "a": "é\u2028", "n": 1.5}},
    {"stream": "case:1", "seq": True, "at": "x", "actor": "a", "kind": "k", "payload": {}},
    {"stream": "case:1", "seq": 2, "at": None, "actor": "a", "kind": "k", "payload": []},
])
def test_verifier_fast_event_encoding_is_the_canonical_json(event: dict[str, object]) -> None:
    assert cv.event_canonical(event) == cv.canonical(cv.event_document(event)) == audit.canonical(event)


def _two_case_bundle(session: Session, *, complete: bool = False) -> dict[str, object]:
    from types import SimpleNamespace

    _append(session, "case:1", 3)
    _append(session, "case:2", 2)
    cp = _build(session).checkpoint
    assert cp is not None
    cases = [SimpleNamespace(id=i, ref=f"CMP-00000{i}", stream=f"case:{i}") for i in (1, 2)]
    return checkpoints.bundle(session, cases, cp, complete=complete)  # type: ignore[arg-type]


def test_verifier_names_each_problem_of_a_bundle(session: Session) -> None:
    import copy

    bundle = _two_case_bundle(session)
    assert cv.verify_bundle(bundle).cases == 2

    def refused(change: object) -> str:
        changed = copy.deepcopy(bundle)
        change(changed)  # type: ignore[operator]
        with pytest.raises(cv.Refused) as caught:
            cv.verify_bundle(changed)
        return str(caught.value)

    assert "inclusion proof failure" in refused(lambda b: b["cases"][1]["inclusion_proof"].reverse()
                                                if len(b["cases"][1]["inclusion_proof"]) > 1
                                                else b["cases"][1]["inclusion_proof"].append("00" * 32))
    assert "inclusion proof failure" in refused(lambda b: b["cases"][0]["leaf"].update(index=1))
    assert refused(lambda b: b["cases"][0]["events"].pop()).startswith("CMP-000001 (case:1): missing tail")
    assert "expected sequence number 2, found 3" in refused(lambda b: b["cases"][0]["events"].pop(1))
    assert "bad signature" in refused(lambda b: b["checkpoint"].update(at="2030-01-01T00:00:00.000000+00:00"))
    assert "another public key" in refused(lambda b: b.update(public_key="AAAA"))
    assert "not a Casework export bundle" in refused(lambda b: b.update(format="x"))


def test_a_complete_bundle_names_a_missing_case(session: Session) -> None:
    bundle = _two_case_bundle(session, complete=True)
    assert cv.verify_bundle(bundle).cases == 2
    cases = bundle["cases"]
    assert isinstance(cases, list)
    cases.pop()
    with pytest.raises(cv.Refused, match=r"case:2: is in the checkpoint \(2 events\) but missing from the export"):
        cv.verify_bundle(bundle)


def test_since_needs_an_earlier_checkpoint_with_its_leaves(session: Session) -> None:
    from types import SimpleNamespace

    _append(session, "case:1", 2)
    first = _build(session).checkpoint
    assert first is not None
    kept = checkpoints.checkpoint_file(session, first)
    bare = checkpoints.checkpoint_json(first)
    _append(session, "case:1")
    later = _build(session, T0 + timedelta(minutes=1)).checkpoint
    assert later is not None
    case = SimpleNamespace(id=1, ref="CMP-000001", stream="case:1")
    bundle = checkpoints.bundle(session, [case], later)  # type: ignore[list-item]
    assert "consistent with the earlier checkpoint" in cv.verify_bundle(bundle, kept).lines[-1]
    with pytest.raises(cv.Refused, match="carries no leaves"):
        cv.verify_bundle(bundle, bare)
    old_bundle = checkpoints.bundle(session, [case], first)  # type: ignore[list-item]
    assert cv.verify_bundle(old_bundle, bare).lines[-1].startswith("the bundle's checkpoint is the earlier")
    with pytest.raises(cv.Refused, match="is newer than the bundle's"):
        cv.verify_bundle(old_bundle, checkpoints.checkpoint_file(session, later))
    kept["leaves"][0][1] = 1  # type: ignore[index]
    with pytest.raises(cv.Refused, match="do not give its signed root"):
        cv.verify_bundle(bundle, kept)


def test_builders_in_parallel_with_appends_never_share_a_position(database_url: str) -> None:
    """Several processes' sweeps at once, while cases change: one builder at a time, every checkpoint valid."""
    import threading

    from sqlalchemy import func, select

    from cases.database import make_engine

    engine = make_engine(database_url, pool_size=10, max_overflow=0) if "postgresql" in database_url \
        else make_engine(database_url)
    errors: list[BaseException] = []

    def builder() -> None:
        try:
            with Session(engine, expire_on_commit=False) as s:
                for _ in range(4):
                    checkpoints.build(s, SIGNER)
        except BaseException as exc:
            errors.append(exc)

    def writer(i: int) -> None:
        try:
            with Session(engine, expire_on_commit=False) as s:
                for _ in range(5):
                    _append(s, f"case:{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=builder) for _ in range(3)]
    threads += [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session(engine, expire_on_commit=False) as s:
        last = checkpoints.build(s, SIGNER).checkpoint
        assert last is not None and last.tree_size == 4
        assert s.scalar(select(func.count()).select_from(CheckpointLeaf)) == s.scalar(
            select(func.count(func.distinct(CheckpointLeaf.checkpoint_id * 100000 + CheckpointLeaf.idx))))
        report = checkpoint_verify.verify(s, SIGNER.public_key)
        assert not report.broken, report.broken
        assert sorted(seq for _s, seq, _h in checkpoints.leaves_at(s, last.id)) == [5, 5, 5, 5]
    engine.dispose()
