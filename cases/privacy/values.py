"""Sealing personal values out of audit payloads, and revealing them for the people who read a case.

A personal value in a payload is written as ``{"$personal": commitment}``, ``commitment = sha256(salt ||
canonical JSON of the value)``, and the value with its salt goes to ``personal_values``. The hash chain
covers only the commitment, so erasing the value and its salt (``erase``) changes no hash, and the
commitment alone tells nothing about the value (the salt is 128 random bits).

Which values are personal: fields marked ``personal`` in the form (``FormSchema.personal_keys``), comment
and answer texts, file names and digests (the SHA-256 of a small file identifies it), and the e-mail of an
acting requester (an account without a staff role).
Readers get events through ``readable`` (or ``reveal`` for one payload): the value while it exists,
``"erased <when>"`` after.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, scoped_session

from cases.clock import Clock, utcnow
from cases.models import AuditEvent, PersonalValue, Role, User
from cases.uow import forget_rolled_back

__all__ = ["ACTOR_PREFIX", "ERASED_KIND", "MARKER", "commitment", "erased_answers", "erased_text", "is_sealed",
           "readable", "reveal", "reveal_actor", "seal", "seal_actor", "seal_changes", "seal_fields"]

MARKER = "$personal"
"""The key of a sealed value in a payload: ``{"$personal": "<commitment>"}``."""
ACTOR_PREFIX = "personal:"
"""An event's ``actor`` text when the actor is a requester: ``personal:<commitment>`` of their e-mail."""
STAFF_ROLES = frozenset({Role.ADMIN, Role.AGENT, Role.AUDITOR})
"""Roles that act in the name of the organisation: their e-mail is the actor of their events."""


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def commitment(salt_hex: str, value_json: str) -> str:
    """sha256(salt || canonical value): what the chain holds in place of the value."""
    return hashlib.sha256(bytes.fromhex(salt_hex) + value_json.encode()).hexdigest()


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def seal(session: Session, value: Any, *, path: str, case_id: int | None = None, user_id: int | None = None,
         clock: Clock = utcnow) -> Any:
    """The payload form of a personal (JSON) value: a marker, the value itself stored beside the chain.

    Empty values are returned as they are: there is nothing personal in them, and rules read emptiness."""
    if _is_empty(value):
        return value
    salt = secrets.token_hex(16)
    text = _canonical(value)
    digest = commitment(salt, text)
    row = {"commitment": digest, "case_id": case_id, "user_id": user_id, "path": path[:200], "value": text,
           "salt": salt, "created_at": clock(), "erased_at": None, "erasure_reason": None}
    session = _real(session)
    rows: list[tuple[Any, dict[str, Any]]] = session.info.setdefault(_PENDING, [])
    rows.append((session.get_nested_transaction() or session.get_transaction() or session.begin(), row))
    return {MARKER: digest}


_PENDING = "casework_personal_pending"


def _real(session: Session) -> Session:
    return session.registry() if isinstance(session, scoped_session) else session


@sa_event.listens_for(Session, "before_flush")
def _write_pending_values(session: Session, _context: Any, _instances: Any) -> None:
    """Sealed values go out with the next flush in one multi-row INSERT, like the events that name them."""
    rows = session.info.pop(_PENDING, None)
    if rows:
        session.connection().execute(insert(PersonalValue), [row for _t, row in rows])


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back_values(session: Session, previous: Any) -> None:
    """Values sealed inside a transaction or savepoint that rolled back are forgotten with its events."""
    forget_rolled_back(session, previous, _PENDING)


def seal_fields(session: Session, data: Mapping[str, Any], personal: Collection[str], *, case_id: int | None,
                clock: Clock = utcnow, path: str = "data") -> dict[str, Any]:
    """Form data (JSON values by key) with the values of the ``personal`` keys sealed."""
    return {key: seal(session, value, path=f"{path}.{key}", case_id=case_id, clock=clock) if key in personal
            else value for key, value in data.items()}


def seal_changes(session: Session, changes: Sequence[Mapping[str, Any]], personal: Collection[str], *,
                 case_id: int, clock: Clock = utcnow) -> list[dict[str, Any]]:
    """Data changes (field, before, after) with both sides of personal fields sealed."""
    out = []
    for change in changes:
        change = dict(change)
        if change.get("field") in personal:
            for side in ("before", "after"):
                change[side] = seal(session, change.get(side), path=f"changes.{change['field']}.{side}",
                                    case_id=case_id, clock=clock)
        out.append(change)
    return out


