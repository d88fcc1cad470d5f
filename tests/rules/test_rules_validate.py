"""Validating ruleset documents: every problem, at the offending part, in words an admin understands."""

from __future__ import annotations

from typing import Any

import pytest

from rules.errors import RuleInvalid
from rules.model import ValidationContext
from rules.validate import check_ruleset, validate_ruleset
from tests.rules.rules_helpers import COMPLAINT_ESCALATION, clause, doc, rule


def problems(document: Any, ctx: ValidationContext) -> list[tuple[str, str]]:
    ruleset, found = check_ruleset(document, ctx)
    assert (ruleset is None) == bool(found)
    return [(p.path, p.message) for p in found]


def paths(document: Any, ctx: ValidationContext) -> list[str]:
    return [path for path, _ in problems(document, ctx)]


def test_a_valid_ruleset(ctx: ValidationContext) -> None:
    ruleset = validate_ruleset(COMPLAINT_ESCALATION, ctx)
    (escalate,) = ruleset.rules
    assert (escalate.id, escalate.trigger, escalate.priority, escalate.enabled) == ("escalate", "case.submitted", 10,
                                                                                    True)
    assert [a.type for a in escalate.actions] == ["route_to_queue", "set_priority", "set_due_in"]
    assert ruleset.families == {"severity": "choice", "customer_tier": "choice",
                                "case.requester_recent_cases.90": "number"}
    # the stored form keeps the admin's windowed clause
    assert escalate.to_json()["condition"]["any"][2] == {"field": "case.requester_recent_cases", "days": 90,
                                                         "op": "gte", "value": 2}
    assert validate_ruleset(ruleset.to_json(), ctx).fingerprint() == ruleset.fingerprint()


@pytest.mark.parametrize(("document", "expected"), [
    ([], [("", 'A ruleset is an object: {"schema_version": 1, "rules": [...]}.')]),
    ({"rules": []}, [("schema_version", "This ruleset has schema_version None; this version of Casework reads "
                                        "schema_version 1.")]),
    ({"schema_version": 1, "rules": {}}, [("rules", "Give the rules as a list (it may be empty).")]),
    ({"schema_version": 1, "rules": [], "extra": 1}, [("extra", "Unknown key 'extra' in a ruleset.")]),
    ({"schema_version": 1, "rules": ["nope"]}, [("rules[0]", "A rule is an object with id, name, trigger, priority, "
                                                             "condition and actions.")]),
])
def test_bad_shapes(ctx: ValidationContext, document: Any, expected: list[tuple[str, str]]) -> None:
    assert problems(document, ctx) == expected


def test_an_empty_ruleset_is_valid(ctx: ValidationContext) -> None:
    assert validate_ruleset(doc(), ctx).rules == ()


def test_rule_fields(ctx: ValidationContext) -> None:
    bad = {"id": "has space", "name": "", "trigger": "case.exploded", "priority": "10", "enabled": "yes",
           "condition": {"all": []}, "actions": [], "colour": "red"}
    assert problems(doc(bad), ctx) == [
        ("rules[0].colour", "Unknown key 'colour' in a rule (allowed: actions, condition, description, enabled, id, "
                            "name, priority, trigger)."),
        ("rules[0].id", "Give the rule a stable id: up to 64 letters, digits, '_', '-', '.' or ':', starting with a "
                        "letter or digit."),
        ("rules[0].name", "Enter the rule's name."),
        ("rules[0].trigger", "Unknown trigger 'case.exploded': use one of case.submitted, case.updated, "
                             "case.transitioned, sla.warning, sla.breached."),
        ("rules[0].priority", "Give a priority: a whole number from 0 to 1000000 (lower numbers are tried first)."),
        ("rules[0].enabled", "Say whether the rule is enabled: true or false."),
        ("rules[0].actions", "Give the rule at least one action."),
    ]


def test_condition_problems_point_into_the_condition(ctx: ValidationContext) -> None:
    found = problems(doc(rule("r", 10, {"all": [
        clause("colour", "eq", "red"),
        clause("amount", "contains", "1"),
        clause("amount", "gt", "a lot"),
        clause("severity", "eq", "enormous"),
        clause("urgent", "is_true", value=True) | {"value": True},
    ]})), ctx)
    assert [path for path, _ in found] == ["rules[0].condition.all[0].field", "rules[0].condition.all[1].op",
                                           "rules[0].condition.all[2].value", "rules[0].condition.all[3].value",
                                           "rules[0].condition.all[4].value"]
    messages = dict(found)
    assert messages["rules[0].condition.all[0].field"] == "Unknown field 'colour': it does not exist (or was deleted)."
    assert "does not fit 'amount' (a number field)" in messages["rules[0].condition.all[1].op"]
    assert messages["rules[0].condition.all[2].value"] == "Enter a number, like 10000 or 10000.01."
    assert "'enormous' is not an option of 'severity'" in messages["rules[0].condition.all[3].value"]


