"""Editing a ruleset as the rule designer does: pure steps from one document to the next."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from rules import editing
from rules.actions import ACTIONS
from rules.editing import RemovedRule, RuleEditError, RuleInput, RuleNotFound
from rules.model import ValidationContext
from rules.validate import check_ruleset
from tests.rules.rules_helpers import clause, doc, make_context, rule

SUBMITTED, UPDATED = "case.submitted", "case.updated"


def priorities(document: dict[str, Any], trigger: str = SUBMITTED) -> list[tuple[str, int]]:
    """(id, priority) of a trigger's rules in the order they are tried."""
    entries = document["rules"]
    return [(entries[i]["id"], entries[i]["priority"]) for i in editing.trigger_order(document, trigger)]


def order(document: dict[str, Any], trigger: str = SUBMITTED) -> list[str]:
    return [rule_id for rule_id, _p in priorities(document, trigger)]


def valid(document: dict[str, Any], ctx: ValidationContext) -> None:
    ruleset, problems = check_ruleset(document, ctx)
    assert ruleset is not None, problems


# ---------------------------------------------------------------- rules


def test_a_new_rule_gets_an_id_from_its_name_and_goes_last_in_its_trigger() -> None:
    start = doc(rule("first", 10), rule("late", 5, trigger=UPDATED))
    before = copy.deepcopy(start)
    document, rule_id = editing.add_rule(start, RuleInput("Large invoices → CFO!", SUBMITTED))
    assert start == before  # the input is never changed
    assert rule_id == "large_invoices_cfo"
    added = editing.find_rule(document, rule_id)
    assert (added["priority"], added["enabled"], added["condition"], added["actions"]) == (20, True, {"all": []}, [])
    document, again = editing.add_rule(document, RuleInput("Large invoices CFO", SUBMITTED))
    assert again == "large_invoices_cfo_2"
    document, other = editing.add_rule(document, RuleInput("Élan", UPDATED, enabled=False, description=" why "))
    assert (other, editing.find_rule(document, other)["priority"]) == ("elan", 10)
    assert editing.find_rule(document, other)["description"] == "why"
    assert editing.add_rule(None, RuleInput("???", SUBMITTED))[1] == "rule"
    assert editing.add_rule({"rules": "broken"}, RuleInput("A", SUBMITTED))[0]["schema_version"] == 1


def test_names_and_triggers_are_checked_before_anything_changes() -> None:
    with pytest.raises(RuleEditError) as err:
        editing.add_rule(doc(), RuleInput("  ", SUBMITTED))
    assert err.value.field == "name"
    with pytest.raises(RuleEditError) as err:
        editing.add_rule(doc(), RuleInput("A", "case.deleted"))
    assert err.value.field == "trigger"
    with pytest.raises(RuleNotFound):
        editing.update_rule(doc(rule("a", 10)), "gone", RuleInput("A", SUBMITTED))


def test_changing_the_trigger_puts_the_rule_last_among_its_new_neighbours() -> None:
    document = doc(rule("a", 10), rule("b", 20), rule("x", 10, trigger=UPDATED), rule("y", 30, trigger=UPDATED))
    document = editing.update_rule(document, "a", RuleInput("Renamed", UPDATED, enabled=False))
    moved = editing.find_rule(document, "a")
    assert (moved["name"], moved["trigger"], moved["priority"], moved["enabled"]) == ("Renamed", UPDATED, 40, False)
    document = editing.update_rule(document, "b", RuleInput("B", SUBMITTED, description="kept"))
    assert editing.find_rule(document, "b")["priority"] == 20
    assert "description" not in editing.update_rule(document, "b", RuleInput("B", SUBMITTED))["rules"][1]
    assert editing.set_enabled(document, "b", False)["rules"][1]["enabled"] is False


def test_moving_hands_out_the_same_numbers_again_so_only_moved_rules_change() -> None:
    document = doc(rule("a", 10), rule("b", 20), rule("c", 35), rule("d", 40), rule("z", 10, trigger=UPDATED))
    moved = editing.move_rule(document, "c", -1)
    assert priorities(moved) == [("a", 10), ("c", 20), ("b", 35), ("d", 40)]
    assert editing.find_rule(moved, "z")["priority"] == 10  # other triggers are untouched
    top = editing.move_rule_to(document, "d", 0)
    assert priorities(top) == [("d", 10), ("a", 20), ("b", 35), ("c", 40)]
    assert order(editing.move_rule_to(document, "a", 99)) == ["b", "c", "d", "a"]
    assert editing.move_rule(document, "a", -1) == document  # at the top already
    assert editing.position_of(top, "d") == (1, 4)


