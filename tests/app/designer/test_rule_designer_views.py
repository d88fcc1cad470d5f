"""The rule designer's action editor, condition builder and problem places, and its posted inputs."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from app.designer.rules import actions as rule_actions
from app.designer.rules import conditions as rule_conditions
from app.designer.rules import posts as rule_posts
from app.designer.rules import problems as rule_problems
from rules.actions import ACTIONS
from rules.editing import RuleEditError
from rules.model import ValidationContext
from rules.validate import check_ruleset
from tests.rules.rules_helpers import clause, doc, make_context, rule

SUBMITTED = "case.submitted"


@pytest.fixture
def ctx() -> ValidationContext:
    return make_context()


def valid(document: dict[str, Any], ctx: ValidationContext) -> None:
    ruleset, problems = check_ruleset(document, ctx)
    assert ruleset is not None, problems


# ---------------------------------------------------------------- actions


def test_every_registered_action_has_an_editor_for_exactly_its_settings() -> None:
    assert set(rule_actions.ACTION_SETTINGS) == set(ACTIONS)
    for name, settings_ in rule_actions.ACTION_SETTINGS.items():
        stored = {s.name for s in settings_ if s.kind != "mode"}
        assert stored == set(ACTIONS[name].settings), name
        assert all(s.kind in rule_actions.SETTING_KINDS for s in settings_)
        deciders = {s.name for s in settings_ if s.kind in ("mode", "recipient")}
        assert all(s.when is None or s.when[0] in deciders for s in settings_), name


EDITOR_VALUES = {
    "route_to_queue": {"queue": "finance"},
    "assign_to": {"by": "strategy", "strategy": "least_loaded", "queue": "general", "user": "ignored@example.com"},
    "set_priority": {"priority": "urgent"},
    "set_due_in": {"hours": "4.5", "business_hours": True},
    "add_tag": {"tag": " vip "},
    "move_to_state": {"state": "cfo_approval"},
    "require_approval": {"approver": "user", "user": "alice@example.com", "role": "cfo", "on_approve": "approved",
                         "on_reject": "rejected"},
    "notify": {"to": "queue", "queue": "finance", "user": "alice@example.com", "message": "  New invoice  "},
}


@pytest.mark.parametrize("kind", sorted(EDITOR_VALUES))
def test_each_action_round_trips_through_its_editor(kind: str, ctx: ValidationContext) -> None:
    action = rule_actions.action_from_inputs(kind, EDITOR_VALUES[kind])
    valid(doc(rule("a", 10, actions=[action])), ctx)
    again = rule_actions.action_from_inputs(kind, rule_actions.action_inputs(action))
    assert again == action
    posted = MultiDict({f"a0-{k}": ("y" if v is True else v) for k, v in rule_actions.action_inputs(action).items()
                        if v is not False})
    assert rule_actions.action_from_inputs(kind, rule_posts.inputs_from_post(kind, posted, "a0-")) == action


def test_only_the_settings_of_the_chosen_mode_are_stored_and_blanks_are_left_for_the_validator(
        ctx: ValidationContext) -> None:
    assert rule_actions.action_from_inputs(
        "assign_to", {"by": "user", "user": "alice@example.com", "queue": "vip"}) == {
        "type": "assign_to", "user": "alice@example.com"}
    assert rule_actions.action_from_inputs("notify", {"to": "requester", "queue": "vip", "message": "Hi"}) == {
        "type": "notify", "to": "requester", "message": "Hi"}
    assert rule_actions.action_from_inputs("set_due_in", {"hours": "2", "business_hours": False}) == {
        "type": "set_due_in", "hours": 2, "business_hours": False}
    blank = rule_actions.action_from_inputs("route_to_queue", {"queue": ""})
    _ruleset, problems = check_ruleset(doc(rule("a", 10, actions=[blank])), ctx)
    assert [p.path for p in problems] == ["rules[0].actions[0].queue"]
    bad_hours = rule_actions.action_from_inputs("set_due_in", {"hours": "soon"})
    assert bad_hours["hours"] == "soon"
    with pytest.raises(RuleEditError):
        rule_actions.action_from_inputs("launch_rocket", {})
    assert rule_actions.action_inputs({"type": "require_approval", "role": "cfo"})["approver"] == "role"
    assert rule_actions.action_inputs({"type": "assign_to"})["by"] == "user"
    assert rule_posts.inputs_from_post("notify", MultiDict({"to": "nobody"}))["to"] == "requester"


def test_inputs_offer_what_the_case_type_has(ctx: ValidationContext) -> None:
    by_name = {s.name: s for s in rule_actions.ACTION_SETTINGS["notify"]}
    assert ("finance", "Finance") in rule_actions.setting_choices(by_name["queue"], ctx)
    assert ("alice@example.com", "Alice (alice@example.com)") in rule_actions.setting_choices(by_name["user"], ctx)
    assert [v for v, _l in rule_actions.setting_choices(by_name["to"], ctx)] == [
        "requester", "assignee", "queue", "user"]
    state = rule_actions.ACTION_SETTINGS["move_to_state"][0]
    assert ("cfo_approval", "CFO approval") in rule_actions.setting_choices(state, ctx)


# ---------------------------------------------------------------- the condition builder


def test_the_builder_offers_form_fields_then_the_case_attributes_of_the_trigger(ctx: ValidationContext) -> None:
    keys = [f.key for f in rule_conditions.condition_fields(ctx, SUBMITTED)]
    assert keys[:3] == ["description", "email", "amount"]
    assert "case.state" in keys and "case.requester_recent_cases" in keys
    assert "case.transition" not in keys and "case.sla_kind" not in keys
    assert "case.transition" in [f.key for f in rule_conditions.condition_fields(ctx, "case.transitioned")]
    assert "case.sla_kind" in [f.key for f in rule_conditions.condition_fields(ctx, "sla.breached")]
    state = next(f for f in rule_conditions.condition_fields(ctx, SUBMITTED) if f.key == "case.state")
    assert ("cfo_approval", "CFO approval") in state.options


def test_conditions_round_trip_through_the_pickers(ctx: ValidationContext) -> None:
    fields = rule_conditions.condition_fields(ctx, SUBMITTED)
    post = MultiDict([("enabled", "1"), ("mode", "any"), ("rows", "3"),
                      ("field-0", "amount"), ("op-0", "gt"), ("value-0", "10,000"),
                      ("field-1", "case.requester_recent_cases"), ("op-1", "gte"), ("value-1", "2"), ("days-1", "90"),
                      ("field-2", "case.priority"), ("op-2", "in"), ("value-2", "high"), ("value-2", "urgent")])
    state = rule_posts.builder_from_post(post, fields)
    condition = rule_conditions.condition_from_builder(state, fields)
    assert condition == {"any": [
        {"field": "amount", "op": "gt", "value": 10000},
        {"field": "case.requester_recent_cases", "op": "gte", "value": 2, "days": 90},
        {"field": "case.priority", "op": "in", "value": ["high", "urgent"]}]}
    valid(doc(rule("a", 10, condition)), ctx)
    shown = rule_conditions.builder_state(condition)
    assert shown.enabled and shown.mode == "any"
    assert [(r.field, r.op, r.values, getattr(r, "days", "")) for r in shown.rows] == [
        ("amount", "gt", ["10000"], ""), ("case.requester_recent_cases", "gte", ["2"], "90"),
        ("case.priority", "in", ["high", "urgent"], "")]
    # Removing a row keeps each window with its own row.
    removed = rule_posts.builder_from_post(MultiDict([*post.items(multi=True), ("action", "remove-0")]), fields)
    assert [(r.field, getattr(r, "days", "")) for r in removed.rows] == [
        ("case.requester_recent_cases", "90"), ("case.priority", "")]
    # Switched off, or never switched on: always.
    assert rule_conditions.condition_from_builder(rule_posts.builder_from_post(MultiDict({"enabled": "0"}), fields),
                                          fields) == {"all": []}
    assert not rule_conditions.builder_state({"all": []}).enabled and not rule_conditions.builder_state(None).enabled
    assert rule_conditions.builder_state({"not": {"field": "urgent", "op": "is_true"}}).complex


def test_a_picker_changed_to_another_family_gets_an_operator_that_fits(ctx: ValidationContext) -> None:
    fields = rule_conditions.condition_fields(ctx, SUBMITTED)
    post = MultiDict({"enabled": "1", "rows": "1", "field-0": "case.tags", "op-0": "gt", "value-0": "5"})
    state = rule_posts.builder_from_post(post, fields)
    assert (state.rows[0].op, state.rows[0].values) == ("contains", [])
    added = rule_posts.builder_from_post(MultiDict({**post, "action": "add"}), fields)
    assert len(added.rows) == 2


# ---------------------------------------------------------------- problems in place


def test_problems_land_on_the_rule_row_action_and_setting_they_concern(ctx: ValidationContext) -> None:
    document = doc(
        rule("a", 10, {"any": [clause("amount", "gt", 1), clause("severity", "eq", "purple")]},
             actions=[{"type": "route_to_queue", "queue": "nowhere"}, {"type": "set_priority"}]),
        rule("b", 10, clause("amount", "gt", "lots"), name=""),
        rule("c", 20, actions=[]),
    )
    _ruleset, problems = check_ruleset(document, ctx)
    overall, by_rule = rule_problems.sort_problems([(p.path, p.message) for p in problems])
    assert overall == []
    assert list(by_rule[0].rows) == [1]
    assert by_rule[0].of_action(0, "queue") and by_rule[0].of_action(1, "priority")
    assert by_rule[1].settings["name"] and by_rule[1].rows[0]
    assert by_rule[1].rule  # the duplicate priority: a part the admin does not type
    assert by_rule[2].actions
    assert by_rule[0].count() == len(by_rule[0].all_messages()) == 3


@pytest.mark.parametrize(("path", "expected"), [
    ("", rule_problems.Place(None)),
    ("schema_version", rule_problems.Place(None)),
    ("rules", rule_problems.Place(None)),
    ("rules[3]", rule_problems.Place(3)),
    ("rules[3].name", rule_problems.Place(3, "name")),
    ("rules[3].condition", rule_problems.Place(3, "condition")),
    ("rules[3].condition.value", rule_problems.Place(3, "condition", row=0)),
    ("rules[3].condition.days", rule_problems.Place(3, "condition", row=0)),
    ("rules[3].condition.any[2].op", rule_problems.Place(3, "condition", row=2)),
    ("rules[3].condition.all[1].any[0].value", rule_problems.Place(3, "condition", row=1)),
    ("rules[3].condition.not", rule_problems.Place(3, "condition")),
    ("rules[3].actions", rule_problems.Place(3, "actions")),
    ("rules[3].actions[1]", rule_problems.Place(3, "actions", action=1)),
    ("rules[3].actions[1].type", rule_problems.Place(3, "actions", action=1, setting="type")),
    ("rules[3].actions[1].on_approve", rule_problems.Place(3, "actions", action=1, setting="on_approve")),
])
def test_place(path: str, expected: rule_problems.Place) -> None:
    assert rule_problems.place(path) == expected
