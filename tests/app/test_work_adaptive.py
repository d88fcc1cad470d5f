"""The agent's case page: "Start: …" for the catalogue's tasks, with a reason; started tasks on the checklist."""

from __future__ import annotations

from typing import Any

from app.extensions import db
from cases import accounts, lifecycle
from cases.models import Case, Definition
from cases.submissions import Uploader
from tests.conftest import Web
from tests.support.complaint import GOOD, publish_complaint

SAFETY = {"key": "safety_review", "label": "Product-safety review", "who": {"roles": ["agent"]},
          "states": ["in_progress"], "reason_required": True, "queue": "general", "blocks_closing": True}


def _case_in_progress(app: Any) -> int:
    publish_complaint(app, discretionary=[SAFETY])
    with app.app_context():
        requester, agent = (accounts.find_user(db.session, f"{who}@example.com") for who in ("requester", "agent"))
        case_type = db.session.query(Definition).filter_by(kind="case_type", slug="complaint").one()
        assert requester is not None and agent is not None
        case = lifecycle.file_case(db.session, case_type, GOOD, uploader=Uploader(requester))
        lifecycle.transition(db.session, case, "start", agent)
        case_id = case.id
        db.session.remove()
    return case_id


def test_an_agent_starts_a_task_with_a_reason_and_it_keeps_the_case_open(app: Any, demo_users: Any) -> None:
    case_id = _case_in_progress(app)
    agent = Web(app.test_client())
    agent.login("agent@example.com")
    page = agent.get(f"/work/cases/{case_id}").get_data(as_text=True)
    assert "Start: Product-safety review" in page

    refused = agent.post(f"/work/cases/{case_id}/tasks", {"task": "safety_review", "reason": ""}, htmx=True)
    assert refused.status_code == 422 and "Give a reason to start" in refused.get_data(as_text=True)
    started = agent.post(f"/work/cases/{case_id}/tasks", {"task": "safety_review", "reason": "Charger smoked"},
                         htmx=True)
    body = started.get_data(as_text=True)
    assert started.status_code == 200
    assert "Product-safety review" in body and "Started: Charger smoked" in body and "keeps the case open" in body
    assert "Start: Product-safety review" not in body  # it is open: not offered twice
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case is not None
        from cases import tasks

        (task,) = tasks.tasks_of(db.session, case)
        task_id = task.id
        db.session.remove()
    closing = agent.post(f"/work/cases/{case_id}/transitions/resolve", {"comment": "Done"}, htmx=True)
    assert closing.status_code == 409 and "Product-safety review" in closing.get_data(as_text=True)
    cancelled = agent.post(f"/work/cases/{case_id}/tasks/{task_id}/cancel", htmx=True)
    assert cancelled.status_code == 200 and "Cancelled" in cancelled.get_data(as_text=True)


def test_the_case_page_and_the_portal_show_progress_by_stage_and_milestones(app: Any, demo_users: Any) -> None:
    stages = [{"key": "intake", "label": "Intake", "states": ["new"]},
              {"key": "work", "label": "Investigation", "states": ["in_progress"]},
              {"key": "done", "label": "Outcome", "states": ["resolved", "rejected"]}]
    milestones = [{"key": "work_started", "label": "Work started", "transition": "start"},
                  {"key": "settled", "label": "Settled", "transition": "resolve"}]
    publish_complaint(app, stages=stages, milestones=milestones)
    with app.app_context():
        requester, agent = (accounts.find_user(db.session, f"{who}@example.com") for who in ("requester", "agent"))
        case_type = db.session.query(Definition).filter_by(kind="case_type", slug="complaint").one()
        assert requester is not None and agent is not None
        case = lifecycle.file_case(db.session, case_type, GOOD, uploader=Uploader(requester))
        lifecycle.transition(db.session, case, "start", agent)
        case_id = case.id
        db.session.remove()
    for who, url in (("agent", f"/work/cases/{case_id}"), ("requester", f"/portal/cases/{case_id}")):
        web = Web(app.test_client())
        web.login(f"{who}@example.com")
        page = web.get(url).get_data(as_text=True)
        strip = page[page.index('<ol class="stages"'):page.index("</ol>", page.index('<ol class="stages"'))]
        assert '<li class="stage done">Intake' in strip, who
        assert '<li class="stage current" aria-current="step">Investigation' in strip, who
        assert '<li class="stage ahead">Outcome' in strip, who
        assert '<li class="milestone reached">Work started: reached' in page, who
        assert '<li class="milestone">Settled<span class="muted">: not yet' in page, who
