"""API: case types, filing, reading and working cases, their audit events, chain verification."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, request

from app.api.base import api_user, bp
from app.api.idempotency import idempotent
from app.api.openapi import operation
from app.api.schemas import (
    CaseDetail,
    CaseListQuery,
    CaseOut,
    CaseTypeDetail,
    CaseTypeOut,
    Counted,
    EventOut,
    FilingBody,
    Items,
    Page,
    TransitionBody,
    UploadOut,
    UploadQuery,
    VerifyOut,
    VerifyQuery,
)
from app.checkpoints import public_key
from app.extensions import db
from app.uploads import file_store
from case_types.errors import NotFound, ValidationFailed
from cases import (
    access,
    assignment,
    audit,
    case_versions,
    checkpoint_verify,
    definitions,
    discretionary,
    lifecycle,
    links,
    submissions,
    uploads,
)
from cases.errors import InvalidQuery, PermissionDenied
from cases.inputs import MAX_ID, is_id, parse_count
from cases.models import Role
from cases.privacy.values import readable
from cases.read import queries, timeline
from cases.submissions import Uploader
from forms.definitions import dump_definition


def _case_type(slug: str) -> Any:
    if not definitions.SLUG_RE.match(slug):
        raise NotFound("No such case type.")
    definition = definitions.find_definition(db.session, "case_type", slug, with_versions=True)
    if definition is None or definition.latest_version is None:
        raise NotFound("No such case type.")
    return definition


def _case_type_json(definition: Any, *, with_form: bool = False) -> dict[str, Any]:
    version = definition.latest_version
    spec = case_versions.spec_of(db.session, version)
    body: dict[str, Any] = {
        "slug": definition.slug, "name": spec.name, "description": spec.description, "prefix": spec.prefix,
        "version": version.number, "form": spec.form.slug, "form_version": spec.form.version,
        "states": [{"key": s.key, "label": s.label, "kind": s.kind} for s in spec.states],
    }
    if with_form:
        form_version = case_versions.pinned_form_version(db.session, spec.form.slug, spec.form.version)
        body["form_schema"] = dump_definition(submissions.form_schema(form_version))
    return body


@bp.get("/case-types")
@operation("List the case types the caller may file", response=Counted[CaseTypeOut])
def case_types() -> Any:
    """Published case types the caller may file."""
    items = [_case_type_json(d) for d, _v in case_versions.fileable_case_types(db.session, api_user())]
    return {"items": items, "total": len(items)}


@bp.get("/case-types/<slug>")
@operation("Read a case type with its form", response=CaseTypeDetail)
def case_type(slug: str) -> Any:
    """Requesters read the case types they may file; staff and auditors every published one."""
    user = api_user()
    definition = _case_type(slug)
    fileable = any(d.id == definition.id for d, _v in case_versions.fileable_case_types(db.session, user))
    if not fileable and not user.has_role(Role.ADMIN, Role.AGENT, Role.AUDITOR):
        raise NotFound("No such case type.")
    return _case_type_json(definition, with_form=True)


@bp.post("/case-types/<slug>/cases")
@idempotent
@operation("File a case", body=FilingBody, response=CaseOut, status=201)
def file_case(slug: str, body: FilingBody) -> Any:
    """File a case (requesters); file fields take the ids returned by POST /uploads. 422 names each answer
    that does not validate against the case type's form (see its schema.json)."""
    data = dict(body.data)
    definition = _case_type(slug)
    spec = case_versions.spec_of(db.session, definition.latest_version)
    file_ids: dict[str, list[int]] = {}
    for key, family in spec.form.families.items():
        if family == "file" and key in data:
            ids = data.pop(key)
            if not isinstance(ids, list) or not all(is_id(i) for i in ids):
                raise ValidationFailed("File fields take a list of upload ids.", {key: ["Expected upload ids."]})
            file_ids[key] = ids
    case = lifecycle.file_case(db.session, definition, data, uploader=Uploader(api_user()), file_ids=file_ids)
    return queries.case_json(case, hide_staff=_hides_staff(case)), 201, {"Location": f"/api/v1/cases/{case.id}"}


@bp.post("/uploads")
@operation("Upload a file for a file field", query=UploadQuery, response=UploadOut, status=201, upload=True,
           errors=(413,))
def upload(query: UploadQuery) -> Any:
    """Store one file for a file field of a case type's form: ?case_type=slug&field=key, multipart 'file'.

    Auditors never write; everyone else keeps at most UPLOAD_QUOTA_FILES / _MB of pending files (429 beyond it), and
    UPLOAD_RATE_LIMIT (app.ratelimits) bounds how fast one person uploads."""
    user = api_user()
    if not user.has_role(Role.REQUESTER, Role.AGENT, Role.ADMIN):
        raise PermissionDenied("Auditors cannot upload files.")
    quota = uploads.Quota(max_files=int(current_app.config["UPLOAD_QUOTA_FILES"]),
                          max_bytes=int(current_app.config["UPLOAD_QUOTA_MB"]) * 1024 * 1024)
    uploads.check_quota(db.session, user, quota, adding=request.content_length or 0)
    definition = _case_type(query.case_type)
    field_key = query.field
    stream = request.files.get("file")
    if stream is None:
        raise ValidationFailed("Send the file as multipart field 'file'.", {"file": ["No file was sent."]})
    spec = case_versions.spec_of(db.session, definition.latest_version)
    form_version = case_versions.pinned_form_version(db.session, spec.form.slug, spec.form.version)
    stored = submissions.store_upload(
        db.session, file_store(current_app), schema=submissions.form_schema(form_version), field_key=field_key,
        filename=stream.filename or "upload", stream=stream.stream, uploader=Uploader(api_user()))
    return stored.ref()


