"""The condition builder: which fields a condition may test, the operators that fit each field's family,
and the conversion between a condition and the rows of pickers the admin fills in (never syntax)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from app.designer.forms.nodes import all_fields, label
from forms.conditions import FAMILY_OPERATORS, OPERATORS, describe
from forms.editing import place_of
from forms.fieldtypes import FIELD_TYPES

# Operators in the order the builder offers them, per family, with the words people read.
_OPERATOR_ORDER: Mapping[str, tuple[str, ...]] = {
    "text": ("eq", "neq", "contains", "not_contains", "in", "not_in", "not_empty", "empty"),
    "number": ("eq", "neq", "gt", "gte", "lt", "lte", "between", "in", "not_in", "not_empty", "empty"),
    "date": ("eq", "neq", "before", "after", "between", "not_empty", "empty"),
    "datetime": ("before", "after", "between", "not_empty", "empty"),
    "choice": ("eq", "neq", "in", "not_in", "not_empty", "empty"),
    "multi": ("contains", "not_contains", "not_empty", "empty"),
    "bool": ("is_true", "is_false", "not_empty", "empty"),
    "file": ("not_empty", "empty"),
    "group": ("not_empty", "empty"),
}
_OPERATOR_WORDS = {
    "eq": "is", "neq": "is not", "in": "is one of", "not_in": "is none of", "contains": "contains",
    "not_contains": "does not contain", "gt": "is more than", "gte": "is at least", "lt": "is less than",
    "lte": "is at most", "between": "is between", "before": "is before", "after": "is after",
    "empty": "is not filled in", "not_empty": "is filled in", "is_true": "is Yes", "is_false": "is No",
}  # fmt: skip
_FAMILY_WORDS = {
    "multi": {"contains": "includes", "not_contains": "does not include"},
    "file": {"empty": "has no file", "not_empty": "has a file"},
    "group": {"empty": "has no rows", "not_empty": "has rows"},
}


@dataclass(frozen=True)
class CondField:
    """A field a condition may test, as the builder's pickers show it."""

    key: str
    label: str
    family: str
    options: tuple[tuple[str, str], ...] = ()
    """(value, label) of a choice field's options."""


def operators_for(family: str | None) -> list[tuple[str, str]]:
    """(operator, words) that fit a family, in the builder's order."""
    if family is None or family not in _OPERATOR_ORDER:
        return []
    words = {**_OPERATOR_WORDS, **_FAMILY_WORDS.get(family, {})}
    return [(op, words[op]) for op in _OPERATOR_ORDER[family] if op in FAMILY_OPERATORS[family]]


def _family(node: Mapping[str, Any]) -> str | None:
    ftype = FIELD_TYPES.get(str(node.get("type")))
    return ftype.family if ftype is not None else None


def _cond_field(node: Mapping[str, Any]) -> CondField | None:
    family, key = _family(node), node.get("key")
    if family is None or not isinstance(key, str):
        return None
    options = node.get("options")
    pairs = tuple(
        (str(o.get("value")), str(o.get("label") or o.get("value")))
        for o in (options if isinstance(options, list) else [])
        if isinstance(o, dict) and isinstance(o.get("value"), str) and o.get("value")
    )
    return CondField(key, label(node), family, pairs)


def condition_fields(document: Mapping[str, Any], key: str) -> list[CondField]:
    """The fields a condition of field ``key`` may test: those on its page or earlier (and its row's)."""
    place = place_of(document, key)
    if place is None:
        return []
    out: list[CondField] = []
    pages = document.get("pages")
    for page in pages if isinstance(pages, list) else []:
        if not isinstance(page, dict):
            continue
        fields = page.get("fields")
        for node in fields if isinstance(fields, list) else []:
            if not isinstance(node, dict) or node.get("key") in (key, place.group):
                continue
            found = _cond_field(node)
            if found is not None:
                out.append(found)
        if page.get("key") == place.page:
            break
    if place.group is not None:
        group = next((n for n in all_fields(document) if n.get("key") == place.group), None)
        subs = group.get("fields") if group is not None else None
        for node in subs if isinstance(subs, list) else []:
            if isinstance(node, dict) and node.get("key") != key:
                found = _cond_field(node)
                if found is not None:
                    out.append(found)
    return out


@dataclass
class BuilderRow:
    """One ``field operator value`` row of pickers, values as the inputs hold them (text)."""

    field: str = ""
    op: str = ""
    values: list[str] = dc_field(default_factory=list)
    low: str = ""
    high: str = ""

    @property
    def value(self) -> str:
        return self.values[0] if self.values else ""


