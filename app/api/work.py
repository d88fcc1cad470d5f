"""API: everything agents and requesters do on a case page, through the same services the pages use.

Optimistic locking: writes that change a case take `If-Match: "<version>"` (the case's `version`, also
its `ETag`); a stale one is refused with 412. Editing case data requires it (428 without it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, request, send_file
from flask.typing import ResponseReturnValue

from app.api.base import api_user, bp
from app.api.cases import case_etag, detail_with_etag
from app.api.idempotency import idempotent
from app.api.openapi import operation
from app.api.schemas import CaseDetail, CommentBody, CommentOut, Counted, DocumentOut, Items
from app.api.work_schemas import (
    AnswerBody,
    ApprovalEnvelope,
    AssignBody,
    AttachmentOut,
    AttachUploadsBody,
    DataEditBody,
    DecisionBody,
    PriorityBody,
    QuestionBody,
    QueueBody,
)
from app.errors import json_error
from app.extensions import db
from app.uploads import file_store, open_stored
from case_types.errors import Conflict, NotFound, ValidationFailed
from cases import access, accounts, approvals, assignment, conversation, documents, lifecycle, submissions
from cases.errors import PermissionDenied
from cases.models import Case, Comment, StoredFile, User
from cases.submissions import Uploader

LOCKED = (409, 412)


class PreconditionError(Exception):
    """412 (stale If-Match) or 428 (If-Match required but missing), in the API's error shape."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@bp.errorhandler(PreconditionError)
def _precondition(exc: PreconditionError) -> ResponseReturnValue:
    db.session.rollback()
    code = "precondition_failed" if exc.status == 412 else "precondition_required"
    return json_error(exc.status, exc.message, code=code)


def if_match(case: Case, *, required: bool = False) -> int | None:
    """The version named by If-Match; 412 when the case has moved on, 428 when required and missing."""
    raw = request.headers.get("If-Match", "").strip()
    if not raw:
        if required:
            raise PreconditionError(428, 'Send If-Match with the case\'s version (its ETag), e.g. If-Match: "3".')
        return None
    tag = raw.removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise PreconditionError(412, "If-Match must be the case's version (its ETag), e.g. \"3\".")
    if int(tag) != case_etag(case):
        raise PreconditionError(412, f"The case is at version {case.lock_version}, not {tag}: it was changed "
                                     "meanwhile. Read it again and retry.")
    return int(tag)


def _change(case_id: int, action: Callable[[Case, User, int | None], Any], *, required: bool = False) -> Any:
    """Load the case as the caller sees it, check If-Match, run one service; answer with the case."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    expected = if_match(case, required=required)
    try:
        action(case, user, expected)
    except Conflict:
        if expected is not None:
            db.session.rollback()
            fresh = db.session.get(Case, case_id)
            if fresh is not None and fresh.lock_version != expected:
                raise PreconditionError(412, "The case was changed meanwhile. Read it again and retry.") from None
        raise
    return detail_with_etag(case)


# ---------------------------------------------------------------- claiming, assigning, routing


@bp.post("/cases/<int:case_id>/release")
@operation("Release a case", response=CaseDetail, errors=LOCKED)
def release(case_id: int) -> Any:
    """The case's holder (or an admin) gives it back to its queue."""
    return _change(case_id, lambda c, u, v: assignment.release(db.session, c, u, expected_version=v))


@bp.post("/cases/<int:case_id>/assign")
@operation("Assign a case", body=AssignBody, response=CaseDetail, errors=LOCKED)
def assign(case_id: int, body: AssignBody) -> Any:
    """Staff of the case give it to an active agent, or to nobody (`null`)."""
    email = (body.assignee or "").strip()
    assignee = accounts.find_user(db.session, email) if email else None
    if email and assignee is None:
        raise ValidationFailed("No agent has this e-mail address.", {"assignee": ["Choose an active agent."]})
    return _change(case_id, lambda c, u, v: assignment.assign(db.session, c, assignee, u, expected_version=v))


@bp.post("/cases/<int:case_id>/queue")
@operation("Move a case to another queue", body=QueueBody, response=CaseDetail, errors=LOCKED)
def move_queue(case_id: int, body: QueueBody) -> Any:
    """Staff of the case route it by hand."""
    queue = accounts.find_queue(db.session, body.queue)
    if queue is None or not queue.active:
        raise ValidationFailed("No active queue has this short name.", {"queue": ["Choose an active queue."]})
    return _change(case_id, lambda c, u, v: assignment.move_to_queue(db.session, c, queue, u, expected_version=v))


