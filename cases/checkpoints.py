"""Signed checkpoints over every audit stream's head, and the export bundles that carry them.

The construction (the standalone verifier, verifier/casework_verify.py, checks the same):
- **One leaf per stream**, `{"stream", "seq", "head"}` (the stream's last sequence number and head hash),
  hashed RFC 9162 style: leaf = sha256(0x00 || canonical JSON), node = sha256(0x01 || left || right).
- **Positions never change.** A stream gets its position when it first appears in a checkpoint, after
  every older stream (new streams in the order of their first event), so the tree only grows at the end.
- **A head only advances.** The builder moves a stream's leaf only when the chain still holds the
  previously signed head at its sequence number; a chain that went back, vanished or was rewritten keeps
  its old leaf (and `casework audit verify` names it), so the signer never signs over rewritten history.
  The one exception is a recorded re-anchoring (cases.privacy.reseal): the chain's own `audit.reanchored`
  event maps the signed (seq, head) to the hash the event has now.
  Before it extends the log the builder recomputes the last signed root from the stored leaves, so it
  never builds on altered leaves either.
- **Consistency** of a later checkpoint with an earlier one therefore means: every position of the
  earlier tree holds the same stream, with at least as many events, and the event at the earlier head
  still has the earlier hash. A deleted case leaves its leaf behind without events, a truncated chain
  lacks the signed sequence number, a rewritten one has another hash there: each is detected against
  any earlier checkpoint (its file with leaves, kept by an auditor, or the stored ones).
- The tree head is signed with Ed25519: the signed bytes are canonical JSON of
  `{"format": "casework-checkpoint/1", "tree_size", "root_hash", "at"}`.

Only changed leaves are stored with each checkpoint (cases.models.checkpoints).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, insert, select, text, tuple_
from sqlalchemy.orm import Session

from case_types.errors import Conflict
from cases import audit
from cases.clock import Clock, utcnow
from cases.models import AuditEvent, AuditStream, Case, Checkpoint, CheckpointLeaf
from cases.uow import transaction
from verifier.casework_verify import (
    BUNDLE_FORMAT,
    CHECKPOINT_FORMAT,
    REANCHORED_KIND,
    inclusion_proof,
    key_id,
    leaf_hash,
    merkle_levels,
    merkle_root,
    reanchored,
    signed_message,
)

Leaf = tuple[str, int, str]
_LOCK_KEY = 0x636B7074  # pg_advisory_xact_lock: one checkpoint builder at a time across processes
_CHUNK = 500


class CheckpointLogAltered(Conflict):
    """The stored leaves no longer give the last signed root: nothing is signed on top of them."""


class Signer(Protocol):
    public_key: str

    def sign(self, message: bytes) -> str: ...


class Ed25519Signer:
    """Signs checkpoints with the instance's private key; `public_key` is base64 of the raw 32 bytes."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public_key = base64.b64encode(raw).decode()

    @classmethod
    def from_pem(cls, pem: bytes) -> Ed25519Signer:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the checkpoint key is not an Ed25519 private key")
        return cls(key)

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self._key.sign(message)).decode()


def new_private_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def at_text(checkpoint: Checkpoint) -> str:
    return audit.format_time(checkpoint.at)


def checkpoint_json(checkpoint: Checkpoint) -> dict[str, Any]:
    """The signed tree head as the API, the bundles and the downloads show it."""
    return {
        "format": CHECKPOINT_FORMAT,
        "id": checkpoint.id,
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash,
        "at": at_text(checkpoint),
        "signature": checkpoint.signature,
        "public_key": checkpoint.public_key,
        "key_id": key_id(checkpoint.public_key),
        "events": checkpoint.events_total,
    }


def latest(session: Session) -> Checkpoint | None:
    return session.scalar(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(1))


def recent(session: Session, *, limit: int = 20) -> list[Checkpoint]:
    return list(session.scalars(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(limit)))


