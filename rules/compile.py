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
  and times to 1834-2106, so every fact compares with them exactly (see rules.exact_numbers).

The parts: rules.facts encodes facts, rules.literals renders clauses, this module plans and names.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from rules.errors import RuleInvalid, RuleProblem
from rules.facts import FactEncoder, FactSlot
from rules.literals import LEAVES, RESERVED_PROPERTIES, BadConstant, Expr, PropertyNames, SlotDraft, count_groups
from rules.logic import Conjunction, TooComplex, to_dnf
from rules.model import TRIGGERS, Rule, RuleSet

__all__ = [
    "CATCH_ALL_ACTION",
    "CompiledRuleset",
    "as_compiled",
    "compile_draft",
    "compile_ruleset",
    "engine_problems",
]

MAX_ALTERNATIVES = 32
"""Alternatives (ANDs of the normal form) one rule may compile to."""
MAX_GROUPS = 15
"""``$and``/``$or`` groups one engine rule may hold."""
BUCKET_SIZE = 16
MAX_BRANCHES_PER_TRIGGER = 384
MAX_EVENT_PROPERTIES = 254
CATCH_ALL_PRI = 65535
CATCH_ALL_ACTION = "casework:no-rule"

_SLUG_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


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


def _render_rule(rule: Rule, slots: dict[str, SlotDraft], props: PropertyNames,
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
        groups = 1 + count_groups(tests)
        if groups > MAX_GROUPS:
            problems.append(RuleProblem(where, f"This condition is too complex for the rules engine: one of its "
                                               f"alternatives needs {groups} groups of tests (at most "
                                               f"{MAX_GROUPS}). Split the rule or use fewer 'not', 'is not' "
                                               "and 'is not one of' tests."))
            return None
        rendered.append(tests)
    return rendered


def _render_conjunction(conjunction: Conjunction, slots: dict[str, SlotDraft], props: PropertyNames,
                        families: Mapping[str, str], where: str, problems: list[RuleProblem]) -> list[Expr] | None:
    tests: list[Expr] = []
    for literal in conjunction:
        clause = literal.clause
        slot = slots.get(clause.field)
        if slot is None:
            family = families[clause.field]
            slot = slots[clause.field] = SlotDraft(clause.field, family, props.name("v_", clause.field))
        if clause.op == "contains" and slot.family == "text" and slot.probe_prop is None:
            slot.probe_prop = props.name("p_", clause.field)
        try:
            asserted, denied = LEAVES[clause.op](clause, slot)
        except BadConstant as exc:
            problems.append(RuleProblem(where, str(exc)))
            return None
        test = asserted if literal.positive else denied
        # a nested $and adds nothing but a group: flatten it into the alternative's own $and
        tests.extend(test.get("$and", [test]))
    return tests


def _plan(ruleset: RuleSet) -> tuple[_Plan | None, list[RuleProblem]]:
    problems: list[RuleProblem] = []
    props = PropertyNames()
    slots: dict[str, SlotDraft] = {}
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