@bp.post("/cases/<int:case_id>/priority")
@operation("Set a case's priority", body=PriorityBody, response=CaseDetail, errors=LOCKED)
def set_priority(case_id: int, body: PriorityBody) -> Any:
    """Staff of the case set its priority."""
    return _change(case_id, lambda c, u, v: assignment.set_priority(db.session, c, body.priority, u,
                                                                   expected_version=v))


# ---------------------------------------------------------------- requests for information


@bp.post("/cases/<int:case_id>/information-requests")
@idempotent
@operation("Ask the requester for information", body=QuestionBody, response=CaseDetail, errors=LOCKED)
def request_information(case_id: int, body: QuestionBody) -> Any:
    """Staff ask the requester something; the case waits (SLA paused) for the answer."""
    return _change(case_id, lambda c, u, v: conversation.request_information(db.session, c, u, body.question,
                                                                          expected_version=v))


@bp.post("/cases/<int:case_id>/information-requests/answer")
@operation("Answer a request for information", body=AnswerBody, response=CaseDetail, errors=LOCKED)
def answer_information(case_id: int, body: AnswerBody) -> Any:
    """The requester answers; the case goes back to the state it was in when asked (409 if nothing waits)."""
    return _change(case_id, lambda c, u, _v: conversation.answer_information(db.session, c, u, body.answer))


# ---------------------------------------------------------------- editing data


@bp.patch("/cases/<int:case_id>/data")
@operation("Edit a case's data", body=DataEditBody, response=CaseDetail, errors=(409, 412, 428))
def edit_data(case_id: int, body: DataEditBody) -> Any:
    """Staff change the fields the case type lets them edit in the current state. `If-Match` with the
    case's version (its ETag) is required: 428 without it, 412 when the case changed meanwhile."""
    return _change(case_id, lambda c, u, v: lifecycle.edit_fields(db.session, c, body.data, u, expected_version=v),
                   required=True)


# ---------------------------------------------------------------- approvals


def _approval_json(approval: Any, user: User) -> dict[str, Any]:
    return {"id": approval.id, "status": approval.status, "role": approval.role,
            "on_approve": approval.on_approve, "on_reject": approval.on_reject,
            "requested_at": approval.requested_at.isoformat(),
            "may_decide": approvals.may_decide(approval, user)}


@bp.get("/cases/<int:case_id>/approval")
@operation("Read the approval a case waits for", response=ApprovalEnvelope)
def approval(case_id: int) -> Any:
    """The pending approval, or `{"approval": null}`."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    pending = approvals.pending_approval(db.session, case)
    return {"approval": _approval_json(pending, user) if pending is not None else None}


@bp.post("/cases/<int:case_id>/approval")
@operation("Decide an approval", body=DecisionBody, response=CaseDetail, errors=LOCKED)
def decide(case_id: int, body: DecisionBody) -> Any:
    """Whoever the approval names approves or rejects; the case moves on to the rule's chosen state."""
    return _change(case_id, lambda c, u, _v: approvals.decide_approval(
        db.session, c, u, approve=body.decision == "approve", comment=body.comment))


# ---------------------------------------------------------------- comments


def comment_json(comment: Comment, *, public: bool) -> dict[str, Any]:
    """A comment; for requesters staff are never named (author `support`)."""
    author = comment.author.email if comment.author else None
    if public and (comment.author is None or not comment.author.has_role("requester")
                   or comment.author.has_role("agent", "admin")):
        author = "support"
    return {"id": comment.id, "body": comment.body, "visibility": "internal" if comment.internal else "public",
            "internal": comment.internal, "author": author, "created_at": comment.created_at.isoformat()}


