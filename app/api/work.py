"""API: everything agents and requesters do on a case page, through the same services the pages use.

Optimistic locking: writes that change a case take `If-Match: "<version>"` (the case's `version`, also
its `ETag`); a stale one is refused with 412. Editing case data requires it (428 without it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, jsonify, request, send_file
from flask.typing import ResponseReturnValue

from app.api.base import api_user, bp, json_body
from app.api.cases import case_response
from app.api.idempotency import idempotent
from app.errors import json_error
from app.extensions import db
from app.uploads import file_store
from cases import access, accounts, automation, documents, lifecycle, submissions
from cases.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from cases.models import Case, StoredFile, User
from cases.submissions import Uploader


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
    if int(tag) != case.lock_version:
        raise PreconditionError(412, f"The case is at version {case.lock_version}, not {tag}: it was changed "
                                     "meanwhile. Read it again and retry.")
    return int(tag)


def _change(case_id: int, action: Callable[[Case, User, int | None], Any], *,
            required: bool = False) -> ResponseReturnValue:
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
    return case_response(case)


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = body.get(name, "" if not required else None)
    if not isinstance(value, str):
        raise ValidationFailed(f"Send '{name}' as text.", {name: ["Expected text."]})
    return value


# ---------------------------------------------------------------- claiming, assigning, routing


@bp.post("/cases/<int:case_id>/release")
def release(case_id: int) -> ResponseReturnValue:
    return _change(case_id, lambda c, u, v: lifecycle.release(db.session, c, u, expected_version=v))


@bp.post("/cases/<int:case_id>/assign")
def assign(case_id: int) -> ResponseReturnValue:
    """Body `{"assignee": "<agent's e-mail>" | null}`."""
    body = json_body()
    if "assignee" not in body or not (body["assignee"] is None or isinstance(body["assignee"], str)):
        raise ValidationFailed("Send 'assignee': an agent's e-mail address, or null.",
                               {"assignee": ["Expected an e-mail address or null."]})
    email = (body["assignee"] or "").strip()
    assignee = accounts.find_user(db.session, email) if email else None
    if email and assignee is None:
        raise ValidationFailed("No agent has this e-mail address.", {"assignee": ["Choose an active agent."]})
    return _change(case_id, lambda c, u, v: lifecycle.assign(db.session, c, assignee, u, expected_version=v))


@bp.post("/cases/<int:case_id>/queue")
def move_queue(case_id: int) -> ResponseReturnValue:
    """Body `{"queue": "<slug>"}`."""
    slug = _text(json_body(), "queue")
    queue = accounts.find_queue(db.session, slug)
    if queue is None or not queue.active:
        raise ValidationFailed("No active queue has this short name.", {"queue": ["Choose an active queue."]})
    return _change(case_id, lambda c, u, v: lifecycle.move_to_queue(db.session, c, queue, u, expected_version=v))


@bp.post("/cases/<int:case_id>/priority")
def set_priority(case_id: int) -> ResponseReturnValue:
    """Body `{"priority": "low" | "normal" | "high" | "urgent"}`."""
    priority = _text(json_body(), "priority")
    return _change(case_id, lambda c, u, v: lifecycle.set_priority(db.session, c, priority, u, expected_version=v))


# ---------------------------------------------------------------- requests for information


@bp.post("/cases/<int:case_id>/information-requests")
@idempotent
def request_information(case_id: int) -> ResponseReturnValue:
    """Staff ask the requester something (body `{"question": "..."}`); the case waits for the answer."""
    question = _text(json_body(), "question")
    return _change(case_id, lambda c, u, v: lifecycle.request_information(db.session, c, u, question,
                                                                          expected_version=v))


@bp.post("/cases/<int:case_id>/information-requests/answer")
def answer_information(case_id: int) -> ResponseReturnValue:
    """The requester answers (body `{"answer": "..."}`); the case goes back to where it was."""
    answer = _text(json_body(), "answer")
    return _change(case_id, lambda c, u, _v: lifecycle.answer_information(db.session, c, u, answer))


# ---------------------------------------------------------------- editing data


@bp.patch("/cases/<int:case_id>/data")
def edit_data(case_id: int) -> ResponseReturnValue:
    """Body `{"data": {field: value}}`: the fields staff may edit in this state; If-Match is required."""
    data = json_body().get("data")
    if not isinstance(data, dict) or not data:
        raise ValidationFailed("Send the changed fields as an object under 'data'.", {"data": ["Expected an object."]})
    return _change(case_id, lambda c, u, v: lifecycle.edit_fields(db.session, c, data, u, expected_version=v),
                   required=True)


# ---------------------------------------------------------------- approvals


def _approval_json(approval: Any, user: User) -> dict[str, Any]:
    return {"id": approval.id, "status": approval.status, "role": approval.role,
            "on_approve": approval.on_approve, "on_reject": approval.on_reject,
            "requested_at": approval.requested_at.isoformat(),
            "may_decide": automation.may_decide(approval, user)}


@bp.get("/cases/<int:case_id>/approval")
def approval(case_id: int) -> ResponseReturnValue:
    """The approval the case waits for, or `{"approval": null}`."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    pending = automation.pending_approval(db.session, case)
    return jsonify(approval=_approval_json(pending, user) if pending is not None else None)


