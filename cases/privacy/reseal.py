"""One-time re-sealing of chains written before personal values were sealed out of the payloads.

Chains written by older Casework hold personal values in their hashed payloads (answers marked personal,
comments, answers, reasons, file names and digests) and requesters' e-mails as actors, so erasing them
would break the chains. ``reseal`` rewrites each such chain once, in one transaction: every personal value
is sealed as the current code seals it (cases.privacy.values, the same paths), the hashes are recomputed
from the first event, and a closing ``audit.reanchored`` event (actor ``system``) records, for every
rewritten event, its sequence number, old hash and new hash, with the checkpoint signed just before. The
caller signs a checkpoint before and after (``casework privacy reseal``), so the re-anchoring is covered
by a signature and the old heads are explained, not reported as tampering: a verifier accepts a signed
head that is no longer in a chain only when that chain's own re-anchoring event maps exactly that
(seq, old hash) to the hash the event has now (verifier.casework_verify.reanchored).

The append-only trigger on ``audit_events`` is lifted for the rewrite and put back in the same
transaction (DDL is transactional on SQLite and PostgreSQL): nobody else writes meanwhile, and a failure
leaves the log as it was. A chain that does not verify is not rewritten (it is named instead).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from cases import audit, documents
from cases.case_versions import case_schema
from cases.clock import Clock, utcnow
from cases.models import AuditEvent, AuditStream, Case, Checkpoint, Submission, User
from cases.privacy.values import ACTOR_PREFIX, MARKER, STAFF_ROLES, is_sealed, seal
from cases.submissions import form_schema
from cases.uow import transaction
from verifier.casework_verify import REANCHORED_KIND

REASON = "personal values sealed out of the hashed payloads (casework privacy reseal)"


@dataclass
class _Chain:
    """What sealing one stream's events needs: whose values they are and which answers are personal."""

    case_id: int | None
    personal: Collection[str]
    data_path: str


Sealer = Callable[[Any, str], Any]
Rule = Callable[[dict[str, Any], _Chain, Sealer], None]


def _seal_keys(keys: tuple[str, ...]) -> Rule:
    def rule(payload: dict[str, Any], _chain: _Chain, sealed: Sealer) -> None:
        for key in keys:
            if key in payload:
                payload[key] = sealed(payload[key], key)
    return rule


def _data(payload: dict[str, Any], chain: _Chain, sealed: Sealer) -> None:
    if "reason" in payload:  # a child case's filing says why it was started
        payload["reason"] = sealed(payload["reason"], "reason")
    data = payload.get("data")
    if isinstance(data, dict):
        payload["data"] = {k: sealed(v, f"{chain.data_path}.{k}") if k in chain.personal else v
                           for k, v in data.items()}


def _changes(payload: dict[str, Any], chain: _Chain, sealed: Sealer) -> None:
    for change in payload.get("changes") or []:
        if isinstance(change, dict) and change.get("field") in chain.personal:
            for side in ("before", "after"):
                if side in change:
                    change[side] = sealed(change[side], f"changes.{change['field']}.{side}")


def _file(item: dict[str, Any], sealed: Sealer) -> None:
    for key in ("name", "sha256"):
        if key in item:
            item[key] = sealed(item[key], f"file.{key}")


def _files(payload: dict[str, Any], _chain: _Chain, sealed: Sealer) -> None:
    for item in payload.get("files") or []:
        if isinstance(item, dict):
            _file(item, sealed)


RULES: dict[str, Rule] = {
    "case.filed": _data,
    "submission.filed": _data,
    "case.updated": _changes,
    "case.migrated": _changes,
    "case.transitioned": _seal_keys(("comment",)),
    "case.approval_decided": _seal_keys(("comment",)),
    "case.reopened": _seal_keys(("reason",)),
    "case.commented": _seal_keys(("body",)),
    "case.info_requested": _seal_keys(("question",)),
    "case.info_provided": _seal_keys(("answer",)),
    "case.file_attached": _files,
    "case.file_downloaded": lambda p, _c, s: _file(p, s),
    "task.started": _seal_keys(("reason",)),
    "task.cancelled": _seal_keys(("reason",)),
    "case.child_started": _seal_keys(("reason",)),
}
"""Per event kind, where its personal values sit: the places the current code seals when it writes."""


def _chain_of(session: Session, stream: str) -> _Chain:
    kind, _, raw = stream.partition(":")
    if kind == "case" and raw.isdigit() and (case := session.get(Case, int(raw))) is not None:
        return _Chain(case.id, case_schema(case).personal_keys, "data")
    if kind == "submission" and raw.isdigit() and (sub := session.get(Submission, int(raw))) is not None:
        return _Chain(None, form_schema(sub.version).personal_keys, f"{stream}.data")
    return _Chain(None, (), "data")


@dataclass
class StreamResult:
    stream: str
    events: int = 0
    values: int = 0
    """Values sealed (actors included)."""


@dataclass
class ResealReport:
    streams: list[StreamResult] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    """(stream, why) of chains left as they were: they do not verify."""
    documents: int = 0
    """Renderings queued for the re-anchored cases' finished documents (made from the events as they were)."""

    @property
    def values(self) -> int:
        return sum(s.values for s in self.streams)


