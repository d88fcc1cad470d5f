"""Rulesets and seeded random cases for the differential tests (durable-rules against plain Python).

The case generator aims at the places engines get wrong: values on and just beside every constant of the
ruleset (10000 vs 10000.01, one microsecond before a bound), empty values in all their spellings (missing,
None, "", "   ", []), case and white-space differences in text, numbers as text or floats, values too
precise or too large for doubles, long strings, quotes and backslashes.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from forms.conditions import AllOf, AnyOf, Clause, Condition, Not
from rules.model import TRIGGERS, RuleSet, ValidationContext
from rules.validate import check_ruleset
from tests.rules.rules_helpers import COMPLAINT_ESCALATION, FIELDS, OPTIONS, clause, doc, rule

UTC = dt.UTC
CET = dt.timezone(dt.timedelta(hours=1))
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))

INVOICE_THRESHOLDS = doc(
    rule("cfo", 10, {"all": [clause("amount", "gt", 10000), clause("customer_tier", "neq", "gold")]},
         name="CFO signs big invoices", actions=[
             {"type": "require_approval", "role": "cfo", "on_approve": "approved", "on_reject": "rejected"},
             {"type": "route_to_queue", "queue": "finance"}]),
    rule("gold_big", 20, clause("amount", "gte", "10000.01"), name="Big gold invoices",
         actions=[{"type": "route_to_queue", "queue": "vip"}, {"type": "add_tag", "tag": "vip"}]),
    rule("medium", 30, clause("amount", "between", [1000, "10000"]), name="Medium invoices",
         actions=[{"type": "assign_to", "strategy": "least_loaded", "queue": "finance"}]),
    rule("tiny", 40, {"any": [clause("amount", "lt", "0.01"), clause("amount", "empty")]}, name="No amount",
         actions=[{"type": "notify", "to": "requester", "message": "Please give the invoice amount."}]),
)

EVERY_FAMILY = doc(
    rule("crit_urgent", 10, {"all": [clause("severity", "eq", "critical"), clause("urgent", "is_true")]},
         actions=[{"type": "route_to_queue", "queue": "escalations"}, {"type": "set_priority", "priority": "urgent"}]),
    rule("big_amount", 20, {"all": [clause("amount", "gt", 10000), clause("amount", "lte", "50000.5"),
                                    clause("customer_tier", "in", ["gold", "silver"])]}),
    rule("refund", 30, {"any": [clause("description", "contains", "refund"),
                                clause("description", "contains", "Charge Back")]},
         actions=[{"type": "add_tag", "tag": "fraud"}, {"type": "route_to_queue", "queue": "finance"}]),
    rule("ceo", 40, clause("email", "eq", " CEO@Example.com "), actions=[{"type": "route_to_queue", "queue": "vip"}]),
    rule("due_soon", 50, {"all": [clause("due_date", "before", "2024-06-01"),
                                  clause("due_date", "after", "2024-01-01")]}),
    rule("incident_window", 60, clause("incident_at", "between",
                                       ["2024-03-01T00:00:00+00:00", "2024-03-31T23:59:59.5+01:00"])),
    rule("router", 70, {"all": [clause("products", "contains", "router"),
                                {"not": clause("products", "contains", "modem")}]}),
    rule("no_products", 80, {"all": [clause("products", "empty"), clause("quantity", "gte", 100)]}),
    rule("qty_eq", 90, clause("quantity", "eq", 42)),
    rule("qty_range", 95, clause("quantity", "between", [10, "20.5"])),
    rule("qty_in", 100, clause("quantity", "in", [7, 13, "99.5"])),
    rule("qty_not_in", 110, {"all": [clause("quantity", "not_in", [-1, -2, -3]), clause("quantity", "lt", 0)]}),
    rule("tiny_amount", 120, {"all": [clause("amount", "neq", 0), clause("amount", "lt", "0.01"),
                                      clause("amount", "gt", "-0.01")]}),
    rule("christmas", 130, clause("due_date", "eq", "2024-12-25")),
    rule("no_due", 135, {"all": [clause("due_date", "empty"), clause("severity", "eq", "high"),
                                 clause("incident_at", "empty")]}),
    rule("january", 140, {"all": [clause("due_date", "between", ["2025-01-01", "2025-01-31"]),
                                  clause("due_date", "neq", "2025-01-15")]}),
    rule("old_incident", 150, {"all": [clause("incident_at", "before", "2020-01-01T00:00:00Z"),
                                       clause("incident_at", "not_empty"), clause("due_date", "not_empty")]}),
    rule("future_incident", 160, clause("incident_at", "after", "2030-01-01T00:00:00+05:30")),
    rule("serious", 170, {"all": [clause("severity", "not_in", ["low", "medium"]),
                                  clause("customer_tier", "neq", "bronze"), clause("urgent", "is_false")]}),
    rule("files_only", 180, {"all": [clause("attachments", "not_empty"), clause("items", "empty"),
                                     clause("urgent", "not_empty")]}),
    rule("items_only", 190, {"all": [clause("items", "not_empty"), clause("attachments", "empty")]}),
    rule("vip_tag", 200, {"all": [clause("case.tags", "contains", "vip"),
                                  clause("case.tags", "not_contains", "fraud")]},
         actions=[{"type": "assign_to", "user": "ALICE@example.com"}]),
    rule("repeat", 210, {"any": [clause("case.requester_recent_cases", "gte", 3, days=30),
                                 {"all": [clause("case.requester_recent_cases", "gt", 5, days=90),
                                          clause("case.age_hours", "lt", "1.5")]}]},
         actions=[{"type": "add_tag", "tag": "repeat"}, {"type": "set_due_in", "hours": "0.5"}]),
    rule("open_high", 220, {"all": [clause("case.state", "in", ["new", "open"]), clause("case.queue", "neq", "general"),
                                    clause("case.priority", "eq", "high")]}),
    rule("text_neq", 230, {"all": [clause("description", "neq", "n/a"), clause("description", "not_empty"),
                                   clause("email", "empty")]}),
    rule("text_in", 240, clause("description", "in", ["Help", "HELP ME", "  urgent  ", 'say "hi"\\now'])),
    rule("text_not_in", 250, {"all": [clause("email", "not_in", ["a@example.com", "B@EXAMPLE.COM"]),
                                      clause("email", "contains", "@example."),
                                      clause("email", "not_contains", "noreply")]}),
    rule("no_severity", 260, {"all": [clause("severity", "empty"), clause("customer_tier", "not_empty")]}),
    rule("blank", 270, {"all": [clause("urgent", "empty"), clause("amount", "empty"),
                                clause("quantity", "not_empty")]}),
    rule("not_low", 300, {"not": {"any": [clause("severity", "eq", "low"), clause("amount", "lt", 100),
                                          clause("products", "not_empty")]}}),
    rule("waiting", 10, clause("case.state", "eq", "waiting"), trigger="case.updated",
         actions=[{"type": "notify", "to": "assignee", "message": "The requester answered."}]),
    rule("escalated", 10, clause("case.transition", "eq", "escalate"), trigger="case.transitioned",
         actions=[{"type": "move_to_state", "state": "cfo_approval"}]),
    rule("closing", 20, {"all": [clause("case.transition", "in", ["close", "reopen"]), clause("amount", "gt", 0)]},
         trigger="case.transitioned", actions=[{"type": "add_tag", "tag": "repeat"}]),
    rule("sla_response", 10, clause("case.sla_kind", "eq", "response"), trigger="sla.warning",
         actions=[{"type": "notify", "to": "queue", "queue": "escalations", "message": "Answer soon."}]),
    rule("sla_breach", 10, {"any": [clause("case.sla_kind", "eq", "resolution"),
                                    clause("case.priority", "eq", "urgent")]},
         trigger="sla.breached", actions=[{"type": "assign_to", "strategy": "round_robin", "queue": "escalations"}]),
    rule("sla_other", 20, {"all": []}, trigger="sla.breached",
         actions=[{"type": "notify", "to": "user", "user": "bob@example.com", "message": "An SLA was missed."}]),
    rule("default", 900, {"all": []}, actions=[{"type": "route_to_queue", "queue": "general"}]),
)

NAMED_RULESETS = {
    "complaint_escalation": COMPLAINT_ESCALATION,
    "invoice_thresholds": INVOICE_THRESHOLDS,
    "every_family": EVERY_FAMILY,
}

# --- random rulesets ---------------------------------------------------------------------------------

_VALUE_POOLS: dict[str, list[Any]] = {
    "text": ["refund", "ab", "bbb", "aab", "Straße", "x y", 'q"uote', "back\\slash", "URGENT", "é"],
    "number": [0, 1, 10000, "10000.01", "-5.5", 42, "0.001", 999999999999, "123456.789"],
    "date": ["2024-01-01", "2024-02-29", "2023-12-31", "1999-01-01"],
    "datetime": ["2024-03-01T12:00:00+00:00", "2024-03-01T13:00:00.000001+01:00", "2024-03-01T11:59:59Z"],
}
_FAMILY_OPS = {
    "text": ["eq", "neq", "in", "not_in", "contains", "not_contains", "empty", "not_empty"],
    "number": ["eq", "neq", "gt", "gte", "lt", "lte", "between", "in", "not_in", "empty", "not_empty"],
    "date": ["eq", "neq", "before", "after", "between", "empty", "not_empty"],
    "datetime": ["before", "after", "between", "empty", "not_empty"],
    "choice": ["eq", "neq", "in", "not_in", "empty", "not_empty"],
    "multi": ["contains", "not_contains", "empty", "not_empty"],
    "bool": ["is_true", "is_false", "empty", "not_empty"],
    "file": ["empty", "not_empty"],
    "group": ["empty", "not_empty"],
}
_RANDOM_FIELDS = {**FIELDS, "case.age_hours": "number", "case.priority": "choice", "case.tags": "multi"}
_RANDOM_OPTIONS = {**OPTIONS, "case.priority": ["low", "normal", "high", "urgent"],
                   "case.tags": ["vip", "fraud", "repeat"]}
_CASE_OPTIONS = {
    "case.state": ["new", "open", "waiting", "cfo_approval", "approved", "rejected", "closed"],
    "case.queue": ["general", "escalations", "finance", "vip"],
    "case.transition": ["open", "escalate", "close", "reopen"],
    "case.sla_kind": ["response", "resolution"],
}


def _random_value(rng: random.Random, family: str, field: str) -> Any:
    if family in ("choice", "multi"):
        return rng.choice(_RANDOM_OPTIONS[field])
    return rng.choice(_VALUE_POOLS[family])


def _random_clause(rng: random.Random) -> dict[str, Any]:
    field = rng.choice(sorted(_RANDOM_FIELDS))
    family = _RANDOM_FIELDS[field]
    op = rng.choice(_FAMILY_OPS[family])
    if op in ("empty", "not_empty", "is_true", "is_false"):
        return clause(field, op)
    if op in ("in", "not_in"):
        return clause(field, op, [_random_value(rng, family, field) for _ in range(rng.randint(1, 3))])
    if op == "between":
        low, high = sorted((_random_value(rng, family, field) for _ in range(2)),
                           key=lambda v: Decimal(v) if family == "number" else dt.datetime.fromisoformat(v).timestamp()
                           if family == "datetime" else str(v))
        return clause(field, op, [low, high])
    return clause(field, op, _random_value(rng, family, field))


def _random_condition(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    roll = rng.random()
    if depth >= 2 or roll < 0.35:
        return _random_clause(rng)
    if roll < 0.45:
        return {"not": _random_condition(rng, depth + 1)}
    kind = "all" if roll < 0.75 else "any"
    return {kind: [_random_condition(rng, depth + 1) for _ in range(rng.randint(1, 3))]}


def random_ruleset(seed: int, ctx: ValidationContext, size: int = 30) -> RuleSet:
    """A valid random ruleset: random conditions over every family, mostly for case.submitted."""
    rng = random.Random(seed)
    rules: list[dict[str, Any]] = []
    while len(rules) < size:
        trigger = "case.submitted" if rng.random() < 0.8 else rng.choice(["case.updated", "sla.warning"])
        condition = _random_condition(rng)
        if rng.random() < 0.7:
            # a selective guard keeps later rules reachable despite broad earlier ones
            field = rng.choice(["severity", "customer_tier", "case.priority"])
            condition = {"all": [clause(field, "eq", rng.choice(_RANDOM_OPTIONS[field])), condition]}
        candidate = rule(f"rnd{len(rules)}", 10 * (len(rules) + 1), condition, trigger=trigger,
                         actions=[{"type": "add_tag", "tag": f"t{len(rules)}"}])
        ruleset, problems = check_ruleset(doc(*rules, candidate), ctx)
        if ruleset is not None:
            rules.append(candidate)
    ruleset, problems = check_ruleset(doc(*rules), ctx)
    assert ruleset is not None, problems
    return ruleset


# --- random cases ------------------------------------------------------------------------------------


def _constants(ruleset: RuleSet) -> dict[str, list[Any]]:
    """Every value the conditions compare each fact key with."""
    out: dict[str, list[Any]] = {}

    def walk(node: Condition) -> None:
        if isinstance(node, AllOf | AnyOf):
            for item in node.items:
                walk(item)
        elif isinstance(node, Not):
            walk(node.item)
        elif isinstance(node, Clause) and node.value is not None:
            values = node.value if isinstance(node.value, tuple) else (node.value,)
            out.setdefault(node.field, []).extend(values)

    for r in ruleset.rules:
        walk(r.parsed)
    return out


class CaseGenerator:
    """Seeded random facts for a ruleset, crowding around its constants."""

    def __init__(self, ruleset: RuleSet, seed: int) -> None:
        self.rng = random.Random(seed)
        self.families = dict(ruleset.families)
        self.constants = _constants(ruleset)
        self.triggers = sorted({r.trigger for r in ruleset.rules}) or list(TRIGGERS)

    def empty(self) -> Any:
        return self.rng.choice([None, "", "   ", [], "\t"])

    def number(self, key: str) -> Any:
        rng = self.rng
        base = Decimal(str(rng.choice(self.constants.get(key) or [0])))
        step = rng.choice([Decimal(0), Decimal("0.01"), Decimal("-0.01"), Decimal(1), Decimal(-1),
                           Decimal("1e-20"), Decimal("-1e-20"), Decimal("0.005")])
        value = base + step
        form = rng.random()
        if form < 0.08:
            return format(value, "f")
        if form < 0.14:
            return float(value)
        if form < 0.18:
            return rng.choice([Decimal("1e30"), Decimal("-1e30"), Decimal("1e-9"), Decimal("-1e-9"), 2**60])
        if form < 0.22:
            return rng.randint(-20, 200)
        return int(value) if value == value.to_integral_value() and rng.random() < 0.5 else value

    def text(self, key: str) -> Any:
        rng = self.rng
        pool = [str(v) for v in self.constants.get(key, [])] or ["hello"]
        base = rng.choice(pool)
        roll = rng.random()
        if roll < 0.15:
            base = base.upper()
        elif roll < 0.25:
            base = base.title()
        elif roll < 0.35:
            base = base[: max(1, len(base) - 1)]
        elif roll < 0.5:
            base = f"{rng.choice(['', 'x', 'Ab ', 'ß'])}{base}{rng.choice(['', 'y', ' zz', '!'])}"
        elif roll < 0.55:
            base = "".join(rng.choice('ab ßSs"\\\n') for _ in range(rng.randint(1, 8)))
        elif roll < 0.557:
            base = "x" * 70_000 + (rng.choice(pool) if rng.random() < 0.5 else "")
        if rng.random() < 0.3:
            base = rng.choice([" ", "  ", "\t"]) + base + rng.choice([" ", "", "\n"])
        return base

    def choice(self, key: str) -> Any:
        rng = self.rng
        options = (OPTIONS.get(key) or _RANDOM_OPTIONS.get(key) or _CASE_OPTIONS.get(key)
                   or [str(v) for v in self.constants.get(key, ["x"])])
        value = rng.choice(options + [str(v) for v in self.constants.get(key, [])])
        roll = rng.random()
        if roll < 0.05:
            return value.upper()
        if roll < 0.08:
            return f" {value}"
        if roll < 0.1:
            return "unknown"
        return value

    def multi(self, key: str) -> Any:
        rng = self.rng
        options = OPTIONS.get(key) or _RANDOM_OPTIONS.get(key) or ["vip", "fraud", "repeat"]
        if rng.random() < 0.1:
            return rng.choice(options)
        return rng.sample(options, rng.randint(0, len(options)))

    def date(self, key: str) -> Any:
        rng = self.rng
        base = rng.choice(self.constants.get(key) or [dt.date(2024, 1, 1)])
        value = base + dt.timedelta(days=rng.choice([0, 0, 1, -1, 30, -400]))
        return value.isoformat() if rng.random() < 0.2 else value

    def datetime(self, key: str) -> Any:
        rng = self.rng
        base = rng.choice(self.constants.get(key) or [dt.datetime(2024, 3, 1, tzinfo=UTC)])
        step = rng.choice([dt.timedelta(0), dt.timedelta(microseconds=1), dt.timedelta(microseconds=-1),
                           dt.timedelta(seconds=1), dt.timedelta(days=-3), dt.timedelta(hours=5)])
        value = (base + step).astimezone(rng.choice([UTC, CET, IST]))
        return value.isoformat() if rng.random() < 0.2 else value

    def flag(self, key: str) -> Any:
        return self.rng.choice([True, False, True, False, "yes", "no", 1, 0])

    def listing(self, key: str) -> Any:
        return self.rng.choice([[{"name": "a.pdf"}], [{"row": 1}, {"row": 2}], []])

    def value(self, key: str, family: str) -> Any:
        makers = {"number": self.number, "text": self.text, "choice": self.choice, "multi": self.multi,
                  "date": self.date, "datetime": self.datetime, "bool": self.flag, "file": self.listing,
                  "group": self.listing}
        return makers[family](key)

    def case(self) -> tuple[str, dict[str, Any]]:
        """(trigger, facts) of one random case."""
        rng = self.rng
        trigger = rng.choice(self.triggers) if rng.random() < 0.95 else rng.choice(list(TRIGGERS))
        facts: dict[str, Any] = {}
        for key, family in self.families.items():
            roll = rng.random()
            if roll < 0.15:
                continue
            if roll < 0.25:
                facts[key] = self.empty()
            else:
                facts[key] = self.value(key, family)
        return trigger, facts
