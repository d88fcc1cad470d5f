"""Editing a ruleset the way the rule designer does: pure functions from a rules document to a new one.

The designer never edits JSON. It adds, renames, switches off, reorders, duplicates and deletes rules,
sets conditions and actions; every step here returns a new document (the input is never changed). Steps
refuse only what would lose or tangle data (an unknown rule or action, an unknown trigger); everything
else is stored and reported by ``rules.validate.check_ruleset`` at the place it concerns (the designer's
pickers, inputs and problem places are ``app.designer.rules``).

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
from types import MappingProxyType
from typing import Any, TypeGuard

from rules.errors import RulesError
from rules.model import SCHEMA_VERSION, TRIGGERS
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


__all__ = [
    "ALWAYS",
    "PRIORITY_STEP",
    "RemovedRule",
    "RuleEditError",
    "RuleInput",
    "RuleNotFound",
    "add_action",
    "add_rule",
    "delete_rule",
    "duplicate_rule",
    "empty_ruleset",
    "find",
    "find_rule",
    "fresh_id",
    "move_action",
    "move_rule",
    "move_rule_to",
    "next_priority",
    "normalized",
    "position_of",
    "remove_action",
    "restore_rule",
    "rule_ids",
    "rules_of",
    "set_condition",
    "set_enabled",
    "trigger_order",
    "update_action",
    "update_rule",
]
