"""Process mining over the read model: the directly-follows graph of a case type with edge times, and its
variants. The traces are the cases filed in the period (as an event-log export of that period holds them);
each state visit is one event, so these are the figures a process-mining tool computes from the export.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.insight.filters import Filters, case_conditions, scope, spreads, within
from cases.models import InsightCase, StateVisit, User

C, V = InsightCase, StateVisit


@dataclass(frozen=True)
class Edge:
    """Cases going from `source` straight to `target` (None: filed / closed), and how long that took
    (seconds from entering `source` to entering `target`; None for the ends)."""

    source: str | None
    target: str | None
    count: int
    median_s: float | None
    p90_s: float | None


@dataclass(frozen=True)
class Variant:
    """One distinct path through the states: how many cases took it, their share, their median cycle time."""

    path: tuple[str, ...]
    count: int
    share: float
    median_cycle_s: float | None
    closed: int


def directly_follows(session: Session, user: User | None, f: Filters) -> list[Edge]:
    """The directly-follows relation of the cases filed in the period, busiest edge first; the ends as
    None -> first state (every case) and final state -> None (cases whose last visit is a final state)."""
    allowed = scope(session, user)
    cases = case_conditions(f, allowed) + within(C.filed_at, f)
    stmt = select(V.case_id).join(C, C.case_id == V.case_id).where(*cases, V.previous.is_not(None))
    if f.case_type is not None:
        stmt = stmt.where(V.case_type == f.case_type)
    found = spreads(session, V.edge_seconds, [V.previous, V.state], stmt)
    edges = [Edge(src, dst, s.count, s.median_s, s.p90_s) for (src, dst), s in found.items()]
    first = select(C.case_id).where(*cases)
    starts: dict[str, int] = {}
    ends: dict[str, int] = {}
    for path, is_open, n in session.execute(first.with_only_columns(C.path, C.is_open, func.count())
                                            .group_by(C.path, C.is_open)):
        states = path.split(">")
        starts[states[0]] = starts.get(states[0], 0) + int(n)
        if not is_open:
            ends[states[-1]] = ends.get(states[-1], 0) + int(n)
    edges += [Edge(None, s, n, None, None) for s, n in starts.items()]
    edges += [Edge(s, None, n, None, None) for s, n in ends.items()]
    return sorted(edges, key=lambda e: (-e.count, e.source or "", e.target or ""))


def variants(session: Session, user: User | None, f: Filters) -> list[Variant]:
    """The distinct paths of the cases filed in the period, most frequent (the happy path) first."""
    allowed = scope(session, user)
    stmt = select(C.case_id).where(*case_conditions(f, allowed), *within(C.filed_at, f))
    counts = {path: int(n) for path, n in session.execute(stmt.with_only_columns(C.path, func.count())
                                                          .group_by(C.path))}
    cycles = spreads(session, C.cycle_seconds, [C.path], stmt)
    total = sum(counts.values())
    out = [Variant(tuple(path.split(">")), n, n / total, cycles[(path,)].median_s if (path,) in cycles else None,
                   cycles[(path,)].count if (path,) in cycles else 0) for path, n in counts.items()]
    return sorted(out, key=lambda v: (-v.count, v.path))


def cases_of_variant(session: Session, user: User | None, f: Filters, path: tuple[str, ...]) -> list[int]:
    """The ids of the cases filed in the period that took exactly `path`."""
    allowed = scope(session, user)
    stmt = select(C.case_id).where(*case_conditions(f, allowed), *within(C.filed_at, f), C.path == ">".join(path))
    return sorted(session.scalars(stmt))


def case_durations(session: Session, user: User | None, f: Filters) -> dict[str, float]:
    """Per case reference (filed in the period): seconds from filing to its last state change."""
    allowed = scope(session, user)
    last = (select(V.case_id, func.max(V.entered_at).label("last")).group_by(V.case_id).subquery())
    stmt = (select(C.ref, C.filed_at, last.c.last).join(last, last.c.case_id == C.case_id)
            .where(*case_conditions(f, allowed), *within(C.filed_at, f)))
    return {ref: (end - start).total_seconds() for ref, start, end in session.execute(stmt)}

