"""Moving open cases from the case-type version they were filed under to another published version.

A case pins its version forever unless an admin moves it on purpose: `plan` is the dry run (what would
happen to every open case: its state kept, mapped to another state by the admin's mapping, or why it
cannot move), `migrate` moves the movable ones. Each case moves in a transaction of its own, under the
lock a transition takes (its row, then its deadlines), and is judged again under that lock, so an agent's
move during the migration is never lost: whichever commits second sees the first. A case that fails stays
on its old version, untouched; the others move on; running it again moves nothing twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from case_types import workflow
from case_types.errors import NotFound, ValidationFailed
from cases import audit, automation, sla
from cases.case_versions import Published, case_schema, case_spec, published
from cases.clock import Clock, utcnow
from cases.definitions import find_definition, get_version, version_document
from cases.models import Approval, Case, DefinitionVersion, Task, User
from cases.privacy.values import seal_changes
from cases.uow import transaction
from forms.errors import SubmissionInvalid
from forms.schema import FormSchema
from forms.validation import to_json_values, validate_submission

log = logging.getLogger(__name__)

KEPT, MAPPED, BLOCKED, CURRENT = "kept", "mapped", "not_migratable", "current"
FAILED, SKIPPED = "failed", "skipped"


@dataclass(frozen=True)
class Outcome:
    """What happens (dry run) or happened (migration) to one open case."""

    case_id: int
    ref: str
    from_version: int
    state: str
    state_label: str
    status: str  # KEPT, MAPPED, BLOCKED, CURRENT; after migrate also FAILED, SKIPPED
    target: str | None = None
    target_label: str = ""
    reasons: tuple[str, ...] = ()
    changes: tuple[dict[str, Any], ...] = ()
    done: bool = False  # moved by a migration (else: what a migration would do)

    @property
    def migratable(self) -> bool:
        return self.status in (KEPT, MAPPED)

    def describe(self) -> str:
        """The outcome in words an admin reads, one line."""
        done = self.done
        data = f"; data changes: {', '.join(str(c['field']) for c in self.changes)}" if self.changes else ""
        if self.status == KEPT:
            return f"{'migrated' if done else 'would migrate'}: stays in {self.target_label}{data}"
        if self.status == MAPPED:
            return (f"{'migrated, mapped' if done else 'would be mapped'} to {self.target_label} "
                    f"(was {self.state_label}){data}")
        if self.status == CURRENT:
            return f"already on version {self.from_version}"
        if self.status == FAILED:
            return f"failed, stays on version {self.from_version}: {'; '.join(self.reasons)}"
        if self.status == SKIPPED:
            return f"not migrated: {'; '.join(self.reasons)}"
        return f"not migratable: {'; '.join(self.reasons)}"


@dataclass(frozen=True)
class Plan:
    """The dry run of moving the open cases of `slug` to version `to_version` with `state_mapping`."""

    slug: str
    to_version: int
    to_version_id: int
    state_mapping: Mapping[str, str]
    outcomes: tuple[Outcome, ...] = field(default=())

    @property
    def migratable(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.migratable]


@dataclass(frozen=True)
class _Target:
    """The version cases move to, read once per transaction."""

    version: DefinitionVersion
    pinned: Published
    form_version: int
    rules: Mapping[str, Any]

    @property
    def spec(self) -> workflow.CaseTypeSpec:
        return self.pinned.spec


# ---------------------------------------------------------------- the dry run


def _target(session: Session, version_id: int) -> _Target:
    version = session.get(DefinitionVersion, version_id)
    if version is None:
        raise NotFound("The version to migrate to no longer exists.")
    document = version_document(version)
    rules = document.get("rules") or {}
    by_id = {str(r.get("id")): r for r in rules.get("rules", []) if isinstance(r, Mapping)}
    return _Target(version=version, pinned=published(session, version), form_version=int(document["form_version"]),
                   rules=by_id)


def _label(spec: workflow.CaseTypeSpec, key: str | None) -> str:
    try:
        return spec.state(str(key)).label
    except KeyError:
        return str(key)


def check_mapping(mapping: Mapping[str, str], old_states: set[str], spec: workflow.CaseTypeSpec) -> None:
    """Refuse a mapping from a state no migrating case's version has, or to a state the new version lacks
    or that closes the case (a migration moves open cases; closing one is a transition)."""
    problems: dict[str, list[str]] = {}
    new_states = {s.key: s for s in spec.states}
    for old, new in mapping.items():
        if old not in old_states:
            problems.setdefault(old, []).append(f"'{old}' is not a state of the versions being migrated from.")
        if new not in new_states:
            problems.setdefault(old, []).append(f"'{new}' is not a state of the version migrated to.")
        elif new_states[new].is_final:
            problems.setdefault(old, []).append(f"'{new}' closes the case; map open cases to an open state.")
    if problems:
        raise ValidationFailed("The state mapping does not fit these versions.", problems)


def _state_in(target: _Target, state: str | None, mapping: Mapping[str, str]) -> tuple[str | None, str]:
    """Where `state` goes in the new version, or None with the reason it cannot go anywhere."""
    if state is None:
        return None, ""
    key = mapping.get(state, state)
    try:
        new = target.spec.state(key)
    except KeyError:
        return None, f"the state '{state}' is not in version {target.version.number}; map it to a state"
    if new.is_final:
        return None, f"the state '{key}' closes cases in version {target.version.number}; map it to an open state"
    return key, ""


def _data_after(case: Case, schema: FormSchema) -> tuple[dict[str, Any] | None, list[str]]:
    """The case's data as the new form keeps it, or None with what does not fit."""
    before = json.loads(case.data)
    refs = {k: v for k, v in before.items() if isinstance(v, list) and k in schema.by_key
            and schema.by_key[k].family == "file"}
    try:
        return to_json_values(validate_submission(schema, before, files=refs)), []
    except SubmissionInvalid as exc:
        labels = {spec.key: spec.label or spec.key for spec in schema.fields}
        return None, [f"{labels.get(key.split('.')[0], key)}: {' '.join(msgs)}" for key, msgs in exc.errors.items()]


