"""The retention preview page and the daily job: the page lists what the job then does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import Web
from tests.support.complaint import GOOD, publish_complaint


def _closed_long_ago(app: Any, days: int) -> str:
    from app.extensions import db
    from cases import accounts, definitions, lifecycle
    from cases.clock import fixed, utcnow
    from cases.submissions import Uploader

    with app.app_context():
        requester = accounts.find_user(db.session, "requester@example.com")
        agent = accounts.find_user(db.session, "agent@example.com")
        case_type = definitions.find_definition(db.session, "case_type", "complaint")
        at = utcnow() - timedelta(days=days)
        case = lifecycle.file_case(db.session, case_type, GOOD, uploader=Uploader(requester), clock=fixed(at))
        lifecycle.transition(db.session, case, "start", agent, clock=fixed(at))
        lifecycle.transition(db.session, case, "resolve", agent, comment="Done.", clock=fixed(at))
        ref = case.ref
        db.session.remove()
    return ref


def test_the_preview_lists_what_the_daily_sweep_then_does(app: Any, demo_users: Any) -> None:
    from app.extensions import db
    from app.jobs import run_job
    from cases.clock import utcnow
    from cases.privacy import retention

    publish_complaint(app, retention={"keep": 30, "unit": "days", "then": "delete_files"})
    old, young = _closed_long_ago(app, 31), _closed_long_ago(app, 29)
    web = Web(app.test_client())
    web.login("admin@example.com")
    page = web.get("/admin/privacy/retention").get_data(as_text=True)
    assert "Keep 30 day(s) after closing, then delete documents and files" in page
    assert f'data-case="{old}"' in page and f'data-case="{young}"' not in page

    with app.app_context():
        assert run_job("retention_sweep") == 1
        assert retention.plan(db.session, now=utcnow()).due == []
    assert "Nothing is due." in web.get("/admin/privacy/retention").get_data(as_text=True)
