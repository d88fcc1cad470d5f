"""durable-rules and the plain-Python reference evaluator agree, case by case, on seeded random cases."""

from __future__ import annotations

from typing import Any

import pytest

from rules.compile import CompiledRuleset, compile_ruleset
from rules.engine import DurableEvaluator, ReferenceEvaluator
from rules.errors import EngineError
from rules.model import RuleSet
from rules.validate import validate_ruleset
from tests.rules.rules_corpus import NAMED_RULESETS, CaseGenerator, random_ruleset
from tests.rules.rules_helpers import doc, make_context, unique_slug

CASES_PER_RULESET = 5000


def _outcome(evaluator: Any, compiled: CompiledRuleset, trigger: str, facts: dict[str, Any]) -> Any:
    try:
        evaluation = evaluator.evaluate(compiled, trigger, facts)
    except EngineError as exc:
        return ("error", exc.message)
    return (evaluation.rule_id, evaluation.outcome())


def _rulesets() -> list[tuple[str, RuleSet]]:
    ctx = make_context()
    named = [(name, validate_ruleset(document, ctx)) for name, document in NAMED_RULESETS.items()]
    return named + [(f"random_{seed}", random_ruleset(seed, ctx)) for seed in (1, 2, 3)]


RULESETS = _rulesets()


def test_the_big_ruleset_uses_every_family_and_operator() -> None:
    ruleset = dict(RULESETS)["every_family"]
    families = {ruleset.families[key] for key in ruleset.families}
    assert families == {"text", "number", "date", "datetime", "choice", "multi", "bool", "file", "group"}
    assert len(ruleset.rules) >= 20
    ops: dict[str, set[str]] = {}
    for rule in NAMED_RULESETS["every_family"]["rules"]:
        stack = [rule["condition"]]
        while stack:
            node = stack.pop()
            for kind in ("all", "any"):
                stack.extend(node.get(kind, []))
            if "not" in node:
                stack.append(node["not"])
            if "field" in node:
                family = ruleset.families.get(node["field"]) or ("number" if "days" in node else None)
                ops.setdefault(family or "?", set()).add(node["op"])
    from forms.conditions import FAMILY_OPERATORS

    for family, allowed in FAMILY_OPERATORS.items():
        assert allowed <= ops.get(family, set()), (family, allowed - ops.get(family, set()))


@pytest.mark.parametrize(("name", "ruleset"), RULESETS, ids=[name for name, _ in RULESETS])
def test_durable_rules_and_reference_agree(name: str, ruleset: RuleSet) -> None:
    compiled = compile_ruleset(ruleset, case_type=unique_slug(), version=1)
    durable, reference = DurableEvaluator(), ReferenceEvaluator()
    generator = CaseGenerator(ruleset, seed=hash(name) % 10_000)
    disagreements = []
    fired: set[Any] = set()
    for i in range(CASES_PER_RULESET):
        trigger, facts = generator.case()
        left = _outcome(durable, compiled, trigger, facts)
        right = _outcome(reference, compiled, trigger, facts)
        fired.add(right[0])
        if left != right:
            disagreements.append((i, trigger, facts, left, right))
    assert not disagreements[:5], f"{len(disagreements)} disagreements, first: {disagreements[:3]}"
    # the cases are worth something only if they exercise the rules: most rules fire at least once
    enabled = {r.id for r in ruleset.rules if r.enabled}
    assert len(fired & enabled) >= 0.4 * len(enabled), sorted(enabled - fired)
    assert None in fired


@pytest.mark.parametrize("seed", [4, 5])
def test_each_random_rule_alone_agrees(seed: int) -> None:
    """Rules deep in a ruleset are rarely the first match; alone, every compiled condition is checked."""
    ctx = make_context()
    ruleset = random_ruleset(seed, ctx)
    durable, reference = DurableEvaluator(), ReferenceEvaluator()
    for rule in ruleset.rules:
        alone = validate_ruleset(doc(rule.to_json()), ctx)
        compiled = compile_ruleset(alone, case_type=unique_slug(), version=1)
        generator = CaseGenerator(alone, seed=seed)
        outcomes = set()
        for _ in range(300):
            _, facts = generator.case()
            left = _outcome(durable, compiled, rule.trigger, facts)
            right = _outcome(reference, compiled, rule.trigger, facts)
            assert left == right, (rule.id, rule.condition, facts, left, right)
            outcomes.add(right[0])
        assert rule.id in outcomes or len(outcomes) == 1, rule.condition
