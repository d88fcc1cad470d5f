"""What an insight page looks at: the period, case type and version, queue, priority, requester type, and
the queues the viewer may see (agents only their own). Parsed from the query string, every value checked;
one `Scope` is handed to the domain and put back into every link, so a drill-down shows the cases behind
exactly the figure that was clicked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import access
from cases.errors import InvalidQuery
from cases.inputs import parse_count
from cases.models import PRIORITIES, Queue, Role, User

PERIODS = (7, 30, 90, 365)
DEFAULT_DAYS = 90
REQUESTER_TYPES = ("account", "anonymous", "internal")
_SLUG_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class Scope:
    """The filters of an insight page (dates are UTC; `end` is exclusive)."""

    start: datetime
    end: datetime
    days: int | None = DEFAULT_DAYS
    case_type: str | None = None
    version: int | None = None
    queue: str | None = None
    priority: str | None = None
    requester: str | None = None
    queues: frozenset[str] | None = None  # None: every queue; else only these (an agent's own)

    def args(self, **override: Any) -> dict[str, str]:
        """The query-string values that give this scope again (with `override` applied)."""
        out: dict[str, str] = {}
        if self.days:
            out["days"] = str(self.days)
        else:
            out["from"] = self.start.date().isoformat()
            out["to"] = (self.end - timedelta(days=1)).date().isoformat()
        for name in ("version", "queue", "priority", "requester"):
            value = getattr(self, name)
            if value is not None:
                out[name] = str(value)
        out.update({k: str(v) for k, v in override.items() if v is not None})
        return out

    def previous(self) -> Scope:
        """The period just before this one, of the same length (for trends)."""
        length = self.end - self.start
        return replace(self, start=self.start - length, end=self.start, days=None)

    @property
    def label(self) -> str:
        last = (self.end - timedelta(days=1)).date()
        return f"{self.start.date().isoformat()} to {last.isoformat()}"


def _slug(args: Mapping[str, str], name: str, errors: dict[str, list[str]]) -> str | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    if len(value) > 64 or not set(value) <= _SLUG_CHARS:
        errors[name] = ["Choose one from the list."]
        return None
    return value


def _day(args: Mapping[str, str], name: str, errors: dict[str, list[str]]) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = ["Enter a date as YYYY-MM-DD."]
        return None


def visible_queues(session: Session, user: User) -> frozenset[str] | None:
    """The queues whose figures `user` may see: all for admins and auditors, their own for agents."""
    if user.has_role(Role.ADMIN, Role.AUDITOR):
        return None
    ids = access.queue_ids_of(session, user)
    return frozenset(session.scalars(select(Queue.slug).where(Queue.id.in_(ids or {-1}))))


def parse_scope(args: Mapping[str, str], *, now: datetime, case_type: str | None,
                queues: frozenset[str] | None) -> Scope:
    """The scope of a request; bad values raise InvalidQuery naming the parameter (HTTP 400)."""
    errors: dict[str, list[str]] = {}
    today = now.astimezone(UTC).date()
    start_day, end_day = _day(args, "from", errors), _day(args, "to", errors)
    days: int | None = None
    if start_day or end_day:
        start_day = start_day or (end_day or today) - timedelta(days=DEFAULT_DAYS - 1)
        end_day = end_day or today
        if end_day < start_day:
            errors["to"] = ["The end date comes before the start date."]
        elif (end_day - start_day).days > 3660:
            errors["from"] = ["Choose a period of at most ten years."]
    else:
        days = parse_count(args.get("days") or str(DEFAULT_DAYS), low=1, high=3660)
        if days is None:
            errors["days"] = ["Choose a number of days from 1 to 3660."]
            days = DEFAULT_DAYS
        end_day, start_day = today, today - timedelta(days=days - 1)
    version = None
    if args.get("version"):
        version = parse_count(args.get("version"), low=1, high=100000)
        if version is None:
            errors["version"] = ["Choose a published version."]
    priority = (args.get("priority") or "").strip() or None
    if priority and priority not in PRIORITIES:
        errors["priority"] = [f"Choose one of {', '.join(PRIORITIES)}."]
    requester = (args.get("requester") or "").strip() or None
    if requester and requester not in REQUESTER_TYPES:
        errors["requester"] = [f"Choose one of {', '.join(REQUESTER_TYPES)}."]
    queue = _slug(args, "queue", errors)
    if queue and queues is not None and queue not in queues:
        errors["queue"] = ["You see the figures of your own queues only."]
    if errors:
        raise InvalidQuery("Some filters are not valid.", errors)
    assert start_day is not None and end_day is not None
    start = datetime.combine(start_day, datetime.min.time(), UTC)
    end = datetime.combine(end_day + timedelta(days=1), datetime.min.time(), UTC)
    return Scope(start=start, end=end, days=days, case_type=case_type, version=version, queue=queue,
                 priority=priority, requester=requester, queues=queues)
