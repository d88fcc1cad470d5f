"""Simulation, back-testing a draft against past cases, and cross-checking the two evaluators."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules.backtest import backtest, cross_check, simulate
from rules.compile import CompiledRuleset, compile_draft, compile_ruleset
from rules.engine import DurableEvaluator, ReferenceEvaluator
from rules.model import Evaluation, RuleSet
from rules.validate import validate_ruleset
from tests.rules.rules_corpus import EVERY_FAMILY, CaseGenerator
from tests.rules.rules_helpers import clause, rule, unique_slug

ROUTE_FINANCE = [{"type": "route_to_queue", "queue": "finance"}]
CASES = [
    ("INV-1", "case.submitted", {"amount": 500}),
    ("INV-2", "case.submitted", {"amount": 7000}),
    ("INV-3", "case.submitted", {"amount": 12000}),
    ("INV-4", "case.submitted", {"amount": "10000.01"}),
    ("INV-5", "case.updated", {"amount": 12000}),
    ("INV-6", "case.submitted", {"amount": "plenty"}),
]


def _current(build: Any) -> RuleSet:
    return build(rule("big", 10, clause("amount", "gt", 10000), actions=ROUTE_FINANCE))


def _draft(build: Any) -> RuleSet:
    return build(
        rule("big", 10, clause("amount", "gt", 5000),
             actions=[*ROUTE_FINANCE, {"type": "set_priority", "priority": "high"}]),
        rule("small", 20, clause("amount", "lt", 1000), actions=[{"type": "add_tag", "tag": "small"}]),
    )


def test_simulate_one_case(build: Any) -> None:
    evaluation = simulate(_current(build), "case.submitted", {"amount": 10001})
    assert evaluation.rule_id == "big" and [d.action for d in evaluation.decisions] == ["route_to_queue"]
    assert simulate(_current(build), "case.submitted", {"amount": 10001}, DurableEvaluator()).rule_id == "big"


def test_backtest_reports_the_cases_that_change(build: Any) -> None:
    report = backtest(_draft(build), _current(build), CASES, ReferenceEvaluator())
    assert report.evaluated == 6
    assert [(c.case_ref, c.before.rule_id, c.after.rule_id) for c in report.changes] == [
        ("INV-1", None, "small"), ("INV-2", None, "big"), ("INV-3", "big", "big"), ("INV-4", "big", "big")]
    assert report.changed == 4
    assert report.by_action == {"add_tag": 1, "route_to_queue": 1, "set_priority": 3}
    assert report.hits_before == {"big": 2}
    assert report.hits_after == {"big": 3, "small": 1}
    assert (report.unmatched_before, report.unmatched_after) == (3, 1)
    assert [(f.case_ref, f.side) for f in report.failures] == [("INV-6", "before")]
    assert "not a valid number" in report.failures[0].message
    as_json = report.to_json()
    assert as_json["changes"][0]["after"]["decisions"] == [
        {"action": "add_tag", "params": {"tag": "small"}, "rule_id": "small"}]


def test_backtest_without_current_rules(build: Any) -> None:
    report = backtest(_draft(build), None, CASES[:5], DurableEvaluator())
    assert report.changed == 4 and report.unmatched_before == 5
    assert report.hits_after == {"big": 3, "small": 1}


def test_a_rule_moving_to_another_rule_with_the_same_decisions_is_no_change(build: Any) -> None:
    renamed = build(rule("renamed", 10, clause("amount", "gt", 10000), actions=ROUTE_FINANCE))
    report = backtest(renamed, _current(build), CASES[:5])
    assert report.changed == 0 and report.hits_after == {"renamed": 2}


def test_cross_check_agrees_on_a_real_ruleset(ctx: Any) -> None:
    ruleset = validate_ruleset(EVERY_FAMILY, ctx)
    compiled = compile_ruleset(ruleset, case_type=unique_slug(), version=1)
    generator = CaseGenerator(ruleset, seed=7)
    samples = [(f"S-{i}", *generator.case()) for i in range(300)]
    assert cross_check(compiled, samples) == []


def test_cross_check_reports_disagreements(build: Any) -> None:
    class Contrarian:
        def evaluate(self, ruleset: CompiledRuleset | RuleSet, trigger: str, facts: Mapping[str, Any]) -> Evaluation:
            honest = ReferenceEvaluator().evaluate(ruleset, trigger, facts)
            return Evaluation(trigger, None, None, honest.ruleset_name, None, ())

    compiled = compile_draft(_current(build), case_type=unique_slug())
    found = cross_check(compiled, CASES, reference=Contrarian())
    assert [(d.case_ref, d.durable, d.reference) for d in found] == [
        ("INV-3", "rule big", "no rule"), ("INV-4", "rule big", "no rule")]
