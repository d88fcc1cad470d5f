"""The insight pages' one door to the domain (cases.insight.kpis and .mining): the scope becomes the
domain's Filters, the domain's figures become the view model (app/insight/report.py), and every figure
key a page links to resolves to the domain's own list of the cases behind it.

Keys are the domain's figure names (`filed`, `sla_breached`, `state:triage`, ...) plus a few that combine
them over another period or path: `filed-on:<day>` / `closed-on:<day>` (one day of the volume chart),
`variant:<a>><b>` (the cases of one variant) and `skipped:<state>` (closed cases whose path left out a
state of the happy path).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.insight.maps import MapEdge
from app.insight.report import (
    Bottleneck,
    Comparison,
    Conformance,
    Day,
    Figure,
    Mined,
    QueueBacklog,
    Report,
    SlaRow,
    StateTime,
    Throughput,
    Variant,
)
from app.insight.scope import Scope
from cases import accounts, definitions
from cases.clock import utcnow
from cases.insight import kpis, mining
from cases.insight.filters import Filters
from cases.models import DefinitionVersion, User

LABELS = {
    "filed": "Cases filed", "closed": "Cases closed", "wip": "Work in progress (open at the end)",
    "cycle_time": "Cycle time (median)", "cycle_time_p90": "Cycle time (p90)",
    "first_response": "First response (median)",
    "sla_due": "SLA deadlines due", "sla_met": "SLA deadlines met", "sla_breached": "SLA deadlines breached",
    "sla_compliance": "SLA compliance", "sla_warned": "SLA warnings", "exceptions": "Exceptions",
    "escalations": "Escalated by rules", "rule_failures": "Rule failures", "moved_by_rule": "Moved by a rule",
    "reopened": "Reopened", "rework": "Rework (a state visited again)", "reopen_rate": "Reopen rate",
}
KEYED_LABELS = {"state": "Visits of {}", "backlog": "Open in {}", "sla_target": "SLA deadlines of {}",
                "sla_queue": "SLA deadlines in {}", "throughput_queue": "Closed in {}",
                "throughput_agent": "Closed by {}", "filed-on": "Filed on {}", "closed-on": "Closed on {}",
                "variant": "Variant {}", "skipped": "Closed without passing {}"}
OWN_KEYED = {"filed-on", "closed-on", "variant", "skipped"}


def filters(scope: Scope, **override: Any) -> Filters:
    f = Filters(start=scope.start, end=scope.end, case_type=scope.case_type, version=scope.version,
                queue=scope.queue, priority=scope.priority, requester=scope.requester)
    return replace(f, **override) if override else f


def is_figure(figure: str) -> bool:
    name, _, key = figure.partition(":")
    if name in OWN_KEYED:
        return bool(key)
    return name in kpis.FIGURES and (name in kpis.KEYED) == bool(key)


def figure_label(figure: str) -> str:
    name, _, key = figure.partition(":")
    if name in KEYED_LABELS:
        return KEYED_LABELS[name].format(key.replace(">", " → "))
    return LABELS.get(name, name)


def versions(session: Session, slug: str | None) -> list[DefinitionVersion]:
    definition = definitions.find_definition(session, "case_type", slug) if slug else None
    return list(definition.versions) if definition is not None else []


def state_labels(session: Session, slug: str | None) -> dict[str, str]:
    """State key -> label over every version of the case type (the newest label wins)."""
    out: dict[str, str] = {}
    for version in versions(session, slug):
        document = json.loads(version.document) if isinstance(version.document, str) else version.document
        for state in document.get("states") or []:
            if isinstance(state, dict) and isinstance(state.get("key"), str):
                out[state["key"]] = str(state.get("label") or state["key"])
    return out


def _day(key: str) -> tuple[datetime, datetime]:
    start = datetime.combine(date.fromisoformat(key), datetime.min.time(), UTC)
    return start, start + timedelta(days=1)


def case_ids(session: Session, user: User, scope: Scope, figure: str) -> list[int]:
    """The ids of the cases behind a figure key in this scope (the domain's own lists)."""
    name, _, key = figure.partition(":")
    f = filters(scope)
    if name in ("filed-on", "closed-on"):
        start, end = _day(key)
        return kpis.cases_behind(session, user, replace(f, start=start, end=end), name.split("-")[0])
    if name == "variant":
        return mining.cases_of_variant(session, user, f, tuple(key.split(">")))
    if name == "skipped":
        found: set[int] = set()
        for variant in _skipping(session, user, f, key):
            found.update(mining.cases_of_variant(session, user, f, variant.path))
        return sorted(found)
    return kpis.cases_behind(session, user, f, figure)


def report(session: Session, user: User, scope: Scope) -> Report:
    """The dashboard of a scope as the pages, the CSV and the PDF show it."""
    k = kpis.kpis(session, user, filters(scope), now=utcnow())
    labels = state_labels(session, scope.case_type)
    queues = {q.slug: q.name for q in accounts.list_queues(session)}
    sla, cycle, first = k["sla"], k["cycle_time"], k["first_response"]
    closed = k["volume"]["closed"]
    f = filters(scope)
    # Deadlines, not cases: a case may miss two; the list behind the figure holds the cases.
    breached_cases = len(kpis.cases_behind(session, user, f, "sla_breached")) if sla["breached"] else 0
    met_cases = len(kpis.cases_behind(session, user, f, "sla_met")) if sla["met"] else 0
    figures = [
        Figure("filed", LABELS["filed"], k["volume"]["filed"], cases=k["volume"]["filed"]),
        Figure("closed", LABELS["closed"], closed, cases=closed),
        Figure("wip", LABELS["wip"], k["wip"], cases=k["wip"]),
        Figure("cycle_time", LABELS["cycle_time"], cycle["median_s"], "seconds", cases=closed,
               note=f"p90 {_words(cycle['p90_s'])}"),
        Figure("first_response", LABELS["first_response"], first["median_s"], "seconds", cases=first["cases"],
               note=f"p90 {_words(first['p90_s'])}"),
        Figure("sla_met", LABELS["sla_compliance"], sla["compliance"], "percent", cases=met_cases,
               note=f"{sla['met']} of {sla['due']} deadlines met"),
        Figure("sla_breached", LABELS["sla_breached"], sla["breached"], cases=breached_cases,
               note=f"in {breached_cases} case{'' if breached_cases == 1 else 's'}"),
        Figure("sla_warned", LABELS["sla_warned"], sla["warned"], cases=sla["warned"]),
        Figure("exceptions", LABELS["exceptions"], k["exceptions"], cases=k["exceptions"]),
        Figure("escalations", LABELS["escalations"], k["exception_detail"]["escalations"],
               cases=k["exception_detail"]["escalations"]),
        Figure("rule_failures", LABELS["rule_failures"], k["exception_detail"]["rule_failures"],
               cases=k["exception_detail"]["rule_failures"]),
        Figure("reopened", LABELS["reopen_rate"], k["reopen"]["rate"], "percent", cases=k["reopen"]["reopened"],
               note=f"{k['reopen']['reopened']} reopened"),
        Figure("rework", LABELS["rework"], k["rework"]["cases"], cases=k["rework"]["cases"],
               note=f"{k['rework']['visits']} visits"),
    ]
    title = (definitions.find_definition(session, "case_type", scope.case_type).title  # type: ignore[union-attr]
             if scope.case_type else "All case types")
    return Report(
        title=title, figures=figures,
        days=[Day(d["date"], d["filed"], d["closed"]) for d in k["series"]["day"]],
        states=[StateTime(s["key"], labels.get(s["key"], s["key"]), s["visits"], s["median_s"], s["p90_s"],
                          s["share"]) for s in k["states"]],
        sla_by_kind=[SlaRow(f"{r['kind']}@{r['state']}", f"{r['kind']} in {labels.get(r['state'], r['state'])}",
                            r["due"], r["met"], r["breached"], f"sla_target:{r['kind']}@{r['state']}")
                     for r in k["sla_targets"]],
        sla_by_queue=[SlaRow(r["queue"], queues.get(r["queue"], r["queue"]), r["due"], r["met"], r["breached"],
                             f"sla_queue:{r['queue']}") for r in k["sla_queues"]],
        sla_by_week=[SlaRow(r["week"], f"week of {r['week']}", r["due"], r["met"], r["breached"])
                     for r in k["sla_weeks"]],
        backlog=[QueueBacklog(b["queue"], queues.get(b["queue"], b["queue"]), b["open"], b["median_age_s"],
                              b["oldest_s"]) for b in k["backlog"]],
        by_queue=[Throughput(t["queue"], queues.get(t["queue"], t["queue"]), t["closed"],
                             f"throughput_queue:{t['queue']}") for t in k["throughput"]["queues"]],
        by_agent=[Throughput(t["agent"], t["agent"], t["closed"], f"throughput_agent:{t['agent']}")
                  for t in k["throughput"]["agents"]],
        waiting_s=k["time"]["waiting_s"], working_s=k["time"]["working_s"])


def _words(seconds: float | None) -> str:
    from app.insight.maps import duration

    return duration(seconds)


def _happy(variants: list[mining.Variant]) -> mining.Variant | None:
    """The most frequent path that closed without visiting any state twice."""
    return next((v for v in variants if v.closed and len(set(v.path)) == len(v.path)), None)


def _skipping(session: Session, user: User, f: Filters, state: str) -> list[mining.Variant]:
    found = mining.variants(session, user, f)
    happy = _happy(found)
    if happy is None or state not in happy.path:
        return []
    return [v for v in found if v.closed and v is not happy and state not in v.path]


def mined(session: Session, user: User, scope: Scope) -> Mined:
    """The process map's edges, the variants (happy path first) and the conformance of a scope."""
    f = filters(scope)
    labels = state_labels(session, scope.case_type)
    edges = [MapEdge(e.source, e.target, e.count, e.median_s, e.p90_s)
             for e in mining.directly_follows(session, user, f)]
    found = mining.variants(session, user, f)
    happy = _happy(found)
    ordered = ([happy] if happy else []) + [v for v in found if v is not happy]
    variants = [Variant(v.path, tuple(labels.get(s, s) for s in v.path), v.count, v.share, v.median_cycle_s,
                        happy=v is happy, figure="variant:" + ">".join(v.path)) for v in ordered]
    k = kpis.kpis(session, user, f, now=utcnow())
    conformance = [
        Conformance("Went through an exception path", k["exceptions"], "exceptions",
                    "a state reached by a rule's move, a rule-driven escalation or a rule failure"),
        Conformance("Moved by a rule", k["exception_detail"]["moved_by_rule"], "moved_by_rule"),
        Conformance("Rework or loops (a state visited again)", k["rework"]["cases"], "rework",
                    f"{k['rework']['visits']} repeated visits"),
        Conformance("Reopened after closing", k["reopen"]["reopened"], "reopened"),
    ]
    for state in happy.path if happy else ():
        skipping = [v for v in found if v.closed and v is not happy and state not in v.path]
        if skipping:
            conformance.append(Conformance(f"Closed without passing {labels.get(state, state)}",
                                           sum(v.count for v in skipping), f"skipped:{state}",
                                           f"{len(skipping)} variant{'s' if len(skipping) != 1 else ''}"))
    return Mined(edges=edges, labels=labels, variants=variants, conformance=conformance,
                 cases=sum(v.count for v in found))


def bottlenecks(session: Session, user: User, scope: Scope) -> list[Bottleneck]:
    """States and transitions ranked by the time cases spent in or on them, against the period before."""
    f, before = filters(scope), filters(scope.previous())
    labels = state_labels(session, scope.case_type)
    now = utcnow()
    states_now = {s["key"]: s for s in kpis.kpis(session, user, f, now=now)["states"]}
    states_then = {s["key"]: s for s in kpis.kpis(session, user, before, now=now)["states"]}
    ranked = [Bottleneck("state", labels.get(key, key), s["total_s"], s["median_s"], s["visits"],
                         states_then[key]["total_s"] if key in states_then else None, f"state:{key}")
              for key, s in states_now.items()]

    def edge_totals(fl: Filters) -> dict[tuple[str, str], mining.Edge]:
        return {(e.source, e.target): e for e in mining.directly_follows(session, user, fl)
                if e.source and e.target and e.median_s is not None}

    then = edge_totals(before)
    for (src, dst), e in edge_totals(f).items():
        previous = then.get((src, dst))
        ranked.append(Bottleneck("transition", f"{labels.get(src, src)} → {labels.get(dst, dst)}",
                                 (e.median_s or 0) * e.count, e.median_s, e.count,
                                 (previous.median_s or 0) * previous.count if previous else None))
    return sorted(ranked, key=lambda b: (-b.total_s, b.label))


COMPARED = [("filed", "Cases filed", "count", "none"), ("closed", "Cases closed", "count", "higher"),
            ("wip", "Work in progress", "count", "lower"), ("cycle_time", "Cycle time (median)", "seconds", "lower"),
            ("cycle_time_p90", "Cycle time (p90)", "seconds", "lower"),
            ("first_response", "First response (median)", "seconds", "lower"),
            ("sla_met", "SLA compliance", "percent", "higher"), ("sla_breached", "SLA breaches", "count", "lower"),
            ("exceptions", "Exceptions", "count", "lower"), ("reopened", "Reopen rate", "percent", "lower"),
            ("rework", "Cases with rework", "count", "lower")]


def _compared(k: dict[str, Any]) -> dict[str, tuple[float | None, int]]:
    closed = k["volume"]["closed"]
    return {"filed": (k["volume"]["filed"], k["volume"]["filed"]), "closed": (closed, closed),
            "wip": (k["wip"], k["wip"]), "cycle_time": (k["cycle_time"]["median_s"], closed),
            "cycle_time_p90": (k["cycle_time"]["p90_s"], closed),
            "first_response": (k["first_response"]["median_s"], k["first_response"]["cases"]),
            "sla_met": (k["sla"]["compliance"], k["sla"]["due"]), "sla_breached": (k["sla"]["breached"],
                                                                                   k["sla"]["breached"]),
            "exceptions": (k["exceptions"], k["exceptions"]), "reopened": (k["reopen"]["rate"], closed),
            "rework": (k["rework"]["cases"], k["rework"]["cases"])}


def compare(session: Session, user: User, scope: Scope, a: int, b: int) -> list[Comparison]:
    """Every KPI for the cases of version `a` and of version `b`, side by side, time in each state too."""
    now = utcnow()
    ka = kpis.kpis(session, user, filters(scope, version=a), now=now)
    kb = kpis.kpis(session, user, filters(scope, version=b), now=now)
    va, vb = _compared(ka), _compared(kb)
    rows = [Comparison(label, kind, va[key][0], vb[key][0], va[key][1], vb[key][1],
                       figure="cycle_time" if key == "cycle_time_p90" else key, better=better)
            for key, label, kind, better in COMPARED]
    labels = state_labels(session, scope.case_type)
    sa, sb = {s["key"]: s for s in ka["states"]}, {s["key"]: s for s in kb["states"]}
    for key in dict.fromkeys([*sa, *sb]):
        rows.append(Comparison(f"Time in {labels.get(key, key)} (median)", "seconds",
                               sa.get(key, {}).get("median_s"), sb.get(key, {}).get("median_s"),
                               sa.get(key, {}).get("visits", 0), sb.get(key, {}).get("visits", 0),
                               figure=f"state:{key}"))
    return rows
