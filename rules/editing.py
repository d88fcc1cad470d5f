"""Editing a ruleset the way the rule designer does: pure functions from a rules document to a new one.

The designer never edits JSON. It adds, renames, switches off, reorders, duplicates and deletes rules,
builds conditions with pickers and actions with inputs that fit each setting; every step here returns a
new document (the input is never changed). Steps refuse only what would lose or tangle data (an
unknown rule or action, an unknown trigger); everything else is stored and reported by
``rules.validate.check_ruleset`` at the place it concerns (see :func:`place`).

Priorities decide which rule of a trigger is tried first and must be unique per trigger. The admin
never types them: a new rule goes last, and moving a rule hands the trigger's existing priority numbers
out again in the new order, so a move changes only the rules that really moved.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, TypeGuard

from forms import designer
from forms.designer import BuilderRow, BuilderState, CondField, Post
from rules.actions import ACTIONS, RECIPIENTS, STRATEGIES
from rules.errors import RulesError
from rules.model import (
    CASE_ATTRIBUTES,
    CASE_PRIORITIES,
    PRIORITY_LABELS,
    SCHEMA_VERSION,
    TRIGGERS,
    ValidationContext,
)
from rules.validate import MAX_ACTIONS, MAX_NAME_CHARS, MAX_PRIORITY, MAX_RULES

Document = dict[str, Any]

PRIORITY_STEP = 10
"""Gap between the priorities of rules added one after the other, so a rule fits in between later."""
ALWAYS: Mapping[str, Any] = MappingProxyType({"all": []})


class RuleEditError(RulesError):
    """An editing step that cannot be made (the document is left as it was)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class RuleNotFound(RuleEditError, LookupError):
    """The rule (or action) named is not in the document (any more)."""


# ---------------------------------------------------------------- reading


def empty_ruleset() -> Document:
    """A ruleset without rules."""
    return {"schema_version": SCHEMA_VERSION, "rules": []}


def normalized(document: Any) -> Document:
    """A deep copy shaped ``{"schema_version": 1, "rules": [...]}`` (None or a broken document: no rules)."""
    if not isinstance(document, Mapping):
        return empty_ruleset()
    doc: Document = copy.deepcopy(dict(document))
    doc.setdefault("schema_version", SCHEMA_VERSION)
    if not isinstance(doc.get("rules"), list):
        doc["rules"] = []
    return doc


def rules_of(document: Any) -> list[Any]:
    """The rules list of a ruleset document (empty when missing or broken)."""
    value = document.get("rules") if isinstance(document, Mapping) else None
    return value if isinstance(value, list) else []


def rule_ids(document: Any) -> set[str]:
    return {r["id"] for r in rules_of(document) if isinstance(r, Mapping) and isinstance(r.get("id"), str)}


def find(document: Any, rule_id: str) -> int:
    """The index of the rule with this id; RuleNotFound when there is none."""
    for index, item in enumerate(rules_of(document)):
        if isinstance(item, Mapping) and item.get("id") == rule_id:
            return index
    raise RuleNotFound(f"There is no rule {rule_id!r} (any more). Reload the page to see the current draft.")


def find_rule(document: Any, rule_id: str) -> dict[str, Any]:
    """The rule with this id (a reference into `document`)."""
    rule = rules_of(document)[find(document, rule_id)]
    assert isinstance(rule, dict)
    return rule


