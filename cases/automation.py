"""Rules inside the case services: facts from a case, evaluation on each trigger, decisions applied in
the same transaction as the change that triggered them, each recorded with its rule and ruleset version.

A rule that fails never loses a case: the decisions are rolled back to a savepoint, the case goes to
its case type's fallback queue, the failure is an audit event, and every admin gets a notice.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, lazyload

from case_types import workflow
from case_types.errors import CasesError, ValidationFailed
from cases import accounts, audit, discretionary, documents, links, notifications, recent, sla
from cases.case_versions import case_data, case_spec, case_tags, pinned_form_version
from cases.clock import Clock, utcnow
from cases.models import (
    Approval,
    AssignmentCursor,
    Case,
    Deadline,
    DefinitionVersion,
    Queue,
    QueueMember,
    Role,
    User,
    UserRole,
)
from cases.submissions import form_schema
from forms.errors import DefinitionError
from rules import (
    ACTIONS,
    CompiledRuleset,
    Decision,
    DurableEvaluator,
    Evaluation,
    RuleInvalid,
    RulesError,
    ValidationContext,
    compile_ruleset,
    recent_cases_key,
    summarize_rule,
    validate_ruleset,
)
from rules.actions import describe_action
from rules.model import Action

log = logging.getLogger(__name__)
_evaluator = DurableEvaluator()
_compiled: dict[tuple[str, int, str], CompiledRuleset] = {}


# ---------------------------------------------------------------- what rules may refer to


def rules_context(session: Session, spec: workflow.CaseTypeSpec) -> ValidationContext:
    """The form's fields and options, the case type's states and transitions, queues, users and roles."""
    schema = form_schema(pinned_form_version(session, spec.form.slug, spec.form.version))
    queues = accounts.list_queues(session, include_inactive=False)
    users = [u for u in accounts.list_users(session) if u.active]
    return ValidationContext(
        fields=dict(schema.families), options=schema.options(),
        queues=[q.slug for q in queues], states=[s.key for s in spec.states],
        transitions=[t.key for t in spec.transitions], users=[u.email for u in users],
        roles=[Role.AGENT.value, Role.ADMIN.value],
        field_labels=schema.labels(), option_labels=schema.option_labels(),
        queue_labels={q.slug: q.name for q in queues}, state_labels={s.key: s.label for s in spec.states},
        transition_labels={t.key: t.label for t in spec.transitions},
        role_labels={"agent": "Agent", "admin": "Admin"}, user_labels={u.email: u.name for u in users},
        tasks=[i.key for i in spec.discretionary], task_labels={i.key: i.label for i in spec.discretionary},
    )


def check_rules(session: Session, spec: workflow.CaseTypeSpec) -> None:
    """Validate a case type's rules as part of the case type (problems at `rules.<path>`)."""
    if spec.rules is None:
        return
    try:
        validate_ruleset(spec.rules, rules_context(session, spec))
    except RuleInvalid as exc:
        raise DefinitionError([(f"rules.{p.path}".rstrip("."), None, p.message) for p in exc.errors]) from None


def summaries(session: Session, spec: workflow.CaseTypeSpec) -> list[tuple[str, str]]:
    """(rule id, plain-language summary) of every valid rule, for designers and auditors."""
    if spec.rules is None:
        return []
    context = rules_context(session, spec)
    ruleset = validate_ruleset(spec.rules, context)
    return [(rule.id, summarize_rule(rule, context)) for rule in ruleset.rules]


def compiled_rules(session: Session, case: Case) -> CompiledRuleset | None:
    """The compiled ruleset of the case's case-type version (compiled once per process)."""
    return compiled_for(session, case.case_type.slug, case.case_type_version, case_spec(session, case))


def compiled_for(session: Session, slug: str, version: DefinitionVersion,
                 spec: workflow.CaseTypeSpec) -> CompiledRuleset | None:
    """The compiled ruleset of a published case-type version (compiled once per process)."""
    if spec.rules is None:
        return None
    key = (slug, version.number, version.sha256)
    compiled = _compiled.get(key)
    if compiled is None:
        ruleset = validate_ruleset(spec.rules, rules_context(session, spec))
        compiled = compile_ruleset(ruleset, case_type=slug, version=version.number)
        _compiled[key] = compiled
    return compiled


