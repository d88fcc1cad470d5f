"""What a figure is computed over: the filters of the dashboards and the API, who may see which cases, and
the shared arithmetic (nearest-rank percentiles, in the database where it has them).

Access follows the work lists: admins and auditors see every case's figures; agents the figures of the
cases they may see in their work lists (cases.access.visible_clause: their queues, assigned to them...);
requesters and everyone else nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.orm import Session

from cases import access
from cases.errors import InvalidQuery, PermissionDenied
from cases.models import PRIORITIES, Case, InsightCase, Role, User
from forms.text import text_problem

REQUESTER_TYPES = ("account", "anonymous", "internal")
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Filters:
    """Period [start, end) and the cases it covers. None: every case type / version / queue..."""

    start: datetime
    end: datetime
    case_type: str | None = None
    version: int | None = None
    queue: str | None = None
    priority: str | None = None
    requester: str | None = None

    def shifted(self, *, back: timedelta) -> Filters:
        """The same filters over an earlier period (for trends)."""
        return replace(self, start=self.start - back, end=self.end - back)


@dataclass
class _Errors:
    found: dict[str, list[str]] = field(default_factory=dict)


def _moment(raw: str, name: str, errors: _Errors, *, end: bool) -> datetime | None:
    try:
        if "T" in raw:
            value = datetime.fromisoformat(raw)
            return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        day = datetime.fromisoformat(f"{raw}T00:00:00+00:00")
        return day + timedelta(days=1) if end else day  # a date "to" includes that whole day
    except ValueError:
        errors.found[name] = ["Enter a date (YYYY-MM-DD) or a time in ISO 8601 with its offset."]
        return None


def parse_filters(args: Mapping[str, str], *, now: datetime, case_type: str | None = None) -> Filters:
    """Filters from query-string values (`from`, `to`, `version`, `queue`, `priority`, `requester`); the
    default period is the last 30 days up to `now`. Bad values are an InvalidQuery naming the parameter."""
    errors = _Errors()

    def text(name: str, limit: int = 64) -> str | None:
        value = (args.get(name) or "").strip()
        if len(value) > limit or text_problem(value, multiline=False):
            errors.found[name] = [f"Use at most {limit} plain characters."]
            return None
        return value or None

    raw_from, raw_to = text("from", 40), text("to", 40)
    end = _moment(raw_to, "to", errors, end=True) if raw_to else now
    start = _moment(raw_from, "from", errors, end=False) if raw_from else None
    if end is not None and start is None and "from" not in errors.found:
        start = end - timedelta(days=DEFAULT_DAYS)
    if start is not None and end is not None and start >= end:
        errors.found["to"] = ["The end of the period must come after its start."]
    version = text("version", 9)
    if version is not None and not version.isdigit():
        errors.found["version"] = ["Enter a version number."]
    priority = text("priority", 10)
    if priority is not None and priority not in PRIORITIES:
        errors.found["priority"] = [f"Choose one of {', '.join(PRIORITIES)}."]
    requester = text("requester", 16)
    if requester is not None and requester not in REQUESTER_TYPES:
        errors.found["requester"] = [f"Choose one of {', '.join(REQUESTER_TYPES)}."]
    queue = text("queue")
    if errors.found or start is None or end is None:
        raise InvalidQuery("Some filters are not valid.", errors.found)
    return Filters(start=start, end=end, case_type=case_type or text("case_type"),
                   version=int(version) if version else None, queue=queue, priority=priority, requester=requester)


def may_see_insight(user: User | None) -> bool:
    """Admins, auditors and agents (for their cases) see figures; requesters and visitors none."""
    return user is not None and user.has_role(Role.ADMIN, Role.AUDITOR, Role.AGENT)


def scope(session: Session, user: User | None) -> ColumnElement[bool]:
    """A condition on InsightCase: the cases whose figures `user` may see (PermissionDenied for none)."""
    if user is None or not may_see_insight(user):
        raise PermissionDenied("Only staff see process figures.")
    if user.has_role(Role.ADMIN, Role.AUDITOR):
        return true()
    return InsightCase.case_id.in_(select(Case.id).where(access.visible_clause(session, user)))


def case_conditions(f: Filters, allowed: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    """The filters' conditions on the case facts (not the period: each figure says what falls in it)."""
    out = [allowed]
    if f.case_type is not None:
        out.append(InsightCase.case_type == f.case_type)
    if f.version is not None:
        out.append(InsightCase.version == f.version)
    if f.queue is not None:
        out.append(InsightCase.queue == f.queue)
    if f.priority is not None:
        out.append(InsightCase.priority == f.priority)
    if f.requester is not None:
        out.append(InsightCase.requester == f.requester)
    return out


def within(column: Any, f: Filters) -> list[ColumnElement[bool]]:
    return [column >= f.start, column < f.end]


# ---------------------------------------------------------------- nearest-rank percentiles


def nearest_rank(sorted_values: Sequence[float], p: float) -> float | None:
    """The value at rank ceil(p * n) (1-based) of sorted values: what PostgreSQL's percentile_disc gives."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass(frozen=True)
class Spread:
    """Count, total, median and p90 (seconds) of one group of durations."""

    count: int
    total: float
    median_s: float | None
    p90_s: float | None


def spreads(session: Session, value: Any, groups: Sequence[Any], stmt: Select[Any]) -> dict[tuple[Any, ...], Spread]:
    """Per group (a tuple of the `groups` values), the spread of `value` over the rows `stmt` selects
    (its FROM and WHERE; its columns are replaced). PostgreSQL computes the percentiles itself
    (percentile_disc: nearest rank); SQLite hands the values over and Python ranks them the same way."""
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(stmt.with_only_columns(
            *groups, func.count(value), func.coalesce(func.sum(value), 0.0),
            func.percentile_disc(0.5).within_group(value), func.percentile_disc(0.9).within_group(value))
            .where(value.is_not(None)).group_by(*groups))
        return {tuple(r[:len(groups)]): Spread(int(r[-4]), float(r[-3]),
                                                None if r[-2] is None else float(r[-2]),
                                                None if r[-1] is None else float(r[-1])) for r in rows}
    values: dict[tuple[Any, ...], list[float]] = {}
    for row in session.execute(stmt.with_only_columns(*groups, value).where(value.is_not(None))):
        values.setdefault(tuple(row[:len(groups)]), []).append(float(row[-1]))
    out = {}
    for key, found in values.items():
        found.sort()
        out[key] = Spread(len(found), math.fsum(found), nearest_rank(found, 0.5), nearest_rank(found, 0.9))
    return out


def spread(session: Session, value: Any, stmt: Select[Any]) -> Spread:
    """The spread of `value` over all rows `stmt` selects."""
    return spreads(session, value, [], stmt).get((), Spread(0, 0.0, None, None))
