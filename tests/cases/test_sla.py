"""SLA deadlines on real databases: started, met, paused and resumed with the case; warnings and breaches
fired exactly once, even by two sweepers at once; a failing hook blocks nobody.

Cases are filed with the real lifecycle; their moves are simulated by setting the state and calling
`sla.state_changed` the way the lifecycle does, inside one transaction, with fixed clocks.
"""

from __future__ import annotations

import json
import threading
import time as wall
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from cases import audit, definitions, sla, sla_sweep
from cases.case_versions import case_spec
from cases.clock import fixed
from cases.database import make_engine
from cases.models import AuditEvent, Case, Deadline, Definition, User
from cases.uow import IMMEDIATE, transaction
from tests.support.complaint import complaint_case_type_document
from tests.support.concurrency import race
from tests.support.sla import CALENDAR, TARGETS, file

BERLIN = ZoneInfo("Europe/Berlin")
FRIDAY_3PM = datetime(2026, 6, 5, 15, 0, tzinfo=BERLIN)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


@pytest.fixture
def sla_type(session: Session, admin: User, complaint: Definition, general: Any) -> Definition:
    definition = definitions.create(session, "case_type", slug="complaint", title="Customer complaint",
                                    actor=admin, document=complaint_case_type_document(sla=TARGETS,
                                                                                       calendar=CALENDAR))
    definitions.publish(session, definition, actor=admin)
    return definition


def move(session: Session, case: Case, to: str, at: datetime) -> None:
    """Put the case in state `to` at `at`, as a transition, request for information or reopening does."""
    spec = case_spec(session, case)
    with transaction(session):
        previous = case.state
        case.state = to
        case.is_open = not spec.state(to).is_final
        case.closed_at = at if not case.is_open else None
        case.updated_at = at
        session.flush()
        sla.state_changed(session, case, spec, previous_state=previous, clock=fixed(at))


class Hook:
    """An on_fire that records what it was called with, and can be told to fail for some cases."""

    def __init__(self, fail_for: set[int] | None = None) -> None:
        self.calls: list[tuple[int, int, str]] = []
        self.fail_for = fail_for or set()

    def __call__(self, session: Session, case: Case, deadline: Deadline, event: str) -> None:
        case.priority = "urgent"  # a change of the hook's own, to see that it commits (or not) with the event
        if case.id in self.fail_for:
            raise RuntimeError("rules engine exploded")
        self.calls.append((case.id, deadline.id, event))


def sweep(session: Session, at: datetime, hook: Callable[..., None] | None = None) -> int:
    return sla_sweep.sweep(session, clock=fixed(at), on_fire=hook or Hook())


def sla_events(session: Session, case: Case) -> list[tuple[str, dict[str, Any]]]:
    return [(e.kind, json.loads(e.payload)) for e in audit.events(session, case.stream) if e.kind.startswith("sla.")]


def the(session: Session, case: Case, kind: str, state: str) -> Deadline:
    found = [d for d in sla.deadlines_of(session, case) if (d.kind, d.state) == (kind, state)]
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------- following the case


def test_filing_starts_the_response_deadline_in_business_hours(session: Session, sla_type: Definition,
                                                               requester: User) -> None:
    case = file(session, sla_type, requester, FRIDAY_3PM)
    response = the(session, case, "response", "new")
    # Friday 15:00-17:00 is 2 h; the other 2 h are on Monday morning (Berlin time).
    assert response.due_at == berlin(2026, 6, 8, 11, 0)
    assert response.warn_at == berlin(2026, 6, 8, 10, 12)  # 80 % of 4 h = 3 h 12 min
    assert (response.status, response.target_seconds, response.business_hours) == ("running", 4 * 3600, True)
    assert case.due_at == response.due_at
    started = {"deadline": response.id, "kind": "response", "state": "new",
               "due_at": "2026-06-08T09:00:00.000000+00:00"}  # stored and recorded in UTC
    assert sla_events(session, case) == [("sla.started", started)]


