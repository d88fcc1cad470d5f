"""Service-level agreements on the complaint: business hours in Berlin, a response and a resolution target."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from cases import lifecycle, sla
from cases.case_versions import case_spec
from cases.clock import fixed
from cases.models import Case, Definition, User
from cases.submissions import Uploader
from cases.uow import transaction
from tests.support.complaint import GOOD

CALENDAR = {"timezone": "Europe/Berlin", "days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00",
            "holidays": ["2026-12-25", "2026-12-26"]}


TARGETS = [
    {"state": "new", "kind": "response", "hours": 4, "business_hours": True},
    {"state": "in_progress", "kind": "resolution", "hours": 16, "business_hours": True},
]


def file(session: Session, case_type: Definition, requester: User, at: datetime) -> Case:
    """File a case at `at`; follow it into its initial state unless the lifecycle already did."""
    case = lifecycle.file_case(session, case_type, GOOD, uploader=Uploader(requester), clock=fixed(at))
    if not sla.deadlines_of(session, case):
        with transaction(session):
            sla.state_changed(session, case, case_spec(session, case), previous_state=None, clock=fixed(at))
    return case
