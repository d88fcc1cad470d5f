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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, scoped_session

from cases.clock import Clock, utcnow
from cases.context import request_id
from cases.insight import live as insight
from cases.models import GENESIS_HASH, AuditEvent, AuditStream, User
from cases.privacy.values import seal_actor
from cases.uow import forget_rolled_back

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


_HEADS = "casework_audit_heads"
_PENDING = "casework_audit_pending"
WRITTEN = "casework_audit_written"
_FRESH = "casework_audit_fresh_heads"
_SNAPSHOTS = "casework_audit_fresh_snapshots"
WRITTEN_KINDS = "casework_audit_written_kinds"


def _real(session: Session) -> Session:
    return session.registry() if isinstance(session, scoped_session) else session


def _pending(session: Session) -> list[tuple[Any, dict[str, Any]]]:
    rows: list[tuple[Any, dict[str, Any]]] = session.info.setdefault(_PENDING, [])
    return rows


@sa_event.listens_for(Session, "before_flush")
def _write_pending_events(session: Session, _context: Any, _instances: Any) -> None:
    """Appended events go out with the next flush in one multi-row INSERT (the ORM would insert them one
    by one to learn ids nobody reads)."""
    rows = session.info.pop(_PENDING, None)
    if rows:
        session.connection().execute(insert(AuditEvent), [row for _t, row in rows])
        # What this transaction has written, for listeners that act on commit (cases.webhooks' outbox).
        session.info.setdefault(WRITTEN, []).extend(rows)
        # The kinds written, for whoever counts committed events after the commit (the web layer's metrics).
        session.info.setdefault(WRITTEN_KINDS, []).extend((row["kind"], row["payload"]) for _t, row in rows)
        # The case events, for the analytics read model written just before the commit (cases.insight).
        insight.collect(session, rows)


@sa_event.listens_for(Session, "after_begin")
def _forget_written(session: Session, _transaction: Any, _connection: Any) -> None:
    session.info.pop(WRITTEN_KINDS, None)


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back_events(session: Session, previous: Any) -> None:
    """Events appended (or written) inside a transaction or savepoint that rolled back are forgotten with it."""
    forget_rolled_back(session, previous, _PENDING, WRITTEN)


def _heads_of_transaction(session: Session) -> dict[str, AuditStream]:
    """The stream heads this transaction has already locked and read (forgotten when it ends)."""
    transaction = session.get_transaction()
    if transaction is None:
        session.connection()  # begin it, as the head query would have
        transaction = session.get_transaction()
    held = session.info.get(_HEADS)
    if held is None or held[0] is not transaction:
        held = (transaction, {})
        session.info[_HEADS] = held
    heads: dict[str, AuditStream] = held[1]
    return heads


def _fresh_heads(session: Session) -> dict[str, AuditStream]:
    """Heads of streams begun in this transaction: kept out of the session until commit, so each is
    written once (one INSERT with its final values) however many flushes the use case makes."""
    fresh: dict[str, AuditStream] = session.info.setdefault(_FRESH, {})
    return fresh


@sa_event.listens_for(Session, "after_transaction_create")
def _snapshot_fresh_heads(session: Session, transaction: Any) -> None:
    if transaction.nested and session.info.get(_FRESH):
        snapshots = session.info.setdefault(_SNAPSHOTS, {})
        snapshots[transaction] = {name: (h.head_seq, h.head_hash) for name, h in session.info[_FRESH].items()}


@sa_event.listens_for(Session, "after_soft_rollback")
def _restore_fresh_heads(session: Session, previous: Any) -> None:
    """A rolled-back savepoint takes its appends with it: fresh heads go back to what they were."""
    fresh = session.info.get(_FRESH)
    if not fresh:
        return
    if not previous.nested:
        session.info.pop(_FRESH, None)
        session.info.pop(_SNAPSHOTS, None)
        return
    snapshot = session.info.get(_SNAPSHOTS, {}).pop(previous, {})
    heads = _heads_of_transaction(session)
    for name in list(fresh):
        if name in snapshot:
            fresh[name].head_seq, fresh[name].head_hash = snapshot[name]
        else:
            del fresh[name]
            heads.pop(name, None)


@sa_event.listens_for(Session, "before_commit")
def _add_fresh_heads(session: Session) -> None:
    write_pending(session, flush=False)
    insight.before_commit(session)  # the read-model rows of this transaction's case events, in it


def write_pending(session: Session, *, flush: bool = True) -> None:
    """Put this transaction's fresh stream heads into the session (and flush, with the pending events),
    so what it appended is in the database before anything reads the log inside the same transaction."""
    session = _real(session)
    fresh = session.info.pop(_FRESH, None)
    session.info.pop(_SNAPSHOTS, None)
    if fresh:
        session.add_all(fresh.values())
    if flush:
        session.flush()


