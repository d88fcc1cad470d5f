"""Trying a case type's draft rules before they are published.

- ``draft_rules``: what the rule designer shows of a draft: its rules, what they may refer to, their
  problems (even while the rest of the case type has problems of its own) and their summaries;
- ``simulate_draft``: one sample case through the compiled draft, in durable-rules *and* in the
  plain-Python reference evaluator, so a disagreement between them is seen before it matters;
- the back-test of a draft against the last filed cases is cases/rule_backtest.py.

Nothing here writes: trying rules never touches a case.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from case_types import loading
from case_types.errors import NotFound, ValidationFailed
from cases import accounts, automation, definitions, kinds
from cases.case_versions import pinned_form_version
from cases.models import Definition, Role
from cases.submissions import form_schema
from forms.errors import DefinitionError, DefinitionProblem
from forms.schema import FormSchema
from rules import (
    CASE_PRIORITIES,
    RECENT_CASES,
    TRIGGERS,
    Action,
    CompiledRuleset,
    Decision,
    DurableEvaluator,
    EngineError,
    Evaluation,
    Evaluator,
    ReferenceEvaluator,
    RuleInvalid,
    RuleProblem,
    RuleSet,
    ValidationContext,
    check_ruleset,
    compile_draft,
    describe_action,
    recent_cases_key,
    summarize_rule,
)
from rules import editing as rule_editing
from rules.model import SLA_KINDS, recent_cases_label

SUBMITTED = "case.submitted"
# How the two evaluators are named to admins (the engine's name is nobody's business but the developers').
EVALUATORS = {"durable": "the rules as they run", "reference": "the cross-check"}


# ---------------------------------------------------------------- the draft's rules


def rules_document(case_type_document: Mapping[str, Any]) -> dict[str, Any]:
    """The rules of a case-type document, as a ruleset document (empty when it has none)."""
    return rule_editing.normalized(case_type_document.get("rules"))


def with_rules(case_type_document: Mapping[str, Any], rules: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the case-type document with these rules."""
    document = dict(case_type_document)
    document["rules"] = rule_editing.normalized(rules)
    return document


def _form_schema(session: Session, document: Mapping[str, Any]) -> FormSchema | None:
    slug, number = document.get("form"), document.get("form_version")
    if not isinstance(slug, str) or not isinstance(number, int) or isinstance(number, bool):
        return None
    try:
        return form_schema(pinned_form_version(session, slug, number))
    except NotFound:
        return None


def draft_form_schema(session: Session, document: Mapping[str, Any]) -> FormSchema | None:
    """The form version a case-type draft points at (None when it points at none that exists)."""
    return _form_schema(session, document)


def _lenient_context(session: Session, document: Mapping[str, Any]) -> ValidationContext:
    """What rules may refer to, read from a draft that does not load as a case type (yet)."""
    schema = _form_schema(session, document)
    states = [s for s in document.get("states") or [] if isinstance(s, Mapping) and isinstance(s.get("key"), str)]
    moves = [t for t in document.get("transitions") or [] if isinstance(t, Mapping) and isinstance(t.get("key"), str)]
    catalogue = [i for i in document.get("discretionary") or []
                 if isinstance(i, Mapping) and isinstance(i.get("key"), str)]
    queues = accounts.list_queues(session, include_inactive=False)
    users = [u for u in accounts.list_users(session) if u.active]
    return ValidationContext(
        fields=dict(schema.families) if schema else {}, options=schema.options() if schema else {},
        queues=[q.slug for q in queues], states=[s["key"] for s in states], transitions=[t["key"] for t in moves],
        users=[u.email for u in users], roles=[Role.AGENT.value, Role.ADMIN.value],
        field_labels=schema.labels() if schema else {}, option_labels=schema.option_labels() if schema else {},
        queue_labels={q.slug: q.name for q in queues},
        state_labels={s["key"]: str(s.get("label") or s["key"]) for s in states},
        transition_labels={t["key"]: str(t.get("label") or t["key"]) for t in moves},
        role_labels={"agent": "Agent", "admin": "Admin"}, user_labels={u.email: u.name for u in users},
        tasks=[i["key"] for i in catalogue], task_labels={i["key"]: str(i.get("label") or i["key"]) for i in catalogue},
    )


def draft_context(session: Session, document: Mapping[str, Any]) -> ValidationContext:
    """What the draft's rules may refer to: exactly what publishing checks them against, or (while the
    case type itself does not load) the same read leniently from the draft."""
    try:
        spec = loading.load_case_type(document, kinds.case_type_context(session, document))
        return automation.rules_context(session, spec)
    except (DefinitionError, NotFound):
        return _lenient_context(session, document)


def _rule_summaries(rules: Sequence[Any], context: ValidationContext) -> dict[str, str]:
    """A summary of every rule that is valid on its own (others have problems to fix first)."""
    out: dict[str, str] = {}
    for raw in rules:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
            continue
        alone, _problems = check_ruleset({"schema_version": 1, "rules": [raw]}, context)
        if alone is not None:
            out[raw["id"]] = summarize_rule(alone.rules[0], context)
    return out


