"""Moving open cases to a new case-type version: the dry run, the migration, a failure half-way, a rerun."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from case_types.errors import NotFound, ValidationFailed
from case_types.workflow import TransitionNotAllowed
from cases import audit, lifecycle, migration, sla
from cases.clock import fixed
from cases.errors import CaseChanged
from cases.models import Approval, Case, Definition, Document, Task, User
from cases.submissions import Uploader
from tests.support.complaint import GOOD
from tests.support.concurrency import race
from tests.support.migration import (
    MAPPING,
    START,
    expected,
    file_in_states,
    publish_both,
    publish_version_two,
    version_one,
    version_two,
)

LATER = START + timedelta(days=5)
SOON = START + timedelta(hours=12)  # before any in-progress case of the first twelve is overdue


@pytest.fixture
def case_type(session: Session, admin: User, general: Any) -> Definition:
    return publish_both(session, admin)


def _events(session: Session, case: Case, kind: str) -> list[Any]:
    return [e for e in audit.events(session, case.stream) if e.kind == kind]


def test_dry_run_migration_failure_and_rerun(session: Session, admin: User, requester: User, agent: User,
                                             case_type: Definition, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = file_in_states(session, case_type, requester, agent, 100)
    refs = [c.ref for c in cases]
    publish_version_two(session, admin, case_type)

    dry = migration.plan(session, "complaint", 2, state_mapping=MAPPING)
    assert [o.ref for o in dry.outcomes] == refs
    assert [(o.status, o.target) for o in dry.outcomes] == [expected(i) for i in range(100)]
    blocked = [o for o in dry.outcomes if o.status == migration.BLOCKED]
    assert len(blocked) == 20 and all("Account number" in "; ".join(o.reasons) for o in blocked)
    session.rollback()
    assert all(c.case_type_version.number == 1 for c in session.scalars(select(Case)))

    # Half-way through the tenth movable case (its row written, its deadlines not yet), it fails.
    broken = dry.migratable[9]
    before = session.get(Case, broken.case_id)
    assert before is not None
    seen = (before.lock_version, before.state, before.data, len(audit.events(session, before.stream)))
    real = sla.retarget

    def failing(s: Session, case: Case, *args: Any, **kwargs: Any) -> Any:
        if case.id == broken.case_id:
            raise RuntimeError("the disk is full")
        return real(s, case, *args, **kwargs)

    monkeypatch.setattr(sla, "retarget", failing)
    done = migration.migrate(session, dry, admin, clock=fixed(LATER))
    monkeypatch.undo()
    failed = [o for o in done if o.status == migration.FAILED]
    assert [o.ref for o in failed] == [broken.ref] and "the disk is full" in failed[0].describe()
    assert sum(o.done for o in done) == 79
    session.rollback()
    untouched = session.get(Case, broken.case_id)
    assert untouched is not None and untouched.case_type_version.number == 1
    assert (untouched.lock_version, untouched.state, untouched.data,
            len(audit.events(session, untouched.stream))) == seen

    for i, case in enumerate(session.scalars(select(Case).order_by(Case.id))):
        status, target = expected(i)
        moved = status != migration.BLOCKED and case.id != broken.case_id
        assert case.case_type_version.number == (2 if moved else 1), case.ref
        assert case.state == (target if moved else ("review" if case.state == "review" else case.state))
        assert len(_events(session, case, "case.migrated")) == (1 if moved else 0)
    assert audit.verify(session).ok

    again = migration.migrate(session, migration.plan(session, "complaint", 2, state_mapping=MAPPING), admin,
                              clock=fixed(LATER))
    assert [o.ref for o in again if o.done] == [broken.ref]
    third = migration.plan(session, "complaint", 2, state_mapping=MAPPING)
    assert third.migratable == [] and sum(o.status == migration.CURRENT for o in third.outcomes) == 80
    assert not any(o.done for o in migration.migrate(session, third, admin, clock=fixed(LATER)))
    assert all(len(_events(session, c, "case.migrated")) <= 1 for c in session.scalars(select(Case)))
    assert audit.verify(session).ok


def test_the_event_says_what_moved_and_the_deadlines_follow_the_new_targets(
        session: Session, admin: User, requester: User, agent: User, case_type: Definition) -> None:
    # 2 in progress, 3 review, 4 waiting, 11 escalated (0 and 5 have no account number)
    cases = file_in_states(session, case_type, requester, agent, 12)
    publish_version_two(session, admin, case_type)
    done = migration.migrate(session, migration.plan(session, "complaint", 2, state_mapping=MAPPING), admin,
                             clock=fixed(SOON))
    assert [o.done for o in done] == [expected(i)[0] != migration.BLOCKED for i in range(12)]
    working, review, waiting, escalated = (session.get(Case, cases[i].id) for i in (2, 3, 4, 11))
    assert working is not None and review is not None and waiting is not None and escalated is not None

    event = json.loads(_events(session, review, "case.migrated")[0].payload)
    assert event["from_version"] == 1 and event["to_version"] == 2
    assert event["form_version"] == {"from": 1, "to": 2}
    assert (event["from"], event["to"]) == ("review", "checking") and event["state_mapping"] == MAPPING
    assert event["rules_refired"] is False

    # In progress since filing + 10 min: the 16 h resolution target becomes 24 h, counted from the same start.
    entered = START + timedelta(hours=2, minutes=10)
    (resolution,) = [d for d in sla.deadlines_of(session, working) if d.ended_at is None]
    assert resolution.target_seconds == 24 * 3600
    assert resolution.due_at is not None and resolution.due_at.replace(tzinfo=None) == \
        (entered + timedelta(hours=24)).replace(tzinfo=None)
    # Escalated owed nothing of in_progress; mapped there, it owes the new target from the migration on.
    (started,) = [d for d in sla.deadlines_of(session, escalated) if d.ended_at is None]
    assert (started.state, started.kind, started.target_seconds) == ("in_progress", "resolution", 24 * 3600)
    assert started.due_at is not None and started.due_at.replace(tzinfo=None) == \
        (SOON + timedelta(hours=24)).replace(tzinfo=None)
    assert waiting.state == "waiting" and waiting.resume_state == "in_progress"
    # The waiting case's paused resolution keeps what it had used and owes the longer target.
    (paused,) = [d for d in sla.deadlines_of(session, waiting) if d.ended_at is None]
    assert paused.status == sla.PAUSED and paused.remaining_seconds == 24 * 3600
    assert audit.verify(session).ok


def test_documents_rendered_after_record_the_new_version(session: Session, admin: User, requester: User,
                                                         agent: User, case_type: Definition) -> None:
    cases = file_in_states(session, case_type, requester, agent, 3)
    publish_version_two(session, admin, case_type)
    migration.migrate(session, migration.plan(session, "complaint", 2, state_mapping=MAPPING), admin)
    working = session.get(Case, cases[2].id)
    assert working is not None and working.case_type_version.number == 2
    lifecycle.transition(session, working, "resolve", agent)
    rows = list(session.scalars(select(Document).where(Document.case_id == working.id)))
    assert rows and {row.case_type_version for row in rows} == {2}


def test_bad_slug_version_and_mapping_are_refused(session: Session, admin: User, requester: User,
                                                  agent: User, case_type: Definition) -> None:
    file_in_states(session, case_type, requester, agent, 2)
    publish_version_two(session, admin, case_type)
    with pytest.raises(NotFound, match="No case type has the short name 'nope'"):
        migration.plan(session, "nope", 2, state_mapping={})
    with pytest.raises(NotFound, match="has no version 7"):
        migration.plan(session, "complaint", 7, state_mapping={})
    with pytest.raises(ValidationFailed) as refused:
        migration.plan(session, "complaint", 2, state_mapping={"escalated": "gone", "nowhere": "new",
                                                               "review": "resolved"})
    assert set(refused.value.fields) == {"escalated", "nowhere", "review"}
    assert "closes the case" in refused.value.fields["review"][0]
    unmapped = migration.plan(session, "complaint", 2, state_mapping={})
    assert unmapped.outcomes[1].status == migration.KEPT  # triage stays
    assert migration.plan(session, "complaint", 2, state_mapping={}, refs=["cmp-000001"]).outcomes[0].ref \
        == "CMP-000001"


def test_an_agent_moving_a_case_during_its_migration_loses_nothing(
        session: Session, database_url: str, admin: User, requester: User, agent: User, case_type: Definition,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The migration holds the case (row locked, written, not committed) when the agent fires 'check': the
    agent's write waits, then finds the case changed; reloaded, the case is on version 2 and 'check' leads to
    'checking' there. Both events are in the chain, in order, and nothing of either is lost."""
    case = file_in_states(session, case_type, requester, agent, 3)[2]  # in progress
    publish_version_two(session, admin, case_type)
    planned = migration.plan(session, "complaint", 2, state_mapping=MAPPING, refs=[case.ref])
    case_id, admin_id, agent_id = case.id, admin.id, agent.id
    holding, agent_waits = threading.Event(), threading.Event()
    real = sla.retarget

    def held(s: Session, c: Case, *args: Any, **kwargs: Any) -> Any:
        holding.set()  # the row is locked and written; let the agent try now
        agent_waits.wait(timeout=10)
        time.sleep(0.5)  # the agent's write is queued behind the lock by now
        return real(s, c, *args, **kwargs)

    monkeypatch.setattr(sla, "retarget", held)

    def work(s: Session, i: int) -> Any:
        if i == 0:
            actor = s.get(User, admin_id)
            assert actor is not None
            return migration.migrate(s, planned, actor)
        assert holding.wait(timeout=10)
        mover = s.get(User, agent_id)
        stale = s.get(Case, case_id)
        assert stale is not None and mover is not None and stale.state == "in_progress"
        agent_waits.set()
        try:
            lifecycle.transition(s, stale, "check", mover)
        except CaseChanged:
            s.rollback()
            fresh = s.get(Case, case_id)
            assert fresh is not None
            return ("retried", lifecycle.transition(s, fresh, "check", mover).state)
        return ("first", stale.state)

    results = race(database_url, 2, work)
    assert not any(isinstance(r, BaseException) for r in results), results
    assert [o.done for o in results[0]] == [True]
    assert results[1] == ("retried", "checking")
    session.rollback()
    final = session.get(Case, case_id)
    assert final is not None and final.case_type_version.number == 2 and final.state == "checking"
    kinds = [e.kind for e in audit.events(session, final.stream)]
    assert kinds.index("case.migrated") < kinds.index("case.transitioned", kinds.index("case.migrated"))
    moved = [json.loads(e.payload) for e in audit.events(session, final.stream) if e.kind == "case.transitioned"]
    assert moved[-1]["to"] == "checking"
    assert audit.verify(session, final.stream).ok


