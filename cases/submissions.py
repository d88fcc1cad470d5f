"""Filing forms: uploads kept under generated names, validation against the pinned version, tracking links."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from case_types.errors import NotFound, ValidationFailed
from cases import audit
from cases.clock import Clock, utcnow
from cases.errors import PermissionDenied
from cases.inputs import is_id
from cases.models import Definition, DefinitionVersion, Role, StoredFile, Submission, User
from cases.privacy.values import seal_fields
from cases.storage import FileStorage
from cases.uow import transaction
from forms.definitions import load_definition
from forms.errors import SubmissionInvalid
from forms.schema import FormSchema
from forms.validation import (
    check_upload,
    from_json_values,
    sniff_content_type,
    to_json_values,
    validate_submission,
)

TRACKING_PREFIX = "trk_"
DEFAULT_MAX_UPLOAD = 25 * 1024 * 1024  # when the field sets no maximum size


def form_schema(version: DefinitionVersion) -> FormSchema:
    """The form schema of a published form version (valid by construction; cached, versions never change)."""
    return _schema_of(version.document)


@lru_cache(maxsize=512)
def _schema_of(document: str) -> FormSchema:
    return load_definition(json.loads(document))


@dataclass(frozen=True)
class Uploader:
    """Who uploads: a logged-in user, or an anonymous visitor known by a random session key."""

    user: User | None
    session_key: str = ""

    def owns(self, stored: StoredFile) -> bool:
        if self.user is not None:
            return stored.owner_id == self.user.id
        return bool(self.session_key) and stored.owner_id is None and stored.owner_key == self.session_key


def _display_name(filename: str) -> str:
    """The original name as metadata: no path, no control characters, bounded length."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(ch for ch in base if ch.isprintable()).strip()
    return (clean or "upload")[:255]


def store_upload(
    session: Session, store: FileStorage, *, schema: FormSchema, field_key: str, filename: str,
    stream: IO[bytes], uploader: Uploader, existing_count: int = 0, clock: Clock = utcnow,
) -> StoredFile:
    """Keep one uploaded file for a file field, judged by its content; pending until a submission takes it."""
    try:
        field = schema.field(field_key)
    except KeyError:
        raise ValidationFailed("This form has no such file field.") from None
    limit = field.max_size or DEFAULT_MAX_UPLOAD
    try:
        name, size, sha256, head = store.write(stream, max_bytes=limit)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, {field_key: [exc.message]}) from None
    problems = check_upload(field, filename, size, head, existing_count=existing_count)
    if problems:
        store.delete(name)
        raise ValidationFailed("The file was not accepted.", {field_key: problems})
    with transaction(session):
        stored = StoredFile(storage_name=name, original_name=_display_name(filename),
                            content_type=sniff_content_type(head, name=filename) or "application/octet-stream",
                            size=size,
                            sha256=sha256, uploaded_at=clock(),
                            owner_id=uploader.user.id if uploader.user else None,
                            owner_key="" if uploader.user else uploader.session_key, field_key=field_key)
        session.add(stored)
    return stored


# What may be attached to a case after filing (by content): documents, images, spreadsheets, text.
CASE_FILE_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain", "text/csv",
                   "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet")


def store_case_file(
    session: Session, store: FileStorage, *, filename: str, stream: IO[bytes], uploader: Uploader,
    max_bytes: int = DEFAULT_MAX_UPLOAD, clock: Clock = utcnow,
) -> StoredFile:
    """Keep a file to attach to a case (not tied to a form field); judged by content like form uploads."""
    try:
        name, size, sha256, head = store.write(stream, max_bytes=max_bytes)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, {"file": [exc.message]}) from None
    content_type = sniff_content_type(head, name=filename)
    if size == 0 or content_type not in CASE_FILE_TYPES:
        store.delete(name)
        reason = "The file is empty." if size == 0 else \
            "This kind of file cannot be attached (PDF, images, office documents and text are accepted)."
        raise ValidationFailed(reason, {"file": [reason]})
    with transaction(session):
        stored = StoredFile(storage_name=name, original_name=_display_name(filename), content_type=content_type,
                            size=size, sha256=sha256, uploaded_at=clock(),
                            owner_id=uploader.user.id if uploader.user else None,
                            owner_key="" if uploader.user else uploader.session_key)
        session.add(stored)
    return stored


def pending_files(session: Session, ids: Iterable[int], uploader: Uploader) -> list[StoredFile]:
    """The uploader's own files that no submission has taken yet; anything else is silently left out."""
    wanted = {int(i) for i in ids}
    if not wanted:
        return []
    rows = session.scalars(select(StoredFile).where(StoredFile.id.in_(wanted), StoredFile.submission_id.is_(None),
                                                    StoredFile.case_id.is_(None))).all()
    return sorted((r for r in rows if uploader.owns(r)), key=lambda r: r.id)


def fileable_forms(session: Session, user: User | None) -> list[tuple[Definition, DefinitionVersion]]:
    """Forms this person may file now, with the version a new submission would pin."""
    stmt = select(Definition).where(Definition.kind == "form", Definition.archived.is_(False),
                                        Definition.open_for_requests.is_(True))
    if user is None:
        stmt = stmt.where(Definition.public.is_(True))
    result = []
    for form in session.scalars(stmt.order_by(Definition.title)):
        if form.latest_version is not None:
            result.append((form, form.latest_version))
    return result


