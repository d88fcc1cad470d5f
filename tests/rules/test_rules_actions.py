"""The action registry: each action's settings are checked against the case type and described plainly."""

from __future__ import annotations

from typing import Any

import pytest

from rules.actions import ACTIONS, ActionSpec, describe_action, register, validate_action
from rules.model import ValidationContext
from rules.validate import check_ruleset
from tests.rules.rules_helpers import doc, rule


def check(raw: Any, ctx: ValidationContext) -> tuple[Any, list[tuple[str, str]]]:
    action, problems = validate_action(raw, ctx, "a")
    return (action.to_json() if action else None), [(p.path, p.message) for p in problems]


@pytest.mark.parametrize(("raw", "normalized"), [
    ({"type": "route_to_queue", "queue": "finance"}, None),
    ({"type": "assign_to", "user": "BOB@example.com"}, {"type": "assign_to", "user": "Bob@Example.com"}),
    ({"type": "assign_to", "strategy": "round_robin", "queue": "vip"}, None),
    ({"type": "assign_to", "strategy": "least_loaded", "queue": "finance"}, None),
    ({"type": "set_priority", "priority": "high"}, None),
    ({"type": "set_due_in", "hours": 4}, {"type": "set_due_in", "hours": 4, "business_hours": False}),
    ({"type": "set_due_in", "hours": "0.5", "business_hours": True},
     {"type": "set_due_in", "hours": 0.5, "business_hours": True}),
    ({"type": "add_tag", "tag": "  vip "}, {"type": "add_tag", "tag": "vip"}),
    ({"type": "move_to_state", "state": "waiting"}, None),
    ({"type": "require_approval", "role": "cfo", "on_approve": "approved", "on_reject": "rejected"}, None),
    ({"type": "require_approval", "user": "alice@example.com", "on_approve": "approved", "on_reject": "open"}, None),
    ({"type": "notify", "to": "requester", "message": " Thanks! "},
     {"type": "notify", "to": "requester", "message": "Thanks!"}),
    ({"type": "notify", "to": "queue", "queue": "vip", "message": "New VIP case"}, None),
    ({"type": "notify", "to": "user", "user": "alice@example.com", "message": "Look"}, None),
    ({"type": "notify", "to": "assignee", "message": "Look"}, None),
])
def test_valid_actions(ctx: ValidationContext, raw: dict[str, Any], normalized: dict[str, Any] | None) -> None:
    assert check(raw, ctx) == (normalized or raw, [])


@pytest.mark.parametrize(("raw", "expected"), [
    ("route", [("a", 'An action is an object like {"type": "route_to_queue", ...}.')]),
    ({"queue": "vip"}, [("a.type", "Choose an action: use one of add_tag, assign_to, move_to_state, notify, "
                                   "require_approval, route_to_queue, set_due_in, set_priority, start_task.")]),
    ({"type": "route_to_queue"}, [("a.queue", "This action needs the setting 'queue'.")]),
    ({"type": "route_to_queue", "queue": "vip", "colour": 1},
     [("a.colour", "route_to_queue has no setting 'colour' (it takes: queue).")]),
    ({"type": "route_to_queue", "queue": ""},
     [("a.queue", "Choose a queue. Known queues: escalations, finance, general, vip.")]),
    ({"type": "assign_to"}, [("a", "Choose a user to assign to, or a strategy (round_robin or least_loaded) with a "
                                   "queue.")]),
    ({"type": "assign_to", "user": "alice@example.com", "strategy": "round_robin"},
     [("a.strategy", "Assign either to a user or by a strategy, not both.")]),
    ({"type": "assign_to", "user": "nobody"}, [("a.user", "Enter the e-mail address of a user.")]),
    ({"type": "assign_to", "strategy": "random", "queue": "vip"},
     [("a.strategy", "Choose a strategy: round_robin, least_loaded.")]),
    ({"type": "assign_to", "strategy": "round_robin"}, [("a.queue", "This action needs the setting 'queue'.")]),
    ({"type": "set_priority", "priority": "Urgent"}, [("a.priority", "Choose a priority: low, normal, high, urgent.")]),
    ({"type": "set_due_in", "hours": 0}, [("a.hours", "Enter a number of hours above 0 and at most 8760, like 4 or "
                                                      "0.5.")]),
    ({"type": "set_due_in", "hours": "soon"}, [("a.hours", "Enter a number of hours above 0 and at most 8760, like 4 "
                                                           "or 0.5.")]),
    ({"type": "set_due_in", "hours": True}, [("a.hours", "Enter a number of hours above 0 and at most 8760, like 4 or "
                                                         "0.5.")]),
    ({"type": "set_due_in", "hours": 9000}, [("a.hours", "Enter a number of hours above 0 and at most 8760, like 4 or "
                                                         "0.5.")]),
    ({"type": "set_due_in", "hours": 4, "business_hours": "yes"}, [("a.business_hours", "Answer true or false.")]),
    ({"type": "add_tag", "tag": "a,b"}, [("a.tag", "A tag has at most 50 characters and no commas or line breaks.")]),
    ({"type": "add_tag", "tag": " "}, [("a.tag", "Enter the tag to add.")]),
    ({"type": "require_approval", "role": "cfo", "user": "alice@example.com", "on_approve": "approved",
      "on_reject": "rejected"}, [("a.user", "Ask either a role or a user for approval, not both.")]),
    ({"type": "require_approval", "role": "pope", "on_approve": "approved"},
     [("a.role", "Unknown role 'pope'. Known roles: cfo, manager."),
      ("a.on_reject", "This action needs the setting 'on_reject'.")]),
    ({"type": "notify", "to": "user", "message": "hi"}, [("a.user", "This action needs the setting 'user'.")]),
    ({"type": "notify", "to": "requester", "queue": "vip", "message": "hi"},
     [("a.queue", "Only a notification to a queue takes a 'queue' setting.")]),
    ({"type": "notify", "to": "everyone", "message": "  "},
     [("a.to", "Choose who to notify: requester, assignee, queue, user."),
      ("a.message", "Write the message to send.")]),
])
def test_invalid_actions(ctx: ValidationContext, raw: Any, expected: list[tuple[str, str]]) -> None:
    assert check(raw, ctx) == (None, expected)


