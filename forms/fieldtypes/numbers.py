"""Number field types: whole numbers, decimals and amounts of money, read as people type them."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from forms.fieldtypes.base import FieldType, fmt_number, register
from forms.fieldtypes.panel import EditableProperty, property_editors

if TYPE_CHECKING:
    from forms.schema import FieldSpec

__all__ = ["MAX_NUMBER", "Currency", "DecimalType", "Integer"]

MAX_NUMBER = Decimal(10) ** 15
"""Bigger numbers are refused: nobody files a case about a quadrillion, and it bounds arithmetic."""

_GROUPED_RE = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+")
_CURRENCY_SYMBOLS = "$€£¥₹₩₺₽₪"


class _Number(FieldType):
    family = "number"
    properties = frozenset({"placeholder", "default", "min", "max"})
    key_base = "number"
    editors = property_editors(EditableProperty("default", "number", "Pre-filled value"))
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
