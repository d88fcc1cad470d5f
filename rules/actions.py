"""The action registry: what a rule can decide, how each action's settings are checked and described.

Actions only *record* decisions; cases/ carries them out after evaluation (with the database, the clock
and the assignment strategies). Each registered action validates its settings against the caller's
:class:`~rules.model.ValidationContext`, so an unknown queue, state or user is refused when the rule is
saved, not when a case arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from forms.conditions import coerce_value
from rules.errors import RuleProblem
from rules.model import CASE_PRIORITIES, PRIORITY_LABELS, Action, ValidationContext

MAX_DUE_HOURS = 8760
MAX_MESSAGE_CHARS = 2000
MAX_TAG_CHARS = 50
STRATEGIES: Mapping[str, str] = MappingProxyType(
    {"round_robin": "round-robin", "least_loaded": "least loaded"}
)
RECIPIENTS: tuple[str, ...] = ("requester", "assignee", "queue", "user")


def _known(values: Collection[str], noun: str) -> str:
    shown = sorted(values)
    if not shown:
        return f"There are no {noun} to choose from."
    more = f" (and {len(shown) - 10} more)" if len(shown) > 10 else ""
    return f"Known {noun}: {', '.join(shown[:10])}{more}."


# --- parameter kinds -------------------------------------------------------------------------------

ParamCheck = Callable[[Any, ValidationContext], tuple[Any, str | None]]
"""Checks one setting: returns (normalized value, None) or (None, message)."""


def _slug_in(noun: str, singular: str, known: Callable[[ValidationContext], Collection[str]]) -> ParamCheck:
    def check(raw: Any, ctx: ValidationContext) -> tuple[Any, str | None]:
        values = known(ctx)
        if not isinstance(raw, str) or not raw.strip():
            return None, f"Choose a {singular}. {_known(values, noun)}"
        if raw not in values:
            return None, f"Unknown {singular} {raw!r}. {_known(values, noun)}"
        return raw, None

    return check


def _user(raw: Any, ctx: ValidationContext) -> tuple[Any, str | None]:
    if not isinstance(raw, str) or "@" not in raw:
        return None, "Enter the e-mail address of a user."
    known = ctx.user(raw)
    if known is None:
        return None, f"No user has the e-mail address {raw.strip()!r}."
    return known, None


def _priority(raw: Any, ctx: ValidationContext) -> tuple[Any, str | None]:
    if raw not in CASE_PRIORITIES:
        return None, f"Choose a priority: {', '.join(CASE_PRIORITIES)}."
    return raw, None


def _hours(raw: Any, ctx: ValidationContext) -> tuple[Any, str | None]:
    message = f"Enter a number of hours above 0 and at most {MAX_DUE_HOURS}, like 4 or 0.5."
    try:
        value = coerce_value("number", raw)
    except ValueError:
        return None, message
    if value is None or not 0 < value <= MAX_DUE_HOURS:
        return None, message
    if isinstance(value, Decimal):
        return (int(value) if value == value.to_integral_value() else float(value)), None
    return value, None


def _flag(raw: Any, ctx: ValidationContext) -> tuple[Any, str | None]:
    if not isinstance(raw, bool):
        return None, "Answer true or false."
    return raw, None


def _tag(raw: Any, ctx: ValidationContext) -> tuple[Any, str | None]:
    if not isinstance(raw, str) or not raw.strip():
        return None, "Enter the tag to add."
    tag = raw.strip()
    if len(tag) > MAX_TAG_CHARS or any(ch in tag for ch in ",\n\r\t") or not tag.isprintable():
        return None, f"A tag has at most {MAX_TAG_CHARS} characters and no commas or line breaks."
    return tag, None


def _message(raw: Any, ctx: ValidationContext) -> tuple[Any, str | None]:
    if not isinstance(raw, str) or not raw.strip():
        return None, "Write the message to send."
    if len(raw) > MAX_MESSAGE_CHARS:
        return None, f"A message has at most {MAX_MESSAGE_CHARS} characters."
    return raw.strip(), None


def _reason(raw: Any, ctx: ValidationContext) -> tuple[Any, str | None]:
    if not isinstance(raw, str) or len(raw) > MAX_MESSAGE_CHARS:
        return None, f"Write the reason in at most {MAX_MESSAGE_CHARS} characters."
    return raw.strip(), None


def _choice(values: Collection[str], what: str) -> ParamCheck:
    def check(raw: Any, ctx: ValidationContext) -> tuple[Any, str | None]:
        if raw not in values:
            return None, f"Choose {what}: {', '.join(values)}."
        return raw, None

    return check


PARAM_KINDS: Mapping[str, ParamCheck] = MappingProxyType(
    {
        "queue": _slug_in("queues", "queue", lambda ctx: ctx.queues),
        "state": _slug_in("states", "state", lambda ctx: ctx.states),
        "role": _slug_in("roles", "role", lambda ctx: ctx.roles),
        "user": _user,
        "priority": _priority,
        "hours": _hours,
        "flag": _flag,
        "tag": _tag,
        "message": _message,
        "reason": _reason,
        "task": _slug_in("tasks of this case type", "task", lambda ctx: ctx.tasks),
        "strategy": _choice(tuple(STRATEGIES), "a strategy"),
        "recipient": _choice(RECIPIENTS, "who to notify"),
    }
)


class _Params:
    """Reads one action's settings, collecting every problem with its path."""

    def __init__(self, raw: Mapping[str, Any], ctx: ValidationContext, path: str, problems: list[RuleProblem]):
        self.raw = raw
        self.ctx = ctx
        self.path = path
        self.problems = problems
        self.out: dict[str, Any] = {}

    def fail(self, message: str, name: str | None = None) -> None:
        self.problems.append(RuleProblem(f"{self.path}.{name}" if name else self.path, message))

    def has(self, name: str) -> bool:
        return name in self.raw

    def take(self, name: str, kind: str, *, required: bool = True) -> Any:
        if name not in self.raw:
            if required:
                self.fail(f"This action needs the setting {name!r}.", name)
            return None
        value, message = PARAM_KINDS[kind](self.raw[name], self.ctx)
        if message is not None:
            self.fail(message, name)
            return None
        self.out[name] = value
        return value

    def refuse(self, name: str, why: str) -> None:
        if name in self.raw:
            self.fail(why, name)


