"""Plain-language summaries of rules, for the designer and the audit trail.

"When a case is submitted and Severity is High or Critical or Customer tier is Gold: route to Escalations,
set priority to Urgent, due in 4 business hours". Conditions read as ``forms.conditions.describe`` writes
them; labels of fields, options, queues, states and users come from the caller's ValidationContext.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from forms.conditions import condition_to_json, describe, referenced_fields
from rules.actions import describe_action
from rules.model import RECENT_CASES, TRIGGERS, Rule, RuleSet, ValidationContext, recent_cases_label


def _for_display(node: Any, families: dict[str, str]) -> Any:
    """Numbers back from their JSON text ("10000.01") so they read as numbers, not quoted text."""
    if isinstance(node, dict):
        if "field" in node and families.get(str(node["field"])) == "number" and "value" in node:
            value = node["value"]
            shown = [Decimal(v) if isinstance(v, str) else v for v in value] if isinstance(value, list) else (
                Decimal(value) if isinstance(value, str) else value)
            return {**node, "value": shown}
        return {key: _for_display(item, families) for key, item in node.items()}
    if isinstance(node, list):
        return [_for_display(item, families) for item in node]
    return node


def describe_condition(rule: Rule, ctx: ValidationContext) -> str:
    """The rule's condition in plain language ("always" for an unconditional rule)."""
    labels = ctx.labels()
    families = ctx.families()
    for key in referenced_fields(rule.parsed):
        if key.startswith(RECENT_CASES + "."):
            labels[key] = recent_cases_label(int(key.rsplit(".", 1)[1]))
            families[key] = "number"
    shown = _for_display(condition_to_json(rule.parsed), families)
    return describe(shown, labels, ctx.all_option_labels(), families=families)


def summarize_rule(rule: Rule, ctx: ValidationContext) -> str:
    """One sentence: when it fires, on what condition, and what it decides."""
    when = TRIGGERS.get(rule.trigger, rule.trigger)
    condition = describe_condition(rule, ctx)
    head = f"When {when}" if condition == "always" else f"When {when} and {condition}"
    actions = ", ".join(describe_action(action, ctx) for action in rule.actions)
    text = f"{head}: {actions}"
    return text if rule.enabled else f"{text} (disabled)"


def summarize_ruleset(ruleset: RuleSet, ctx: ValidationContext) -> list[tuple[str, str]]:
    """(rule id, summary) for every rule, in the order each trigger tries them."""
    ordered = sorted(ruleset.rules, key=lambda r: (list(TRIGGERS).index(r.trigger), r.priority))
    return [(rule.id, summarize_rule(rule, ctx)) for rule in ordered]
