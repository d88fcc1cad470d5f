"""The action editor of the rule designer: the inputs of each registered action, the editor's values for a
stored action and the stored action for the editor's values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from cases.rule_testing import DraftRules
from rules import describe_action, validate_action
from rules.actions import ACTIONS, RECIPIENTS, STRATEGIES
from rules.editing import RuleEditError
from rules.model import CASE_PRIORITIES, PRIORITY_LABELS, ValidationContext

SETTING_KINDS = frozenset({"queue", "user", "state", "role", "priority", "hours", "flag", "tag", "message",
                           "strategy", "recipient", "mode", "task"})


@dataclass(frozen=True)
class ActionSetting:
    """One input of an action's editor. ``mode`` settings are not stored: they say which others apply."""

    name: str
    kind: str
    label: str
    help: str = ""
    when: tuple[str, str] | None = None
    """(mode setting, value): the setting applies only when that mode is chosen."""
    choices: tuple[tuple[str, str], ...] = ()
    """The choices of a ``mode`` setting (the other kinds take theirs from the validation context)."""


ACTION_SETTINGS: Mapping[str, tuple[ActionSetting, ...]] = MappingProxyType({
    "route_to_queue": (ActionSetting("queue", "queue", "Queue"),),
    "assign_to": (
        ActionSetting("by", "mode", "Assign", choices=(("user", "To a person"),
                                                        ("strategy", "Share out among a queue's agents"))),
        ActionSetting("user", "user", "Person", "An agent; absent agents are skipped.", when=("by", "user")),
        ActionSetting("strategy", "strategy", "How to share out",
                      "Round-robin takes turns; least loaded picks whoever has the fewest open cases. "
                      "Absent agents are skipped.", when=("by", "strategy")),
        ActionSetting("queue", "queue", "Among the agents of", when=("by", "strategy")),
    ),
    "set_priority": (ActionSetting("priority", "priority", "Priority"),),
    "set_due_in": (
        ActionSetting("hours", "hours", "Due in (hours)", "From the moment the rule fires, e.g. 4 or 0.5."),
        ActionSetting("business_hours", "flag", "Count business hours only"),
    ),
    "add_tag": (ActionSetting("tag", "tag", "Tag", "At most 50 characters, no commas."),),
    "move_to_state": (ActionSetting("state", "state", "State", "An exception path: the case jumps there."),),
    "require_approval": (
        ActionSetting("approver", "mode", "Who approves", choices=(("role", "Anyone with a role"),
                                                                    ("user", "One person"))),
        ActionSetting("role", "role", "Role", when=("approver", "role")),
        ActionSetting("user", "user", "Person", when=("approver", "user")),
        ActionSetting("on_approve", "state", "When approved, move to"),
        ActionSetting("on_reject", "state", "When rejected, move to"),
    ),
    "notify": (
        ActionSetting("to", "recipient", "Notify"),
        ActionSetting("user", "user", "Person", when=("to", "user")),
        ActionSetting("queue", "queue", "Queue", "Every agent of the queue gets the message.", when=("to", "queue")),
        ActionSetting("message", "message", "Message", "Sent by e-mail; at most 2,000 characters."),
    ),
    "start_task": (
        ActionSetting("task", "task", "Task", "One of the case type's tasks to start; it starts only in the "
                                              "states the task allows."),
        ActionSetting("reason", "message", "Reason", "Kept with the task and the rule in the audit trail."),
    ),
})
"""The inputs of each registered action, in the order the editor shows them."""

RECIPIENT_LABELS: Mapping[str, str] = MappingProxyType({
    "requester": "The requester", "assignee": "The assignee", "queue": "The agents of a queue", "user": "A person",
})


def _mode_value(kind: str, setting: ActionSetting, action: Mapping[str, Any]) -> str:
    first, second = setting.choices[0][0], setting.choices[1][0]
    if kind == "assign_to":
        return first if "user" in action or not ({"strategy", "queue"} & set(action)) else second
    if kind == "require_approval":
        return second if "user" in action and "role" not in action else first
    return first


def action_inputs(action: Mapping[str, Any]) -> dict[str, Any]:
    """The editor's values for a stored action: text per setting (flags as bool), modes worked out."""
    kind = str(action.get("type") or "")
    out: dict[str, Any] = {}
    for setting in ACTION_SETTINGS.get(kind, ()):
        if setting.kind == "mode":
            out[setting.name] = _mode_value(kind, setting, action)
        elif setting.kind == "flag":
            out[setting.name] = action.get(setting.name) is True
        else:
            value = action.get(setting.name)
            out[setting.name] = "" if value is None else (
                format(value, "f") if isinstance(value, Decimal) else str(value))
    for setting in ACTION_SETTINGS.get(kind, ()):
        if setting.kind == "recipient" and not out.get(setting.name):
            out[setting.name] = "requester"
    return out


