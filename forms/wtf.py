"""WTForms classes built from a form schema, for the requester's pages.

``build_form_class`` returns a fresh class per call (never a shared class that is mutated), one field per
field of the schema. Validation is delegated to ``forms.validation`` so the page and the API give the
same messages. The app passes Flask-WTF's ``FlaskForm`` as ``base`` to get CSRF protection; this module
imports no Flask.

Accessibility wiring: a top-level field's id is ``field-<key>``; its help text should be rendered with
the id ``help_id(field)`` and its errors with ``error_id(field)``; every input's ``aria-describedby``
points at them, and ``aria-invalid`` is set once it has errors.

Repeating groups are ``FieldList``s of sub-forms: inputs are named ``items-0-amount``, and errors of
``items.0.amount`` land on that sub-field.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import wtforms
from wtforms import fields as wtf_fields

from forms.conditions import condition_to_json
from forms.errors import SubmissionInvalid
from forms.fieldtypes.structure import CalculatedField, NoteField
from forms.schema import FieldSpec, FormSchema
from forms.validation import CleanData, to_json_values, validate_submission

__all__ = [
    "FIELD_ID_PREFIX",
    "CalculatedField",
    "LayoutItem",
    "NoteField",
    "SchemaForm",
    "build_form_class",
    "error_id",
    "help_id",
    "initial_form_data",
]

FIELD_ID_PREFIX = "field-"
# Input types where the browser's own "required" check fits (not checkbox lists, radios, files, rows).
_HTML_REQUIRED_FAMILIES = frozenset({"text", "number", "date", "datetime"})


def help_id(field: wtf_fields.Field) -> str:
    """The id the template gives a field's help text."""
    return f"{field.id}-help"


def error_id(field: wtf_fields.Field) -> str:
    """The id the template gives a field's error messages."""
    return f"{field.id}-error"


@dataclass(frozen=True)
class LayoutItem:
    """What a template needs to place one field: the bound field, its spec, width and condition."""

    field: wtf_fields.Field
    spec: FieldSpec
    width: str
    visible_if_json: str | None
    """The visible-if condition as JSON, for the page's script that shows and hides fields."""
    required_if_json: str | None = None
    """The required-if condition as JSON, for the script that shows the field's asterisk once it applies."""


