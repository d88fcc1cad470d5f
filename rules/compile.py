"""Compile a validated ruleset to a durable-rules ruleset, and encode a case's facts into the one event it reads.

The durable-rules JSON was derived by writing each construct with ``durable.lang`` and reading what
``.define()`` returns (``m.x == 1`` is ``{"x": 1}``, ``-m.x`` is ``{"$nex": {"x": 1}}``,
``m.tags.anyItem(item == "a")`` is ``{"$iany": {"tags": {"$i": "a"}}}``, ``pri(3)`` is ``"pri": 3``).

Shape of a compiled ruleset, and why (each limit was measured on durable_rules 2.0.28):

* Every condition is brought to disjunctive normal form (rules.logic); each alternative becomes one
  engine rule ``{"all": [{"m": {"$and": [trigger test, bucket test, literal tests...]}}], "pri": p}``
  whose action records the Casework rule id. The alternatives of one rule share its ``pri``; ``pri``
  is the rule's rank by priority (the engine stores it as an unsigned short) so the lowest priority
  number wins, as in Casework. Literals that need ``$or`` (``neq`` is "absent or different") are
  mutually exclusive alternatives on one property.
* The trigger test comes first in every alternative: a conjunction made only of ``$nex`` tests makes the
  engine loop forever.
* At most 15 ``$and``/``$or`` groups per engine rule (error 113 otherwise).
* The engine walks matching tests with a stack of about 64 entries (error 303 when more alternatives
  match one event at once), and one test may have at most 512 follow-ups (registration hangs beyond).
  So each trigger's alternatives are split into buckets of 16 behind an always-true test on the
  event's ``_b`` property (``{"$neq": {"_b": k}}``, ``_b`` is posted as 0).
* A catch-all rule with the lowest precedence handles every event, so no event is left unhandled.
* Values are coerced to their family before posting: text as ``strip().casefold()``, dates as
  ordinals, datetimes as epoch seconds, numbers as int or float, empty values omitted (``$ex``/``$nex``
  then say emptiness exactly as the contract does). The engine compares strings and numbers as text,
  cannot read numbers in exponent notation and compares strings longer than 65535 bytes by their
  length modulo 65536; the encoder avoids all three (see :meth:`FactSlot.encode`).
* Text ``contains`` is not done with the engine's ``$mt`` regular expressions: they answer wrongly for
  needles that overlap themselves (``.*bbb.*`` does not match "bbbbaa"). The encoder lists, per text
  property, which of the ruleset's needles occur in the value; rules test that list with ``$iany``.
* At most 254 properties per event (error 302): only the properties the rules read are posted.
* Numbers written in rules keep to 12 significant digits, 0 or a size from 0.001 to 10^15, and dates
  and times to 1834-2106, so every fact compares with them exactly (see the numbers section below).
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from forms.conditions import Clause, coerce_value, is_empty
from rules.errors import EngineError, RuleInvalid, RuleProblem
from rules.logic import Conjunction, TooComplex, to_dnf
from rules.model import TRIGGERS, Rule, RuleSet

MAX_ALTERNATIVES = 32
"""Alternatives (ANDs of the normal form) one rule may compile to."""
MAX_GROUPS = 15
"""``$and``/``$or`` groups one engine rule may hold."""
BUCKET_SIZE = 16
MAX_BRANCHES_PER_TRIGGER = 384
MAX_EVENT_PROPERTIES = 254
MAX_CONSTANT_CHARS = 1000
MAX_POSTED_STRING_BYTES = 60_000
CATCH_ALL_PRI = 65535
CATCH_ALL_ACTION = "casework:no-rule"
RESERVED_PROPERTIES = ("sid", "id", "trigger", "_b")

_SLUG_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAX_SAFE_INT = 2**53
_SMALLEST = 0.0001
_LARGEST = 1e15
_SMALLEST_CONSTANT = Decimal("0.001")
_LARGEST_CONSTANT = Decimal(10) ** 15
_CONSTANT_DIGITS = 12
_DATETIME_MICROS = 2**32 * 10**6
_MICRO = dt.timedelta(microseconds=1)


# --- numbers -----------------------------------------------------------------------------------------
#
# The engine compares numbers as C doubles read from JSON text, and cannot read exponents. A number is
# posted as itself when that is exact; otherwise as a *stand-in* that compares with every constant of
# the ruleset exactly as the number does. Constants are kept coarse enough (12 significant digits, 0 or
# at least 0.001, below 10^15) that a stand-in always exists between two of them.


def _post_decimal(number: Decimal) -> int | float | None:
    """The exact JSON number for a decimal, or None when a double cannot carry it exactly.

    A decimal that is the shortest text of its double (and that text has no exponent) is exact: all such
    decimals map to distinct doubles in the same order, so every comparison with a constant is kept.
    """
    if number.is_zero():
        return 0
    value = float(number)
    if not _SMALLEST <= abs(value) < _LARGEST:
        if abs(value) >= _LARGEST and number == number.to_integral_value() and abs(number) < _MAX_SAFE_INT:
            return int(number)
        return None
    if value.is_integer():
        return int(value) if number == int(value) else None
    return value if Decimal(repr(value)) == number else None


def _post_micros(micros: int) -> int | float | None:
    """Epoch seconds of a microsecond instant: exact (distinct, ordered doubles) until 2106."""
    if abs(micros) >= _DATETIME_MICROS:
        return None
    seconds, rest = divmod(micros, 10**6)
    return seconds if rest == 0 else micros / 10**6


def _post_number(family: str, number: Decimal) -> int | float | None:
    """Exact posted form of a number, ordinal or epoch-seconds value given as a Decimal, or None."""
    if family == "date":
        return int(number)
    if family == "datetime":
        return _post_micros(int(number.scaleb(6)))
    return _post_decimal(number)


def _digits(number: Decimal) -> int:
    return len(number.normalize().as_tuple().digits)


def _constant_problem(family: str, number: Decimal) -> str | None:
    if family == "date":
        return None
    if family == "datetime":
        exact = _post_number(family, number) is not None
        return None if exact else "dates and times in rules must lie between 1834 and 2106"
    if number.is_zero() or (_SMALLEST_CONSTANT <= abs(number) < _LARGEST_CONSTANT
                            and _digits(number) <= _CONSTANT_DIGITS):
        return None
    return (f"numbers in rules need at most {_CONSTANT_DIGITS} significant digits and must be 0 or between "
            "0.001 and 10^15 in size")


def _round15(number: Decimal) -> Decimal:
    try:
        return number.quantize(Decimal(1).scaleb(number.adjusted() - 14))
    except InvalidOperation:
        return number


def _number_key(family: str, value: Any) -> Decimal:
    """The exact comparable number of a number, date (ordinal) or datetime (epoch seconds)."""
    if family == "date":
        return Decimal(value.toordinal())
    if family == "datetime":
        return Decimal((value - _EPOCH) // _MICRO).scaleb(-6)
    return value if isinstance(value, Decimal) else Decimal(int(value))


def _stand_in(family: str, number: Decimal, constants: tuple[Decimal, ...]) -> int | float | None:
    """An exactly posted number that compares with every constant as ``number`` does (None if none exists)."""
    i = bisect.bisect_left(constants, number)
    if i < len(constants) and constants[i] == number:
        return _post_number(family, number)
    low = constants[i - 1] if i > 0 else None
    high = constants[i] if i < len(constants) else None
    candidates = [_round15(number)]
    if low is not None and high is not None:
        candidates.append(_round15((low + high) / 2))
    elif low is not None:
        candidates.append(low.to_integral_value(rounding="ROUND_FLOOR") + 1)
    elif high is not None:
        candidates.append(high.to_integral_value(rounding="ROUND_CEILING") - 1)
    else:
        candidates.append(Decimal(0))
    for candidate in candidates:
        if (low is None or candidate > low) and (high is None or candidate < high):
            posted = _post_number(family, candidate)
            if posted is not None:
                return posted
    return None


# --- the fact encoder ------------------------------------------------------------------------------


def _fold(value: Any) -> str:
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
            posted = _stand_in(self.family, _number_key(self.family, value), self.numbers)
            if posted is None:
                raise EngineError(f"The value of {self.key!r} cannot be compared exactly by the rules engine.",
                                  ruleset=ruleset)
        event[self.prop] = posted


def _encode_text(slot: FactSlot, value: Any, event: dict[str, Any], ruleset: str) -> None:
    folded = _fold(value)
    if not folded:
        return
    event[slot.prop] = _posted_string(folded)
    if slot.probe_prop is not None:
        found = [pid for pid, needle in slot.probes if needle in folded]
        if found:
            event[slot.probe_prop] = found


def _encode_number(slot: FactSlot, value: Any, event: dict[str, Any], ruleset: str) -> None:
    if type(value) is int and -_MAX_SAFE_INT < value < _MAX_SAFE_INT:
        event[slot.prop] = value
        return
    slot.number(_post_decimal(value if isinstance(value, Decimal) else Decimal(value)), value, event, ruleset)


def _encode_datetime(slot: FactSlot, value: Any, event: dict[str, Any], ruleset: str) -> None:
    slot.number(_post_micros((value - _EPOCH) // _MICRO), value, event, ruleset)


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


# --- rendering literals --------------------------------------------------------------------------


class _BadConstant(Exception):
    """A value in a condition the engine cannot compare exactly."""


@dataclass
class _SlotDraft:
    key: str
    family: str
    prop: str
    numbers: set[Decimal] = field(default_factory=set)
    probes: dict[str, str] = field(default_factory=dict)  # folded needle -> probe id
    probe_prop: str | None = None

    def constant(self, value: Any) -> Any:
        family = self.family
        if family in ("number", "date", "datetime"):
            number = _number_key(family, value)
            problem = _constant_problem(family, number)
            if problem is not None:
                raise _BadConstant(f"The value {value} in the test of {self.key!r} cannot be compared exactly by "
                                   f"the rules engine: {problem}.")
            self.numbers.add(number)
            return _post_number(family, number)
        text = _fold(value) if family == "text" else str(value)
        if len(text) > MAX_CONSTANT_CHARS or "\u0000" in text:
            raise _BadConstant(f"The text compared with {self.key!r} is too long (at most "
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


LeafRenderer = Callable[[Clause, _SlotDraft], tuple[Expr, Expr]]
"""(asserted, denied) expressions of a clause; the denied one holds for an empty value too."""


def _eq(clause: Clause, slot: _SlotDraft) -> tuple[Expr, Expr]:
    value = slot.constant(clause.value)
    return {slot.prop: value}, _any_of(_absent(slot.prop), {"$neq": {slot.prop: value}})


def _in(clause: Clause, slot: _SlotDraft) -> tuple[Expr, Expr]:
    values = _unique([slot.constant(v) for v in clause.value])
    asserted = _any_of(*({slot.prop: v} for v in values))
    denied = _any_of(_absent(slot.prop), _all_of(*({"$neq": {slot.prop: v}} for v in values)))
    return asserted, denied


def _contains(clause: Clause, slot: _SlotDraft) -> tuple[Expr, Expr]:
    if slot.family == "multi":
        prop, item = slot.prop, slot.constant(clause.value)
    else:
        item = slot.probe(clause.value)
        prop = slot.probe_prop or ""
    asserted = {"$iany": {prop: {"$i": item}}}
    return asserted, _any_of(_absent(prop), {"$iall": {prop: {"$neq": {"$i": item}}}})


def _compare(op: str, opposite: str) -> LeafRenderer:
    def render(clause: Clause, slot: _SlotDraft) -> tuple[Expr, Expr]:
        value = slot.constant(clause.value)
        return {op: {slot.prop: value}}, _any_of(_absent(slot.prop), {opposite: {slot.prop: value}})

    return render


def _between(clause: Clause, slot: _SlotDraft) -> tuple[Expr, Expr]:
    low, high = (slot.constant(v) for v in clause.value)
    asserted = _all_of({"$gte": {slot.prop: low}}, {"$lte": {slot.prop: high}})
    return asserted, _any_of(_absent(slot.prop), {"$lt": {slot.prop: low}}, {"$gt": {slot.prop: high}})


def _empty(clause: Clause, slot: _SlotDraft) -> tuple[Expr, Expr]:
    return _absent(slot.prop), {"$ex": {slot.prop: 1}}


def _flag(expected: bool) -> LeafRenderer:
    def render(clause: Clause, slot: _SlotDraft) -> tuple[Expr, Expr]:
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


def _groups(expr: Any) -> int:
    if isinstance(expr, dict):
        return sum((1 if key in ("$and", "$or") else 0) + _groups(value) for key, value in expr.items())
    if isinstance(expr, list):
        return sum(_groups(item) for item in expr)
    return 0


def fnv1a_32(name: str) -> int:
    """The engine's property-name hash; two names with one hash would be mistaken for each other."""
    value = 2166136261
    for byte in name.encode("utf-8"):
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value


