"""The KPIs of process insight, exactly as DESIGN.md defines them, from the read model (cases.insight).

All durations in seconds, percentiles by nearest rank. Over a period [start, end):
- volume: cases filed (filed_at in the period) and closed (their last closing in the period);
- WIP: cases open at the end of the period (their state visit spanning `end` is not a final state);
- cycle time: closed_at - filed_at of the cases closed in the period;
- time per state: left_at - entered_at of the visits left in the period (final states excluded), with the
  visits' count and each state's share of all that time; waiting time is the time in waiting states,
  working time the time in the others;
- first response: from filing to the case's first move out of its first state, for cases filed in the period;
- SLA compliance: deadlines met / deadlines due in the period (due_at in it, met or breached; the due time
  already excludes paused time), per target (kind at state), per queue, per week; warnings fired in it;
- exceptions: cases whose first exception (a state reached by a rule's move_to_state, a rule-driven
  escalation, a rule failure) falls in the period; reopen rate: cases reopened / cases closed in the period;
  rework: returns to a state already visited (not the answer to a request for information);
- backlog per queue: the cases open now, with their age; throughput: cases closed in the period per queue
  and per assignee.

Every figure has a name (FIGURES) and `cases_behind(session, user, filters, figure)` lists the case ids
behind it, computed by the same conditions as the number.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, distinct, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import True_

from cases.errors import InvalidQuery
from cases.insight.filters import Filters, case_conditions, nearest_rank, scope, spread, spreads, within
from cases.models import InsightCase, SlaOutcome, StateVisit, User

C, V, S = InsightCase, StateVisit, SlaOutcome
DECIDED = ("met", "breached")


# ---------------------------------------------------------------- the figures' case sets


def _cases(f: Filters, allowed: ColumnElement[bool], *conditions: ColumnElement[bool]) -> Select[Any]:
    return select(C.case_id).where(*case_conditions(f, allowed), *conditions)


def _by_type_only(f: Filters, allowed: ColumnElement[bool]) -> bool:
    """Nothing but the case type (which visits and deadlines carry) narrows the cases: no join needed."""
    return isinstance(allowed, True_) and f.case_type is not None and \
        (f.version, f.queue, f.priority, f.requester) == (None, None, None, None)


def _visits(f: Filters, allowed: ColumnElement[bool], *conditions: ColumnElement[bool]) -> Select[Any]:
    if _by_type_only(f, allowed):
        return select(V.case_id).where(V.case_type == f.case_type, *conditions)
    stmt = select(V.case_id).join(C, C.case_id == V.case_id).where(*case_conditions(f, allowed), *conditions)
    return stmt.where(V.case_type == f.case_type) if f.case_type is not None else stmt


def _sla(f: Filters, allowed: ColumnElement[bool], *conditions: ColumnElement[bool]) -> Select[Any]:
    if _by_type_only(f, allowed):
        return select(S.case_id).where(S.case_type == f.case_type, *conditions)
    stmt = select(S.case_id).join(C, C.case_id == S.case_id).where(*case_conditions(f, allowed), *conditions)
    return stmt.where(S.case_type == f.case_type) if f.case_type is not None else stmt


def _open_at(f: Filters) -> list[ColumnElement[bool]]:
    return [V.entered_at < f.end, or_(V.left_at.is_(None), V.left_at >= f.end), V.state_kind != "final"]


def _rework() -> list[ColumnElement[bool]]:
    return [V.visit_no > 1, V.entered_by != "information"]


Figure = Callable[[Filters, ColumnElement[bool], str], Select[Any]]

FIGURES: dict[str, Figure] = {
    "filed": lambda f, a, _k: _cases(f, a, *within(C.filed_at, f)),
    "closed": lambda f, a, _k: _cases(f, a, *within(C.closed_at, f)),
    "cycle_time": lambda f, a, _k: _cases(f, a, *within(C.closed_at, f)),
    "wip": lambda f, a, _k: _visits(f, a, *_open_at(f)),
    "first_response": lambda f, a, _k: _cases(f, a, *within(C.filed_at, f), C.first_response_at.is_not(None)),
    "sla_due": lambda f, a, _k: _sla(f, a, *within(S.due_at, f), S.status.in_(DECIDED)),
    "sla_met": lambda f, a, _k: _sla(f, a, *within(S.due_at, f), S.status == "met"),
    "sla_breached": lambda f, a, _k: _sla(f, a, *within(S.due_at, f), S.status == "breached"),
    "sla_warned": lambda f, a, _k: _sla(f, a, *within(S.warned_at, f)),
    "exceptions": lambda f, a, _k: _cases(f, a, *within(C.exception_at, f)),
    "escalations": lambda f, a, _k: _cases(f, a, *within(C.escalated_at, f)),
    "rule_failures": lambda f, a, _k: _cases(f, a, *within(C.rule_failed_at, f)),
    "moved_by_rule": lambda f, a, _k: _visits(f, a, *within(V.entered_at, f), V.entered_by == "rule"),
    "reopened": lambda f, a, _k: _visits(f, a, *within(V.entered_at, f), V.entered_by == "reopen"),
    "rework": lambda f, a, _k: _visits(f, a, *within(V.entered_at, f), *_rework()),
    # With a key: "state:<state>", "backlog:<queue>", "sla_target:<kind>@<state>", "sla_queue:<queue>",
    # "throughput_queue:<queue>", "throughput_agent:<e-mail or 'unassigned'>".
    "state": lambda f, a, k: _visits(f, a, *within(V.left_at, f), V.state == k, V.state_kind != "final"),
    "backlog": lambda f, a, k: _cases(f, a, C.is_open.is_(True), C.queue == k),
    "sla_target": lambda f, a, k: _sla(f, a, *within(S.due_at, f), S.status.in_(DECIDED),
                                       S.kind == k.partition("@")[0], S.state == k.partition("@")[2]),
    "sla_queue": lambda f, a, k: _sla(f, a, *within(S.due_at, f), S.status.in_(DECIDED), S.queue == k),
    "throughput_queue": lambda f, a, k: _cases(f, a, *within(C.closed_at, f), C.queue == k),
    "throughput_agent": lambda f, a, k: _cases(f, a, *within(C.closed_at, f),
                                               C.assignee.is_(None) if k == "unassigned" else C.assignee == k),
}
KEYED = frozenset({"state", "backlog", "sla_target", "sla_queue", "throughput_queue", "throughput_agent"})


def figure_query(session: Session, user: User | None, f: Filters, figure: str) -> Select[Any]:
    """The case ids behind a figure (InvalidQuery for a name that is none)."""
    name, _, key = figure.partition(":")
    if name not in FIGURES or (name in KEYED) != bool(key):
        raise InvalidQuery("Unknown figure.", {"figure": [f"No figure is called '{figure[:80]}'."]})
    return FIGURES[name](f, scope(session, user), key)


def cases_behind(session: Session, user: User | None, f: Filters, figure: str) -> list[int]:
    """The ids of the cases behind a figure, oldest first: the list a dashboard's number links to."""
    stmt = figure_query(session, user, f, figure)
    return sorted(set(session.scalars(stmt)))


