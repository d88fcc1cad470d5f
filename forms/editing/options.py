"""Edit steps on a choice field's options; conditions and the default follow renamed values."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

from forms.editing.drafts import (
    CONDITIONS,
    EditError,
    field_in,
    label_of,
    unique_name,
    value_from_label,
    walk_fields,
)
from forms.fieldtypes import FIELD_TYPES
from forms.schema import MAX_OPTIONS

__all__ = [
    "add_option",
    "move_option",
    "remove_option",
    "set_options",
    "update_option",
]

_CHOICE_OPS = frozenset({"eq", "neq", "in", "not_in", "contains", "not_contains"})
"""Operators whose value names options: they follow an option's renamed value."""


def _options_of(field: dict[str, Any]) -> list[Any]:
    if "options" not in FIELD_TYPES.get(str(field.get("type")), FIELD_TYPES["info"]).properties:
        raise EditError(f"{label_of(field)!r} is not a choice field, so it has no options.")
    options = field.get("options")
    if not isinstance(options, list):
        options = field["options"] = []
    return options


def _option_values(options: Sequence[Any]) -> set[str]:
    return {o["value"] for o in options if isinstance(o, dict) and isinstance(o.get("value"), str)}


def _option_value_for(label: str, taken: set[str], position: int) -> str:
    return unique_name(value_from_label(label, limit=100) or f"option_{position}", taken, limit=100)


def _rename_values(doc: dict[str, Any], key: str, renames: Mapping[str, str]) -> None:
    """Keep conditions on field ``key`` and its default pointing at the same options after a value rename."""
    if not renames:
        return

    def fix(value: Any) -> Any:
        if isinstance(value, str):
            return renames.get(value, value)
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    def walk(node: Any, depth: int = 0) -> Any:
        if depth > 40:
            return node
        if isinstance(node, list):
            return [walk(item, depth + 1) for item in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v, depth + 1) if k in ("all", "any", "not") else v for k, v in node.items()}
        if out.get("field") == key and out.get("op") in _CHOICE_OPS and "value" in out:
            out["value"] = fix(out["value"])
        return out

    for other, _, _ in walk_fields(doc):
        for name in CONDITIONS:
            if name in other:
                other[name] = walk(other[name])
    field = field_in(doc, key)
    if "default" in field:
        field["default"] = fix(field["default"])


def set_options(document: Mapping[str, Any], key: str, options: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Replace a choice field's options with ``options`` (same order as shown, entry by entry).

    While an option's value is still the one made from its label, it follows the label when the label
    changes ("Option 1" renamed "Low" stores "low"); conditions and the default follow value renames.
    """
    doc = copy.deepcopy(dict(document))
    field = field_in(doc, key)
    old = list(_options_of(field))
    if len(options) > MAX_OPTIONS:
        raise EditError(f"A field can have at most {MAX_OPTIONS} options.")
    new: list[dict[str, Any]] = []
    renames: dict[str, str] = {}
    for i, item in enumerate(options):
        label = item.get("label", "")
        value = item.get("value", "")
        label = label if isinstance(label, str) else str(label)
        value = value.strip() if isinstance(value, str) else str(value)
        before = old[i] if i < len(old) and isinstance(old[i], dict) else None
        if before is not None and value == before.get("value") and label != before.get("label"):
            follows = value == value_from_label(str(before.get("label", "")), limit=100) or re.fullmatch(
                r"option_\d+", value)
            if follows and label.strip():
                taken = {o["value"] for o in new} | {str(o.get("value", "")).strip() for o in options[i + 1:]}
                value = _option_value_for(label, taken, i + 1)
                renames[str(before.get("value"))] = value
        elif before is not None and isinstance(before.get("value"), str) and value != before["value"] and value:
            renames[before["value"]] = value
        new.append({"label": label, "value": value})
    field["options"] = new
    _rename_values(doc, key, renames)
    return doc


def add_option(document: Mapping[str, Any], key: str, label: str | None = None) -> dict[str, Any]:
    """Add an option at the end, with a value made from its label."""
    doc = copy.deepcopy(dict(document))
    options = _options_of(field_in(doc, key))
    if len(options) >= MAX_OPTIONS:
        raise EditError(f"A field can have at most {MAX_OPTIONS} options.")
    label = (label or "").strip() or f"Option {len(options) + 1}"
    taken = _option_values(options)
    labels = {o.get("label") for o in options if isinstance(o, dict)}
    n = len(options) + 1
    while label in labels:
        n += 1
        label = f"Option {n}"
    options.append({"label": label, "value": _option_value_for(label, taken, len(options) + 1)})
    return doc


def _option_index(options: Sequence[Any], index: int) -> int:
    if not 0 <= index < len(options):
        raise EditError("There is no such option (the list may have changed meanwhile).")
    return index


def update_option(
    document: Mapping[str, Any], key: str, index: int, *, label: str | None = None, value: str | None = None
) -> dict[str, Any]:
    """Change one option's label and/or value (conditions and the default follow a value change)."""
    options = _options_of(field_in(copy.deepcopy(dict(document)), key))
    _option_index(options, index)
    rows = [dict(o) if isinstance(o, dict) else {} for o in options]
    if label is not None:
        rows[index]["label"] = label
    if value is not None:
        rows[index]["value"] = value
    return set_options(document, key, rows)


def remove_option(document: Mapping[str, Any], key: str, index: int) -> dict[str, Any]:
    """Remove one option; conditions that used it stay, so the draft shows where they need fixing."""
    doc = copy.deepcopy(dict(document))
    options = _options_of(field_in(doc, key))
    options.pop(_option_index(options, index))
    return doc


def move_option(document: Mapping[str, Any], key: str, index: int, new_index: int) -> dict[str, Any]:
    """Move one option to ``new_index`` (clamped)."""
    doc = copy.deepcopy(dict(document))
    options = _options_of(field_in(doc, key))
    item = options.pop(_option_index(options, index))
    options.insert(max(0, min(new_index, len(options))), item)
    return doc