def test_the_first_move_meets_the_response_and_starts_the_resolution(session: Session, sla_type: Definition,
                                                                       requester: User) -> None:
    case = file(session, sla_type, requester, FRIDAY_3PM)
    move(session, case, "in_progress", berlin(2026, 6, 8, 10, 0))
    response, resolution = the(session, case, "response", "new"), the(session, case, "resolution", "in_progress")
    assert (response.status, response.ended_at, response.warn_at) == ("met", berlin(2026, 6, 8, 10, 0), None)
    # 16 business hours from Monday 10:00: 7 on Monday, 8 on Tuesday, 1 on Wednesday.
    assert resolution.due_at == berlin(2026, 6, 10, 10, 0)
    assert case.due_at == resolution.due_at
    assert [k for k, _ in sla_events(session, case)] == ["sla.started", "sla.met", "sla.started"]


def test_waiting_pauses_and_answering_resumes_with_the_business_time_left(session: Session, sla_type: Definition,
                                                                          requester: User) -> None:
    case = file(session, sla_type, requester, FRIDAY_3PM)
    move(session, case, "in_progress", berlin(2026, 6, 8, 10, 0))
    move(session, case, "waiting", berlin(2026, 6, 8, 16, 0))  # 6 of 16 h used, 10 left
    resolution = the(session, case, "resolution", "in_progress")
    assert (resolution.status, resolution.due_at, resolution.remaining_seconds) == ("paused", None, 10 * 3600)
    assert case.due_at is None
    assert sweep(session, berlin(2026, 6, 30, 12, 0)) == 0  # paused deadlines never fire
    move(session, case, "in_progress", berlin(2026, 6, 11, 15, 0))  # the answer, on Thursday afternoon
    resolution = the(session, case, "resolution", "in_progress")
    # 10 h from Thursday 15:00: 2 on Thursday, 8 on Friday.
    assert (resolution.status, resolution.due_at, resolution.remaining_seconds) == ("running",
                                                                                  berlin(2026, 6, 12, 17, 0), None)
    assert resolution.warn_at == berlin(2026, 6, 12, 13, 48)  # when 3.2 h (a fifth of 16 h) remain
    assert case.due_at == resolution.due_at
    kinds = [(k, p.get("remaining_seconds")) for k, p in sla_events(session, case)]
    assert kinds[-2:] == [("sla.paused", 36000), ("sla.resumed", None)]
    assert len(sla.deadlines_of(session, case)) == 2  # coming back resumes; it starts nothing new


def test_targets_of_a_waiting_state_run_while_the_case_waits(session: Session, admin: User, complaint: Definition,
                                                             general: Any, requester: User) -> None:
    targets = [*TARGETS, {"state": "waiting", "kind": "response", "hours": 72, "business_hours": False}]
    definition = definitions.create(session, "case_type", slug="complaint", title="Complaint", actor=admin,
                                    document=complaint_case_type_document(sla=targets))
    definitions.publish(session, definition, actor=admin)
    case = file(session, definition, requester, FRIDAY_3PM)
    move(session, case, "in_progress", berlin(2026, 6, 8, 10, 0))
    move(session, case, "waiting", berlin(2026, 6, 8, 16, 0))
    answer = the(session, case, "response", "waiting")
    assert (answer.status, answer.due_at) == ("running", berlin(2026, 6, 11, 16, 0))  # 72 real hours
    assert case.due_at == answer.due_at
    move(session, case, "in_progress", berlin(2026, 6, 9, 9, 0))
    assert the(session, case, "response", "waiting").status == "met"
    assert the(session, case, "resolution", "in_progress").status == "running"


def test_closing_meets_what_runs_and_cancels_what_waits(session: Session, sla_type: Definition,
                                                        requester: User) -> None:
    resolved = file(session, sla_type, requester, FRIDAY_3PM)
    move(session, resolved, "in_progress", berlin(2026, 6, 8, 10, 0))
    move(session, resolved, "resolved", berlin(2026, 6, 9, 10, 0))
    assert [d.status for d in sla.deadlines_of(session, resolved)] == ["met", "met"]
    assert resolved.due_at is None
    withdrawn = file(session, sla_type, requester, FRIDAY_3PM)
    move(session, withdrawn, "in_progress", berlin(2026, 6, 8, 10, 0))
    move(session, withdrawn, "waiting", berlin(2026, 6, 8, 11, 0))
    move(session, withdrawn, "rejected", berlin(2026, 6, 20, 10, 0))  # closed while waiting for an answer
    resolution = the(session, withdrawn, "resolution", "in_progress")
    assert (resolution.status, resolution.ended_at) == ("cancelled", berlin(2026, 6, 20, 10, 0))
    assert sla_events(session, withdrawn)[-1][0] == "sla.cancelled"
    assert sweep(session, berlin(2026, 12, 1, 12, 0)) == 0


