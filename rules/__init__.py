"""The rule language: conditions (from forms) plus actions, compiled to durable-rules and evaluated safely.

No database, no web framework, and nothing built at import: the durable-rules host is created on the first
evaluation (see rules.engine). Typical use from cases/::

    ruleset = validate_ruleset(document, context)                  # RuleInvalid with paths when wrong
    compiled = compile_ruleset(ruleset, case_type="complaint", version=3)
    evaluation = DurableEvaluator().evaluate(compiled, "case.submitted", facts)
    for decision in evaluation.decisions: ...                       # EngineError -> fallback queue

``rules.backtest.backtest`` is not re-exported here: the name would hide the ``rules.backtest`` module.
"""

from __future__ import annotations

from rules.actions import ACTIONS, describe_action, validate_action
from rules.backtest import BacktestReport, CaseChange, Disagreement, cross_check, simulate
from rules.compile import CompiledRuleset, compile_draft, compile_ruleset, engine_problems
from rules.engine import DurableEvaluator, Evaluator, ReferenceEvaluator, engine_built
from rules.errors import EngineError, RuleInvalid, RuleProblem, RulesError
from rules.facts import normalize_facts
from rules.model import (
    CASE_ATTRIBUTES,
    CASE_PRIORITIES,
    RECENT_CASES,
    SCHEMA_VERSION,
    TRIGGERS,
    Action,
    Decision,
    Evaluation,
    Rule,
    RuleSet,
    ValidationContext,
    recent_cases_key,
)
from rules.summary import describe_condition, summarize_rule, summarize_ruleset
from rules.validate import check_ruleset, validate_ruleset

__all__ = [
    "ACTIONS",
    "CASE_ATTRIBUTES",
    "CASE_PRIORITIES",
    "RECENT_CASES",
    "SCHEMA_VERSION",
    "TRIGGERS",
    "Action",
    "BacktestReport",
    "CaseChange",
    "CompiledRuleset",
    "Decision",
    "Disagreement",
    "DurableEvaluator",
    "EngineError",
    "Evaluation",
    "Evaluator",
    "ReferenceEvaluator",
    "Rule",
    "RuleInvalid",
    "RuleProblem",
    "RuleSet",
    "RulesError",
    "ValidationContext",
    "check_ruleset",
    "compile_draft",
    "compile_ruleset",
    "cross_check",
    "describe_action",
    "describe_condition",
    "engine_built",
    "engine_problems",
    "normalize_facts",
    "recent_cases_key",
    "simulate",
    "summarize_rule",
    "summarize_ruleset",
    "validate_action",
    "validate_ruleset",
]