def test_moving_repairs_priorities_that_are_missing_or_taken_twice() -> None:
    document = doc(rule("a", 10), rule("b", 10), rule("c", "high"))  # imported with problems
    repaired = editing.move_rule(document, "c", -1)
    numbers = [p for _id, p in priorities(repaired)]
    assert order(repaired) == ["a", "c", "b"] and numbers == sorted(set(numbers))
    still = editing.move_rule_to(document, "a", 0)  # not moved, yet its trigger is made valid
    assert len({p for _id, p in priorities(still)}) == 3


def test_delete_and_undo_put_the_rule_back_where_it_was() -> None:
    document = doc(rule("a", 10), rule("b", 20), rule("c", 30))
    gone, removed = editing.delete_rule(document, "b")
    assert order(gone) == ["a", "c"] and (removed.index, removed.position) == (1, 1)
    again = RemovedRule.from_json(removed.to_json())
    back, rule_id = editing.restore_rule(gone, again)
    assert back == document and rule_id == "b"
    # Meanwhile someone took its id and its priority: it comes back between its neighbours all the same.
    crowded, _new = editing.add_rule(gone, RuleInput("b", SUBMITTED))
    crowded = editing.move_rule_to(crowded, "b", 1)
    assert priorities(crowded) == [("a", 10), ("b", 30), ("c", 40)]
    back, rule_id = editing.restore_rule(crowded, removed)
    assert rule_id == "b_2"
    assert priorities(back) == [("a", 10), ("b_2", 20), ("b", 30), ("c", 40)]
    # Its priority taken meanwhile: it goes back to its place all the same, the others keep theirs.
    taken = doc(rule("a", 10), rule("x", 20), rule("c", 30))
    back, rule_id = editing.restore_rule(taken, removed)
    assert rule_id == "b"
    assert priorities(back) == [("a", 10), ("b", 15), ("x", 20), ("c", 30)]
    for raw in ("", "[]", '{"rule": {}, "index": 0, "position": 0}', '{"rule": {"id": "x"}, "index": true}'):
        with pytest.raises(RuleEditError, match="nothing to undo"):
            RemovedRule.from_json(raw)


def test_a_duplicate_is_switched_off_and_tried_right_after_its_original(ctx: ValidationContext) -> None:
    document = doc(rule("a", 10, clause("amount", "gt", 10000), name="Large"), rule("b", 11, clause("amount", "gt", 5)),
                   rule("c", 30))
    copied, copy_id = editing.duplicate_rule(document, "a")
    assert copy_id == "large_copy"
    dup = editing.find_rule(copied, copy_id)
    assert (dup["name"], dup["enabled"], dup["condition"]) == ("Large (copy)", False, document["rules"][0]["condition"])
    assert order(copied) == ["a", "large_copy", "b", "c"]
    numbers = [p for _i, p in priorities(copied)]
    assert numbers == sorted(set(numbers)) and (numbers[0], numbers[-1]) == (10, 30)  # a and c keep theirs
    valid(copied, ctx)


# ---------------------------------------------------------------- actions


def test_actions_are_added_changed_moved_and_removed(ctx: ValidationContext) -> None:
    document = doc(rule("a", 10, actions=[]))
    document, index = editing.add_action(document, "a", {"type": "route_to_queue", "queue": "finance"})
    document, second = editing.add_action(document, "a", {"type": "set_priority", "priority": "high"})
    assert (index, second) == (0, 1)
    document = editing.move_action(document, "a", 1, -1)
    assert [a["type"] for a in document["rules"][0]["actions"]] == ["set_priority", "route_to_queue"]
    assert editing.move_action(document, "a", 0, -1) == document
    document = editing.update_action(document, "a", 1, {"type": "route_to_queue", "queue": "vip"})
    valid(document, ctx)
    document = editing.remove_action(document, "a", 0)
    assert document["rules"][0]["actions"] == [{"type": "route_to_queue", "queue": "vip"}]
    with pytest.raises(RuleNotFound, match="no action 3"):
        editing.remove_action(document, "a", 2)


def test_every_registered_action_has_an_editor_for_exactly_its_settings() -> None:
    assert set(editing.ACTION_SETTINGS) == set(ACTIONS)
    for name, settings_ in editing.ACTION_SETTINGS.items():
        stored = {s.name for s in settings_ if s.kind != "mode"}
        assert stored == set(ACTIONS[name].settings), name
        assert all(s.kind in editing.SETTING_KINDS for s in settings_)
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
    action = editing.action_from_inputs(kind, EDITOR_VALUES[kind])
    valid(doc(rule("a", 10, actions=[action])), ctx)
    again = editing.action_from_inputs(kind, editing.action_inputs(action))
    assert again == action
    posted = MultiDict({f"a0-{k}": ("y" if v is True else v) for k, v in editing.action_inputs(action).items()
                        if v is not False})
    assert editing.action_from_inputs(kind, editing.inputs_from_post(kind, posted, "a0-")) == action


