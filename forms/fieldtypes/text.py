"""Text field types: one line, several lines, and the checked kinds (e-mail, phone, web address)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import email_validator
from wtforms import fields as wtf_fields
from wtforms import widgets

from forms.fieldtypes.base import FieldType, fmt_number, register
from forms.fieldtypes.panel import EditableProperty, property_editors
from forms.patterns import browser_safe, full_match
from forms.text import has_content, text_problem

if TYPE_CHECKING:
    from wtforms.fields.core import UnboundField

    from forms.schema import FieldSpec

__all__ = ["Email", "LongText", "Phone", "ShortText", "Url"]

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
    editors = property_editors(EditableProperty("default", "multiline", "Pre-filled text"))
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