class _Properties:
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


# --- the compiled ruleset --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CompiledRuleset:
    """A ruleset ready for both evaluators: the durable-rules definition plus how to encode facts."""

    name: str
    case_type: str
    version: int | None
    ruleset: RuleSet
    definition: Mapping[str, Any]
    """The durable-rules JSON (engine rule name -> rule); never mutated, the engine gets a deep copy."""
    fingerprint: str
    """SHA-256 of the canonical definition: one name must never stand for two definitions."""
    encoder: FactEncoder
    actions: Mapping[str, str | None]
    """Engine action name -> Casework rule id (None for the catch-all)."""

    @property
    def families(self) -> Mapping[str, str]:
        """Fact key -> family of every fact the rules read."""
        return self.ruleset.families

    def to_json(self) -> dict[str, Any]:
        """The durable-rules ruleset as registered: ``{name: definition}``."""
        return {self.name: json.loads(json.dumps(dict(self.definition)))}


@dataclass
class _Plan:
    definition: dict[str, Any]
    encoder_slots: tuple[FactSlot, ...]
    actions: dict[str, str | None]


def _render_rule(rule: Rule, slots: dict[str, _SlotDraft], props: _Properties,
                 families: Mapping[str, str], problems: list[RuleProblem]) -> list[list[Expr]] | None:
    """The literal tests of each alternative of an enabled rule (None when it cannot compile)."""
    where = f"{rule.path}.condition"
    try:
        alternatives = to_dnf(rule.parsed, MAX_ALTERNATIVES)
    except TooComplex:
        problems.append(RuleProblem(where, f"This condition is too complex for the rules engine: written out it has "
                                           f"more than {MAX_ALTERNATIVES} alternatives. Split the rule in two or "
                                           "simplify its 'any' groups."))
        return None
    rendered: list[list[Expr]] = []
    for conjunction in alternatives:
        tests = _render_conjunction(conjunction, slots, props, families, where, problems)
        if tests is None:
            return None
        groups = 1 + _groups(tests)
        if groups > MAX_GROUPS:
            problems.append(RuleProblem(where, f"This condition is too complex for the rules engine: one of its "
                                               f"alternatives needs {groups} groups of tests (at most "
                                               f"{MAX_GROUPS}). Split the rule or use fewer 'not', 'is not' "
                                               "and 'is not one of' tests."))
            return None
        rendered.append(tests)
    return rendered


