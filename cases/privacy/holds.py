"""Legal holds: placed and lifted by admins, audited, and asked by every erasure and retention sweep.

`held_clause()` is the one definition of "this case is held" (a correlated EXISTS over the cases table),
so the sweep, its preview and the erasure of one case cannot disagree about which cases a hold covers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, with_expression

from case_types.errors import NotFound, ValidationFailed
from cases import audit
from cases.clock import Clock, utcnow
from cases.errors import PermissionDenied
from cases.models import Case, Definition, LegalHold, Role, User
from cases.uow import transaction

MAX_REASON = 2000


@dataclass(frozen=True)
class HoldSearch:
    """The cases a search hold covers: every criterion that is set must match (dates are filing days, UTC)."""

    case_type: str = ""  # slug
    email: str = ""
    state: str = ""
    filed_from: date | None = None
    filed_to: date | None = None  # inclusive

    @property
    def empty(self) -> bool:
        return not (self.case_type or self.email or self.state or self.filed_from or self.filed_to)


def _day(value: date | None, *, after: bool = False) -> datetime | None:
    if value is None:
        return None
    return datetime.combine(value + timedelta(days=1 if after else 0), time(), tzinfo=UTC)


def _email_matches(email: Any) -> Any:
    return or_(Case.contact_email == email,
               Case.requester_id.in_(select(User.id).where(User.email == email)))


def _covers() -> Any:
    """Over `LegalHold` and `Case`: the hold covers the case (its one case, or every criterion it sets)."""
    search = and_(
        LegalHold.case_id.is_(None),
        or_(LegalHold.case_type_id.is_(None), LegalHold.case_type_id == Case.case_type_id),
        or_(LegalHold.email.is_(None), _email_matches(LegalHold.email)),
        or_(LegalHold.state.is_(None), LegalHold.state == Case.state),
        or_(LegalHold.filed_from.is_(None), Case.created_at >= LegalHold.filed_from),
        or_(LegalHold.filed_until.is_(None), Case.created_at < LegalHold.filed_until),
    )
    return or_(LegalHold.case_id == Case.id, search)


def held_clause() -> Any:
    """A WHERE clause over `Case`: true for a case some hold in force covers."""
    return exists().where(LegalHold.lifted_at.is_(None), _covers())


def with_held() -> Any:
    """A loader option filling `Case.held` in the query that loads the case (no query of its own)."""
    return with_expression(Case.held, held_clause())


def is_held(session: Session, case: Case) -> bool:
    """Whether a hold in force covers `case` (then nothing of it may be erased, anonymised or deleted)."""
    return bool(session.scalar(select(held_clause()).select_from(Case).where(Case.id == case.id)))


def active_hold(session: Session, case: Case) -> LegalHold | None:
    """The oldest hold in force covering `case` (erasure names its reason), if any."""
    found = holds_of(session, case)
    return found[0] if found else None


def holds_of(session: Session, case: Case) -> list[LegalHold]:
    """The holds in force that cover `case`, oldest first (the case page and the erasure page name them)."""
    if case.held is False:  # loaded with_held(): known to be free
        return []
    stmt = (select(LegalHold).join(Case, Case.id == case.id)
            .where(LegalHold.lifted_at.is_(None), _covers()).order_by(LegalHold.id))
    return list(session.scalars(stmt).unique())


def _require_admin(actor: User) -> None:
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied("Only admins place and lift legal holds.")


def _checked_reason(reason: str, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Give the reason for the hold.", {field: ["Enter a reason."]})
    if len(reason) > MAX_REASON:
        raise ValidationFailed("The reason is too long.", {field: [f"Use at most {MAX_REASON} characters."]})
    return reason


def _case_type(session: Session, slug: str) -> Definition | None:
    if not slug:
        return None
    definition = session.scalar(select(Definition).where(Definition.kind == "case_type", Definition.slug == slug))
    if definition is None:
        raise ValidationFailed("No such case type.", {"case_type": ["No such case type."]})
    return definition


def _search_hold(session: Session, search: HoldSearch) -> LegalHold:
    if search.empty:
        raise ValidationFailed("Say which cases the hold covers.",
                               {"case_type": ["Choose a case type, an e-mail, a state or filing dates."]})
    if search.filed_from and search.filed_to and search.filed_to < search.filed_from:
        raise ValidationFailed("The filing period ends before it starts.",
                               {"filed_to": ["The end lies before the start."]})
    definition = _case_type(session, search.case_type)
    return LegalHold(case_type_id=definition.id if definition else None, email=search.email.strip().lower() or None,
                     state=search.state.strip() or None, filed_from=_day(search.filed_from),
                     filed_until=_day(search.filed_to, after=True))


def describe(hold: LegalHold) -> str:
    """What the hold covers, in words (pages, the audit payload)."""
    if hold.case_id is not None:
        return f"case {hold.case.ref}" if hold.case is not None else f"case #{hold.case_id}"
    parts = []
    if hold.case_type is not None:
        parts.append(f"case type {hold.case_type.title}")
    if hold.email:
        parts.append(f"requester {hold.email}")
    if hold.state:
        parts.append(f"state {hold.state}")
    if hold.filed_from is not None:
        parts.append(f"filed from {hold.filed_from.date().isoformat()}")
    if hold.filed_until is not None:
        parts.append(f"filed until {(hold.filed_until - timedelta(days=1)).date().isoformat()}")
    return "all cases with " + ", ".join(parts)


def _payload(hold: LegalHold) -> dict[str, Any]:
    return {"case_id": hold.case_id, "case_type": hold.case_type.slug if hold.case_type else None,
            "email": hold.email, "state": hold.state, "filed_from": hold.filed_from,
            "filed_until": hold.filed_until, "reason": hold.reason}


def place_hold(session: Session, *, reason: str, actor: User, case: Case | None = None,
               search: HoldSearch | None = None, clock: Clock = utcnow) -> LegalHold:
    """Hold one case, or every case matching `search` (now and later), until an admin lifts it."""
    _require_admin(actor)
    reason = _checked_reason(reason)
    if (case is None) == (search is None):
        raise ValueError("a hold covers either one case or a search")
    hold = LegalHold(case_id=case.id) if case is not None else _search_hold(session, search or HoldSearch())
    with transaction(session):
        hold.reason, hold.placed_by_id, hold.placed_at = reason, actor.id, clock()
        session.add(hold)
        session.flush()
        session.refresh(hold)
        audit.append(session, hold.stream, "hold.placed", {**_payload(hold), "covers": describe(hold)},
                     actor=actor, clock=clock, fresh=True)
    return hold


def lift_hold(session: Session, hold: LegalHold, *, reason: str, actor: User, clock: Clock = utcnow) -> LegalHold:
    """End a hold in force (the row stays, with who lifted it, when and why)."""
    _require_admin(actor)
    reason = _checked_reason(reason, "lift_reason")
    with transaction(session):
        if hold.lifted_at is not None:
            raise ValidationFailed("This hold was already lifted.", {"lift_reason": ["Already lifted."]})
        hold.lifted_at, hold.lifted_by_id, hold.lift_reason = clock(), actor.id, reason
        audit.append(session, hold.stream, "hold.lifted", {"reason": reason}, actor=actor, clock=clock)
    return hold


def list_holds(session: Session) -> Sequence[LegalHold]:
    """Holds in force first, then lifted ones; newest first within each."""
    return session.scalars(select(LegalHold).order_by(LegalHold.lifted_at.is_not(None), LegalHold.id.desc())).all()


def get_hold(session: Session, hold_id: int) -> LegalHold:
    hold = session.get(LegalHold, hold_id)
    if hold is None:
        raise NotFound("No such legal hold.")
    return hold


def covered_count(session: Session, hold: LegalHold) -> int:
    """How many cases the hold covers today."""
    return int(session.scalar(select(func.count()).select_from(Case).join(LegalHold, LegalHold.id == hold.id)
                              .where(_covers())) or 0)


def held_case_ids(session: Session, case_ids: Sequence[int]) -> set[int]:
    """Those of `case_ids` some hold in force covers (one query for a whole list)."""
    if not case_ids:
        return set()
    return set(session.scalars(select(Case.id).where(Case.id.in_(case_ids), held_clause())))
