"""# Condition language contract (shared by forms/ and rules/)

A condition is JSON:
    Condition := {"all": [Condition, ...]} | {"any": [Condition, ...]} | {"not": Condition} | Clause
    Clause    := {"field": "<field key>", "op": "<operator>", "value": <json>}
`value` is omitted for the unary operators (empty, not_empty, is_true, is_false).
{"all": []} is always true; {"any": []} is always false.

Each field has a *family* that decides which operators fit and how values compare:

| family | form field types                              | operators                                                   | python value type |
| ------ | --------------------------------------------- | ----------------------------------------------------------- | ----------------- |
| text   | short_text, long_text, email, phone, url      | eq, neq, in, not_in, contains, not_contains, empty, not_empty | str |
| number | integer, decimal, currency (and calculated)   | eq, neq, gt, gte, lt, lte, between, in, not_in, empty, not_empty | int / decimal.Decimal |
| date   | date                                          | eq, neq, before, after, between, empty, not_empty            | datetime.date |
| datetime | datetime                                    | before, after, between, empty, not_empty                      | aware datetime.datetime |
| choice | single_choice                                 | eq, neq, in, not_in, empty, not_empty                         | str (an option value) |
| multi  | multi_choice                                  | contains, not_contains, empty, not_empty                      | list[str] (option values) |
| bool   | yes_no                                        | is_true, is_false, empty, not_empty                           | bool |
| file   | file                                          | empty, not_empty                                             | list of file refs |
| group  | repeating group                               | empty, not_empty                                             | list of row dicts |

Semantics (both the plain-Python evaluator in forms/ and the durable-rules compiler in rules/ must give exactly these):
- A value is *empty* when the key is missing, or it is None, "" (after strip), or [].
- neq, not_in and not_contains are the exact negation of eq, in and contains, so they are TRUE for an empty value.
  Every other operator (eq, in, contains, gt, gte, lt, lte, between, before, after, is_true, is_false) is FALSE for an empty value.
- text comparisons (eq, neq, in, not_in, contains, not_contains) are case-insensitive and ignore surrounding white space
  (compare `s.strip().casefold()`); `contains` on text is substring.
- number: compared numerically (Decimal exactness; 10000 < 10000.01). `between` takes [low, high], inclusive both ends.
- date / datetime: `before` is strictly earlier, `after` strictly later, `between` [low, high] inclusive.
- choice: eq/in compare option values exactly (case-sensitive; they are machine values).
- multi: `contains` takes ONE option value and is true when it is among the selected ones.
- `in` / `not_in` take a non-empty JSON list.
- Condition values in JSON: numbers as JSON numbers or decimal strings ("10000.01"); dates as "YYYY-MM-DD";
  datetimes as ISO 8601 with offset; bools only for nothing (is_true/is_false are unary).

Public API of forms/conditions.py (pure Python, no Flask, no DB):
    class ConditionError(forms.errors.FormsError): has .path (e.g. "all[1].value") and .message
    FAMILY_OPERATORS: Mapping[str, frozenset[str]]             # family -> operators allowed
    UNARY_OPERATORS: frozenset[str]
    def validate_condition(cond, families: Mapping[str, str], options: Mapping[str, Sequence[str]] | None = None) -> list[ConditionError]
        # every problem, each with a path and an admin-readable message: unknown field, operator that does not fit
        # the family, missing/extra value, value of the wrong type, choice value that is not an option, malformed node.
    def parse_condition(cond, families, options=None) -> Condition   # validated, values coerced to python types; raises ConditionInvalid(errors)
    def evaluate(cond, values: Mapping[str, Any], families: Mapping[str, str]) -> bool   # values already of the python types above
    def referenced_fields(cond) -> set[str]
    def describe(cond, labels: Mapping[str, str], option_labels: Mapping[str, Mapping[str, str]] | None = None) -> str
        # plain language: "Severity is High or Critical and Customer tier is Gold"
    def coerce_value(family: str, raw: Any) -> Any   # JSON/str -> python type of the family; raises ValueError with a readable message
"""  # noqa: E501

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeAlias

from forms.errors import ConditionError, ConditionInvalid