@dataclass
class BuilderState:
    """The builder of one condition: off (always), or rows joined by all / any."""

    enabled: bool = False
    mode: str = "all"
    rows: list[BuilderRow] = dc_field(default_factory=list)
    complex: bool = False
    """The stored condition is nested deeper than the builder shows (it came from an import)."""


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _row(node: Mapping[str, Any]) -> BuilderRow:
    op = str(node.get("op") or "")
    value = node.get("value")
    row = BuilderRow(field=str(node.get("field") or ""), op=op)
    arity = OPERATORS[op].arity if op in OPERATORS else "one"
    if arity == "pair" and isinstance(value, list) and len(value) == 2:
        row.low, row.high = _text(value[0]), _text(value[1])
    elif arity == "list" and isinstance(value, list):
        row.values = [_text(v) for v in value]
    elif arity != "none":
        row.values = [_text(value)]
    return row


def state_from_condition(condition: Any) -> BuilderState:
    """The builder's rows for a stored condition (or an empty, switched-off builder)."""
    if condition is None:
        return BuilderState()
    if isinstance(condition, dict) and "field" in condition:
        return BuilderState(True, "all", [_row(condition)])
    if isinstance(condition, dict) and len(condition) == 1:
        mode = next(iter(condition))
        items = condition[mode]
        if mode in ("all", "any") and isinstance(items, list) and all(
                isinstance(i, dict) and "field" in i for i in items):
            return BuilderState(True, mode, [_row(i) for i in items])
    return BuilderState(True, "all", [], complex=True)


def fresh_row(fields: Sequence[CondField]) -> BuilderRow:
    if not fields:
        return BuilderRow()
    first = fields[0]
    return BuilderRow(field=first.key, op=operators_for(first.family)[0][0])


def typed_number(text: str) -> Any:
    text = text.strip()
    return int(text) if re.fullmatch(r"[+-]?\d{1,18}", text) else text


def utc_datetime(text: str) -> str:
    text = text.strip()
    # The picker gives local wall-clock time without an offset; the builder says these times are UTC.
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", text):
        return f"{text}:00+00:00"
    return text


def _scalar(family: str | None, text: str) -> Any:
    if family == "number":
        return typed_number(text)
    if family == "datetime":
        return utc_datetime(text)
    return text.strip() if family in ("date", "choice", "multi") else text


def _lines(values: Sequence[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        out.extend(line.strip() for line in value.replace("\r", "\n").split("\n") if line.strip())
    return out


def _clause(row: BuilderRow, family: str | None) -> dict[str, Any]:
    clause: dict[str, Any] = {"field": row.field, "op": row.op}
    arity = OPERATORS[row.op].arity if row.op in OPERATORS else "one"
    if arity == "none":
        return clause
    if arity == "pair":
        clause["value"] = [_scalar(family, row.low), _scalar(family, row.high)]
    elif arity == "list":
        items = [v for v in row.values if v.strip()] if family == "choice" else _lines(row.values)
        clause["value"] = [_scalar(family, v) for v in items]
    else:
        clause["value"] = _scalar(family, row.value)
    return clause


def condition_from_builder(state: BuilderState, fields: Sequence[CondField]) -> dict[str, Any] | None:
    """The condition JSON the rows describe (None: always). Incomplete rows are kept, so the draft shows
    what is missing where it is missing."""
    if not state.enabled or not state.rows:
        return None
    families = {f.key: f.family for f in fields}
    clauses = [_clause(row, families.get(row.field)) for row in state.rows]
    if len(clauses) == 1:
        return clauses[0]
    return {state.mode: clauses}


def condition_summary(document: Mapping[str, Any], condition: Any) -> str:
    """A condition in words, with the draft's labels: "Category is Other"."""
    nodes = all_fields(document)
    labels = {str(n.get("key")): label(n) for n in nodes}
    options = {
        str(n.get("key")): {str(o.get("value")): str(o.get("label")) for o in n["options"] if isinstance(o, dict)}
        for n in nodes if isinstance(n.get("options"), list)
    }
    families = {str(n.get("key")): f for n in nodes if (f := _family(n)) is not None}
    try:
        return describe(condition, labels, options, families=families)
    except (TypeError, ValueError, AttributeError, RecursionError):
        return "(a condition that cannot be read)"
