"""Validate a ruleset document against what the case type offers, with messages an admin understands.

Every problem is collected (not just the first) and tied to the offending part of the document, e.g.
``rules[2].actions[0].queue`` or ``rules[1].condition.any[0].value``. Condition checks are the forms
package's own (``forms.conditions.validate_condition``); this module adds what is specific to rules:
the document's shape, triggers, case attributes, actions, unique ids and priorities, rules that can
never fire, and what the durable-rules engine cannot take (rules.compile).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from forms.conditions import condition_to_json, parse_condition, referenced_fields, validate_condition
from rules.actions import ACTIONS, validate_action
from rules.compile import engine_problems
from rules.errors import RuleInvalid, RuleProblem
from rules.logic import is_always
from rules.model import (
    CASE_ATTRIBUTES,
    MAX_RECENT_DAYS,
    RECENT_CASES,
    SCHEMA_VERSION,
    TRIGGERS,
    Action,
    Rule,
    RuleSet,
    ValidationContext,
    recent_cases_key,
)

MAX_RULES = 250
MAX_ACTIONS = 20
MAX_NAME_CHARS = 120
MAX_DESCRIPTION_CHARS = 1000
MAX_PRIORITY = 1_000_000
RULE_KEYS = frozenset({"id", "name", "description", "trigger", "priority", "enabled", "condition", "actions"})
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_WINDOW_RE = re.compile(re.escape(RECENT_CASES) + r"\.\d+")
_EXCLUSIVE_ACTIONS = ("move_to_state", "require_approval")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Resolver:
    """Rewrites windowed clauses to their fact key and checks trigger-only case attributes.

    ``{"field": "case.requester_recent_cases", "days": 90, ...}`` becomes a clause on the number fact
    ``case.requester_recent_cases.90``, so the forms validator and evaluator need no notion of windows.
    Paths follow the forms validator's, so problems from both read alike.
    """

    def __init__(self, trigger: Any, problems: list[RuleProblem], prefix: str) -> None:
        self.trigger = trigger
        self.problems = problems
        self.prefix = prefix
        self.windows: dict[str, str] = {}

    def fail(self, path: str, message: str) -> None:
        self.problems.append(RuleProblem(_join(self.prefix, path), message))

    def node(self, node: Any, path: str, depth: int = 0) -> Any:
        if depth > 40 or not isinstance(node, Mapping):
            return node  # the forms validator reports it
        groups = [key for key in ("all", "any", "not") if key in node]
        if groups:
            kind = groups[0]
            here = _join(path, kind)
            body = node[kind]
            if kind == "not":
                return {**node, "not": self.node(body, here, depth + 1)}
            if isinstance(body, list | tuple):
                return {**node, kind: [self.node(item, f"{here}[{i}]", depth + 1) for i, item in enumerate(body)]}
            return node
        return self.clause(node, path)

    def clause(self, node: Mapping[str, Any], path: str) -> Any:
        out = dict(node)
        field = node.get("field")
        attr = CASE_ATTRIBUTES.get(field) if isinstance(field, str) else None
        if attr is not None and attr.triggers is not None and self.trigger not in attr.triggers:
            needed = " or ".join(sorted(attr.triggers))
            self.fail(_join(path, "field"), f"{field} only has a value when the trigger is {needed}.")
        if attr is not None and attr.windowed:
            days = out.pop("days", None)
            if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_RECENT_DAYS:
                self.fail(_join(path, "days"), f"Say how many days back to count ({RECENT_CASES} needs 'days', "
                                               f"a whole number from 1 to {MAX_RECENT_DAYS}).")
            else:
                key = recent_cases_key(days)
                self.windows[key] = attr.family
                out["field"] = key
        elif "days" in out:
            out.pop("days")
            self.fail(_join(path, "days"), f"Only {RECENT_CASES} takes 'days'.")
        return out


def _text(raw: Mapping[str, Any], key: str, path: str, problems: list[RuleProblem], *, limit: int,
          required: bool) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        problems.append(RuleProblem(_join(path, key), f"Enter the rule's {key}."))
        return ""
    if len(value) > limit:
        problems.append(RuleProblem(_join(path, key), f"The {key} has at most {limit} characters."))
    return value.strip()


def _rule(raw: Any, index: int, ctx: ValidationContext, families: dict[str, str],
          problems: list[RuleProblem]) -> Rule | None:
    path = f"rules[{index}]"
    if not isinstance(raw, Mapping):
        problems.append(RuleProblem(path, "A rule is an object with id, name, trigger, priority, condition "
                                          "and actions."))
        return None
    before = len(problems)
    for key in raw:
        if key not in RULE_KEYS:
            problems.append(RuleProblem(_join(path, str(key)), f"Unknown key {str(key)!r} in a rule "
                                                               f"(allowed: {', '.join(sorted(RULE_KEYS))})."))
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _ID_RE.fullmatch(rule_id):
        problems.append(RuleProblem(f"{path}.id", "Give the rule a stable id: up to 64 letters, digits, '_', '-', "
                                                  "'.' or ':', starting with a letter or digit."))
    name = _text(raw, "name", path, problems, limit=MAX_NAME_CHARS, required=True)
    description = _text(raw, "description", path, problems, limit=MAX_DESCRIPTION_CHARS, required=False)
    trigger = raw.get("trigger")
    if trigger not in TRIGGERS:
        problems.append(RuleProblem(f"{path}.trigger", f"Unknown trigger {trigger!r}: use one of "
                                                       f"{', '.join(TRIGGERS)}."))
    priority = raw.get("priority")
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= MAX_PRIORITY:
        problems.append(RuleProblem(f"{path}.priority", f"Give a priority: a whole number from 0 to {MAX_PRIORITY} "
                                                        "(lower numbers are tried first)."))
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(RuleProblem(f"{path}.enabled", "Say whether the rule is enabled: true or false."))
    parsed = _condition(raw, path, trigger, ctx, families, problems)
    actions = _actions(raw.get("actions"), f"{path}.actions", ctx, problems)
    if len(problems) > before or parsed is None or actions is None:
        return None
    assert isinstance(rule_id, str) and isinstance(trigger, str) and isinstance(priority, int)
    return Rule(id=rule_id, name=name, trigger=trigger, priority=priority, enabled=bool(enabled),
                condition=json.loads(json.dumps(raw["condition"], default=str)), actions=actions,
                parsed=parsed[0], index=index, description=description)


def _condition(raw: Mapping[str, Any], path: str, trigger: Any, ctx: ValidationContext,
               families: dict[str, str], problems: list[RuleProblem]) -> tuple[Any, dict[str, str]] | None:
    where = f"{path}.condition"
    if "condition" not in raw:
        problems.append(RuleProblem(where, 'Give a condition; {"all": []} means "always".'))
        return None
    resolver = _Resolver(trigger, problems, where)
    before = len(problems)
    resolved = resolver.node(raw["condition"], "")
    known = {**ctx.families(), **resolver.windows}
    options = ctx.condition_options()
    for error in validate_condition(resolved, known, options):
        message = _WINDOW_RE.sub(RECENT_CASES, error.message)
        problems.append(RuleProblem(_join(where, error.path), message))
    if len(problems) > before:
        return None
    parsed = parse_condition(resolved, known, options)
    for key in referenced_fields(parsed):
        families[key] = known[key]
    return parsed, resolver.windows


def _actions(raw: Any, path: str, ctx: ValidationContext, problems: list[RuleProblem]) -> tuple[Action, ...] | None:
    if not isinstance(raw, list) or not raw:
        problems.append(RuleProblem(path, "Give the rule at least one action."))
        return None
    if len(raw) > MAX_ACTIONS:
        problems.append(RuleProblem(path, f"A rule has at most {MAX_ACTIONS} actions."))
        return None
    actions: list[Action] = []
    seen: dict[str, int] = {}
    ok = True
    for i, item in enumerate(raw):
        action, found = validate_action(item, ctx, f"{path}[{i}]")
        problems.extend(found)
        if action is None:
            ok = False
            continue
        if ACTIONS[action.type].once and action.type in seen:
            problems.append(RuleProblem(f"{path}[{i}].type", f"This rule already has a {action.type} action "
                                                             f"({path}[{seen[action.type]}]); keep one."))
            ok = False
        seen.setdefault(action.type, i)
        actions.append(action)
    if all(kind in seen for kind in _EXCLUSIVE_ACTIONS):
        problems.append(RuleProblem(f"{path}[{seen['require_approval']}].type",
                                    "A rule either moves the case to a state or asks for approval, not both."))
        ok = False
    return tuple(actions) if ok else None


@dataclass(frozen=True)
class _Head:
    """What cross-rule checks need of a rule, read even when other parts of the rule are invalid."""

    index: int
    id: Any
    name: str
    trigger: Any
    priority: Any

    @property
    def path(self) -> str:
        return f"rules[{self.index}]"


def _heads(raw_rules: list[Any]) -> list[_Head]:
    out = []
    for i, raw in enumerate(raw_rules):
        if isinstance(raw, Mapping):
            name = raw.get("name")
            out.append(_Head(i, raw.get("id"), name if isinstance(name, str) else f"rules[{i}]",
                             raw.get("trigger"), raw.get("priority")))
    return out


def _duplicates(heads: list[_Head], problems: list[RuleProblem]) -> None:
    """Unique ids across the ruleset, unique priorities per trigger (disabled rules included)."""
    by_id: dict[str, _Head] = {}
    for head in heads:
        if not isinstance(head.id, str):
            continue
        first = by_id.setdefault(head.id, head)
        if first is not head:
            problems.append(RuleProblem(f"{head.path}.id", f"Rule {first.name!r} ({first.path}) already has the id "
                                                           f"{head.id!r}; ids must be unique."))
    by_priority: dict[tuple[str, int], _Head] = {}
    for head in heads:
        if head.trigger not in TRIGGERS or isinstance(head.priority, bool) or not isinstance(head.priority, int):
            continue
        first = by_priority.setdefault((head.trigger, head.priority), head)
        if first is not head:
            problems.append(RuleProblem(f"{head.path}.priority", (
                f"Rule {head.name!r} has the same priority ({head.priority}) as rule {first.name!r} "
                f"({first.path}) for {head.trigger}; the priority decides which rule is tried first, so give "
                "each rule of a trigger its own.")))


def _canonical(rule: Rule) -> str:
    return json.dumps(condition_to_json(rule.parsed), sort_keys=True, default=str)


def _dead_rules(rules: list[Rule], problems: list[RuleProblem]) -> None:
    """Enabled rules that can never fire: never-true conditions, or shadowed by an earlier rule."""
    always = {rule.index: is_always(rule.parsed) for rule in rules if rule.enabled}
    canonical = {rule.index: _canonical(rule) for rule in rules if rule.enabled}
    for trigger in TRIGGERS:
        enabled = sorted((r for r in rules if r.trigger == trigger and r.enabled), key=lambda r: (r.priority, r.index))
        for position, rule in enumerate(enabled):
            if always[rule.index] is False:
                problems.append(RuleProblem(f"{rule.path}.condition", f"Rule {rule.name!r} can never fire: its "
                                                                      "condition is never true."))
                continue
            for earlier in enabled[:position]:
                if earlier.priority == rule.priority:
                    continue
                if always[earlier.index] is True:
                    problems.append(RuleProblem(rule.path, (
                        f"Rule {rule.name!r} can never fire: rule {earlier.name!r} ({earlier.path}, priority "
                        f"{earlier.priority}) is tried first and always matches. Give {rule.name!r} a lower "
                        "priority number or add a condition to the other rule.")))
                    break
                if canonical[earlier.index] == canonical[rule.index]:
                    problems.append(RuleProblem(f"{rule.path}.condition", (
                        f"Rule {rule.name!r} can never fire: rule {earlier.name!r} ({earlier.path}, priority "
                        f"{earlier.priority}) has the same condition and is tried first.")))
                    break


def check_ruleset(doc: Any, ctx: ValidationContext) -> tuple[RuleSet | None, list[RuleProblem]]:
    """The validated ruleset (None when invalid) and every problem found."""
    problems: list[RuleProblem] = []
    if not isinstance(doc, Mapping):
        return None, [RuleProblem("", 'A ruleset is an object: {"schema_version": 1, "rules": [...]}.')]
    for key in doc:
        if key not in ("schema_version", "rules"):
            problems.append(RuleProblem(str(key), f"Unknown key {str(key)!r} in a ruleset."))
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        problems.append(RuleProblem("schema_version", f"This ruleset has schema_version {version!r}; this version "
                                                      f"of Casework reads schema_version {SCHEMA_VERSION}."))
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list):
        problems.append(RuleProblem("rules", "Give the rules as a list (it may be empty)."))
        return None, problems
    if len(raw_rules) > MAX_RULES:
        problems.append(RuleProblem("rules", f"A ruleset has at most {MAX_RULES} rules."))
        return None, problems
    families: dict[str, str] = {}
    rules = [_rule(raw, i, ctx, families, problems) for i, raw in enumerate(raw_rules)]
    valid = [rule for rule in rules if rule is not None]
    _duplicates(_heads(raw_rules), problems)
    _dead_rules(valid, problems)
    if problems:
        return None, problems
    enabled_keys = set().union(*(referenced_fields(r.parsed) for r in valid if r.enabled))
    ruleset = RuleSet(rules=tuple(valid), families={k: v for k, v in families.items() if k in enabled_keys})
    problems.extend(engine_problems(ruleset))
    return (None, problems) if problems else (ruleset, [])


def validate_ruleset(doc: Any, ctx: ValidationContext) -> RuleSet:
    """The validated ruleset; raises RuleInvalid with every problem (and its path) otherwise."""
    ruleset, problems = check_ruleset(doc, ctx)
    if ruleset is None:
        raise RuleInvalid(problems)
    return ruleset
