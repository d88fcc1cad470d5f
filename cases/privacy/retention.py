"""Retention schedules at work: which closed cases are due, the preview of the next sweep, and the sweep.

A case type's latest published version says how long its closed cases are kept (case_types.retention):
a schedule is a policy about records, so tightening it applies to the cases already closed. The preview and
the sweep share `plan`, so the preview lists exactly what the sweep will do at the same moment; held cases
(cases.privacy.holds) are listed as skipped and never touched. Each action is written once per case
(`RetentionAction`), in the same transaction as its audit event.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from case_types.retention import ACTIONS, Retention, add_period
from cases import audit
from cases.clock import Clock, utcnow
from cases.models import Case, Definition, Document, DocumentCheck, RetentionAction, StoredFile
from cases.privacy.erasure import anonymise_case
from cases.privacy.holds import held_case_ids
from cases.privacy.keeping import schedule_of
from cases.storage import FileStorage
from cases.uow import transaction

MAX_PER_SWEEP = 500


@dataclass(frozen=True)
class Step:
    """One case the sweep acts on (or, when `held`, would act on but must not)."""

    case_id: int
    ref: str
    case_type: str
    closed_at: datetime
    due_at: datetime
    action: str
    held: bool = False

    @property
    def action_label(self) -> str:
        return ACTIONS[self.action]


@dataclass(frozen=True)
class Schedule:
    definition: Definition
    retention: Retention


@dataclass
class Plan:
    at: datetime
    steps: list[Step] = field(default_factory=list)

    @property
    def due(self) -> list[Step]:
        """What the sweep will do."""
        return [s for s in self.steps if not s.held]

    @property
    def held(self) -> list[Step]:
        """What it would do but a legal hold forbids."""
        return [s for s in self.steps if s.held]


def schedules(session: Session) -> list[Schedule]:
    """Every case type that has a retention schedule, by title."""
    found = []
    for definition in session.scalars(select(Definition).where(Definition.kind == "case_type")
                                      .order_by(Definition.title)):
        retention = schedule_of(session, definition)
        if retention is not None:
            found.append(Schedule(definition, retention))
    return found


def _candidates(session: Session, schedule: Schedule, now: datetime) -> Iterator[Step]:
    retention = schedule.retention
    # The query takes every case closed at least the period before now, widened by the three days a short
    # month can clamp away (31 January + 1 month is 28 February); each case's own due time decides.
    cutoff = add_period(now, -retention.keep, retention.unit) + (timedelta(days=3) if retention.unit != "days"
                                                                 else timedelta())
    done = select(RetentionAction.case_id).where(RetentionAction.action == retention.then)
    rows = session.execute(
        select(Case.id, Case.ref, Case.closed_at).where(
            Case.case_type_id == schedule.definition.id, Case.is_open.is_(False), Case.closed_at.is_not(None),
            Case.closed_at <= cutoff, Case.id.not_in(done))
        .order_by(Case.closed_at, Case.id).limit(MAX_PER_SWEEP))
    for case_id, ref, closed_at in rows:
        assert closed_at is not None  # selected so
        due_at = retention.due(closed_at)
        if due_at <= now:
            yield Step(case_id, ref, schedule.definition.slug, closed_at, due_at, retention.then)


def plan(session: Session, *, now: datetime, case_type: Definition | None = None) -> Plan:
    """What a sweep at `now` does (of one case type, or all), held cases marked."""
    steps = [step for schedule in schedules(session)
             if case_type is None or schedule.definition.id == case_type.id
             for step in _candidates(session, schedule, now)]
    held = held_case_ids(session, [s.case_id for s in steps])
    return Plan(now, [Step(**{**s.__dict__, "held": s.case_id in held}) for s in steps])


# ---------------------------------------------------------------- the sweep


@dataclass(frozen=True)
class Stores:
    """Where the bytes live: uploaded files and generated documents (the web layer knows the folders)."""

    files: FileStorage
    documents: FileStorage


def _delete_files(session: Session, case: Case, stores: Stores) -> tuple[dict[str, int], list[Callable[[], None]]]:
    """Remove the case's documents and files (rows now, bytes once the transaction committed)."""
    document_ids = list(session.scalars(select(Document.id).where(Document.case_id == case.id)))
    session.execute(delete(DocumentCheck).where(DocumentCheck.document_id.in_(document_ids)))
    documents = list(session.scalars(delete(Document).where(Document.case_id == case.id)
                                     .returning(Document.storage_name)))
    files = list(session.scalars(delete(StoredFile).where(StoredFile.case_id == case.id)
                                 .returning(StoredFile.storage_name)))
    later: list[Callable[[], None]] = [partial(stores.documents.delete, name) for name in documents if name]
    later += [partial(stores.files.delete, name) for name in files]
    return {"documents": len(documents), "files": len(files)}, later


def _blocked(session: Session, step: Step) -> bool:
    """A hold arrived since the plan, or another sweep already did it."""
    return bool(held_case_ids(session, [step.case_id]) or session.scalar(select(RetentionAction.id).where(
        RetentionAction.case_id == step.case_id, RetentionAction.action == step.action)))


def _act(session: Session, step: Step, stores: Stores, clock: Clock) -> bool:
    """Carry out one step unless it is blocked now; True when done here."""
    reason = f"Retention schedule of {step.case_type}: closed {step.closed_at.date().isoformat()}"
    if step.action == "anonymise":
        with transaction(session):
            if _blocked(session, step):
                return False
        case = session.get(Case, step.case_id)
        assert case is not None
        details = _anonymise(session, case, reason, stores, clock)  # its own transaction, audited by cases.privacy
        with transaction(session):
            session.add(RetentionAction(case_id=step.case_id, action=step.action, done_at=clock(),
                                        details=json.dumps(details, sort_keys=True)))
        return True
    with transaction(session):
        if _blocked(session, step):
            return False
        case = session.get(Case, step.case_id)
        assert case is not None
        details, later = _delete_files(session, case, stores)
        audit.append(session, case.stream, "case.files_deleted", {**details, "reason": reason}, actor=None,
                     clock=clock)
        session.add(RetentionAction(case_id=case.id, action=step.action, done_at=clock(),
                                    details=json.dumps(details, sort_keys=True)))
    for remove in later:
        remove()
    return True


def sweep(session: Session, *, stores: Stores, clock: Clock = utcnow) -> list[Step]:
    """The daily sweep: act on every due case that no hold covers; returns what it did."""
    return [step for step in plan(session, now=clock()).due if _act(session, step, stores, clock)]


def actions_of(session: Session, case_ids: Sequence[int]) -> dict[int, list[RetentionAction]]:
    """What the sweep did to these cases."""
    found: dict[int, list[RetentionAction]] = {}
    for row in session.scalars(select(RetentionAction).where(RetentionAction.case_id.in_(case_ids))
                               .order_by(RetentionAction.id)):
        found.setdefault(row.case_id, []).append(row)
    return found


def _anonymise(session: Session, case: Case, reason: str, stores: Stores, clock: Clock) -> dict[str, int]:
    """Erase the case's personal values and keep the rest and the process facts (cases.privacy.erasure)."""
    erased = anonymise_case(session, case, None, clock=clock, reason=reason, files=stores.files,
                                    documents=stores.documents)
    return {"values": erased.values, "comments": erased.comments, "files": erased.files,
            "documents": erased.documents}
