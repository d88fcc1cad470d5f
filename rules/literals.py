"""Clauses into durable-rules tests: each positive operator renders an asserted and a denied expression.

Constants are checked here (the engine must compare them exactly), text ``contains`` needles become
probes the fact encoder fills in, and fact keys get short property names whose hashes never collide.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from forms.conditions import Clause
from rules.exact_numbers import constant_problem, number_key, post_number
from rules.facts import FactSlot, fold

__all__ = [
    "LEAVES",
    "MAX_CONSTANT_CHARS",
    "RESERVED_PROPERTIES",
    "BadConstant",
    "Expr",
    "LeafRenderer",
    "PropertyNames",
    "SlotDraft",
    "count_groups",
    "fnv1a_32",
]

MAX_CONSTANT_CHARS = 1000
RESERVED_PROPERTIES = ("sid", "id", "trigger", "_b")
"""Event properties the engine or the compiled rules use themselves."""


class BadConstant(Exception):
    """A value in a condition the engine cannot compare exactly."""


@dataclass
class SlotDraft:
    key: str
    family: str
    prop: str
    numbers: set[Decimal] = field(default_factory=set)
    probes: dict[str, str] = field(default_factory=dict)  # folded needle -> probe id
    probe_prop: str | None = None

    def constant(self, value: Any) -> Any:
        family = self.family
        if family in ("number", "date", "datetime"):
            number = number_key(family, value)
            problem = constant_problem(family, number)
            if problem is not None:
                raise BadConstant(f"The value {value} in the test of {self.key!r} cannot be compared exactly by "
                                   f"the rules engine: {problem}.")
            self.numbers.add(number)
            return post_number(family, number)
        text = fold(value) if family == "text" else str(value)
        if len(text) > MAX_CONSTANT_CHARS or "\u0000" in text:
            raise BadConstant(f"The text compared with {self.key!r} is too long (at most "
                               f"{MAX_CONSTANT_CHARS} characters) or holds a NUL character.")
        return text

    def probe(self, needle: Any) -> str:
        folded = self.constant(needle)
        if folded not in self.probes:
            self.probes[folded] = f"c{len(self.probes)}"
        return self.probes[folded]

    def freeze(self) -> FactSlot:
        probes = tuple((pid, needle) for needle, pid in self.probes.items())
        return FactSlot(self.key, self.family, self.prop, tuple(sorted(self.numbers)), probes,
                        self.probe_prop if probes else None)


Expr = dict[str, Any]


def _absent(prop: str) -> Expr:
    return {"$nex": {prop: 1}}


def _any_of(*exprs: Expr) -> Expr:
    return exprs[0] if len(exprs) == 1 else {"$or": list(exprs)}


def _all_of(*exprs: Expr) -> Expr:
    return exprs[0] if len(exprs) == 1 else {"$and": list(exprs)}


def _unique(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


LeafRenderer = Callable[[Clause, SlotDraft], tuple[Expr, Expr]]
"""(asserted, denied) expressions of a clause; the denied one holds for an empty value too."""


def _eq(clause: Clause, slot: SlotDraft) -> tuple[Expr, Expr]:
    value = slot.constant(clause.value)
    return {slot.prop: value}, _any_of(_absent(slot.prop), {"$neq": {slot.prop: value}})


def _in(clause: Clause, slot: SlotDraft) -> tuple[Expr, Expr]:
    values = _unique([slot.constant(v) for v in clause.value])
    asserted = _any_of(*({slot.prop: v} for v in values))
    denied = _any_of(_absent(slot.prop), _all_of(*({"$neq": {slot.prop: v}} for v in values)))
    return asserted, denied


def _contains(clause: Clause, slot: SlotDraft) -> tuple[Expr, Expr]:
    if slot.family == "multi":
        prop, item = slot.prop, slot.constant(clause.value)
    else:
        item = slot.probe(clause.value)
        prop = slot.probe_prop or ""
    asserted = {"$iany": {prop: {"$i": item}}}
    return asserted, _any_of(_absent(prop), {"$iall": {prop: {"$neq": {"$i": item}}}})


def _compare(op: str, opposite: str) -> LeafRenderer:
    def render(clause: Clause, slot: SlotDraft) -> tuple[Expr, Expr]:
        value = slot.constant(clause.value)
        return {op: {slot.prop: value}}, _any_of(_absent(slot.prop), {opposite: {slot.prop: value}})

    return render


def _between(clause: Clause, slot: SlotDraft) -> tuple[Expr, Expr]:
    low, high = (slot.constant(v) for v in clause.value)
    asserted = _all_of({"$gte": {slot.prop: low}}, {"$lte": {slot.prop: high}})
    return asserted, _any_of(_absent(slot.prop), {"$lt": {slot.prop: low}}, {"$gt": {slot.prop: high}})


def _empty(clause: Clause, slot: SlotDraft) -> tuple[Expr, Expr]:
    return _absent(slot.prop), {"$ex": {slot.prop: 1}}


def _flag(expected: bool) -> LeafRenderer:
    def render(clause: Clause, slot: SlotDraft) -> tuple[Expr, Expr]:
        return {slot.prop: expected}, _any_of(_absent(slot.prop), {slot.prop: not expected})

    return render


LEAVES: Mapping[str, LeafRenderer] = MappingProxyType(
    {
        "eq": _eq,
        "in": _in,
        "contains": _contains,
        "gt": _compare("$gt", "$lte"),
        "gte": _compare("$gte", "$lt"),
        "lt": _compare("$lt", "$gte"),
        "lte": _compare("$lte", "$gt"),
        "after": _compare("$gt", "$lte"),
        "before": _compare("$lt", "$gte"),
        "between": _between,
        "empty": _empty,
        "is_true": _flag(True),
        "is_false": _flag(False),
    }
)
"""Positive operator -> renderer (negated operators are denied literals, see rules.logic)."""


def count_groups(expr: Any) -> int:
    if isinstance(expr, dict):
        return sum((1 if key in ("$and", "$or") else 0) + count_groups(value) for key, value in expr.items())
    if isinstance(expr, list):
        return sum(count_groups(item) for item in expr)
    return 0


def fnv1a_32(name: str) -> int:
    """The engine's property-name hash; two names with one hash would be mistaken for each other."""
    value = 2166136261
    for byte in name.encode("utf-8"):
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value


class PropertyNames:
    """Hands out short, distinct, hash-distinct property names for fact keys."""

    def __init__(self) -> None:
        self.names: set[str] = set(RESERVED_PROPERTIES)
        self.hashes: set[int] = {fnv1a_32(name) for name in RESERVED_PROPERTIES}

    def name(self, prefix: str, key: str) -> str:
        base = prefix + re.sub(r"[^A-Za-z0-9_]", "_", key)[:40]
        candidate, n = base, 1
        while candidate in self.names or fnv1a_32(candidate) in self.hashes:
            n += 1
            candidate = f"{base}_{n}"
        self.names.add(candidate)
        self.hashes.add(fnv1a_32(candidate))
        return candidate
