"""The checklist on the agent's case page: who sees the case, who completes which task, what holds the case."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from app.extensions import db
from cases import accounts, lifecycle
from cases.models import Case
from cases.submissions import Uploader
from tests.conftest import Web


def _onboarding_in_setup(app: Any) -> tuple[int, str]:
    """An onboarding case whose IT and payroll tasks are open, and an IT-only agent."""
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert runner.invoke(args=["packs", "import", "--all"]).exit_code == 0
    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        s = db.session
        ivy = accounts.create_user(s, email="ivy@example.com", name="Ivy IT", password="long enough pw",
                                   roles=["agent"])
        accounts.add_queue_member(s, accounts.find_queue(s, "it"), ivy)  # type: ignore[arg-type]
        from cases import definitions

        case_type = definitions.find_definition(s, "case_type", "onboarding")
        requester = accounts.find_user(s, "requester@example.com")
        agent = accounts.find_user(s, "agent@example.com")
        assert case_type and requester and agent
        case = lifecycle.file_case(s, case_type, {
            "employee_name": "Noa Fischer", "job_title": "Engineer", "department": "engineering",
            "manager_email": "requester@example.com", "start_date": (date.today() + timedelta(days=20)).isoformat(),
            "employment_type": "permanent"}, uploader=Uploader(requester))
        for key in ("start_profile", "start_setup"):
            lifecycle.transition(s, case, key, agent)
        case_id = case.id
        s.remove()
    return case_id, "ivy@example.com"


def test_the_checklist_lets_each_queue_complete_its_own_task(app: Any) -> None:
    case_id, ivy = _onboarding_in_setup(app)
    it = Web(app.test_client())
    it.login(ivy, "long enough pw")
    listing = it.get("/work/?scope=all").get_data(as_text=True)
    assert f"/work/cases/{case_id}" in listing  # seen through its task, not its queue
    page = it.get(f"/work/cases/{case_id}").get_data(as_text=True)
    assert "Checklist" in page and page.count(">Complete</button>") == 1  # only the IT task is Ivy's
    assert "Work on this case" not in page  # seeing a case is not working it
    with app.app_context():
        from cases import tasks

        case = db.session.get(Case, case_id)
        assert case is not None
        it_task, payroll_task, _buddy = tasks.tasks_of(db.session, case)
        it_id, payroll_id = it_task.id, payroll_task.id
        db.session.remove()
    assert it.post(f"/work/cases/{case_id}/tasks/{payroll_id}/complete", htmx=True).status_code == 403
    done = it.post(f"/work/cases/{case_id}/tasks/{it_id}/complete", htmx=True)
    assert done.status_code == 200 and "done by Ivy IT" in done.get_data(as_text=True)

    hr = Web(app.test_client())
    hr.login("agent@example.com")
    refused = hr.post(f"/work/cases/{case_id}/transitions/setup_done", htmx=True)
    assert refused.status_code == 409
    assert "still open: Payroll setup: salary, tax and pension (Payroll)" in refused.get_data(as_text=True)
    assert hr.post(f"/work/cases/{case_id}/tasks/{payroll_id}/complete", htmx=True).status_code == 200
    moved = hr.post(f"/work/cases/{case_id}/transitions/setup_done", htmx=True)
    assert moved.status_code == 200 and "Manager induction" in moved.get_data(as_text=True)
