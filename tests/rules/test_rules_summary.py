"""Rules in plain language."""

from __future__ import annotations

from typing import Any

from rules.model import ValidationContext
from rules.summary import describe_condition, summarize_rule, summarize_ruleset
from rules.validate import validate_ruleset
from tests.rules.rules_helpers import COMPLAINT_ESCALATION, clause, doc, rule


def test_the_complaint_escalation_rule(ctx: ValidationContext) -> None:
    (escalate,) = validate_ruleset(COMPLAINT_ESCALATION, ctx).rules
    assert summarize_rule(escalate, ctx) == (
        "When a case is submitted and Severity is High or Critical or Customer tier is Gold or Requester's earlier "
        "cases in the last 90 days is at least 2: route to Escalations, set priority to Urgent, due in 4 business "
        "hours")


def test_the_example_of_the_brief(build: Any, ctx: ValidationContext) -> None:
    (escalate,) = build(rule("e", 10, {"any": [clause("severity", "in", ["high", "critical"]),
                                               clause("customer_tier", "eq", "gold")]}, actions=[
        {"type": "route_to_queue", "queue": "escalations"}, {"type": "set_priority", "priority": "urgent"},
        {"type": "set_due_in", "hours": 4, "business_hours": True}])).rules
    assert summarize_rule(escalate, ctx) == (
        "When a case is submitted and Severity is High or Critical or Customer tier is Gold: route to Escalations, "
        "set priority to Urgent, due in 4 business hours")


def test_unconditional_disabled_and_nested(build: Any, ctx: ValidationContext) -> None:
    ruleset = build(
        rule("always", 900, {"all": []}, trigger="sla.breached",
             actions=[{"type": "notify", "to": "assignee", "message": "Late!"}]),
        rule("nested", 10, {"all": [clause("amount", "gt", "10000.01"),
                                    {"not": {"any": [clause("description", "contains", "test"),
                                                     clause("case.state", "eq", "cfo_approval")]}}]},
             enabled=False, actions=[{"type": "add_tag", "tag": "big"}]),
    )
    always, nested = ruleset.rules
    assert summarize_rule(always, ctx) == "When an SLA deadline is missed: notify the assignee: \u201cLate!\u201d"
    assert describe_condition(nested, ctx) == (
        'Amount is greater than 10000.01 and not (Description contains "test" or State is CFO approval)')
    assert summarize_rule(nested, ctx).endswith(": add tag \u201cbig\u201d (disabled)")
    assert [rule_id for rule_id, _ in summarize_ruleset(ruleset, ctx)] == ["nested", "always"]


def test_labels_fall_back_to_keys(build: Any) -> None:
    bare = ValidationContext(fields={"amount": "number"}, queues=["finance"])
    (big,) = validate_ruleset(doc(rule("big", 10, clause("amount", "between", [1, "2.5"]),
                                       actions=[{"type": "route_to_queue", "queue": "finance"}])), bare).rules
    assert summarize_rule(big, bare) == "When a case is submitted and amount is between 1 and 2.5: route to finance"
