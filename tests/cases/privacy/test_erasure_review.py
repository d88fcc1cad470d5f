"""An erasure request's review: the person's cases and the cases that mention their address, found by the
person's identity (account, e-mail address), never by a name or by an address that merely contains theirs;
and what erasing a staff account keeps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from cases import accounts, assignment, audit, lifecycle
from cases.clock import fixed
from cases.models import Definition, User
from cases.privacy import erasure, erasure_requests
from cases.storage import LocalFolder
from cases.submissions import Uploader
from tests.support.complaint import GOOD

NOW = datetime(2026, 5, 1, 9, tzinfo=UTC)


def test_a_namesake_with_a_similar_address_is_not_listed(session: Session, requester: User, admin: User,
                                                         complaint_type: Definition) -> None:
    # Two people called the same; the namesake's address ends in the requester's (o.riley@ / riley@).
    namesake = accounts.create_user(session, email="o." + requester.email, name=requester.name,
                                    password="long enough pw", roles=["requester"])
    mine = lifecycle.file_case(session, complaint_type, {**GOOD, "name": requester.name, "email": requester.email},
                               uploader=Uploader(requester), clock=fixed(NOW))
    theirs = lifecycle.file_case(session, complaint_type,
                                 {**GOOD, "name": requester.name, "email": namesake.email,
                                  "description": f"Write to {namesake.email} or {requester.email}.au please"},
                                 uploader=Uploader(namesake), clock=fixed(NOW))
    neighbour = lifecycle.file_case(session, complaint_type,
                                    {**GOOD, "email": namesake.email,
                                     "description": f"My neighbour ({requester.email.upper()}) signed for it."},
                                    uploader=Uploader(namesake), clock=fixed(NOW))

    request = erasure_requests.record_request(session, requester.email, actor=admin, clock=fixed(NOW))
    review = erasure_requests.review(session, request, now=NOW)
    assert [c.case.ref for c in review.cases] == [mine.ref]
    # Only the case that holds the requester's own address is a mention; the namesake's is not.
    assert [c.ref for c in review.mentions] == [neighbour.ref]
    assert theirs.ref not in [c.ref for c in review.mentions]

    other = erasure_requests.review(session, erasure_requests.record_request(session, namesake.email, actor=admin,
                                                                             clock=fixed(NOW)), now=NOW)
    assert [c.case.ref for c in other.cases] == [theirs.ref, neighbour.ref] and other.mentions == []


def test_erasing_a_staff_account_closes_it_and_keeps_the_address_the_chains_name(
        session: Session, requester: User, agent: User, admin: User, complaint_type: Definition,
        tmp_path: Any) -> None:
    case = lifecycle.file_case(session, complaint_type, {**GOOD, "email": requester.email},
                               uploader=Uploader(requester), clock=fixed(NOW))
    assignment.claim(session, case, agent, clock=fixed(NOW))
    record = erasure.erase_person(session, agent.email, admin, reason="Left the company", clock=fixed(NOW),
                                  files=LocalFolder(tmp_path / "f"), documents=LocalFolder(tmp_path / "d"))
    session.refresh(agent)
    assert record.account and record.staff_email_kept and record.as_json()["staff_email_kept"] is True
    assert (agent.active, agent.name, agent.password_hash) == (False, erasure.ERASED_NAME, "!")
    # The chain still says who claimed the case, and the account row still names that address.
    claimed = [e for e in audit.events(session, case.stream) if e.kind == "case.claimed"]
    assert claimed[0].actor == agent.email and claimed[0].actor_id == agent.id
    assert not agent.email.endswith("@erased.invalid") and audit.verify(session).ok

    mine = erasure.erase_person(session, requester.email, admin, reason="Asked", clock=fixed(NOW),
                                files=LocalFolder(tmp_path / "f"), documents=LocalFolder(tmp_path / "d"))
    assert mine.account and not mine.staff_email_kept