@bp.post("/cases/<int:case_id>/approval")
def decide(case_id: int) -> ResponseReturnValue:
    """Body `{"decision": "approve" | "reject", "comment": "..."}` by whoever the approval names."""
    body = json_body()
    decision, comment = body.get("decision"), _text(body, "comment", required=False)
    if decision not in ("approve", "reject"):
        raise ValidationFailed("Send 'decision': 'approve' or 'reject'.", {"decision": ["Use approve or reject."]})
    return _change(case_id, lambda c, u, _v: automation.decide_approval(
        db.session, c, u, approve=decision == "approve", comment=comment))


# ---------------------------------------------------------------- comments


def comment_json(comment: Any, *, public: bool) -> dict[str, Any]:
    """A comment; for requesters staff are never named (author `support`)."""
    author = comment.author.email if comment.author else None
    if public and (comment.author is None or not comment.author.has_role("requester")
                   or comment.author.has_role("agent", "admin")):
        author = "support"
    return {"id": comment.id, "body": comment.body, "visibility": "internal" if comment.internal else "public",
            "internal": comment.internal, "author": author, "created_at": comment.created_at.isoformat()}


@bp.get("/cases/<int:case_id>/comments")
def comments(case_id: int) -> ResponseReturnValue:
    """The conversation, oldest first; requesters get the public comments only."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    public = not access.sees_internal(db.session, user, case)
    rows = lifecycle.comments_for(db.session, case, user)
    return jsonify(items=[comment_json(c, public=public) for c in rows], total=len(rows))


def visibility_of(body: dict[str, Any]) -> bool:
    """`visibility` ("public" | "internal") or the older boolean `internal`; True for internal."""
    if "visibility" in body:
        if body["visibility"] not in ("public", "internal"):
            raise ValidationFailed("'visibility' is 'public' or 'internal'.",
                                   {"visibility": ["Use public or internal."]})
        return bool(body["visibility"] == "internal")
    internal = body.get("internal", False)
    if not isinstance(internal, bool):
        raise ValidationFailed("'internal' is true or false.", {"internal": ["Expected true or false."]})
    return internal


def refuse_internal_for_outsiders(case: Case, user: User, internal: bool) -> None:
    """Requesters never create internal items: refused, not silently made public."""
    if internal and not access.is_staff_on(db.session, user, case):
        raise PermissionDenied("Only the case's agents can add internal items.")


@bp.post("/cases/<int:case_id>/comments")
@idempotent
def comment(case_id: int) -> ResponseReturnValue:
    """Body `{"body": "...", "visibility": "public" | "internal"}` (internal: the case's agents only)."""
    body = json_body()
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    text, internal = _text(body, "body"), visibility_of(body)
    refuse_internal_for_outsiders(case, user, internal)
    note = lifecycle.add_comment(db.session, case, user, text, internal=internal)
    response = jsonify(comment_json(note, public=not access.sees_internal(db.session, user, case)))
    response.status_code = 201
    return response


# ---------------------------------------------------------------- attachments


def file_json(stored: StoredFile, case: Case) -> dict[str, Any]:
    return {"id": stored.id, "name": stored.original_name, "size": stored.size, "content_type": stored.content_type,
            "sha256": stored.sha256, "visibility": "internal" if stored.internal else "public",
            "uploaded_at": stored.uploaded_at.isoformat(),
            "download": f"/api/v1/cases/{case.id}/attachments/{stored.id}"}


@bp.get("/cases/<int:case_id>/attachments")
def attachments(case_id: int) -> ResponseReturnValue:
    """The case's files (requesters: the public ones)."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    rows = lifecycle.files_for(db.session, case, user)
    return jsonify(items=[file_json(f, case) for f in rows], total=len(rows))


def _attach(case: Case, user: User, files: list[StoredFile], internal: bool) -> ResponseReturnValue:
    lifecycle.attach_files(db.session, case, user, files, internal=internal)
    response = jsonify(items=[file_json(f, case) for f in files])
    response.status_code = 201
    return response


@bp.post("/cases/<int:case_id>/attachments")
@idempotent
def add_attachment(case_id: int) -> ResponseReturnValue:
    """Attach one file sent as multipart `file` (optional form field `visibility`: "internal" for staff)."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    internal = visibility_of({k: v for k, v in request.form.items() if k == "visibility"})
    refuse_internal_for_outsiders(case, user, internal)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed("Send the file as multipart field 'file'.", {"file": ["No file was sent."]})
    if not access.is_staff_on(db.session, user, case) and case.requester_id != user.id:
        raise PermissionDenied("You cannot add files to this case.")
    stored = submissions.store_case_file(db.session, file_store(current_app), filename=upload.filename,
                                         stream=upload.stream, uploader=Uploader(user))
    return _attach(case, user, [stored], internal)


@bp.post("/cases/<int:case_id>/attachments/from-uploads")
@idempotent
def attach_uploads(case_id: int) -> ResponseReturnValue:
    """Attach the caller's own pending uploads: `{"uploads": [ids], "visibility": "public" | "internal"}`."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    body = json_body()
    internal = visibility_of(body)
    refuse_internal_for_outsiders(case, user, internal)
    ids = body.get("uploads")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ValidationFailed("Send 'uploads': a list of upload ids.", {"uploads": ["Expected upload ids."]})
    files = [f for f in (db.session.get(StoredFile, i) for i in ids[:50]) if f is not None]
    unknown = sorted(set(ids) - {f.id for f in files if f.owner_id == user.id and f.case_id is None
                                 and f.submission_id is None})
    if unknown:
        raise ValidationFailed("Some uploads are not yours to attach, or are attached already.",
                               {"uploads": [f"Not attachable: {', '.join(map(str, unknown))}."]})
    return _attach(case, user, files, internal)


@bp.get("/cases/<int:case_id>/attachments/<int:file_id>")
def download_attachment(case_id: int, file_id: int) -> ResponseReturnValue:
    """The file, as an attachment; the download is an audit event of the case."""
    user = api_user()
    stored = lifecycle.file_for(db.session, file_id, user)
    if stored.case_id != case_id:
        raise NotFound("No such file.")
    case = access.get_case_for(db.session, case_id, user)
    lifecycle.record_download(db.session, case, stored, user)
    return send_file(file_store(current_app).path(stored.storage_name), mimetype=stored.content_type,
                     as_attachment=True, download_name=stored.original_name, max_age=0)


# ---------------------------------------------------------------- documents


@bp.post("/cases/<int:case_id>/documents/drafts")
def request_draft(case_id: int) -> ResponseReturnValue:
    """Have a DRAFT dossier made of an open case (its agents, auditors, admins); 202 with the document."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    document = documents.request_draft(db.session, case, user)
    response = jsonify(documents.document_json(document))
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/cases/{case.id}/documents/{document.id}"
    return response