# --- the registry --------------------------------------------------------------------------------

Checker = Callable[[_Params], None]
Describer = Callable[[Mapping[str, Any], ValidationContext], str]


@dataclass(frozen=True)
class ActionSpec:
    """A registered action: its settings, how they are checked, how the action reads in a summary."""

    name: str
    label: str
    settings: frozenset[str]
    check: Checker
    describe: Describer
    once: bool = True
    """At most one per rule (two route_to_queue in one rule would contradict each other)."""


ACTIONS: dict[str, ActionSpec] = {}


def register(spec: ActionSpec) -> ActionSpec:
    """Add an action to the registry (names are unique)."""
    if spec.name in ACTIONS:
        raise ValueError(f"Action {spec.name!r} is already registered.")
    ACTIONS[spec.name] = spec
    return spec


def _label(labels: Mapping[str, str], key: Any) -> str:
    return labels.get(str(key), str(key))


def _quote(text: str, limit: int = 60) -> str:
    shown = text if len(text) <= limit else text[: limit - 1] + "\u2026"
    return f"\u201c{shown}\u201d"


def _number(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _check_route(p: _Params) -> None:
    p.take("queue", "queue")


def _check_assign(p: _Params) -> None:
    if p.has("user"):
        p.take("user", "user")
        for name in ("strategy", "queue"):
            p.refuse(name, "Assign either to a user or by a strategy, not both.")
    elif p.has("strategy") or p.has("queue"):
        p.take("strategy", "strategy")
        p.take("queue", "queue")
    else:
        p.fail("Choose a user to assign to, or a strategy (round_robin or least_loaded) with a queue.")


def _check_priority(p: _Params) -> None:
    p.take("priority", "priority")


def _check_due(p: _Params) -> None:
    p.take("hours", "hours")
    if p.has("business_hours"):
        p.take("business_hours", "flag")
    else:
        p.out["business_hours"] = False


def _check_tag(p: _Params) -> None:
    p.take("tag", "tag")


def _check_state(p: _Params) -> None:
    p.take("state", "state")


def _check_approval(p: _Params) -> None:
    if p.has("role") and p.has("user"):
        p.fail("Ask either a role or a user for approval, not both.", "user")
    elif p.has("role"):
        p.take("role", "role")
    elif p.has("user"):
        p.take("user", "user")
    else:
        p.fail("Choose who approves: a role or a user.")
    p.take("on_approve", "state")
    p.take("on_reject", "state")


def _check_notify(p: _Params) -> None:
    to = p.take("to", "recipient")
    for name, kind in (("user", "user"), ("queue", "queue")):
        if to == name:
            p.take(name, kind)
        else:
            p.refuse(name, f"Only a notification to a {name} takes a {name!r} setting.")
    p.take("message", "message")


def _check_start_task(p: _Params) -> None:
    p.take("task", "task")
    p.take("reason", "reason", required=False)


def _describe_start_task(params: Mapping[str, Any], ctx: ValidationContext) -> str:
    reason = str(params.get("reason") or "")
    return f"start {_label(ctx.task_labels, params.get('task'))}" + (f" ({_quote(reason)})" if reason else "")


def _describe_assign(params: Mapping[str, Any], ctx: ValidationContext) -> str:
    if "user" in params:
        return f"assign to {_label(ctx.user_labels, params['user'])}"
    queue = _label(ctx.queue_labels, params.get("queue"))
    return f"assign {STRATEGIES.get(str(params.get('strategy')), params.get('strategy'))} in {queue}"


def _describe_due(params: Mapping[str, Any], ctx: ValidationContext) -> str:
    hours = params.get("hours", 0)
    unit = "hour" if float(hours) == 1 else "hours"
    kind = "business " if params.get("business_hours") else ""
    return f"due in {_number(hours)} {kind}{unit}"


def _describe_approval(params: Mapping[str, Any], ctx: ValidationContext) -> str:
    who = (f"a {_label(ctx.role_labels, params['role'])}" if "role" in params
           else _label(ctx.user_labels, params.get("user")))
    approve = _label(ctx.state_labels, params.get("on_approve"))
    reject = _label(ctx.state_labels, params.get("on_reject"))
    return f"require approval by {who} (approved: {approve}; rejected: {reject})"


def _describe_notify(params: Mapping[str, Any], ctx: ValidationContext) -> str:
    to = params.get("to")
    if to == "user":
        who = _label(ctx.user_labels, params.get("user"))
    elif to == "queue":
        who = f"queue {_label(ctx.queue_labels, params.get('queue'))}"
    else:
        who = f"the {to}"
    return f"notify {who}: {_quote(str(params.get('message', '')))}"


for _spec in (
    ActionSpec("route_to_queue", "Route to queue", frozenset({"queue"}), _check_route,
               lambda p, c: f"route to {_label(c.queue_labels, p.get('queue'))}"),
    ActionSpec("assign_to", "Assign", frozenset({"user", "strategy", "queue"}), _check_assign, _describe_assign),
    ActionSpec("set_priority", "Set priority", frozenset({"priority"}), _check_priority,
               lambda p, c: f"set priority to {_label(PRIORITY_LABELS, p.get('priority'))}"),
    ActionSpec("set_due_in", "Set due time", frozenset({"hours", "business_hours"}), _check_due, _describe_due),
    ActionSpec("add_tag", "Add tag", frozenset({"tag"}), _check_tag,
               lambda p, c: f"add tag {_quote(str(p.get('tag')))}", once=False),
    ActionSpec("move_to_state", "Move to state", frozenset({"state"}), _check_state,
               lambda p, c: f"move to {_label(c.state_labels, p.get('state'))}"),
    ActionSpec("require_approval", "Require approval", frozenset({"role", "user", "on_approve", "on_reject"}),
               _check_approval, _describe_approval),
    ActionSpec("notify", "Notify", frozenset({"to", "user", "queue", "message"}), _check_notify,
               _describe_notify, once=False),
    ActionSpec("start_task", "Start a task", frozenset({"task", "reason"}), _check_start_task, _describe_start_task,
               once=False),
):
    register(_spec)


# --- entry points --------------------------------------------------------------------------------


def validate_action(raw: Any, ctx: ValidationContext, path: str) -> tuple[Action | None, list[RuleProblem]]:
    """Check one action of a rule; returns the normalized action (None when invalid) and every problem."""
    problems: list[RuleProblem] = []
    if not isinstance(raw, Mapping):
        return None, [RuleProblem(path, "An action is an object like {\"type\": \"route_to_queue\", ...}.")]
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in ACTIONS:
        shown = ", ".join(sorted(ACTIONS))
        what = f"Unknown action {kind!r}" if isinstance(kind, str) and kind else "Choose an action"
        return None, [RuleProblem(f"{path}.type", f"{what}: use one of {shown}.")]
    spec = ACTIONS[kind]
    for key in raw:
        if key != "type" and key not in spec.settings:
            allowed = ", ".join(sorted(spec.settings))
            problems.append(RuleProblem(f"{path}.{key}", f"{spec.name} has no setting {key!r} (it takes: {allowed})."))
    params = _Params({k: v for k, v in raw.items() if k != "type"}, ctx, path, problems)
    spec.check(params)
    if problems:
        return None, problems
    return Action(kind, dict(params.out)), []


def describe_action(action: Action, ctx: ValidationContext) -> str:
    """Plain language for one action, e.g. "route to Escalations"."""
    return ACTIONS[action.type].describe(action.params, ctx)