def _open_work_problems(session: Session, case: Case, target: _Target, mapping: Mapping[str, str]) -> list[str]:
    """Open tasks and a pending approval must exist in the new version for the case to carry them over."""
    problems = []
    for task in session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "open")):
        move = next((t for t in target.spec.transitions if t.key == task.transition), None)
        if move is None or task.key not in {t.key for t in move.tasks}:
            problems.append(f"the open task '{task.label}' is not in version {target.version.number}")
    approval = session.scalar(select(Approval).where(Approval.case_id == case.id, Approval.status == "pending"))
    if approval is not None:
        rule = target.rules.get(approval.rule_id) or {}
        asks = any(a.get("type") == "require_approval" for a in rule.get("actions", []) if isinstance(a, Mapping))
        states = {s.key for s in target.spec.states}
        lost = [s for s in (approval.on_approve, approval.on_reject) if s and mapping.get(s, s) not in states]
        if not asks or lost:
            problems.append(f"the pending approval (rule '{approval.rule_id}') is not in version "
                            f"{target.version.number}")
    return problems


def assess(session: Session, case: Case, target: _Target, mapping: Mapping[str, str]) -> Outcome:
    """What moving `case` to the target version would do, judged on the case as it is now."""
    old = case_spec(session, case)
    base = Outcome(case_id=case.id, ref=case.ref, from_version=case.case_type_version.number, state=case.state,
                   state_label=_label(old, case.state), status=BLOCKED)
    if case.case_type_version_id == target.version.id:
        return replace(base, status=CURRENT)
    reasons = []
    state, why = _state_in(target, case.state, mapping)
    reasons += [why] if why else []
    if case.resume_state is not None:
        resume, why = _state_in(target, case.resume_state, mapping)
        reasons += [f"it waits to return to a state that cannot move: {why}"] if resume is None else []
    after, problems = _data_after(case, target.pinned.schema)
    reasons += [f"its data does not fit version {target.version.number}'s form: {p}" for p in problems]
    reasons += _open_work_problems(session, case, target, mapping)
    if reasons or state is None:
        return replace(base, reasons=tuple(reasons))
    changes = tuple(_data_changes(json.loads(case.data), after or {}))
    return replace(base, status=MAPPED if state != case.state else KEPT, target=state,
                   target_label=_label(target.spec, state), changes=changes)