def leaves_at(session: Session, checkpoint_id: int) -> list[Leaf]:
    """The full tree of a checkpoint: per position, the newest leaf row of a checkpoint up to it."""
    rows = session.execute(select(CheckpointLeaf.idx, CheckpointLeaf.stream, CheckpointLeaf.seq, CheckpointLeaf.head)
                           .where(CheckpointLeaf.checkpoint_id <= checkpoint_id)
                           .order_by(CheckpointLeaf.checkpoint_id, CheckpointLeaf.idx)
                           .execution_options(yield_per=5000))
    by_index: dict[int, Leaf] = {}
    for idx, stream, seq, head in rows:
        by_index[idx] = (stream, seq, head)
    return [by_index[i] for i in range(len(by_index)) if i in by_index]


@dataclass
class Refusal:
    """A stream whose head the builder would not sign (and why)."""

    stream: str
    reason: str


@dataclass
class BuildResult:
    checkpoint: Checkpoint | None
    created: bool
    refused: list[Refusal] = field(default_factory=list)


def event_hashes(session: Session, pairs: Sequence[tuple[str, int]]) -> dict[tuple[str, int], str]:
    found: dict[tuple[str, int], str] = {}
    for start in range(0, len(pairs), _CHUNK):
        chunk = pairs[start:start + _CHUNK]
        for stream, seq, hash_ in session.execute(select(AuditEvent.stream, AuditEvent.seq, AuditEvent.hash)
                                                  .where(tuple_(AuditEvent.stream, AuditEvent.seq).in_(chunk))):
            found[(stream, seq)] = hash_
    return found


def _creation_order(session: Session, streams: list[str]) -> dict[str, int]:
    first: dict[str, int] = {}
    for start in range(0, len(streams), _CHUNK):
        chunk = streams[start:start + _CHUNK]
        first.update(session.execute(select(AuditEvent.stream, AuditEvent.id)
                                     .where(AuditEvent.seq == 1, AuditEvent.stream.in_(chunk))).all())
    return first


def plan(session: Session, leaves: list[Leaf], heads: Iterable[tuple[str, int, str]]
         ) -> tuple[dict[int, Leaf], list[Refusal]]:
    """The leaves a new checkpoint changes (position -> leaf), and the heads it refuses to sign."""
    position = {stream: i for i, (stream, _seq, _head) in enumerate(leaves)}
    advancing: list[tuple[int, Leaf]] = []
    new: list[Leaf] = []
    for stream, seq, head in heads:
        i = position.get(stream)
        if i is None:
            new.append((stream, seq, head))
        elif (seq, head) != leaves[i][1:]:
            advancing.append((i, (stream, seq, head)))
    refused: list[Refusal] = []
    changes: dict[int, Leaf] = {}
    signed = event_hashes(session, [leaves[i][:2] for i, _leaf in advancing])
    rewritten = [leaves[i][0] for i, _leaf in advancing if signed.get(leaves[i][:2]) != leaves[i][2]]
    maps = reanchored_streams(session, rewritten) if rewritten else {}
    for i, leaf in advancing:
        stream, old_seq, old_head = leaves[i]
        if leaf[1] <= old_seq:
            refused.append(Refusal(stream, f"its head went back from event {old_seq} to {leaf[1]}"))
        elif signed.get((stream, old_seq)) != old_head and not explained(maps, stream, old_seq, old_head,
                                                                         signed.get((stream, old_seq))):
            refused.append(Refusal(stream, f"event {old_seq} no longer has the hash signed in the last checkpoint"))
        else:
            changes[i] = leaf
    order = _creation_order(session, [leaf[0] for leaf in new])
    new.sort(key=lambda leaf: (order.get(leaf[0], 1 << 62), leaf[0]))
    for offset, leaf in enumerate(new):
        changes[len(leaves) + offset] = leaf
    return changes, refused


