"""Facts into the one event a compiled ruleset reads: normalized to their family, then encoded for the engine.

Both evaluators read facts through ``normalize``, so a malformed fact fails both the same way; the
encoding avoids what the engine compares wrongly (long strings, exponents, inexact numbers).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from forms.conditions import coerce_value, is_empty
from rules.errors import EngineError
from rules.exact_numbers import EPOCH, MAX_SAFE_INT, MICRO, number_key, post_decimal, post_micros, stand_in

__all__ = [
    "MAX_POSTED_STRING_BYTES",
    "FactEncoder",
    "FactSlot",
    "fold",
    "normalize",
    "normalize_facts",
]

MAX_POSTED_STRING_BYTES = 60_000
"""Longer strings are compared wrongly by the engine (by length modulo 65536); they get a stand-in."""


def fold(value: Any) -> str:
    return str(value).strip().casefold()


def _posted_string(text: str) -> str:
    """The string to post: a value too long for the engine's string compare gets a stand-in that equals
    no constant (constants never hold NUL), which is exactly how such a value compares."""
    if len(text) * 6 <= MAX_POSTED_STRING_BYTES:
        return text
    if len(json.dumps(text, ensure_ascii=False).encode("utf-8")) - 2 <= MAX_POSTED_STRING_BYTES:
        return text
    return "\u0000long:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class FactSlot:
    """How one fact key is posted: its property, and what its family's encoding needs."""

    key: str
    family: str
    prop: str
    numbers: tuple[Decimal, ...] = ()
    """Sorted number constants of the rules on this key (for exact stand-ins)."""
    probes: tuple[tuple[str, str], ...] = ()
    """(probe id, folded needle) of the text ``contains`` tests on this key."""
    probe_prop: str | None = None

    def encode(self, value: Any, event: dict[str, Any], ruleset: str) -> None:
        """Add the posted form of a (normalized, non-empty) fact value to the event."""
        _ENCODERS[self.family](self, value, event, ruleset)

    def number(self, posted: int | float | None, value: Any, event: dict[str, Any], ruleset: str) -> None:
        if posted is None:
            posted = stand_in(self.family, number_key(self.family, value), self.numbers)
            if posted is None:
                raise EngineError(f"The value of {self.key!r} cannot be compared exactly by the rules engine.",
                                  ruleset=ruleset)
        event[self.prop] = posted


def _encode_text(slot: FactSlot, value: Any, event: dict[str, Any], ruleset: str) -> None:
    folded = fold(value)
    if not folded:
        return
    event[slot.prop] = _posted_string(folded)
    if slot.probe_prop is not None:
        found = [pid for pid, needle in slot.probes if needle in folded]
        if found:
            event[slot.probe_prop] = found


def _encode_number(slot: FactSlot, value: Any, event: dict[str, Any], ruleset: str) -> None:
    if type(value) is int and -MAX_SAFE_INT < value < MAX_SAFE_INT:
        event[slot.prop] = value
        return
    slot.number(post_decimal(value if isinstance(value, Decimal) else Decimal(value)), value, event, ruleset)


def _encode_datetime(slot: FactSlot, value: Any, event: dict[str, Any], ruleset: str) -> None:
    slot.number(post_micros((value - EPOCH) // MICRO), value, event, ruleset)


Encoder = Callable[[FactSlot, Any, dict[str, Any], str], None]
_ENCODERS: Mapping[str, Encoder] = MappingProxyType(
    {
        "text": _encode_text,
        "number": _encode_number,
        "date": lambda slot, value, event, ruleset: event.__setitem__(slot.prop, value.toordinal()),
        "datetime": _encode_datetime,
        "choice": lambda slot, value, event, ruleset: event.__setitem__(slot.prop, _posted_string(str(value))),
        "multi": lambda slot, value, event, ruleset: event.__setitem__(
            slot.prop, [_posted_string(str(item)) for item in value]),
        "bool": lambda slot, value, event, ruleset: event.__setitem__(slot.prop, bool(value)),
        # file and group: only emptiness is ever tested
        "file": lambda slot, value, event, ruleset: event.__setitem__(slot.prop, 1),
        "group": lambda slot, value, event, ruleset: event.__setitem__(slot.prop, 1),
    }
)
"""Family -> how a normalized, non-empty value goes into the event."""


def _is_str(value: Any) -> bool:
    return type(value) is str


_ALREADY_NORMAL: Mapping[str, Callable[[Any], bool]] = MappingProxyType(
    {
        "text": _is_str,
        "choice": _is_str,
        "number": lambda v: type(v) is int or (type(v) is Decimal and v.is_finite()),
        "date": lambda v: type(v) is dt.date,
        "datetime": lambda v: type(v) is dt.datetime and v.utcoffset() is not None,
        "bool": lambda v: type(v) is bool,
        "multi": lambda v: type(v) is list and all(type(item) is str for item in v),
        "file": lambda v: type(v) is list,
        "group": lambda v: type(v) is list,
    }
)
"""Values already of their family's python type, which coerce_value would return unchanged."""


def normalize(key: str, family: str, raw: Any) -> Any:
    """A fact as the python type of its family, or None when empty (the contract's emptiness).

    Both evaluators read facts through this, so a malformed fact fails both the same way.
    """
    if raw is None:
        return None
    if _ALREADY_NORMAL[family](raw):
        if isinstance(raw, str):
            return raw if raw.strip() else None
        if isinstance(raw, list):
            return raw or None
        return raw
    if is_empty(raw):
        return None
    try:
        value = coerce_value(family, raw)
    except ValueError as exc:
        raise EngineError(f"The fact {key!r} is not a valid {family} value: {exc}") from None
    return None if is_empty(value) else value


def normalize_facts(families: Mapping[str, str], facts: Mapping[str, Any]) -> dict[str, Any]:
    """Only the facts the ruleset reads, normalized; empty ones left out."""
    out: dict[str, Any] = {}
    for key, family in families.items():
        if key in facts:
            value = normalize(key, family, facts[key])
            if value is not None:
                out[key] = value
    return out


@dataclass(frozen=True)
class FactEncoder:
    """Turns a trigger and a case's facts into the single event the compiled ruleset reads."""

    ruleset: str
    slots: tuple[FactSlot, ...]

    def encode(self, trigger: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        """The event (without ``sid``/``id``, which the engine adds) for already normalized facts."""
        event: dict[str, Any] = {"trigger": trigger, "_b": 0}
        for slot in self.slots:
            value = facts.get(slot.key)
            if value is not None:
                slot.encode(value, event, self.ruleset)
        return event

    def event(self, trigger: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        """The event for raw facts: normalized and encoded in one pass (what the durable evaluator posts)."""
        event: dict[str, Any] = {"trigger": trigger, "_b": 0}
        for slot in self.slots:
            raw = facts.get(slot.key)
            if raw is not None:
                value = normalize(slot.key, slot.family, raw)
                if value is not None:
                    slot.encode(value, event, self.ruleset)
        return event
