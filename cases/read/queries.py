"""Read side: the work lists agents and auditors filter, search, sort and page through."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from cases import access
from cases.clock import Clock, utcnow
from cases.errors import InvalidQuery
from cases.models import PRIORITIES, Case, Deadline, Definition, Queue, User
from forms.text import text_problem

SORTS = {
    "newest": (Case.created_at.desc(), Case.id.desc()),
    "oldest": (Case.created_at.asc(), Case.id.asc()),
    "due": (Case.due_at.is_(None), Case.due_at.asc(), Case.id.asc()),
    "updated": (Case.updated_at.desc(), Case.id.desc()),
    "priority": (sql_case({"urgent": 0, "high": 1, "normal": 2, "low": 3}, value=Case.priority),
                 Case.created_at.asc()),
}
SCOPES = ("mine", "queues", "all")
MAX_PER_PAGE = 100


@dataclass
class CaseFilters:
    """What a work list shows. Every value comes from a query string, so each is checked."""

    scope: str = "all"             # mine: assigned to me; queues: my queues; all: everything I may see
    state: str | None = None
    queue: str | None = None       # queue slug
    assignee: str | None = None    # e-mail, "me" or "none"
    priority: str | None = None
    case_type: str | None = None   # case-type slug
    requester: str | None = None   # e-mail
    overdue: bool = False
    open: bool | None = True       # True: open cases, False: closed, None: both
    q: str = ""
    created_from: datetime | None = None
    created_to: datetime | None = None
    sort: str = "newest"
    errors: dict[str, list[str]] = field(default_factory=dict)


def parse_filters(args: Mapping[str, str], *, default_scope: str = "all") -> CaseFilters:
    """Filters from query-string values; bad values are an InvalidQuery naming the parameter."""
    errors: dict[str, list[str]] = {}

    def text(name: str, limit: int = 200) -> str | None:
        value = (args.get(name) or "").strip()
        if len(value) > limit:
            errors[name] = [f"Use at most {limit} characters."]
        elif text_problem(value, multiline=False):
            errors[name] = [str(text_problem(value, multiline=False))]
            return None
        return value or None

    scope = text("scope") or default_scope
    if scope not in SCOPES:
        errors["scope"] = [f"Choose one of {', '.join(SCOPES)}."]
    sort = text("sort") or "newest"
    if sort not in SORTS:
        errors["sort"] = [f"Choose one of {', '.join(SORTS)}."]
    priority = text("priority")
    if priority and priority not in PRIORITIES:
        errors["priority"] = [f"Choose one of {', '.join(PRIORITIES)}."]
    status = text("status") or "open"
    if status not in ("open", "closed", "any"):
        errors["status"] = ["Choose open, closed or any."]

    def day(name: str) -> datetime | None:
        raw = text(name)
        if not raw:
            return None
        try:
            return datetime.fromisoformat(raw if "T" in raw else f"{raw}T00:00:00+00:00")
        except ValueError:
            errors[name] = ["Enter a date as YYYY-MM-DD."]
            return None

    filters = CaseFilters(
        scope=scope, state=text("state", 64), queue=text("queue", 64), assignee=text("assignee", 254),
        priority=priority, case_type=text("case_type", 64), requester=text("requester", 254),
        overdue=(args.get("overdue") or "") in ("1", "true", "on", "yes"),
        open={"open": True, "closed": False, "any": None}.get(status, True), q=text("q") or "",
        created_from=day("created_from"), created_to=day("created_to"), sort=sort,
    )
    if errors:
        raise InvalidQuery("Some filters are not valid.", errors)
    return filters


def _filtered(session: Session, user: User, filters: CaseFilters, clock: Clock) -> Select[Case]:
    # "Mine" and "my queues" are always within what the user may see (assignees and queue members see
    # their cases), so they skip the broad visibility OR and let the (queue|assignee, is_open, created_at)
    # indexes serve the list in order.
    if filters.scope == "mine":
        stmt = select(Case).where(Case.assignee_id == user.id)
    elif filters.scope == "queues":
        stmt = select(Case).where(Case.queue_id.in_(access.queue_ids_of(session, user) or {-1}))
    else:
        stmt = select(Case).where(access.visible_clause(session, user))
    if filters.open is not None:
        stmt = stmt.where(Case.is_open.is_(filters.open))
    if filters.state:
        stmt = stmt.where(Case.state == filters.state)
    if filters.queue:
        stmt = stmt.where(Case.queue_id == select(Queue.id).where(Queue.slug == filters.queue).scalar_subquery())
    if filters.assignee == "me":
        stmt = stmt.where(Case.assignee_id == user.id)
    elif filters.assignee == "none":
        stmt = stmt.where(Case.assignee_id.is_(None))
    elif filters.assignee:
        stmt = stmt.where(Case.assignee_id == select(User.id).where(User.email == filters.assignee.lower())
                          .scalar_subquery())
    if filters.requester:
        email = filters.requester.lower()
        stmt = stmt.where(or_(Case.contact_email == email,
                              Case.requester_id == select(User.id).where(User.email == email).scalar_subquery()))
    if filters.priority:
        stmt = stmt.where(Case.priority == filters.priority)
    if filters.case_type:
        stmt = stmt.where(Case.case_type_id == select(Definition.id).where(
            Definition.kind == "case_type", Definition.slug == filters.case_type).scalar_subquery())
    if filters.overdue:
        stmt = stmt.where(and_(Case.is_open.is_(True), Case.due_at.is_not(None), Case.due_at < clock()))
    if filters.created_from:
        stmt = stmt.where(Case.created_at >= filters.created_from)
    if filters.created_to:
        stmt = stmt.where(Case.created_at < filters.created_to)
    if filters.q:
        term = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(or_(Case.ref.ilike(f"{term}%", escape="\\"), Case.summary.ilike(f"%{term}%", escape="\\"),
                              Case.data.ilike(f"%{term}%", escape="\\")))
    return stmt


@dataclass
class Page:
    items: Sequence[Case]
    total: int
    page: int
    per_page: int
    at_risk: set[int] = field(default_factory=set)
    """Ids of the page's cases with an SLA deadline at risk (see `at_risk`)."""

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def work_list(session: Session, user: User, filters: CaseFilters, *, page: int = 1, per_page: int = 25,
              clock: Clock = utcnow) -> Page:
    """One page of the cases `user` may see that match `filters`, in the chosen order."""
    if not 1 <= per_page <= MAX_PER_PAGE or page < 1:
        raise InvalidQuery("Invalid page.", {"page": [f"Pages start at 1; at most {MAX_PER_PAGE} per page."]})
    stmt = _filtered(session, user, filters, clock)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = session.scalars(stmt.order_by(*SORTS[filters.sort]).limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=items, total=total, page=page, per_page=per_page,
                at_risk=at_risk(session, [c.id for c in items]))


