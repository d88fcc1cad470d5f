"""Editing a ruleset as the rule designer does: pure steps from one document to the next."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import editing
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
