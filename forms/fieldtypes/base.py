"""The base of every field type, and the registry they are added to.

A type knows how to turn a submitted value (text from an HTML post, or JSON from the API) into the
python value of its family, how to check that value against the field's properties, how to store it as
JSON, and which WTForms field renders it. For the designer it also knows the field a new one starts as
(``FieldType.starter``) and how the property panel edits it (``FieldType.editable_properties``).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from wtforms import fields as wtf_fields

from forms.fieldtypes.panel import EDITORS, PANEL_ORDER, EditableProperty

if TYPE_CHECKING:
    from wtforms.fields.core import UnboundField

    from forms.schema import FieldSpec

__all__ = ["COMMON_PROPERTIES", "FIELD_TYPES", "INPUT_PROPERTIES", "VALUE_PROPERTIES", "FieldType", "fmt_number",
           "register"]

FIELD_TYPES: dict[str, FieldType] = {}
"""Type name -> the (stateless) type object."""
COMMON_PROPERTIES = frozenset({"type", "key", "label", "help", "width", "visible_if"})
"""Properties every field may have."""
INPUT_PROPERTIES = frozenset({"required", "required_if"})
"""Properties of fields the requester fills in (``takes_input``)."""
VALUE_PROPERTIES = frozenset({"personal"})
"""Properties of fields that hold a value (``has_value``): ``personal`` marks the value personal data,
kept outside the audit chain so it can be erased (see ``FieldSpec.personal``)."""


def register(cls: type[FieldType]) -> type[FieldType]:
    """Class decorator adding a field type to the registry under its ``name``."""
    FIELD_TYPES[cls.name] = cls()
    return cls


def fmt_number(value: int | Decimal) -> str:
    """12000 -> "12,000" for messages people read."""
    return format(value, ",")


class FieldType:
    """Base of every field type; subclasses override what differs."""

    name: ClassVar[str]
    title: ClassVar[str]
    """How admins call it, used in messages ("short text")."""
    family: ClassVar[str | None] = None
    """The condition family of its value, or None for fields without a value (heading, info)."""
    properties: ClassVar[frozenset[str]] = frozenset()
    """Properties beyond the common ones (type, key, label, help, width, visible_if)."""
    required_properties: ClassVar[frozenset[str]] = frozenset()
    takes_input: ClassVar[bool] = True
    """False for fields the requester never fills in (heading, info, calculated)."""
    in_groups: ClassVar[bool] = True
    label_required: ClassVar[bool] = True
    required_message: ClassVar[str] = "This field is required."
    check_when_empty: ClassVar[bool] = False
    """Whether ``check_value`` also runs on an empty value (row limits of a group do)."""
    key_base: ClassVar[str]
    """The key a new field starts with: short and readable in rules and the API."""
    starter_properties: ClassVar[Mapping[str, Any]] = {}
    """What a new field has besides type, key and a label made from the title (see ``starter``)."""
    editors: ClassVar[Mapping[str, EditableProperty]] = {}
    """How the panel edits a property of this type where it differs from ``EDITORS``."""

    @property
    def has_value(self) -> bool:
        return self.family is not None

    @property
    def allowed_properties(self) -> frozenset[str]:
        """Every property a field of this type may have."""
        extra = INPUT_PROPERTIES if self.takes_input else frozenset()
        if self.has_value:
            extra = extra | VALUE_PROPERTIES
        return COMMON_PROPERTIES | extra | self.properties

    # --- design time -------------------------------------------------------------------------

    def starter(self, key: str, *, sub_key: str | None = None) -> dict[str, Any]:
        """A new field of this type that is complete as it is (a form holding it stays publishable).

        ``sub_key`` is the key of a first sub-field, for types that hold fields (a repeating group).
        """
        field: dict[str, Any] = {"type": self.name, "key": key}
        if self.label_required:
            field["label"] = self.title[:1].upper() + self.title[1:]
        field.update(copy.deepcopy(dict(self.starter_properties)))
        return field

    def editable_properties(self) -> tuple[EditableProperty, ...]:
        """The properties the designer's panel edits for this type, in the order it shows them.

        Every allowed property except ``PANEL_EDITS_ELSEWHERE`` is listed exactly once, described by
        the type's ``editors`` or else by ``EDITORS``.
        """
        allowed = self.allowed_properties
        return tuple(self.editors.get(name) or EDITORS[name] for name in PANEL_ORDER if name in allowed)

    def empty_value(self) -> Any:
        """The clean value when nothing was entered."""
        return None

    # --- definition time ---------------------------------------------------------------------

    def load_bound(self, spec: FieldSpec, raw: Any) -> Any:
        """A ``min`` / ``max`` property as a python value; raises ValueError with a message."""
        raise ValueError("This field type has no minimum or maximum.")

    def check(self, spec: FieldSpec) -> list[tuple[str, str]]:
        """Cross-property problems as (property, message)."""
        problems: list[tuple[str, str]] = []
        if spec.min is not None and spec.max is not None and spec.min > spec.max:
            problems.append(("min", f"The minimum ({self.show(spec.min)}) is above the maximum "
                                    f"({self.show(spec.max)})."))
        return problems

    def show(self, value: Any) -> str:
        """A value as shown in messages."""
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return fmt_number(value)
        return str(value)

    # --- submission time ---------------------------------------------------------------------

    def coerce(self, spec: FieldSpec, raw: Any, tz: dt.tzinfo) -> Any:
        """Raw input to the family's python value (None or [] when empty); ValueError with a message."""
        raise ValueError("This field takes no input.")

    def check_value(self, spec: FieldSpec, value: Any) -> list[str]:
        """Messages for a non-empty coerced value that breaks the field's rules."""
        messages: list[str] = []
        if spec.min is not None and value < spec.min:
            messages.append(self.min_message(spec.min))
        if spec.max is not None and value > spec.max:
            messages.append(self.max_message(spec.max))
        return messages

    def min_message(self, bound: Any) -> str:
        return f"Must be at least {self.show(bound)}."

    def max_message(self, bound: Any) -> str:
        return f"Must be at most {self.show(bound)}."

    # --- storage -----------------------------------------------------------------------------

    def to_json(self, value: Any) -> Any:
        """The stored JSON form of a clean value."""
        return value

    def from_json(self, spec: FieldSpec, stored: Any) -> Any:
        """A stored JSON value back as the python value; ValueError if it no longer fits."""
        return self.coerce(spec, stored, dt.UTC)

    def form_value(self, value: Any) -> Any:
        """A clean value as the WTForms field expects it when pre-filling a form."""
        return self.to_json(value)

    # --- rendering ---------------------------------------------------------------------------

    def wtf_field(self, spec: FieldSpec, kw: dict[str, Any], subform: Callable[[FieldSpec], type]) -> UnboundField:
        """The unbound WTForms field; ``kw`` holds label, description, id, default and render_kw."""
        return wtf_fields.StringField(**kw)

    def render_kw(self, spec: FieldSpec) -> dict[str, Any]:
        """HTML attributes specific to the type (placeholder, inputmode, min, ...)."""
        return {"placeholder": spec.placeholder} if spec.placeholder else {}
