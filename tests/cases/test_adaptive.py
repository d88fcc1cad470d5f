"""Adaptive case work in the services: tasks agents and rules start, blocking ones, child cases, waiting parents."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from case_types.errors import Conflict, NotFound, ValidationFailed
from case_types.workflow import TransitionNotAllowed, starter_case_type
from cases import access, accounts, approvals, assignment, audit, definitions, discretionary, lifecycle, links, tasks
from cases.errors import PermissionDenied
from cases.models import Case, CaseLink, Definition, Task, User
from cases.privacy.values import is_sealed, readable
from cases.submissions import Uploader
from tests.support.complaint import GOOD, complaint_case_type_document
from tests.support.concurrency import race

AGENT_WHO = {"roles": ["agent"], "queue_members": True, "assignee_only": False, "requester": False}
SAFETY = {"key": "safety_review", "label": "Product-safety review", "who": {"roles": ["agent"], "queues": ["safety"]},
          "states": ["in_progress"], "reason_required": True, "queue": "safety", "sla_hours": 48,
          "blocks_closing": True}
MAPPED = {k: k for k in ("name", "email", "order_number", "severity", "category", "description")}
REFUND = {"key": "refund", "label": "Refund invoice", "who": {"roles": ["agent"]},
          "states": ["in_progress", "awaiting_refund"], "case_type": "invoice", "fields": MAPPED}
SAFETY_RULE = {"id": "safety_on_high", "name": "Safety review for high severity", "trigger": "case.transitioned",
               "priority": 10, "condition": {"field": "severity", "op": "eq", "value": "high"},
               "actions": [{"type": "start_task", "task": "safety_review", "reason": "High severity"}]}


def _user(session: Session, email: str, roles: list[str], queue: str | None = None) -> User:
    user = accounts.create_user(session, email=email, name=email.split("@")[0].capitalize(),
                                password="long enough pw", roles=roles)
    if queue:
        found = accounts.find_queue(session, queue) or accounts.create_queue(session, slug=queue, name=queue.title())
        accounts.add_queue_member(session, found, user)
    return user


def _complaint_document(rules: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    document = complaint_case_type_document(discretionary=[SAFETY, REFUND])
    document["states"].insert(2, {"key": "awaiting_refund", "label": "Awaiting refund", "kind": "working"})
    document["transitions"] += [
        {"key": "await_refund", "label": "Wait for the refund", "from": ["in_progress"], "to": "awaiting_refund",
         "who": AGENT_WHO},
        {"key": "refund_settled", "label": "Refund settled", "from": ["awaiting_refund"], "to": "resolved",
         "who": AGENT_WHO, "after_children": True}]
    if rules:
        document["rules"] = {"schema_version": 1, "rules": rules}
    return document


@pytest.fixture
def safety_agent(session: Session) -> User:
    return _user(session, "sam@example.com", ["agent"], "safety")


@pytest.fixture
def billing_agent(session: Session) -> User:
    return _user(session, "bill@example.com", ["agent"], "billing")


@pytest.fixture
def adaptive_type(session: Session, admin: User, complaint: Definition, general: Any, safety_agent: User,
                  billing_agent: User) -> Definition:
    invoice_document = starter_case_type("Refund invoice", form="complaint", form_version=1, queue="billing")
    invoice_document["prefix"] = "INV"
    invoice = definitions.create(session, "case_type", slug="invoice", title="Refund invoice", actor=admin,
                                 document=invoice_document)
    definitions.publish(session, invoice, actor=admin)
    case_type = definitions.create(session, "case_type", slug="complaint", title="Customer complaint", actor=admin,
                                   document=_complaint_document())
    assert definitions.draft_problems(session, case_type) == []
    definitions.publish(session, case_type, actor=admin)
    return case_type


def _in_progress(session: Session, case_type: Definition, requester: User, agent: User) -> Case:
    case = lifecycle.file_case(session, case_type, GOOD, uploader=Uploader(requester))
    lifecycle.transition(session, case, "start", agent)
    return case


def _events(session: Session, case: Case, kind: str) -> list[dict[str, Any]]:
    """The payloads as people read them (personal values revealed)."""
    return [json.loads(e.payload) for e in readable(session, audit.events(session, case.stream)) if e.kind == kind]


def _stored(session: Session, case: Case, kind: str) -> list[dict[str, Any]]:
    """The payloads as the chain hashes them."""
    return [json.loads(e.payload) for e in audit.events(session, case.stream) if e.kind == kind]


# ---------------------------------------------------------------- who may start what, in which states


def test_who_may_start_what_in_which_states(session: Session, adaptive_type: Definition, requester: User,
                                            agent: User, admin: User, safety_agent: User,
                                            billing_agent: User) -> None:
    auditor = _user(session, "audrey@example.com", ["auditor"])
    case = lifecycle.file_case(session, adaptive_type, GOOD, uploader=Uploader(requester))
    assert discretionary.tasks_available(session, case, agent) == []  # nothing offered while the case is New
    with pytest.raises(Conflict, match="cannot be started while the case is New"):
        discretionary.start_task(session, case, "safety_review", agent, reason="Smoke")
    lifecycle.transition(session, case, "start", agent)

    offered = {u.email: [i.key for i in discretionary.tasks_available(session, case, u)]
               for u in (agent, admin, safety_agent, billing_agent, requester, auditor)}
    assert offered == {"alex@example.com": ["safety_review", "refund"],
                       "admin@example.com": ["safety_review", "refund"], "sam@example.com": ["safety_review"],
                       "bill@example.com": [], "riley@example.com": [], "audrey@example.com": []}
    for outsider in (billing_agent, requester, auditor):
        with pytest.raises(PermissionDenied, match="not allowed to start 'Product-safety review'"):
            discretionary.start_task(session, case, "safety_review", outsider, reason="Smoke")
    with pytest.raises(ValidationFailed, match="Give a reason") as refused:
        discretionary.start_task(session, case, "safety_review", agent, reason="  ")
    assert refused.value.fields == {"reason": ["Give a reason to start 'Product-safety review'."]}
    with pytest.raises(NotFound):
        discretionary.start_task(session, case, "no_such", agent)

    task = discretionary.start_task(session, case, "safety_review", safety_agent, reason="Charger smoked")
    assert isinstance(task, Task)
    assert (task.queue.slug, task.discretionary, task.blocks_closing, task.reason, task.started_by_id,
            task.rule_id) == ("safety", True, True, "Charger smoked", safety_agent.id, None)
    assert task.due_at is not None and task.due_at > task.created_at
    assert "safety_review" not in [i.key for i in discretionary.tasks_available(session, case, agent)]
    with pytest.raises(Conflict, match="already open"):
        discretionary.start_task(session, case, "safety_review", agent, reason="Again")
    # A reason is free text about people: the chain holds its sealed commitment, readers the text.
    assert is_sealed(_stored(session, case, "task.started")[0]["reason"])
    started = _events(session, case, "task.started")
    assert started == [{"task": task.id, "key": "safety_review", "label": "Product-safety review", "queue": "safety",
                        "reason": "Charger smoked", "blocks_closing": True, "due_at": task.due_at.isoformat(),
                        "rule": None}]


# ---------------------------------------------------------------- blocking, completing, cancelling


def test_a_blocking_task_keeps_the_case_open_and_is_named(session: Session, adaptive_type: Definition,
                                                          requester: User, agent: User, safety_agent: User) -> None:
    case = _in_progress(session, adaptive_type, requester, agent)
    task = discretionary.start_task(session, case, "safety_review", agent, reason="Charger smoked")
    with pytest.raises(TransitionNotAllowed, match=r"'Resolve' has to wait: 'Product-safety review' \(Safety\) is "
                                                   r"still open"):
        lifecycle.transition(session, case, "resolve", agent, comment="Done")
    with pytest.raises(PermissionDenied):
        tasks.complete(session, case, task.id, agent)  # members of the safety queue work it
    tasks.complete(session, case, task.id, safety_agent)
    lifecycle.transition(session, case, "resolve", agent, comment="Done")
    assert not case.is_open
    assert [e["key"] for e in _events(session, case, "task.completed")] == ["safety_review"]


def test_a_cancelled_task_no_longer_blocks_and_is_audited(session: Session, adaptive_type: Definition,
                                                          requester: User, agent: User, admin: User,
                                                          billing_agent: User) -> None:
    case = _in_progress(session, adaptive_type, requester, agent)
    task = discretionary.start_task(session, case, "safety_review", agent, reason="Charger smoked")
    assert isinstance(task, Task)
    with pytest.raises(PermissionDenied):
        discretionary.cancel(session, case, task.id, billing_agent)
    discretionary.cancel(session, case, task.id, agent, reason="False alarm")
    with pytest.raises(Conflict, match="was cancelled"):
        tasks.complete(session, case, task.id, admin)
    assert _events(session, case, "task.cancelled")[0]["reason"] == "False alarm"
    lifecycle.transition(session, case, "resolve", agent, comment="Done")
    assert not case.is_open


# ---------------------------------------------------------------- rules start them too


def test_a_rule_started_task_records_its_rule_and_reason(session: Session, adaptive_type: Definition,
                                                         requester: User, agent: User, admin: User) -> None:
    assert definitions.save_draft(session, adaptive_type, _complaint_document([SAFETY_RULE]), actor=admin) == []
    definitions.publish(session, adaptive_type, actor=admin)
    case = _in_progress(session, adaptive_type, requester, agent)
    (task,) = [t for t in tasks.tasks_of(session, case) if t.discretionary]
    assert (task.key, task.rule_id, task.reason, task.started_by_id) == ("safety_review", "safety_on_high",
                                                                         "High severity", None)
    (started,) = _events(session, case, "task.started")
    assert (started["rule"], started["reason"]) == ("safety_on_high", "High severity")
    applied = [e for e in _events(session, case, "case.rule_applied") if e["rule"] == "safety_on_high"]
    assert applied[0]["summary"] == ["started Product-safety review"]


def test_a_start_task_action_must_name_a_task_of_the_catalogue(session: Session, adaptive_type: Definition,
                                                               admin: User) -> None:
    rule = {**SAFETY_RULE, "actions": [{"type": "start_task", "task": "audit_everything"}]}
    problems = definitions.save_draft(session, adaptive_type, _complaint_document([rule]), actor=admin)
    assert any("Unknown task 'audit_everything'" in p.message for p in problems), problems


# ---------------------------------------------------------------- child cases


def test_a_child_case_inherits_the_mapped_fields_and_is_linked_both_ways(
        session: Session, adaptive_type: Definition, requester: User, agent: User) -> None:
    parent = _in_progress(session, adaptive_type, requester, agent)
    child = discretionary.start_task(session, parent, "refund", agent, reason="Vase broken")
    assert isinstance(child, Case)
    assert child.ref.startswith("INV-") and child.case_type.slug == "invoice"
    assert json.loads(child.data) == {**{k: GOOD[k] for k in MAPPED}, "customer_tier": None, "attachment": []}
    assert (child.requester_id, child.queue.slug, child.state) == (requester.id, "billing", "new")
    rows = session.execute(select(CaseLink.case_id, CaseLink.other_id, CaseLink.kind)).all()
    assert sorted(rows) == sorted([(parent.id, child.id, "child"), (child.id, parent.id, "parent")])
    assert _events(session, child, "case.filed")[0]["parent"] == parent.ref
    assert _events(session, parent, "case.child_started")[0]["child"] == child.ref
    assert _events(session, parent, "case.child_started")[0]["reason"] == "Vase broken"
    assert is_sealed(_stored(session, parent, "case.child_started")[0]["reason"])
    assert is_sealed(_stored(session, child, "case.filed")[0]["reason"])


def _wait_with_children(session: Session, case_type: Definition, requester: User, agent: User,
                        children: int) -> tuple[Case, list[Case]]:
    parent = _in_progress(session, case_type, requester, agent)
    kids = [discretionary.start_task(session, parent, "refund", agent) for _ in range(children)]
    lifecycle.transition(session, parent, "await_refund", agent)
    return parent, [k for k in kids if isinstance(k, Case)]


def test_the_parent_moves_on_when_its_last_child_closes(session: Session, adaptive_type: Definition,
                                                        requester: User, agent: User, billing_agent: User) -> None:
    parent, (first, second) = _wait_with_children(session, adaptive_type, requester, agent, 2)
    with pytest.raises(TransitionNotAllowed, match="waits for the child cases"):
        lifecycle.transition(session, parent, "refund_settled", agent)
    for child in (first, second):
        lifecycle.transition(session, child, "start", billing_agent)
    lifecycle.transition(session, first, "resolve", billing_agent, comment="Paid")
    session.refresh(parent)
    assert parent.state == "awaiting_refund"
    lifecycle.transition(session, second, "resolve", billing_agent, comment="Paid")
    session.refresh(parent)
    assert (parent.state, parent.is_open) == ("resolved", False)
    (moved,) = [e for e in _events(session, parent, "case.transitioned") if e.get("by") == "children_closed"]
    assert (moved["transition"], moved["last_child"]) == ("refund_settled", second.ref)


def test_two_children_closing_at_once_move_the_parent_exactly_once(
        session: Session, database_url: str, adaptive_type: Definition, requester: User, agent: User,
        billing_agent: User) -> None:
    parent, kids = _wait_with_children(session, adaptive_type, requester, agent, 2)
    for child in kids:
        lifecycle.transition(session, child, "start", billing_agent)
    ids = [k.id for k in kids]
    session.commit()

    def close(s: Session, i: int) -> str:
        closer = s.get(User, billing_agent.id)
        child = s.get(Case, ids[i])
        assert closer is not None and child is not None
        lifecycle.transition(s, child, "resolve", closer, comment="Paid")
        return "closed"

    assert race(database_url, 2, close) == ["closed", "closed"]
    session.expire_all()
    fresh = session.get(Case, parent.id)
    assert fresh is not None and fresh.state == "resolved"
    moved = [e for e in _events(session, fresh, "case.transitioned") if e.get("by") == "children_closed"]
    assert len(moved) == 1


# ---------------------------------------------------------------- who sees a child case


def test_who_sees_a_child_case_and_what_of_it(session: Session, adaptive_type: Definition, requester: User,
                                              agent: User, admin: User, billing_agent: User) -> None:
    other_requester = _user(session, "olga@example.com", ["requester"])
    auditor = _user(session, "audrey@example.com", ["auditor"])
    parent = _in_progress(session, adaptive_type, requester, agent)
    child = discretionary.start_task(session, parent, "refund", agent)
    assert isinstance(child, Case)
    seen = {}
    for user in (requester, other_requester, agent, billing_agent, admin, auditor):
        may_see_parent = access.can_view(session, user, parent)
        views = links.links_for(session, parent, user) if may_see_parent else None
        seen[user.email] = (access.can_view(session, user, child), may_see_parent,
                            [(v.ref, v.case_type, v.visible, v.summary != "") for v in views or []])
    link = (child.ref, "Refund invoice")
    assert seen == {
        "riley@example.com": (True, True, [(*link, True, True)]),  # the parent's requester: the child is theirs
        "olga@example.com": (False, False, []),
        "alex@example.com": (False, True, [(*link, False, False)]),  # the parent's agent: existence and title only
        "bill@example.com": (True, False, []),
        "admin@example.com": (True, True, [(*link, True, True)]),
        "audrey@example.com": (True, True, [(*link, True, True)]),
    }
    with pytest.raises(NotFound):
        access.get_case_for(session, child.id, agent)
    # From the child's side, its requester sees the parent link; billing sees the parent exists, not its data.
    assert [(v.kind, v.visible) for v in links.links_for(session, child, requester)] == [("parent", True)]
    assert [(v.kind, v.visible, v.summary) for v in links.links_for(session, child, billing_agent)] == [
        ("parent", False, "")]


# ---------------------------------------------------------------- closing, however the case gets there


SETTLE_RULE = {"id": "close_when_settled", "name": "Close when settled", "trigger": "case.updated", "priority": 20,
               "condition": {"field": "description", "op": "contains", "value": "settled"},
               "actions": [{"type": "move_to_state", "state": "resolved"}]}
CLOSE_ON_WAIT = {"id": "close_on_wait", "name": "Close when waiting for the refund", "trigger": "case.transitioned",
                 "priority": 30, "condition": {"field": "case.transition", "op": "eq", "value": "await_refund"},
                 "actions": [{"type": "move_to_state", "state": "resolved"}]}
APPROVE_ON_START = {"id": "approve_on_start", "name": "Approval to close", "trigger": "case.transitioned",
                    "priority": 40, "condition": {"field": "case.transition", "op": "eq", "value": "start"},
                    "actions": [{"type": "require_approval", "role": "admin", "on_approve": "resolved",
                                 "on_reject": "in_progress"}]}


def _publish_rules(session: Session, case_type: Definition, admin: User, rules: list[dict[str, Any]]) -> None:
    assert definitions.save_draft(session, case_type, _complaint_document(rules), actor=admin) == []
    definitions.publish(session, case_type, actor=admin)


def test_a_rule_cannot_close_a_case_while_a_blocking_task_is_open(
        session: Session, adaptive_type: Definition, requester: User, agent: User, admin: User,
        safety_agent: User) -> None:
    _publish_rules(session, adaptive_type, admin, [SETTLE_RULE])
    case = _in_progress(session, adaptive_type, requester, agent)
    task = discretionary.start_task(session, case, "safety_review", agent, reason="Charger smoked")
    lifecycle.edit_fields(session, case, {"description": "Refund settled with the customer."}, agent)
    assert (case.state, case.is_open) == ("in_progress", True)
    (applied,) = [e for e in _events(session, case, "case.rule_applied") if e["rule"] == "close_when_settled"]
    assert applied["summary"] == ["not moved to Resolved: 'Product-safety review' (Safety) is still open and has "
                                  "to be finished before the case closes"]
    tasks.complete(session, case, task.id, safety_agent)
    lifecycle.edit_fields(session, case, {"description": "Refund settled, safety review done."}, agent)
    assert (case.state, case.is_open) == ("resolved", False)


def test_a_rule_cannot_close_a_parent_that_waits_for_its_children(
        session: Session, adaptive_type: Definition, requester: User, agent: User, admin: User,
        billing_agent: User) -> None:
    _publish_rules(session, adaptive_type, admin, [CLOSE_ON_WAIT])
    parent, (child,) = _wait_with_children(session, adaptive_type, requester, agent, 1)
    assert (parent.state, parent.is_open) == ("awaiting_refund", True)
    (applied,) = [e for e in _events(session, parent, "case.rule_applied") if e["rule"] == "close_on_wait"]
    assert applied["summary"] == [f"not moved to Resolved: the case waits for its child cases; still open: {child.ref}"]
    lifecycle.transition(session, child, "start", billing_agent)
    lifecycle.transition(session, child, "resolve", billing_agent, comment="Paid")
    session.refresh(parent)
    assert (parent.state, parent.is_open) == ("resolved", False)


def test_an_approval_cannot_close_a_case_while_a_blocking_task_is_open(
        session: Session, adaptive_type: Definition, requester: User, agent: User, admin: User,
        safety_agent: User) -> None:
    _publish_rules(session, adaptive_type, admin, [APPROVE_ON_START])
    case = _in_progress(session, adaptive_type, requester, agent)
    task = discretionary.start_task(session, case, "safety_review", agent, reason="Charger smoked")
    with pytest.raises(TransitionNotAllowed, match=r"The approval has to wait: 'Product-safety review' \(Safety\) "
                                                   r"is still open"):
        approvals.decide_approval(session, case, admin, approve=True)
    assert (case.state, case.is_open) == ("in_progress", True)
    assert approvals.pending_approval(session, case) is not None
    tasks.complete(session, case, task.id, safety_agent)
    approvals.decide_approval(session, case, admin, approve=True)
    assert (case.state, case.is_open) == ("resolved", False)


def test_a_child_closed_by_a_rule_lets_its_waiting_parent_move_on(
        session: Session, adaptive_type: Definition, requester: User, agent: User, admin: User,
        billing_agent: User) -> None:
    invoice = session.scalar(select(Definition).where(Definition.slug == "invoice"))
    assert invoice is not None
    document = starter_case_type("Refund invoice", form="complaint", form_version=1, queue="billing")
    document.update(prefix="INV", editable_fields={"in_progress": ["description"]},
                    rules={"schema_version": 1, "rules": [SETTLE_RULE]})
    assert definitions.save_draft(session, invoice, document, actor=admin) == []
    definitions.publish(session, invoice, actor=admin)
    parent, (child,) = _wait_with_children(session, adaptive_type, requester, agent, 1)
    lifecycle.transition(session, child, "start", billing_agent)
    lifecycle.edit_fields(session, child, {"description": "Refund settled by bank transfer."}, billing_agent)
    assert not child.is_open
    session.refresh(parent)
    assert (parent.state, parent.is_open) == ("resolved", False)
    (moved,) = [e for e in _events(session, parent, "case.transitioned") if e.get("by") == "children_closed"]
    assert moved["last_child"] == child.ref


def test_a_rule_that_fires_again_starts_no_second_child_while_the_first_is_open(
        session: Session, adaptive_type: Definition, requester: User, agent: User, admin: User,
        billing_agent: User) -> None:
    rule = {"id": "refund_on_edit", "name": "Refund when agreed", "trigger": "case.updated", "priority": 50,
            "condition": {"field": "description", "op": "contains", "value": "refund"},
            "actions": [{"type": "start_task", "task": "refund", "reason": "Refund agreed"}]}
    _publish_rules(session, adaptive_type, admin, [rule])
    case = _in_progress(session, adaptive_type, requester, agent)
    lifecycle.edit_fields(session, case, {"description": "We agreed a refund with the customer."}, agent)
    lifecycle.edit_fields(session, case, {"description": "We agreed a refund of the full price."}, agent)
    children = [link.other for link in case.links if link.kind == "child"]
    assert len(children) == 1 and _events(session, children[0], "case.filed")[0]["rule"] == "refund_on_edit"
    summaries = [e["summary"] for e in _events(session, case, "case.rule_applied") if e["rule"] == "refund_on_edit"]
    assert summaries == [[f"started Refund invoice ({children[0].ref})"],
                         ["not started: Refund invoice is already open"]]
    lifecycle.transition(session, children[0], "reject", billing_agent, comment="Not due")
    lifecycle.edit_fields(session, case, {"description": "We agreed a refund after all, as promised."}, agent)
    session.expire(case, ["links"])
    assert len([link for link in case.links if link.kind == "child"]) == 2  # the first one is closed


# ---------------------------------------------------------------- task deadlines


def test_an_overdue_started_task_escalates_once_even_with_two_sweepers(
        session: Session, database_url: str, adaptive_type: Definition, requester: User, agent: User,
        safety_agent: User) -> None:
    from datetime import timedelta

    from cases import task_deadlines
    from cases.models import OutboxMessage

    case = _in_progress(session, adaptive_type, requester, agent)
    assignment.claim(session, case, agent)
    case.priority = "normal"
    task = discretionary.start_task(session, case, "safety_review", agent, reason="Charger smoked")
    assert isinstance(task, Task) and task.due_at is not None
    due = task.due_at
    assert task_deadlines.sweep(session, clock=lambda: due - timedelta(minutes=1)) == 0
    session.commit()

    def sweep(s: Session, _i: int) -> int:
        return task_deadlines.sweep(s, clock=lambda: due + timedelta(minutes=5))

    assert sorted(race(database_url, 2, sweep)) == [0, 1]
    session.expire_all()
    fresh = session.get(Case, case.id)
    assert fresh is not None and fresh.priority == "high"
    (overdue,) = _events(session, fresh, "task.overdue")
    assert (overdue["label"], overdue["priority"]) == ("Product-safety review", {"before": "normal", "after": "high"})
    told = set(session.scalars(select(OutboxMessage.to).where(OutboxMessage.reason == "task.overdue")))
    assert told == {safety_agent.email, agent.email}
    assert task_deadlines.sweep(session, clock=lambda: due + timedelta(days=3)) == 0  # once only


# ---------------------------------------------------------------- milestones


def test_milestones_are_reached_once_by_a_transition_or_a_task(
        session: Session, adaptive_type: Definition, requester: User, agent: User, admin: User,
        safety_agent: User) -> None:
    document = _complaint_document()
    document["milestones"] = [{"key": "work_started", "label": "Work started", "transition": "start"},
                              {"key": "safety_cleared", "label": "Safety cleared", "task": "safety_review"}]
    assert definitions.save_draft(session, adaptive_type, document, actor=admin) == []
    definitions.publish(session, adaptive_type, actor=admin)
    bad = {**document, "milestones": [{"key": "x", "label": "X", "transition": "fly"}]}
    assert [p.message for p in definitions.save_draft(session, adaptive_type, bad, actor=admin)] == [
        "'fly' is not one of the transitions."]
    case = _in_progress(session, adaptive_type, requester, agent)
    task = discretionary.start_task(session, case, "safety_review", agent, reason="Smoke")
    tasks.complete(session, case, task.id, safety_agent)
    again = discretionary.start_task(session, case, "safety_review", agent, reason="Second look")
    tasks.complete(session, case, again.id, safety_agent)  # reached already: not again
    lifecycle.transition(session, case, "resolve", agent, comment="Done")
    assert [(e["key"], e["by"]) for e in _events(session, case, "case.milestone")] == [
        ("work_started", {"transition": "start"}), ("safety_cleared", {"task": "safety_review"})]