def filing_version(session: Session, form: Definition, user: User | None) -> DefinitionVersion:
    """The version to file under, if this person may file the form at all."""
    if form.kind != "form" or form.archived or not form.open_for_requests or form.latest_version is None:
        raise NotFound("This form is not open for requests.")
    if user is None and not form.public:
        raise PermissionDenied("Log in to file this form.")
    if user is not None and not user.has_role(Role.REQUESTER) and not form.public:
        raise PermissionDenied("Only requesters can file this form.")
    return form.latest_version


def submit(
    session: Session, form: Definition, raw: Mapping[str, Any], *, uploader: Uploader,
    file_ids: Mapping[str, Sequence[int]] | None = None, contact_email: str = "", clock: Clock = utcnow,
    version: DefinitionVersion | None = None,
) -> tuple[Submission, str | None]:
    """File the form: validate in full against the pinned version, store data and files together.

    Returns the submission and, for anonymous visitors, the tracking token (shown once, stored hashed).
    """
    version = version or filing_version(session, form, uploader.user)
    schema = form_schema(version)
    files_by_field = files_for_filing(session, file_ids, uploader)
    refs = {key: [f.ref() for f in files] for key, files in files_by_field.items()}
    try:
        clean = validate_submission(schema, raw, files=refs)
    except SubmissionInvalid as exc:
        raise ValidationFailed("Some answers need your attention.", exc.errors) from None
    kept_ids = {ref["id"] for value in clean.values() if isinstance(value, list)
                for ref in value if isinstance(ref, Mapping) and "id" in ref}
    token = None if uploader.user is not None else TRACKING_PREFIX + secrets.token_urlsafe(24)
    data = to_json_values(clean)
    with transaction(session):
        submission = Submission(
            form_id=form.id, form_version_id=version.id, data=json.dumps(data, ensure_ascii=False),
            submitted_at=clock(), requester_id=uploader.user.id if uploader.user else None,
            contact_email=(contact_email or "").strip()[:254],
            tracking_hash=hashlib.sha256(token.encode()).hexdigest() if token else None,
        )
        session.add(submission)
        session.flush()
        for files in files_by_field.values():
            for stored in files:
                if stored.id in kept_ids:
                    stored.submission_id = submission.id
        audit.append(session, submission.stream, "submission.filed",
                     {"form": form.slug, "version": version.number,
                      "data": seal_fields(session, data, schema.personal_keys, case_id=None,
                                          path=f"{submission.stream}.data", clock=clock)},
                     actor=uploader.user, clock=clock)
    return submission, token


def submission_data(submission: Submission) -> dict[str, Any]:
    """The stored data, typed again by the version it was filed under."""
    return from_json_values(form_schema(submission.version), json.loads(submission.data))


def submissions_of(session: Session, user: User) -> Sequence[Submission]:
    stmt = select(Submission).where(Submission.requester_id == user.id).order_by(Submission.submitted_at.desc())
    return session.scalars(stmt).all()


def get_submission_for(session: Session, submission_id: int, user: User) -> Submission:
    """Row-level access: requesters see their own; admins and auditors see all. Others get 404, not 403,
    so ids cannot be probed."""
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound("No such submission.")
    if submission.requester_id == user.id or user.has_role(Role.ADMIN, Role.AUDITOR):
        return submission
    raise NotFound("No such submission.")


def submission_by_token(session: Session, token: str) -> Submission:
    if not token or not token.startswith(TRACKING_PREFIX) or len(token) > 100:
        raise NotFound("This tracking link is not valid.")
    digest = hashlib.sha256(token.encode()).hexdigest()
    submission = session.scalar(select(Submission).where(Submission.tracking_hash == digest))
    if submission is None:
        raise NotFound("This tracking link is not valid.")
    return submission


def file_for(session: Session, file_id: int, user: User | None, *, tracking_token: str = "") -> StoredFile:
    """A stored file the person may download: their own submission's, or any for admins and auditors."""
    stored = session.get(StoredFile, file_id)
    if stored is None or stored.submission is None:
        raise NotFound("No such file.")
    submission = stored.submission
    if user is not None and (submission.requester_id == user.id or user.has_role(Role.ADMIN, Role.AUDITOR)):
        return stored
    if tracking_token and submission.tracking_hash == hashlib.sha256(tracking_token.encode()).hexdigest():
        return stored
    raise NotFound("No such file.")


def files_for_filing(
    session: Session, file_ids: Mapping[str, Sequence[int]] | None, uploader: Uploader,
) -> dict[str, list[StoredFile]]:
    """The pending files a filing names, per field; an id that is unknown, already filed or someone
    else's is a field error (never a filing with the attachment silently missing)."""
    found: dict[str, list[StoredFile]] = {}
    errors: dict[str, list[str]] = {}
    for key, ids in (file_ids or {}).items():
        wanted = list(dict.fromkeys(ids))
        files = pending_files(session, wanted, uploader) if all(is_id(i) for i in wanted) else []
        if len(files) != len(wanted):
            errors[key] = ["An upload of this field is unknown, already used or not yours; upload the file again."]
        found[key] = files
    if errors:
        raise ValidationFailed("Some uploads cannot be used.", errors)
    return found
