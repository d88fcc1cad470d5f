"""SLA targets counted up to a date of the case (a contract's renewal, a new hire's start date)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from case_types import workflow
from cases import audit, automation, conversation, definitions, lifecycle, sla, sla_sweep
from cases.clock import fixed
from cases.models import Definition, User
from cases.submissions import Uploader
from forms.errors import DefinitionError

HIRE_FORM = {
    "schema_version": 1, "title": "New hire",
    "pages": [{"key": "p", "title": "Hire", "fields": [
        {"type": "short_text", "key": "name", "label": "Name", "required": True},
        {"type": "date", "key": "start_date", "label": "Start date"},
    ]}],
}
AGENT = {"roles": ["agent"], "queue_members": True, "assignee_only": False, "requester": False}


def _document(sla: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "schema_version": 1, "name": "Onboarding", "prefix": "ONB", "form": "hire", "form_version": 1,
        "states": [{"key": "requested", "label": "Requested", "kind": "initial"},
                   {"key": "waiting", "label": "Waiting", "kind": "waiting"},
                   {"key": "done", "label": "Ready", "kind": "final"}],
        "transitions": [{"key": "ready", "label": "Ready", "from": ["requested"], "to": "done", "who": AGENT}],
        "default_queue": "general", "fallback_queue": "general", "request_info_state": "waiting",
        "calendar": {"timezone": "Europe/Dublin"}, "sla": sla, **extra,
    }


@pytest.fixture
def hire_form(session: Session, admin: User, general: Any) -> Definition:
    form = definitions.create(session, "form", slug="hire", title="New hire", actor=admin, document=HIRE_FORM)
    definitions.publish(session, form, actor=admin)
    return form


def _problems(session: Session, document: dict[str, Any]) -> dict[str, str]:
    from cases.kinds import kind_of

    try:
        kind_of("case_type").load(session, document)
    except DefinitionError as exc:
        return {p.path: p.message for p in exc.errors}
    return {}


def test_dated_targets_are_validated_and_dumped(session: Session, hire_form: Definition) -> None:
    good = {"state": "requested", "kind": "resolution", "field": "start_date", "days_before": 2}
    from cases.kinds import kind_of

    spec = kind_of("case_type").load(session, _document([good]))
    assert spec.sla == (workflow.SlaTarget("requested", "resolution", 0.0, False, field="start_date", days_before=2),)
    assert workflow.dump_case_type(spec)["sla"] == [good]
    problems = _problems(session, _document([
        {"state": "requested", "kind": "resolution", "field": "name", "days_before": -1},
        {"state": "requested", "kind": "response", "field": "start_date", "hours": 4}]))
    assert problems == {"sla[0].field": "Choose a date field of the form.",
                        "sla[0].days_before": "Enter a whole number of days from 0 to 3650.",
                        "sla[1].hours": "A target counts either hours or up to a date, not both."}


def test_a_dated_deadline_is_due_at_opening_time_before_the_date_and_pauses(
        session: Session, admin: User, requester: User, agent: User, hire_form: Definition) -> None:
    document = _document([{"state": "requested", "kind": "resolution", "field": "start_date", "days_before": 1}])
    case_type = definitions.create(session, "case_type", slug="hire", title="Onboarding", actor=admin,
                                   document=document)
    definitions.publish(session, case_type, actor=admin)
    filed_at = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    case = lifecycle.file_case(session, case_type, {"name": "Noa", "start_date": "2027-03-15"},
                               uploader=Uploader(requester), clock=fixed(filed_at))
    (deadline,) = sla.deadlines_of(session, case)
    # 09:00 Dublin time (UTC+0 in March) on the 14th, counted as elapsed time
    assert deadline.due_at == datetime(2027, 3, 14, 9, 0, tzinfo=UTC) == case.due_at
    assert deadline.warn_at == filed_at + (deadline.due_at - filed_at) * 0.8
    conversation.request_information(session, case, agent, "Which laptop?", clock=fixed(filed_at + timedelta(days=1)))
    conversation.answer_information(session, case, requester, "A small one.", clock=fixed(filed_at + timedelta(days=3)))
    session.refresh(deadline)
    assert deadline.due_at == datetime(2027, 3, 16, 9, 0, tzinfo=UTC)  # two days of waiting do not count
    fired = sla_sweep.sweep(session, clock=fixed(datetime(2027, 3, 17, tzinfo=UTC)),
                            on_fire=lambda s, c, d, e: automation.sla_fired(s, c, d, e))
    assert fired == 1 and sla.deadlines_of(session, case)[0].status == "breached"
    undated = lifecycle.file_case(session, case_type, {"name": "Lucas"}, uploader=Uploader(requester),
                                  clock=fixed(filed_at))
    assert sla.deadlines_of(session, undated) == [] and undated.due_at is None
    assert audit.verify(session).ok


def test_the_designer_keeps_a_dated_target_it_does_not_show() -> None:
    from case_types import workflow_editing

    dated = {"state": "requested", "kind": "resolution", "field": "start_date", "days_before": 0}
    document = _document([dated])
    assert workflow_editing.deadlines(document, "requested") == {}  # the hours form shows none
    kept = workflow_editing.set_deadlines(document, "requested", {"response": None, "resolution": None})
    assert kept["sla"] == [dated]
    replaced = workflow_editing.set_deadlines(document, "requested", {
        "resolution": workflow_editing.SlaInput(hours=16, business_hours=True)})
    assert replaced["sla"] == [{"state": "requested", "kind": "resolution", "hours": 16.0, "business_hours": True}]
