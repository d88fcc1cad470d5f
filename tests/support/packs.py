"""Cases of the packs the demo imports, set up the way a test needs them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from app.extensions import db
from cases import accounts, lifecycle
from cases.submissions import Uploader


def onboarding_in_setup(app: Any) -> tuple[int, str]:
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
