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


def _pending_change(app: Any) -> int:
    """A reworded complaint form submitted for review by the demo admin, with review required."""
    from cases import change_requests

    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        assert admin is not None
        accounts.create_user(db.session, email="bo@example.com", name="Bo", password="long enough pw", roles=["admin"])
        form = definitions.create(db.session, "form", slug="complaint", title="Complaint", actor=admin,
                                  document=complaint_document())
        definitions.publish(db.session, form, actor=admin)
        accounts.set_setting(db.session, "definition_review_required", "true")
        document = complaint_document()
        document["title"] = "Complaint, reworded"
        definitions.save_draft(db.session, form, document, actor=admin)
        change_id = change_requests.submit(db.session, form, note="Clearer title", actor=admin).id
        db.session.remove()
        return change_id


def test_review_commands_obey_four_eyes(app: Any, runner: Any, demo_users: Any) -> None:
    from cases import audit

    change_id = _pending_change(app)
    listed = runner.invoke(args=["reviews", "list"])
    assert listed.exit_code == 0
    assert f"#{change_id} form complaint: waiting for review (by admin@example.com) Clearer title" in listed.output
    assert "review is required instance-wide" in listed.output
    shown = runner.invoke(args=["reviews", "show", str(change_id)])
    assert shown.exit_code == 0 and "Review is required" in shown.output and "Complaint, reworded" in shown.output

    own = runner.invoke(args=["reviews", "approve", str(change_id), "--as", "admin@example.com"])
    assert own.exit_code == 1 and "another admin has to review it" in own.output
    assert runner.invoke(args=["reviews", "approve", str(change_id)]).exit_code == 2  # --as is required
    early = runner.invoke(args=["reviews", "publish", str(change_id)])
    assert early.exit_code == 1 and "Traceback" not in early.output
    approved = runner.invoke(args=["reviews", "approve", str(change_id), "--as", "bo@example.com", "--comment", "Ok"])
    assert approved.exit_code == 0 and f"Approved change #{change_id}" in approved.output

    bad = runner.invoke(args=["reviews", "schedule", str(change_id), "--at", "tomorrow"])
    assert bad.exit_code == 2 and "offset" in bad.output
    neither = runner.invoke(args=["reviews", "schedule", str(change_id)])
    assert neither.exit_code == 2
    scheduled = runner.invoke(args=["reviews", "schedule", str(change_id), "--at", "2030-01-07T10:00+00:00",
                                    "--as", "bo@example.com"])
    assert scheduled.exit_code == 0 and "takes effect at 2030-01-07 10:00 UTC" in scheduled.output
    assert "takes effect at 2030-01-07 10:00 UTC" in runner.invoke(args=["reviews", "list"]).output
    cancelled = runner.invoke(args=["reviews", "cancel", str(change_id)])
    assert cancelled.exit_code == 0 and "still approved" in cancelled.output
    assert runner.invoke(args=["reviews", "cancel", str(change_id)]).exit_code == 1
    published = runner.invoke(args=["reviews", "publish", str(change_id), "--as", "bo@example.com"])
    assert published.exit_code == 0 and "as version 2" in published.output
    assert "0 change requests" in runner.invoke(args=["reviews", "list"]).output
    assert "published as version 2" in runner.invoke(args=["reviews", "list", "--all"]).output
    assert runner.invoke(args=["reviews", "show", "999999"]).exit_code == 1
    with app.app_context():
        kinds = [e.kind for e in audit.events(db.session, "form:complaint")][-5:]
        assert kinds == ["form.change_submitted", "form.change_approved", "form.change_scheduled",
                         "form.change_schedule_cancelled", "form.published"]
        db.session.remove()


def test_rejecting_from_the_command_line_needs_a_comment(app: Any, runner: Any, demo_users: Any) -> None:
    change_id = _pending_change(app)
    assert runner.invoke(args=["reviews", "reject", str(change_id), "--as", "bo@example.com"]).exit_code == 2
    blank = runner.invoke(args=["reviews", "reject", str(change_id), "--as", "bo@example.com", "--comment", " "])
    assert blank.exit_code == 1 and "Say why" in blank.output
    rejected = runner.invoke(args=["reviews", "reject", str(change_id), "--as", "bo@example.com", "--comment", "No"])
    assert rejected.exit_code == 0 and "the draft is kept" in rejected.output
    with app.app_context():
        form = definitions.find_definition(db.session, "form", "complaint")
        assert form is not None and len(form.versions) == 1
        assert json.loads(form.draft)["title"] == "Complaint, reworded"


def test_turning_review_on_from_the_command_line_is_audited(app: Any, runner: Any, demo_users: Any) -> None:
    from cases import audit, change_requests

    turned = runner.invoke(args=["reviews", "require", "on", "--as", "admin@example.com"])
    assert turned.exit_code == 0 and "Review is now required for every definition." in turned.output
    assert "already required" in runner.invoke(args=["reviews", "require", "on"]).output
    assert runner.invoke(args=["reviews", "require", "maybe"]).exit_code == 2
    with app.app_context():
        assert change_requests.instance_review_required(db.session)
        events = audit.events(db.session, change_requests.SETTINGS_STREAM)
        assert [(e.kind, e.actor) for e in events] == [("instance.review_setting_changed", "admin@example.com")]
        db.session.remove()
    source_ok = runner.invoke(args=["reviews", "require", "off"])
    assert source_ok.exit_code == 0 and "not required" in source_ok.output
