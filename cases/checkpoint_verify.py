"""Checking the stored checkpoints against the chains (part of `casework audit verify`).

What is checked (see cases.checkpoints for the construction):
- every checkpoint's leaves still give its signed root, its signature is valid and made with the
  instance's key, positions keep their stream and heads only advance from one checkpoint to the next;
- every head any checkpoint signed is still in its chain: the event at that sequence number exists and
  has that hash (a deleted case, a cut chain or a rewritten history fails here, even when the chain
  and its head row were rewritten consistently);
- a signed head whose event has another hash now passes only when the chain's recorded re-anchoring
  (cases.privacy.reseal) maps that head to exactly that hash; such heads are counted, not hidden;
- optionally, a checkpoint file an auditor kept: it must be one of the stored checkpoints with the same
  leaves, signed by the same key, and its heads must still be in the chains (so deleting checkpoints,
  or leaves, to hide a change is caught too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from cases.audit import Broken
from cases.checkpoints import (
    Leaf,
    at_text,
    checkpoint_json_unsigned,
    event_hashes,
    explained,
    leaves_at,
    reanchored_streams,
)
from cases.models import AuditEvent, AuditStream, Checkpoint, CheckpointLeaf
from verifier.casework_verify import Refused, check_leaves, check_signature, key_id, leaf_hash, merkle_root


@dataclass
class CheckpointReport:
    checkpoints: int = 0
    heads: int = 0
    broken: list[Broken] | None = None
    reanchored: int = 0
    """Signed heads no longer in their chain that the chain's recorded re-anchoring explains."""

    def __post_init__(self) -> None:
        self.broken = self.broken or []


def _problem(report: CheckpointReport, seen: set[str], stream: str, seq: int, reason: str) -> None:
    assert report.broken is not None
    if stream not in seen:
        seen.add(stream)
        report.broken.append(Broken(stream, seq, reason))


def _chain_facts(session: Session, stream: str | None) -> tuple[dict[str, int], set[str]]:
    """Where each chain ends now, and which streams still have a head row."""
    ends_stmt = select(AuditStream.stream, AuditStream.head_seq)
    if stream is not None:
        ends_stmt = ends_stmt.where(AuditStream.stream == stream)
    ends = dict(session.execute(ends_stmt).all())
    return ends, set(ends)


def _heads_still_there(session: Session, report: CheckpointReport, seen: set[str], stream: str | None,
                       signed: Iterable[tuple[str, int, str, str]], events: Mapping[tuple[str, int], str]) -> None:
    ends, alive = _chain_facts(session, stream)
    present = {name for name, _seq in events}
    maps = reanchored_streams(session, {name for name, seq, head, _where in signed
                                        if events.get((name, seq)) not in (None, head)})
    for name, seq, head, where in signed:
        if stream is not None and name != stream:
            continue
        report.heads += 1
        found = events.get((name, seq))
        if found == head:
            continue
        if explained(maps, name, seq, head, found):
            report.reanchored += 1
            continue
        if found is not None:
            reason = f"event {seq} differs from the head signed in {where} (history rewritten)"
        elif name not in alive and name not in present:
            reason = f"the whole chain is gone, though {where} signed {seq} events (case or stream deleted)"
        else:
            reason = f"event {seq}, signed in {where}, is missing (chain cut: it ends at {ends.get(name, 0)})"
        _problem(report, seen, name, seq, reason)