def test_only_the_settings_of_the_chosen_mode_are_stored_and_blanks_are_left_for_the_validator(
        ctx: ValidationContext) -> None:
    assert editing.action_from_inputs("assign_to", {"by": "user", "user": "alice@example.com", "queue": "vip"}) == {
        "type": "assign_to", "user": "alice@example.com"}
    assert editing.action_from_inputs("notify", {"to": "requester", "queue": "vip", "message": "Hi"}) == {
        "type": "notify", "to": "requester", "message": "Hi"}
    assert editing.action_from_inputs("set_due_in", {"hours": "2", "business_hours": False}) == {
        "type": "set_due_in", "hours": 2, "business_hours": False}
    blank = editing.action_from_inputs("route_to_queue", {"queue": ""})
    _ruleset, problems = check_ruleset(doc(rule("a", 10, actions=[blank])), ctx)
    assert [p.path for p in problems] == ["rules[0].actions[0].queue"]
    bad_hours = editing.action_from_inputs("set_due_in", {"hours": "soon"})
    assert bad_hours["hours"] == "soon"
    with pytest.raises(RuleEditError):
        editing.action_from_inputs("launch_rocket", {})
    assert editing.action_inputs({"type": "require_approval", "role": "cfo"})["approver"] == "role"
    assert editing.action_inputs({"type": "assign_to"})["by"] == "user"
    assert editing.inputs_from_post("notify", MultiDict({"to": "nobody"}))["to"] == "requester"


def test_inputs_offer_what_the_case_type_has(ctx: ValidationContext) -> None:
    by_name = {s.name: s for s in editing.ACTION_SETTINGS["notify"]}
    assert ("finance", "Finance") in editing.setting_choices(by_name["queue"], ctx)
    assert ("alice@example.com", "Alice (alice@example.com)") in editing.setting_choices(by_name["user"], ctx)
    assert [v for v, _l in editing.setting_choices(by_name["to"], ctx)] == ["requester", "assignee", "queue", "user"]
    state = editing.ACTION_SETTINGS["move_to_state"][0]
    assert ("cfo_approval", "CFO approval") in editing.setting_choices(state, ctx)


# ---------------------------------------------------------------- the condition builder


def test_the_builder_offers_form_fields_then_the_case_attributes_of_the_trigger(ctx: ValidationContext) -> None:
    keys = [f.key for f in editing.condition_fields(ctx, SUBMITTED)]
    assert keys[:3] == ["description", "email", "amount"]
    assert "case.state" in keys and "case.requester_recent_cases" in keys
    assert "case.transition" not in keys and "case.sla_kind" not in keys
    assert "case.transition" in [f.key for f in editing.condition_fields(ctx, "case.transitioned")]
    assert "case.sla_kind" in [f.key for f in editing.condition_fields(ctx, "sla.breached")]
    state = next(f for f in editing.condition_fields(ctx, SUBMITTED) if f.key == "case.state")
    assert ("cfo_approval", "CFO approval") in state.options


def test_conditions_round_trip_through_the_pickers(ctx: ValidationContext) -> None:
    fields = editing.condition_fields(ctx, SUBMITTED)
    post = MultiDict([("enabled", "1"), ("mode", "any"), ("rows", "3"),
                      ("field-0", "amount"), ("op-0", "gt"), ("value-0", "10,000"),
                      ("field-1", "case.requester_recent_cases"), ("op-1", "gte"), ("value-1", "2"), ("days-1", "90"),
                      ("field-2", "case.priority"), ("op-2", "in"), ("value-2", "high"), ("value-2", "urgent")])
    state = editing.builder_from_post(post, fields)
    condition = editing.condition_from_builder(state, fields)
    assert condition == {"any": [
        {"field": "amount", "op": "gt", "value": 10000},
        {"field": "case.requester_recent_cases", "op": "gte", "value": 2, "days": 90},
        {"field": "case.priority", "op": "in", "value": ["high", "urgent"]}]}
    valid(doc(rule("a", 10, condition)), ctx)
    shown = editing.builder_state(condition)
    assert shown.enabled and shown.mode == "any"
    assert [(r.field, r.op, r.values, getattr(r, "days", "")) for r in shown.rows] == [
        ("amount", "gt", ["10000"], ""), ("case.requester_recent_cases", "gte", ["2"], "90"),
        ("case.priority", "in", ["high", "urgent"], "")]
    # Removing a row keeps each window with its own row.
    removed = editing.builder_from_post(MultiDict([*post.items(multi=True), ("action", "remove-0")]), fields)
    assert [(r.field, getattr(r, "days", "")) for r in removed.rows] == [
        ("case.requester_recent_cases", "90"), ("case.priority", "")]
    # Switched off, or never switched on: always.
    assert editing.condition_from_builder(editing.builder_from_post(MultiDict({"enabled": "0"}), fields),
                                          fields) == {"all": []}
    assert not editing.builder_state({"all": []}).enabled and not editing.builder_state(None).enabled
    assert editing.builder_state({"not": {"field": "urgent", "op": "is_true"}}).complex


