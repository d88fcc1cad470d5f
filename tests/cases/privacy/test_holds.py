"""Legal holds: one case or a search, placed and lifted by admins, audited, asked by is_held."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from case_types.errors import ValidationFailed
from cases import accounts, audit, lifecycle
from cases.clock import fixed
from cases.errors import PermissionDenied
from cases.models import Case, Definition, User
from cases.privacy import holds
from cases.privacy.holds import HoldSearch
from cases.submissions import Uploader
from tests.support.complaint import GOOD

AT = datetime(2026, 3, 10, 12, tzinfo=UTC)


def _file(session: Session, case_type: Definition, who: User, at: datetime = AT) -> Case:
    return lifecycle.file_case(session, case_type, {**GOOD, "email": who.email}, uploader=Uploader(who),
                               clock=fixed(at))


@pytest.fixture
def other(session: Session) -> User:
    return accounts.create_user(session, email="sam@example.com", name="Riley", password="long enough pw",
                                roles=["requester"])


def test_a_case_hold_covers_that_case_until_it_is_lifted(session: Session, admin: User, requester: User,
                                                          complaint_type: Definition) -> None:
    held, free = _file(session, complaint_type, requester), _file(session, complaint_type, requester)
    hold = holds.place_hold(session, reason="Dispute 2026/17", actor=admin, case=held, clock=fixed(AT))
    assert holds.is_held(session, held) and not holds.is_held(session, free)
    assert [h.id for h in holds.holds_of(session, held)] == [hold.id]
    assert holds.held_case_ids(session, [held.id, free.id]) == {held.id}
    assert holds.describe(hold) == f"case {held.ref}"

    holds.lift_hold(session, hold, reason="Settled", actor=admin, clock=fixed(AT))
    assert not holds.is_held(session, held) and holds.holds_of(session, held) == []
    assert [e.kind for e in audit.events(session, hold.stream)] == ["hold.placed", "hold.lifted"]
    assert audit.verify(session, hold.stream).ok
    with pytest.raises(ValidationFailed):
        holds.lift_hold(session, hold, reason="Again", actor=admin)


def test_a_search_hold_covers_every_matching_case_now_and_later(session: Session, admin: User, requester: User,
                                                                other: User, complaint_type: Definition) -> None:
    early = _file(session, complaint_type, requester, datetime(2026, 1, 31, 23, 59, tzinfo=UTC))
    mine = _file(session, complaint_type, requester, datetime(2026, 2, 1, tzinfo=UTC))
    last_day = _file(session, complaint_type, requester, datetime(2026, 2, 28, 23, 59, tzinfo=UTC))
    theirs = _file(session, complaint_type, other, datetime(2026, 2, 10, tzinfo=UTC))
    search = HoldSearch(case_type="complaint", email="RILEY@example.com", filed_from=date(2026, 2, 1),
                        filed_to=date(2026, 2, 28))
    hold = holds.place_hold(session, reason="Litigation", actor=admin, search=search, clock=fixed(AT))
    assert holds.held_case_ids(session, [early.id, mine.id, last_day.id, theirs.id]) == {mine.id, last_day.id}
    assert holds.covered_count(session, hold) == 2
    later = _file(session, complaint_type, requester, datetime(2026, 2, 15, tzinfo=UTC))
    assert holds.is_held(session, later)
    assert "requester riley@example.com" in holds.describe(hold)


def test_a_state_hold_follows_the_case_state(session: Session, admin: User, requester: User,
                                             complaint_type: Definition) -> None:
    case = _file(session, complaint_type, requester)
    holds.place_hold(session, reason="Audit of closed cases", actor=admin, search=HoldSearch(state="closed"))
    assert not holds.is_held(session, case)
    holds.place_hold(session, reason="Audit of new cases", actor=admin, search=HoldSearch(state=case.state))
    assert holds.is_held(session, case)


def test_holds_need_an_admin_a_reason_and_a_scope(session: Session, admin: User, requester: User,
                                                  complaint_type: Definition) -> None:
    case = _file(session, complaint_type, requester)
    with pytest.raises(PermissionDenied):
        holds.place_hold(session, reason="Mine", actor=requester, case=case)
    with pytest.raises(ValidationFailed) as no_reason:
        holds.place_hold(session, reason="  ", actor=admin, case=case)
    assert "reason" in no_reason.value.fields
    with pytest.raises(ValidationFailed) as no_scope:
        holds.place_hold(session, reason="Everything?", actor=admin, search=HoldSearch())
    assert "case_type" in no_scope.value.fields
    with pytest.raises(ValidationFailed) as unknown:
        holds.place_hold(session, reason="x", actor=admin, search=HoldSearch(case_type="nope"))
    assert "case_type" in unknown.value.fields
    with pytest.raises(ValidationFailed) as backwards:
        holds.place_hold(session, reason="x", actor=admin,
                         search=HoldSearch(filed_from=date(2026, 2, 2), filed_to=date(2026, 2, 1)))
    assert "filed_to" in backwards.value.fields
    assert holds.list_holds(session) == []