def seal_actor(session: Session, actor: User, *, clock: Clock = utcnow) -> str:
    """The ``actor`` text of an event: staff by e-mail (they act in their role), requesters sealed."""
    if actor.roles & STAFF_ROLES:
        return actor.email
    if actor.audit_alias is None:  # sealed once per account: later events cost no statement
        actor.audit_alias = seal(session, actor.email, path="actor", user_id=actor.id, clock=clock)[MARKER]
    return ACTOR_PREFIX + actor.audit_alias


def is_sealed(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and isinstance(value.get(MARKER), str)


def erased_text(at: datetime | None) -> str:
    """What readers show where an erased value was."""
    return f"erased {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if at else "erased"


ERASED_KIND = "case.personal_data_erased"


def erased_answers(events: Iterable[AuditEvent]) -> dict[str, str]:
    """Answer key -> "erased on <date>" for the fields a case's erasures removed (from its chain's events)."""
    out: dict[str, str] = {}
    for event in events:
        if event.kind == ERASED_KIND:
            for key in json.loads(event.payload).get("fields", []):
                out.setdefault(str(key), f"erased on {event.at.astimezone(UTC):%Y-%m-%d}")
    return out


def _commitments(value: Any, found: set[str]) -> None:
    if is_sealed(value):
        found.add(value[MARKER])
    elif isinstance(value, Mapping):
        for item in value.values():
            _commitments(item, found)
    elif isinstance(value, list):
        for item in value:
            _commitments(item, found)


def _lookup(session: Session, digests: Iterable[str]) -> dict[str, Any]:
    """Commitment -> the value, or the erased text."""
    wanted = sorted(set(digests))
    out: dict[str, Any] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(select(PersonalValue.commitment, PersonalValue.value, PersonalValue.erased_at)
                               .where(PersonalValue.commitment.in_(wanted[start:start + 500])))
        for digest, text, erased_at in rows:
            out[digest] = json.loads(text) if text is not None else erased_text(erased_at)
    return out


def _substitute(value: Any, known: Mapping[str, Any]) -> Any:
    if is_sealed(value):
        return known.get(value[MARKER], erased_text(None))
    if isinstance(value, Mapping):
        return {k: _substitute(v, known) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, known) for v in value]
    return value


def reveal(session: Session, payload: Any) -> Any:
    """A payload (or any JSON) with each sealed value replaced by the value or the erased text."""
    found: set[str] = set()
    _commitments(payload, found)
    return _substitute(payload, _lookup(session, found)) if found else payload


def reveal_actor(session: Session, actor: str) -> str:
    """An event's actor text as people read it: a sealed requester's e-mail, or the erased text."""
    if not actor.startswith(ACTOR_PREFIX):
        return actor
    shown = _lookup(session, [actor.removeprefix(ACTOR_PREFIX)]).get(actor.removeprefix(ACTOR_PREFIX))
    return shown if isinstance(shown, str) else erased_text(None)


def readable(session: Session, events: Sequence[AuditEvent]) -> list[AuditEvent]:
    """The events as people read them: detached copies with personal values (and actors) revealed.

    Never hash or export these: the chain covers the stored events, which keep the commitments."""
    payloads = [json.loads(e.payload) for e in events]
    found: set[str] = set()
    for payload in payloads:
        _commitments(payload, found)
    found |= {e.actor.removeprefix(ACTOR_PREFIX) for e in events if e.actor.startswith(ACTOR_PREFIX)}
    if not found:
        return list(events)
    known = _lookup(session, found)
    out = []
    for event, payload in zip(events, payloads, strict=True):
        actor = event.actor
        if actor.startswith(ACTOR_PREFIX):
            shown = known.get(actor.removeprefix(ACTOR_PREFIX), erased_text(None))
            actor = shown if isinstance(shown, str) else str(shown)
        out.append(AuditEvent(id=event.id, stream=event.stream, seq=event.seq, at=event.at, actor_id=event.actor_id,
                              actor=actor, kind=event.kind, payload=_canonical(_substitute(payload, known)),
                              prev_hash=event.prev_hash, hash=event.hash, request_id=event.request_id))
    return out