def queues_named(compiled: CompiledRuleset | None, spec: workflow.CaseTypeSpec) -> set[str]:
    """Every queue a filing may need: the default and fallback queues and those the rules route to."""
    slugs = {spec.default_queue, spec.fallback_queue}
    for rule in compiled.ruleset.rules if compiled is not None else ():
        slugs.update(str(a.params["queue"]) for a in rule.actions if a.params.get("queue"))
    return slugs


# ---------------------------------------------------------------- facts


def case_facts(session: Session, case: Case, compiled: CompiledRuleset, trigger: str, *, clock: Clock = utcnow,
               transition: str | None = None, sla_kind: str | None = None,
               prepared: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The facts a ruleset sees: the form's answers and the case's own attributes."""
    facts: dict[str, Any] = dict(case_data(case))
    hours = (clock() - case.created_at).total_seconds() / 3600
    facts.update({
        "case.state": case.state, "case.queue": case.queue.slug, "case.priority": case.priority,
        "case.age_hours": Decimal(str(round(max(hours, 0.0), 2))), "case.tags": case_tags(case),
    })
    if transition is not None:
        facts["case.transition"] = transition
    if sla_kind is not None:
        facts["case.sla_kind"] = sla_kind
    for days in compiled.ruleset.recent_case_windows():
        key = recent_cases_key(days)
        if prepared is not None and key in prepared:
            facts[key] = prepared[key]  # counted before the write lock (a filing)
        else:
            facts[key] = recent.earlier_cases(session, case, days, recent.recent_cases_cap(compiled, key))
    return facts


# ---------------------------------------------------------------- state changes


def enter_state(case: Case, spec: workflow.CaseTypeSpec, state: str, clock: Clock) -> None:
    """Put the case in `state`, closing it when the state is final. Callers then call state_entered()."""
    case.state = state
    final = spec.state(state).is_final
    case.is_open = not final
    case.closed_at = clock() if final else None


def state_entered(session: Session, case: Case, spec: workflow.CaseTypeSpec, previous: str | None,
                  clock: Clock) -> None:
    """What follows a state change (after its own audit event): the SLA deadlines start, pause, resume or end;
    entering a final state queues the case's documents and lets a parent waiting for this child move on."""
    sla.state_changed(session, case, spec, previous_state=previous, clock=clock)
    documents.state_entered(session, case, spec, previous, clock)
    if not case.is_open and (previous is None or not spec.state(previous).is_final):
        links.child_closed(session, case, clock)


def sla_fired(session: Session, case: Case, deadline: Deadline, trigger: str, *, clock: Clock = utcnow) -> None:
    """A deadline warned or breached: run the case's `sla.*` rules (escalate, reassign, notify)."""
    run_rules(session, case, trigger, actor=None, clock=clock, sla_kind=deadline.kind)


# ---------------------------------------------------------------- the decisions


@dataclass(frozen=True, slots=True)
class _Target:
    """What one fired rule's decisions act on."""

    session: Session
    case: Case
    spec: workflow.CaseTypeSpec
    clock: Clock
    rule_id: str
    queues: Mapping[str, Queue]

    def queue(self, slug: str) -> Queue:
        queue = self.queues.get(slug) or accounts.find_queue(self.session, slug)
        if queue is None or not queue.active:
            raise ValidationFailed(f"Queue '{slug}' does not exist or is inactive.")
        return queue

    def members(self, queue: Queue) -> list[User]:
        """The queue's active, present agents. The query selects agents by their role, so their role rows are
        not loaded again; it reads nothing the decisions change, so pending changes need no flush first."""
        with self.session.no_autoflush:
            return list(self.session.scalars(_members_stmt(), {"queue_id": queue.id}))


@functools.cache
def _members_stmt() -> Any:
    # Built once (an escalation asks for it on every filing); the queue's id is the parameter.
    return (select(User).join(QueueMember, QueueMember.user_id == User.id).join(UserRole)
            .where(QueueMember.queue_id == bindparam("queue_id"), User.active.is_(True), User.absent.is_(False),
                   UserRole.role == Role.AGENT.value).order_by(User.id).options(lazyload(User.role_rows)))


def _route_to_queue(t: _Target, params: Mapping[str, Any]) -> str:
    queue = t.queue(params["queue"])
    t.case.queue = queue
    return f"routed to {queue.name}"


def _assign_to(t: _Target, params: Mapping[str, Any]) -> str:
    if "user" in params:
        user = accounts.find_user(t.session, params["user"])
        if user is None or not user.active or not user.has_role(Role.AGENT):
            raise ValidationFailed(f"{params['user']} cannot take cases (not an active agent).")
        if user.absent:
            return f"not assigned: {user.name} is absent"
        t.case.assignee = user
        return f"assigned to {user.name}"
    queue = t.queue(params["queue"]) if params.get("queue") else t.case.queue
    members = t.members(queue)
    if not members:
        return f"not assigned: nobody in {queue.name} is available"
    if params.get("strategy") == "least_loaded":
        rows = t.session.execute(
            select(Case.assignee_id, func.count()).where(Case.is_open.is_(True),
                                                         Case.assignee_id.in_([m.id for m in members]))
            .group_by(Case.assignee_id)).all()
        load = {assignee: count for assignee, count in rows}
        chosen = min(members, key=lambda m: (load.get(m.id, 0), m.id))
        how = "least loaded"
    else:
        chosen = _round_robin(t.session, queue, members)
        how = "round robin"
    t.case.assignee = chosen
    return f"assigned to {chosen.name} ({how} in {queue.name})"


def _round_robin(session: Session, queue: Queue, members: list[User]) -> User:
    """The member after the last one served; the position is a locked row, so processes share it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(pg_insert(AssignmentCursor).values(queue_id=queue.id, last_user_id=None)
                        .on_conflict_do_nothing(index_elements=["queue_id"]))
    cursor = session.scalar(select(AssignmentCursor).where(AssignmentCursor.queue_id == queue.id).with_for_update())
    if cursor is None:
        cursor = AssignmentCursor(queue_id=queue.id, last_user_id=None)
        session.add(cursor)
    after = [m for m in members if cursor.last_user_id is not None and m.id > cursor.last_user_id]
    chosen = after[0] if after else members[0]
    cursor.last_user_id = chosen.id
    return chosen


def _set_priority(t: _Target, params: Mapping[str, Any]) -> str:
    t.case.priority = params["priority"]
    return f"priority {params['priority']}"


def _set_due_in(t: _Target, params: Mapping[str, Any]) -> str:
    business = bool(params.get("business_hours", False))
    t.case.due_at = t.spec.calendar.add(t.clock(), float(params["hours"]), business=business)
    return f"due {t.case.due_at:%Y-%m-%d %H:%M} UTC"


def _add_tag(t: _Target, params: Mapping[str, Any]) -> str:
    tags = case_tags(t.case)
    if params["tag"] not in tags:
        t.case.tags = json.dumps([*tags, params["tag"]])
    return f"tagged {params['tag']}"


def _move_to_state(t: _Target, params: Mapping[str, Any]) -> str:
    previous = t.case.state
    label = t.spec.state(params["state"]).label
    if params["state"] == previous:
        return f"already {label}"
    refusal = discretionary.closing_refusal(t.session, t.case, t.spec, params["state"], automatic=True)
    if refusal:
        return f"not moved to {label}: {refusal}"
    enter_state(t.case, t.spec, params["state"], t.clock)
    t.session.flush()
    state_entered(t.session, t.case, t.spec, previous, t.clock)
    return f"moved to {label}"


def _require_approval(t: _Target, params: Mapping[str, Any]) -> str:
    user = accounts.find_user(t.session, params["user"]) if params.get("user") else None
    approval = Approval(case_id=t.case.id, rule_id=t.rule_id, role=params.get("role"),
                        user_id=user.id if user else None, on_approve=params.get("on_approve"),
                        on_reject=params.get("on_reject"), status="pending", requested_at=t.clock())
    t.session.add(approval)
    who = user.name if user else f"a {params.get('role')}"
    for approver in _approvers(t.session, approval):
        notifications.queue_message(t.session, to=approver.email, subject=f"[{t.case.ref}] approval needed",
                                    body=f"Case {t.case.ref} waits for your approval.",
                                    reason="case.approval_requested", case=t.case, clock=t.clock)
    return f"waits for approval by {who}"


def _notify(t: _Target, params: Mapping[str, Any]) -> str:
    to = params["to"]
    if to == "requester":
        emails = [t.case.requester.email if t.case.requester else t.case.contact_email]
    elif to == "assignee":
        emails = [t.case.assignee.email] if t.case.assignee else []
    elif to == "queue":
        emails = [m.email for m in t.members(t.queue(params["queue"]))]
    else:
        emails = [params["user"]]
    sent = [e for e in emails if e]
    for email in sent:
        notifications.queue_message(t.session, to=email, subject=f"[{t.case.ref}] {params['message'][:120]}",
                                    body=params["message"], reason="rule.notify", case=t.case, clock=t.clock)
    return f"notified {to} ({len(sent)})"


def _start_task(t: _Target, params: Mapping[str, Any]) -> str:
    """Start an entry of the catalogue; the task (or the child case's filing) records the rule and reason."""
    item = t.spec.discretionary_item(params["task"])
    if item is None:
        raise ValidationFailed(f"This case type has no task '{params['task']}' to start.")
    if t.case.state not in item.states:
        return f"not started: {item.label} cannot be started in {t.spec.state(t.case.state).label}"
    if discretionary.is_open(t.session, t.case, item.key):  # a rule that fires again starts nothing twice
        return f"not started: {item.label} is already open"
    started = discretionary.open_item(t.session, t.case, t.spec, item, actor=None,
                                      reason=str(params.get("reason") or ""), rule_id=t.rule_id, clock=t.clock)
    return f"started {item.label}" + (f" ({started.ref})" if isinstance(started, Case) else "")


@dataclass(frozen=True, slots=True)
class _Applier:
    """How one action of the rules registry is carried out; returns a line for the audit trail.

    in_memory: the action only changes the case in memory and adds outbox rows, so with its queue read
    beforehand it cannot fail half-way and needs no savepoint (which costs a flush and two statements).
    """

    run: Callable[[_Target, Mapping[str, Any]], str]
    in_memory: bool = False


APPLIERS: dict[str, _Applier] = {
    "route_to_queue": _Applier(_route_to_queue, in_memory=True),
    "assign_to": _Applier(_assign_to),
    "set_priority": _Applier(_set_priority, in_memory=True),
    "set_due_in": _Applier(_set_due_in, in_memory=True),
    "add_tag": _Applier(_add_tag, in_memory=True),
    "move_to_state": _Applier(_move_to_state),
    "require_approval": _Applier(_require_approval),
    "notify": _Applier(_notify, in_memory=True),
    "start_task": _Applier(_start_task),
}


def check_appliers(appliers: Mapping[str, object], actions: Mapping[str, object]) -> None:
    """Every action of the rules registry has an applier here and nothing else does; raises otherwise."""
    missing, unknown = sorted(set(actions) - set(appliers)), sorted(set(appliers) - set(actions))
    if missing or unknown:
        raise RuntimeError(f"The rule actions and their appliers differ: no applier for {missing or 'none'}, "
                           f"appliers without an action: {unknown or 'none'}.")


check_appliers(APPLIERS, ACTIONS)


def _apply(target: _Target, decision: Decision) -> str:
    applier = APPLIERS.get(decision.action)
    if applier is None:
        raise ValidationFailed(f"No handler for the action '{decision.action}'.")
    return applier.run(target, decision.params)


# ---------------------------------------------------------------- running the rules


RULE_ERRORS = (RulesError, CasesError, LookupError, ValueError, TypeError)
"""What a rule may fail with; run_rules turns these into the fallback queue."""


def _needs_savepoint(evaluation: Evaluation, queues: Mapping[str, Queue] | None) -> bool:
    if queues is None:
        return True
    for decision in evaluation.decisions:
        applier = APPLIERS.get(decision.action)
        if applier is None or not applier.in_memory:
            return True
        slug = decision.params.get("queue")
        if slug and (slug not in queues or not queues[slug].active):
            return True
    return False


def run_rules(session: Session, case: Case, trigger: str, *, actor: User | None, clock: Clock = utcnow,
              transition: str | None = None, sla_kind: str | None = None,
              prepared: Mapping[str, Any] | None = None, queues: Mapping[str, Queue] | None = None,
              ) -> Evaluation | None:
    """Evaluate the case's ruleset for `trigger` and apply the decisions, inside the caller's transaction.

    `prepared`: facts already read (prepared_facts), `queues`: queues already read by slug (a filing reads
    both before its write lock)."""
    spec = case_spec(session, case)
    if spec.rules is None:
        return None
    try:
        # Reading the facts and evaluating write nothing: only applying decisions needs a savepoint.
        compiled = compiled_rules(session, case)
        assert compiled is not None
        facts = case_facts(session, case, compiled, trigger, clock=clock, transition=transition,
                           sla_kind=sla_kind, prepared=prepared)
        evaluation = _evaluator.evaluate(compiled, trigger, facts)
    except RULE_ERRORS as exc:
        _fall_back(session, case, spec, trigger, exc, clock)
        return None
    if not evaluation.matched:
        return evaluation
    target = _Target(session, case, spec, clock, evaluation.rule_id or "", queues or {})
    if not _needs_savepoint(evaluation, queues):
        before = (case.queue, case.priority, case.due_at, case.tags)
        added = set(session.new)
        try:
            done = [_apply(target, decision) for decision in evaluation.decisions]
        except RULE_ERRORS as exc:
            # What a savepoint would have undone: the case's fields and the messages queued meanwhile.
            case.queue, case.priority, case.due_at, case.tags = before
            for obj in set(session.new) - added:
                session.expunge(obj)
            _fall_back(session, case, spec, trigger, exc, clock)
            return None
        _record(session, case, trigger, evaluation, done, clock)
        return evaluation
    savepoint = session.begin_nested()
    try:
        done = [_apply(target, decision) for decision in evaluation.decisions]
        session.flush()
        _record(session, case, trigger, evaluation, done, clock)
        savepoint.commit()
        return evaluation
    except RULE_ERRORS as exc:
        savepoint.rollback()
        _fall_back(session, case, spec, trigger, exc, clock)
        return None


def _record(session: Session, case: Case, trigger: str, evaluation: Evaluation, done: list[str],
            clock: Clock) -> None:
    audit.append(session, case.stream, "case.rule_applied", {
        "trigger": trigger, "rule": evaluation.rule_id, "rule_name": evaluation.rule_name,
        "ruleset": evaluation.ruleset_name, "ruleset_version": evaluation.ruleset_version,
        "decisions": [d.to_json() for d in evaluation.decisions], "summary": done,
        # Who holds the case after an assignment (the decision may name a strategy, not a person): the
        # analytics read model (cases.insight) derives assignees from the events alone.
        **({"assignee": case.assignee.email if case.assignee else None}
           if any(d.action == "assign_to" for d in evaluation.decisions) else {}),
    }, actor=None, clock=clock)


def _fall_back(session: Session, case: Case, spec: workflow.CaseTypeSpec, trigger: str, exc: Exception,
               clock: Clock) -> None:
    """The case goes to the fallback queue; the failure is recorded and every admin is told."""
    message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
    log.warning("Rules failed for %s on %s: %s", case.ref, trigger, message)
    fallback = accounts.find_queue(session, spec.fallback_queue)
    if fallback is not None:
        case.queue = fallback
    session.flush()
    audit.append(session, case.stream, "case.rule_failed",
                 {"trigger": trigger, "error": message[:1000], "fallback_queue": spec.fallback_queue},
                 actor=None, clock=clock)
    for admin in accounts.users_with_role(session, Role.ADMIN):
        if admin.active:
            notifications.queue_message(session, to=admin.email, subject=f"[{case.ref}] a rule failed",
                                        body=f"Rules for {case.ref} failed on {trigger}: {message}\n"
                                             f"The case went to the fallback queue {spec.fallback_queue}.",
                                        reason="rule.failed", case=case, clock=clock)


# ---------------------------------------------------------------- approvals


def _approvers(session: Session, approval: Approval) -> list[User]:
    if approval.user_id is not None:
        user = session.get(User, approval.user_id)
        return [user] if user is not None and user.active else []
    return [u for u in accounts.users_with_role(session, Role(approval.role or "admin")) if u.active]


def describe_decision(decision: Decision, context: ValidationContext) -> str:
    return describe_action(Action(decision.action, decision.params), context)