def test_reopening_starts_a_new_resolution_and_same_state_changes_nothing(session: Session, sla_type: Definition,
                                                                         requester: User) -> None:
    case = file(session, sla_type, requester, FRIDAY_3PM)
    move(session, case, "in_progress", berlin(2026, 6, 8, 10, 0))
    before = len(sla_events(session, case))
    move(session, case, "in_progress", berlin(2026, 6, 8, 11, 0))
    assert len(sla_events(session, case)) == before
    move(session, case, "resolved", berlin(2026, 6, 9, 10, 0))
    move(session, case, "in_progress", berlin(2026, 6, 15, 10, 0))  # reopened
    resolutions = [d for d in sla.deadlines_of(session, case) if d.kind == "resolution"]
    assert [d.status for d in resolutions] == ["met", "running"]
    assert case.due_at == resolutions[1].due_at == berlin(2026, 6, 17, 10, 0)


# ---------------------------------------------------------------- the sweep


def test_a_warning_then_a_breach_each_fire_exactly_once(session: Session, sla_type: Definition,
                                                        requester: User) -> None:
    case = file(session, sla_type, requester, FRIDAY_3PM)
    hook = Hook()
    assert sweep(session, berlin(2026, 6, 8, 10, 11), hook) == 0
    assert sweep(session, berlin(2026, 6, 8, 10, 12), hook) == 1
    assert sweep(session, berlin(2026, 6, 8, 10, 30), hook) == 0
    deadline = the(session, case, "response", "new")
    assert (deadline.warned_at, deadline.warn_at, deadline.status) == (berlin(2026, 6, 8, 10, 12), None, "running")
    assert sweep(session, berlin(2026, 6, 8, 11, 0), hook) == 1
    assert sweep(session, berlin(2026, 6, 8, 11, 1), hook) == 0
    assert sweep(session, berlin(2026, 7, 1, 0, 0), hook) == 0
    session.refresh(deadline)
    assert (deadline.status, deadline.breached_at) == ("breached", berlin(2026, 6, 8, 11, 0))
    assert hook.calls == [(case.id, deadline.id, "sla.warning"), (case.id, deadline.id, "sla.breached")]
    fired = [(k, p) for k, p in sla_events(session, case) if k in ("sla.warning", "sla.breached")]
    assert fired == [(kind, {"deadline": deadline.id, "kind": "response", "state": "new",
                             "due_at": "2026-06-08T09:00:00.000000+00:00"})
                     for kind in ("sla.warning", "sla.breached")]
    session.refresh(case)
    assert case.priority == "urgent"  # the hook's change committed with the events
    assert case.due_at == deadline.due_at  # an overdue case stays overdue in work lists
    assert audit.verify(session, case.stream).ok


def test_a_late_sweep_fires_only_the_breach(session: Session, sla_type: Definition, requester: User) -> None:
    case = file(session, sla_type, requester, FRIDAY_3PM)
    assert sweep(session, berlin(2026, 6, 9, 9, 0)) == 1
    assert [k for k, _ in sla_events(session, case)] == ["sla.started", "sla.breached"]


def test_moving_on_after_the_due_time_is_a_breach_not_a_met_target(session: Session, sla_type: Definition,
                                                                   requester: User) -> None:
    case = file(session, sla_type, requester, FRIDAY_3PM)
    move(session, case, "in_progress", berlin(2026, 6, 8, 12, 0))  # the response was due at 11:00
    response = the(session, case, "response", "new")
    assert (response.status, response.ended_at) == ("running", berlin(2026, 6, 8, 12, 0))
    assert case.due_at == the(session, case, "resolution", "in_progress").due_at
    assert sweep(session, berlin(2026, 6, 8, 12, 1)) == 1
    assert sweep(session, berlin(2026, 6, 8, 12, 2)) == 0
    assert the(session, case, "response", "new").status == "breached"
    assert [k for k, _ in sla_events(session, case)] == ["sla.started", "sla.started", "sla.breached"]