def at_risk(session: Session, case_ids: Sequence[int]) -> set[int]:
    """Which of these cases have an SLA deadline that has warned and is still owed but not yet missed
    (missed ones show as overdue). One query for a page of ids."""
    if not case_ids:
        return set()
    stmt = select(Deadline.case_id).where(Deadline.case_id.in_(list(case_ids)), Deadline.warned_at.is_not(None),
                                          Deadline.ended_at.is_(None), Deadline.status.in_(("running", "paused")))
    return set(session.scalars(stmt.distinct()))


def counts(session: Session, user: User, clock: Clock = utcnow) -> dict[str, int]:
    """Numbers for the work home: assigned to me, unassigned in my queues, overdue in my queues.

    Each is one range of an index ((assignee|queue, is_open, created_at|due_at)), so they stay cheap
    with millions of cases.
    """
    queues = access.queue_ids_of(session, user) or {-1}
    base = select(func.count()).select_from(Case).where(Case.is_open.is_(True))
    return {
        "mine": session.scalar(base.where(Case.assignee_id == user.id)) or 0,
        "unassigned": session.scalar(base.where(Case.queue_id.in_(queues), Case.assignee_id.is_(None))) or 0,
        "overdue": session.scalar(base.where(Case.queue_id.in_(queues), Case.due_at < clock())) or 0,
    }


def requester_cases(session: Session, user: User) -> Sequence[Case]:
    return session.scalars(select(Case).where(Case.requester_id == user.id)
                           .order_by(Case.created_at.desc())).all()


def case_json(case: Case, *, hide_staff: bool = False, **extra: Any) -> dict[str, Any]:
    """A case as the API shows it (the contract of DESIGN.md); `hide_staff` for requesters, to whom the
    assignee is only ever "support"."""
    body: dict[str, Any] = {
        "id": case.id, "ref": case.ref, "case_type": case.case_type.slug, "summary": case.summary,
        "state": case.state, "queue": case.queue.slug,
        "assignee": case.assignee.email if case.assignee else None, "priority": case.priority,
        "due_at": case.due_at.isoformat() if case.due_at else None,
        "created_at": case.created_at.isoformat(), "updated_at": case.updated_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "requester": case.requester.email if case.requester else (case.contact_email or None),
        "version": case.lock_version,
    }
    if hide_staff and body["assignee"] is not None:
        body["assignee"] = "support"
    body.update(extra)
    return body


def all_matching(session: Session, user: User, filters: CaseFilters, *,
                 clock: Clock = utcnow) -> list[tuple[int, str]]:
    """(id, reference) of every case `user` may see that matches `filters`, oldest first (for exports)."""
    stmt = _filtered(session, user, filters, clock).order_by(Case.created_at.asc(), Case.id.asc())
    return [(row.id, row.ref) for row in session.execute(stmt.with_only_columns(Case.id, Case.ref))]


ID_CHUNK = 5000


def cases_among(session: Session, user: User, case_ids: Sequence[int], *, page: int = 1,
                per_page: int = 25) -> Page:
    """One page (newest first) of the cases among `case_ids` that `user` may see: the drill-down list behind
    a figure honours the same row-level rules as the work lists. Ids are checked in chunks, so the list
    behind a figure of any size stays within the database's limit on bound parameters."""
    if not 1 <= per_page <= MAX_PER_PAGE or page < 1:
        raise InvalidQuery("Invalid page.", {"page": [f"Pages start at 1; at most {MAX_PER_PAGE} per page."]})
    wanted = sorted(set(case_ids), reverse=True)
    visible: list[int] = []
    clause = access.visible_clause(session, user)
    for start in range(0, len(wanted), ID_CHUNK):
        chunk = wanted[start:start + ID_CHUNK]
        visible.extend(session.scalars(select(Case.id).where(Case.id.in_(chunk), clause)))
    visible.sort(reverse=True)
    ids = visible[(page - 1) * per_page: page * per_page]
    by_id = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(ids or [-1])))}
    items = [by_id[i] for i in ids if i in by_id]
    return Page(items=items, total=len(visible), page=page, per_page=per_page, at_risk=at_risk(session, ids))