def verify(session: Session, public_key: str, *, stream: str | None = None,
           kept: Mapping[str, Any] | None = None) -> CheckpointReport:
    """Check the stored checkpoints (and a kept checkpoint file) against each other and the chains."""
    report = CheckpointReport()
    seen: set[str] = set()
    checkpoints = list(session.scalars(select(Checkpoint).order_by(Checkpoint.id)))
    rows = session.execute(select(CheckpointLeaf.checkpoint_id, CheckpointLeaf.idx, CheckpointLeaf.stream,
                                  CheckpointLeaf.seq, CheckpointLeaf.head)
                           .order_by(CheckpointLeaf.checkpoint_id, CheckpointLeaf.idx)).all()
    by_checkpoint: dict[int, list[tuple[int, Leaf]]] = {}
    for checkpoint_id, idx, name, seq, head in rows:
        by_checkpoint.setdefault(checkpoint_id, []).append((idx, (name, seq, head)))
    leaves: list[Leaf] = []
    hashes: list[bytes] = []
    for checkpoint in checkpoints:
        report.checkpoints += 1
        where = f"checkpoint #{checkpoint.id} ({at_text(checkpoint)})"
        for idx, leaf in by_checkpoint.get(checkpoint.id, []):
            if idx < len(leaves):
                old = leaves[idx]
                if old[0] != leaf[0]:
                    _problem(report, seen, old[0], old[1], f"{where} put {leaf[0]} at its position (tree rebuilt)")
                elif leaf[1] <= old[1]:
                    _problem(report, seen, leaf[0], leaf[1], f"{where} moved its head back from {old[1]}")
                leaves[idx], hashes[idx] = leaf, leaf_hash(*leaf)
            elif idx == len(leaves):
                leaves.append(leaf)
                hashes.append(leaf_hash(*leaf))
            else:
                _problem(report, seen, leaf[0], leaf[1], f"{where} skips tree positions (leaves removed)")
        if len(leaves) != checkpoint.tree_size or merkle_root(hashes).hex() != checkpoint.root_hash:
            _problem(report, seen, f"checkpoint #{checkpoint.id}", 0,
                     f"the stored leaves no longer give the root signed in {where} (checkpoint log altered)")
        try:
            check_signature({**checkpoint_json_unsigned(checkpoint), "signature": checkpoint.signature},
                            checkpoint.public_key, what=where)
            if checkpoint.public_key != public_key:
                raise Refused(f"{where} was signed by key {key_id(checkpoint.public_key)}, not this instance's "
                              f"key {key_id(public_key)}")
        except Refused as exc:
            _problem(report, seen, f"checkpoint #{checkpoint.id}", 0, str(exc))
    signed = [(name, seq, head, f"checkpoint #{cid}") for cid, _idx, name, seq, head in rows]
    if kept is not None:
        signed += _kept(session, report, seen, public_key, kept)
    events = _stored_heads(session, stream)
    wanted = {(name, seq) for name, seq, _head, _where in signed if stream is None or name == stream}
    events.update(_events(session, wanted - set(events)))
    _heads_still_there(session, report, seen, stream, signed, events)
    return report


def _stored_heads(session: Session, stream: str | None) -> dict[tuple[str, int], str]:
    """(stream, seq) -> hash of every event a stored leaf names, in one join on the events' unique index."""
    stmt = (select(AuditEvent.stream, AuditEvent.seq, AuditEvent.hash)
            .join(CheckpointLeaf, and_(CheckpointLeaf.stream == AuditEvent.stream,
                                       CheckpointLeaf.seq == AuditEvent.seq))
            .distinct())
    if stream is not None:
        stmt = stmt.where(AuditEvent.stream == stream)
    return {(name, seq): hash_ for name, seq, hash_ in session.execute(stmt)}


def _events(session: Session, wanted: set[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """(stream, seq) -> hash of the events that checkpoints name (by the unique index)."""
    return event_hashes(session, sorted(wanted))


def _kept(session: Session, report: CheckpointReport, seen: set[str], public_key: str,
          kept: Mapping[str, Any]) -> list[tuple[str, int, str, str]]:
    """Check a kept checkpoint file against the stored log; return the heads it signed."""
    where = f"the kept checkpoint of {kept.get('at')}"
    try:
        check_signature(kept, str(kept.get("public_key")), what="kept checkpoint")
        if kept.get("public_key") != public_key:
            raise Refused(f"{where} was signed by key {key_id(str(kept.get('public_key')))}, not this instance's "
                          f"key {key_id(public_key)}")
        leaves = [(str(s), int(q), str(h)) for s, q, h in kept.get("leaves", [])]
        if "leaves" in kept:
            check_leaves(kept, leaves, "kept checkpoint")
    except (Refused, KeyError, TypeError, ValueError) as exc:
        _problem(report, seen, "kept checkpoint", 0, str(exc) if isinstance(exc, Refused) else
                 f"{where} is not a checkpoint file ({exc.__class__.__name__})")
        return []
    stored = session.scalar(select(Checkpoint).where(Checkpoint.tree_size == kept["tree_size"],
                                                     Checkpoint.root_hash == kept["root_hash"],
                                                     Checkpoint.signature == kept["signature"]))
    if stored is None:
        _problem(report, seen, "kept checkpoint", 0, f"{where} is no longer in the database (checkpoints "
                                                     "removed or rewritten)")
    elif "leaves" in kept and leaves_at(session, stored.id) != leaves:
        _problem(report, seen, "kept checkpoint", 0, f"the stored leaves of {where} differ from the file "
                                                     "(checkpoint log altered)")
    return [(s, q, h, where) for s, q, h in leaves]
