"""KPIs by DESIGN.md's definitions: checked against a computation straight from the audit events (not the
read model), every figure's number against the cases behind it, and access by enumeration."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import access, accounts, audit
from cases.errors import InvalidQuery, PermissionDenied
from cases.insight import kpis, mining
from cases.insight.filters import Filters, nearest_rank, parse_filters
from cases.models import Case, Definition, DefinitionVersion, User
from tests.support import insight
from tests.support.migration import START

EVERYTHING = Filters(start=START - timedelta(days=1), end=START + timedelta(days=10), case_type="complaint")
NOW = START + timedelta(days=10)


@pytest.fixture
def lived(session: Session, admin: User, requester: User, agent: User, general: Any) -> list[Case]:
    case_type = insight.setup(session, admin, agent)
    cases = insight.run(session, admin, requester, agent, case_type)
    session.commit()
    return cases


def _kinds(session: Session) -> dict[tuple[int, str], str]:
    out = {}
    for version in session.scalars(select(DefinitionVersion).join(Definition).where(Definition.kind == "case_type")):
        for s in json.loads(version.document)["states"]:
            out[(version.number, s["key"])] = s["kind"]
    return out


def _from_events(session: Session, f: Filters) -> dict[str, Any]:
    """Cycle times and SLA outcomes computed from the audit events alone."""
    kinds = _kinds(session)
    cycles, deadlines = [], {}
    for case in session.scalars(select(Case)):
        events = audit.events(session, case.stream)
        filed = events[0].at
        version, closed = 1, None
        for e in events:
            p = json.loads(e.payload)
            version = p.get("to_version", version) if e.kind == "case.migrated" else version
            target = p.get("to") if e.kind in ("case.transitioned", "case.reopened", "case.migrated") else None
            for d in p.get("decisions", []) if e.kind == "case.rule_applied" else []:
                target = d["params"]["state"] if d["action"] == "move_to_state" else target
            if target is not None:
                closed = e.at if kinds.get((version, target)) == "final" else None
            if e.kind.startswith("sla.") and "deadline" in p:
                d = deadlines.setdefault(p["deadline"], {"status": None, "due": None})
                if p.get("due_at"):
                    d["due"] = datetime.fromisoformat(p["due_at"])
                if e.kind in ("sla.met", "sla.breached", "sla.cancelled"):
                    d["status"] = e.kind[4:]
            for change in p.get("deadlines", []) if e.kind == "case.migrated" else []:
                d = deadlines.setdefault(change["deadline"], {"status": None, "due": None})
                d["due"] = datetime.fromisoformat(change["due_at"]) if change["due_at"] else d["due"]
                d["status"] = "cancelled" if change["status"] == "cancelled" else d["status"]
        if closed is not None and f.start <= closed < f.end:
            cycles.append((closed - filed).total_seconds())
    due = [d for d in deadlines.values() if d["status"] in ("met", "breached") and f.start <= d["due"] < f.end]
    cycles.sort()
    return {"closed": len(cycles), "median": nearest_rank(cycles, 0.5), "p90": nearest_rank(cycles, 0.9),
            "due": len(due), "met": sum(d["status"] == "met" for d in due),
            "breached": sum(d["status"] == "breached" for d in due)}


def test_cycle_time_and_sla_compliance_equal_a_computation_from_the_audit_events(
        session: Session, admin: User, lived: list[Case]) -> None:
    for f in (EVERYTHING, Filters(start=START + timedelta(hours=13), end=START + timedelta(hours=36),
                                  case_type="complaint")):
        figures = kpis.kpis(session, admin, f, now=NOW)
        expected = _from_events(session, f)
        assert figures["volume"]["closed"] == expected["closed"]
        assert figures["cycle_time"] == {"median_s": expected["median"], "p90_s": expected["p90"]}
        sla = figures["sla"]
        assert (sla["due"], sla["met"], sla["breached"]) == (expected["due"], expected["met"], expected["breached"])
        assert sla["compliance"] == (expected["met"] / expected["due"] if expected["due"] else None)
    figures = kpis.kpis(session, admin, EVERYTHING, now=NOW)
    assert figures["volume"] == {"filed": 8, "closed": 4} and figures["wip"] == 4
    assert figures["sla"]["breached"] >= 5 and figures["exceptions"] >= 3 and figures["reopen"]["reopened"] == 1
    assert figures["exception_detail"]["moved_by_rule"] == 1 and figures["rework"]["visits"] >= 1
    assert sum(d["filed"] for d in figures["series"]["day"]) == 8
    assert sum(w["closed"] for w in figures["series"]["week"]) == 4
    assert {s["key"] for s in figures["states"]} >= {"new", "in_progress", "waiting"}
    assert math.isclose(sum(s["share"] for s in figures["states"]), 1.0)
    assert figures["time"]["waiting_s"] == 3 * 3600.0


COUNTED = {"filed": ("volume", "filed"), "closed": ("volume", "closed"), "wip": ("wip",),
           "sla_due": ("sla", "due"), "sla_met": ("sla", "met"), "sla_breached": ("sla", "breached"),
           "exceptions": ("exceptions",), "escalations": ("exception_detail", "escalations"),
           "rule_failures": ("exception_detail", "rule_failures")}


def _dig(figures: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        figures = figures[key]
    return figures


def test_every_number_is_the_count_of_the_cases_behind_it(session: Session, admin: User, lived: list[Case]) -> None:
    figures = kpis.kpis(session, admin, EVERYTHING, now=NOW)
    for name, path in COUNTED.items():
        behind = kpis.cases_behind(session, admin, EVERYTHING, name)
        if name.startswith("sla_"):  # deadlines: one case may owe several
            assert len(behind) <= _dig(figures, path), name
        else:
            assert len(behind) == _dig(figures, path), name
    breached = {c.id for c in lived if c.ref in {lived[i].ref for i in (2, 4, 5, 6, 7)}}
    assert breached <= set(kpis.cases_behind(session, admin, EVERYTHING, "sla_breached"))
    for row in figures["backlog"]:
        assert len(kpis.cases_behind(session, admin, EVERYTHING, f"backlog:{row['queue']}")) == row["open"]
    for row in figures["states"]:
        assert kpis.cases_behind(session, admin, EVERYTHING, f"state:{row['key']}")
    for bad in ("nonsense", "state", "filed:x"):
        with pytest.raises(InvalidQuery):
            kpis.cases_behind(session, admin, EVERYTHING, bad)


def test_the_map_and_the_variants_count_the_same_cases(session: Session, admin: User, lived: list[Case]) -> None:
    edges = mining.directly_follows(session, admin, EVERYTHING)
    starts = [e for e in edges if e.source is None]
    assert sum(e.count for e in starts) == 8
    found = mining.variants(session, admin, EVERYTHING)
    assert sum(v.count for v in found) == 8 and math.isclose(sum(v.share for v in found), 1.0)
    assert found == sorted(found, key=lambda v: (-v.count, v.path))
    inner = sum(e.count for e in edges if e.source is not None and e.target is not None)
    assert inner == sum((len(v.path) - 1) * v.count for v in found)
    reopened = next(v for v in found if "resolved" in v.path[:-1])
    assert mining.cases_of_variant(session, admin, EVERYTHING, reopened.path) == [lived[1].id]


def test_agents_see_the_figures_of_their_cases_only_and_requesters_none(
        session: Session, admin: User, requester: User, agent: User, lived: list[Case]) -> None:
    other = accounts.create_user(session, email="olga@example.com", name="Olga", password="long enough pw",
                                 roles=["agent"])
    accounts.add_queue_member(session, accounts.find_queue(session, "escalations"), other)
    auditor = accounts.create_user(session, email="aud@example.com", name="Aud", password="long enough pw",
                                   roles=["auditor"])
    session.commit()
    names = [*COUNTED, "cycle_time", "first_response", "reopened", "rework", "moved_by_rule", "sla_warned",
             "backlog:general", "backlog:escalations", "backlog:supervisors", "state:new", "state:in_progress",
             "throughput_queue:general", "throughput_agent:unassigned", "sla_queue:supervisors",
             "sla_target:response@new"]
    every = {name: set(kpis.cases_behind(session, admin, EVERYTHING, name)) for name in names}
    for user in (admin, auditor, agent, other):
        visible = {c.id for c in session.scalars(select(Case)) if access.can_view(session, user, c)}
        for name in names:
            assert set(kpis.cases_behind(session, user, EVERYTHING, name)) == every[name] & visible, (user, name)
    assert {c.id for c in session.scalars(select(Case)) if access.can_view(session, other, c)} < \
        {c.id for c in session.scalars(select(Case))}
    mine = kpis.kpis(session, other, EVERYTHING, now=NOW)
    assert mine["volume"]["filed"] == len(every["filed"] & {c.id for c in session.scalars(select(Case))
                                                            if access.can_view(session, other, c)})
    for call in (lambda u: kpis.kpis(session, u, EVERYTHING, now=NOW),
                 lambda u: kpis.cases_behind(session, u, EVERYTHING, "filed"),
                 lambda u: mining.directly_follows(session, u, EVERYTHING),
                 lambda u: mining.variants(session, u, EVERYTHING)):
        for nobody in (requester, None):
            with pytest.raises(PermissionDenied):
                call(nobody)


def test_filters_from_the_query_string() -> None:
    f = parse_filters({"from": "2026-03-01", "to": "2026-03-31", "priority": "urgent", "version": "2"},
                      now=NOW, case_type="complaint")
    assert (f.start.isoformat(), f.end.isoformat()) == ("2026-03-01T00:00:00+00:00", "2026-04-01T00:00:00+00:00")
    assert (f.case_type, f.version, f.priority) == ("complaint", 2, "urgent")
    assert parse_filters({}, now=NOW).start == NOW - timedelta(days=30)
    for bad in ({"from": "yesterday"}, {"from": "2026-04-01", "to": "2026-03-01"}, {"priority": "huge"},
                {"version": "two"}, {"requester": "robot"}):
        with pytest.raises(InvalidQuery):
            parse_filters(bad, now=NOW)
