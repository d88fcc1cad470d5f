"""The durable-rules evaluator in its safe pattern, and the reference evaluator it is held to."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import rules.engine
from rules.compile import CompiledRuleset, compile_draft, compile_ruleset
from rules.engine import DurableEvaluator, ReferenceEvaluator, engine_built
from rules.errors import EngineError
from rules.model import RuleSet, ValidationContext
from rules.validate import validate_ruleset
from tests.rules.rules_corpus import EVERY_FAMILY, CaseGenerator
from tests.rules.rules_helpers import COMPLAINT_ESCALATION, clause, rule, unique_slug

ROOT = Path(__file__).resolve().parents[2]
EVALUATORS = [DurableEvaluator(), ReferenceEvaluator()]
IDS = ["durable", "reference"]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def complaint(ctx: ValidationContext) -> CompiledRuleset:
    return compile_ruleset(validate_ruleset(COMPLAINT_ESCALATION, ctx), case_type=unique_slug(), version=2)


@pytest.mark.parametrize("evaluator", EVALUATORS, ids=IDS)
@pytest.mark.parametrize(("facts", "fires"), [
    ({"severity": "high"}, True),
    ({"severity": "critical", "customer_tier": "bronze"}, True),
    ({"customer_tier": "gold"}, True),
    ({"case.requester_recent_cases.90": 2}, True),
    ({"case.requester_recent_cases.90": 1, "severity": "medium"}, False),
    ({"severity": "HIGH"}, False),  # choices are machine values: case-sensitive
    ({}, False),
])
def test_complaint_escalation(evaluator: Any, complaint: CompiledRuleset, facts: dict[str, Any], fires: bool) -> None:
    evaluation = evaluator.evaluate(complaint, "case.submitted", facts)
    assert evaluation.ruleset_name == complaint.name and evaluation.ruleset_version == 2
    if not fires:
        assert evaluation.rule_id is None and evaluation.decisions == () and not evaluation.matched
        return
    assert evaluation.rule_id == "escalate" and evaluation.rule_name == "Escalate complaints"
    assert [(d.action, dict(d.params), d.rule_id) for d in evaluation.decisions] == [
        ("route_to_queue", {"queue": "escalations"}, "escalate"),
        ("set_priority", {"priority": "urgent"}, "escalate"),
        ("set_due_in", {"hours": 4, "business_hours": True}, "escalate"),
    ]
    assert evaluation.to_json()["decisions"][0] == {"action": "route_to_queue", "params": {"queue": "escalations"},
                                                    "rule_id": "escalate"}


@pytest.mark.parametrize("evaluator", EVALUATORS, ids=IDS)
def test_first_match_wins_and_only_for_its_trigger(evaluator: Any, build: Any) -> None:
    ruleset = build(
        rule("late", 30, clause("amount", "gt", 0), actions=[{"type": "route_to_queue", "queue": "general"}]),
        rule("early", 10, clause("amount", "gt", 100), actions=[{"type": "route_to_queue", "queue": "finance"}]),
        rule("off", 5, clause("amount", "gt", 0), enabled=False),
        rule("other", 1, clause("amount", "gt", 0), trigger="case.updated"),
    )
    compiled = compile_draft(ruleset, case_type=unique_slug())
    assert evaluator.evaluate(compiled, "case.submitted", {"amount": 500}).rule_id == "early"
    assert evaluator.evaluate(compiled, "case.submitted", {"amount": 50}).rule_id == "late"
    assert evaluator.evaluate(compiled, "case.updated", {"amount": 50}).rule_id == "other"
    assert evaluator.evaluate(compiled, "sla.warning", {"amount": 50}).rule_id is None


@pytest.mark.parametrize("evaluator", EVALUATORS, ids=IDS)
def test_a_bare_ruleset_is_evaluated_as_a_draft(evaluator: Any, build: Any) -> None:
    ruleset: RuleSet = build(rule("any_amount", 10, clause("amount", "not_empty")))
    evaluation = evaluator.evaluate(ruleset, "case.submitted", {"amount": "12.5"})
    assert evaluation.rule_id == "any_amount"
    assert evaluation.ruleset_name.startswith("scratch@draft-") and evaluation.ruleset_version is None


@pytest.mark.parametrize("evaluator", EVALUATORS, ids=IDS)
@pytest.mark.parametrize(("trigger", "facts", "match"), [
    ("case.submitted", {"amount": "lots"}, "not a valid number"),
    ("case.submitted", {"incident_at": "2024-05-01T10:00:00"}, "time zone"),
    ("case.exploded", {}, "Unknown trigger"),
])
def test_bad_facts_or_trigger_raise_engine_error(evaluator: Any, build: Any, trigger: str, facts: dict[str, Any],
                                                 match: str) -> None:
    ruleset = build(rule("r", 10, {"all": [clause("amount", "gt", 1), clause("incident_at", "not_empty")]}))
    with pytest.raises(EngineError, match=match):
        evaluator.evaluate(compile_draft(ruleset, case_type=unique_slug()), trigger, facts)


def test_importing_builds_no_host_and_starts_no_thread() -> None:
    done = _python("""
        import sys, threading
        import rules, rules.actions, rules.backtest, rules.compile, rules.engine, rules.summary, rules.validate
        assert not rules.engine.engine_built()
        assert "durable_rules_engine" not in sys.modules and "durable.engine" not in sys.modules
        assert threading.active_count() == 1, threading.enumerate()
        print("clean import")
    """)
    assert done.returncode == 0, done.stderr
    assert "clean import" in done.stdout


def test_fresh_process_whose_first_event_matches_nothing_does_not_crash() -> None:
    done = _python("""
        import threading
        from rules.compile import compile_ruleset
        from rules.engine import DurableEvaluator, engine_built
        from rules.model import ValidationContext
        from rules.validate import validate_ruleset

        ctx = ValidationContext(fields={"amount": "number"}, queues=["finance"])
        ruleset = validate_ruleset({"schema_version": 1, "rules": [{
            "id": "big", "name": "Big invoices", "trigger": "case.submitted", "priority": 1,
            "condition": {"field": "amount", "op": "gt", "value": 10000},
            "actions": [{"type": "route_to_queue", "queue": "finance"}]}]}, ctx)
        compiled = compile_ruleset(ruleset, case_type="invoice", version=1)
        assert not engine_built()
        first = DurableEvaluator().evaluate(compiled, "case.submitted", {"amount": 5})
        assert engine_built() and first.rule_id is None and first.decisions == ()
        assert DurableEvaluator().evaluate(compiled, "sla.breached", {}).rule_id is None
        assert DurableEvaluator().evaluate(compiled, "case.submitted", {"amount": 10001}).rule_id == "big"
        assert threading.active_count() == 1, threading.enumerate()  # no timer threads
        print("no match, no crash")
    """)
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert "no match, no crash" in done.stdout


def test_sixteen_threads_each_get_their_own_answers(ctx: ValidationContext) -> None:
    ruleset = validate_ruleset(EVERY_FAMILY, ctx)
    compiled = compile_ruleset(ruleset, case_type=unique_slug(), version=1)
    reference, durable = ReferenceEvaluator(), DurableEvaluator()

    def expect(trigger: str, facts: dict[str, Any]) -> Any:
        try:
            return reference.evaluate(compiled, trigger, facts).rule_id
        except EngineError:
            return "error"

    work = []
    for n in range(16):
        generator = CaseGenerator(ruleset, seed=1000 + n)
        cases = [generator.case() for _ in range(1000)]
        work.append([(trigger, facts, expect(trigger, facts)) for trigger, facts in cases])
    barrier = threading.Barrier(16)
    wrong: list[Any] = []
    crashed: list[BaseException] = []
    done = [0] * 16

    def run(n: int) -> None:
        try:
            barrier.wait()
            for trigger, facts, expected in work[n]:
                try:
                    got = durable.evaluate(compiled, trigger, facts).rule_id
                except EngineError as exc:
                    got = "error" if "not a valid" in exc.message or "time zone" in exc.message else exc.message
                if got != expected:
                    wrong.append((n, trigger, facts, got, expected))
                done[n] += 1
        except BaseException as exc:
            crashed.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not crashed
    assert not wrong[:3], f"{len(wrong)} wrong answers"
    assert done == [1000] * 16
    assert len({rule_id for cases in work for *_, rule_id in cases}) > 10  # many different answers


def test_an_action_failing_inside_the_engine_raises(monkeypatch: pytest.MonkeyPatch,
                                                    complaint: CompiledRuleset) -> None:
    """durable-rules swallows exceptions raised in actions; the missing record must not pass silently."""

    def failing(action_name: str, event_id: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(rules.engine, "_record", failing)
    with pytest.raises(EngineError, match="recorded 0 outcomes"):
        DurableEvaluator().evaluate(complaint, "case.submitted", {"severity": "high"})
    with pytest.raises(EngineError, match="recorded 0 outcomes"):
        DurableEvaluator().evaluate(complaint, "case.submitted", {})


def test_a_doubled_record_raises(monkeypatch: pytest.MonkeyPatch, complaint: CompiledRuleset) -> None:
    original = rules.engine._record

    def twice(action_name: str, event_id: Any) -> None:
        original(action_name, event_id)
        original(action_name, event_id)

    monkeypatch.setattr(rules.engine, "_record", twice)
    with pytest.raises(EngineError, match="recorded 2 outcomes"):
        DurableEvaluator().evaluate(complaint, "case.submitted", {"severity": "high"})


def test_an_outcome_recorded_for_another_event_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                          complaint: CompiledRuleset) -> None:
    """An action the engine left over from an earlier event must not pass as this event's outcome."""
    original = rules.engine._record
    monkeypatch.setattr(rules.engine, "_record", lambda name, event_id: original(name, event_id - 1))
    with pytest.raises(EngineError, match="for another event"):
        DurableEvaluator().evaluate(complaint, "case.submitted", {"severity": "high"})


