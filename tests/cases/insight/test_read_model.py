"""The analytics read model: written with the change it describes, rebuilt from the chain row for row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases import lifecycle
from cases.clock import fixed
from cases.insight import rebuild, store
from cases.models import Case, Definition, InsightCase, SlaOutcome, StateVisit, User
from cases.submissions import Uploader
from tests.support import insight
from tests.support.complaint import CALM
from tests.support.migration import START


@pytest.fixture
def case_type(session: Session, admin: User, agent: User, general: Any) -> Definition:
    return insight.setup(session, admin, agent)


def test_the_rebuilt_read_model_equals_the_live_one_row_for_row(session: Session, admin: User, requester: User,
                                                                agent: User, case_type: Definition) -> None:
    cases = insight.run(session, admin, requester, agent, case_type)
    session.commit()
    live = store.dump(session.connection())
    session.commit()
    done = rebuild.rebuild(session)
    rebuilt = store.dump(session.connection())
    assert done.cases == len(cases)
    assert rebuilt == live
    # The scenario reached every part of the model (else the comparison proves little).
    visits = {(r.state, r.entered_by) for r in session.scalars(select(StateVisit))}
    assert {("escalated", "rule"), ("waiting", "information"), ("in_progress", "reopen"),
            ("resolved", "transition")} <= visits
    assert any(by == "migration" for _s, by in visits) or session.scalar(
        select(func.count()).select_from(InsightCase).where(InsightCase.version == 2))
    statuses = {r.status for r in session.scalars(select(SlaOutcome))}
    assert {"met", "breached"} <= statuses
    facts = {r.ref: r for r in session.scalars(select(InsightCase))}
    b = facts[cases[1].ref]
    # Escalated on filing (gold), then its late first response went to the supervisors after it was resolved.
    assert (b.reopens, b.is_open, b.escalations, b.queue) == (1, False, 2, "supervisors")
    assert b.path == "new>in_progress>waiting>in_progress>resolved>in_progress>resolved"
    assert b.cycle_seconds == timedelta(hours=21).total_seconds()
    late = facts[cases[4].ref]
    assert late.queue == "supervisors" and late.assignee == agent.email and late.escalations == 1
    paused = session.scalars(select(SlaOutcome).where(SlaOutcome.case_id == cases[1].id,
                                                      SlaOutcome.kind == "resolution")).first()
    assert paused is not None and paused.paused_seconds == 3 * 3600.0


def test_a_rolled_back_change_leaves_no_analytics_row(session: Session, admin: User, requester: User,
                                                     agent: User, case_type: Definition,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the mail queue is gone")

    data = {**CALM, "account_id": "AC-1"}
    with monkeypatch.context() as patch:  # the filing fails at its last step, after its events were written
        patch.setattr(lifecycle, "notify_requester", failing)
        with pytest.raises(RuntimeError):
            lifecycle.file_case(session, case_type, data, uploader=Uploader(requester), clock=fixed(START))
    assert session.scalar(select(func.count()).select_from(Case)) == 0
    assert store.dump(session.connection()) == {t.name: [] for t in store.TABLES}
    session.rollback()

    case = lifecycle.file_case(session, case_type, data, uploader=Uploader(requester), clock=fixed(START))
    lifecycle.transition(session, case, "sort", agent, clock=fixed(START + timedelta(minutes=5)))
    before = store.dump(session.connection())
    session.rollback()
    assert len(before["insight_state_visits"]) == 3  # new, triage, and escalated by the damaged-goods rule
    with monkeypatch.context() as patch:  # a transition that fails after its events and the rules' moves
        patch.setattr(lifecycle.tasks, "create_for", failing)
        with pytest.raises(RuntimeError):
            lifecycle.transition(session, case, "start", agent, clock=fixed(START + timedelta(hours=1)))
    assert store.dump(session.connection()) == before
