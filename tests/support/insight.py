"""A complaint process that exercises every part of the read model: filing routed and escalated by rules,
transitions, a request for information, an SLA breach escalated by rule (fixed clocks), a rule moving a case
to an exception state, a migration to version 2, closing and reopening."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from cases import accounts, assignment, conversation, lifecycle, migration, sla_sweep
from cases.clock import fixed
from cases.insight import mining
from cases.insight.filters import Filters
from cases.models import Case, Definition, User
from cases.submissions import Uploader
from tests.support.complaint import CALM, GOOD
from tests.support.migration import MAPPING, START, publish_both, publish_version_two, version_one, version_two

RULES = {"schema_version": 1, "rules": [
    {"id": "escalate", "name": "Escalate gold customers", "trigger": "case.submitted", "priority": 10,
     "condition": {"field": "customer_tier", "op": "eq", "value": "gold"},
     "actions": [{"type": "route_to_queue", "queue": "escalations"}, {"type": "set_priority", "priority": "urgent"}]},
    {"id": "late", "name": "A late response goes to the supervisors", "trigger": "sla.breached", "priority": 10,
     "condition": {"field": "case.sla_kind", "op": "eq", "value": "response"},
     "actions": [{"type": "route_to_queue", "queue": "supervisors"},
                 {"type": "assign_to", "queue": "supervisors", "strategy": "round_robin"}]},
    {"id": "damaged", "name": "Damaged goods are investigated", "trigger": "case.transitioned", "priority": 20,
     "condition": {"all": [{"field": "category", "op": "eq", "value": "damaged"},
                           {"field": "case.transition", "op": "eq", "value": "sort"}]},
     "actions": [{"type": "move_to_state", "state": "escalated"}]},
]}


def documents() -> tuple[dict[str, Any], dict[str, Any]]:
    first = version_one()
    first["rules"] = copy.deepcopy(RULES)
    first["reopen"] = {"to": "in_progress", "within_days": 30}
    second = version_two()
    second["rules"] = copy.deepcopy(RULES)
    second["rules"]["rules"][2]["actions"] = [{"type": "move_to_state", "state": "in_progress"}]
    second["reopen"] = {"to": "in_progress", "within_days": 30}
    return first, second


def setup(session: Session, admin: User, agent: User) -> Definition:
    for slug in ("escalations", "supervisors"):
        queue = accounts.create_queue(session, slug=slug, name=slug.capitalize())
        accounts.add_queue_member(session, queue, agent)
    first, _ = documents()
    return publish_both(session, admin, first)


def at(hours: float) -> Any:
    return fixed(START + timedelta(hours=hours))


def run(session: Session, admin: User, requester: User, agent: User, case_type: Definition) -> list[Case]:
    """Eight cases through their lives; returns them."""
    up = Uploader(requester)
    data = [{**CALM, "account_id": "AC-1", "category": "billing"}, {**GOOD, "account_id": "AC-2"},
            {**CALM, "account_id": "AC-3", "category": "billing"}, {**CALM, "account_id": "AC-4"},
            {**CALM, "account_id": "AC-5", "category": "billing"}, {**CALM, "category": "billing"},
            {**CALM, "account_id": "AC-7", "category": "billing"}, {**GOOD, "account_id": "AC-8"}]
    cases = [lifecycle.file_case(session, case_type, d, uploader=up, clock=at(i)) for i, d in enumerate(data)]
    a, b, c, d, _e, _f, g, _h = cases  # e, f and h only file and breach (f has no account: stays on v1)
    assignment.claim(session, a, agent, clock=at(8))
    lifecycle.transition(session, a, "sort", agent, clock=at(9))            # triage
    lifecycle.transition(session, a, "start", agent, clock=at(10))          # in_progress
    lifecycle.transition(session, a, "resolve", agent, clock=at(12))        # closed
    lifecycle.transition(session, b, "start", agent, clock=at(9.5))         # escalated queue, in progress
    conversation.request_information(session, b, agent, "Which parcel?", clock=at(10))
    conversation.answer_information(session, b, requester, "The blue one.", clock=at(13))
    lifecycle.transition(session, b, "resolve", agent, clock=at(14))
    lifecycle.reopen(session, b, requester, reason="Still broken.", clock=at(20))
    lifecycle.transition(session, b, "resolve", agent, clock=at(22))
    lifecycle.transition(session, d, "sort", agent, clock=at(9))            # damaged: a rule moves it on
    sla_sweep.sweep(session, clock=at(30))                                  # c, e, f, g, h breach their response
    assignment.move_to_queue(session, g, accounts.find_queue(session, "general"), agent, clock=at(31))
    assignment.set_priority(session, g, "high", agent, clock=at(31))
    assignment.release(session, g, agent, clock=at(31))                     # assigned by the breach rule
    lifecycle.transition(session, g, "reject", agent, clock=at(32))
    _, second = documents()
    publish_version_two(session, admin, case_type, second)
    plan = migration.plan(session, "complaint", 2, state_mapping=MAPPING)
    migration.migrate(session, plan, admin, clock=at(33))                   # f has no account: stays on v1
    lifecycle.transition(session, c, "start", agent, clock=at(34))
    lifecycle.transition(session, c, "resolve", agent, clock=at(40))
    return cases


def read_with_pm4py(path: Path) -> dict[str, Any]:
    """pm4py's own figures of an XES file: directly-follows counts, variants, case durations."""
    import pm4py
    from pm4py.statistics.traces.generic.pandas import case_statistics

    log = pm4py.read_xes(str(path))
    dfg, _start, _end = pm4py.discover_dfg(log)
    variants = pm4py.get_variants(log)
    described = case_statistics.get_cases_description(log)
    return {"dfg": {k: int(v) for k, v in dfg.items()},
            "variants": {tuple(k): int(v if isinstance(v, int) else len(v)) for k, v in variants.items()},
            "durations": {case: float(d["caseDuration"]) for case, d in described.items()}}


def ours(session: Session, user: User, f: Filters) -> dict[str, Any]:
    edges = mining.directly_follows(session, user, f)
    return {"dfg": {(e.source, e.target): e.count for e in edges if e.source and e.target},
            "variants": {v.path: v.count for v in mining.variants(session, user, f)},
            "durations": mining.case_durations(session, user, f)}