def _valid_priority(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_PRIORITY


def trigger_order(document: Any, trigger: str) -> list[int]:
    """Indexes of the rules of one trigger in the order they are tried (disabled ones included)."""
    found = [(i, r) for i, r in enumerate(rules_of(document)) if isinstance(r, Mapping) and r.get("trigger") == trigger]

    def key(entry: tuple[int, Mapping[str, Any]]) -> tuple[bool, int, int]:
        index, rule = entry
        priority = rule.get("priority")
        if _valid_priority(priority):
            return (False, priority, index)
        return (True, 0, index)

    return [index for index, _rule in sorted(found, key=key)]


def position_of(document: Any, rule_id: str) -> tuple[int, int]:
    """(1-based position, number of rules) of a rule among the rules of its trigger."""
    index = find(document, rule_id)
    order = trigger_order(document, str(rules_of(document)[index].get("trigger")))
    return order.index(index) + 1, len(order)


def next_priority(document: Any, trigger: str, *, besides: int | None = None) -> int:
    """A priority after every rule of the trigger (the next multiple of PRIORITY_STEP)."""
    used = [int(r["priority"]) for i, r in enumerate(rules_of(document))
            if i != besides and isinstance(r, Mapping) and r.get("trigger") == trigger
            and _valid_priority(r.get("priority"))]
    top = max(used, default=0)
    return min((top // PRIORITY_STEP + 1) * PRIORITY_STEP, MAX_PRIORITY)


def fresh_id(document: Any, name: str, *, taken: set[str] | None = None) -> str:
    """A stable id made from a name (``Large invoices`` -> ``large_invoices``), unique in the document."""
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:48].strip("_") or "rule"
    used = rule_ids(document) | (taken or set())
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


# ---------------------------------------------------------------- priorities


def _numbered(priorities: Sequence[Any]) -> list[int]:
    """Strictly increasing priorities for rules in this order, keeping every given value that still fits.

    A rule without a usable number gets one half-way to the next kept value, or the next step after the
    previous one, so the other rules keep theirs.
    """
    out: list[int] = []
    prev = -1
    for i, value in enumerate(priorities):
        if _valid_priority(value) and value > prev:
            out.append(value)
            prev = value
            continue
        upcoming = next((q for q in priorities[i + 1:] if _valid_priority(q) and q > prev + 1), None)
        if upcoming is not None:
            chosen = prev + max(1, (upcoming - prev) // 2)
        else:
            chosen = (prev // PRIORITY_STEP + 1) * PRIORITY_STEP if prev >= 0 else PRIORITY_STEP
        out.append(chosen)
        prev = chosen
    return out


def _renumber(doc: Document, order: list[int], *, reuse: bool) -> None:
    """Give the rules at these indexes increasing priorities in this order.

    ``reuse``: the same rules were only reordered, so their own numbers are handed out again in the new
    order (only the rules that moved change); otherwise new numbers are made around the kept ones.
    """
    entries = rules_of(doc)
    values = [entries[i].get("priority") for i in order]
    if reuse and all(_valid_priority(v) for v in values) and len(set(values)) == len(values):
        numbers = sorted(values)
    else:
        numbers = _numbered(values)
    for index, number in zip(order, numbers, strict=True):
        entries[index]["priority"] = number


# ---------------------------------------------------------------- rules


@dataclass(frozen=True)
class RuleInput:
    """What the rule's settings form gives."""

    name: str
    trigger: str
    enabled: bool = True
    description: str = ""


def _checked(data: RuleInput) -> tuple[str, str]:
    name = (data.name or "").strip()
    if not name:
        raise RuleEditError("Enter a name for the rule.", field="name")
    if len(name) > MAX_NAME_CHARS:
        raise RuleEditError(f"Use at most {MAX_NAME_CHARS} characters.", field="name")
    if data.trigger not in TRIGGERS:
        raise RuleEditError(f"Choose when the rule runs: {', '.join(TRIGGERS)}.", field="trigger")
    return name, data.trigger


def add_rule(document: Any, data: RuleInput, *, condition: Mapping[str, Any] | None = None,
             actions: Sequence[Mapping[str, Any]] = ()) -> tuple[Document, str]:
    """Append a rule, tried after the other rules of its trigger; returns the document and the rule's id."""
    doc = normalized(document)
    name, trigger = _checked(data)
    if len(rules_of(doc)) >= MAX_RULES:
        raise RuleEditError(f"A case type has at most {MAX_RULES} rules.")
    rule_id = fresh_id(doc, name)
    rule: dict[str, Any] = {
        "id": rule_id, "name": name, "trigger": trigger, "priority": next_priority(doc, trigger),
        "enabled": data.enabled, "condition": copy.deepcopy(dict(condition or ALWAYS)),
        "actions": [copy.deepcopy(dict(a)) for a in actions],
    }
    if data.description.strip():
        rule["description"] = data.description.strip()
    doc["rules"].append(rule)
    return doc, rule_id


def update_rule(document: Any, rule_id: str, data: RuleInput) -> Document:
    """Name, trigger, on/off and description; a rule moved to another trigger is tried last there."""
    doc = normalized(document)
    index = find(doc, rule_id)
    name, trigger = _checked(data)
    rule = doc["rules"][index]
    if rule.get("trigger") != trigger:
        rule["priority"] = next_priority(doc, trigger, besides=index)
    rule.update({"name": name, "trigger": trigger, "enabled": bool(data.enabled)})
    if data.description.strip():
        rule["description"] = data.description.strip()
    else:
        rule.pop("description", None)
    return doc


def set_enabled(document: Any, rule_id: str, enabled: bool) -> Document:
    """Switch a rule on or off (a rule that is off is kept, but never fires)."""
    doc = normalized(document)
    doc["rules"][find(doc, rule_id)]["enabled"] = bool(enabled)
    return doc


def set_condition(document: Any, rule_id: str, condition: Mapping[str, Any] | None) -> Document:
    """Replace a rule's condition (None: always)."""
    doc = normalized(document)
    doc["rules"][find(doc, rule_id)]["condition"] = copy.deepcopy(dict(condition or ALWAYS))
    return doc


def move_rule_to(document: Any, rule_id: str, position: int) -> Document:
    """Put a rule at a 0-based position among the rules of its trigger (clamped to the ends)."""
    doc = normalized(document)
    index = find(doc, rule_id)
    order = trigger_order(doc, str(doc["rules"][index].get("trigger")))
    old = order.index(index)
    new = max(0, min(position, len(order) - 1))
    if new == old and _strictly_increasing(doc, order):
        return doc
    order.pop(old)
    order.insert(new, index)
    _renumber(doc, order, reuse=True)
    return doc


def _strictly_increasing(doc: Document, order: list[int]) -> bool:
    values = [rules_of(doc)[i].get("priority") for i in order]
    return all(_valid_priority(v) for v in values) and all(a < b for a, b in itertools.pairwise(values))


def move_rule(document: Any, rule_id: str, offset: int) -> Document:
    """Move a rule up (-1) or down (+1) among the rules of its trigger; at either end nothing changes."""
    current, _count = position_of(document, rule_id)
    step = -1 if offset < 0 else 1
    return move_rule_to(document, rule_id, current - 1 + step)


@dataclass(frozen=True)
class RemovedRule:
    """A deleted rule and where it was, so the deletion can be undone."""

    rule: dict[str, Any]
    index: int
    position: int
    """Its 0-based place among the rules of its trigger."""

    @property
    def name(self) -> str:
        return str(self.rule.get("name") or self.rule.get("id") or "the rule")

    def to_json(self) -> str:
        return json.dumps({"rule": self.rule, "index": self.index, "position": self.position},
                          separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> RemovedRule:
        """Read what ``to_json`` wrote; RuleEditError when it is not that."""
        try:
            data = json.loads(raw)
        except (TypeError, ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            raise RuleEditError("There is nothing to undo.")
        rule, index, position = data.get("rule"), data.get("index"), data.get("position")
        if not (isinstance(rule, dict) and isinstance(rule.get("id"), str) and isinstance(index, int)
                and isinstance(position, int) and not isinstance(index, bool) and not isinstance(position, bool)):
            raise RuleEditError("There is nothing to undo.")
        return cls(rule=rule, index=index, position=position)


def delete_rule(document: Any, rule_id: str) -> tuple[Document, RemovedRule]:
    """Remove a rule; the RemovedRule puts it back (see restore_rule)."""
    doc = normalized(document)
    index = find(doc, rule_id)
    rule = doc["rules"][index]
    order = trigger_order(doc, str(rule.get("trigger")))
    removed = RemovedRule(rule=copy.deepcopy(rule), index=index, position=order.index(index))
    del doc["rules"][index]
    return doc, removed


def restore_rule(document: Any, removed: RemovedRule) -> tuple[Document, str]:
    """Undo a deletion: the rule goes back where it was (a new id if its id was taken meanwhile)."""
    doc = normalized(document)
    if len(rules_of(doc)) >= MAX_RULES:
        raise RuleEditError(f"A case type has at most {MAX_RULES} rules.")
    rule = copy.deepcopy(removed.rule)
    if rule["id"] in rule_ids(doc):
        rule["id"] = fresh_id(doc, str(rule.get("name") or rule["id"]))
    index = max(0, min(removed.index, len(doc["rules"])))
    trigger = rule.get("trigger")
    taken = {r.get("priority") for r in rules_of(doc) if isinstance(r, Mapping) and r.get("trigger") == trigger}
    doc["rules"].insert(index, rule)
    if isinstance(trigger, str) and (not _valid_priority(rule.get("priority")) or rule.get("priority") in taken):
        order = [i for i in trigger_order(doc, trigger) if i != index]
        order.insert(max(0, min(removed.position, len(order))), index)
        rule["priority"] = None
        _renumber(doc, order, reuse=False)
    return doc, str(rule["id"])


def duplicate_rule(document: Any, rule_id: str) -> tuple[Document, str]:
    """A switched-off copy of a rule, tried right after it; returns the document and the copy's id."""
    doc = normalized(document)
    if len(rules_of(doc)) >= MAX_RULES:
        raise RuleEditError(f"A case type has at most {MAX_RULES} rules.")
    index = find(doc, rule_id)
    original = doc["rules"][index]
    name = f"{original.get('name') or rule_id} (copy)"[:MAX_NAME_CHARS]
    copied = {**copy.deepcopy(original), "id": fresh_id(doc, name), "name": name, "enabled": False}
    doc["rules"].insert(index + 1, copied)
    trigger = copied.get("trigger")
    if isinstance(trigger, str):
        order = [i for i in trigger_order(doc, trigger) if i != index + 1]
        order.insert(order.index(index) + 1, index + 1)
        copied["priority"] = None
        _renumber(doc, order, reuse=False)
    return doc, str(copied["id"])


# ---------------------------------------------------------------- actions


def _actions(rule: dict[str, Any]) -> list[Any]:
    if not isinstance(rule.get("actions"), list):
        rule["actions"] = []
    actions: list[Any] = rule["actions"]
    return actions


def _action_index(actions: list[Any], index: int) -> int:
    if not 0 <= index < len(actions):
        raise RuleNotFound(f"This rule has no action {index + 1} (any more). Reload the page to see the current draft.")
    return index


def add_action(document: Any, rule_id: str, action: Mapping[str, Any]) -> tuple[Document, int]:
    """Append an action to a rule; returns the document and the action's index."""
    doc = normalized(document)
    actions = _actions(doc["rules"][find(doc, rule_id)])
    if len(actions) >= MAX_ACTIONS:
        raise RuleEditError(f"A rule has at most {MAX_ACTIONS} actions.")
    actions.append(copy.deepcopy(dict(action)))
    return doc, len(actions) - 1


def update_action(document: Any, rule_id: str, index: int, action: Mapping[str, Any]) -> Document:
    doc = normalized(document)
    actions = _actions(doc["rules"][find(doc, rule_id)])
    actions[_action_index(actions, index)] = copy.deepcopy(dict(action))
    return doc


def remove_action(document: Any, rule_id: str, index: int) -> Document:
    doc = normalized(document)
    actions = _actions(doc["rules"][find(doc, rule_id)])
    del actions[_action_index(actions, index)]
    return doc


def move_action(document: Any, rule_id: str, index: int, offset: int) -> Document:
    """Move an action up (-1) or down (+1) in its rule; at either end nothing changes."""
    doc = normalized(document)
    actions = _actions(doc["rules"][find(doc, rule_id)])
    index = _action_index(actions, index)
    other = index + (-1 if offset < 0 else 1)
    if 0 <= other < len(actions):
        actions[index], actions[other] = actions[other], actions[index]
    return doc


# ---------------------------------------------------------------- the action editor

SETTING_KINDS = frozenset({"queue", "user", "state", "role", "priority", "hours", "flag", "tag", "message",
                           "strategy", "recipient", "mode"})


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


def inputs_from_post(kind: str, post: Post, prefix: str = "") -> dict[str, Any]:
    """The editor's values of one action as posted (inputs named ``<prefix><setting>``)."""
    values: dict[str, Any] = {}
    for setting in ACTION_SETTINGS.get(kind, ()):
        name = f"{prefix}{setting.name}"
        if setting.kind == "flag":
            values[setting.name] = str(post.get(name) or "") in ("1", "y", "on", "true")
        elif setting.kind == "mode":
            chosen = str(post.get(name) or "")
            allowed = [value for value, _label in setting.choices]
            values[setting.name] = chosen if chosen in allowed else allowed[0]
        else:
            raw = post.get(name)
            values[setting.name] = raw if isinstance(raw, str) else ""
    for setting in ACTION_SETTINGS.get(kind, ()):
        if setting.kind == "recipient" and values.get(setting.name) not in RECIPIENTS:
            values[setting.name] = "requester"
    return values


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
    return []


# ---------------------------------------------------------------- the condition builder


@dataclass
class RuleRow(BuilderRow):
    """A builder row of a rule: a form field or case attribute, plus the window of windowed attributes."""

    days: str = ""


def _grouped(condition: Any) -> tuple[str, list[Any]] | None:
    if isinstance(condition, Mapping) and "field" in condition:
        return "all", [condition]
    if isinstance(condition, Mapping) and len(condition) == 1:
        mode = next(iter(condition))
        items = condition[mode]
        if mode in ("all", "any") and isinstance(items, list):
            return mode, items
    return None


def is_always(condition: Any) -> bool:
    """True for a missing condition and for ``{"all": []}``."""
    return condition is None or (isinstance(condition, Mapping) and dict(condition) == {"all": []})


def condition_fields(ctx: ValidationContext, trigger: str) -> list[CondField]:
    """What a rule of this trigger can test: the form's fields, then the case's attributes."""
    out: list[CondField] = []
    for key, family in ctx.fields.items():
        if not designer.operators_for(family):
            continue
        labels = ctx.option_labels.get(key, {})
        options = tuple((value, labels.get(value, value)) for value in ctx.options.get(key, ()))
        out.append(CondField(key, ctx.field_labels.get(key, key), family, options))
    for attr in CASE_ATTRIBUTES.values():
        if attr.triggers is not None and trigger not in attr.triggers:
            continue
        values = attr.options(ctx)
        labels = attr.option_labels(ctx)
        options = tuple((value, labels.get(value, value)) for value in values or ())
        out.append(CondField(attr.key, attr.label, attr.family, options))
    return out


def is_attribute(key: str) -> bool:
    return key in CASE_ATTRIBUTES


def is_windowed(key: str) -> bool:
    attr = CASE_ATTRIBUTES.get(key)
    return attr is not None and attr.windowed


def _rows(state: BuilderState, days: Sequence[str]) -> list[RuleRow]:
    out = []
    for i, row in enumerate(state.rows):
        out.append(RuleRow(field=row.field, op=row.op, values=list(row.values), low=row.low, high=row.high,
                           days=days[i] if i < len(days) else ""))
    return out


def builder_state(condition: Any) -> BuilderState:
    """The builder's rows for a stored condition (switched off for "always")."""
    if is_always(condition):
        return BuilderState()
    state = designer.state_from_condition(condition)
    grouped = _grouped(condition)
    days = []
    for item in grouped[1] if grouped else []:
        raw = item.get("days") if isinstance(item, Mapping) else None
        days.append("" if raw is None or isinstance(raw, bool) else str(raw))
    state.rows = list(_rows(state, days))
    return state


def builder_from_post(post: Post, fields: Sequence[CondField]) -> BuilderState:
    """The builder as posted (the form designer's rows plus ``days-<i>``); ``action`` adds or removes a row."""
    try:
        count = max(0, min(int(post.get("rows") or 0), 50))
    except (TypeError, ValueError):
        count = 0
    days = [str(post.get(f"days-{i}") or "") for i in range(count)]
    action = str(post.get("action") or "")
    state = designer.builder_from_post(post, fields)
    if action.startswith("remove-") and action.removeprefix("remove-").isdigit():
        index = int(action.removeprefix("remove-"))
        if index < len(days):
            del days[index]
    state.rows = list(_rows(state, days))
    return state


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")


def _plain_number(value: Any) -> Any:
    """``10,000`` -> 10000: numbers are often typed with thousands separators."""
    if isinstance(value, str) and _THOUSANDS.fullmatch(value.strip()):
        text = value.strip().replace(",", "")
        return int(text) if "." not in text else text
    return value


def condition_from_builder(state: BuilderState, fields: Sequence[CondField]) -> dict[str, Any]:
    """The stored condition the rows describe (``{"all": []}``, "always", when the builder is off)."""
    condition = designer.condition_from_builder(state, fields)
    if condition is None:
        return dict(ALWAYS)
    families = {f.key: f.family for f in fields}
    grouped = _grouped(condition)
    clauses = grouped[1] if grouped else []
    for row, clause in zip(state.rows, clauses, strict=False):
        if not isinstance(clause, dict):
            continue
        if families.get(str(clause.get("field"))) == "number" and "value" in clause:
            value = clause["value"]
            clause["value"] = [_plain_number(v) for v in value] if isinstance(value, list) else _plain_number(value)
        if is_windowed(str(clause.get("field"))):
            text = (row.days if isinstance(row, RuleRow) else "").strip()
            if text:
                clause["days"] = int(text) if text.isdigit() and len(text) < 7 else text
    return condition


# ---------------------------------------------------------------- where a problem belongs


@dataclass(frozen=True)
class Place:
    """Where a validator problem belongs in the rule designer.

    ``rule`` is the index in the document's rules list (None: the ruleset as a whole); ``part`` is what
    about the rule ("" for the rule as a whole, or name, trigger, condition, actions, ...); ``row`` the
    condition builder's row; ``action`` and ``setting`` the action and its input.
    """

    rule: int | None
    part: str = ""
    row: int | None = None
    action: int | None = None
    setting: str = ""


_RULE_PATH = re.compile(r"^rules\[(\d+)\](?:\.([A-Za-z_]+)(?:\[(\d+)\])?(?:\.(.*))?)?$")
_ROW_PATH = re.compile(r"^(?:all|any)\[(\d+)\]")
_CLAUSE_PARTS = frozenset({"field", "op", "value", "days"})


def place(path: str) -> Place:
    """The place of a problem path of ``check_ruleset`` (e.g. ``rules[2].actions[0].queue``)."""
    match = _RULE_PATH.match(path or "")
    if not match:
        return Place(None)
    index, part, sub, rest = int(match.group(1)), match.group(2) or "", match.group(3), match.group(4) or ""
    if part == "condition":
        row_match = _ROW_PATH.match(rest)
        if row_match:
            return Place(index, "condition", row=int(row_match.group(1)))
        head = rest.split(".", 1)[0].split("[", 1)[0]
        return Place(index, "condition", row=0 if head in _CLAUSE_PARTS else None)
    if part == "actions":
        if sub is None:
            return Place(index, "actions")
        setting = rest.split(".", 1)[0].split("[", 1)[0]
        return Place(index, "actions", action=int(sub), setting=setting)
    return Place(index, part)


@dataclass
class RuleProblems:
    """The problems of one rule, sorted onto the parts of its editor."""

    rule: list[str] = dc_field(default_factory=list)
    """About the rule as a whole (or parts the admin does not edit, like its id or priority)."""
    settings: dict[str, list[str]] = dc_field(default_factory=dict)
    condition: list[str] = dc_field(default_factory=list)
    rows: dict[int, list[str]] = dc_field(default_factory=dict)
    actions: list[str] = dc_field(default_factory=list)
    per_action: dict[int, dict[str, list[str]]] = dc_field(default_factory=dict)

    def count(self) -> int:
        return (len(self.rule) + sum(map(len, self.settings.values())) + len(self.condition)
                + sum(map(len, self.rows.values())) + len(self.actions)
                + sum(len(m) for a in self.per_action.values() for m in a.values()))

    def of_action(self, index: int, setting: str = "") -> list[str]:
        return self.per_action.get(index, {}).get(setting, [])

    def all_messages(self) -> list[str]:
        out = [*self.rule, *(m for ms in self.settings.values() for m in ms), *self.condition]
        out += [m for ms in self.rows.values() for m in ms] + self.actions
        out += [m for a in self.per_action.values() for ms in a.values() for m in ms]
        return out


EDITED_SETTINGS = frozenset({"name", "trigger", "enabled", "description"})


def sort_problems(problems: Sequence[tuple[str, str]]) -> tuple[list[str], dict[int, RuleProblems]]:
    """(problems of the ruleset as a whole, problems per rule index) from (path, message) pairs."""
    overall: list[str] = []
    by_rule: dict[int, RuleProblems] = {}
    for path, message in problems:
        where = place(path)
        if where.rule is None:
            overall.append(message)
            continue
        target = by_rule.setdefault(where.rule, RuleProblems())
        if where.part == "condition":
            if where.row is None:
                target.condition.append(message)
            else:
                target.rows.setdefault(where.row, []).append(message)
        elif where.part == "actions":
            if where.action is None:
                target.actions.append(message)
            else:
                setting = "" if where.setting == "type" else where.setting
                target.per_action.setdefault(where.action, {}).setdefault(setting, []).append(message)
        elif where.part in EDITED_SETTINGS:
            target.settings.setdefault(where.part, []).append(message)
        else:
            target.rule.append(message)
    return overall, by_rule


__all__ = [
    "ACTION_SETTINGS",
    "ALWAYS",
    "PRIORITY_STEP",
    "ActionSetting",
    "Place",
    "RemovedRule",
    "RuleEditError",
    "RuleInput",
    "RuleNotFound",
    "RuleProblems",
    "RuleRow",
    "action_from_inputs",
    "action_inputs",
    "add_action",
    "add_rule",
    "applies",
    "builder_from_post",
    "builder_state",
    "condition_fields",
    "condition_from_builder",
    "delete_rule",
    "duplicate_rule",
    "empty_ruleset",
    "find",
    "find_rule",
    "fresh_id",
    "inputs_from_post",
    "is_always",
    "is_attribute",
    "is_windowed",
    "move_action",
    "move_rule",
    "move_rule_to",
    "next_priority",
    "normalized",
    "place",
    "position_of",
    "remove_action",
    "restore_rule",
    "rule_ids",
    "rules_of",
    "set_condition",
    "set_enabled",
    "setting_choices",
    "sort_problems",
    "trigger_order",
    "update_action",
    "update_rule",
]
