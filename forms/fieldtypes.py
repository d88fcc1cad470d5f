"""The field type registry: one small class per type name, knowing its family and properties.

Each type knows how to turn a submitted value (text from an HTML post, or JSON from the API) into the
python value of its family, how to check that value against the field's properties, how to store it as
JSON, and which WTForms field renders it. For the designer it also knows the field a new one starts as
(``FieldType.starter``) and how the property panel edits it (``FieldType.editable_properties``).
Adding a type means adding a class here, nothing else.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import email_validator
from markupsafe import Markup
from wtforms import fields as wtf_fields
from wtforms import widgets

try:
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - WTForms 3.2
    SelectChoice = None

from forms import conditions
from forms.files import KNOWN_FILE_TYPES, human_size
from forms.patterns import browser_safe, full_match
from forms.text import has_content, text_problem

if TYPE_CHECKING:
    from wtforms.fields.core import UnboundField

    from forms.schema import FieldSpec

__all__ = ["COMMON_PROPERTIES", "FIELD_TYPES", "INPUT_PROPERTIES", "PROPERTY_KINDS", "EditableProperty",
           "FieldType", "register"]

FIELD_TYPES: dict[str, FieldType] = {}
"""Type name -> the (stateless) type object."""

MAX_NUMBER = Decimal(10) ** 15
"""Bigger numbers are refused: nobody files a case about a quadrillion, and it bounds arithmetic."""

COMMON_PROPERTIES = frozenset({"type", "key", "label", "help", "width", "visible_if"})
"""Properties every field may have."""
INPUT_PROPERTIES = frozenset({"required", "required_if"})
"""Properties of fields the requester fills in (``takes_input``)."""


# --- how the designer's property panel edits a type --------------------------------------------

PROPERTY_KINDS: Mapping[str, str] = {
    "text": "one line of text",
    "multiline": "text of several lines (line breaks kept)",
    "code": "one line a machine reads (a pattern, a calculation): no spell checking or autocompletion",
    "number": "a number typed as text (decimals allowed)",
    "whole": "a whole number, at least ``minimum``",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a date and time in UTC (YYYY-MM-DDTHH:MM)",
    "bool": "a check box; ticked stores true",
    "choice": "one value of ``choices`` (or of ``choices_from``); ``blank`` labels the empty choice",
    "choices": "several values of ``choices_from`` (check boxes); none ticked removes the property",
    "options": "the field's option list (label and stored value per option), edited option by option",
    "megabytes": "a size in bytes, shown and typed in megabytes",
    "key": "the field's short name; changing it renames the field everywhere in the form",
}
"""Every ``EditableProperty.kind``, with what a view model renders for it."""

CHOICE_SOURCES: Mapping[str, str] = {
    "options": "the field's own options, as (value, label) in their order",
    "currencies": "the currency codes the server offers (plus the field's current one)",
    "file_types": "forms.files.KNOWN_FILE_TYPES, as (content type, label)",
}
"""Every ``EditableProperty.choices_from``: choices known only when the panel is shown."""


@dataclass(frozen=True)
class EditableProperty:
    """One property as the designer's panel edits it: enough for a view model to render the control.

    ``name`` is the property in the definition JSON (and the name the panel posts it under); ``kind``
    is one of ``PROPERTY_KINDS``; ``label`` and ``help`` are what the admin reads. For ``choice`` and
    ``choices``: fixed ``choices`` as (value, words), or ``choices_from`` naming one of
    ``CHOICE_SOURCES``; ``blank`` labels an empty first choice (None: no empty choice) and ``initial`` is
    the value shown while the property is unset. ``minimum`` bounds a ``whole`` number.
    """

    name: str
    kind: str
    label: str
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    choices_from: str | None = None
    blank: str | None = None
    initial: str | None = None
    minimum: int | None = None


PANEL_ORDER: tuple[str, ...] = (
    "label", "text", "help", "placeholder", "required", "options", "display", "default", "min", "max",
    "min_length", "max_length", "pattern", "pattern_message", "currency", "allowed_types", "max_size",
    "max_count", "expression", "decimals", "min_rows", "max_rows", "width", "key",
)  # fmt: skip
"""The order the panel shows properties in (a type shows those it allows)."""

PANEL_EDITS_ELSEWHERE = frozenset({"type", "fields", "visible_if", "required_if"})
"""Allowed properties the panel's property list does not edit: the type never changes, sub-fields are
added as fields of their own, and the two conditions have the condition builder."""


def _editors(*props: EditableProperty) -> dict[str, EditableProperty]:
    return {p.name: p for p in props}


EDITORS: Mapping[str, EditableProperty] = _editors(
    EditableProperty("label", "text", "Label", "The question as requesters read it."),
    EditableProperty("text", "multiline", "Text", "Plain text; line breaks are kept."),
    EditableProperty("help", "multiline", "Help text", "Shown under the question, e.g. where to find the answer."),
    EditableProperty("placeholder", "text", "Placeholder", "An example shown inside the empty box, like ORD-123456."),
    EditableProperty("required", "bool", "Always required", "Conditional requirements are set further down."),
    EditableProperty("options", "options", "Options",
                     "“Stored as” is what rules, exports and the API see; it follows the label until you change it."),
    EditableProperty("display", "choice", "Show the options as", initial="dropdown",
                     choices=(("dropdown", "A drop-down list"), ("radio", "Radio buttons, all visible"))),
    EditableProperty("default", "text", "Pre-filled value"),
    EditableProperty("min", "number", "Smallest value"),
    EditableProperty("max", "number", "Largest value"),
    EditableProperty("min_length", "whole", "Shortest answer (characters)", minimum=0),
    EditableProperty("max_length", "whole", "Longest answer (characters)", minimum=1),
    EditableProperty("pattern", "code", "Format the answer must have (pattern)",
                     "A regular expression the whole answer must match, e.g. ORD-[0-9]{6} for ORD- and six digits. "
                     "Leave empty for any text."),
    EditableProperty("pattern_message", "text", "Message when the format is wrong",
                     "Tell people what to type, e.g. “Enter the order number as ORD- and 6 digits”."),
    EditableProperty("currency", "choice", "Currency", choices_from="currencies", initial="EUR"),
    EditableProperty("allowed_types", "choices", "Allowed kinds of file",
                     "None ticked: every kind listed is accepted. Files are recognised by their content, not their "
                     "name.", choices_from="file_types"),
    EditableProperty("max_size", "megabytes", "Largest file (MB)", "Empty: the server's upload limit."),
    EditableProperty("max_count", "whole", "How many files at most", "Empty: one file.", minimum=1),
    EditableProperty("expression", "code", "Calculation",
                     "Use the short names of number fields with + - * / and round(), min(), max(), abs(); "
                     "sum(rows.amount) adds up a column of a repeating group. Example: price * quantity."),
    EditableProperty("decimals", "whole", "Round to decimals", minimum=0),
    EditableProperty("min_rows", "whole", "Fewest rows", minimum=0),
    EditableProperty("max_rows", "whole", "Most rows", minimum=1),
    EditableProperty("width", "choice", "Width", "Narrow fields sit side by side on wide screens.", initial="full",
                     choices=(("full", "Full width"), ("half", "Half width"), ("third", "One third"))),
    EditableProperty("key", "key", "Short name",
                     "Renaming updates the conditions and calculations of this form; rules of case types keep "
                     "using the published versions."),
)
"""How the panel edits each property unless a type says otherwise (``FieldType.editors``)."""


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


# --- text --------------------------------------------------------------------------------------


class _Text(FieldType):
    family = "text"
    properties = frozenset({"placeholder", "default"})
    hard_max: ClassVar[int] = 1000
    multiline: ClassVar[bool] = False
    widget: ClassVar[Any] = widgets.TextInput()
    invalid: ClassVar[str] = "Enter text."

    def coerce(self, spec: FieldSpec, raw: Any, tz: dt.tzinfo) -> Any:
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
            raise ValueError("Enter text.")
        text = str(raw).replace("\r\n", "\n").replace("\r", "\n").strip()
        if not has_content(text):
            return None  # zero-width and other invisible characters alone are no answer
        problem = text_problem(text)
        if problem:
            raise ValueError(problem)
        if not self.multiline and "\n" in text:
            raise ValueError("Enter a single line of text.")
        if len(text) > self.hard_max:
            raise ValueError(f"Must be at most {fmt_number(self.hard_max)} characters.")
        return self.normalise(text)

    def normalise(self, text: str) -> str:
        return text

    def check_value(self, spec: FieldSpec, value: Any) -> list[str]:
        messages: list[str] = []
        if spec.min_length is not None and len(value) < spec.min_length:
            messages.append(f"Must be at least {fmt_number(spec.min_length)} characters.")
        if spec.max_length is not None and len(value) > spec.max_length:
            messages.append(f"Must be at most {fmt_number(spec.max_length)} characters.")
        if spec.pattern is not None and not full_match(spec.pattern, value):
            messages.append(spec.pattern_message or "Enter a value in the expected format.")
        return messages

    def check(self, spec: FieldSpec) -> list[tuple[str, str]]:
        problems = super().check(spec)
        if spec.min_length is not None and spec.max_length is not None and spec.min_length > spec.max_length:
            problems.append(("min_length", f"The minimum length ({spec.min_length}) is above the maximum "
                                           f"length ({spec.max_length})."))
        return problems

    def wtf_field(self, spec: FieldSpec, kw: dict[str, Any], subform: Callable[[FieldSpec], type]) -> UnboundField:
        if self.multiline:
            return wtf_fields.TextAreaField(**kw)
        return wtf_fields.StringField(widget=self.widget, **kw)

    def render_kw(self, spec: FieldSpec) -> dict[str, Any]:
        attrs = super().render_kw(spec)
        attrs["maxlength"] = min(spec.max_length or self.hard_max, self.hard_max)
        if spec.min_length:
            attrs["minlength"] = spec.min_length
        if spec.pattern and browser_safe(spec.pattern):
            # Checked in the browser by casework.js with the same accepted syntax as the server.
            attrs["data-pattern"] = spec.pattern
            attrs["data-pattern-message"] = spec.pattern_message or "Enter a value in the expected format."
        return attrs


@register
class ShortText(_Text):
    name = "short_text"
    title = "short text"
    key_base = "text"
    properties = _Text.properties | {"min_length", "max_length", "pattern", "pattern_message"}


@register
class LongText(_Text):
    name = "long_text"
    title = "long text"
    key_base = "details"
    editors = _editors(EditableProperty("default", "multiline", "Pre-filled text"))
    properties = ShortText.properties
    hard_max = 20_000
    multiline = True


@register
class Email(_Text):
    name = "email"
    title = "email"
    key_base = "email"
    hard_max = 254
    widget = widgets.EmailInput()

    def normalise(self, text: str) -> str:
        try:
            result = email_validator.validate_email(text, check_deliverability=False)
        except email_validator.EmailNotValidError:
            raise ValueError("Enter a valid email address, like name@example.com.") from None
        return str(result.normalized)


@register
class Phone(_Text):
    name = "phone"
    title = "phone"
    key_base = "phone"
    hard_max = 40
    widget = widgets.TelInput()
    _shape = re.compile(r"\+?[0-9 ()./-]+(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?")

    def normalise(self, text: str) -> str:
        digits = sum(ch.isdigit() for ch in text)
        if not self._shape.fullmatch(text) or not 5 <= digits <= 20:
            raise ValueError("Enter a valid phone number, like +44 20 7946 0958.")
        return text


@register
class Url(_Text):
    name = "url"
    title = "web address"
    key_base = "website"
    hard_max = 2000
    widget = widgets.URLInput()

    def normalise(self, text: str) -> str:
        message = "Enter a full web address starting with https:// or http://."
        if any(ch.isspace() for ch in text):
            raise ValueError(message)
        try:
            parts = urlsplit(text)
        except ValueError:
            raise ValueError(message) from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(message)
        return text


# --- numbers -----------------------------------------------------------------------------------

_GROUPED_RE = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+")
_CURRENCY_SYMBOLS = "$€£¥₹₩₺₽₪"


class _Number(FieldType):
    family = "number"
    properties = frozenset({"placeholder", "default", "min", "max"})
    key_base = "number"
    editors = _editors(EditableProperty("default", "number", "Pre-filled value"))
    invalid: ClassVar[str] = "Enter a number."
    max_places: ClassVar[int] = 10
    inputmode: ClassVar[str] = "decimal"

    def strip_text(self, spec: FieldSpec, text: str) -> str:
        return text

    def parse(self, spec: FieldSpec, raw: Any) -> Decimal | None:
        if raw is None:
            return None
        if isinstance(raw, bool):
            raise ValueError(self.invalid)
        if isinstance(raw, int):
            value = Decimal(raw)
        elif isinstance(raw, Decimal | float):
            if raw != raw or raw in (float("inf"), float("-inf")) or (
                isinstance(raw, Decimal) and not raw.is_finite()
            ):
                raise ValueError(self.invalid)
            value = raw if isinstance(raw, Decimal) else Decimal(repr(raw))
        elif isinstance(raw, str):
            text = self.strip_text(spec, raw.strip())
            if not text:
                return None
            if not _GROUPED_RE.fullmatch(text):
                raise ValueError(self.invalid)
            if len(text) > 40:
                raise ValueError("This number is too large.")
            value = Decimal(text.replace(",", ""))
        else:
            raise ValueError(self.invalid)
        if abs(value) >= MAX_NUMBER:
            raise ValueError("This number is too large.")
        return abs(value) if value.is_zero() else value  # "-0" is stored as 0

    def places(self, value: Decimal) -> int:
        exponent = value.normalize().as_tuple().exponent
        return -exponent if isinstance(exponent, int) and exponent < 0 else 0

    def coerce(self, spec: FieldSpec, raw: Any, tz: dt.tzinfo) -> Any:
        value = self.parse(spec, raw)
        if value is None:
            return None
        if self.places(value) > self.max_places:
            raise ValueError(f"Use at most {self.max_places} decimal places.")
        return self.finish(value)

    def finish(self, value: Decimal) -> int | Decimal:
        return value

    def load_bound(self, spec: FieldSpec, raw: Any) -> Any:
        return self.coerce(spec, raw, dt.UTC)

    def to_json(self, value: Any) -> Any:
        return format(value, "f") if isinstance(value, Decimal) else value

    def render_kw(self, spec: FieldSpec) -> dict[str, Any]:
        return {**super().render_kw(spec), "inputmode": self.inputmode}


@register
class Integer(_Number):
    name = "integer"
    title = "whole number"
    invalid = "Enter a whole number."
    inputmode = "numeric"

    def coerce(self, spec: FieldSpec, raw: Any, tz: dt.tzinfo) -> Any:
        value = self.parse(spec, raw)
        if value is None:
            return None
        if value != value.to_integral_value():
            raise ValueError(self.invalid)
        return int(value)


@register
class DecimalType(_Number):
    name = "decimal"
    title = "decimal number"


@register
class Currency(_Number):
    name = "currency"
    title = "amount"
    key_base = "amount"
    starter_properties = {"currency": "EUR"}
    properties = _Number.properties | {"currency"}
    required_properties = frozenset({"currency"})
    invalid = "Enter an amount, like 1,234.56."
    max_places = 2
    _cents = Decimal("0.01")

    def strip_text(self, spec: FieldSpec, text: str) -> str:
        code = (spec.currency or "").upper()
        upper = text.upper()
        if code and upper.startswith(code):
            text = text[len(code):].strip()
        elif code and upper.endswith(code):
            text = text[: -len(code)].strip()
        sign = ""
        if text and text[0] in "+-":
            sign, text = text[0], text[1:].strip()
        text = text.strip(_CURRENCY_SYMBOLS).strip()
        return sign + text

    def finish(self, value: Decimal) -> int | Decimal:
        return value.quantize(self._cents)

    def show(self, value: Any) -> str:
        if isinstance(value, Decimal):
            return fmt_number(value.quantize(self._cents))
        return super().show(value)


# --- dates -------------------------------------------------------------------------------------


@register
class DateType(FieldType):
    name = "date"
    title = "date"
    family = "date"
    properties = frozenset({"default", "min", "max"})
    key_base = "date"
    editors = _editors(
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
    editors = _editors(EditableProperty("default", "datetime", "Pre-filled date and time (UTC)"))
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


# --- choices -----------------------------------------------------------------------------------


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
    editors = _editors(EditableProperty("default", "choice", "Pre-selected option", choices_from="options",
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
    editors = _editors(EditableProperty("default", "choices", "Pre-selected options", choices_from="options"))

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
    editors = _editors(EditableProperty("default", "choice", "Pre-selected answer", blank="(none)",
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


# --- files -------------------------------------------------------------------------------------

_FILE_REF_KEYS = ("id", "name", "size", "content_type")
_TEXT_TYPES = frozenset({"text/plain", "text/csv"})
_INVALID_REF = "This attachment reference is not valid; attach the file again."


def _file_ref(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ValueError(_INVALID_REF)
    ref_id, name, size, ctype = (raw.get(k) for k in _FILE_REF_KEYS)
    ok = (
        isinstance(ref_id, str | int)
        and not isinstance(ref_id, bool)
        and str(ref_id) != ""
        and isinstance(name, str)
        and 0 < len(name) <= 255
        and isinstance(size, int)
        and not isinstance(size, bool)
        and size >= 0
        and isinstance(ctype, str)
        and 0 < len(ctype) <= 255
    )
    if not ok:
        raise ValueError(_INVALID_REF)
    return {"id": ref_id, "name": name, "size": size, "content_type": ctype}


def file_type_allowed(spec: FieldSpec, content_type: str) -> bool:
    """Whether a (sniffed) content type fits the field's allowed types (all known types if none set)."""
    if content_type not in KNOWN_FILE_TYPES:
        return False
    allowed = set(spec.allowed_types) or set(KNOWN_FILE_TYPES)
    if content_type in allowed:
        return True
    if content_type in _TEXT_TYPES and allowed & _TEXT_TYPES:
        return True  # content cannot tell CSV from plain text; both are inert text
    zip_based = KNOWN_FILE_TYPES[content_type].zip_based
    return zip_based and "application/zip" in allowed