def build(session: Session, signer: Signer, *, clock: Clock = utcnow, quick: bool = False) -> BuildResult:
    """Sign a new checkpoint if any stream head changed since the last one; else return the last one.

    `quick` (the periodic sweep) skips the comparison when the heads add up to what the last checkpoint
    covered. Raises CheckpointLogAltered when the stored leaves do not give the last signed root.
    """
    with transaction(session):
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        last = latest(session)
        heads = session.execute(select(AuditStream.stream, AuditStream.head_seq, AuditStream.head_hash)
                                .where(AuditStream.head_seq > 0)).all()
        total = sum(seq for _stream, seq, _head in heads)
        if last is not None and quick and last.events_total == total:
            return BuildResult(last, False)
        leaves = leaves_at(session, last.id) if last is not None else []
        if last is not None and (len(leaves) != last.tree_size
                                 or merkle_root([leaf_hash(*leaf) for leaf in leaves]).hex() != last.root_hash):
            raise CheckpointLogAltered(f"The stored leaves no longer give the root signed in checkpoint #{last.id}; "
                                       "run `casework audit verify`.")
        changes, refused = plan(session, leaves, heads)
        if last is not None and not changes:
            return BuildResult(last, False, refused)
        for i in sorted(changes):
            if i < len(leaves):
                leaves[i] = changes[i]
            else:
                leaves.append(changes[i])
        at = clock().astimezone(UTC)
        root = merkle_root([leaf_hash(*leaf) for leaf in leaves]).hex()
        checkpoint = Checkpoint(tree_size=len(leaves), root_hash=root, at=at, public_key=signer.public_key,
                                events_total=total, signature="")
        checkpoint.signature = signer.sign(signed_message(checkpoint_json_unsigned(checkpoint)))
        session.add(checkpoint)
        session.flush()
        if changes:
            session.execute(insert(CheckpointLeaf), [
                {"checkpoint_id": checkpoint.id, "idx": i, "stream": s, "seq": n, "head": h}
                for i, (s, n, h) in sorted(changes.items())])
    return BuildResult(checkpoint, True, refused)


def checkpoint_json_unsigned(checkpoint: Checkpoint) -> dict[str, Any]:
    return {"tree_size": checkpoint.tree_size, "root_hash": checkpoint.root_hash, "at": at_text(checkpoint)}


def covering(session: Session, stream: str, seq: int, *, made_by: datetime | None = None) -> Checkpoint | None:
    """The first checkpoint whose leaf for `stream` is at event `seq` or later (made by `made_by`)."""
    stmt = (select(func.min(CheckpointLeaf.checkpoint_id))
            .join(Checkpoint, Checkpoint.id == CheckpointLeaf.checkpoint_id)
            .where(CheckpointLeaf.stream == stream, CheckpointLeaf.seq >= seq))
    if made_by is not None:
        stmt = stmt.where(Checkpoint.at <= made_by)
    found = session.scalar(stmt)
    return session.get(Checkpoint, found) if found is not None else None


def stream_refs(session: Session, streams: Iterable[str]) -> dict[str, str]:
    """Case references of case streams (`case:12` -> `CMP-000012`), for people to read."""
    ids = [int(s[5:]) for s in streams if s.startswith("case:") and s[5:].isdigit()]
    refs: dict[str, str] = {}
    for start in range(0, len(ids), _CHUNK):
        refs.update({f"case:{case_id}": ref for case_id, ref in session.execute(
            select(Case.id, Case.ref).where(Case.id.in_(ids[start:start + _CHUNK])))})
    return refs


def checkpoint_file(session: Session, checkpoint: Checkpoint) -> dict[str, Any]:
    """A checkpoint with all its leaves: the file an auditor keeps to check later exports against."""
    leaves = leaves_at(session, checkpoint.id)
    body = checkpoint_json(checkpoint)
    body["leaves"] = [list(leaf) for leaf in leaves]
    body["refs"] = stream_refs(session, (leaf[0] for leaf in leaves))
    return body