class _Resealer:
    """Seals one event at a time; `dry` only counts (nothing is written)."""

    def __init__(self, session: Session, *, dry: bool, clock: Clock) -> None:
        self.session, self.dry, self.clock = session, dry, clock
        self.users: dict[int, User | None] = {}
        self.count = 0

    def _sealed(self, chain: _Chain, value: Any, path: str, user_id: int | None = None) -> Any:
        if is_sealed(value) or value is None or value in ("", [], {}):
            return value
        self.count += 1
        if self.dry:
            return {MARKER: "0" * 64}
        return seal(self.session, value, path=path, case_id=chain.case_id, user_id=user_id, clock=self.clock)

    def _actor(self, event: AuditEvent) -> str:
        if event.actor_id is None or event.actor.startswith(ACTOR_PREFIX) or event.actor == audit.SYSTEM_ACTOR:
            return event.actor
        if event.actor_id not in self.users:
            self.users[event.actor_id] = self.session.get(User, event.actor_id)
        user = self.users[event.actor_id]
        if user is not None and user.roles & STAFF_ROLES:
            return event.actor  # staff act in their role (as audit.append writes them)
        self.count += 1
        if self.dry:
            return ACTOR_PREFIX + "0" * 64
        if user is not None and event.actor == user.email:
            if user.audit_alias is None:
                user.audit_alias = seal(self.session, user.email, path="actor", user_id=user.id,
                                        clock=self.clock)[MARKER]
            return ACTOR_PREFIX + user.audit_alias
        return ACTOR_PREFIX + seal(self.session, event.actor, path="actor", user_id=event.actor_id,
                                   clock=self.clock)[MARKER]

    def event(self, chain: _Chain, event: AuditEvent) -> tuple[str, str]:
        """The event's actor and payload text with every personal value sealed."""
        actor = self._actor(event)
        rule = RULES.get(event.kind)
        if rule is None:
            return actor, event.payload
        payload = json.loads(event.payload)
        rule(payload, chain, lambda value, path: self._sealed(chain, value, path))
        return actor, audit.canonical(payload)


def _streams(session: Session) -> Iterator[str]:
    yield from session.scalars(select(AuditStream.stream).where(AuditStream.head_seq > 0)
                               .order_by(AuditStream.stream))


def pending(session: Session) -> list[StreamResult]:
    """The chains a reseal would rewrite, with the number of values it would seal (nothing is written)."""
    resealer = _Resealer(session, dry=True, clock=utcnow)
    out = []
    for stream in _streams(session):
        chain = _chain_of(session, stream)
        before = resealer.count
        events = audit.events(session, stream)
        changed = sum(1 for e in events if resealer.event(chain, e) != (e.actor, e.payload))
        if changed:
            out.append(StreamResult(stream, len(events), resealer.count - before))
    return out


def _lift_trigger(session: Session) -> Callable[[], object]:
    """Allow UPDATE on audit_events inside this transaction; returns what puts the refusal back."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change"))
        return lambda: session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change"))
    session.execute(text("DROP TRIGGER audit_events_no_update"))
    return lambda: session.execute(text(
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END"))


def _rewrite(session: Session, resealer: _Resealer, stream: str, events: list[AuditEvent]
             ) -> list[list[Any]] | None:
    """Seal the stream's events and chain them again; [seq, old hash, new hash] of each, None if unchanged."""
    chain = _chain_of(session, stream)
    rows = []
    prev = audit.GENESIS_HASH
    changed = False
    for event in events:
        actor, payload = resealer.event(chain, event)
        changed = changed or (actor, payload) != (event.actor, event.payload)
        document = {**audit.event_document(event), "actor": actor, "payload": json.loads(payload)}
        digest = audit.compute_hash(prev, document)
        rows.append((event, actor, payload, prev, digest))
        prev = digest
    if not changed:
        return None
    recorded = [[event.seq, event.hash, digest] for event, _a, _p, _prev, digest in rows]
    audit.write_pending(session)  # the sealed values first (one batched insert), then the rewrite
    for event, actor, payload, prev_hash, digest in rows:
        session.execute(update(AuditEvent).where(AuditEvent.id == event.id)
                        .values(actor=actor, payload=payload, prev_hash=prev_hash, hash=digest))
    last = rows[-1]
    session.execute(update(AuditStream).where(AuditStream.stream == stream)
                    .values(head_seq=last[0].seq, head_hash=last[4]))
    return recorded


def reseal(session: Session, *, before: Checkpoint | None, clock: Clock = utcnow) -> ResealReport:
    """Rewrite every chain that still holds personal values, once, with a recorded re-anchoring event.

    `before`: the checkpoint signed just before (named in each re-anchoring event)."""
    report = ResealReport()
    signed = None if before is None else {"id": before.id, "tree_size": before.tree_size,
                                          "root_hash": before.root_hash, "at": audit.format_time(before.at)}
    with transaction(session):
        resealer = _Resealer(session, dry=False, clock=clock)
        restore = _lift_trigger(session)
        for stream in list(_streams(session)):
            checked = audit.verify(session, stream)
            if not checked.ok:
                broken = checked.broken[0]
                report.refused.append((stream, f"event {broken.seq}: {broken.reason}"))
                continue
            events = audit.events(session, stream)
            start = resealer.count
            rewritten = _rewrite(session, resealer, stream, events)
            if rewritten is None:
                continue
            session.expire_all()  # the rows and the head were rewritten underneath the ORM
            audit.append(session, stream, REANCHORED_KIND,
                         {"reason": REASON, "checkpoint_before": signed, "rewritten": rewritten},
                         actor=None, clock=clock)
            report.streams.append(StreamResult(stream, len(events), resealer.count - start))
            case_id = _chain_of(session, stream).case_id
            if case_id is not None and (case := session.get(Case, case_id)) is not None:
                report.documents += len(documents.render_again(session, case, clock=clock))
        audit.write_pending(session)
        restore()
    return report
