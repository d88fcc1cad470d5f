"""`casework case-types export|import`: the same files the designer exports and imports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.extensions import db
from cases import accounts, definitions
from tests.support.complaint import complaint_case_type_document, complaint_document
from tests.support.migration import six_cases_on_version_one


def _published(app: Any) -> None:
    """The complaint form and the complaint case type, each published as version 1."""
    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        assert admin is not None
        form = definitions.create(db.session, "form", slug="complaint", title="Customer complaint", actor=admin,
                                  document=complaint_document())
        definitions.publish(db.session, form, actor=admin)
        case_type = definitions.create(db.session, "case_type", slug="complaint", title="Customer complaint",
                                       actor=admin, document=complaint_case_type_document())
        definitions.publish(db.session, case_type, actor=admin, change_note="First")


def test_export_to_stdout_and_to_a_file(app: Any, runner: Any, demo_users: Any, tmp_path: Path) -> None:
    _published(app)
    out = runner.invoke(args=["case-types", "export", "complaint"])
    assert out.exit_code == 0, out.output
    document = json.loads(out.output)
    assert document["prefix"] == "CMP" and document["form_version"] == 1
    target = tmp_path / "complaint.case_type.json"
    written = runner.invoke(args=["case-types", "export", "complaint", "--version", "1", "-o", str(target)])
    assert written.exit_code == 0 and f"Wrote {target}." in written.output
    assert json.loads(target.read_text()) == document
    assert "No case type has the short name 'nope'" in runner.invoke(args=["case-types", "export", "nope"]).output
    missing = runner.invoke(args=["case-types", "export", "complaint", "--version", "9"])
    assert missing.exit_code == 1 and "has no version 9" in missing.output


def test_import_a_file_and_publish_it(app: Any, runner: Any, demo_users: Any, tmp_path: Path) -> None:
    _published(app)
    exported = runner.invoke(args=["case-types", "export", "complaint"]).output
    source = tmp_path / "complaints-eu.case_type.json"
    source.write_text(exported.replace('"CMP"', '"CEU"'))
    done = runner.invoke(args=["case-types", "import", str(source), "--publish"])
    assert done.exit_code == 0, done.output
    assert "Imported case type 'complaints-eu' (Customer complaint): published as version 1." in done.output
    again = runner.invoke(args=["case-types", "import", str(source), "--slug", "complaint",
                                "--as", "admin@example.com"])
    assert again.exit_code == 0 and "saved as the draft" in again.output
    with app.app_context():
        eu = definitions.find_definition(db.session, "case_type", "complaints-eu")
        assert eu is not None and json.loads(eu.versions[0].document)["prefix"] == "CEU"
        complaint = definitions.find_definition(db.session, "case_type", "complaint")
        assert complaint is not None
        assert json.loads(complaint.draft)["prefix"] == "CEU" and len(complaint.versions) == 1
    stranger = runner.invoke(args=["case-types", "import", str(source), "--as", "agent@example.com"])
    assert stranger.exit_code == 1 and "No admin has the e-mail address agent@example.com" in stranger.output


def test_a_bad_file_is_refused_with_its_reasons_and_changes_nothing(app: Any, runner: Any, demo_users: Any,
                                                                    tmp_path: Path) -> None:
    _published(app)
    document = json.loads(runner.invoke(args=["case-types", "export", "complaint"]).output)
    document["states"][0]["kind"] = "working"
    document["default_queue"] = "nowhere"
    bad = tmp_path / "complaint.case_type.json"
    bad.write_text(json.dumps(document))
    with app.app_context():
        before = definitions.find_definition(db.session, "case_type", "complaint")
        assert before is not None
        draft, revision = before.draft, before.draft_revision
    refused = runner.invoke(args=["case-types", "import", str(bad), "--publish"])
    assert refused.exit_code == 1
    assert "The file is not a valid Casework case type." in refused.output
    assert "default_queue: Choose one of the queues." in refused.output
    assert "Mark exactly one state as the initial state" in refused.output
    garbage = tmp_path / "junk.case_type.json"
    garbage.write_bytes(b"\x00\x01 not json")
    assert runner.invoke(args=["case-types", "import", str(garbage)]).exit_code == 1
    with app.app_context():
        after = definitions.find_definition(db.session, "case_type", "complaint")
        assert after is not None and (after.draft, after.draft_revision) == (draft, revision)
        assert definitions.find_definition(db.session, "case_type", "junk") is None


def test_migrate_dry_run_then_yes_one_line_per_open_case(app: Any, runner: Any, demo_users: Any) -> None:
    refs = six_cases_on_version_one(app)
    mapping = ["--map", "escalated=in_progress", "--map", "review=checking"]
    dry = runner.invoke(args=["case-types", "migrate", "complaint", "--to", "2", "--dry-run", *mapping])
    assert dry.exit_code == 0, dry.output
    lines = dry.output.splitlines()
    assert lines[0].startswith(f"{refs[0]}: not migratable: its data does not fit version 2's form: Account number")
    assert lines[1:5] == [f"{refs[1]}: would migrate: stays in Triage",
                          f"{refs[2]}: would migrate: stays in In progress",
                          f"{refs[3]}: would be mapped to Checking (was Review)",
                          f"{refs[4]}: would migrate: stays in Waiting"]
    assert lines[5].startswith(f"{refs[5]}: not migratable")
    assert lines[6] == "4 of 6 open cases migratable; nothing was changed (dry run)."
    done = runner.invoke(args=["case-types", "migrate", "complaint", "--to", "2", "--yes", *mapping])
    assert done.exit_code == 0, done.output
    assert f"{refs[3]}: migrated, mapped to Checking (was Review)" in done.output
    assert f"{refs[1]}: migrated: stays in Triage" in done.output
    assert done.output.splitlines()[-1] == "4 of 6 open cases migrated."
    again = runner.invoke(args=["case-types", "migrate", "complaint", "--to", "2", "--yes", *mapping])
    assert f"{refs[1]}: already on version 2" in again.output and "0 of 6 open cases migrated." in again.output
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_migrate_refuses_bad_input_without_a_traceback(app: Any, runner: Any, demo_users: Any) -> None:
    six_cases_on_version_one(app)

    def run(*args: str) -> Any:
        return runner.invoke(args=["case-types", "migrate", *args])

    for result, message in [
        (run("nope", "--to", "2", "--dry-run"), "No case type has the short name 'nope'."),
        (run("complaint", "--to", "9", "--dry-run"), "has no version 9"),
        (run("complaint", "--to", "2", "--dry-run", "--map", "review"), "write OLD=NEW"),
        (run("complaint", "--to", "2", "--dry-run", "--map", "review=gone"),
         "review: 'gone' is not a state of the version migrated to."),
        (run("complaint", "--to", "2"), "Say --dry-run to see what would happen, or --yes to migrate."),
        (run("complaint", "--to", "2", "--dry-run", "--yes"), "Say --dry-run"),
    ]:
        assert result.exit_code != 0 and message in result.output, result.output
        assert "Traceback" not in result.output and not isinstance(result.exception, KeyError | TypeError)