def test_single_actions_appear_once_per_rule(ctx: ValidationContext) -> None:
    _, found = check_ruleset(doc(rule("r", 10, actions=[
        {"type": "route_to_queue", "queue": "vip"}, {"type": "add_tag", "tag": "a"}, {"type": "add_tag", "tag": "b"},
        {"type": "route_to_queue", "queue": "finance"},
    ])), ctx)
    assert [(p.path, p.message) for p in found] == [
        ("rules[0].actions[3].type", "This rule already has a route_to_queue action (rules[0].actions[0]); keep one.")]


def test_moving_and_asking_for_approval_exclude_each_other(ctx: ValidationContext) -> None:
    _, found = check_ruleset(doc(rule("r", 10, actions=[
        {"type": "move_to_state", "state": "waiting"},
        {"type": "require_approval", "role": "cfo", "on_approve": "approved", "on_reject": "rejected"},
    ])), ctx)
    assert [(p.path, p.message) for p in found] == [
        ("rules[0].actions[1].type", "A rule either moves the case to a state or asks for approval, not both.")]


def test_the_registry_is_keyed_by_name() -> None:
    assert sorted(ACTIONS) == ["add_tag", "assign_to", "move_to_state", "notify", "require_approval",
                               "route_to_queue", "set_due_in", "set_priority", "start_task"]
    with pytest.raises(ValueError, match="already registered"):
        register(ActionSpec("notify", "Notify", frozenset(), lambda p: None, lambda p, c: ""))


@pytest.mark.parametrize(("raw", "text"), [
    ({"type": "route_to_queue", "queue": "escalations"}, "route to Escalations"),
    ({"type": "route_to_queue", "queue": "vip"}, "route to vip"),
    ({"type": "assign_to", "user": "alice@example.com"}, "assign to Alice"),
    ({"type": "assign_to", "strategy": "round_robin", "queue": "finance"}, "assign round-robin in Finance"),
    ({"type": "set_priority", "priority": "urgent"}, "set priority to Urgent"),
    ({"type": "set_due_in", "hours": 4, "business_hours": True}, "due in 4 business hours"),
    ({"type": "set_due_in", "hours": 1}, "due in 1 hour"),
    ({"type": "set_due_in", "hours": 1.5}, "due in 1.5 hours"),
    ({"type": "add_tag", "tag": "vip"}, "add tag \u201cvip\u201d"),
    ({"type": "move_to_state", "state": "cfo_approval"}, "move to CFO approval"),
    ({"type": "require_approval", "role": "cfo", "on_approve": "approved", "on_reject": "rejected"},
     "require approval by a CFO (approved: Approved; rejected: Rejected)"),
    ({"type": "notify", "to": "requester", "message": "x" * 80},
     "notify the requester: \u201c" + "x" * 59 + "\u2026\u201d"),
    ({"type": "notify", "to": "queue", "queue": "vip", "message": "New"}, "notify queue vip: \u201cNew\u201d"),
])
def test_actions_in_plain_language(ctx: ValidationContext, raw: dict[str, Any], text: str) -> None:
    action, problems = validate_action(raw, ctx, "a")
    assert action is not None and not problems
    assert describe_action(action, ctx) == text