def test_an_open_task_moves_only_to_a_version_that_has_it(session: Session, admin: User, requester: User,
                                                          agent: User, general: Any) -> None:
    photos = [{"key": "photos", "label": "Check the photos", "queue": "general", "required": True}]
    first = version_one()
    next(t for t in first["transitions"] if t["key"] == "check")["tasks"] = photos
    case_type = publish_both(session, admin, first)
    in_review = file_in_states(session, case_type, requester, agent, 4)[3]
    publish_version_two(session, admin, case_type)  # its 'check' has no task
    third = version_two()
    next(t for t in third["transitions"] if t["key"] == "check")["tasks"] = photos
    publish_version_two(session, admin, case_type, third)

    lacking = migration.plan(session, "complaint", 2, state_mapping=MAPPING, refs=[in_review.ref]).outcomes[0]
    assert lacking.status == migration.BLOCKED
    assert lacking.reasons == ("the open task 'Check the photos' is not in version 2",)
    having = migration.plan(session, "complaint", 3, state_mapping=MAPPING, refs=[in_review.ref])
    assert [o.done for o in migration.migrate(session, having, admin)] == [True]
    (task,) = session.scalars(select(Task).where(Task.case_id == in_review.id))
    assert (task.state, task.status) == ("checking", "open")
    case = session.get(Case, in_review.id)
    assert case is not None and case.state == "checking"
    with pytest.raises(TransitionNotAllowed, match="Check the photos"):
        lifecycle.transition(session, case, "resolve", agent)


