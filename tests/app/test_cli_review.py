"""Once an admin requires review, `casework case-types|forms import --publish` obeys it too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.extensions import db
from cases import accounts, definitions
from tests.support.complaint import complaint_document


def test_import_with_publish_is_refused_while_review_is_required(app: Any, runner: Any, demo_users: Any,
                                                                  tmp_path: Path) -> None:
    source = tmp_path / "complaint.form.json"
    source.write_text(json.dumps(complaint_document()))
    assert runner.invoke(args=["forms", "import", str(source), "--publish"]).exit_code == 0  # off: as ever
    with app.app_context():
        accounts.set_setting(db.session, "definition_review_required", "true")
    document = complaint_document()
    document["title"] = "Complaint, reviewed"
    source.write_text(json.dumps(document))
    refused = runner.invoke(args=["forms", "import", str(source), "--publish"])
    assert refused.exit_code == 1
    assert "Review is required before a form is published: import it without publishing" in refused.output
    drafted = runner.invoke(args=["forms", "import", str(source)])
    assert drafted.exit_code == 0 and "saved as the draft" in drafted.output
    with app.app_context():
        form = definitions.find_definition(db.session, "form", "complaint")
        assert form is not None and len(form.versions) == 1
        assert json.loads(form.draft)["title"] == "Complaint, reviewed"


def test_the_periodic_sweep_publishes_a_scheduled_change_when_it_is_due(app: Any, demo_users: Any) -> None:
    from datetime import timedelta

    from app.jobs import JOBS
    from cases import change_requests
    from cases.clock import fixed, utcnow

    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        reviewer = accounts.create_user(db.session, email="bo@example.com", name="Bo", password="long enough pw",
                                        roles=["admin"])
        assert admin is not None
        form = definitions.create(db.session, "form", slug="complaint", title="Complaint", actor=admin,
                                  document=complaint_document())
        definitions.publish(db.session, form, actor=admin)
        accounts.set_setting(db.session, "definition_review_required", "true")
        document = complaint_document()
        document["title"] = "Complaint, scheduled"
        definitions.save_draft(db.session, form, document, actor=admin)
        change = change_requests.submit(db.session, form, note="Scheduled", actor=admin)
        change_requests.approve(db.session, change, actor=reviewer)
        now, change_id = utcnow(), change.id
        later = change_requests.get(db.session, change_id)
        change_requests.schedule(db.session, later, at=now + timedelta(hours=1), actor=reviewer)
        JOBS["sla_sweep"]()  # the job `casework serve` and the workers run every minute: not due yet
        assert len(definitions.find_definition(db.session, "form", "complaint").versions) == 1  # type: ignore[union-attr]
        reviewer = accounts.find_user(db.session, "bo@example.com")  # the job ended the session
        assert reviewer is not None
        due = change_requests.get(db.session, change_id)
        change_requests.cancel_schedule(db.session, due, actor=reviewer)
        change_requests.schedule(db.session, due, at=now - timedelta(minutes=1), actor=reviewer,
                                 clock=fixed(now - timedelta(hours=1)))
        JOBS["sla_sweep"]()
        db.session.remove()
        form = definitions.find_definition(db.session, "form", "complaint")
        assert form is not None and [v.number for v in form.versions] == [1, 2]
        assert change_requests.get(db.session, change_id).status == "published"
        db.session.remove()