def test_a_failing_hook_blocks_no_other_case_and_is_retried_then_given_up(session: Session, sla_type: Definition,
                                                                          requester: User) -> None:
    bad = file(session, sla_type, requester, FRIDAY_3PM)
    good = file(session, sla_type, requester, FRIDAY_3PM)
    hook = Hook(fail_for={bad.id})
    late = berlin(2026, 6, 9, 9, 0)
    assert sweep(session, late, hook) == 1
    assert hook.calls == [(good.id, the(session, good, "response", "new").id, "sla.breached")]
    failed = the(session, bad, "response", "new")
    assert (failed.status, failed.attempts, failed.last_error) == ("running", 1,
                                                                   "RuntimeError: rules engine exploded")
    assert [k for k, _ in sla_events(session, bad)] == ["sla.started"]  # nothing of the failed firing
    session.refresh(bad)
    assert bad.priority == "normal"  # the hook's own change was rolled back with it
    assert sweep(session, late, hook) == 0  # second attempt fails too
    assert sweep(session, late, hook) == 1  # third: fires without the hook, and says so
    kind, payload = sla_events(session, bad)[-1]
    assert (kind, payload["hook_error"]) == ("sla.breached", "RuntimeError: rules engine exploded")
    assert the(session, bad, "response", "new").status == "breached"
    assert sweep(session, late, hook) == 0
    assert audit.verify(session).ok


def test_batches_cover_everything_due(session: Session, sla_type: Definition, requester: User) -> None:
    cases = [file(session, sla_type, requester, FRIDAY_3PM) for _ in range(5)]
    assert sla_sweep.sweep(session, clock=fixed(berlin(2026, 6, 9, 9, 0)), on_fire=Hook(), limit=2) == 5
    assert all(the(session, c, "response", "new").status == "breached" for c in cases)


# ---------------------------------------------------------------- several sweepers at once


def _breaches_per_deadline(session: Session) -> dict[int, int]:
    session.rollback()  # end any read snapshot: see what the other sessions committed
    rows = session.scalars(select(AuditEvent).where(AuditEvent.kind == "sla.breached")).all()
    counts: dict[int, int] = {}
    for event in rows:
        deadline = json.loads(event.payload)["deadline"]
        counts[deadline] = counts.get(deadline, 0) + 1
    return counts


def test_two_sweepers_at_once_fire_each_breach_exactly_once(session: Session, database_url: str,
                                                             sla_type: Definition, requester: User) -> None:
    cases = [file(session, sla_type, requester, FRIDAY_3PM) for _ in range(12)]
    deadlines = {the(session, c, "response", "new").id for c in cases}
    late = berlin(2026, 6, 9, 9, 0)
    calls: list[tuple[int, int, str]] = []
    lock = threading.Lock()

    def slow_hook(s: Session, case: Case, deadline: Deadline, event: str) -> None:
        wall.sleep(0.02)  # keep each sweeper busy long enough for the other to run alongside
        with lock:
            calls.append((threading.get_ident(), deadline.id, event))

    def run(s: Session, i: int) -> int:
        return sla_sweep.sweep(s, clock=fixed(late), on_fire=slow_hook, limit=3)

    results = race(database_url, 2, run)
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == len(deadlines)
    assert _breaches_per_deadline(session) == dict.fromkeys(deadlines, 1)
    assert sorted(d for _, d, _ in calls) == sorted(deadlines)
    assert audit.verify(session).ok