def _count(session: Session, stmt: Select[Any], *, distinct_cases: bool = False) -> int:
    column = distinct(stmt.selected_columns[0]) if distinct_cases else stmt.selected_columns[0]
    return int(session.scalar(stmt.with_only_columns(func.count(column))) or 0)


# ---------------------------------------------------------------- the dashboard


def kpis(session: Session, user: User | None, f: Filters, *, now: datetime) -> dict[str, Any]:
    """Every KPI of the dashboard (the API's shape, DESIGN.md, with the further figures beside it)."""
    a = scope(session, user)
    cycle = spread(session, C.cycle_seconds, FIGURES["cycle_time"](f, a, ""))
    closed = cycle.count
    due = _count(session, FIGURES["sla_due"](f, a, ""))
    met = _count(session, FIGURES["sla_met"](f, a, ""))
    breached = _count(session, FIGURES["sla_breached"](f, a, ""))
    states = _states(session, f, a)
    reopened = _count(session, FIGURES["reopened"](f, a, ""), distinct_cases=True)
    first = spread(session, C.first_response_seconds, FIGURES["first_response"](f, a, ""))
    return {
        "period": {"from": f.start.isoformat(), "to": f.end.isoformat()},
        "volume": {"filed": _count(session, FIGURES["filed"](f, a, "")), "closed": closed},
        "wip": _count(session, FIGURES["wip"](f, a, "")),
        "cycle_time": {"median_s": cycle.median_s, "p90_s": cycle.p90_s},
        "sla": {"due": due, "met": met, "breached": breached, "compliance": (met / due) if due else None,
                "warned": _count(session, FIGURES["sla_warned"](f, a, ""))},
        "exceptions": _count(session, FIGURES["exceptions"](f, a, "")),
        "states": states,
        "exception_detail": {
            "escalations": _count(session, FIGURES["escalations"](f, a, "")),
            "rule_failures": _count(session, FIGURES["rule_failures"](f, a, "")),
            "moved_by_rule": _count(session, FIGURES["moved_by_rule"](f, a, ""), distinct_cases=True)},
        "reopen": {"reopened": reopened, "rate": (reopened / closed) if closed else None},
        "rework": {"visits": _count(session, FIGURES["rework"](f, a, "")),
                   "cases": _count(session, FIGURES["rework"](f, a, ""), distinct_cases=True)},
        "first_response": {"cases": first.count, "median_s": first.median_s, "p90_s": first.p90_s},
        "time": _waiting_working(session, f, a),
        "sla_targets": _sla_by(session, f, a, [S.kind, S.state]),
        "sla_queues": _sla_by(session, f, a, [S.queue]),
        "sla_weeks": _sla_weeks(session, f, a),
        "series": series(session, f, a),
        "backlog": _backlog(session, f, a, now),
        "throughput": {"queues": _throughput(session, f, a, C.queue),
                       "agents": _throughput(session, f, a, C.assignee)},
    }