def _render_conjunction(conjunction: Conjunction, slots: dict[str, _SlotDraft], props: _Properties,
                        families: Mapping[str, str], where: str, problems: list[RuleProblem]) -> list[Expr] | None:
    tests: list[Expr] = []
    for literal in conjunction:
        clause = literal.clause
        slot = slots.get(clause.field)
        if slot is None:
            family = families[clause.field]
            slot = slots[clause.field] = _SlotDraft(clause.field, family, props.name("v_", clause.field))
        if clause.op == "contains" and slot.family == "text" and slot.probe_prop is None:
            slot.probe_prop = props.name("p_", clause.field)
        try:
            asserted, denied = LEAVES[clause.op](clause, slot)
        except _BadConstant as exc:
            problems.append(RuleProblem(where, str(exc)))
            return None
        test = asserted if literal.positive else denied
        # a nested $and adds nothing but a group: flatten it into the alternative's own $and
        tests.extend(test.get("$and", [test]))
    return tests


def _plan(ruleset: RuleSet) -> tuple[_Plan | None, list[RuleProblem]]:
    problems: list[RuleProblem] = []
    props = _Properties()
    slots: dict[str, _SlotDraft] = {}
    definition: dict[str, Any] = {}
    actions: dict[str, str | None] = {CATCH_ALL_ACTION: None}
    bucket_id = 0
    for trigger in TRIGGERS:
        rules = ruleset.for_trigger(trigger)
        branches: list[tuple[int, Rule, int, list[Expr]]] = []
        for rank, rule in enumerate(rules, start=1):
            rendered = _render_rule(rule, slots, props, ruleset.families, problems)
            for k, tests in enumerate(rendered or ()):
                branches.append((rank, rule, k, tests))
        if len(branches) > MAX_BRANCHES_PER_TRIGGER:
            problems.append(RuleProblem("rules", f"The rules for {trigger} compile to {len(branches)} alternatives; "
                                                 f"the rules engine takes at most {MAX_BRANCHES_PER_TRIGGER} per "
                                                 "trigger. Use fewer rules or fewer 'any' groups."))
            continue
        for start in range(0, len(branches), BUCKET_SIZE):
            bucket_id += 1
            for rank, rule, k, tests in branches[start:start + BUCKET_SIZE]:
                action = f"casework:{rule.index}"
                actions[action] = rule.id
                definition[f"r{rule.index}_{k}"] = {
                    "all": [{"m": {"$and": [{"trigger": trigger}, {"$neq": {"_b": bucket_id}}, *tests]}}],
                    "pri": rank,
                    "run": action,
                }
    definition["catch_all"] = {"all": [{"m": {"$ex": {"trigger": 1}}}], "pri": CATCH_ALL_PRI,
                               "run": CATCH_ALL_ACTION}
    frozen = tuple(slot.freeze() for slot in slots.values())
    posted = len(RESERVED_PROPERTIES) + len(frozen) + sum(1 for s in frozen if s.probe_prop)
    if posted > MAX_EVENT_PROPERTIES:
        problems.append(RuleProblem("rules", f"These rules read {posted - len(RESERVED_PROPERTIES)} facts; the rules "
                                             f"engine takes at most {MAX_EVENT_PROPERTIES - len(RESERVED_PROPERTIES)} "
                                             "in one evaluation. Test fewer fields."))
    if problems:
        return None, problems
    return _Plan(definition, frozen, actions), []