def applies(setting: ActionSetting, values: Mapping[str, Any]) -> bool:
    """Whether a setting is part of the action with these editor values."""
    if setting.when is None:
        return True
    mode, value = setting.when
    return values.get(mode) == value


def _hours(text: str) -> Any:
    """A number of hours as a JSON number; text that is not one is kept, so the validator says so."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return text.strip()
    if not number.is_finite():
        return text.strip()
    return int(number) if number == number.to_integral_value() else float(number)


def action_from_inputs(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The stored action for the editor's values: only the settings that apply; empty inputs left out, so
    the validator says what is missing where it is missing."""
    if kind not in ACTIONS:
        raise RuleEditError(f"Choose an action: {', '.join(spec.label for spec in ACTIONS.values())}.", field="type")
    action: dict[str, Any] = {"type": kind}
    for setting in ACTION_SETTINGS.get(kind, ()):
        if setting.kind == "mode" or not applies(setting, values):
            continue
        raw = values.get(setting.name)
        if setting.kind == "flag":
            action[setting.name] = bool(raw)
            continue
        text = raw.strip() if isinstance(raw, str) else ""
        if not text:
            continue
        action[setting.name] = _hours(text) if setting.kind == "hours" else text
    return action


def setting_choices(setting: ActionSetting, ctx: ValidationContext) -> list[tuple[str, str]]:
    """(value, label) an input of this kind offers, from what the case type has."""
    if setting.kind == "mode":
        return list(setting.choices)
    if setting.kind == "queue":
        return [(q, ctx.queue_labels.get(q, q)) for q in ctx.queues]
    if setting.kind == "state":
        return [(s, ctx.state_labels.get(s, s)) for s in ctx.states]
    if setting.kind == "role":
        return [(r, ctx.role_labels.get(r, r)) for r in ctx.roles]
    if setting.kind == "user":
        return [(u, f"{ctx.user_labels[u]} ({u})" if ctx.user_labels.get(u) else u) for u in ctx.users]
    if setting.kind == "priority":
        return [(p, PRIORITY_LABELS[p]) for p in CASE_PRIORITIES]
    if setting.kind == "strategy":
        return [(key, words.capitalize()) for key, words in STRATEGIES.items()]
    if setting.kind == "recipient":
        return [(r, RECIPIENT_LABELS[r]) for r in RECIPIENTS]
    if setting.kind == "task":
        return [(t, ctx.task_labels.get(t, t)) for t in ctx.tasks]
    return []


# ---------------------------------------------------------------- the editor of one action


@dataclass
class SettingInput:
    """One input of an action's editor, with its current value, its choices and its problems."""

    setting: ActionSetting
    value: Any
    choices: list[tuple[str, str]]
    problems: list[str]
    applies: bool

    @property
    def name(self) -> str:
        return self.setting.name


@dataclass
class ActionEditor:
    """The editor of one action (``slot`` is its index, or "new" for the one being added)."""

    slot: str
    kind: str
    inputs: list[SettingInput]
    problems: list[str] = field(default_factory=list)
    description: str = ""
    index: int | None = None
    last: bool = False

    @property
    def prefix(self) -> str:
        return f"a{self.slot}-"

    @property
    def dom(self) -> str:
        return f"act-{self.slot}"

    @property
    def label(self) -> str:
        spec = ACTIONS.get(self.kind)
        return spec.label if spec else "Action"


def _with_current(choices: list[tuple[str, str]], value: Any) -> list[tuple[str, str]]:
    if isinstance(value, str) and value and value not in {v for v, _l in choices}:
        return [*choices, (value, f"{value} (not available)")]
    return choices


def action_editor(slot: str, kind: str, values: Mapping[str, Any], draft: DraftRules,
                  problems: Mapping[str, list[str]] | None = None, *, index: int | None = None,
                  stored: Mapping[str, Any] | None = None, last: bool = False) -> ActionEditor:
    problems = problems or {}
    inputs = []
    for setting in ACTION_SETTINGS.get(kind, ()):
        choices = _with_current(setting_choices(setting, draft.context), values.get(setting.name))
        inputs.append(SettingInput(setting, values.get(setting.name, ""), choices,
                                   list(problems.get(setting.name, [])), applies(setting, values)))
    description = ""
    if stored is not None:
        action, found = validate_action(dict(stored), draft.context, "action")
        if action is not None and not found:
            description = describe_action(action, draft.context)
    known = {s.name for s in ACTION_SETTINGS.get(kind, ())}
    leftover = [m for name, ms in problems.items() if name and name not in known for m in ms]
    return ActionEditor(slot=slot, kind=kind, inputs=inputs, problems=[*problems.get("", []), *leftover],
                        description=description, index=index, last=last)