def _states(session: Session, f: Filters, a: ColumnElement[bool]) -> list[dict[str, Any]]:
    stmt = _visits(f, a, *within(V.left_at, f), V.state_kind != "final")
    found = spreads(session, V.seconds, [V.state], stmt)
    total = sum(s.total for s in found.values())
    return [{"key": key, "median_s": s.median_s, "p90_s": s.p90_s, "visits": s.count, "total_s": s.total,
             "share": (s.total / total) if total else None}
            for (key,), s in sorted(found.items(), key=lambda kv: (-kv[1].total, kv[0]))]


def _waiting_working(session: Session, f: Filters, a: ColumnElement[bool]) -> dict[str, float]:
    stmt = _visits(f, a, *within(V.left_at, f), V.state_kind != "final")
    rows = session.execute(stmt.with_only_columns(V.state_kind, func.coalesce(func.sum(V.seconds), 0.0))
                           .group_by(V.state_kind))
    totals = {"waiting_s": 0.0, "working_s": 0.0}
    for kind, seconds in rows:
        totals["waiting_s" if kind == "waiting" else "working_s"] += float(seconds or 0.0)
    return totals


def _sla_by(session: Session, f: Filters, a: ColumnElement[bool], groups: list[Any]) -> list[dict[str, Any]]:
    stmt = _sla(f, a, *within(S.due_at, f), S.status.in_(DECIDED))
    rows = session.execute(stmt.with_only_columns(*groups, S.status, func.count()).group_by(*groups, S.status))
    out: dict[tuple[Any, ...], dict[str, int]] = {}
    for row in rows:
        counts = out.setdefault(tuple(row[:len(groups)]), {"met": 0, "breached": 0})
        counts[row[-2]] = int(row[-1])
    names = [g.key for g in groups]
    return [{**dict(zip(names, key, strict=True)), "due": c["met"] + c["breached"], "met": c["met"],
             "breached": c["breached"], "compliance": c["met"] / (c["met"] + c["breached"])}
            for key, c in sorted(out.items(), key=lambda kv: tuple(str(k) for k in kv[0]))]


