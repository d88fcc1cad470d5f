"""Checking a JSON condition against a form's fields, and parsing it into a typed tree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from forms.conditions.language import (
    FAMILY_NAMES,
    FAMILY_OPERATORS,
    MAX_DEPTH,
    NODES,
    OPERATORS,
    AllOf,
    AnyOf,
    Clause,
    Condition,
    Not,
    Operator,
    condition_to_json,
)
from forms.conditions.values import MAX_LIST_VALUES, comparand, value_message
from forms.errors import ConditionError, ConditionInvalid

__all__ = ["parse_condition", "validate_condition"]

# --- validation and parsing --------------------------------------------------------------------


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Checker:
    """Walks a JSON condition, collecting every problem and building the parsed tree."""

    def __init__(self, families: Mapping[str, str], options: Mapping[str, Sequence[str]] | None) -> None:
        self.families = families
        self.options = options
        self.errors: list[ConditionError] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append(ConditionError(path, message))

    def node(self, node: Any, path: str, depth: int) -> Condition | None:
        if depth > MAX_DEPTH:
            self.fail(path, f"Conditions are nested too deeply (more than {MAX_DEPTH} levels).")
            return None
        if isinstance(node, NODES):
            node = condition_to_json(node)
        if not isinstance(node, Mapping):
            self.fail(path, "A condition must be an object: a group ('all', 'any', 'not') or a clause.")
            return None
        groups = [key for key in ("all", "any", "not") if key in node]
        if groups:
            if len(node) != 1:
                others = ", ".join(sorted(repr(str(k)) for k in node if k != groups[0]))
                self.fail(path, f"A condition group holds only its '{groups[0]}' list; remove {others}.")
                return None
            return self.group(groups[0], node[groups[0]], path, depth)
        return self.clause(node, path)

    def group(self, kind: str, body: Any, path: str, depth: int) -> Condition | None:
        here = _join(path, kind)
        if kind == "not":
            inner = self.node(body, here, depth + 1)
            return Not(inner) if inner is not None else None
        if not isinstance(body, list | tuple):
            self.fail(here, f"'{kind}' must be a list of conditions.")
            return None
        items = [self.node(item, f"{here}[{i}]", depth + 1) for i, item in enumerate(body)]
        if any(item is None for item in items):
            return None
        parsed = tuple(item for item in items if item is not None)
        return AllOf(parsed) if kind == "all" else AnyOf(parsed)

    def clause(self, node: Mapping[Any, Any], path: str) -> Condition | None:
        ok = True
        for key in node:
            if key not in ("field", "op", "value"):
                self.fail(_join(path, str(key)), f"Unknown key {str(key)!r} in a condition clause.")
                ok = False
        field = node.get("field")
        family = None
        if not isinstance(field, str) or not field:
            self.fail(_join(path, "field"), "Choose the field this condition tests.")
            ok = False
        elif field not in self.families:
            self.fail(_join(path, "field"), f"Unknown field {field!r}: it does not exist (or was deleted).")
            ok = False
        else:
            family = self.families[field]
            if family not in FAMILY_OPERATORS:
                self.fail(_join(path, "field"), f"Field {field!r} has an unknown type family {family!r}.")
                ok = False
                family = None
        op_name = node.get("op")
        op: Operator | None = None
        if not isinstance(op_name, str) or not op_name:
            self.fail(_join(path, "op"), "Choose an operator.")
            ok = False
        elif op_name not in OPERATORS:
            self.fail(_join(path, "op"), f"Unknown operator {op_name!r}.")
            ok = False
        else:
            op = OPERATORS[op_name]
            if family is not None and op_name not in FAMILY_OPERATORS[family]:
                allowed = ", ".join(sorted(FAMILY_OPERATORS[family]))
                self.fail(
                    _join(path, "op"),
                    f"Operator {op_name!r} does not fit {field!r} ({FAMILY_NAMES[family]}); "
                    f"use one of: {allowed}.",
                )
                ok = False
                op = None
        value: Any = None
        if op is not None:
            if op.arity == "none":
                if "value" in node:
                    self.fail(_join(path, "value"), f"Operator {op.name!r} takes no value; remove it.")
                    ok = False
            elif "value" not in node:
                self.fail(_join(path, "value"), "Enter a value to compare with.")
                ok = False
            elif family is not None and isinstance(field, str):
                value, value_ok = self.value(op, family, field, node["value"], _join(path, "value"))
                ok = ok and value_ok
        if not ok or op is None or family is None or not isinstance(field, str):
            return None
        return Clause(field=field, op=op.name, value=value, family=family)

    def value(self, op: Operator, family: str, field: str, raw: Any, path: str) -> tuple[Any, bool]:
        if op.arity == "one":
            if isinstance(raw, list | tuple | Mapping):
                self.fail(path, f"Operator {op.name!r} takes a single value, not a list.")
                return None, False
            return self.scalar(family, field, raw, path)
        if not isinstance(raw, list | tuple):
            shape = "[low, high]" if op.arity == "pair" else "a list of values"
            self.fail(path, f"Operator {op.name!r} takes {shape}.")
            return None, False
        if op.arity == "pair" and len(raw) != 2:
            self.fail(path, f"Operator {op.name!r} takes exactly two values: [low, high].")
            return None, False
        if op.arity == "list" and not raw:
            self.fail(path, f"Operator {op.name!r} needs at least one value.")
            return None, False
        if op.arity == "list" and len(raw) > MAX_LIST_VALUES:
            self.fail(path, f"Operator {op.name!r} takes at most {MAX_LIST_VALUES:,} values; this list has "
                            f"{len(raw):,}.")
            return None, False
        results: list[tuple[Any, bool]] = []
        failures = 0
        for i, item in enumerate(raw):
            results.append(self.scalar(family, field, item, f"{path}[{i}]"))
            failures += not results[-1][1]
            if failures >= 10:  # ten messages say it; a hundred thousand would only repeat them
                break
        if failures:
            return None, False
        values = tuple(v for v, _ in results)
        if op.arity == "pair":
            try:
                inverted = values[0] > values[1]
            except TypeError:
                inverted = False
            if inverted:
                self.fail(path, "The first value (low) must not be above the second (high).")
                return None, False
        return values, True

    def scalar(self, family: str, field: str, raw: Any, path: str) -> tuple[Any, bool]:
        try:
            value = comparand(family, raw)
        except ValueError as exc:
            self.fail(path, value_message(family, exc))
            return None, False
        if family in ("choice", "multi") and self.options is not None and field in self.options:
            allowed = list(self.options[field])
            if value not in allowed:
                shown = ", ".join(allowed) if allowed else "none"
                self.fail(path, f"{value!r} is not an option of {field!r} (options: {shown}).")
                return None, False
        return value, True


def validate_condition(
    cond: Any, families: Mapping[str, str], options: Mapping[str, Sequence[str]] | None = None
) -> list[ConditionError]:
    """Every problem of a condition, each with a path and a message an admin understands."""
    checker = _Checker(families, options)
    checker.node(cond, "", 0)
    return checker.errors


def parse_condition(
    cond: Any, families: Mapping[str, str], options: Mapping[str, Sequence[str]] | None = None
) -> Condition:
    """Validate and coerce once, so evaluation never meets a malformed tree."""
    checker = _Checker(families, options)
    parsed = checker.node(cond, "", 0)
    if checker.errors or parsed is None:
        raise ConditionInvalid(checker.errors or [ConditionError("", "Invalid condition.")])
    return parsed
