"""Filing forms: full validation, hidden fields dropped, files by content, tracking links, row access."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from case_types.errors import NotFound, ValidationFailed
from cases import accounts, audit, definitions, submissions
from cases.errors import PermissionDenied
from cases.models import Definition, StoredFile, Submission, User
from cases.storage import LocalFolder
from cases.submissions import Uploader
from tests.support.complaint import GOOD

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_submit_validates_and_pins_the_version(session: Session, requester: User,
                                               complaint: Definition) -> None:
    submission, token = submissions.submit(session, complaint, {**GOOD, "state": "closed", "assignee": "me"},
                                           uploader=Uploader(requester))
    assert token is None
    assert submission.version.number == 1
    data = json.loads(submission.data)
    assert "state" not in data and "assignee" not in data  # never taken from submitted data
    assert "other_category" not in data  # hidden field: not stored
    assert data["severity"] == "high"
    assert audit.verify(session, f"submission:{submission.id}").ok


def test_invalid_submission_stores_nothing_and_lists_every_error(session: Session, requester: User,
                                                                 complaint: Definition) -> None:
    bad = {**GOOD, "email": "not-an-email", "order_number": "12345", "category": "other", "description": "short"}
    with pytest.raises(ValidationFailed) as info:
        submissions.submit(session, complaint, bad, uploader=Uploader(requester))
    fields = info.value.fields
    assert set(fields) >= {"email", "order_number", "other_category", "description"}
    assert "ORD- followed by 6 digits" in " ".join(fields["order_number"])
    assert _count(session, Submission) == 0


def test_uploads_are_judged_by_content_and_stored_under_generated_names(
    session: Session, requester: User, complaint: Definition, tmp_path: Path
) -> None:
    store = LocalFolder(tmp_path / "files")
    schema = submissions.form_schema(complaint.versions[-1])
    me = Uploader(requester)
    with pytest.raises(ValidationFailed) as info:
        submissions.store_upload(session, store, schema=schema, field_key="attachment", filename="photo.png",
                                 stream=io.BytesIO(b"MZ\x90\x00 this is an exe"), uploader=me)
    assert "attachment" in info.value.fields
    stored = submissions.store_upload(session, store, schema=schema, field_key="attachment",
                                      filename="../../etc/Ünïcode фото.png", stream=io.BytesIO(PNG), uploader=me)
    assert stored.original_name == "Ünïcode фото.png"
    assert stored.content_type == "image/png"
    assert store.read(stored.storage_name) == PNG and store.exists(stored.storage_name)
    assert stored.original_name not in store.describe(stored.storage_name)
    assert sorted(p.name for p in (tmp_path / "files").rglob("*") if p.is_file()) == [stored.storage_name]

    submission, _ = submissions.submit(session, complaint, GOOD, uploader=me, file_ids={"attachment": [stored.id]})
    assert [f.id for f in submission.files] == [stored.id]
    assert json.loads(submission.data)["attachment"][0]["name"] == "Ünïcode фото.png"


def test_someone_elses_pending_file_cannot_be_attached(session: Session, requester: User,
                                                       complaint: Definition, tmp_path: Path) -> None:
    other = accounts.create_user(session, email="other@example.com", name="Other", password="long enough pw",
                                 roles=["requester"])
    schema = submissions.form_schema(complaint.versions[-1])
    theirs = submissions.store_upload(session, LocalFolder(tmp_path / "files"), schema=schema, field_key="attachment",
                                      filename="a.png", stream=io.BytesIO(PNG), uploader=Uploader(other))
    with pytest.raises(ValidationFailed) as caught:  # a field error, never a filing without the file
        submissions.submit(session, complaint, GOOD, uploader=Uploader(requester),
                           file_ids={"attachment": [theirs.id]})
    assert "attachment" in caught.value.fields
    session.refresh(theirs)
    assert theirs.submission_id is None


def test_oversized_upload_is_refused_and_leaves_no_file(session: Session, requester: User,
                                                        complaint: Definition, tmp_path: Path) -> None:
    schema = submissions.form_schema(complaint.versions[-1])
    big = io.BytesIO(PNG + b"\x00" * (10 * 1024 * 1024))
    with pytest.raises(ValidationFailed, match="larger than allowed"):
        submissions.store_upload(session, LocalFolder(tmp_path / "files"), schema=schema, field_key="attachment",
                                 filename="big.png", stream=big, uploader=Uploader(requester))
    assert [p for p in (tmp_path / "files").rglob("*") if p.is_file()] == []
    assert _count(session, StoredFile) == 0


def test_public_forms_give_anonymous_visitors_a_tracking_token(session: Session, admin: User,
                                                               complaint: Definition) -> None:
    visitor = Uploader(None, session_key="visitor-1")
    with pytest.raises(PermissionDenied):
        submissions.submit(session, complaint, GOOD, uploader=visitor)
    definitions.set_availability(session, complaint, open_for_requests=True, public=True, archived=False,
                                      actor=admin)
    submission, token = submissions.submit(session, complaint, GOOD, uploader=visitor,
                                           contact_email="riley@example.com")
    assert token and token.startswith("trk_")
    assert submission.tracking_hash and token not in submission.tracking_hash
    assert submissions.submission_by_token(session, token).id == submission.id
    with pytest.raises(NotFound):
        submissions.submission_by_token(session, token + "x")


def test_row_level_access_to_submissions(session: Session, admin: User, requester: User,
                                         complaint: Definition) -> None:
    mine, _ = submissions.submit(session, complaint, GOOD, uploader=Uploader(requester))
    other = accounts.create_user(session, email="other@example.com", name="Other", password="long enough pw",
                                 roles=["requester"])
    auditor = accounts.create_user(session, email="aud@example.com", name="Aud", password="long enough pw",
                                   roles=["auditor"])
    assert submissions.get_submission_for(session, mine.id, requester) is mine
    assert submissions.get_submission_for(session, mine.id, auditor) is mine
    with pytest.raises(NotFound):
        submissions.get_submission_for(session, mine.id, other)
    assert submissions.submissions_of(session, other) == []


def test_closed_or_unpublished_forms_cannot_be_filed(session: Session, admin: User, requester: User,
                                                     complaint: Definition) -> None:
    draft_only = definitions.create(session, "form", slug="draft-only", title="Draft only", actor=admin)
    with pytest.raises(NotFound):
        submissions.submit(session, draft_only, {"subject": "x"}, uploader=Uploader(requester))
    definitions.set_availability(session, complaint, open_for_requests=False, public=False, archived=False,
                                      actor=admin)
    with pytest.raises(NotFound):
        submissions.submit(session, complaint, GOOD, uploader=Uploader(requester))
    assert [f.slug for f, _v in submissions.fileable_forms(session, requester)] == []


def test_a_new_version_does_not_change_filed_submissions(session: Session, admin: User, requester: User,
                                                         complaint: Definition) -> None:
    filed, _ = submissions.submit(session, complaint, GOOD, uploader=Uploader(requester))
    document = json.loads(complaint.versions[-1].document)
    document["pages"][0]["fields"] = [f for f in document["pages"][0]["fields"] if f["key"] != "customer_tier"]
    definitions.save_draft(session, complaint, document, actor=admin)
    definitions.publish(session, complaint, actor=admin)
    session.expire_all()
    assert filed.version.number == 1
    assert submissions.submission_data(filed)["customer_tier"] == "gold"