def _events_json(session: Session, up_to: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """Each stream's events up to its sequence number, as `audit.event_json` shows them (read in bulk:
    a bundle of every case reads every event)."""
    out: dict[str, list[dict[str, Any]]] = {}
    streams = list(up_to)
    columns = (AuditEvent.stream, AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.kind,
               AuditEvent.payload, AuditEvent.prev_hash, AuditEvent.hash)
    for start in range(0, len(streams), _CHUNK):
        rows = session.execute(select(*columns).where(AuditEvent.stream.in_(streams[start:start + _CHUNK]))
                               .order_by(AuditEvent.stream, AuditEvent.seq))
        for stream, seq, at, actor, kind, payload, prev_hash, hash_ in rows:
            if seq <= up_to[stream]:
                out.setdefault(stream, []).append({
                    "stream": stream, "seq": seq, "at": audit.format_time(at), "actor": actor, "kind": kind,
                    "payload": json.loads(payload), "prev_hash": prev_hash, "hash": hash_})
    return out


def bundle(session: Session, cases: Sequence[Case], checkpoint: Checkpoint, *, complete: bool = False
           ) -> dict[str, Any]:
    """Cases with their events up to the head `checkpoint` signed, each leaf's inclusion proof, the
    checkpoint and its public key (and every leaf, for an export of all cases)."""
    leaves = leaves_at(session, checkpoint.id)
    levels = merkle_levels([leaf_hash(*leaf) for leaf in leaves])
    position = {leaf[0]: i for i, leaf in enumerate(leaves)}
    covered = [case for case in cases if case.stream in position]  # later ones were filed after it
    events = _events_json(session, {case.stream: leaves[position[case.stream]][1] for case in covered})
    items = []
    for case in covered:
        i = position[case.stream]
        stream, seq, head = leaves[i]
        items.append({"id": case.id, "ref": case.ref, "stream": stream, "events": events.get(stream, []),
                      "leaf": {"index": i, "stream": stream, "seq": seq, "head": head},
                      "inclusion_proof": [p.hex() for p in inclusion_proof(levels, i)]})
    body: dict[str, Any] = {"format": BUNDLE_FORMAT, "complete": complete, "cases": items,
                            "checkpoint": checkpoint_json(checkpoint), "public_key": checkpoint.public_key}
    if complete:
        body["leaves"] = [list(leaf) for leaf in leaves]
    return body


def fresh_bundle(session: Session, cases: Sequence[Case], signer: Signer, *, complete: bool = False,
                 clock: Clock = utcnow) -> dict[str, Any]:
    """A bundle against a checkpoint made now if anything changed, so the cases' latest events are covered."""
    result = build(session, signer, clock=clock)
    assert result.checkpoint is not None
    return bundle(session, cases, result.checkpoint, complete=complete)


def document_bundle(session: Session, case: Case, seq: int, *, made_by: datetime | None) -> dict[str, Any] | None:
    """The bundle a dossier covering events 1..seq embeds: against the first checkpoint that covers them
    (made by `made_by`, when the document was finished), so rendering it again gives the same bytes;
    None for a document finished before any checkpoint covered it."""
    checkpoint = covering(session, case.stream, seq, made_by=made_by)
    return bundle(session, [case], checkpoint) if checkpoint is not None else None


def reanchored_streams(session: Session, streams: Collection[str]) -> dict[str, dict[tuple[int, str], str]]:
    """Per stream, (seq, old hash) -> new hash from its re-anchoring events."""
    out: dict[str, dict[tuple[int, str], str]] = {}
    wanted = sorted(set(streams))
    for start in range(0, len(wanted), 500):
        rows = session.execute(select(AuditEvent.stream, AuditEvent.actor, AuditEvent.kind, AuditEvent.payload)
                               .where(AuditEvent.kind == REANCHORED_KIND,
                                      AuditEvent.stream.in_(wanted[start:start + 500]))
                               .order_by(AuditEvent.stream, AuditEvent.seq))
        for stream, actor, kind, payload in rows:
            out.setdefault(stream, {}).update(
                reanchored([{"kind": kind, "actor": actor, "payload": json.loads(payload)}]))
    return out


def explained(maps: Mapping[str, Mapping[tuple[int, str], str]], stream: str, seq: int, old: str,
              now: str | None) -> bool:
    """Whether a signed head (stream, seq, old) that the chain no longer holds was re-anchored to `now`."""
    return now is not None and maps.get(stream, {}).get((seq, old)) == now
