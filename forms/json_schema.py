"""A form as JSON Schema 2020-12: what the `data` of a filing through the API must be.

Built from the same FieldSpec objects that forms.validation checks, so the schema and the server give
the same verdict on the values a JSON client sends: types, formats, enums, lengths, bounds, patterns,
required fields, and conditional visibility and requiredness as `if`/`then`. The server is more lenient
than the schema in one direction only: it also reads the text of an HTML post ("12" for a number,
"yes" for yes/no, a single option for a multiple choice), which a JSON client need not send.

Conventions of the schema (pure data, no Flask):
- an optional field may be absent, null or "" (nothing entered); a required one must hold a value;
- a field shown only under a condition (`visible_if`) is constrained only while the condition holds (the
  server ignores it otherwise); `required_if` becomes `if <condition> then required`;
- conditions the schema language cannot state exactly (text compared case-insensitively, dates before or
  after) leave the field unconstrained by that condition rather than guess;
- decimal and currency amounts are JSON numbers or decimal strings ("1250.00"), never rounded;
- file fields take the ids that `POST /api/v1/uploads` returned; calculated fields are read-only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from forms.conditions import AllOf, AnyOf, Clause, Condition, Not
from forms.fieldtypes.numbers import MAX_NUMBER
from forms.schema import FieldSpec, FormSchema

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_EMPTY: list[dict[str, Any]] = [{"type": "null"}, {"const": ""}]
_HARD_MAX = {"short_text": 1000, "long_text": 20_000, "email": 254, "phone": 40, "url": 2000}
# Text never holds control characters; a single line no line breaks (forms.fieldtypes refuses both).
_MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
_ONE_LINE = r"^[^\x00-\x08\x0a-\x1f\x7f]*$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_DATETIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?$"


def _number(value: Any) -> int | float | Decimal:
    """Bounds as JSON numbers: integers stay exact, decimals stay Decimal (the app's JSON writes them out)."""
    if isinstance(value, int):
        return value
    decimal = Decimal(value)
    return int(decimal) if decimal == decimal.to_integral_value() else decimal


def _bounds(spec: FieldSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"exclusiveMinimum": -int(MAX_NUMBER), "exclusiveMaximum": int(MAX_NUMBER)}
    if spec.min is not None:
        out["minimum"] = _number(spec.min)
    if spec.max is not None:
        out["maximum"] = _number(spec.max)
    return out


_TEXT_SHAPES = {
    "email": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    "url": r"^[hH][tT][tT][pP][sS]?://[^\s/?#]+",
    "phone": r"^\+?[0-9 ()./-]+(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?$",
}


def _text_schema(spec: FieldSpec) -> dict[str, Any]:
    kind = spec.type
    hard = _HARD_MAX.get(kind, 1000)
    out: dict[str, Any] = {"type": "string", "maxLength": min(spec.max_length or hard, hard),
                           "minLength": max(spec.min_length or 0, 1),
                           "pattern": _MULTI_LINE if kind == "long_text" else _ONE_LINE}
    shape = _TEXT_SHAPES.get(kind)
    if spec.pattern is not None:
        shape = rf"^\s*(?:{spec.pattern})\s*$"  # the server trims surrounding white space first
    if shape is not None:
        out["allOf"] = [{"pattern": shape}]
    if kind in ("email", "url"):
        out["format"] = "email" if kind == "email" else "uri"
    return out


def _decimal_schema(spec: FieldSpec) -> dict[str, Any]:
    """A decimal or an amount: a JSON number or a decimal string, with at most its places."""
    places = 2 if spec.type == "currency" else 10
    number = {"type": "number", "multipleOf": Decimal(1).scaleb(-places), **_bounds(spec)}
    digits = rf"\.\d{{1,{places}}}0*"  # trailing zeros are no extra places
    text = {"type": "string", "pattern": rf"^[+-]?(?:\d+(?:{digits})?|{digits})$"}
    out: dict[str, Any] = {"anyOf": [number, text]}
    if spec.type == "currency" and spec.currency:
        out["description"] = f"An amount in {spec.currency}, e.g. 1250.00 (a number or a decimal string)."
    return out


def _date_schema(spec: FieldSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string", "format": "date", "pattern": _DATE}
    bounds = [f"{word} {value.isoformat()}" for word, value in (("on or after", spec.min), ("on or before", spec.max))
              if isinstance(value, dt.date)]
    if bounds:
        out["description"] = "A date " + " and ".join(bounds) + "."
    return out


def _group_schema(spec: FieldSpec, *, required: bool, families: Mapping[str, str]) -> dict[str, Any]:
    row_families = {**families, **{f.key: f.family for f in spec.fields if f.family is not None}}
    row, conditionals = _object(spec.fields, row_families)
    if conditionals:
        row["allOf"] = conditionals
    out: dict[str, Any] = {"type": "array", "items": row}
    low = max(spec.min_rows or 0, 1 if required else 0)
    if low:
        out["minItems"] = low
    if spec.max_rows is not None:
        out["maxItems"] = spec.max_rows
    return out


def _value_schema(spec: FieldSpec, *, required: bool, families: Mapping[str, str]) -> dict[str, Any]:
    """The schema of one non-empty value of `spec` (rows of a group included)."""
    kind = spec.type
    family = spec.family
    if family == "text":
        return _text_schema(spec)
    if kind == "integer":
        return {"type": "integer", **_bounds(spec)}
    if kind in ("decimal", "currency"):
        return _decimal_schema(spec)
    if kind == "date":
        return _date_schema(spec)
    if kind == "datetime":
        return {"type": "string", "format": "date-time", "pattern": _DATETIME}
    if family == "choice":
        return {"enum": [o.value for o in spec.options]}
    if family == "multi":
        options = [o.value for o in spec.options]
        return {"anyOf": [{"type": "array", "items": {"enum": options}, "minItems": 1 if required else 0},
                          {"enum": options}]}
    if family == "bool":
        return {"type": "boolean"}
    if family == "file":
        limit = spec.max_count if spec.max_count is not None else 1
        return {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": limit,
                "minItems": 1 if required else 0, "description": "Ids returned by POST /api/v1/uploads."}
    if family == "group":
        return _group_schema(spec, required=required, families=families)
    return {}


def _annotated(spec: FieldSpec, schema: dict[str, Any]) -> dict[str, Any]:
    notes: dict[str, Any] = {"title": spec.display_label}
    if spec.help:
        notes["description"] = (spec.help + " " + schema.pop("description", "")).strip()
    if spec.default is not None and spec.family in ("text", "choice", "bool", "multi"):
        notes["default"] = spec.default if not isinstance(spec.default, tuple) else list(spec.default)
    return {**notes, **schema}


def field_schema(spec: FieldSpec, *, required: bool, families: Mapping[str, str]) -> dict[str, Any]:
    """What one field accepts: a value, or (when not required) nothing at all."""
    if spec.expression is not None:
        return {"title": spec.display_label, "readOnly": True,
                "description": "Calculated by the server; a value sent here is ignored."}
    value = _value_schema(spec, required=required, families=families)
    if required or spec.family in ("file", "group"):
        return _annotated(spec, value)
    return _annotated(spec, {"anyOf": [*_EMPTY, value]})


def _not_empty(key: str) -> dict[str, Any]:
    return {"required": [key], "properties": {key: {"not": {"anyOf": [*_EMPTY, {"const": []},
                                                                      {"type": "string", "pattern": r"^\s*$"}]}}}}


def condition_schema(cond: Condition, families: Mapping[str, str]) -> dict[str, Any] | None:
    """A schema that holds exactly when `cond` is true of the (JSON) values, or None if none can say it."""
    if isinstance(cond, AllOf | AnyOf):
        parts = [condition_schema(item, families) for item in cond.items]
        if any(p is None for p in parts):
            return None
        if not parts:
            return {} if isinstance(cond, AllOf) else {"not": {}}
        return {"allOf": parts} if isinstance(cond, AllOf) else {"anyOf": parts}
    if isinstance(cond, Not):
        inner = condition_schema(cond.item, families)
        return None if inner is None else {"not": inner}
    if not isinstance(cond, Clause):
        return None
    key, op, value = cond.field, cond.op, cond.value
    family = families.get(key, cond.family)
    if op == "empty":
        return {"not": _not_empty(key)}
    if op == "not_empty":
        return _not_empty(key)
    negated = {"neq": "eq", "not_in": "in", "not_contains": "contains"}
    if op in negated:
        inner = condition_schema(Clause(key, negated[op], value, family), families)
        return None if inner is None else {"not": inner}

    def holds(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": [key], "properties": {key: schema}}

    if family == "choice" and op in ("eq", "in"):
        return holds({"const": value} if op == "eq" else {"enum": list(value)})
    if family == "bool" and op in ("is_true", "is_false"):
        return holds({"const": op == "is_true"})
    if family == "multi" and op == "contains":
        return holds({"anyOf": [{"type": "array", "contains": {"const": value}}, {"const": value}]})
    if family == "number" and op in ("eq", "gt", "gte", "lt", "lte", "between"):
        words = {"eq": ("const",), "gt": ("exclusiveMinimum",), "gte": ("minimum",), "lt": ("exclusiveMaximum",),
                 "lte": ("maximum",), "between": ("minimum", "maximum")}[op]
        values = list(value) if op == "between" else [value]
        number: dict[str, Any] = {"type": "number"}
        for word, bound in zip(words, values, strict=True):
            number[word] = _number(bound)
        return holds(number)
    return None  # text (case-insensitive), dates: not stated exactly in JSON Schema


def _object(fields: tuple[FieldSpec, ...], families: Mapping[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(object schema, conditionals) for `fields`; `families` are those the fields' conditions may test."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    conditionals: list[dict[str, Any]] = []
    for spec in fields:
        if not spec.has_value:
            continue
        visible = condition_schema(spec.visible_if, families) if spec.visible_if else {}
        needed = spec.required and spec.takes_input
        if spec.visible_if is None:
            properties[spec.key] = field_schema(spec, required=needed, families=families)
            if needed:
                required.append(spec.key)
        elif visible is not None:
            then: dict[str, Any] = {"properties": {spec.key: field_schema(spec, required=needed, families=families)}}
            if needed:
                then["required"] = [spec.key]
            conditionals.append({"if": visible, "then": then})
        if spec.required_if is not None and spec.takes_input and visible is not None:
            when = condition_schema(spec.required_if, families)
            if when is not None:
                strict = field_schema(spec, required=True, families=families)
                conditionals.append({"if": when if visible == {} else {"allOf": [visible, when]},
                                     "then": {"required": [spec.key], "properties": {spec.key: strict}}})
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out, conditionals


def form_json_schema(schema: FormSchema, *, schema_id: str | None = None) -> dict[str, Any]:
    """JSON Schema 2020-12 of a filing's `data` for this form."""
    body, conditionals = _object(schema.fields, dict(schema.families))
    out: dict[str, Any] = {"$schema": DIALECT}
    if schema_id:
        out["$id"] = schema_id
    out.update({"title": schema.title, "description": schema.description or f"The answers of {schema.title}."})
    out.update(body)
    if conditionals:
        out["allOf"] = conditionals
    return out



def json_numbers(value: Any) -> Any:
    """The schema with its Decimals (exact bounds, multipleOf) as int or float, for JSON writers that would
    otherwise quote them; a reader parsing numbers as Decimal gets the same values back."""
    if isinstance(value, dict):
        return {k: json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_numbers(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