@dataclass(frozen=True)
class DraftRules:
    """The rules of a case-type draft, as the rule designer shows them."""

    document: dict[str, Any]
    """The ruleset document (``{"schema_version": 1, "rules": [...]}``)."""
    context: ValidationContext
    ruleset: RuleSet | None
    """The validated ruleset, None while it has problems."""
    problems: list[RuleProblem]
    """Problems of the rules, with paths into ``document`` (``rules[2].actions[0].queue``)."""
    case_type_problems: list[DefinitionProblem]
    """Problems elsewhere in the case type (they keep it from being published too)."""
    summaries: dict[str, str]
    """Rule id -> plain-language summary, for every rule that is valid on its own."""


def _is_rules_path(path: str) -> bool:
    return path == "rules" or path.startswith("rules.")


def draft_rules(session: Session, definition: Definition) -> DraftRules:
    """The draft's rules with their problems and summaries."""
    document = definitions.draft_document(definition)
    context = draft_context(session, document)
    rules = rules_document(document)
    ruleset, problems = check_ruleset(rules, context)
    others = [p for p in definitions.draft_problems(session, definition) if not _is_rules_path(p.path)]
    if ruleset is not None:
        summaries = {rule.id: summarize_rule(rule, context) for rule in ruleset.rules}
    else:
        summaries = _rule_summaries(rule_editing.rules_of(rules), context)
    return DraftRules(document=rules, context=context, ruleset=ruleset, problems=problems,
                      case_type_problems=others, summaries=summaries)


def compiled_draft(draft: DraftRules, slug: str) -> tuple[CompiledRuleset | None, str]:
    if draft.ruleset is None:
        count = len(draft.problems)
        return None, (f"The rules have {count} problem{'s' if count != 1 else ''} to fix first; "
                      "only a draft without problems can be tried.")
    if not draft.ruleset.rules:
        return None, "The draft has no rules yet: add one first."
    try:
        return compile_draft(draft.ruleset, case_type=slug), ""
    except RuleInvalid as exc:
        return None, f"The rules engine cannot take these rules: {exc}"


def describe_decisions(decisions: Iterable[Decision], context: ValidationContext) -> tuple[str, ...]:
    """Each decision in plain language ("move to CFO approval")."""
    return tuple(describe_action(Action(d.action, d.params), context) for d in decisions)


# ---------------------------------------------------------------- a sample case


@dataclass(frozen=True)
class SampleCase:
    """A made-up case: answers to the form (as typed) and the case's attributes (as chosen)."""

    answers: Mapping[str, Any] = field(default_factory=dict)
    state: str = ""
    queue: str = ""
    priority: str = "normal"
    age_hours: str = ""
    tags: str = ""
    transition: str = ""
    sla_kind: str = ""
    earlier_cases: str = ""


@dataclass(frozen=True)
class Answer:
    """What one evaluator decided for the sample case (or why it could not)."""

    evaluator: str
    label: str
    rule_id: str | None = None
    rule_name: str | None = None
    decisions: tuple[str, ...] = ()
    error: str | None = None

    def outcome(self) -> tuple[Any, ...]:
        return ("error",) if self.error else (self.rule_id, self.decisions)


@dataclass(frozen=True)
class Simulation:
    """The answer of the test panel."""

    trigger: str
    errors: dict[str, str] = field(default_factory=dict)
    """Sample input -> what is wrong with it (nothing was tried)."""
    blocked: str = ""
    """Why nothing could be tried (problems in the draft, no rules)."""
    answers: tuple[Answer, ...] = ()
    summary: str = ""
    """The summary of the rule that fired (when the evaluators agree)."""
    facts: tuple[tuple[str, str], ...] = ()
    """(label, value) of every fact the rules read, as they saw it."""

    @property
    def agree(self) -> bool:
        return len({a.outcome() for a in self.answers}) <= 1

    @property
    def answer(self) -> Answer | None:
        """The outcome when the evaluators agree."""
        return self.answers[0] if self.answers and self.agree else None


