"""The properties a field may have: the name admins read in messages, how each loads and dumps.

Which properties a field of a given type may have is the field type's business
(``FieldType.allowed_properties``); ``forms.loading`` applies these loaders and reports their messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from forms.errors import ExpressionError
from forms.expressions import Expression, parse_expression
from forms.files import KNOWN_FILE_TYPES
from forms.patterns import check_pattern
from forms.schema import DISPLAYS, MAX_UPLOAD_BYTES, WIDTHS

__all__ = ["PROPERTIES", "PROPERTY_ORDER", "Prop"]

def _text(limit: int, *, single_line: bool = False) -> Callable[[Any], str]:
    def load(raw: Any) -> str:
        if not isinstance(raw, str):
            raise ValueError("must be text")
        if len(raw) > limit:
            raise ValueError(f"must be at most {limit} characters")
        if single_line and ("\n" in raw or "\r" in raw):
            raise ValueError("must be a single line")
        return raw

    return load


def _int(low: int, high: int) -> Callable[[Any], int]:
    def load(raw: Any) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int | Decimal) or raw != int(raw):
            raise ValueError("must be a whole number")
        if not low <= raw <= high:
            raise ValueError(f"must be between {low} and {high}")
        return int(raw)

    return load


def _bool(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise ValueError("must be true or false")
    return raw


def _choice(values: Sequence[str]) -> Callable[[Any], str]:
    def load(raw: Any) -> str:
        if raw not in values:
            raise ValueError("must be one of: " + ", ".join(values))
        return str(raw)

    return load


def _currency(raw: Any) -> str:
    if not isinstance(raw, str) or not re.fullmatch(r"[A-Z]{3}", raw):
        raise ValueError("must be a three-letter currency code in capitals, like EUR or USD")
    return raw


def _pattern(raw: Any) -> str:
    """Only patterns both RE2 (the server) and the browser read the same way; see forms/patterns.py."""
    return check_pattern(raw)


def _allowed_types(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list | tuple) or not all(isinstance(t, str) for t in raw):
        raise ValueError("must be a list of content types, like [\"application/pdf\", \"image/png\"]")
    unknown = [t for t in raw if t not in KNOWN_FILE_TYPES]
    if unknown:
        raise ValueError(
            f"has types Casework cannot recognise ({', '.join(unknown)}); use: {', '.join(KNOWN_FILE_TYPES)}"
        )
    return tuple(dict.fromkeys(raw))


def _expression(raw: Any) -> Expression:
    if not isinstance(raw, str):
        raise ValueError("must be text, like price * quantity")
    try:
        return parse_expression(raw)
    except ExpressionError as exc:
        raise ValueError(f"cannot be read: {exc}") from None


@dataclass(frozen=True)
class Prop:
    """A field property: its name in messages, how to load it and how to dump it."""

    name: str
    title: str
    load: Callable[[Any], Any] | None = None  # None: loaded by the loader itself
    dump: Callable[[Any], Any] = field(default=lambda v: v)


PROPERTY_ORDER: tuple[Prop, ...] = (
    Prop("type", "Type"),
    Prop("key", "Key"),
    Prop("label", "The label", _text(300)),
    Prop("help", "The help text", _text(5000)),
    Prop("placeholder", "The placeholder", _text(300)),
    Prop("text", "The text", _text(20_000)),
    Prop("required", "Required", _bool),
    Prop("required_if", "The required-if condition"),
    Prop("visible_if", "The visible-if condition"),
    Prop("default", "The default value"),
    Prop("min", "The minimum"),
    Prop("max", "The maximum"),
    Prop("min_length", "The minimum length", _int(0, 100_000)),
    Prop("max_length", "The maximum length", _int(1, 100_000)),
    Prop("pattern", "The pattern", _pattern),
    Prop("pattern_message", "The pattern message", _text(300)),
    Prop("options", "The options", dump=lambda v: [{"label": o.label, "value": o.value} for o in v]),
    Prop("display", "The display", _choice(DISPLAYS)),
    Prop("currency", "The currency", _currency),
    Prop("allowed_types", "The allowed types", _allowed_types, dump=list),
    Prop("max_size", "The maximum size", _int(1, MAX_UPLOAD_BYTES)),
    Prop("max_count", "The maximum number of files", _int(1, 100)),
    Prop("expression", "The expression", _expression, dump=lambda e: e.source),
    Prop("decimals", "The number of decimals", _int(0, 10)),
    Prop("min_rows", "The minimum number of rows", _int(0, 1000)),
    Prop("max_rows", "The maximum number of rows", _int(1, 1000)),
    Prop("width", "The width", _choice(WIDTHS)),
    Prop("personal", "Personal", _bool),
    Prop("fields", "The fields"),
)
"""Every property, in the order a field's JSON lists them."""
PROPERTIES: Mapping[str, Prop] = MappingProxyType({p.name: p for p in PROPERTY_ORDER})