def test_one_name_with_two_definitions_keeps_both_apart(build: Any) -> None:
    """Two installations (or test databases) in one process may both have `<slug>@v1`; neither sees the other's."""
    slug = unique_slug()
    first = compile_ruleset(build(rule("a", 10, clause("amount", "gt", 1))), case_type=slug, version=1)
    second = compile_ruleset(build(rule("a", 10, clause("amount", "gt", 7))), case_type=slug, version=1)
    assert first.name == second.name == f"{slug}@v1"
    assert DurableEvaluator().evaluate(first, "case.submitted", {"amount": 5}).rule_id == "a"
    assert DurableEvaluator().evaluate(second, "case.submitted", {"amount": 5}).rule_id is None
    assert DurableEvaluator().evaluate(first, "case.submitted", {"amount": 5}).rule_id == "a"
    assert DurableEvaluator().evaluate(second, "case.submitted", {"amount": 8}).rule_id == "a"


def test_registration_leaves_the_compiled_definition_untouched(complaint: CompiledRuleset) -> None:
    before = json.dumps(complaint.to_json(), sort_keys=True)
    DurableEvaluator().load(complaint)
    DurableEvaluator().evaluate(complaint, "case.submitted", {"severity": "low"})
    assert json.dumps(complaint.to_json(), sort_keys=True) == before
    assert all("run" in r for r in complaint.definition.values())


def _evaluate_in_child(compiled: CompiledRuleset) -> None:
    fresh = not engine_built()
    ok = DurableEvaluator().evaluate(compiled, "case.submitted", {"amount": Decimal("10000.01")}).rule_id == "big"
    os._exit(0 if fresh and ok else 3)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_builds_its_own_host(build: Any) -> None:
    compiled = compile_ruleset(build(rule("big", 10, clause("amount", "gt", 10000))), case_type=unique_slug(),
                               version=1)
    assert DurableEvaluator().evaluate(compiled, "case.submitted", {"amount": 10000}).rule_id is None
    assert engine_built()
    child = multiprocessing.get_context("fork").Process(target=_evaluate_in_child, args=(compiled,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert DurableEvaluator().evaluate(compiled, "case.submitted", {"amount": 10001}).rule_id == "big"
