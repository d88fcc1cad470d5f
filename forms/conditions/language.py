"""The condition language's vocabulary: operators, the families they fit, and parsed condition trees."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeAlias

__all__ = [
    "FAMILIES",
    "FAMILY_NAMES",
    "FAMILY_OPERATORS",
    "MAX_DEPTH",
    "NODES",
    "OPERATORS",
    "UNARY_OPERATORS",
    "AllOf",
    "AnyOf",
    "Clause",
    "Condition",
    "Not",
    "Operator",
    "condition_to_json",
    "referenced_fields",
]

MAX_DEPTH = 32
"""Deeper trees are refused: no admin needs them and they would only exhaust the stack."""


# --- operators -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operator:
    """An operator: how many values it takes, how it reads in plain language, what it negates."""

    name: str
    arity: str  # "none" | "one" | "list" | "pair"
    phrase: str
    negates: str | None = None


OPERATORS: Mapping[str, Operator] = MappingProxyType(
    {
        op.name: op
        for op in (
            Operator("eq", "one", "is"),
            Operator("neq", "one", "is not", negates="eq"),
            Operator("in", "list", "is"),
            Operator("not_in", "list", "is not one of", negates="in"),
            Operator("contains", "one", "contains"),
            Operator("not_contains", "one", "does not contain", negates="contains"),
            Operator("gt", "one", "is greater than"),
            Operator("gte", "one", "is at least"),
            Operator("lt", "one", "is less than"),
            Operator("lte", "one", "is at most"),
            Operator("between", "pair", "is between"),
            Operator("before", "one", "is before"),
            Operator("after", "one", "is after"),
            Operator("empty", "none", "is empty"),
            Operator("not_empty", "none", "is filled in"),
            Operator("is_true", "none", "is Yes"),
            Operator("is_false", "none", "is No"),
        )
    }
)

UNARY_OPERATORS: frozenset[str] = frozenset(name for name, op in OPERATORS.items() if op.arity == "none")

_EMPTINESS = frozenset({"empty", "not_empty"})

FAMILY_OPERATORS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "text": frozenset({"eq", "neq", "in", "not_in", "contains", "not_contains"}) | _EMPTINESS,
        "number": frozenset({"eq", "neq", "gt", "gte", "lt", "lte", "between", "in", "not_in"}) | _EMPTINESS,
        "date": frozenset({"eq", "neq", "before", "after", "between"}) | _EMPTINESS,
        "datetime": frozenset({"before", "after", "between"}) | _EMPTINESS,
        "choice": frozenset({"eq", "neq", "in", "not_in"}) | _EMPTINESS,
        "multi": frozenset({"contains", "not_contains"}) | _EMPTINESS,
        "bool": frozenset({"is_true", "is_false"}) | _EMPTINESS,
        "file": _EMPTINESS,
        "group": _EMPTINESS,
    }
)

FAMILIES: frozenset[str] = frozenset(FAMILY_OPERATORS)

FAMILY_NAMES = {
    "text": "a text field",
    "number": "a number field",
    "date": "a date field",
    "datetime": "a date and time field",
    "choice": "a single-choice field",
    "multi": "a multiple-choice field",
    "bool": "a yes/no field",
    "file": "a file field",
    "group": "a repeating group",
}


# --- parsed conditions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Clause:
    """``field op value`` with the value already coerced (a tuple for in/not_in/between)."""

    field: str
    op: str
    value: Any = None
    family: str = ""


@dataclass(frozen=True)
class AllOf:
    """True when every item is true (an empty one is always true)."""

    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """True when at least one item is true (an empty one is always false)."""

    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """The negation of its item."""

    item: Condition


Condition: TypeAlias = "AllOf | AnyOf | Not | Clause"
NODES = (AllOf, AnyOf, Not, Clause)


# --- inspection --------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")  # never exponent notation, which the number syntax refuses
    if isinstance(value, dt.date):  # datetime too
        return value.isoformat()
    return value


def condition_to_json(cond: Condition) -> dict[str, Any]:
    """The JSON form of a parsed condition (Decimals as strings, dates as ISO text)."""
    if isinstance(cond, AllOf):
        return {"all": [condition_to_json(item) for item in cond.items]}
    if isinstance(cond, AnyOf):
        return {"any": [condition_to_json(item) for item in cond.items]}
    if isinstance(cond, Not):
        return {"not": condition_to_json(cond.item)}
    out: dict[str, Any] = {"field": cond.field, "op": cond.op}
    if cond.op not in UNARY_OPERATORS:
        out["value"] = _json_value(cond.value)
    return out


def _walk(node: Any, depth: int = 0) -> Iterator[Mapping[str, Any]]:
    """Yield every clause of a JSON condition, skipping anything malformed."""
    if depth > MAX_DEPTH or not isinstance(node, Mapping):
        return
    for kind in ("all", "any"):
        items = node.get(kind)
        if isinstance(items, list | tuple):
            for item in items:
                yield from _walk(item, depth + 1)
    if "not" in node:
        yield from _walk(node["not"], depth + 1)
    if "field" in node:
        yield node


def referenced_fields(cond: Any) -> set[str]:
    """Keys of every field a condition mentions (JSON or parsed)."""
    if isinstance(cond, NODES):
        cond = condition_to_json(cond)
    return {c["field"] for c in _walk(cond) if isinstance(c.get("field"), str)}
