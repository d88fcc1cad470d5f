"""Form definitions: drafts, publishing immutable versions, optimistic locking, import/export, audit."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from case_types.errors import Conflict, ValidationFailed
from cases import audit, definitions
from cases.models import Definition, User
from tests.support.complaint import complaint_document


def test_new_form_starts_with_a_publishable_draft(session: Session, admin: User) -> None:
    form = definitions.create(session, "form", slug="leave", title="Leave request", actor=admin)
    assert definitions.draft_problems(session, form) == []
    version = definitions.publish(session, form, actor=admin)
    assert version.number == 1
    with pytest.raises(ValidationFailed) as info:
        definitions.create(session, "form", slug="leave", title="", actor=admin)
    assert set(info.value.fields) == {"slug", "title"}


def test_drafts_with_problems_are_kept_and_block_publishing(session: Session, admin: User,
                                                            complaint: Definition) -> None:
    document = complaint_document()
    document["pages"][0]["fields"][2]["key"] = "name"  # duplicate key
    document["pages"][0]["fields"][4]["pattern"] = "([a-z"  # invalid regex
    problems = definitions.save_draft(session, complaint, document, actor=admin)
    by_field = {p.field for p in problems}
    assert "name" in by_field
    assert any("pattern" in p.path for p in problems)
    assert json.loads(complaint.draft)["pages"][0]["fields"][2]["key"] == "name"  # nothing lost
    with pytest.raises(ValidationFailed) as info:
        definitions.publish(session, complaint, actor=admin)
    assert info.value.fields
    assert [v.number for v in complaint.versions] == [1]


def test_publishing_makes_numbered_versions_and_refuses_no_change(session: Session, admin: User,
                                                                  complaint: Definition) -> None:
    with pytest.raises(Conflict, match="Nothing changed since version 1"):
        definitions.publish(session, complaint, actor=admin)
    document = complaint_document()
    document["pages"][0]["fields"][1]["label"] = "Full name"
    definitions.save_draft(session, complaint, document, actor=admin)
    v2 = definitions.publish(session, complaint, actor=admin, change_note="Clearer label")
    assert v2.number == 2 and v2.change_note == "Clearer label"
    changes = definitions.diff_versions(complaint, 1, 2)
    assert any("Your name" in c and "Full name" in c for c in changes)
    # version 1 is untouched
    assert json.loads(complaint.versions[0].document)["pages"][0]["fields"][1]["label"] == "Your name"


def test_published_versions_cannot_be_changed_even_by_sql(session: Session, complaint: Definition) -> None:
    for statement in ("UPDATE definition_versions SET document = '{}'", "DELETE FROM definition_versions"):
        with pytest.raises(DatabaseError, match="append-only"):
            session.execute(text(statement))
        session.rollback()


def test_stale_draft_save_is_refused_with_who_and_when(session: Session, admin: User,
                                                       complaint: Definition) -> None:
    revision = complaint.draft_revision
    document = complaint_document()
    document["title"] = "Complaint (edited)"
    definitions.save_draft(session, complaint, document, actor=admin, expected_revision=revision)
    document["title"] = "Complaint (edited twice)"
    with pytest.raises(Conflict, match="changed by Ada Admin"):
        definitions.save_draft(session, complaint, document, actor=admin, expected_revision=revision)


def test_check_revision_refuses_a_stale_or_unnamed_revision_and_stores_nothing(
        session: Session, admin: User, complaint: Definition) -> None:
    opened = complaint.draft_revision
    definitions.check_revision(complaint, opened)  # the page shows the current draft: nothing to refuse
    document = complaint_document()
    document["title"] = "Complaint (edited)"
    definitions.save_draft(session, complaint, document, actor=admin, expected_revision=opened)
    before = (complaint.draft, complaint.draft_revision, len(audit.events(session, complaint.stream)))
    with pytest.raises(Conflict, match=r"changed by Ada Admin at \d{4}-\d\d-\d\d \d\d:\d\d UTC"):
        definitions.check_revision(complaint, opened)
    with pytest.raises(Conflict, match="out of date"):
        definitions.check_revision(complaint, None)
    assert (complaint.draft, complaint.draft_revision, len(audit.events(session, complaint.stream))) == before


def test_every_change_is_audited_with_a_readable_diff(session: Session, admin: User,
                                                      complaint: Definition) -> None:
    document = complaint_document()
    document["pages"][0]["fields"].append({"type": "short_text", "key": "phone_no", "label": "Phone"})
    definitions.save_draft(session, complaint, document, actor=admin)
    kinds = [e["kind"] for e in definitions.history(session, complaint)]
    assert kinds == ["form.draft_saved", "form.published", "form.created"]
    latest = definitions.history(session, complaint)[0]
    assert latest["actor"] == "admin@example.com"
    assert any("Phone" in line for line in latest["payload"]["changes"])
    assert audit.verify(session, "form:complaint").ok


def test_export_then_import_round_trips(session: Session, admin: User, complaint: Definition) -> None:
    raw = definitions.export_document(complaint)
    copy_form = definitions.import_document(session, "form", raw, slug="complaint-copy", actor=admin,
                                                   publish_now=True)
    assert copy_form.latest_version is not None
    assert copy_form.latest_version.document == complaint.latest_version.document  # type: ignore[union-attr]
    assert definitions.slug_from_filename("complaint.form.json") == "complaint"


@pytest.mark.parametrize("raw", [
    b"",
    b"not json",
    b"[1, 2, 3]",
    b'{"schema_version": 1, "title": "x", "pages": [], "pages": []}',
    b"\xff\xfe\x00garbage",
    b"[" * 5000 + b"]" * 5000,
    json.dumps({"schema_version": 99, "title": "x", "pages": []}).encode(),
    b'{"schema_version": 1, "title": "<script>alert(1)</script>", "pages": [{"key": "p", "title": "P", '
    b'"fields": [{"type": "python_eval", "key": "x", "label": "x"}]}]}',
])
def test_bad_import_files_change_nothing(session: Session, admin: User, complaint: Definition,
                                         raw: bytes) -> None:
    before = (complaint.draft, complaint.draft_revision, len(complaint.versions))
    with pytest.raises(ValidationFailed) as info:
        definitions.import_document(session, "form", raw, slug="complaint", actor=admin, publish_now=True)
    assert info.value.fields, "the admin is told what is wrong"
    session.expire_all()
    assert (complaint.draft, complaint.draft_revision, len(complaint.versions)) == before
    assert definitions.find_definition(session, "form", "complaint-x") is None


def test_availability_is_audited(session: Session, admin: User, complaint: Definition) -> None:
    definitions.set_availability(session, complaint, open_for_requests=True, public=True, archived=False,
                                      actor=admin)
    assert complaint.public
    definitions.set_availability(session, complaint, open_for_requests=False, public=True, archived=False,
                                      actor=admin)
    assert not complaint.public  # nobody files a closed form, anonymous visitors included
    assert definitions.history(session, complaint)[0]["kind"] == "form.availability_changed"


def test_draft_changes_against_latest(session: Session, admin: User, complaint: Definition) -> None:
    assert definitions.draft_changes(complaint) == []
    document = copy.deepcopy(complaint_document())
    del document["pages"][0]["fields"][1]
    definitions.save_draft(session, complaint, document, actor=admin)
    changes = definitions.draft_changes(complaint)
    assert changes and any("Your name" in c and "removed" in c for c in changes)