def test_a_migration_waits_for_an_agent_moving_the_case_and_judges_it_afresh(
        session: Session, database_url: str, admin: User, requester: User, agent: User, case_type: Definition,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The other order: the agent's transition holds the case (written, not committed) when the migration
    reaches it. The migration waits for the lock, then sees the case in 'review' (the plan saw 'in progress')
    and maps it to 'checking'; both events are in the chain, the transition first."""
    case = file_in_states(session, case_type, requester, agent, 3)[2]  # in progress
    publish_version_two(session, admin, case_type)
    planned = migration.plan(session, "complaint", 2, state_mapping=MAPPING, refs=[case.ref])
    assert planned.outcomes[0].status == migration.KEPT
    case_id, admin_id, agent_id = case.id, admin.id, agent.id
    holding, migrating = threading.Event(), threading.Event()
    real = sla.state_changed

    def held(s: Session, c: Case, *args: Any, **kwargs: Any) -> Any:
        holding.set()  # the agent's row is written; let the migration reach for it
        migrating.wait(timeout=10)
        time.sleep(0.5)  # the migration's lock is queued behind ours by now
        return real(s, c, *args, **kwargs)

    monkeypatch.setattr(sla, "state_changed", held)

    def work(s: Session, i: int) -> Any:
        if i == 0:
            mover = s.get(User, agent_id)
            moving = s.get(Case, case_id)
            assert mover is not None and moving is not None
            return lifecycle.transition(s, moving, "check", mover).state
        assert holding.wait(timeout=10)
        actor = s.get(User, admin_id)
        assert actor is not None
        migrating.set()
        return migration.migrate(s, planned, actor)

    results = race(database_url, 2, work)
    assert not any(isinstance(r, BaseException) for r in results), results
    assert results[0] == "review"
    (outcome,) = results[1]
    assert outcome.done and outcome.status == migration.MAPPED and outcome.state == "review"
    session.rollback()
    final = session.get(Case, case_id)
    assert final is not None and final.case_type_version.number == 2 and final.state == "checking"
    kinds = [e.kind for e in audit.events(session, final.stream)]
    assert kinds[-1] == "case.migrated" and "case.transitioned" in kinds
    assert json.loads(audit.events(session, final.stream)[-1].payload)["from"] == "review"
    assert audit.verify(session, final.stream).ok


def test_a_pending_approval_moves_only_to_a_version_whose_rules_ask_for_it(
        session: Session, admin: User, requester: User, agent: User, general: Any) -> None:
    def gold(on_approve: str) -> dict[str, Any]:
        return {"schema_version": 1, "rules": [{
            "id": "gold", "name": "Gold needs an admin's approval", "trigger": "case.submitted", "priority": 1,
            "condition": {"field": "customer_tier", "op": "eq", "value": "gold"},
            "actions": [{"type": "require_approval", "role": "admin", "on_approve": on_approve,
                         "on_reject": "rejected"}]}]}

    case_type = publish_both(session, admin, {**version_one(), "rules": gold("escalated")})
    waiting = lifecycle.file_case(session, case_type, {**GOOD, "account_id": "AC-1"},  # a gold customer
                                  uploader=Uploader(requester))
    assert session.scalar(select(Approval).where(Approval.case_id == waiting.id)) is not None
    publish_version_two(session, admin, case_type)  # no rules
    publish_version_two(session, admin, case_type, {**version_two(), "rules": gold("in_progress")})

    lacking = migration.plan(session, "complaint", 2, state_mapping=MAPPING, refs=[waiting.ref]).outcomes[0]
    assert lacking.reasons == ("the pending approval (rule 'gold') is not in version 2",)
    having = migration.plan(session, "complaint", 3, state_mapping=MAPPING, refs=[waiting.ref])
    assert [o.done for o in migration.migrate(session, having, admin)] == [True]
    approval = session.scalar(select(Approval).where(Approval.case_id == waiting.id))
    assert approval is not None and (approval.status, approval.on_approve) == ("pending", "in_progress")


def test_rules_run_again_only_when_asked(session: Session, admin: User, requester: User, agent: User,
                                         case_type: Definition) -> None:
    cases = file_in_states(session, case_type, requester, agent, 3)  # 1 triage, 2 in progress
    tagging = {"schema_version": 1, "rules": [{
        "id": "tag", "name": "Tag high ones", "trigger": "case.updated", "priority": 1,
        "condition": {"field": "severity", "op": "eq", "value": "high"},
        "actions": [{"type": "add_tag", "tag": "moved"}]}]}
    publish_version_two(session, admin, case_type, {**version_two(), "rules": tagging})
    quiet = migration.plan(session, "complaint", 2, state_mapping=MAPPING, refs=[cases[1].ref])
    migration.migrate(session, quiet, admin)
    loud = migration.plan(session, "complaint", 2, state_mapping=MAPPING, refs=[cases[2].ref])
    migration.migrate(session, loud, admin, refire_rules=True)
    first, second = session.get(Case, cases[1].id), session.get(Case, cases[2].id)
    assert first is not None and second is not None
    assert json.loads(first.tags) == [] and json.loads(second.tags) == ["moved"]
    assert json.loads(_events(session, second, "case.migrated")[0].payload)["rules_refired"] is True


def test_a_document_prints_and_records_the_version_it_was_rendered_under(
        session: Session, admin: User, requester: User, agent: User, case_type: Definition) -> None:
    """Queued before a migration, a dossier claimed before it prints version 1 (and its state's v1 label),
    however late it renders or is re-rendered; one claimed after it records and prints version 2."""
    from cases import document_content, documents

    cases = file_in_states(session, case_type, requester, agent, 4)
    reviewing = cases[3]  # in 'review', which version 2 renames to 'checking'
    early = documents.request_draft(session, reviewing, admin)
    late = documents.queue_dossier(session, reviewing, requested_by=admin)
    claimed = documents.claim(session, early.id)
    assert claimed is not None
    publish_version_two(session, admin, case_type)
    migration.migrate(session, migration.plan(session, "complaint", 2, state_mapping=MAPPING), admin)
    session.expire_all()
    assert session.get(Case, reviewing.id).case_type_version.number == 2  # type: ignore[union-attr]

    before = document_content.render_input(session, claimed, organisation="Casework")
    assert before.context.case_type == "Customer complaint v1" and before.context.state == "Review"
    assert "/case-type-v1/" in before.stable_id and claimed.case_type_version == 1
    assert document_content.render_input(session, claimed, organisation="Casework") == before  # re-rendering
    after = documents.claim(session, late.id)
    assert after is not None and after.case_type_version == 2
    rendered = document_content.render_input(session, after, organisation="Casework")
    assert rendered.context.case_type == "Customer complaint v2" and rendered.context.state == "Checking"
    assert "/case-type-v2/" in rendered.stable_id
