"""Back-testing a case type's draft rules: the last N filed cases of the case type, their facts gathered
from the real cases, decided by the published rules and by the draft: which cases would be decided
differently, and how. Nothing here writes: trying rules never touches a case.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from case_types.errors import CasesError, NotFound, ValidationFailed
from cases import automation
from cases.case_versions import case_schema, spec_of
from cases.clock import Clock, utcnow
from cases.models import AuditEvent, Case, Definition
from cases.privacy.values import reveal
from cases.rule_testing import SUBMITTED, DraftRules, compiled_draft, describe_decisions, draft_context, rules_document
from forms.validation import from_json_values
from rules import (
    ACTIONS,
    TRIGGERS,
    CompiledRuleset,
    Evaluation,
    ReferenceEvaluator,
    ValidationContext,
    check_ruleset,
    compile_ruleset,
    cross_check,
)
from rules import editing as rule_editing
from rules.backtest import backtest

DEFAULT_BACKTEST = 100
MAX_BACKTEST = 1000


@dataclass(frozen=True)
class Decided:
    """One side of a changed case: the rule that fired and its decisions in words."""

    rule_id: str | None
    rule_name: str | None
    decisions: tuple[str, ...]


@dataclass(frozen=True)
class ChangedCase:
    case_id: int
    ref: str
    filed_at: dt.datetime
    summary: str
    before: Decided
    after: Decided
    kinds: tuple[str, ...]
    """Labels of the kinds of action that differ."""


@dataclass(frozen=True)
class RuleHits:
    rule_id: str
    name: str
    before: int
    after: int
    in_draft: bool


@dataclass(frozen=True)
class CaseProblem:
    case_id: int
    ref: str
    message: str


@dataclass
class Backtest:
    """The draft against the published rules on the last filed cases."""

    trigger: str
    limit: int
    basis: str = ""
    blocked: str = ""
    published_version: int | None = None
    evaluated: int = 0
    changed: int = 0
    unchanged: int = 0
    unmatched_before: int = 0
    unmatched_after: int = 0
    changes: list[ChangedCase] = field(default_factory=list)
    by_action: list[tuple[str, int]] = field(default_factory=list)
    hits: list[RuleHits] = field(default_factory=list)
    failures: list[CaseProblem] = field(default_factory=list)
    disagreements: list[CaseProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


BASIS = {
    SUBMITTED: "Each case is decided as it was filed: its answers and the state, queue and priority it had "
               "when it was submitted (from its audit trail), as the rules saw it then.",
    "case.updated": "Each case is decided as it is now: its current answers, state, queue, priority, tags and age.",
    "case.transitioned": "Each case is decided as it is now, with the last transition it went through.",
    "sla.warning": "Each case is decided as it is now, with the kind of its last SLA warning.",
    "sla.breached": "Each case is decided as it is now, with the kind of its last missed SLA deadline.",
}


def _published(session: Session, case_type: Definition, report: Backtest) -> tuple[CompiledRuleset | None,
                                                                                    ValidationContext | None]:
    latest = case_type.latest_version
    if latest is None:
        report.notes.append("The case type has no published version yet: every case is compared with no rules.")
        return None, None
    report.published_version = latest.number
    try:
        spec = spec_of(session, latest)
        context = automation.rules_context(session, spec)
    except NotFound as exc:
        report.notes.append(f"Version {latest.number} cannot be read ({exc.message}); cases are compared with "
                            "no rules.")
        return None, None
    if spec.rules is None or not rule_editing.rules_of(spec.rules):
        return None, context
    ruleset, problems = check_ruleset(spec.rules, context)
    if ruleset is None:
        report.notes.append(f"The rules of version {latest.number} no longer fit the case type "
                            f"({problems[0].message}); cases are compared with no rules, as new cases would "
                            "go to the fallback queue.")
        return None, context
    return compile_ruleset(ruleset, case_type=case_type.slug, version=latest.number), context


def _events(session: Session, cases: Sequence[Case], kinds_: Sequence[str]) -> dict[int, dict[str, Any]]:
    """The payload of the latest event of these kinds per case (one query)."""
    if not cases:
        return {}
    by_stream = {case.stream: case.id for case in cases}
    rows = session.execute(select(AuditEvent.stream, AuditEvent.kind, AuditEvent.payload)
                           .where(AuditEvent.stream.in_(list(by_stream)), AuditEvent.kind.in_(list(kinds_)))
                           .order_by(AuditEvent.stream, AuditEvent.seq)).all()
    # The rules saw the values, not the commitments the chain keeps: reveal them (one lookup for all rows).
    payloads = reveal(session, [json.loads(payload) for _stream, _kind, payload in rows])
    out: dict[int, dict[str, Any]] = {}
    for (stream, kind, _payload), data in zip(rows, payloads, strict=True):
        if isinstance(data, dict):
            out[by_stream[stream]] = {**data, "_kind": kind}
    return out


def _as_filed(case: Case, facts: dict[str, Any], filed: Mapping[str, Any] | None) -> dict[str, Any]:
    """The facts as the rules saw them when the case was submitted."""
    if filed is None:
        return facts
    data = filed.get("data")
    out = {k: v for k, v in facts.items() if k.startswith("case.")}
    out.update(from_json_values(case_schema(case), data if isinstance(data, Mapping) else {}))
    for name in ("state", "queue", "priority"):
        if isinstance(filed.get(name), str):
            out[f"case.{name}"] = filed[name]
    out["case.tags"] = []
    out["case.age_hours"] = Decimal(0)
    return out


def _facts(session: Session, case: Case, trigger: str, compiled: Sequence[CompiledRuleset],
           history: Mapping[int, dict[str, Any]], clock: Clock) -> dict[str, Any]:
    event = history.get(case.id)
    transition = event.get("transition") if event and trigger == "case.transitioned" else None
    sla_kind = event.get("kind") if event and trigger.startswith("sla.") else None
    facts: dict[str, Any] = {}
    for ruleset in compiled:  # each ruleset may read other windows of the requester's earlier cases
        facts.update(automation.case_facts(session, case, ruleset, trigger, clock=clock,
                                           transition=transition if isinstance(transition, str) else None,
                                           sla_kind=sla_kind if isinstance(sla_kind, str) else None))
    if trigger == SUBMITTED:
        return _as_filed(case, facts, event)
    return facts


def _decided(evaluation: Evaluation, context: ValidationContext | None) -> Decided:
    words = describe_decisions(evaluation.decisions, context) if context else tuple(
        d.action for d in evaluation.decisions)
    return Decided(evaluation.rule_id, evaluation.rule_name, words)


HISTORY_KINDS = {SUBMITTED: ("case.filed",), "case.transitioned": ("case.transitioned",),
                 "sla.warning": ("sla.warning",), "sla.breached": ("sla.breached",)}


def backtest_draft(session: Session, case_type: Definition, draft_document: Mapping[str, Any], *,
                   limit: int = DEFAULT_BACKTEST, trigger: str = SUBMITTED,
                   clock: Clock = utcnow) -> Backtest:
    """Run the last `limit` filed cases of the case type through the published rules and the draft."""
    if trigger not in TRIGGERS:
        raise ValidationFailed("Choose a trigger.", {"trigger": [f"Choose one of {', '.join(TRIGGERS)}."]})
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_BACKTEST:
        raise ValidationFailed("Choose how many cases to back-test.",
                               {"limit": [f"Enter a number of cases from 1 to {MAX_BACKTEST}."]})
    started = time.perf_counter()
    report = Backtest(trigger=trigger, limit=limit, basis=BASIS[trigger])
    context = draft_context(session, draft_document)
    rules = rules_document(draft_document)
    ruleset, problems = check_ruleset(rules, context)
    draft, blocked = compiled_draft(DraftRules(rules, context, ruleset, problems, [], {}), case_type.slug)
    if draft is None:
        report.blocked = blocked
        return report
    current, current_context = _published(session, case_type, report)
    cases = session.scalars(select(Case).where(Case.case_type_id == case_type.id)
                            .order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)).all()
    history = _events(session, cases, HISTORY_KINDS.get(trigger, ()))
    by_id = {case.id: case for case in cases}
    compiled = [draft] if current is None else [draft, current]
    samples = []
    unreadable: list[CaseProblem] = []
    for case in cases:
        try:
            samples.append((str(case.id), trigger, _facts(session, case, trigger, compiled, history, clock)))
        except (CasesError, LookupError, TypeError, ValueError) as exc:
            message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
            unreadable.append(CaseProblem(case.id, case.ref, f"its facts could not be read: {message}"))
    outcome = backtest(draft, current, samples, evaluator=ReferenceEvaluator())
    report.evaluated = outcome.evaluated + len(unreadable)
    report.changed = outcome.changed
    report.unchanged = outcome.evaluated - outcome.changed - len(outcome.failures)
    report.unmatched_before, report.unmatched_after = outcome.unmatched_before, outcome.unmatched_after
    for change in outcome.changes:
        case = by_id[int(change.case_ref)]
        kinds_changed = sorted(_changed_kinds(change.before, change.after))
        report.changes.append(ChangedCase(
            case_id=case.id, ref=case.ref, filed_at=case.created_at, summary=case.summary,
            before=_decided(change.before, current_context), after=_decided(change.after, context),
            kinds=tuple(_action_label(k) for k in kinds_changed)))
    report.by_action = sorted(((_action_label(k), n) for k, n in outcome.by_action.items()),
                              key=lambda item: (-item[1], item[0]))
    report.hits = _hits(outcome.hits_before, outcome.hits_after, draft, current)
    report.failures = unreadable + [
        CaseProblem(int(f.case_ref), by_id[int(f.case_ref)].ref,
                    f"{'published rules' if f.side == 'before' else 'draft'}: {f.message}")
        for f in outcome.failures]
    report.disagreements = [CaseProblem(int(d.case_ref), by_id[int(d.case_ref)].ref,
                                        f"as they run: {d.durable}; cross-check: {d.reference}")
                            for d in cross_check(draft, samples)]
    report.seconds = time.perf_counter() - started
    return report


def _changed_kinds(before: Evaluation, after: Evaluation) -> set[str]:
    """The kinds of action whose decisions differ between the two sides."""

    def by_kind(evaluation: Evaluation) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for decision in evaluation.decisions:
            out.setdefault(decision.action, []).append(decision.key())
        return {kind: sorted(keys) for kind, keys in out.items()}

    left, right = by_kind(before), by_kind(after)
    return {kind for kind in left.keys() | right.keys() if left.get(kind) != right.get(kind)}


def _action_label(kind: str) -> str:
    spec = ACTIONS.get(kind)
    return spec.label if spec is not None else kind


def _hits(before: Mapping[str, int], after: Mapping[str, int], draft: CompiledRuleset,
          current: CompiledRuleset | None) -> list[RuleHits]:
    names: dict[str, tuple[str, bool]] = {}
    if current is not None:
        for rule in current.ruleset.rules:
            names[rule.id] = (rule.name, False)
    ordered = sorted(draft.ruleset.rules, key=lambda r: (list(TRIGGERS).index(r.trigger), r.priority))
    rows = [RuleHits(r.id, r.name, before.get(r.id, 0), after.get(r.id, 0), True) for r in ordered]
    seen = {r.id for r in ordered}
    rows += [RuleHits(rule_id, names.get(rule_id, (rule_id, False))[0], n, after.get(rule_id, 0), False)
             for rule_id, n in sorted(before.items()) if rule_id not in seen]
    return rows
