"""Answers as people read them: option labels instead of values, formatted numbers and dates, file names.

Used by the case pages, the requester's confirmation and the PDF documents, so an answer reads the
same everywhere. Returns plain text; templates escape it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from forms.files import human_size
from forms.schema import FieldSpec, FormSchema

EMPTY = "—"


@dataclass(frozen=True)
class Row:
    """One answered field: its key, label and readable value; a group carries its rows of sub-rows."""

    key: str
    label: str
    text: str
    rows: tuple[tuple[Row, ...], ...] = ()


def _number(value: Decimal | int | float, decimals: int | None = None) -> str:
    if isinstance(value, Decimal) and decimals is not None:
        value = value.quantize(Decimal(1).scaleb(-decimals))
    if isinstance(value, int) or (isinstance(value, Decimal) and value == value.to_integral_value()
                                  and decimals is None):
        return f"{int(value):,}"
    return f"{value:,}"


def display_value(spec: FieldSpec, value: Any) -> str:
    """One value of `spec` as text (EMPTY when there is none)."""
    if value is None or value == "" or value == []:
        return EMPTY
    family = spec.family
    if family == "choice":
        return spec.option_labels().get(str(value), str(value))
    if family == "multi" and isinstance(value, list):
        labels = spec.option_labels()
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    if family == "bool":
        return "Yes" if value else "No"
    if family == "file" and isinstance(value, list):
        return ", ".join(f"{f.get('name', 'file')} ({human_size(int(f.get('size') or 0))})"
                         for f in value if isinstance(f, Mapping))
    if spec.type == "currency" and isinstance(value, Decimal | int | float):
        return f"{spec.currency or ''} {_number(Decimal(value), 2)}".strip()
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return _number(value, spec.decimals)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M %Z").strip()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def display_rows(schema: FormSchema, data: Mapping[str, Any], *, include_empty: bool = False,
                 erased: Mapping[str, str] | None = None) -> list[Row]:
    """The answers of a submission in form order; headings and notes are left out.

    `erased`: key -> what to show for an answer that was erased ("erased on <date>"), where it is empty now."""
    out = []
    for spec in schema.fields:
        if not spec.has_value:
            continue
        value = data.get(spec.key)
        if erased and spec.key in erased and value in (None, "", []):
            out.append(Row(spec.key, spec.display_label, erased[spec.key]))
            continue
        if spec.family == "group":
            rows = tuple(
                tuple(Row(sub.key, sub.display_label, display_value(sub, row.get(sub.key)))
                      for sub in spec.fields if sub.has_value)
                for row in (value or []) if isinstance(row, Mapping))
            if rows or include_empty:
                out.append(Row(spec.key, spec.display_label, f"{len(rows)} row(s)" if rows else EMPTY, rows))
            continue
        text = display_value(spec, value)
        if text != EMPTY or include_empty:
            out.append(Row(spec.key, spec.display_label, text))
    return out