def day_of(session: Session, column: Any) -> Any:
    """The UTC calendar day of a time column as 'YYYY-MM-DD' text, on either backend."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.substr(column, 1, 10)  # SQLite keeps UTC times as 'YYYY-MM-DD HH:MM:SS.ffffff'


def week_of(day: str) -> str:
    """The Monday of an ISO day's week."""
    d = date.fromisoformat(day)
    return (d - timedelta(days=d.weekday())).isoformat()


def _per_day(session: Session, stmt: Select[Any], column: Any) -> dict[str, int]:
    day = day_of(session, column)
    return {str(d): int(n) for d, n in session.execute(stmt.with_only_columns(day, func.count()).group_by(day))}


def series(session: Session, f: Filters, a: ColumnElement[bool]) -> dict[str, list[dict[str, Any]]]:
    """Filed and closed per day and per week (weeks start on Monday) over the period."""
    filed = _per_day(session, FIGURES["filed"](f, a, ""), C.filed_at)
    closed = _per_day(session, FIGURES["closed"](f, a, ""), C.closed_at)
    days: list[dict[str, Any]] = []
    weeks: dict[str, dict[str, Any]] = {}
    day = f.start.date()
    while day < f.end.date() or (day == f.end.date() and f.end.time() != datetime.min.time()):
        key = day.isoformat()
        days.append({"date": key, "filed": filed.get(key, 0), "closed": closed.get(key, 0)})
        week = weeks.setdefault(week_of(key), {"week": week_of(key), "filed": 0, "closed": 0})
        week["filed"] += filed.get(key, 0)
        week["closed"] += closed.get(key, 0)
        day += timedelta(days=1)
    return {"day": days, "week": list(weeks.values())}


def _sla_weeks(session: Session, f: Filters, a: ColumnElement[bool]) -> list[dict[str, Any]]:
    stmt = _sla(f, a, *within(S.due_at, f), S.status.in_(DECIDED))
    day = day_of(session, S.due_at)
    weeks: dict[str, dict[str, Any]] = {}
    for d, status, n in session.execute(stmt.with_only_columns(day, S.status, func.count()).group_by(day, S.status)):
        week = weeks.setdefault(week_of(str(d)), {"week": week_of(str(d)), "met": 0, "breached": 0})
        week[status] += int(n)
    for week in weeks.values():
        week["due"] = week["met"] + week["breached"]
        week["compliance"] = week["met"] / week["due"]
    return [weeks[k] for k in sorted(weeks)]


def _backlog(session: Session, f: Filters, a: ColumnElement[bool], now: datetime) -> list[dict[str, Any]]:
    """The cases open now per queue: how many, their median and oldest age (seconds)."""
    stmt = _cases(f, a, C.is_open.is_(True))
    filed: dict[str, list[datetime]] = {}
    for queue, at in session.execute(stmt.with_only_columns(C.queue, C.filed_at)):
        filed.setdefault(queue, []).append(at)
    out = []
    for queue in sorted(filed):
        ages = sorted((now - at).total_seconds() for at in filed[queue])
        out.append({"queue": queue, "open": len(ages), "median_age_s": nearest_rank(ages, 0.5),
                    "oldest_s": ages[-1]})
    return out


def _throughput(session: Session, f: Filters, a: ColumnElement[bool], column: Any) -> list[dict[str, Any]]:
    stmt = _cases(f, a, *within(C.closed_at, f))
    rows = session.execute(stmt.with_only_columns(column, func.count()).group_by(column))
    name = "queue" if column is C.queue else "agent"
    found = [{name: key if key is not None else "unassigned", "closed": int(n)} for key, n in rows]
    return sorted(found, key=lambda r: (-r["closed"], r[name]))