def engine_problems(ruleset: RuleSet) -> list[RuleProblem]:
    """What in a (semantically valid) ruleset the engine cannot take, with paths; empty when it compiles."""
    return _plan(ruleset)[1]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _compile(ruleset: RuleSet, case_type: str, version: int | None, name: str | None) -> CompiledRuleset:
    if not _SLUG_RE.fullmatch(case_type):
        raise RuleInvalid([("", f"{case_type!r} is not a case-type slug (lower-case letters, digits, - and _).")])
    plan, problems = _plan(ruleset)
    if plan is None:
        raise RuleInvalid(problems)
    fingerprint = hashlib.sha256(_canonical(plan.definition).encode("utf-8")).hexdigest()
    full_name = name or f"{case_type}@draft-{fingerprint[:16]}"
    return CompiledRuleset(
        name=full_name,
        case_type=case_type,
        version=version,
        ruleset=ruleset,
        definition=MappingProxyType(plan.definition),
        fingerprint=fingerprint,
        encoder=FactEncoder(full_name, plan.encoder_slots),
        actions=MappingProxyType(plan.actions),
    )


def compile_ruleset(ruleset: RuleSet, *, case_type: str, version: int) -> CompiledRuleset:
    """Compile a published ruleset as ``<case-type>@v<N>``; raises RuleInvalid when the engine cannot take it."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RuleInvalid([("", f"A published version is a number from 1 up, not {version!r}.")])
    return _compile(ruleset, case_type, version, f"{case_type}@v{version}")


def compile_draft(ruleset: RuleSet, *, case_type: str = "scratch") -> CompiledRuleset:
    """Compile a draft under a scratch name unique to its content (``<case-type>@draft-<hash>``)."""
    return _compile(ruleset, case_type, None, None)


_drafts: OrderedDict[str, CompiledRuleset] = OrderedDict()
_drafts_lock = threading.Lock()
MAX_CACHED_DRAFTS = 32


def as_compiled(ruleset: CompiledRuleset | RuleSet) -> CompiledRuleset:
    """Evaluators take either; a bare ruleset is compiled as a draft (and kept for its next evaluation)."""
    if isinstance(ruleset, CompiledRuleset):
        return ruleset
    key = ruleset.fingerprint() + _canonical(dict(ruleset.families))
    with _drafts_lock:
        cached = _drafts.get(key)
        if cached is not None:
            _drafts.move_to_end(key)
            return cached
    compiled = compile_draft(ruleset)
    with _drafts_lock:
        _drafts[key] = compiled
        while len(_drafts) > MAX_CACHED_DRAFTS:
            _drafts.popitem(last=False)
    return compiled


__all__ = [
    "CATCH_ALL_ACTION",
    "CompiledRuleset",
    "FactEncoder",
    "FactSlot",
    "as_compiled",
    "compile_draft",
    "compile_ruleset",
    "engine_problems",
    "normalize",
    "normalize_facts",
]