def test_a_missing_condition(ctx: ValidationContext) -> None:
    document = doc(rule("r", 10))
    del document["rules"][0]["condition"]
    assert problems(document, ctx) == [("rules[0].condition", 'Give a condition; {"all": []} means "always".')]


def test_case_attributes(ctx: ValidationContext) -> None:
    ok = doc(rule("r", 10, {"all": [
        clause("case.state", "in", ["new", "open"]), clause("case.queue", "eq", "vip"),
        clause("case.priority", "eq", "urgent"), clause("case.age_hours", "gt", 48),
        clause("case.tags", "contains", "vip"),
    ]}))
    validate_ruleset(ok, ctx)
    bad = {"all": [clause("case.state", "eq", "limbo"), clause("case.priority", "eq", "meh"),
                   clause("case.tags", "contains", "unknown-tag")]}
    assert problems(doc(rule("r", 10, bad)), ctx) == [
        ("rules[0].condition.all[0].value", "'limbo' is not an option of 'case.state' (options: new, open, waiting, "
                                            "cfo_approval, approved, rejected, closed)."),
        ("rules[0].condition.all[1].value", "'meh' is not an option of 'case.priority' (options: low, normal, high, "
                                            "urgent)."),
        ("rules[0].condition.all[2].value", "'unknown-tag' is not an option of 'case.tags' (options: vip, fraud, "
                                            "repeat)."),
    ]


def test_trigger_only_attributes(ctx: ValidationContext) -> None:
    validate_ruleset(doc(rule("t", 10, clause("case.transition", "eq", "escalate"), trigger="case.transitioned"),
                         rule("s", 10, clause("case.sla_kind", "eq", "response"), trigger="sla.warning")), ctx)
    assert problems(doc(rule("t", 10, clause("case.transition", "eq", "escalate")),
                        rule("s", 20, {"not": clause("case.sla_kind", "eq", "response")}, trigger="case.updated")),
                    ctx) == [
        ("rules[0].condition.field", "case.transition only has a value when the trigger is case.transitioned."),
        ("rules[1].condition.not.field", "case.sla_kind only has a value when the trigger is sla.breached or "
                                         "sla.warning."),
    ]


@pytest.mark.parametrize("days", [None, 0, "90", 3651, 1.5, True])
def test_recent_cases_need_days(ctx: ValidationContext, days: Any) -> None:
    extra = {} if days is None else {"days": days}
    found = problems(doc(rule("r", 10, clause("case.requester_recent_cases", "gte", 2, **extra))), ctx)
    assert found == [("rules[0].condition.days", "Say how many days back to count (case.requester_recent_cases needs "
                                                 "'days', a whole number from 1 to 3650).")]


def test_only_recent_cases_take_days(ctx: ValidationContext) -> None:
    assert problems(doc(rule("r", 10, {"any": [clause("amount", "gt", 1, days=30)]})), ctx) == [
        ("rules[0].condition.any[0].days", "Only case.requester_recent_cases takes 'days'.")]


def test_recent_cases_messages_name_the_attribute(ctx: ValidationContext) -> None:
    found = problems(doc(rule("r", 10, clause("case.requester_recent_cases", "contains", "x", days=30))), ctx)
    assert found[0][0] == "rules[0].condition.op"
    assert "'case.requester_recent_cases' (a number field)" in found[0][1]


def test_unknown_queues_states_and_users_in_actions(ctx: ValidationContext) -> None:
    assert problems(doc(rule("r", 10, actions=[
        {"type": "route_to_queue", "queue": "nowhere"},
        {"type": "move_to_state", "state": "limbo"},
        {"type": "notify", "to": "user", "user": "carol@example.com", "message": "hi"},
    ])), ctx) == [
        ("rules[0].actions[0].queue", "Unknown queue 'nowhere'. Known queues: escalations, finance, general, vip."),
        ("rules[0].actions[1].state", "Unknown state 'limbo'. Known states: approved, cfo_approval, closed, new, open, "
                                      "rejected, waiting."),
        ("rules[0].actions[2].user", "No user has the e-mail address 'carol@example.com'."),
    ]


