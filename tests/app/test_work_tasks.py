"""The checklist on the agent's case page: who sees the case, who completes which task, what holds the case."""

from __future__ import annotations

from typing import Any

from app.extensions import db
from cases.models import Case
from tests.conftest import Web
from tests.support.packs import onboarding_in_setup


def test_the_checklist_lets_each_queue_complete_its_own_task(app: Any) -> None:
    case_id, ivy = onboarding_in_setup(app)
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
