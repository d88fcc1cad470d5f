"""The list of cases behind a figure honours the same row-level rules as the work lists, for every user."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from cases import accounts, lifecycle
from cases.errors import InvalidQuery
from cases.models import Definition, User
from cases.read import queries
from cases.submissions import Uploader
from tests.support.complaint import GOOD


def test_cases_among_shows_each_user_exactly_what_their_work_list_shows(
        session: Session, complaint_type: Definition, requester: User, agent: User, admin: User,
        general: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    billing = accounts.create_queue(session, slug="billing", name="Billing")
    outsider = accounts.create_user(session, email="otto@example.com", name="Otto", password="long enough pw",
                                    roles=["agent"])
    accounts.add_queue_member(session, billing, outsider)
    auditor = accounts.create_user(session, email="audrey@example.com", name="Audrey", password="long enough pw",
                                   roles=["auditor"])
    other = accounts.create_user(session, email="sam@example.com", name="Sam", password="long enough pw",
                                 roles=["requester"])
    filed = [lifecycle.file_case(session, complaint_type, GOOD, uploader=Uploader(who))
             for who in (requester, requester, other, other)]
    filed[1].queue_id = billing.id
    filed[3].queue_id = billing.id
    session.flush()
    monkeypatch.setattr(queries, "ID_CHUNK", 1)  # the chunked path, as for a figure of 200,000 cases
    ids = [c.id for c in filed] + [10**9]  # an id that is no case
    everything = queries.parse_filters({"scope": "all", "status": "any"})
    for user in (admin, auditor, agent, outsider, requester, other):
        listed = queries.cases_among(session, user, ids, per_page=100)
        expected = {c.id for c in queries.work_list(session, user, everything, per_page=100).items} & set(ids)
        assert {c.id for c in listed.items} == expected, user.email
        assert listed.total == len(expected)
    assert {c.id for c in queries.cases_among(session, agent, ids).items} == {filed[0].id, filed[2].id}
    assert [c.id for c in queries.cases_among(session, admin, ids, per_page=2, page=2).items] == \
        sorted((c.id for c in filed), reverse=True)[2:]
    with pytest.raises(InvalidQuery):
        queries.cases_among(session, admin, ids, page=0)