def test_duplicate_ids_and_priorities(ctx: ValidationContext) -> None:
    found = problems(doc(
        rule("a", 10, clause("amount", "gt", 1), name="First"),
        rule("a", 20, clause("amount", "gt", 2), name="Second"),
        rule("c", 10, clause("amount", "gt", 3), name="Third"),
        rule("d", 10, clause("amount", "gt", 4), name="Other trigger", trigger="case.updated"),
        rule("e", 10, clause("amount", "gt", 5), name="Disabled", enabled=False, trigger="case.updated"),
    ), ctx)
    assert found == [
        ("rules[1].id", "Rule 'First' (rules[0]) already has the id 'a'; ids must be unique."),
        ("rules[2].priority", "Rule 'Third' has the same priority (10) as rule 'First' (rules[0]) for case.submitted; "
                              "the priority decides which rule is tried first, so give each rule of a trigger its "
                              "own."),
        ("rules[4].priority", "Rule 'Disabled' has the same priority (10) as rule 'Other trigger' (rules[3]) for "
                              "case.updated; the priority decides which rule is tried first, so give each rule of a "
                              "trigger its own."),
    ]


def test_duplicates_are_found_even_in_otherwise_invalid_rules(ctx: ValidationContext) -> None:
    found = paths(doc(rule("a", 10), rule("a", 10, actions=[{"type": "route_to_queue", "queue": "x"}])), ctx)
    assert found == ["rules[1].actions[0].queue", "rules[1].id", "rules[1].priority"]


def test_rules_shadowed_by_an_unconditional_one(ctx: ValidationContext) -> None:
    found = problems(doc(
        rule("catch", 10, {"all": []}, name="Everything"),
        rule("late", 20, clause("amount", "gt", 1), name="Late"),
        rule("off", 30, clause("amount", "gt", 2), name="Off", enabled=False),
        rule("elsewhere", 40, clause("amount", "gt", 1), trigger="case.updated"),
    ), ctx)
    assert found == [("rules[1]", "Rule 'Late' can never fire: rule 'Everything' (rules[0], priority 10) is tried "
                                  "first and always matches. Give 'Late' a lower priority number or add a condition "
                                  "to the other rule.")]


def test_an_unconditional_rule_hidden_in_a_double_negation_is_recognised(ctx: ValidationContext) -> None:
    found = paths(doc(rule("catch", 10, {"not": {"any": []}}), rule("late", 20, clause("amount", "gt", 1))), ctx)
    assert found == ["rules[1]"]


def test_rules_with_the_same_condition_as_an_earlier_one(ctx: ValidationContext) -> None:
    found = problems(doc(
        rule("first", 10, {"all": [clause("amount", "gt", 10000), clause("severity", "eq", "high")]}, name="First"),
        rule("again", 20, {"all": [clause("amount", "gt", "10000"), clause("severity", "eq", "high")]}, name="Again"),
    ), ctx)
    assert found == [("rules[1].condition", "Rule 'Again' can never fire: rule 'First' (rules[0], priority 10) has the "
                                            "same condition and is tried first.")]


def test_a_rule_whose_condition_is_never_true(ctx: ValidationContext) -> None:
    assert problems(doc(rule("never", 10, {"any": []}, name="Never")), ctx) == [
        ("rules[0].condition", "Rule 'Never' can never fire: its condition is never true.")]
    validate_ruleset(doc(rule("never", 10, {"any": []}, enabled=False)), ctx)


def test_the_error_carries_every_problem(ctx: ValidationContext) -> None:
    with pytest.raises(RuleInvalid) as caught:
        validate_ruleset(doc(rule("a", 10, clause("colour", "eq", 1)), rule("b", 20, actions=[{"type": "teleport"}])),
                         ctx)
    error = caught.value
    assert [p.path for p in error.errors] == ["rules[0].condition.field", "rules[1].actions[0].type"]
    assert str(error).startswith("rules[0].condition.field: Unknown field 'colour'")
    assert str(error).endswith("(and 1 more problems)")
    assert error.by_path()["rules[1].actions[0].type"] == [
        "Unknown action 'teleport': use one of add_tag, assign_to, move_to_state, notify, require_approval, "
        "route_to_queue, set_due_in, set_priority, start_task."]


def test_too_many_rules(ctx: ValidationContext) -> None:
    assert paths(doc(*[rule(f"r{i}", i) for i in range(251)]), ctx) == ["rules"]