def _data_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"field": key, "before": before.get(key), "after": after.get(key)}
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]


def plan(session: Session, slug: str, to_version: int, *, state_mapping: Mapping[str, str],
         refs: Iterable[str] | None = None) -> Plan:
    """The dry run: every open case of the case type `slug` (or those with the references `refs`) with what
    would happen to it. Changes nothing."""
    definition = find_definition(session, "case_type", slug, with_versions=True)
    if definition is None:
        raise NotFound(f"No case type has the short name '{slug}'.")
    version = get_version(definition, to_version)
    target = _target(session, version.id)
    old_states = {s.key for v in definition.versions if v.id != version.id for s in published(session, v).spec.states}
    check_mapping(state_mapping, old_states, target.spec)
    stmt = select(Case).where(Case.case_type_id == definition.id, Case.is_open.is_(True)).order_by(Case.id)
    if refs is not None:
        stmt = stmt.where(Case.ref.in_(sorted({r.strip().upper() for r in refs})))
    cases = list(session.scalars(stmt))
    outcomes = tuple(assess(session, case, target, state_mapping) for case in cases)
    return Plan(slug=slug, to_version=to_version, to_version_id=version.id, state_mapping=dict(state_mapping),
                outcomes=outcomes)


# ---------------------------------------------------------------- the migration


def migrate(session: Session, migration: Plan, actor: User, *, clock: Clock = utcnow, refire_rules: bool = False,
            only: Sequence[int] | None = None) -> list[Outcome]:
    """Move the cases the plan found movable (or those of them in `only`, by id), one transaction each.

    Every case is judged again under its lock; one that changed meanwhile so that it can no longer move is
    reported, not moved. A case that fails is rolled back, reported and left on its version."""
    results = []
    chosen = set(only) if only is not None else None
    for outcome in migration.outcomes:
        if not outcome.migratable:
            results.append(outcome)
            continue
        if chosen is not None and outcome.case_id not in chosen:
            results.append(replace(outcome, status=SKIPPED, reasons=("not selected",)))
            continue
        try:
            results.append(_migrate_case(session, migration, outcome.case_id, actor, clock, refire_rules))
        except Exception as exc:  # one case's failure never stops the batch; it stays where it was
            session.rollback()
            log.exception("Migrating case %s to version %s failed", outcome.ref, migration.to_version)
            message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
            results.append(replace(outcome, status=FAILED, reasons=(message,)))
    return results


def _lock(session: Session, case_id: int) -> Case | None:
    """The case row, fresh and locked as a transition locks it (PostgreSQL; SQLite holds the write lock)."""
    return session.scalar(select(Case).where(Case.id == case_id).with_for_update(of=Case)
                          .execution_options(populate_existing=True))


def _migrate_case(session: Session, migration: Plan, case_id: int, actor: User, clock: Clock,
                  refire_rules: bool) -> Outcome:
    with transaction(session):
        case = _lock(session, case_id)
        if case is None or not case.is_open:
            ref = case.ref if case is not None else str(case_id)
            return Outcome(case_id=case_id, ref=ref, from_version=0, state="", state_label="", status=SKIPPED,
                           reasons=("the case was closed meanwhile",))
        target = _target(session, migration.to_version_id)
        outcome = assess(session, case, target, migration.state_mapping)
        if not outcome.migratable:
            return outcome
        _apply(session, case, target, outcome, migration.state_mapping, actor, clock, refire_rules)
    return replace(outcome, done=True)