__all__ = [
    "FAMILIES",
    "FAMILY_OPERATORS",
    "OPERATORS",
    "UNARY_OPERATORS",
    "AllOf",
    "AnyOf",
    "Clause",
    "Condition",
    "ConditionError",
    "ConditionInvalid",
    "Not",
    "Operator",
    "coerce_value",
    "condition_to_json",
    "describe",
    "evaluate",
    "is_empty",
    "parse_condition",
    "referenced_fields",
    "validate_condition",
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

_FAMILY_NAMES = {
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
_NODES = (AllOf, AnyOf, Not, Clause)


# --- value coercion ----------------------------------------------------------------------------

MAX_LIST_VALUES = 1000
"""Values an ``in`` / ``not_in`` condition may list."""
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?")
_MAX_NUMBER_CHARS = 400
_TRUE_WORDS = frozenset({"true", "on", "yes", "1", "y"})
_FALSE_WORDS = frozenset({"false", "off", "no", "0", "n"})


def is_empty(value: Any) -> bool:
    """The contract's emptiness: None, blank text or an empty list (a missing key is handled by callers)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple):
        return len(value) == 0
    return False


def _to_number(raw: Any) -> int | Decimal:
    msg = "Enter a number, like 10000 or 10000.01."
    if isinstance(raw, bool):
        raise ValueError(msg)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise ValueError(msg)
        return raw
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise ValueError(msg)
        return Decimal(repr(raw))
    if isinstance(raw, str):
        text = raw.strip()
        if len(text) > _MAX_NUMBER_CHARS or not _NUMBER_RE.fullmatch(text):
            raise ValueError(msg)
        if "." in text:
            return Decimal(text)
        return int(text)
    raise ValueError(msg)


def _to_date(raw: Any) -> dt.date:
    msg = "Enter a date as YYYY-MM-DD."
    if isinstance(raw, dt.datetime):
        raise ValueError(msg)
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str) and _DATE_RE.fullmatch(raw.strip()):
        try:
            return dt.date.fromisoformat(raw.strip())
        except ValueError:
            raise ValueError("This date does not exist; enter a real date as YYYY-MM-DD.") from None
    raise ValueError(msg)


def _to_datetime(raw: Any) -> dt.datetime:
    msg = "Enter a date and time with a time zone offset, like 2024-05-01T14:30:00+02:00."
    value: dt.datetime
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, str) and _DATETIME_RE.fullmatch(raw.strip()):
        try:
            value = dt.datetime.fromisoformat(raw.strip())
        except ValueError:
            raise ValueError(msg) from None
    else:
        raise ValueError(msg)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(msg)
    return value


def _to_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | Decimal) and not isinstance(raw, bool):
        return str(raw)
    raise ValueError("Enter text.")


def _to_option(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    raise ValueError("Choose an option value.")


def _to_options(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [raw] if raw.strip() else []
    if isinstance(raw, list | tuple):
        return [_to_option(item) for item in raw]
    raise ValueError("Choose option values as a list.")


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        word = raw.strip().casefold()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise ValueError("Answer yes or no.")


def _to_list(raw: Any) -> list[Any]:
    if isinstance(raw, list | tuple):
        return list(raw)
    raise ValueError("Expected a list.")


_COERCERS: Mapping[str, Callable[[Any], Any]] = MappingProxyType(
    {
        "text": _to_text,
        "number": _to_number,
        "date": _to_date,
        "datetime": _to_datetime,
        "choice": _to_option,
        "multi": _to_options,
        "bool": _to_bool,
        "file": _to_list,
        "group": _to_list,
    }
)


def coerce_value(family: str, raw: Any) -> Any:
    """JSON or text to the python type of the family; None or blank text gives None."""
    try:
        coercer = _COERCERS[family]
    except KeyError:
        raise ValueError(f"Unknown field family {family!r}.") from None
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return coercer(raw)


def _comparand(family: str, raw: Any) -> Any:
    """Coerce one value written in a condition (stricter than facts: no blanks, one option for multi)."""
    if family == "text":
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError("Enter the text to compare with.")
        return raw
    if family == "multi":
        if not isinstance(raw, str) or not raw:
            raise ValueError("Give one option value.")
        return raw
    if family == "choice":
        if not isinstance(raw, str) or not raw:
            raise ValueError("Choose an option value.")
        return raw
    if raw is None or isinstance(raw, bool):
        # bool would pass as int 0/1 and None would mean "empty": both are mistakes in a condition.
        raise ValueError(_VALUE_MESSAGES.get(family, "Enter a value."))
    return _COERCERS[family](raw)


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
        if isinstance(node, _NODES):
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
                    f"Operator {op_name!r} does not fit {field!r} ({_FAMILY_NAMES[family]}); "
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
            value = _comparand(family, raw)
        except ValueError as exc:
            self.fail(path, _value_message(family, exc))
            return None, False
        if family in ("choice", "multi") and self.options is not None and field in self.options:
            allowed = list(self.options[field])
            if value not in allowed:
                shown = ", ".join(allowed) if allowed else "none"
                self.fail(path, f"{value!r} is not an option of {field!r} (options: {shown}).")
                return None, False
        return value, True


_VALUE_MESSAGES = {
    "number": "Enter a number, like 10000 or 10000.01.",
    "date": "Enter a date as YYYY-MM-DD.",
    "datetime": "Enter a date and time with a time zone offset, like 2024-05-01T14:30:00+02:00.",
}


def _value_message(family: str, exc: ValueError) -> str:
    message = str(exc)
    if family in _VALUE_MESSAGES and not message.startswith(("Enter", "This")):
        return _VALUE_MESSAGES[family]
    return message


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
    node = cond if isinstance(cond, _NODES) else parse_condition(cond, families)
    return _eval(node, values, families)


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
    if isinstance(cond, _NODES):
        cond = condition_to_json(cond)
    return {c["field"] for c in _walk(cond) if isinstance(c.get("field"), str)}


def _show(value: Any, field: str, option_labels: Mapping[str, Mapping[str, str]]) -> str:
    labels = option_labels.get(field)
    if labels is not None and isinstance(value, str) and value in labels:
        return labels[value]
    if isinstance(value, str):
        if _DATE_RE.fullmatch(value) or _DATETIME_RE.fullmatch(value) or labels is not None:
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
    if isinstance(cond, _NODES):
        cond = condition_to_json(cond)
    return _describe(cond, labels, option_labels or {}, families or {}, nested=False)
