"""The rule model, the normal forms behind compilation, and the package's boundaries."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

from forms.conditions import parse_condition
from rules.errors import EngineError, RuleInvalid, RuleProblem, RulesError
from rules.logic import Literal, is_always, to_dnf
from rules.model import CASE_ATTRIBUTES, Decision, Evaluation, ValidationContext, recent_cases_key
from tests.rules.rules_helpers import clause, rule

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"


def test_context_merges_case_attributes(ctx: ValidationContext) -> None:
    families = ctx.families()
    assert families["amount"] == "number" and families["case.state"] == "choice"
    assert families["case.tags"] == "multi" and families["case.age_hours"] == "number"
    options = ctx.condition_options()
    assert options["case.priority"] == ["low", "normal", "high", "urgent"]
    assert options["case.sla_kind"] == ["response", "resolution"]
    assert options["case.queue"] == ["general", "escalations", "finance", "vip"]
    assert ctx.labels()["case.state"] == "State" and ctx.labels()["quantity"] == "quantity"
    assert ctx.user("  BOB@example.COM ") == "Bob@Example.com" and ctx.user("carol@example.com") is None
    assert set(CASE_ATTRIBUTES) == {"case.state", "case.queue", "case.priority", "case.age_hours", "case.tags",
                                    "case.transition", "case.sla_kind", "case.requester_recent_cases"}


def test_windowed_fact_keys() -> None:
    assert recent_cases_key(90) == "case.requester_recent_cases.90"


def test_rules_in_firing_order(build: Any) -> None:
    ruleset = build(rule("c", 30), rule("a", 10, clause("amount", "gt", 1)), rule("b", 20, clause("amount", "gt", 2)),
                    rule("off", 5, clause("amount", "gt", 3), enabled=False), rule("u", 1, trigger="case.updated"))
    assert [r.id for r in ruleset.for_trigger("case.submitted")] == ["a", "b", "c"]
    assert ruleset.rule("u").trigger == "case.updated"
    assert ruleset.required_facts() == {"amount"}


def test_outcomes_ignore_who_decided_and_in_which_order() -> None:
    one = Evaluation("case.submitted", "a", "A", "x@v1", 1, (Decision("add_tag", {"tag": "x"}, "a"),
                                                            Decision("set_priority", {"priority": "high"}, "a")))
    two = Evaluation("case.submitted", "b", "B", "x@v2", 2, (Decision("set_priority", {"priority": "high"}, "b"),
                                                            Decision("add_tag", {"tag": "x"}, "b")))
    assert one.outcome() == two.outcome() and one.matched
    assert Evaluation("case.submitted", None, None, "x@v1", 1).outcome() == ()


def test_errors_form_one_tree() -> None:
    assert issubclass(RuleInvalid, RulesError) and issubclass(EngineError, RulesError)
    error = RuleInvalid([("rules[2].actions[0].queue", "Unknown queue 'x'.")])
    assert error.errors == [RuleProblem("rules[2].actions[0].queue", "Unknown queue 'x'.")]
    assert str(error) == "rules[2].actions[0].queue: Unknown queue 'x'."
    assert str(EngineError("boom", ruleset="c@v1")) == "boom [c@v1]"


FAMILIES = {"a": "number", "b": "text", "c": "choice"}


def _dnf(condition: dict[str, Any]) -> list[set[tuple[str, str, bool]]]:
    return [{(lit.clause.field, lit.clause.op, lit.positive) for lit in conj}
            for conj in to_dnf(parse_condition(condition, FAMILIES))]


def test_normal_form_pushes_negation_to_literals() -> None:
    assert _dnf({"not": {"all": [clause("a", "gt", 1), clause("b", "neq", "x")]}}) == [
        {("a", "gt", False)}, {("b", "eq", True)}]
    assert _dnf({"all": [{"any": [clause("a", "gt", 1), clause("c", "eq", "k")]}, clause("b", "not_empty")]}) == [
        {("a", "gt", True), ("b", "empty", False)}, {("c", "eq", True), ("b", "empty", False)}]


def test_normal_form_simplifies() -> None:
    gt = clause("a", "gt", 1)
    assert _dnf({"all": [gt, gt]}) == [{("a", "gt", True)}]
    assert _dnf({"all": [gt, {"not": gt}]}) == []  # a contradiction never matches
    assert _dnf({"any": [gt, {"all": [gt, clause("c", "eq", "k")]}]}) == [{("a", "gt", True)}]  # absorption
    assert is_always(parse_condition({"all": []}, FAMILIES)) is True
    assert is_always(parse_condition({"not": {"all": []}}, FAMILIES)) is False
    assert is_always(parse_condition(gt, FAMILIES)) is None
    assert Literal.of(parse_condition(clause("c", "not_in", ["k"]), FAMILIES)).positive is False


def test_rules_imports_only_forms_the_standard_library_and_durable_rules() -> None:
    allowed = {"forms", "rules", "durable", "durable_rules_engine"}
    stdlib = set(sys.stdlib_module_names)
    for path in RULES_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                top = name.split(".")[0]
                assert top in allowed | stdlib, f"{path.name} imports {name}"