@bp.get("/cases/<int:case_id>/comments")
@operation("List a case's comments", response=Counted[CommentOut])
def comments(case_id: int) -> Any:
    """The conversation, oldest first; requesters get the public comments only."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    public = not access.sees_internal(db.session, user, case)
    rows = conversation.comments_for(db.session, case, user)
    return {"items": [comment_json(c, public=public) for c in rows], "total": len(rows)}


def refuse_internal_for_outsiders(case: Case, user: User, internal: bool) -> None:
    """Requesters never create internal items: refused, not silently made public."""
    if internal and not access.is_staff_on(db.session, user, case):
        raise PermissionDenied("Only the case's agents can add internal items.")


@bp.post("/cases/<int:case_id>/comments")
@idempotent
@operation("Comment on a case", body=CommentBody, response=CommentOut, status=201, errors=(409,))
def comment(case_id: int, body: CommentBody) -> Any:
    """Staff comment publicly or internally; the requester comments publicly while the case is open (an
    internal comment from anyone but the case's staff is refused with 403, never made public silently)."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    internal = body.visibility == "internal" if body.visibility is not None else body.internal
    refuse_internal_for_outsiders(case, user, internal)
    note = conversation.add_comment(db.session, case, user, body.body, internal=internal)
    return comment_json(note, public=not access.sees_internal(db.session, user, case)), 201


# ---------------------------------------------------------------- attachments


def file_json(stored: StoredFile, case: Case) -> dict[str, Any]:
    return {"id": stored.id, "name": stored.original_name, "size": stored.size, "content_type": stored.content_type,
            "sha256": stored.sha256, "visibility": "internal" if stored.internal else "public",
            "uploaded_at": stored.uploaded_at.isoformat(),
            "download": f"/api/v1/cases/{case.id}/attachments/{stored.id}"}


@bp.get("/cases/<int:case_id>/attachments")
@operation("List a case's files", response=Counted[AttachmentOut])
def attachments(case_id: int) -> Any:
    """The case's files (requesters: the public ones)."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    rows = conversation.files_for(db.session, case, user)
    return {"items": [file_json(f, case) for f in rows], "total": len(rows)}


def _attach(case: Case, user: User, files: list[StoredFile], internal: bool) -> Any:
    conversation.attach_files(db.session, case, user, files, internal=internal)
    return {"items": [file_json(f, case) for f in files]}, 201


@bp.post("/cases/<int:case_id>/attachments")
@idempotent
@operation("Attach a file to a case", response=Items[AttachmentOut], status=201, upload=True, errors=(409, 413))
def add_attachment(case_id: int) -> Any:
    """Store one file sent as multipart `file` and attach it (the case's staff, or its requester while it is
    open). An optional form field `visibility=internal` keeps it from the requester (staff only)."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    visibility = request.form.get("visibility", "public")
    if visibility not in ("public", "internal"):
        raise ValidationFailed("'visibility' is 'public' or 'internal'.", {"visibility": ["Use public or internal."]})
    internal = visibility == "internal"
    refuse_internal_for_outsiders(case, user, internal)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed("Send the file as multipart field 'file'.", {"file": ["No file was sent."]})
    if not access.is_staff_on(db.session, user, case) and case.requester_id != user.id:
        raise PermissionDenied("You cannot add files to this case.")
    if not case.is_open:
        raise Conflict("The case is closed.")
    stored = submissions.store_case_file(db.session, file_store(current_app), filename=upload.filename,
                                         stream=upload.stream, uploader=Uploader(user))
    return _attach(case, user, [stored], internal)


@bp.post("/cases/<int:case_id>/attachments/from-uploads")
@idempotent
@operation("Attach pending uploads to a case", body=AttachUploadsBody, response=Items[AttachmentOut], status=201,
           errors=(409,))
def attach_uploads(case_id: int, body: AttachUploadsBody) -> Any:
    """Attach the caller's own uploads that are not attached to anything yet."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    internal = body.visibility == "internal"
    refuse_internal_for_outsiders(case, user, internal)
    files = [f for f in (db.session.get(StoredFile, i) for i in body.uploads) if f is not None]
    unknown = sorted(set(body.uploads) - {f.id for f in files if f.owner_id == user.id and f.case_id is None
                                          and f.submission_id is None})
    if unknown:
        raise ValidationFailed("Some uploads are not yours to attach, or are attached already.",
                               {"uploads": [f"Not attachable: {', '.join(map(str, unknown))}."]})
    return _attach(case, user, files, internal)


@bp.get("/cases/<int:case_id>/attachments/<int:file_id>")
@operation("Download a case file", produces="application/octet-stream")
def download_attachment(case_id: int, file_id: int) -> Any:
    """The file, as an attachment of type application/octet-stream (its own type is in the list); the
    download is an audit event of the case."""
    user = api_user()
    stored = conversation.file_for(db.session, file_id, user)
    if stored.case_id != case_id:
        raise NotFound("No such file.")
    case = access.get_case_for(db.session, case_id, user)
    body = open_stored(file_store(current_app), stored.storage_name)
    conversation.record_download(db.session, case, stored, user)
    return send_file(body, mimetype="application/octet-stream",
                     as_attachment=True, download_name=stored.original_name, max_age=0)


# ---------------------------------------------------------------- documents


@bp.post("/cases/<int:case_id>/documents/drafts")
@operation("Have a draft dossier made", response=DocumentOut, status=202, errors=(409,))
def request_draft(case_id: int) -> Any:
    """A DRAFT dossier of an open case, rendered in the background (the case's agents, auditors, admins);
    a draft still waiting for the renderer is answered instead of a second one."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    document = documents.request_draft(db.session, case, user)
    return documents.document_json(document), 202, {"Location": f"/api/v1/cases/{case.id}/documents/{document.id}"}