@bp.get("/cases")
@operation("List cases", query=CaseListQuery, response=Page[CaseOut])
def list_cases(query: CaseListQuery) -> Any:
    """Cases the caller may see, newest first; filters state, queue, assignee, case_type, q."""
    filters = queries.parse_filters(request.args)
    if "status" not in request.args:
        filters.open = None  # the API lists open and closed cases unless asked
    page, per_page = query.page, query.per_page
    result = queries.work_list(db.session, api_user(), filters, page=page, per_page=per_page)
    return {"items": [queries.case_json(c, hide_staff=_hides_staff(c)) for c in result.items],
            "total": result.total, "page": page, "per_page": per_page}


def _transitions(case: Any) -> list[dict[str, Any]]:
    return [{"key": t.key, "label": t.label, "to": t.target, "comment_required": t.comment_required,
             "required_fields": list(t.required_fields)}
            for t in lifecycle.allowed_transitions(db.session, case, api_user())]


def _hides_staff(case: Any) -> bool:
    """Requester-facing views never identify staff (DESIGN.md): only staff on the case and auditors see who."""
    return not access.sees_internal(db.session, api_user(), case)


def _detail(case: Any) -> dict[str, Any]:
    spec = case_versions.case_spec(db.session, case)
    return queries.case_json(
        case, hide_staff=_hides_staff(case), data=json.loads(case.data), state_label=spec.state(case.state).label,
        case_type_version=case.case_type_version.number, form_version=case.form_version.number,
        tags=case_versions.case_tags(case), transitions=_transitions(case),
        tasks_available=[{"key": i.key, "label": i.label, "requires_reason": i.reason_required}
                         for i in discretionary.tasks_available(db.session, case, api_user())],
        links=[{"kind": v.kind, "id": v.id, "ref": v.ref} for v in links.links_for(db.session, case, api_user())])


def case_etag(case: Any) -> int:
    """A case's ETag is its version (what If-Match names)."""
    return int(case.lock_version)


def detail_with_etag(case: Any) -> tuple[dict[str, Any], int, dict[str, str]]:
    """The case with its ETag; answers differ per caller, so caches key on Authorization."""
    return _detail(case), 200, {"ETag": f'"{case_etag(case)}"', "Vary": "Authorization"}


@bp.get("/cases/<int:case_id>")
@operation("Read a case", response=CaseDetail, etag=True)
def get_case(case_id: int) -> Any:
    """The case with its data and the transitions the caller may fire now. Its `ETag` is its version;
    `If-None-Match` with it answers 304 while the case is unchanged."""
    case = access.get_case_for(db.session, case_id, api_user())
    if request.if_none_match.contains(str(case_etag(case))):
        response = Response(status=304)
        response.set_etag(str(case_etag(case)))
        response.vary.add("Authorization")
        return response
    return detail_with_etag(case)


def _version() -> int | None:
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    version = parse_count(raw.strip().removeprefix("W/").strip('"'), high=MAX_ID)
    if version is None:
        raise InvalidQuery("If-Match must be the case's version number, like \"3\".",
                           {"If-Match": ["Expected a version number."]})
    return version


def _body_version(body: dict[str, Any]) -> int | None:
    value = body.get("version")
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID else None


@bp.post("/cases/<int:case_id>/claim")
@operation("Claim a case", response=CaseDetail, errors=(409,))
def claim(case_id: int) -> Any:
    """Agents of the case's queue take it; 409 when someone else holds it."""
    case = access.get_case_for(db.session, case_id, api_user())
    assignment.claim(db.session, case, api_user(), expected_version=_version())
    return _detail(case)


@bp.post("/cases/<int:case_id>/transitions")
@idempotent
@operation("Fire a transition", body=TransitionBody, response=CaseDetail, errors=(409,))
def fire_transition(case_id: int, body: TransitionBody) -> Any:
    """409 when the transition is not allowed now (with the reason); 422 on bad data, naming each field the
    caller may not write with this transition in this state."""
    case = access.get_case_for(db.session, case_id, api_user())
    lifecycle.transition(db.session, case, body.transition, api_user(), comment=body.comment,
                         data=body.data or {}, expected_version=body.version)
    return _detail(case)


@bp.get("/cases/<int:case_id>/events")
@operation("Read a case's audit events", response=Items[EventOut])
def events(case_id: int) -> Any:
    """The case's audit events in order. Requesters get the public ones; staff and auditors all of them."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    rows = readable(db.session, audit.events(db.session, case.stream))
    if not access.sees_internal(db.session, user, case):
        return {"items": timeline.public_events(rows, case.requester.email if case.requester else "")}
    return {"items": [audit.event_json(e) for e in rows]}


@bp.get("/audit/verify")
@operation("Verify the audit chains", query=VerifyQuery, response=VerifyOut)
def verify(query: VerifyQuery) -> Any:
    """Auditors and admins recompute every chain (or one stream) and get the first broken event."""
    user = api_user()
    if not user.has_role(Role.AUDITOR, Role.ADMIN):
        raise PermissionDenied("Only auditors and admins verify the audit chain.")
    stream = query.stream or None
    result = audit.verify(db.session, stream)
    # The chains, then every signed checkpoint against them (a consistently rewritten chain fails only there).
    problems = result.broken or checkpoint_verify.verify(db.session, public_key(), stream=stream).broken or []
    if stream is not None and result.streams == 0 and not problems:
        raise NotFound(f"There is no audit stream named {stream[:80]!r}.")
    body: dict[str, Any] = {"ok": not problems, "checked": result.checked, "streams": result.streams}
    if problems:
        broken = problems[0]
        body["first_broken"] = {"stream": broken.stream, "seq": broken.seq, "reason": broken.reason}
    return body
