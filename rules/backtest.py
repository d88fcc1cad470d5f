"""Trying rules without touching cases: simulate one case, back-test a draft on past cases, cross-check engines.

Pure functions over facts: no database, no clock. cases/ loads the last N cases' facts and hands them in
as ``(case_ref, trigger, facts)``; what comes back says which cases would be decided differently, and how.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rules.compile import CompiledRuleset, as_compiled
from rules.engine import DurableEvaluator, Evaluator, ReferenceEvaluator
from rules.errors import EngineError
from rules.model import Evaluation, RuleSet

CaseFacts = tuple[str, str, Mapping[str, Any]]
"""(case reference, trigger, facts) of one past case."""


def simulate(ruleset: CompiledRuleset | RuleSet, trigger: str, facts: Mapping[str, Any],
             evaluator: Evaluator | None = None) -> Evaluation:
    """What the ruleset decides for one (sample) case; plain Python unless an evaluator is given."""
    return (evaluator or ReferenceEvaluator()).evaluate(ruleset, trigger, facts)


@dataclass(frozen=True)
class CaseChange:
    """A case whose outcome differs between the current rules and the draft."""

    case_ref: str
    trigger: str
    before: Evaluation
    after: Evaluation

    def to_json(self) -> dict[str, Any]:
        """JSON for the back-test page."""
        return {"case": self.case_ref, "trigger": self.trigger, "before": self.before.to_json(),
                "after": self.after.to_json()}


@dataclass(frozen=True)
class CaseFailure:
    """A case one of the rulesets could not evaluate (in production it would go to the fallback queue)."""

    case_ref: str
    side: str
    """"before" (current rules) or "after" (the draft)."""
    message: str


@dataclass
class BacktestReport:
    """Totals and the changed cases of a back-test."""

    evaluated: int = 0
    changed: int = 0
    changes: list[CaseChange] = field(default_factory=list)
    by_action: dict[str, int] = field(default_factory=dict)
    """Action kind -> number of changed cases whose decisions of that kind differ."""
    hits_before: dict[str, int] = field(default_factory=dict)
    """Rule id -> cases it decided under the current rules."""
    hits_after: dict[str, int] = field(default_factory=dict)
    """Rule id -> cases it decides under the draft."""
    unmatched_before: int = 0
    unmatched_after: int = 0
    failures: list[CaseFailure] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON for the back-test page."""
        return {
            "evaluated": self.evaluated,
            "changed": self.changed,
            "by_action": dict(self.by_action),
            "hits_before": dict(self.hits_before),
            "hits_after": dict(self.hits_after),
            "unmatched_before": self.unmatched_before,
            "unmatched_after": self.unmatched_after,
            "changes": [change.to_json() for change in self.changes],
            "failures": [{"case": f.case_ref, "side": f.side, "message": f.message} for f in self.failures],
        }


def _kinds_changed(before: Evaluation, after: Evaluation) -> set[str]:
    def by_kind(evaluation: Evaluation) -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = {}
        for decision in evaluation.decisions:
            out.setdefault(decision.action, Counter())[decision.key()] += 1
        return out

    left, right = by_kind(before), by_kind(after)
    return {kind for kind in left.keys() | right.keys() if left.get(kind) != right.get(kind)}


def backtest(draft: CompiledRuleset | RuleSet, current: CompiledRuleset | RuleSet | None,
             cases: Iterable[CaseFacts], evaluator: Evaluator | None = None) -> BacktestReport:
    """Run past cases through the current rules and the draft; report the cases whose outcome changes.

    ``current`` None means the case type had no rules yet (every case kept its default routing).
    """
    evaluator = evaluator or ReferenceEvaluator()
    after_rules = as_compiled(draft)
    before_rules = as_compiled(current) if current is not None else None
    report = BacktestReport()
    hits_before: Counter[str] = Counter()
    hits_after: Counter[str] = Counter()
    by_action: Counter[str] = Counter()
    for case_ref, trigger, facts in cases:
        report.evaluated += 1
        try:
            if before_rules is None:
                before = Evaluation(trigger, None, None, "", None, ())
            else:
                before = evaluator.evaluate(before_rules, trigger, facts)
        except EngineError as exc:
            report.failures.append(CaseFailure(case_ref, "before", exc.message))
            continue
        try:
            after = evaluator.evaluate(after_rules, trigger, facts)
        except EngineError as exc:
            report.failures.append(CaseFailure(case_ref, "after", exc.message))
            continue
        for evaluation, hits in ((before, hits_before), (after, hits_after)):
            if evaluation.rule_id is not None:
                hits[evaluation.rule_id] += 1
        report.unmatched_before += before.rule_id is None
        report.unmatched_after += after.rule_id is None
        if before.outcome() != after.outcome():
            report.changed += 1
            report.changes.append(CaseChange(case_ref, trigger, before, after))
            by_action.update(_kinds_changed(before, after))
    report.hits_before = dict(hits_before)
    report.hits_after = dict(hits_after)
    report.by_action = dict(by_action)
    return report


@dataclass(frozen=True)
class Disagreement:
    """A sample case on which the engine and the plain-Python evaluator differ (a save must be refused)."""

    case_ref: str
    trigger: str
    durable: str
    reference: str


def _outcome(evaluator: Evaluator, ruleset: CompiledRuleset, trigger: str, facts: Mapping[str, Any]) -> str:
    try:
        evaluation = evaluator.evaluate(ruleset, trigger, facts)
    except EngineError as exc:
        return f"error: {exc.message}"
    return f"rule {evaluation.rule_id}" if evaluation.rule_id else "no rule"


def cross_check(ruleset: CompiledRuleset | RuleSet, samples: Iterable[CaseFacts],
                durable: Evaluator | None = None, reference: Evaluator | None = None) -> list[Disagreement]:
    """Run sample cases through durable-rules and the reference evaluator; every case where they differ."""
    compiled = as_compiled(ruleset)
    durable = durable or DurableEvaluator()
    reference = reference or ReferenceEvaluator()
    out: list[Disagreement] = []
    for case_ref, trigger, facts in samples:
        left = _outcome(durable, compiled, trigger, facts)
        right = _outcome(reference, compiled, trigger, facts)
        if left != right:
            out.append(Disagreement(case_ref, trigger, left, right))
    return out
