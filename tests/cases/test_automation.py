"""Rules in the case services: routing, assignment strategies, exception paths, approvals, failures."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from case_types.errors import ValidationFailed
from case_types.workflow import TransitionNotAllowed
from cases import accounts, approvals, assignment, audit, automation, definitions, lifecycle, recent
from cases.errors import PermissionDenied
from cases.models import Definition, OutboxMessage, User
from cases.submissions import Uploader
from tests.support.complaint import CALM, ESCALATE, complaint_case_type_document, with_rules

# The escalation also sets a due time of 4 business hours.
ESCALATE_WITH_DUE = {**ESCALATE, "actions": [*ESCALATE["actions"][:2],
                                             {"type": "set_due_in", "hours": 4, "business_hours": True},
                                             ESCALATE["actions"][2]]}


@pytest.fixture
def escalations(session: Session, agent: User) -> Any:
    queue = accounts.create_queue(session, slug="escalations", name="Escalations")
    accounts.add_queue_member(session, queue, agent)
    return queue


def _file(session: Session, case_type: Definition, requester: User, data: dict[str, Any]) -> Any:
    return lifecycle.file_case(session, case_type, data, uploader=Uploader(requester))


def test_escalation_routes_prioritises_and_records_the_rule(session: Session, admin: User, requester: User,
                                                            complaint_type: Definition, escalations: Any) -> None:
    with_rules(session, admin, complaint_type, ESCALATE_WITH_DUE)
    calm = _file(session, complaint_type, requester, CALM)
    assert (calm.queue.slug, calm.priority) == ("general", "normal")
    from datetime import UTC, datetime

    from cases.clock import fixed

    friday_4pm = fixed(datetime(2026, 3, 6, 16, 0, tzinfo=UTC))
    hot = lifecycle.file_case(session, complaint_type, {**CALM, "severity": "critical"},
                              uploader=Uploader(requester), clock=friday_4pm)
    assert (hot.queue.slug, hot.priority) == ("escalations", "urgent")
    assert hot.due_at == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # 1 business hour Friday, 3 on Monday
    event = audit.events(session, hot.stream)[-1]
    payload = json.loads(event.payload)
    assert event.kind == "case.rule_applied"
    assert (payload["rule"], payload["ruleset"], payload["ruleset_version"]) == ("escalate", "complaint@v2", 2)
    assert "routed to Escalations" in payload["summary"]
    notified = session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "rule.notify")).all()
    assert [m.to for m in notified] == ["alex@example.com"]
    assert audit.verify(session).ok


def test_third_complaint_from_the_same_email_escalates(session: Session, admin: User, requester: User,
                                                       complaint_type: Definition, escalations: Any) -> None:
    with_rules(session, admin, complaint_type, ESCALATE)
    first, second, third = (_file(session, complaint_type, requester, CALM) for _ in range(3))
    assert [c.queue.slug for c in (first, second, third)] == ["general", "general", "escalations"]


def test_rules_that_do_not_fit_the_form_are_refused_at_the_offending_part(
        session: Session, admin: User, complaint_type: Definition, escalations: Any) -> None:
    document = complaint_case_type_document()
    document["rules"] = {"schema_version": 1, "rules": [
        {**ESCALATE, "condition": {"field": "severity", "op": "gt", "value": 3}},
        {**ESCALATE, "id": "two", "priority": 20, "actions": [{"type": "route_to_queue", "queue": "nowhere"}]}]}
    problems = definitions.save_draft(session, complaint_type, document, actor=admin)
    paths = {p.path for p in problems}
    assert any(p.startswith("rules.rules[0].condition") for p in paths), paths
    assert "rules.rules[1].actions[0].queue" in paths
    with pytest.raises(ValidationFailed):
        definitions.publish(session, complaint_type, actor=admin)


def _agents(session: Session, queue: Any, names: list[str]) -> list[User]:
    crowd = []
    for name in names:
        user = accounts.create_user(session, email=f"{name}@example.com", name=name.capitalize(),
                                    password="long enough pw", roles=["agent"])
        accounts.add_queue_member(session, queue, user)
        crowd.append(user)
    return crowd


def test_round_robin_skips_absent_people_and_keeps_its_place_in_the_database(
        session: Session, database_url: str, admin: User, requester: User, complaint_type: Definition,
        general: Any, agent: User) -> None:
    _ann, bob, _cat = _agents(session, general, ["ann", "bob", "cat"])
    accounts.set_absent(session, bob, True)
    rule = {"id": "rr", "name": "Share out", "trigger": "case.submitted", "priority": 1, "condition": {"all": []},
            "actions": [{"type": "assign_to", "strategy": "round_robin", "queue": "general"}]}
    with_rules(session, admin, complaint_type, rule)
    names = [_file(session, complaint_type, requester, CALM).assignee.name for _ in range(3)]
    assert names == ["Alex Agent", "Ann", "Cat"]
    # another process (engine, session) continues where this one stopped
    from cases.database import make_engine

    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as other:
        case_type = other.get(Definition, complaint_type.id)
        me = other.get(User, requester.id)
        assert case_type is not None and me is not None
        assert lifecycle.file_case(other, case_type, CALM, uploader=Uploader(me)).assignee.name == "Alex Agent"
    engine.dispose()


def test_least_loaded_picks_the_emptiest_queue_member(session: Session, admin: User, requester: User,
                                                      complaint_type: Definition, general: Any, agent: User) -> None:
    (ann,) = _agents(session, general, ["ann"])
    busy = _file(session, complaint_type, requester, CALM)
    assignment.claim(session, busy, agent)
    rule = {"id": "ll", "name": "Least loaded", "trigger": "case.submitted", "priority": 1, "condition": {"all": []},
            "actions": [{"type": "assign_to", "strategy": "least_loaded", "queue": "general"}]}
    with_rules(session, admin, complaint_type, rule)
    assert _file(session, complaint_type, requester, CALM).assignee_id == ann.id
    assert _file(session, complaint_type, requester, CALM).assignee_id in (ann.id, agent.id)


def test_exception_path_moves_the_case(session: Session, admin: User, requester: User,
                                       complaint_type: Definition) -> None:
    rule = {"id": "crit", "name": "Critical goes straight to work", "trigger": "case.submitted", "priority": 1,
            "condition": {"field": "severity", "op": "eq", "value": "critical"},
            "actions": [{"type": "move_to_state", "state": "in_progress"}]}
    with_rules(session, admin, complaint_type, rule)
    assert _file(session, complaint_type, requester, {**CALM, "severity": "critical"}).state == "in_progress"
    assert _file(session, complaint_type, requester, CALM).state == "new"


def test_approval_holds_the_case_until_decided(session: Session, admin: User, requester: User,
                                               complaint_type: Definition, agent: User) -> None:
    rule = {"id": "gold", "name": "Gold needs an admin's approval", "trigger": "case.submitted", "priority": 1,
            "condition": {"field": "customer_tier", "op": "eq", "value": "gold"},
            "actions": [{"type": "require_approval", "role": "admin", "on_approve": "resolved",
                         "on_reject": "rejected"}]}
    with_rules(session, admin, complaint_type, rule)
    case = _file(session, complaint_type, requester, {**CALM, "customer_tier": "gold"})
    assert approvals.pending_approval(session, case) is not None
    assert lifecycle.allowed_transitions(session, case, agent) == []
    with pytest.raises(TransitionNotAllowed, match="waits for an approval"):
        lifecycle.transition(session, case, "start", agent)
    with pytest.raises(PermissionDenied):
        approvals.decide_approval(session, case, agent, approve=True)
    approvals.decide_approval(session, case, admin, approve=False, comment="Not covered")
    assert (case.state, case.is_open) == ("rejected", False)
    assert [e.kind for e in audit.events(session, case.stream)][-1] == "case.approval_decided"
    assert approvals.pending_approval(session, case) is None


def test_a_failing_rule_never_loses_the_case(session: Session, admin: User, requester: User,
                                             complaint_type: Definition, escalations: Any) -> None:
    with_rules(session, admin, complaint_type, ESCALATE)
    accounts.update_queue(session, escalations, name="Escalations", description="", active=False)
    case = _file(session, complaint_type, requester, {**CALM, "severity": "high"})
    assert case.id is not None and case.queue.slug == "general"  # the fallback queue
    assert case.priority == "normal"  # the failed rule's other decisions were rolled back too
    kinds = [e.kind for e in audit.events(session, case.stream)]
    assert kinds == ["case.filed", "case.rule_failed"]
    notices = session.scalars(select(OutboxMessage).where(OutboxMessage.reason == "rule.failed")).all()
    assert [m.to for m in notices] == ["admin@example.com"]
    assert audit.verify(session).ok


def test_transition_and_update_triggers(session: Session, admin: User, requester: User,
                                        complaint_type: Definition, agent: User) -> None:
    rules = [
        {"id": "tag_start", "name": "Tag started", "trigger": "case.transitioned", "priority": 1,
         "condition": {"field": "case.transition", "op": "eq", "value": "start"},
         "actions": [{"type": "add_tag", "tag": "started"}]},
        {"id": "tier_up", "name": "Gold after edit", "trigger": "case.updated", "priority": 1,
         "condition": {"field": "customer_tier", "op": "eq", "value": "gold"},
         "actions": [{"type": "set_priority", "priority": "high"}]},
    ]
    with_rules(session, admin, complaint_type, *rules)
    case = _file(session, complaint_type, requester, CALM)
    lifecycle.transition(session, case, "start", agent)
    from cases.case_versions import case_tags

    assert case_tags(case) == ["started"]
    lifecycle.edit_fields(session, case, {"customer_tier": "gold"}, agent)
    assert case.priority == "high"


def test_a_breached_first_response_escalates_to_supervisors_once(session: Session, admin: User, requester: User,
                                                                 complaint_type: Definition) -> None:
    from datetime import UTC, datetime, timedelta

    from cases import sla_sweep
    from cases.clock import fixed

    accounts.create_queue(session, slug="supervisors", name="Supervisors")
    document = complaint_case_type_document()
    document["sla"] = [{"state": "new", "kind": "response", "hours": 8, "business_hours": True}]
    document["rules"] = {"schema_version": 1, "rules": [
        {"id": "breach", "name": "Breach goes to supervisors", "trigger": "sla.breached", "priority": 1,
         "condition": {"field": "case.sla_kind", "op": "eq", "value": "response"},
         "actions": [{"type": "route_to_queue", "queue": "supervisors"}, {"type": "set_priority", "priority": "high"},
                     {"type": "notify", "to": "requester", "message": "We are late; a supervisor has your case."}]}]}
    assert definitions.save_draft(session, complaint_type, document, actor=admin) == []
    definitions.publish(session, complaint_type, actor=admin)
    friday_4pm = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    case = lifecycle.file_case(session, complaint_type, CALM, uploader=Uploader(requester), clock=fixed(friday_4pm))
    assert case.due_at == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)  # 1 h Friday + 7 h Monday
    fired: list[str] = []

    def on_fire(s: Session, c: Any, deadline: Any, event: str) -> None:
        fired.append(event)
        automation.sla_fired(s, c, deadline, event, clock=fixed(friday_4pm + timedelta(days=4)))

    assert sla_sweep.sweep(session, clock=fixed(datetime(2026, 3, 9, 12, 0, tzinfo=UTC)), on_fire=on_fire) == 0
    late = fixed(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    assert sla_sweep.sweep(session, clock=late, on_fire=on_fire) == 1
    assert sla_sweep.sweep(session, clock=late, on_fire=on_fire) == 0
    assert fired == ["sla.breached"]
    session.refresh(case)
    assert (case.queue.slug, case.priority) == ("supervisors", "high")
    kinds = [e.kind for e in audit.events(session, case.stream)]
    assert kinds.count("sla.breached") == 1 and kinds[-1] == "case.rule_applied"
    assert audit.verify(session).ok


CONTRACT_FORM = {
    "schema_version": 1, "title": "Contract request",
    "pages": [{"key": "contract", "title": "Contract", "fields": [
        {"type": "short_text", "key": "counterparty", "label": "Counterparty", "required": True},
        {"type": "currency", "key": "value", "label": "Contract value", "currency": "EUR", "required": True},
        {"type": "single_choice", "key": "liability", "label": "Liability", "required": True,
         "options": [{"label": "Standard", "value": "standard"}, {"label": "Non-standard", "value": "non_standard"}]},
        {"type": "short_text", "key": "governing_law", "label": "Governing law", "required": True},
    ]}],
}


def _contract_type(session: Session, admin: User, general: Any) -> Definition:
    form = definitions.create(session, "form", slug="contract", title="Contract request", actor=admin,
                              document=CONTRACT_FORM)
    definitions.publish(session, form, actor=admin)
    agent = {"roles": ["agent"], "queue_members": True, "assignee_only": False, "requester": False}
    document = {
        "schema_version": 1, "name": "Contract", "prefix": "CON", "form": "contract", "form_version": 1,
        "states": [{"key": "request", "label": "Request", "kind": "initial"},
                   {"key": "drafting", "label": "Drafting", "kind": "working"},
                   {"key": "legal_review", "label": "Legal review", "kind": "working"},
                   {"key": "compliance_review", "label": "Compliance review", "kind": "working"},
                   {"key": "active", "label": "Active", "kind": "final"}],
        "transitions": [{"key": "draft", "label": "Draft", "from": ["request", "legal_review", "compliance_review"],
                         "to": "drafting", "who": agent},
                        {"key": "activate", "label": "Activate", "from": ["drafting"], "to": "active", "who": agent}],
        "default_queue": "general", "fallback_queue": "general",
        "rules": {"schema_version": 1, "rules": [
            {"id": "legal", "name": "Legal review", "trigger": "case.submitted", "priority": 10,
             "condition": {"any": [{"field": "liability", "op": "eq", "value": "non_standard"},
                                   {"field": "value", "op": "gt", "value": 100000}]},
             "actions": [{"type": "move_to_state", "state": "legal_review"}]},
            {"id": "compliance", "name": "Compliance review", "trigger": "case.submitted", "priority": 20,
             "condition": {"field": "governing_law", "op": "not_in", "value": ["England and Wales", "Germany",
                                                                                "Netherlands"]},
             "actions": [{"type": "move_to_state", "state": "compliance_review"}]}]},
    }
    case_type = definitions.create(session, "case_type", slug="contract", title="Contract", actor=admin,
                                   document=document)
    assert definitions.draft_problems(session, case_type) == []
    definitions.publish(session, case_type, actor=admin)
    return case_type


@pytest.mark.parametrize(("value", "liability", "law", "state"), [
    ("100000", "standard", "Germany", "request"),               # exactly 100,000, standard: no legal review
    ("100000.01", "standard", "Germany", "legal_review"),
    ("5000", "non_standard", "germany", "legal_review"),
    ("5000", "standard", "New York", "compliance_review"),
    ("5000", "standard", "  netherlands ", "request"),          # text compares case- and space-insensitively
])
def test_contract_exception_paths(session: Session, admin: User, requester: User, general: Any, value: str,
                                  liability: str, law: str, state: str) -> None:
    case_type = _contract_type(session, admin, general)
    case = _file(session, case_type, requester, {"counterparty": "ACME", "value": value, "liability": liability,
                                                "governing_law": law})
    assert case.state == state


def test_recent_cases_are_counted_only_as_far_as_a_rule_can_tell(session: Session, admin: User, requester: User,
                                                                 complaint_type: Definition,
                                                                 escalations: Any) -> None:
    """The count stops at one more than the largest number the rules compare with (2 here: it stops at 4),
    so an account with a long history costs a bounded index scan; every decision stays the same."""
    with_rules(session, admin, complaint_type, ESCALATE)
    filed = [_file(session, complaint_type, requester, CALM) for _ in range(7)]
    assert [c.queue.slug for c in filed] == ["general", "general"] + ["escalations"] * 5
    compiled = automation.compiled_rules(session, filed[-1])
    assert compiled is not None
    key = "case.requester_recent_cases.90"
    assert recent.recent_cases_cap(compiled, key) == 4
    assert recent.earlier_cases(session, filed[-1], 90) == 6
    assert recent.earlier_cases(session, filed[-1], 90, 4) == 4
    assert recent.earlier_cases(session, filed[1], 90, 4) == 1
    assert automation.case_facts(session, filed[-1], compiled, "case.submitted")[key] == 4


def test_every_rule_action_has_an_applier_and_a_mismatch_fails_at_import() -> None:
    import subprocess
    import sys
    from pathlib import Path

    from rules import ACTIONS

    assert set(automation.APPLIERS) == set(ACTIONS)
    with pytest.raises(RuntimeError, match=r"no applier for \['escalate'\]"):
        automation.check_appliers(automation.APPLIERS, {**ACTIONS, "escalate": ACTIONS["notify"]})
    with pytest.raises(RuntimeError, match=r"appliers without an action: \['route_to_queue'\]"):
        automation.check_appliers(automation.APPLIERS, {k: v for k, v in ACTIONS.items() if k != "route_to_queue"})
    code = ("from rules.actions import ACTIONS\nACTIONS['escalate'] = ACTIONS['notify']\n"
            "import cases.automation\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "no applier for ['escalate']" in done.stderr, done.stderr
