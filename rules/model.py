"""The rule language as data: rulesets, rules, actions, the case attributes rules can test, and results.

A ruleset belongs to one case-type version and is stored as Casework's own JSON::

    {"schema_version": 1,
     "rules": [{"id": "escalate", "name": "Escalate angry customers", "trigger": "case.submitted",
                "priority": 10, "enabled": true,
                "condition": {"any": [{"field": "severity", "op": "in", "value": ["high", "critical"]},
                                      {"field": "customer_tier", "op": "eq", "value": "gold"},
                                      {"field": "case.requester_recent_cases", "days": 90,
                                       "op": "gte", "value": 2}]},
                "actions": [{"type": "route_to_queue", "queue": "escalations"},
                            {"type": "set_priority", "priority": "urgent"},
                            {"type": "set_due_in", "hours": 4, "business_hours": true}]}]}

Conditions use the forms condition language over the form's field keys plus the case attributes below
(``case.`` prefix). For one trigger exactly one rule fires: the enabled matching rule with the lowest
priority number; its actions become the decisions. No match means no decisions (default routing).

Facts handed to an evaluator are a flat mapping from those keys to values of the family's python type
(forms contract). ``case.requester_recent_cases`` is windowed: its facts are keyed per window, e.g.
``case.requester_recent_cases.90``, holding the number of *earlier* cases of the same case type and
requester e-mail in the last 90 days; :func:`recent_cases_key` builds the key,
``RuleSet.recent_case_windows`` says which windows a ruleset needs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from forms.conditions import Condition

SCHEMA_VERSION = 1

TRIGGERS: Mapping[str, str] = MappingProxyType(
    {
        "case.submitted": "a case is submitted",
        "case.updated": "a case is updated",
        "case.transitioned": "a case is moved by a transition",
        "sla.warning": "an SLA deadline is near",
        "sla.breached": "an SLA deadline is missed",
    }
)
"""Trigger key -> the plain-language phrase that follows "When" in a rule summary."""

CASE_PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
PRIORITY_LABELS: Mapping[str, str] = MappingProxyType({p: p.capitalize() for p in CASE_PRIORITIES})
SLA_KINDS: tuple[str, ...] = ("response", "resolution")
SLA_KIND_LABELS: Mapping[str, str] = MappingProxyType({"response": "Response", "resolution": "Resolution"})

CASE_PREFIX = "case."
RECENT_CASES = "case.requester_recent_cases"
MAX_RECENT_DAYS = 3650


def recent_cases_key(days: int) -> str:
    """The fact key holding the requester's earlier cases in the last ``days`` days."""
    return f"{RECENT_CASES}.{days}"


# --- the validation context --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ValidationContext:
    """What a ruleset may refer to, given by the caller from the pinned form and the case type.

    ``fields`` maps form field keys to their condition family (text, number, ...); ``options`` gives the
    option values of choice and multi fields. Users are e-mail addresses (matched case-insensitively).
    ``tags`` lists known tags for ``case.tags`` conditions (None: any tag). Labels are only used for
    summaries; a missing label falls back to the key.
    """

    fields: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Sequence[str]] = field(default_factory=dict)
    queues: Sequence[str] = ()
    states: Sequence[str] = ()
    transitions: Sequence[str] = ()
    users: Sequence[str] = ()
    roles: Sequence[str] = ()
    # Keys of the case type's catalogue of discretionary work (what a start_task action may start).
    tasks: Sequence[str] = ()
    tags: Sequence[str] | None = None
    field_labels: Mapping[str, str] = field(default_factory=dict)
    option_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    queue_labels: Mapping[str, str] = field(default_factory=dict)
    state_labels: Mapping[str, str] = field(default_factory=dict)
    transition_labels: Mapping[str, str] = field(default_factory=dict)
    role_labels: Mapping[str, str] = field(default_factory=dict)
    user_labels: Mapping[str, str] = field(default_factory=dict)
    task_labels: Mapping[str, str] = field(default_factory=dict)

    def families(self) -> dict[str, str]:
        """Field key -> family for the form's fields and the (non-windowed) case attributes."""
        out = dict(self.fields)
        for attr in CASE_ATTRIBUTES.values():
            out[attr.key] = attr.family
        return out

    def condition_options(self) -> dict[str, list[str]]:
        """Option values of every choice/multi key conditions may test (case attributes included)."""
        out = {key: list(values) for key, values in self.options.items()}
        for attr in CASE_ATTRIBUTES.values():
            values = attr.options(self)
            if values is not None:
                out[attr.key] = list(values)
        return out

    def labels(self) -> dict[str, str]:
        """Field key -> label, case attributes included."""
        out = {key: self.field_labels.get(key, key) for key in self.fields}
        out.update({attr.key: attr.label for attr in CASE_ATTRIBUTES.values()})
        return out

    def all_option_labels(self) -> dict[str, Mapping[str, str]]:
        """Field key -> {option value: label}, case attributes included."""
        out: dict[str, Mapping[str, str]] = dict(self.option_labels)
        for attr in CASE_ATTRIBUTES.values():
            labels = attr.option_labels(self)
            if labels:
                out[attr.key] = labels
        return out

    def user(self, email: str) -> str | None:
        """The known spelling of a user's e-mail, or None when nobody has it."""
        wanted = email.strip().casefold()
        for known in self.users:
            if known.casefold() == wanted:
                return known
        return None


