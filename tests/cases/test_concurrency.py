"""Races between agents, on real databases: one claim wins, a stale edit loses, chains stay whole."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy.orm import Session

from case_types.errors import Conflict
from cases import accounts, assignment, audit, conversation, lifecycle
from cases.models import Case, Definition, User
from cases.submissions import Uploader
from tests.support.complaint import GOOD
from tests.support.concurrency import race


def workers_for(database_url: str, postgres: int) -> int:
    """The acceptance numbers run on PostgreSQL; SQLite, one writer at a time by design, races fewer."""
    return postgres if database_url.startswith("postgresql") else min(postgres, 10)


@pytest.fixture
def agents(session: Session, general: Any) -> list[User]:
    crowd = []
    for i in range(50):
        user = accounts.create_user(session, email=f"agent{i}@example.com", name=f"Agent {i}",
                                    password="long enough pw", roles=["agent"])
        accounts.add_queue_member(session, general, user)
        crowd.append(user)
    return crowd


def test_fifty_simultaneous_claims_have_one_winner(session: Session, database_url: str,
                                                   complaint_type: Definition, requester: User,
                                                   agents: list[User]) -> None:
    case_id = lifecycle.file_case(session, complaint_type, GOOD, uploader=Uploader(requester)).id
    agent_ids = [a.id for a in agents]  # read here: the main session's objects never cross threads

    def claim(s: Session, i: int) -> Any:
        case = s.get(Case, case_id)
        actor = s.get(User, agent_ids[i])
        assert case is not None and actor is not None
        return assignment.claim(s, case, actor)

    workers = workers_for(database_url, 50)
    results = race(database_url, workers, claim)
    winners = [r for r in results if isinstance(r, Case)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1, [repr(r) for r in results if not isinstance(r, Case | Conflict)]
    assert len(conflicts) == workers - 1
    session.rollback()  # end any read snapshot: see what the other sessions committed
    case = session.get(Case, case_id)
    assert case is not None and case.assignee_id == winners[0].assignee_id
    holder = case.assignee.name if case.assignee else ""
    assert all(holder in c.message or "changed by" in c.message for c in conflicts)
    assert [e.kind for e in audit.events(session, case.stream)] == ["case.filed", "case.claimed"]


def test_two_simultaneous_edits_one_wins_one_conflicts(session: Session, database_url: str,
                                                       complaint_type: Definition, requester: User,
                                                       agent: User) -> None:
    case = lifecycle.file_case(session, complaint_type, GOOD, uploader=Uploader(requester))
    lifecycle.transition(session, case, "start", agent)
    seen, case_id, agent_id = case.lock_version, case.id, agent.id

    def edit(s: Session, i: int) -> Any:
        fresh = s.get(Case, case_id)
        actor = s.get(User, agent_id)
        assert fresh is not None and actor is not None
        tier = ["silver", "standard"][i]
        return lifecycle.edit_fields(s, fresh, {"customer_tier": tier}, actor, expected_version=seen)

    results = race(database_url, 2, edit)
    assert sum(isinstance(r, Case) for r in results) == 1
    conflict = next(r for r in results if not isinstance(r, Case))
    assert isinstance(conflict, Conflict) and "changed by Alex Agent" in conflict.message


def test_mixed_load_keeps_every_chain_verifiable(session: Session, database_url: str,
                                                 complaint_type: Definition, requester: User,
                                                 agents: list[User]) -> None:
    ids = [lifecycle.file_case(session, complaint_type, GOOD, uploader=Uploader(requester)).id for _ in range(5)]
    agent_ids = [a.id for a in agents]  # read here: the main session's objects never cross threads

    def mixed(s: Session, i: int) -> Any:
        rng = random.Random(i)
        actor = s.get(User, agent_ids[i])
        assert actor is not None
        done = 0
        for _ in range(8):
            case = s.get(Case, rng.choice(ids))
            assert case is not None
            try:
                action = rng.choice(["comment", "claim", "priority", "release"])
                if action == "comment":
                    conversation.add_comment(s, case, actor, f"note {i}", internal=True)
                elif action == "claim":
                    assignment.claim(s, case, actor)
                elif action == "priority":
                    assignment.set_priority(s, case, rng.choice(["low", "high", "urgent"]), actor)
                else:
                    assignment.release(s, case, actor)
                done += 1
            except Conflict:
                s.rollback()
            except Exception as exc:  # a permission refusal (release of another's case) is fine
                if exc.__class__.__name__ != "PermissionDenied":
                    raise
                s.rollback()
            s.expire_all()
        return done

    results = race(database_url, workers_for(database_url, 20), mixed)
    bad = [r for r in results if not isinstance(r, int)]
    assert not bad, "\n\n".join("".join(getattr(r, "__notes__", [repr(r)])) for r in bad)
    session.rollback()  # end any read snapshot: see what the other sessions committed
    result = audit.verify(session)
    assert result.ok, result.broken
    assert result.streams >= 5
    assert sum(results) > len(results)