class SchemaForm:
    """Mixed into every built class, before ``base``: schema-driven validation and helpers."""

    schema: FormSchema
    page: str | None
    timezone: dt.tzinfo
    _fields: dict[str, wtf_fields.Field]
    form_errors: list[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clean_data: CleanData | None = None
        self.file_refs: dict[str, list[dict[str, Any]]] = {}
        """Stored file refs per file field, set by the app after it stored the uploads."""
        self.prior_data: Mapping[str, Any] = {}
        """Values of the earlier pages (clean or JSON), which conditions on this page may use."""
        _wire(self._fields, self.schema)

    def submitted_values(self) -> dict[str, Any]:
        """The raw values of this form's inputs, as ``validate_submission`` takes them."""
        out: dict[str, Any] = {}
        for key, field in self._fields.items():
            spec = self.schema.by_key.get(key)
            if spec is None or not spec.takes_input or spec.family == "file":
                continue
            if isinstance(field, wtf_fields.FieldList):
                out[key] = [_row_data(entry) for entry in field.entries]
            else:
                out[key] = field.data
        return out

    def validate(self, extra_validators: Mapping[str, Any] | None = None) -> bool:
        """WTForms' own checks (CSRF with Flask-WTF), then the schema's, with the API's messages."""
        ok = bool(super().validate(extra_validators))  # type: ignore[misc]
        self.clean_data = None
        raw = {**to_json_values(self.prior_data), **self.submitted_values()}
        try:
            clean = validate_submission(
                self.schema, raw, page=self.page, files=self.file_refs, timezone=self.timezone
            )
        except SubmissionInvalid as exc:
            self.apply_errors(exc.errors)
            _wire(self._fields, self.schema)
            return False
        if not ok:
            return False
        self.clean_data = clean
        for key, value in clean.items():
            field = self._fields.get(key)
            if isinstance(field, CalculatedField):
                field.data = value
        return True

    def apply_errors(self, errors: Mapping[str, list[str]]) -> None:
        """Put ``{key: messages}`` (``items.2.amount`` for rows) on the fields they belong to."""
        for key, messages in errors.items():
            target = _locate(self._fields, key)
            if target is None:
                self.form_errors = [*getattr(self, "form_errors", []), *messages]
                continue
            current = [e for e in (target.errors or []) if e and isinstance(e, str)]
            target.errors = current + [m for m in messages if m not in current]
        _wire(self._fields, self.schema)  # aria-invalid / aria-describedby follow the errors

    def layout(self) -> list[LayoutItem]:
        """The fields in order with their spec, for templates that lay out widths and conditions."""
        items = []
        for key, field in self._fields.items():
            spec = self.schema.by_key.get(key)
            if spec is None:
                continue  # csrf_token and other fields of the base class
            visible = json.dumps(condition_to_json(spec.visible_if)) if spec.visible_if is not None else None
            required = (json.dumps(condition_to_json(spec.required_if))
                        if spec.required_if is not None and not spec.required else None)
            items.append(LayoutItem(field, spec, spec.width, visible, required))
        return items


def _row_data(entry: wtf_fields.Field) -> dict[str, Any]:
    form = getattr(entry, "form", None)
    if form is None:
        return {}
    return {name: sub.data for name, sub in form._fields.items()}


def _locate(fields: Mapping[str, wtf_fields.Field], key: str) -> wtf_fields.Field | None:
    parts = key.split(".")
    field = fields.get(parts[0])
    if field is None or len(parts) == 1:
        return field
    if not isinstance(field, wtf_fields.FieldList) or not parts[1].isdigit():
        return None
    index = int(parts[1])
    if index >= len(field.entries):
        return None
    if len(parts) == 2:
        return field
    sub_form = getattr(field.entries[index], "form", None)
    return sub_form._fields.get(parts[2]) if sub_form is not None and len(parts) == 3 else None


def _walk(fields: Mapping[str, wtf_fields.Field], schema: FormSchema) -> Iterator[tuple[wtf_fields.Field, FieldSpec]]:
    for key, field in fields.items():
        spec = schema.by_key.get(key)
        if spec is None:
            continue
        yield field, spec
        if isinstance(field, wtf_fields.FieldList):
            for entry in field.entries:
                sub_form = getattr(entry, "form", None)
                if sub_form is not None:
                    yield from _walk(sub_form._fields, schema)


def _wire(fields: Mapping[str, wtf_fields.Field], schema: FormSchema) -> None:
    """aria-describedby / aria-invalid and the required flag, per bound field (ids are known only now)."""
    for field, spec in _walk(fields, schema):
        if not spec.takes_input or isinstance(field, wtf_fields.FieldList):
            continue
        described = [help_id(field)] if spec.help else []
        has_errors = any(isinstance(e, str) for e in (field.errors or []))
        if has_errors:
            described.append(error_id(field))
        attrs = dict(field.render_kw or {})
        attrs.pop("aria-describedby", None)
        attrs.pop("aria-invalid", None)
        if described:
            attrs["aria-describedby"] = " ".join(described)
        if has_errors:
            attrs["aria-invalid"] = "true"
        # A fresh dict per bound field: the unbound field's render_kw is shared by every instance.
        field.render_kw = attrs
        if spec.required:
            field.flags.required = True


def _kwargs(spec: FieldSpec, *, top_level: bool) -> dict[str, Any]:
    ftype = spec.field_type
    render_kw = ftype.render_kw(spec)
    if (
        top_level
        and spec.required
        and spec.visible_if is None
        and spec.family in _HTML_REQUIRED_FAMILIES
        and spec.takes_input
    ):
        render_kw["required"] = True
    kw: dict[str, Any] = {"label": spec.label, "description": spec.help, "render_kw": render_kw}
    if top_level:
        kw["id"] = f"{FIELD_ID_PREFIX}{spec.key}"
    if spec.default is not None:
        kw["default"] = ftype.form_value(spec.default)
    return kw


def _unbound(spec: FieldSpec, *, top_level: bool) -> Any:
    return spec.field_type.wtf_field(spec, _kwargs(spec, top_level=top_level), _row_form_class)


def _row_form_class(group: FieldSpec) -> type[wtforms.Form]:
    """The sub-form of one row; always plain WTForms (CSRF belongs to the outer form only)."""
    attrs: dict[str, Any] = {sub.key: _unbound(sub, top_level=False) for sub in group.fields}
    return type(f"{_camel(group.key)}Row", (wtforms.Form,), attrs)


def _camel(key: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[_\W]+", key) if part) or "Schema"


def build_form_class(
    schema: FormSchema,
    *,
    page: str | None = None,
    base: type = wtforms.Form,
    timezone: dt.tzinfo = dt.UTC,
) -> type[wtforms.Form]:
    """A fresh WTForms class for the whole form or one page; validation uses ``forms.validation``."""
    specs = schema.page(page).fields if page is not None else schema.fields
    attrs: dict[str, Any] = {spec.key: _unbound(spec, top_level=True) for spec in specs}
    attrs.update(schema=schema, page=page, timezone=timezone)
    name = f"{_camel(schema.title)[:60]}Form"
    cls = type(name, (SchemaForm, base), attrs)
    return cls


def initial_form_data(
    schema: FormSchema, clean: Mapping[str, Any], *, timezone: dt.tzinfo = dt.UTC
) -> dict[str, Any]:
    """Clean values as the built form's ``data=`` expects them (strings, "true"/"false", row dicts).

    Date-times are shown as wall-clock time in ``timezone`` (what a ``datetime-local`` input shows).
    """
    out: dict[str, Any] = {}
    for key, value in clean.items():
        if isinstance(value, dt.datetime):
            value = value.astimezone(timezone)
        spec = schema.by_key.get(key)
        if spec is None or value is None:
            continue
        if spec.family == "group" and isinstance(value, list):
            subs = {sub.key: sub for sub in spec.fields}
            out[key] = [
                {k: subs[k].field_type.form_value(v) for k, v in row.items() if k in subs and v is not None}
                for row in value
                if isinstance(row, Mapping)
            ]
        else:
            out[key] = spec.field_type.form_value(value)
    return out