def test_a_picker_changed_to_another_family_gets_an_operator_that_fits(ctx: ValidationContext) -> None:
    fields = editing.condition_fields(ctx, SUBMITTED)
    post = MultiDict({"enabled": "1", "rows": "1", "field-0": "case.tags", "op-0": "gt", "value-0": "5"})
    state = editing.builder_from_post(post, fields)
    assert (state.rows[0].op, state.rows[0].values) == ("contains", [])
    added = editing.builder_from_post(MultiDict({**post, "action": "add"}), fields)
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
    overall, by_rule = editing.sort_problems([(p.path, p.message) for p in problems])
    assert overall == []
    assert list(by_rule[0].rows) == [1]
    assert by_rule[0].of_action(0, "queue") and by_rule[0].of_action(1, "priority")
    assert by_rule[1].settings["name"] and by_rule[1].rows[0]
    assert by_rule[1].rule  # the duplicate priority: a part the admin does not type
    assert by_rule[2].actions
    assert by_rule[0].count() == len(by_rule[0].all_messages()) == 3


@pytest.mark.parametrize(("path", "expected"), [
    ("", editing.Place(None)),
    ("schema_version", editing.Place(None)),
    ("rules", editing.Place(None)),
    ("rules[3]", editing.Place(3)),
    ("rules[3].name", editing.Place(3, "name")),
    ("rules[3].condition", editing.Place(3, "condition")),
    ("rules[3].condition.value", editing.Place(3, "condition", row=0)),
    ("rules[3].condition.days", editing.Place(3, "condition", row=0)),
    ("rules[3].condition.any[2].op", editing.Place(3, "condition", row=2)),
    ("rules[3].condition.all[1].any[0].value", editing.Place(3, "condition", row=1)),
    ("rules[3].condition.not", editing.Place(3, "condition")),
    ("rules[3].actions", editing.Place(3, "actions")),
    ("rules[3].actions[1]", editing.Place(3, "actions", action=1)),
    ("rules[3].actions[1].type", editing.Place(3, "actions", action=1, setting="type")),
    ("rules[3].actions[1].on_approve", editing.Place(3, "actions", action=1, setting="on_approve")),
])
def test_place(path: str, expected: editing.Place) -> None:
    assert editing.place(path) == expected


# ---------------------------------------------------------------- any sequence of steps


STEPS = st.lists(st.tuples(st.sampled_from(["add", "move", "to", "delete", "undo", "dup", "retrigger"]),
                           st.integers(0, 20), st.sampled_from([SUBMITTED, UPDATED])), max_size=25)


@settings(max_examples=120, deadline=None)
@given(STEPS)
def test_any_sequence_of_steps_keeps_ids_and_priorities_unique(steps: list[tuple[str, int, str]]) -> None:
    ctx = make_context()
    document: dict[str, Any] = editing.empty_ruleset()
    removed: list[RemovedRule] = []
    for step, n, trigger in steps:
        ids = [r["id"] for r in document["rules"]]
        target = ids[n % len(ids)] if ids else None
        if step == "add" or target is None:
            document, new_id = editing.add_rule(document, RuleInput(f"Rule {n}", trigger))
            document, _i = editing.add_action(document, new_id, {"type": "add_tag", "tag": f"t{n}"})
            document = editing.set_condition(document, new_id, clause("amount", "gt", n + 1))
        elif step == "move":
            document = editing.move_rule(document, target, -1 if n % 2 else 1)
        elif step == "to":
            document = editing.move_rule_to(document, target, n % 5)
        elif step == "delete":
            document, gone = editing.delete_rule(document, target)
            removed.append(gone)
        elif step == "undo" and removed:
            document, _id = editing.restore_rule(document, removed.pop())
        elif step == "dup":
            document, _id = editing.duplicate_rule(document, target)
        elif step == "retrigger":
            current = editing.find_rule(document, target)
            document = editing.update_rule(document, target, RuleInput(current["name"], trigger))
    ids = [r["id"] for r in document["rules"]]
    assert len(ids) == len(set(ids))
    for trigger in (SUBMITTED, UPDATED):
        numbers = [p for _i, p in priorities(document, trigger)]
        assert len(numbers) == len(set(numbers)), numbers
    # Duplicates (switched off) aside, what the steps build is a ruleset the validator takes.
    document = json.loads(json.dumps(document))
    _ruleset, problems = check_ruleset(document, ctx)
    assert not [p for p in problems if "priority" in p.path or ".id" in p.path], problems
