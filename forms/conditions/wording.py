"""Conditions in plain language, e.g. "Severity is High or Critical and Customer tier is Gold"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from forms.conditions.language import MAX_DEPTH, NODES, OPERATORS, condition_to_json
from forms.conditions.values import DATE_RE, DATETIME_RE

__all__ = ["describe"]

def _show(value: Any, field: str, option_labels: Mapping[str, Mapping[str, str]]) -> str:
    labels = option_labels.get(field)
    if labels is not None and isinstance(value, str) and value in labels:
        return labels[value]
    if isinstance(value, str):
        if DATE_RE.fullmatch(value) or DATETIME_RE.fullmatch(value) or labels is not None:
            return value
        return f'"{value}"'
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _show_list(values: Sequence[str], joiner: str) -> str:
    if len(values) <= 1:
        return "".join(values)
    return f"{', '.join(values[:-1])} {joiner} {values[-1]}"


def _describe_clause(
    node: Mapping[str, Any],
    labels: Mapping[str, str],
    option_labels: Mapping[str, Mapping[str, str]],
    families: Mapping[str, str],
) -> str:
    field = str(node.get("field"))
    label = labels.get(field, field)
    op_name = str(node.get("op"))
    op = OPERATORS.get(op_name)
    if op is None:
        return f"{label} {op_name} {node.get('value')!r}"
    value = node.get("value")
    is_multi = families.get(field) == "multi" or (field in option_labels and families.get(field) != "choice")
    if op.name in ("contains", "not_contains") and is_multi:
        verb = "includes" if op.name == "contains" else "does not include"
        return f"{label} {verb} {_show(value, field, option_labels)}"
    if op.arity == "none":
        return f"{label} {op.phrase}"
    if op.arity == "pair" and isinstance(value, list | tuple) and len(value) == 2:
        low, high = (_show(v, field, option_labels) for v in value)
        return f"{label} {op.phrase} {low} and {high}"
    if op.arity == "list" and isinstance(value, list | tuple):
        shown = [_show(v, field, option_labels) for v in value]
        if op.name == "in":
            return f"{label} is {_show_list(shown, 'or')}"
        return f"{label} {op.phrase} {', '.join(shown)}" if len(shown) > 1 else f"{label} is not {shown[0]}"
    return f"{label} {op.phrase} {_show(value, field, option_labels)}"


def _describe(
    node: Any,
    labels: Mapping[str, str],
    option_labels: Mapping[str, Mapping[str, str]],
    families: Mapping[str, str],
    nested: bool,
    depth: int = 0,
) -> str:
    if depth > MAX_DEPTH or not isinstance(node, Mapping):
        return "(invalid condition)"
    for kind, joiner, when_empty in (("all", " and ", "always"), ("any", " or ", "never")):
        if kind in node and isinstance(node[kind], list | tuple):
            parts = [_describe(i, labels, option_labels, families, True, depth + 1) for i in node[kind]]
            if not parts:
                return when_empty
            text = joiner.join(parts)
            return f"({text})" if nested and len(parts) > 1 else text
    if "not" in node:
        return f"not ({_describe(node['not'], labels, option_labels, families, False, depth + 1)})"
    return _describe_clause(node, labels, option_labels, families)


def describe(
    cond: Any,
    labels: Mapping[str, str],
    option_labels: Mapping[str, Mapping[str, str]] | None = None,
    *,
    families: Mapping[str, str] | None = None,
) -> str:
    """Plain language, e.g. "Severity is High or Critical and Customer tier is Gold"."""
    if isinstance(cond, NODES):
        cond = condition_to_json(cond)
    return _describe(cond, labels, option_labels or {}, families or {}, nested=False)