# --- case attributes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseAttribute:
    """A ``case.*`` key a condition may test, besides the form's fields."""

    key: str
    family: str
    label: str
    options: Callable[[ValidationContext], Sequence[str] | None] = lambda ctx: None
    option_labels: Callable[[ValidationContext], Mapping[str, str]] = lambda ctx: {}
    triggers: frozenset[str] | None = None
    """Triggers for which the attribute has a value; None means all of them."""
    windowed: bool = False
    """Needs a ``days`` key in the clause (and a fact per window)."""


CASE_ATTRIBUTES: Mapping[str, CaseAttribute] = MappingProxyType(
    {
        attr.key: attr
        for attr in (
            CaseAttribute("case.state", "choice", "State", lambda c: c.states, lambda c: c.state_labels),
            CaseAttribute("case.queue", "choice", "Queue", lambda c: c.queues, lambda c: c.queue_labels),
            CaseAttribute("case.priority", "choice", "Priority", lambda c: CASE_PRIORITIES,
                          lambda c: PRIORITY_LABELS),
            CaseAttribute("case.age_hours", "number", "Age in hours"),
            CaseAttribute("case.tags", "multi", "Tags", lambda c: c.tags),
            CaseAttribute("case.transition", "choice", "Transition", lambda c: c.transitions,
                          lambda c: c.transition_labels, triggers=frozenset({"case.transitioned"})),
            CaseAttribute("case.sla_kind", "choice", "SLA kind", lambda c: SLA_KINDS, lambda c: SLA_KIND_LABELS,
                          triggers=frozenset({"sla.warning", "sla.breached"})),
            CaseAttribute(RECENT_CASES, "number", "Requester's earlier cases", windowed=True),
        )
    }
)


def recent_cases_label(days: int) -> str:
    """Label of a windowed recent-cases key in summaries."""
    return f"Requester's earlier cases in the last {days} days"


# --- rulesets --------------------------------------------------------------------------------------


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Action:
    """One validated action: its registry name and normalized parameters (JSON values)."""

    type: str
    params: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The stored form: ``{"type": ..., **params}``."""
        return {"type": self.type, **dict(self.params)}


@dataclass(frozen=True)
class Rule:
    """One validated rule; ``parsed`` is its condition over fact keys (windowed keys already resolved)."""

    id: str
    name: str
    trigger: str
    priority: int
    enabled: bool
    condition: Mapping[str, Any]
    actions: tuple[Action, ...]
    parsed: Condition = field(compare=False, repr=False)
    index: int = 0
    """Position in the document's ``rules`` list, for error paths."""
    description: str = ""

    @property
    def path(self) -> str:
        """Where the rule sits in the ruleset document."""
        return f"rules[{self.index}]"

    def to_json(self) -> dict[str, Any]:
        """The stored form of the rule."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "trigger": self.trigger,
            "priority": self.priority,
            "enabled": self.enabled,
            "condition": json.loads(_canonical(self.condition)),
            "actions": [action.to_json() for action in self.actions],
        }
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class RuleSet:
    """A validated ruleset; ``families`` gives the family of every fact key its conditions reference."""

    rules: tuple[Rule, ...]
    families: Mapping[str, str]
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        """The stored form of the ruleset."""
        return {"schema_version": self.schema_version, "rules": [rule.to_json() for rule in self.rules]}

    def fingerprint(self) -> str:
        """Canonical JSON of the stored form, so equal rulesets compare equal as text."""
        return _canonical(self.to_json())

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id (KeyError when there is none)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def for_trigger(self, trigger: str) -> list[Rule]:
        """The enabled rules of one trigger in firing order (lowest priority number first)."""
        return sorted((r for r in self.rules if r.enabled and r.trigger == trigger), key=lambda r: r.priority)

    def required_facts(self) -> frozenset[str]:
        """Every fact key the conditions read; the facts provider needs to supply only these."""
        return frozenset(self.families)

    def recent_case_windows(self) -> frozenset[int]:
        """The ``days`` windows of ``case.requester_recent_cases`` the conditions use."""
        prefix = RECENT_CASES + "."
        return frozenset(int(key[len(prefix):]) for key in self.families if key.startswith(prefix))


# --- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """An action a fired rule asks for; cases/ carries it out after evaluation."""

    action: str
    params: Mapping[str, Any]
    rule_id: str

    def key(self) -> str:
        """Canonical text of what is decided (not who decided it), for comparing outcomes."""
        return _canonical({"action": self.action, "params": dict(self.params)})

    def to_json(self) -> dict[str, Any]:
        """JSON for the audit trail."""
        return {"action": self.action, "params": dict(self.params), "rule_id": self.rule_id}


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one evaluation: the rule that fired (if any) and its decisions."""

    trigger: str
    rule_id: str | None
    rule_name: str | None
    ruleset_name: str
    ruleset_version: int | None
    decisions: tuple[Decision, ...] = ()

    @property
    def matched(self) -> bool:
        """True when a rule fired (a case without a match keeps its default routing)."""
        return self.rule_id is not None

    def outcome(self) -> tuple[str, ...]:
        """What was decided, independent of which rule decided it and of the order of actions."""
        return tuple(sorted(decision.key() for decision in self.decisions))

    def to_json(self) -> dict[str, Any]:
        """JSON for the audit trail: rule id and ruleset version go with every decision."""
        return {
            "trigger": self.trigger,
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "ruleset": self.ruleset_name,
            "ruleset_version": self.ruleset_version,
            "decisions": [decision.to_json() for decision in self.decisions],
        }


def decisions_for(rule: Rule) -> tuple[Decision, ...]:
    """The decisions a rule yields when it fires: all of its actions, in order."""
    return tuple(Decision(action.type, dict(action.params), rule.id) for action in rule.actions)