@register
class FileType(FieldType):
    name = "file"
    title = "file upload"
    family = "file"
    key_base = "attachment"
    properties = frozenset({"allowed_types", "max_size", "max_count"})
    in_groups = False
    required_message = "Attach a file."
    default_max_count: ClassVar[int] = 1

    def empty_value(self) -> Any:
        return []

    def coerce(self, spec: FieldSpec, raw: Any, tz: dt.tzinfo) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return []
        items = [raw] if isinstance(raw, Mapping) else raw
        if not isinstance(items, list | tuple):
            raise ValueError(_INVALID_REF)
        if len(items) > 100:
            raise ValueError("Too many files.")
        return [_file_ref(item) for item in items]

    def max_count(self, spec: FieldSpec) -> int:
        return spec.max_count if spec.max_count is not None else self.default_max_count

    def check_value(self, spec: FieldSpec, value: Any) -> list[str]:
        messages: list[str] = []
        limit = self.max_count(spec)
        if len(value) > limit:
            messages.append("Attach only one file." if limit == 1 else f"Attach at most {limit} files.")
        for ref in value:
            if spec.max_size is not None and ref["size"] > spec.max_size:
                messages.append(f"“{ref['name']}” is larger than {human_size(spec.max_size)}.")
            if not file_type_allowed(spec, ref["content_type"]):
                messages.append(f"“{ref['name']}” is not an allowed type of file ({allowed_labels(spec)}).")
        return messages

    def to_json(self, value: Any) -> Any:
        return [dict(ref) for ref in value] if isinstance(value, list | tuple) else value

    def wtf_field(self, spec: FieldSpec, kw: dict[str, Any], subform: Callable[[FieldSpec], type]) -> UnboundField:
        if self.max_count(spec) > 1:
            return wtf_fields.MultipleFileField(**kw)
        return wtf_fields.FileField(**kw)

    def render_kw(self, spec: FieldSpec) -> dict[str, Any]:
        return {"accept": ",".join(spec.allowed_types)} if spec.allowed_types else {}


def allowed_labels(spec: FieldSpec) -> str:
    """ "allowed: PDF, PNG image" for messages."""
    types = spec.allowed_types or tuple(KNOWN_FILE_TYPES)
    return "allowed: " + ", ".join(KNOWN_FILE_TYPES[t].label for t in types if t in KNOWN_FILE_TYPES)


# --- structure ---------------------------------------------------------------------------------


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
    editors = _editors(
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
    editors = _editors(EditableProperty("label", "text", "Title (optional)", "Shown in bold above the text."))

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
