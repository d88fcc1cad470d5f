"""Date field types: a date, and a date with a time read in the requester's time zone."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wtforms import fields as wtf_fields
from wtforms import widgets

from forms import conditions
from forms.fieldtypes.base import FieldType, register
from forms.fieldtypes.panel import EditableProperty, property_editors

if TYPE_CHECKING:
    from wtforms.fields.core import UnboundField

    from forms.schema import FieldSpec

__all__ = ["DateTimeType", "DateType"]


@register
class DateType(FieldType):
    name = "date"
    title = "date"
    family = "date"
    properties = frozenset({"default", "min", "max"})
    key_base = "date"
    editors = property_editors(
        EditableProperty("default", "date", "Pre-filled date"),
        EditableProperty("min", "date", "Earliest date"),
        EditableProperty("max", "date", "Latest date"),
    )

    def coerce(self, spec: FieldSpec, raw: Any, tz: dt.tzinfo) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        return conditions.coerce_value("date", raw)

    def load_bound(self, spec: FieldSpec, raw: Any) -> Any:
        return self.coerce(spec, raw, dt.UTC)

    def min_message(self, bound: Any) -> str:
        return f"Must be on or after {self.show(bound)}."

    def max_message(self, bound: Any) -> str:
        return f"Must be on or before {self.show(bound)}."

    def to_json(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, dt.date) else value

    def wtf_field(self, spec: FieldSpec, kw: dict[str, Any], subform: Callable[[FieldSpec], type]) -> UnboundField:
        return wtf_fields.StringField(widget=widgets.DateInput(), **kw)

    def render_kw(self, spec: FieldSpec) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        if spec.min is not None:
            attrs["min"] = spec.min.isoformat()
        if spec.max is not None:
            attrs["max"] = spec.max.isoformat()
        return attrs


_LOCAL_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?")


@register
class DateTimeType(FieldType):
    name = "datetime"
    title = "date and time"
    family = "datetime"
    properties = frozenset({"default"})
    key_base = "date_time"
    editors = property_editors(EditableProperty("default", "datetime", "Pre-filled date and time (UTC)"))
    invalid = "Enter a date and time as YYYY-MM-DD HH:MM."

    def coerce(self, spec: FieldSpec, raw: Any, tz: dt.tzinfo) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if isinstance(raw, dt.datetime):
            return raw if raw.tzinfo is not None else raw.replace(tzinfo=tz)
        if isinstance(raw, str):
            text = raw.strip()
            # An HTML datetime-local input sends local time without an offset: read it in ``tz``.
            if _LOCAL_DATETIME_RE.fullmatch(text):
                try:
                    return dt.datetime.fromisoformat(text).replace(tzinfo=tz)
                except ValueError:
                    raise ValueError(self.invalid) from None
            try:
                return conditions.coerce_value("datetime", text)
            except ValueError:
                raise ValueError(self.invalid) from None
        raise ValueError(self.invalid)

    def check_value(self, spec: FieldSpec, value: Any) -> list[str]:
        return []

    def to_json(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, dt.datetime) else value

    def form_value(self, value: Any) -> Any:
        # datetime-local shows wall-clock time without the offset.
        return value.strftime("%Y-%m-%dT%H:%M") if isinstance(value, dt.datetime) else value

    def wtf_field(self, spec: FieldSpec, kw: dict[str, Any], subform: Callable[[FieldSpec], type]) -> UnboundField:
        return wtf_fields.StringField(widget=widgets.DateTimeLocalInput(), **kw)

    def render_kw(self, spec: FieldSpec) -> dict[str, Any]:
        return {}