def _apply(session: Session, case: Case, target: _Target, outcome: Outcome, mapping: Mapping[str, str],
           actor: User, clock: Clock, refire_rules: bool) -> None:
    """Move the locked case onto the target version: one write of the row, its tasks, approval and
    deadlines, and one audit event saying all of it."""
    before = {"case_type_version": case.case_type_version.number, "form_version": case.form_version.number,
              "state": case.state, "resume_state": case.resume_state}
    # Personal in either version: a value the old form kept personal stays sealed when the new one drops it.
    personal = set(case_schema(case).personal_keys) | set(target.pinned.schema.personal_keys)
    after_data, _ = _data_after(case, target.pinned.schema)
    case.case_type_version = target.version
    case.form_version = session.get(DefinitionVersion, target.pinned.form_version_id)  # type: ignore[assignment]
    case.state = str(outcome.target)
    if case.resume_state is not None:
        case.resume_state = mapping.get(case.resume_state, case.resume_state)
    case.data = json.dumps(after_data)
    case.updated_at, case.updated_by_id = clock(), actor.id
    _carry_work(session, case, mapping)
    session.flush()  # the row's version check first, as a transition's
    deadlines = sla.retarget(session, case, target.spec, renamed=mapping, clock=clock)
    audit.append(session, case.stream, "case.migrated", {
        "from_version": before["case_type_version"], "to_version": target.version.number,
        "form_version": {"from": before["form_version"], "to": target.form_version},
        "from": before["state"], "to": case.state,
        "resume_state": {"from": before["resume_state"], "to": case.resume_state},
        "state_mapping": dict(mapping),
        "changes": seal_changes(session, outcome.changes, personal, case_id=case.id, clock=clock),
        "deadlines": deadlines,
        "rules_refired": refire_rules}, actor=actor, clock=clock)
    if refire_rules:
        automation.run_rules(session, case, "case.updated", actor=actor, clock=clock)


def _carry_work(session: Session, case: Case, mapping: Mapping[str, str]) -> None:
    """Open tasks and the pending approval follow the case's states into the new version."""
    for task in session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "open")):
        task.state = mapping.get(task.state, task.state)
    approval = session.scalar(select(Approval).where(Approval.case_id == case.id, Approval.status == "pending"))
    if approval is not None:
        approval.on_approve = mapping.get(approval.on_approve or "", approval.on_approve)
        approval.on_reject = mapping.get(approval.on_reject or "", approval.on_reject)



@dataclass(frozen=True)
class Waiting:
    """A state open cases on other versions are in: what the page asks the admin to map."""

    key: str
    label: str
    cases: int
    exists: bool  # the target version has a state with this key


def states_to_map(session: Session, slug: str, to_version: int) -> list[Waiting]:
    """The states of the open cases of `slug` not yet on `to_version` (their resume states too), in order."""
    definition = find_definition(session, "case_type", slug)
    if definition is None:
        raise NotFound(f"No case type has the short name '{slug}'.")
    target = _target(session, get_version(definition, to_version).id)
    counts: dict[str, int] = {}
    labels: dict[str, str] = {}
    for case in session.scalars(select(Case).where(Case.case_type_id == definition.id, Case.is_open.is_(True),
                                                   Case.case_type_version_id != target.version.id)):
        for key in filter(None, (case.state, case.resume_state)):
            counts[key] = counts.get(key, 0) + (key == case.state)
            labels.setdefault(key, _label(case_spec(session, case), key))
    new_states = {s.key for s in target.spec.states}
    return [Waiting(key=key, label=labels[key], cases=counts[key], exists=key in new_states) for key in counts]
