"""Evaluating a condition against values, with the contract's semantics (the reference rules/ agrees with)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from forms.conditions.checking import parse_condition
from forms.conditions.language import FAMILY_OPERATORS, NODES, OPERATORS, AllOf, AnyOf, Clause, Condition, Not
from forms.conditions.values import coerce_value, is_empty
from forms.errors import ConditionError

__all__ = ["evaluate"]

# --- evaluation --------------------------------------------------------------------------------


def _fold(value: Any) -> str:
    return str(value).strip().casefold()


_ALREADY_TYPED: Mapping[str, Callable[[Any], bool]] = MappingProxyType(
    {
        "text": lambda v: isinstance(v, str),
        "number": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (
            isinstance(v, Decimal) and v.is_finite()
        ),
        "date": lambda v: isinstance(v, dt.date) and not isinstance(v, dt.datetime),
        "choice": lambda v: isinstance(v, str),
        "bool": lambda v: isinstance(v, bool),
    }
)


def _actual(family: str, field: str, raw: Any) -> Any:
    """A fact as the python type of its family; tolerant of JSON forms so stored data also works."""
    check = _ALREADY_TYPED.get(family)
    if check is not None and check(raw):
        return raw
    try:
        return coerce_value(family, raw)
    except ValueError as exc:
        raise ConditionError(f"values.{field}", f"{field}: {exc}") from None


def _equal(family: str, actual: Any, expected: Any) -> bool:
    if family == "text":
        return _fold(actual) == _fold(expected)
    return bool(actual == expected)


def _contains(family: str, actual: Any, expected: Any) -> bool:
    if family == "multi":
        return expected in actual
    return _fold(expected) in _fold(actual)


_POSITIVE: Mapping[str, Callable[[str, Any, Any], bool]] = MappingProxyType(
    {
        "eq": _equal,
        "in": lambda fam, a, e: any(_equal(fam, a, x) for x in e),
        "contains": _contains,
        "gt": lambda fam, a, e: bool(a > e),
        "gte": lambda fam, a, e: bool(a >= e),
        "lt": lambda fam, a, e: bool(a < e),
        "lte": lambda fam, a, e: bool(a <= e),
        "before": lambda fam, a, e: bool(a < e),
        "after": lambda fam, a, e: bool(a > e),
        "between": lambda fam, a, e: bool(e[0] <= a <= e[1]),
        "is_true": lambda fam, a, e: a is True,
        "is_false": lambda fam, a, e: a is False,
    }
)


def _eval_clause(clause: Clause, values: Mapping[str, Any], families: Mapping[str, str]) -> bool:
    family = families.get(clause.field) or clause.family
    if family not in FAMILY_OPERATORS:
        raise ConditionError("field", f"Unknown field {clause.field!r}.")
    raw = values.get(clause.field)
    empty = is_empty(raw)
    if clause.op == "empty":
        return empty
    if clause.op == "not_empty":
        return not empty
    op = OPERATORS[clause.op]
    positive = op.negates or op.name
    if empty:
        return op.negates is not None
    actual = _actual(family, clause.field, raw)
    if is_empty(actual):
        return op.negates is not None
    result = _POSITIVE[positive](family, actual, clause.value)
    return not result if op.negates else result


def _eval(node: Condition, values: Mapping[str, Any], families: Mapping[str, str]) -> bool:
    if isinstance(node, AllOf):
        return all(_eval(item, values, families) for item in node.items)
    if isinstance(node, AnyOf):
        return any(_eval(item, values, families) for item in node.items)
    if isinstance(node, Not):
        return not _eval(node.item, values, families)
    return _eval_clause(node, values, families)


def evaluate(cond: Any, values: Mapping[str, Any], families: Mapping[str, str]) -> bool:
    """Evaluate a parsed condition (or JSON, parsed first) against values of the family types."""
    node = cond if isinstance(cond, NODES) else parse_condition(cond, families)
    return _eval(node, values, families)