def _coerce_answers(schema: FormSchema | None, answers: Mapping[str, Any],
                    errors: dict[str, str]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    if schema is None:
        return facts
    for spec in schema.fields:
        if not spec.takes_input or spec.family in (None, "file", "group") or spec.key not in answers:
            continue
        raw = answers[spec.key]
        try:
            value = spec.field_type.coerce(spec, raw, dt.UTC)
        except ValueError as exc:
            errors[spec.key] = str(exc)
            continue
        if value not in (None, "", []):
            facts[spec.key] = value
    return facts


def _number(text: str, name: str, errors: dict[str, str], message: str) -> Decimal | None:
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors[name] = message
        return None
    if not value.is_finite() or value < 0:
        errors[name] = message
        return None
    return value


def _choice(value: str, allowed: Sequence[str], name: str, errors: dict[str, str], noun: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if value not in allowed:
        errors[name] = f"Choose a {noun} of this case type."
        return None
    return value


def sample_facts(schema: FormSchema | None, context: ValidationContext, trigger: str, sample: SampleCase,
                 windows: Iterable[int]) -> tuple[dict[str, Any], dict[str, str]]:
    """The facts of a sample case and what is wrong with its inputs (keys: field keys and attribute names)."""
    errors: dict[str, str] = {}
    facts = _coerce_answers(schema, sample.answers, errors)
    attributes: dict[str, Any] = {
        "case.state": _choice(sample.state, context.states, "state", errors, "state"),
        "case.queue": _choice(sample.queue, context.queues, "queue", errors, "queue"),
        "case.priority": _choice(sample.priority, CASE_PRIORITIES, "priority", errors, "priority"),
    }
    age = _number(sample.age_hours, "age_hours", errors, "Enter the age in hours, like 0 or 36.5.")
    if age is not None:
        attributes["case.age_hours"] = age
    tags = [t.strip() for t in (sample.tags or "").split(",") if t.strip()]
    facts["case.tags"] = tags
    if trigger == "case.transitioned":
        attributes["case.transition"] = _choice(sample.transition, context.transitions, "transition", errors,
                                                "transition")
    if trigger.startswith("sla."):
        attributes["case.sla_kind"] = _choice(sample.sla_kind, SLA_KINDS, "sla_kind", errors, "kind of deadline")
    earlier = _number(sample.earlier_cases, "earlier_cases", errors, "Enter a whole number of cases, like 0 or 3.")
    if earlier is not None and earlier != earlier.to_integral_value():
        errors["earlier_cases"] = "Enter a whole number of cases, like 0 or 3."
    for days in windows:
        facts[recent_cases_key(days)] = int(earlier) if earlier is not None else 0
    facts.update({k: v for k, v in attributes.items() if v is not None})
    return facts, errors


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _facts_seen(compiled: CompiledRuleset, facts: Mapping[str, Any],
                context: ValidationContext) -> tuple[tuple[str, str], ...]:
    labels = context.labels()
    out = []
    for key in sorted(compiled.families, key=lambda k: (k.startswith("case."), labels.get(k, k))):
        label = labels.get(key) or (recent_cases_label(int(key.rsplit(".", 1)[1]))
                                    if key.startswith(RECENT_CASES + ".") else key)
        value = facts.get(key)
        out.append((label, "(empty)" if value in (None, "", []) else _shown(value)))
    return tuple(out)


def _answer(name: str, evaluator: Evaluator, compiled: CompiledRuleset, trigger: str, facts: Mapping[str, Any],
            context: ValidationContext) -> Answer:
    try:
        evaluation: Evaluation = evaluator.evaluate(compiled, trigger, facts)
    except EngineError as exc:
        return Answer(name, EVALUATORS[name], error=exc.message)
    return Answer(name, EVALUATORS[name], evaluation.rule_id, evaluation.rule_name,
                  describe_decisions(evaluation.decisions, context))


def simulate_draft(session: Session, case_type: Definition, draft_document: Mapping[str, Any], *, trigger: str,
                   sample: SampleCase, evaluators: tuple[Evaluator, Evaluator] | None = None) -> Simulation:
    """Which draft rule fires for a sample case and what it decides, in both evaluators.

    ``evaluators`` is (durable-rules, reference); tests hand in others to see a disagreement shown.
    """
    if trigger not in TRIGGERS:
        raise ValidationFailed("Choose a trigger.", {"trigger": [f"Choose one of {', '.join(TRIGGERS)}."]})
    context = draft_context(session, draft_document)
    rules = rules_document(draft_document)
    ruleset, problems = check_ruleset(rules, context)
    draft = DraftRules(rules, context, ruleset, problems, [], {})
    compiled, blocked = compiled_draft(draft, case_type.slug)
    schema = draft_form_schema(session, draft_document)
    windows = compiled.ruleset.recent_case_windows() if compiled else frozenset()
    facts, errors = sample_facts(schema, context, trigger, sample, windows)
    if errors:
        return Simulation(trigger, errors=errors)
    if compiled is None:
        return Simulation(trigger, blocked=blocked)
    durable, reference = evaluators or (DurableEvaluator(), ReferenceEvaluator())
    answers = (_answer("durable", durable, compiled, trigger, facts, context),
               _answer("reference", reference, compiled, trigger, facts, context))
    result = Simulation(trigger, answers=answers, facts=_facts_seen(compiled, facts, context))
    fired = result.answer
    if fired is not None and fired.rule_id is not None:
        summary = summarize_rule(compiled.ruleset.rule(fired.rule_id), context)
        result = Simulation(trigger, answers=answers, facts=result.facts, summary=summary)
    return result


# ---------------------------------------------------------------- back-testing
