"""Editing a case type's catalogue of discretionary work the way the designer does (see case_types.adaptive):
add, change and remove the tasks and child cases agents may start. Pure functions from a draft document to a
new one, in the shape `Discretionary.to_document` gives a published version, so publishing shows no
spurious changes. Like case_types.workflow_editing, they refuse only what would tangle data (an unknown
entry, a taken or malformed key); the loader reports everything else where it belongs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from case_types.adaptive import MAX_DISCRETIONARY, STAFF_ROLES
from case_types.errors import NotFound, ValidationFailed
from case_types.workflow_editing import Document, checked_key, items, label_of, normalized

SECTION = "discretionary"


@dataclass(frozen=True)
class ItemInput:
    """What the designer's form gives for one entry: a task for `queue`, or (with `case_type`) a child case
    filed with this case's answers copied by `fields` (this case's field -> the child's field)."""

    label: str
    states: Sequence[str] = ()
    key: str = ""
    roles: Sequence[str] = ("agent",)
    queues: Sequence[str] = ()
    reason_required: bool = False
    blocks_closing: bool = False
    queue: str = ""
    sla_hours: float | None = None
    case_type: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)


def catalogue(document: Mapping[str, Any]) -> list[Any]:
    """The entries of the draft's catalogue (empty when missing or broken)."""
    return items(document, SECTION)


def _keys(document: Mapping[str, Any]) -> list[str]:
    return [i["key"] for i in catalogue(document) if isinstance(i, Mapping) and isinstance(i.get("key"), str)]


def _find(document: Mapping[str, Any], key: str) -> int:
    for index, item in enumerate(catalogue(document)):
        if isinstance(item, Mapping) and item.get("key") == key:
            return index
    raise NotFound(f"This case type has no task '{key}' to start (any more). Reload the page to see the "
                   "current draft.")


def _item_dict(data: ItemInput, key: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "key": key, "label": label_of(data.label, "task"),
        "who": {"roles": [r for r in STAFF_ROLES if r in data.roles], "queues": list(dict.fromkeys(data.queues))},
        "states": list(dict.fromkeys(s for s in data.states if s)), "reason_required": data.reason_required,
        "blocks_closing": data.blocks_closing}
    if data.case_type:
        entry.update(case_type=data.case_type, fields={k: v for k, v in data.fields.items() if k and v})
    else:
        entry["queue"] = data.queue
        if data.sla_hours is not None:
            entry["sla_hours"] = float(data.sla_hours)
    return entry


def add_item(document: Mapping[str, Any], data: ItemInput) -> tuple[Document, str]:
    """Append an entry to the catalogue; returns the new document and the entry's key."""
    doc = normalized(document)
    if len(catalogue(doc)) >= MAX_DISCRETIONARY:
        raise ValidationFailed(f"A case type offers at most {MAX_DISCRETIONARY} tasks to start.",
                               {"label": [f"This case type already offers {MAX_DISCRETIONARY}."]})
    label_of(data.label, "task")
    key = checked_key(data.key, data.label, _keys(doc), fallback="task", noun="task")
    doc[SECTION] = [*catalogue(doc), _item_dict(data, key)]
    return doc, key


def update_item(document: Mapping[str, Any], key: str, data: ItemInput) -> tuple[Document, str]:
    """Change an entry (its key too: the rules that start it follow); returns the document and the key."""
    doc = normalized(document)
    index = _find(doc, key)
    new_key = (data.key or "").strip() or key
    if new_key != key:
        new_key = checked_key(new_key, data.label, [k for k in _keys(doc) if k != key], fallback="task",
                              noun="task")
        _rename_in_rules(doc, key, new_key)
    doc[SECTION][index] = _item_dict(data, new_key)
    return doc, new_key


def remove_item(document: Mapping[str, Any], key: str) -> Document:
    """Remove an entry; a rule that still starts it is then reported by the rule checks."""
    doc = normalized(document)
    del doc[SECTION][_find(doc, key)]
    if not doc[SECTION]:
        doc.pop(SECTION)
    return doc


def _rename_in_rules(doc: Document, old: str, new: str) -> None:
    ruleset = doc.get("rules")
    rules = ruleset.get("rules") if isinstance(ruleset, Mapping) else None
    for rule in rules if isinstance(rules, list) else []:
        actions = rule.get("actions") if isinstance(rule, Mapping) else None
        for action in actions if isinstance(actions, list) else []:
            if isinstance(action, dict) and action.get("type") == "start_task" and action.get("task") == old:
                action["task"] = new