def test_many_rounds_of_racing_sweepers_never_fire_twice(session: Session, database_url: str,
                                                        sla_type: Definition, requester: User) -> None:
    """Warnings and breaches due at different moments, swept by two racing workers round after round."""
    cases = [file(session, sla_type, requester, FRIDAY_3PM + timedelta(minutes=7 * i)) for i in range(6)]
    ids = {the(session, c, "response", "new").id for c in cases}
    total = 0
    for minute in range(0, 24 * 60 * 3, 45):  # Monday 00:00 to Wednesday, every 45 minutes
        at = berlin(2026, 6, 8, 0, 0) + timedelta(minutes=minute)
        results = race(database_url, 2, lambda s, i, at=at: sla_sweep.sweep(s, clock=fixed(at), on_fire=Hook()))
        assert all(isinstance(r, int) for r in results), results
        total += sum(results)
    assert total == 2 * len(ids)  # one warning and one breach per deadline
    session.rollback()
    kinds = session.execute(select(AuditEvent.kind, func.count()).where(AuditEvent.kind.in_(
        ["sla.warning", "sla.breached"])).group_by(AuditEvent.kind)).all()
    assert dict(kinds) == {"sla.warning": len(ids), "sla.breached": len(ids)}
    assert _breaches_per_deadline(session) == dict.fromkeys(ids, 1)


def test_a_sweeper_skips_a_case_being_changed_on_postgresql_and_waits_on_sqlite(
        session: Session, database_url: str, sla_type: Definition, requester: User) -> None:
    busy = file(session, sla_type, requester, FRIDAY_3PM)
    free = file(session, sla_type, requester, FRIDAY_3PM)
    engine = make_engine(database_url)
    try:
        with Session(engine) as agent, Session(engine) as sweeper:
            if database_url.startswith("postgresql"):
                agent.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": busy.id})
                started = wall.monotonic()
                assert sla_sweep.sweep(sweeper, clock=fixed(berlin(2026, 6, 9, 9, 0)), on_fire=Hook()) == 1
                assert wall.monotonic() - started < 5  # skipped, not waited for
                agent.rollback()
                assert sla_sweep.sweep(sweeper, clock=fixed(berlin(2026, 6, 9, 9, 1)), on_fire=Hook()) == 1
            else:
                agent.connection(execution_options={IMMEDIATE: True})  # another writer holds the lock...
                threading.Timer(0.5, agent.rollback).start()  # ...for half a second
                started = wall.monotonic()
                assert sla_sweep.sweep(sweeper, clock=fixed(berlin(2026, 6, 9, 9, 0)), on_fire=Hook()) == 2
                assert wall.monotonic() - started >= 0.4  # waited its turn, then did everything
    finally:
        engine.dispose()
    session.rollback()
    assert _breaches_per_deadline(session) == {the(session, busy, "response", "new").id: 1,
                                               the(session, free, "response", "new").id: 1}


def test_a_case_change_waits_for_a_sweeper_and_sees_what_it_fired(session: Session, database_url: str,
                                                                   sla_type: Definition, requester: User) -> None:
    """A transition racing the sweep of the same case: the breach is recorded once and never 'met' over."""
    case = file(session, sla_type, requester, FRIDAY_3PM)
    late = berlin(2026, 6, 9, 9, 0)

    def work(s: Session, i: int) -> Any:
        if i == 0:  # a hook that leaves the case alone (one that changes it makes the mover a Conflict)
            return sla_sweep.sweep(s, clock=fixed(late), on_fire=lambda *args: None)
        fresh = s.get(Case, case.id)
        assert fresh is not None
        move(s, fresh, "in_progress", late)
        return "moved"

    results = race(database_url, 2, work)
    assert results[1] == "moved" and results[0] in (0, 1), results
    if results[0] == 0:  # the move came first: the overdue response is left to a later sweep
        assert sweep(session, late + timedelta(minutes=1)) == 1
    session.rollback()
    assert _breaches_per_deadline(session) == {the(session, case, "response", "new").id: 1}
    assert the(session, case, "response", "new").status == "breached"
    assert audit.verify(session, case.stream).ok


def test_deadlines_are_stored_in_utc_on_both_backends(session: Session, sla_type: Definition,
                                                      requester: User) -> None:
    case = file(session, sla_type, requester, FRIDAY_3PM)
    session.expire_all()
    deadline = the(session, case, "response", "new")
    assert deadline.due_at is not None and deadline.due_at.tzinfo is UTC
    assert deadline.due_at == datetime(2026, 6, 8, 9, 0, tzinfo=UTC)
