"""Field types that shape a form: repeating groups, headings, information texts, calculations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from markupsafe import Markup
from wtforms import fields as wtf_fields

from forms import conditions
from forms.fieldtypes.base import FieldType, register
from forms.fieldtypes.panel import EditableProperty, property_editors

if TYPE_CHECKING:
    from wtforms.fields.core import UnboundField

    from forms.schema import FieldSpec

__all__ = ["Calculated", "CalculatedField", "Group", "Heading", "Info", "NoteField"]


@register
class Group(FieldType):
    name = "group"
    title = "repeating group"
    family = "group"
    key_base = "rows"
    starter_properties = {"label": "Rows"}
    properties = frozenset({"fields", "min_rows", "max_rows"})
    required_properties = frozenset({"fields"})
    in_groups = False
    required_message = "Add at least one row."
    check_when_empty = True

    def starter(self, key: str, *, sub_key: str | None = None) -> dict[str, Any]:
        field = super().starter(key)
        field["fields"] = [{"type": "short_text", "key": sub_key or f"{key}_item", "label": "Item"}]
        return field

    def empty_value(self) -> Any:
        return []

    def coerce(self, spec: FieldSpec, raw: Any, tz: dt.tzinfo) -> Any:
        # Rows are validated one by one by forms.validation; here only the shape is checked.
        if raw is None:
            return []
        if not isinstance(raw, list | tuple) or not all(isinstance(row, Mapping) for row in raw):
            raise ValueError("Enter the rows as a list.")
        return list(raw)

    def check_value(self, spec: FieldSpec, value: Any) -> list[str]:
        messages = []
        if spec.min_rows is not None and len(value) < spec.min_rows:
            messages.append(f"Add at least {spec.min_rows} row{'s' if spec.min_rows != 1 else ''}.")
        if spec.max_rows is not None and len(value) > spec.max_rows:
            messages.append(f"Add at most {spec.max_rows} row{'s' if spec.max_rows != 1 else ''}.")
        return messages

    def check(self, spec: FieldSpec) -> list[tuple[str, str]]:
        if spec.min_rows is not None and spec.max_rows is not None and spec.min_rows > spec.max_rows:
            return [("min_rows", f"The minimum number of rows ({spec.min_rows}) is above the maximum "
                                 f"({spec.max_rows}).")]
        return []

    def to_json(self, value: Any) -> Any:
        return value  # rows are converted by forms.validation, which knows the sub-fields

    def wtf_field(self, spec: FieldSpec, kw: dict[str, Any], subform: Callable[[FieldSpec], type]) -> UnboundField:
        kw = {k: v for k, v in kw.items() if k not in ("default", "render_kw")}
        return wtf_fields.FieldList(
            wtf_fields.FormField(subform(spec)), min_entries=max(spec.min_rows or 0, 1), **kw
        )

    def render_kw(self, spec: FieldSpec) -> dict[str, Any]:
        return {}


class NoteWidget:
    """Renders a heading or an information text; the text is escaped (admins write plain text)."""

    templates: ClassVar[dict[str, Markup]] = {
        "heading": Markup('<h2 id="{id}" class="cw-heading">{text}</h2>'),
        "info": Markup('<div id="{id}" class="cw-info">{text}</div>'),
    }

    def __call__(self, field: NoteField, **kwargs: Any) -> Markup:
        text = field.label.text if field.kind == "heading" else field.text
        # Markup.format escapes its arguments.
        return self.templates[field.kind].format(id=field.id, text=text)


class NoteField(wtf_fields.Field):
    """A WTForms field without a value, so headings and information texts keep their place in order."""

    widget = NoteWidget()

    def __init__(self, label: str | None = None, *, kind: str = "info", text: str = "", **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.kind = kind
        self.text = text

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None

    def _value(self) -> str:
        return ""


class CalculatedField(wtf_fields.StringField):
    """Shows a computed value; whatever the browser posts for it is ignored."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        return None


@register
class Heading(FieldType):
    name = "heading"
    title = "section heading"
    takes_input = False
    key_base = "heading"
    starter_properties = {"label": "Section heading"}
    editors = property_editors(
        EditableProperty("label", "text", "Heading text"),
        EditableProperty("help", "multiline", "Help text", "Shown under the heading."),
    )

    def wtf_field(self, spec: FieldSpec, kw: dict[str, Any], subform: Callable[[FieldSpec], type]) -> UnboundField:
        kw = {k: v for k, v in kw.items() if k not in ("default",)}
        return NoteField(kind="heading", **kw)

    def render_kw(self, spec: FieldSpec) -> dict[str, Any]:
        return {}


@register
class Info(FieldType):
    name = "info"
    title = "information text"
    properties = frozenset({"text"})
    required_properties = frozenset({"text"})
    takes_input = False
    label_required = False
    key_base = "info"
    starter_properties = {"text": "Write here what people should read at this point of the form."}
    editors = property_editors(EditableProperty("label", "text", "Title (optional)", "Shown in bold above the text."))

    def wtf_field(self, spec: FieldSpec, kw: dict[str, Any], subform: Callable[[FieldSpec], type]) -> UnboundField:
        kw = {k: v for k, v in kw.items() if k not in ("default",)}
        return NoteField(kind="info", text=spec.text, **kw)

    def render_kw(self, spec: FieldSpec) -> dict[str, Any]:
        return {}


@register
class Calculated(FieldType):
    name = "calculated"
    title = "calculated"
    family = "number"
    key_base = "total"
    starter_properties = {"expression": "0"}
    properties = frozenset({"expression", "decimals"})
    required_properties = frozenset({"expression"})
    takes_input = False

    def coerce(self, spec: FieldSpec, raw: Any, tz: dt.tzinfo) -> Any:
        # Only used to read stored values back; submissions are computed, never taken from input.
        return conditions.coerce_value("number", raw)

    def check_value(self, spec: FieldSpec, value: Any) -> list[str]:
        return []

    def to_json(self, value: Any) -> Any:
        return format(value, "f") if isinstance(value, Decimal) else value

    def wtf_field(self, spec: FieldSpec, kw: dict[str, Any], subform: Callable[[FieldSpec], type]) -> UnboundField:
        return CalculatedField(**kw)

    def render_kw(self, spec: FieldSpec) -> dict[str, Any]:
        return {"readonly": True, "aria-readonly": "true", "tabindex": "-1"}
