"""Access requests: the export holds every case of the person and nothing of anyone else."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from cases import accounts, conversation, lifecycle
from cases.clock import fixed
from cases.models import Definition, User
from cases.privacy import access_requests
from cases.submissions import Uploader
from tests.support.complaint import GOOD

NOW = datetime(2026, 5, 1, 9, tzinfo=UTC)


def test_two_requesters_with_one_name_get_only_their_own_cases(session: Session, requester: User,
                                                               complaint_type: Definition) -> None:
    namesake = accounts.create_user(session, email="riley.other@example.com", name=requester.name,
                                    password="long enough pw", roles=["requester"])
    mine = [lifecycle.file_case(session, complaint_type, {**GOOD, "description": f"Parcel number {n} arrived broken"},
                                uploader=Uploader(requester), clock=fixed(NOW)) for n in range(2)]
    theirs_data = {**GOOD, "email": namesake.email, "description": "My neighbour riley@example.com signed for it"}
    theirs = lifecycle.file_case(session, complaint_type, theirs_data,
                                 uploader=Uploader(namesake), clock=fixed(NOW))
    complaint_type.public = True
    session.commit()
    web_data = {**GOOD, "description": "Sent through the web form, broken"}
    public, _token = lifecycle.file_case_anonymously(session, complaint_type, web_data,
                                                     uploader=Uploader(None), contact_email="RILEY@example.com",
                                                     clock=fixed(NOW))
    conversation.add_comment(session, mine[0], requester, "Any news?", clock=fixed(NOW))

    export = access_requests.export_person(session, " Riley@Example.com ", now=NOW)
    assert [c.ref for c in export.cases] == [mine[0].ref, mine[1].ref, public.ref]
    assert export.account == {"name": requester.name, "email": "riley@example.com", "roles": ["requester"],
                              "active": True}
    assert export.cases[0].comments[0]["body"] == "Any news?" and export.cases[0].comments[0]["by"] == "you"
    document = export.as_json().decode()
    assert theirs.ref not in document and "neighbour" not in document and namesake.email not in document
    assert json.loads(document)["cases"][2]["data"]["description"] == "Sent through the web form, broken"

    other = access_requests.export_person(session, namesake.email, now=NOW)
    assert [c.ref for c in other.cases] == [theirs.ref]
    assert [c.ref for c in access_requests.cases_mentioning(session, namesake.email)] == []
    # The namesake's case repeats Riley's address in its answers: it mentions Riley, but is not Riley's.
    assert [c.ref for c in access_requests.cases_mentioning(session, requester.email)] == [theirs.ref]