def _lock_head(session: Session, stream: str, *, fresh: bool = False) -> AuditStream:
    """The stream's head, locked for this transaction: read once per stream and transaction."""
    heads = _heads_of_transaction(session)
    head = heads.get(stream)
    if head is not None and (head in session or stream in session.info.get(_FRESH, {})):
        return head  # still locked by this transaction (a rolled-back savepoint reloads its values)
    if fresh:  # the caller made the stream's subject in this transaction: nobody else can append to it
        head = AuditStream(stream=stream, head_seq=0, head_hash=GENESIS_HASH)
        _fresh_heads(session)[stream] = head
    else:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(pg_insert(AuditStream).values(stream=stream, head_seq=0, head_hash=GENESIS_HASH)
                            .on_conflict_do_nothing(index_elements=["stream"]))
        head = session.scalar(select(AuditStream).where(AuditStream.stream == stream).with_for_update()
                              .execution_options(populate_existing=True))
        if head is None:  # SQLite: the write transaction is exclusive, so nobody can insert it meanwhile
            head = AuditStream(stream=stream, head_seq=0, head_hash=GENESIS_HASH)
            session.add(head)
    heads[stream] = head
    return head


def append(
    session: Session,
    stream: str,
    kind: str,
    payload: Mapping[str, Any],
    *,
    actor: User | None,
    clock: Clock = utcnow,
    fresh: bool = False,
) -> AuditEvent:
    """Add one event to `stream` in the current transaction and return it.

    The stream's head is read (and locked) once per transaction and written once, at the next flush,
    together with the events: several events of one use case cost one head read, one batched insert
    and one head update. The returned event is not added to the session (it is written as a row).
    `fresh`: the stream belongs to something created in this transaction (a new case), so there is no
    head to read yet. Personal values must already be sealed in `payload` (cases.privacy.values); an
    acting requester's e-mail is sealed here.
    """
    session = _real(session)
    head = _lock_head(session, stream, fresh=fresh)
    event = AuditEvent(
        stream=stream,
        seq=head.head_seq + 1,
        at=clock().astimezone(UTC),
        actor_id=actor.id if actor is not None else None,
        actor=seal_actor(session, actor, clock=clock) if actor is not None else SYSTEM_ACTOR,
        kind=kind,
        payload=canonical(jsonable(dict(payload))),
        prev_hash=head.head_hash,
        request_id=request_id(),
    )
    event.hash = compute_hash(event.prev_hash, event_document(event))
    row = {c: getattr(event, c) for c in ("stream", "seq", "at", "actor_id", "actor", "kind", "payload",
                                          "prev_hash", "hash", "request_id")}
    _pending(session).append((session.get_nested_transaction() or session.get_transaction(), row))
    head.head_seq, head.head_hash = event.seq, event.hash  # makes the session dirty: the next flush writes
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
    """Recompute the chains (one stream or all) and name the first broken event of each broken chain.

    Streams plain columns (no ORM objects; a server-side cursor on PostgreSQL) with the hashed text built
    by the database from the stored payload text, which is already canonical (hashed_rows), so memory
    stays flat however long the log is.
    """
    write_pending(session)  # what this session appended is part of the log it checks
    heads_stmt = select(AuditStream.stream, AuditStream.head_seq, AuditStream.head_hash)
    if stream is not None:
        heads_stmt = heads_stmt.where(AuditStream.stream == stream)
    heads = {name: (seq, digest) for name, seq, digest in session.connection().execute(heads_stmt)}
    return verify_rows(hashed_rows(session, stream), heads, lambda name, seq: _stored_matches(session, name, seq))


HashedRow = tuple[str, int, str, str, str | None]

# Per event (stream, seq, prev_hash, hash, the text its hash covers): prev_hash + canonical(event_document)
# assembled by the database from the stored columns (the stored payload text is already canonical), so
# Python does one SHA-256 per row and nothing else. Plain SQL on the driver's own cursor: at a million
# events the ORM's and even Core's per-row work cost more than SHA-256. Where the database quotes a
# string differently from Python's JSON (or SQLite holds a time in another format) the text does not
# hash to the stored digest and the event is checked again in Python (_stored_matches), so the verdict
# never depends on the database's quoting. Braces are escaped twice: the text is formatted twice.
_DOC = ("prev_hash || '{{{{\"actor\":' || {q}(actor) || ',\"at\":\"' || {at} || '\",\"kind\":' || {q}(kind) "
        "|| ',\"payload\":' || payload || ',\"seq\":' || {seq} || ',\"stream\":' || {q}(stream) || '}}}}'")
