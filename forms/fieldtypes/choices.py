"""Choice field types: one option, several options, and yes or no."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wtforms import fields as wtf_fields
from wtforms import widgets

try:
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - WTForms 3.2
    SelectChoice = None

from forms import conditions
from forms.fieldtypes.base import FieldType, register
from forms.fieldtypes.panel import EditableProperty, property_editors

if TYPE_CHECKING:
    from wtforms.fields.core import UnboundField

    from forms.schema import FieldSpec

__all__ = ["MultiChoice", "SingleChoice", "YesNo"]

def _option_values(spec: FieldSpec) -> list[str]:
    return [option.value for option in spec.options]


def _choices(pairs: list[tuple[str, str]]) -> list[Any]:
    """WTForms choices; SelectChoice where available (3.3 deprecates plain tuples)."""
    if SelectChoice is None:  # pragma: no cover - WTForms 3.2
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


_STARTER_OPTIONS = {"options": [{"label": "Option 1", "value": "option_1"}, {"label": "Option 2", "value": "option_2"}]}


@register
class SingleChoice(FieldType):
    name = "single_choice"
    title = "single choice"
    family = "choice"
    properties = frozenset({"options", "display", "default"})
    required_properties = frozenset({"options"})
    key_base = "choice"
    starter_properties = _STARTER_OPTIONS
    editors = property_editors(EditableProperty("default", "choice", "Pre-selected option", choices_from="options",
                                        blank="(none)"))

    def coerce(self, spec: FieldSpec, raw: Any, tz: dt.tzinfo) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise ValueError("Select one of the options.")
        value = str(raw)
        if value not in _option_values(spec):
            raise ValueError("Select one of the options.")
        return value

    def check_value(self, spec: FieldSpec, value: Any) -> list[str]:
        return []

    def wtf_field(self, spec: FieldSpec, kw: dict[str, Any], subform: Callable[[FieldSpec], type]) -> UnboundField:
        choices = [(o.value, o.label) for o in spec.options]
        if spec.display == "radio":
            return wtf_fields.RadioField(choices=_choices(choices), validate_choice=False, **kw)
        return wtf_fields.SelectField(choices=_choices([("", "Choose…"), *choices]), validate_choice=False, **kw)

    def render_kw(self, spec: FieldSpec) -> dict[str, Any]:
        return {}


@register
class MultiChoice(FieldType):
    name = "multi_choice"
    title = "multiple choice"
    family = "multi"
    properties = frozenset({"options", "default"})
    required_properties = frozenset({"options"})
    key_base = "choices"
    starter_properties = _STARTER_OPTIONS
    editors = property_editors(EditableProperty("default", "choices", "Pre-selected options", choices_from="options"))

    def empty_value(self) -> Any:
        return []

    def coerce(self, spec: FieldSpec, raw: Any, tz: dt.tzinfo) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return []
        items = [raw] if isinstance(raw, str | int) and not isinstance(raw, bool) else raw
        if not isinstance(items, list | tuple):
            raise ValueError("Select options from the list.")
        allowed = _option_values(spec)
        out: list[str] = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, str | int):
                raise ValueError("Select options from the list.")
            value = str(item)
            if not value.strip():
                continue
            if value not in allowed:
                raise ValueError("Select only the options offered.")
            if value not in out:
                out.append(value)
        return out

    def check_value(self, spec: FieldSpec, value: Any) -> list[str]:
        return []

    def to_json(self, value: Any) -> Any:
        return list(value) if isinstance(value, list | tuple) else value

    def wtf_field(self, spec: FieldSpec, kw: dict[str, Any], subform: Callable[[FieldSpec], type]) -> UnboundField:
        return wtf_fields.SelectMultipleField(
            choices=_choices([(o.value, o.label) for o in spec.options]),
            validate_choice=False,
            widget=widgets.ListWidget(prefix_label=False),
            option_widget=widgets.CheckboxInput(),
            **kw,
        )

    def render_kw(self, spec: FieldSpec) -> dict[str, Any]:
        return {}


@register
class YesNo(FieldType):
    name = "yes_no"
    title = "yes/no"
    family = "bool"
    properties = frozenset({"default"})
    key_base = "yes_no"
    editors = property_editors(EditableProperty("default", "choice", "Pre-selected answer", blank="(none)",
                                        choices=(("true", "Yes"), ("false", "No"))))

    def coerce(self, spec: FieldSpec, raw: Any, tz: dt.tzinfo) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        try:
            return conditions.coerce_value("bool", raw)
        except ValueError:
            raise ValueError("Answer yes or no.") from None

    def check_value(self, spec: FieldSpec, value: Any) -> list[str]:
        return []

    def form_value(self, value: Any) -> Any:
        return {True: "true", False: "false"}.get(value) if isinstance(value, bool) else value

    def wtf_field(self, spec: FieldSpec, kw: dict[str, Any], subform: Callable[[FieldSpec], type]) -> UnboundField:
        return wtf_fields.RadioField(choices=_choices([("true", "Yes"), ("false", "No")]), validate_choice=False, **kw)

    def render_kw(self, spec: FieldSpec) -> dict[str, Any]:
        return {}
