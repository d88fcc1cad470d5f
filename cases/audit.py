"""Writing and verifying the audit chains.

`append` runs inside the caller's transaction, so a change and its events commit together or not at
all. Appends to one stream are serialised by locking the stream's head row (FOR UPDATE on PostgreSQL;
on SQLite the write transaction is already exclusive, see cases.uow).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from cases.clock import Clock, utcnow
from cases.context import request_id
from cases.models import GENESIS_HASH, AuditEvent, AuditStream, User

SYSTEM_ACTOR = "system"


def jsonable(value: Any) -> Any:
    """Plain JSON values for payloads: Decimal as string (exact), dates as ISO 8601."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot put a {type(value).__name__} into an audit payload")


def canonical(value: Any) -> str:
    """The one serialisation that hashes are computed over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def format_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_document(event: AuditEvent) -> dict[str, Any]:
    """What the hash covers: everything about the event except its own hashes and row id."""
    return {
        "stream": event.stream,
        "seq": event.seq,
        "at": format_time(event.at),
        "actor": event.actor,
        "kind": event.kind,
        "payload": json.loads(event.payload),
    }


def compute_hash(prev_hash: str, document: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(document)).encode()).hexdigest()


def _lock_head(session: Session, stream: str) -> AuditStream:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(pg_insert(AuditStream).values(stream=stream, head_seq=0, head_hash=GENESIS_HASH)
                        .on_conflict_do_nothing(index_elements=["stream"]))
    head = session.scalar(select(AuditStream).where(AuditStream.stream == stream).with_for_update())
    if head is None:  # SQLite: the write transaction is exclusive, so nobody can insert it meanwhile
        head = AuditStream(stream=stream, head_seq=0, head_hash=GENESIS_HASH)
        session.add(head)
    return head


def append(
    session: Session,
    stream: str,
    kind: str,
    payload: Mapping[str, Any],
    *,
    actor: User | None,
    clock: Clock = utcnow,
) -> AuditEvent:
    """Add one event to `stream` in the current transaction and return it."""
    head = _lock_head(session, stream)
    event = AuditEvent(
        stream=stream,
        seq=head.head_seq + 1,
        at=clock().astimezone(UTC),
        actor_id=actor.id if actor is not None else None,
        actor=actor.email if actor is not None else SYSTEM_ACTOR,
        kind=kind,
        payload=canonical(jsonable(dict(payload))),
        prev_hash=head.head_hash,
        request_id=request_id(),
    )
    event.hash = compute_hash(event.prev_hash, event_document(event))
    session.add(event)
    head.head_seq, head.head_hash = event.seq, event.hash
    session.flush()
    return event


def events(session: Session, stream: str) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.stream == stream).order_by(AuditEvent.seq)
    return list(session.scalars(stmt))


def event_json(event: AuditEvent) -> dict[str, Any]:
    """An event as the API and the exports show it."""
    document = event_document(event)
    document["prev_hash"] = event.prev_hash
    document["hash"] = event.hash
    return document


@dataclass
class Broken:
    stream: str
    seq: int
    reason: str


@dataclass
class Verification:
    checked: int = 0
    streams: int = 0
    broken: list[Broken] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken

    @property
    def first_broken(self) -> Broken | None:
        return self.broken[0] if self.broken else None


def verify(session: Session, stream: str | None = None) -> Verification:
    """Recompute the chains (one stream or all) and name the first broken event of each broken chain."""
    result = Verification()
    stmt = select(AuditEvent).order_by(AuditEvent.stream, AuditEvent.seq)
    heads_stmt = select(AuditStream)
    if stream is not None:
        stmt = stmt.where(AuditEvent.stream == stream)
        heads_stmt = heads_stmt.where(AuditStream.stream == stream)
    heads = {h.stream: h for h in session.scalars(heads_stmt)}
    seen: dict[str, tuple[int, str]] = {}
    failed: set[str] = set()
    for event in session.scalars(stmt.execution_options(yield_per=1000)):
        result.checked += 1
        if event.stream in failed:
            continue
        last_seq, last_hash = seen.get(event.stream, (0, GENESIS_HASH))
        reason = None
        if event.seq != last_seq + 1:
            reason = f"expected sequence number {last_seq + 1}, found {event.seq} (events missing)"
        elif event.prev_hash != last_hash:
            reason = "previous-hash link does not match the event before it"
        elif compute_hash(event.prev_hash, event_document(event)) != event.hash:
            reason = "content does not match its hash (the event was altered)"
        if reason:
            result.broken.append(Broken(event.stream, event.seq, reason))
            failed.add(event.stream)
        seen[event.stream] = (event.seq, event.hash)
    for name, head in heads.items():
        if name in failed:
            continue
        last_seq, last_hash = seen.get(name, (0, GENESIS_HASH))
        if (head.head_seq, head.head_hash) != (last_seq, last_hash):
            result.broken.append(Broken(name, last_seq + 1, f"the chain ends at {last_seq} but its head "
                                                            f"says {head.head_seq} (events removed)"))
    result.streams = len(set(seen) | set(heads))
    return result


def stream_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditStream)) or 0


CSV_COLUMNS = ["stream", "seq", "at", "actor", "kind", "payload", "prev_hash", "hash"]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(text: str) -> str:
    """Neutralise cells a spreadsheet would run as a formula (OWASP CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_row(event: AuditEvent) -> list[str]:
    """One event as the cells of CSV_COLUMNS, each neutralised for spreadsheets."""
    doc = event_json(event)
    doc["payload"] = canonical(doc["payload"])
    return [csv_safe(str(doc[c])) for c in CSV_COLUMNS]


def to_csv(rows: list[AuditEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for event in rows:
        writer.writerow(csv_row(event))
    return out.getvalue()


def iter_streams(session: Session) -> Iterator[str]:
    yield from session.scalars(select(AuditStream.stream).order_by(AuditStream.stream))