_ROWS_SQL = {
    "postgresql": ("SELECT stream, seq, prev_hash, hash, " + _DOC.format(  # noqa: S608 - constant text
        q="to_json", seq="seq::text",
        at="to_char(timezone('UTC', at), 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')")
        + " FROM audit_events {where} ORDER BY stream, seq", "%s"),
    # SQLite keeps UTC times as 'YYYY-MM-DD HH:MM:SS.ffffff'; any other text gives NULL (checked in Python).
    "sqlite": ("SELECT stream, seq, prev_hash, hash, CASE"  # noqa: S608 - constant text
               " WHEN length(at) = 26 AND substr(at, 11, 1) = ' ' THEN "
               + _DOC.format(q="json_quote", seq="seq", at="substr(at, 1, 10) || 'T' || substr(at, 12) || '+00:00'")
               + " END FROM audit_events {where} ORDER BY stream, seq", "?"),
}


def hashed_rows(session: Session, stream: str | None = None, *, batch: int = 5000) -> Iterator[HashedRow]:
    """The events in chain order as (stream, seq, prev_hash, hash, hashed text or None), read `batch`
    rows at a time (a server-side cursor on PostgreSQL), so memory stays flat."""
    connection = session.connection()
    dialect = connection.dialect.name
    sql, mark = _ROWS_SQL["postgresql" if dialect == "postgresql" else "sqlite"]
    sql = sql.format(where=f"WHERE stream = {mark}" if stream is not None else "")
    params = (stream,) if stream is not None else ()
    raw: Any = connection.connection.driver_connection
    if dialect == "postgresql":
        cursor = raw.cursor(name="casework_audit_verify")
        cursor.itersize = batch
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()


def _stored_matches(session: Session, stream: str, seq: int) -> bool:
    """The slow path for one event whose database-built text did not hash to its digest: rebuild the
    text in Python from the stored columns, then (for stored text that is not canonical, never written
    by append) parse and re-canonicalise, as verification always did."""
    row = session.connection().execute(
        select(AuditEvent.at, AuditEvent.actor, AuditEvent.kind, AuditEvent.payload, AuditEvent.prev_hash,
               AuditEvent.hash).where(AuditEvent.stream == stream, AuditEvent.seq == seq)).one()
    at, actor, kind, payload_text, prev_hash, digest = row
    at_text = format_time(at if at.tzinfo else at.replace(tzinfo=UTC))
    text = (f'{prev_hash}{{"actor":{_encode(actor)},"at":"{at_text}","kind":{_encode(kind)},'
            f'"payload":{payload_text},"seq":{seq},"stream":{_encode(stream)}}}')
    if hashlib.sha256(text.encode()).hexdigest() == digest:
        return True
    try:
        document = {"stream": stream, "seq": seq, "at": at_text, "actor": actor, "kind": kind,
                    "payload": json.loads(payload_text)}
    except ValueError:
        return False
    return compute_hash(prev_hash, document) == digest


_encode = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses for strings


def verify_rows(rows: Iterable[HashedRow], heads: Mapping[str, tuple[int, str]],
                matches: Callable[[str, int], bool]) -> Verification:
    """Check event rows (in chain order) against their links, hashes and the streams' heads; `matches`
    decides an event whose hashed text did not give its digest."""
    result = Verification()
    broken = result.broken
    seen: dict[str, tuple[int, str]] = {}
    failed: set[str] = set()
    sha256 = hashlib.sha256
    current: str | None = None
    current_failed = False
    last_seq, last_hash = 0, GENESIS_HASH
    checked = 0
    for stream, seq, prev_hash, digest, text in rows:
        checked += 1
        if stream != current:
            if current is not None:
                seen[current] = (last_seq, last_hash)
            current, current_failed = stream, stream in failed
            last_seq, last_hash = seen.get(stream, (0, GENESIS_HASH))
        if current_failed:
            continue
        reason = None
        if seq != last_seq + 1:
            reason = f"expected sequence number {last_seq + 1}, found {seq} (events missing)"
        elif prev_hash != last_hash:
            reason = "previous-hash link does not match the event before it"
        elif (text is None or sha256(text.encode()).hexdigest() != digest) and not matches(stream, seq):
            reason = "content does not match its hash (the event was altered)"
        if reason:
            broken.append(Broken(stream, seq, reason))
            failed.add(stream)
            current_failed = True
        last_seq, last_hash = seq, digest
    if current is not None:
        seen[current] = (last_seq, last_hash)
    result.checked = checked
    for name, (head_seq, head_hash) in heads.items():
        if name in failed:
            continue
        last_seq, last_hash = seen.get(name, (0, GENESIS_HASH))
        if (head_seq, head_hash) != (last_seq, last_hash):
            broken.append(Broken(name, last_seq + 1, f"the chain ends at {last_seq} but its head "
                                                     f"says {head_seq} (events removed)"))
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
