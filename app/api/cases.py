"""API: case types, filing, reading and working cases, their audit events, chain verification."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from app.api.base import api_user, bp, json_body, page_args
from app.api.idempotency import idempotent
from app.extensions import db
from app.uploads import file_store
from cases import access, audit, casetypes, definitions, lifecycle, queries, submissions, timeline
from cases.errors import NotFound, PermissionDenied, ValidationFailed
from cases.models import Role
from cases.submissions import Uploader
from forms.schema import dump_definition


def _case_type(slug: str) -> Any:
    definition = definitions.find_definition(db.session, "case_type", slug)
    if definition is None or definition.latest_version is None:
        raise NotFound("No such case type.")
    return definition


def _case_type_json(definition: Any, *, with_form: bool = False) -> dict[str, Any]:
    version = definition.latest_version
    spec = casetypes.spec_of(db.session, version)
    body: dict[str, Any] = {
        "slug": definition.slug, "name": spec.name, "description": spec.description, "prefix": spec.prefix,
        "version": version.number, "form": spec.form.slug, "form_version": spec.form.version,
        "states": [{"key": s.key, "label": s.label, "kind": s.kind} for s in spec.states],
    }
    if with_form:
        form_version = casetypes.pinned_form_version(db.session, spec.form.slug, spec.form.version)
        body["form_schema"] = dump_definition(submissions.form_schema(form_version))
    return body


@bp.get("/case-types")
def case_types() -> ResponseReturnValue:
    """Published case types the caller may file."""
    items = [_case_type_json(d) for d, _v in casetypes.fileable_case_types(db.session, api_user())]
    return jsonify(items=items, total=len(items))


@bp.get("/case-types/<slug>")
def case_type(slug: str) -> ResponseReturnValue:
    user = api_user()
    definition = _case_type(slug)
    fileable = any(d.id == definition.id for d, _v in casetypes.fileable_case_types(db.session, user))
    if not fileable and not user.has_role(Role.ADMIN, Role.AGENT, Role.AUDITOR):
        raise NotFound("No such case type.")
    return jsonify(_case_type_json(definition, with_form=True))


@bp.post("/case-types/<slug>/cases")
@idempotent
def file_case(slug: str) -> ResponseReturnValue:
    """File a case; file fields take the ids returned by POST /uploads."""
    body = json_body()
    data = body.get("data")
    if not isinstance(data, dict):
        raise ValidationFailed("Send the answers as an object under 'data'.", {"data": ["Expected an object."]})
    definition = _case_type(slug)
    spec = casetypes.spec_of(db.session, definition.latest_version)
    file_ids: dict[str, list[int]] = {}
    for key, family in spec.form.families.items():
        if family == "file" and key in data:
            ids = data.pop(key)
            if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
                raise ValidationFailed("File fields take a list of upload ids.", {key: ["Expected upload ids."]})
            file_ids[key] = ids
    case = lifecycle.file_case(db.session, definition, data, uploader=Uploader(api_user()), file_ids=file_ids)
    response = jsonify(queries.case_json(case))
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/cases/{case.id}"
    return response


@bp.post("/uploads")
def upload() -> ResponseReturnValue:
    """Store one file for a file field of a case type's form: ?case_type=slug&field=key, multipart 'file'."""
    definition = _case_type(request.args.get("case_type", ""))
    field_key = request.args.get("field", "")
    stream = request.files.get("file")
    if stream is None:
        raise ValidationFailed("Send the file as multipart field 'file'.", {"file": ["No file was sent."]})
    spec = casetypes.spec_of(db.session, definition.latest_version)
    form_version = casetypes.pinned_form_version(db.session, spec.form.slug, spec.form.version)
    stored = submissions.store_upload(
        db.session, file_store(current_app), schema=submissions.form_schema(form_version), field_key=field_key,
        filename=stream.filename or "upload", stream=stream.stream, uploader=Uploader(api_user()))
    response = jsonify(stored.ref())
    response.status_code = 201
    return response


@bp.get("/cases")
def list_cases() -> ResponseReturnValue:
    """Cases the caller may see, newest first; filters state, queue, assignee, case_type, q."""
    filters = queries.parse_filters(request.args)
    if "status" not in request.args:
        filters.open = None  # the API lists open and closed cases unless asked
    page, per_page = page_args()
    result = queries.work_list(db.session, api_user(), filters, page=page, per_page=per_page)
    return jsonify(items=[queries.case_json(c) for c in result.items], total=result.total, page=page,
                   per_page=per_page)


def _transitions(case: Any) -> list[dict[str, Any]]:
    return [{"key": t.key, "label": t.label, "to": t.target, "comment_required": t.comment_required,
             "required_fields": list(t.required_fields)}
            for t in lifecycle.allowed_transitions(db.session, case, api_user())]


def _detail(case: Any) -> dict[str, Any]:
    spec = casetypes.case_spec(db.session, case)
    return queries.case_json(
        case, data=json.loads(case.data), state_label=spec.state(case.state).label,
        case_type_version=case.case_type_version.number, form_version=case.form_version.number,
        tags=casetypes.case_tags(case), transitions=_transitions(case))


def case_response(case: Any, status: int = 200) -> Response:
    """The case with its ETag (its version); responses differ per caller, so caches key on Authorization."""
    response = jsonify(_detail(case))
    response.status_code = status
    response.set_etag(str(case.lock_version))
    response.vary.add("Authorization")
    return response


@bp.get("/cases/<int:case_id>")
def get_case(case_id: int) -> ResponseReturnValue:
    """The case; `If-None-Match` with its ETag answers 304 while the case is unchanged."""
    return case_response(access.get_case_for(db.session, case_id, api_user())).make_conditional(request)


def _version() -> int | None:
    raw = request.headers.get("If-Match", "").strip('"')
    return int(raw) if raw.isdigit() else None


@bp.post("/cases/<int:case_id>/claim")
def claim(case_id: int) -> ResponseReturnValue:
    case = access.get_case_for(db.session, case_id, api_user())
    lifecycle.claim(db.session, case, api_user(), expected_version=_version())
    return jsonify(_detail(case))


@bp.post("/cases/<int:case_id>/transitions")
@idempotent
def fire_transition(case_id: int) -> ResponseReturnValue:
    body = json_body()
    case = access.get_case_for(db.session, case_id, api_user())
    key, comment, data = body.get("transition"), body.get("comment", ""), body.get("data") or {}
    if not isinstance(key, str) or not isinstance(comment, str) or not isinstance(data, dict):
        raise ValidationFailed("Send 'transition' (text), optional 'comment' (text) and 'data' (object).",
                               {"transition": ["Expected the key of a transition."]})
    lifecycle.transition(db.session, case, key, api_user(), comment=comment, data=data,
                         expected_version=body.get("version") if isinstance(body.get("version"), int) else None)
    return jsonify(_detail(case))


@bp.get("/cases/<int:case_id>/events")
def events(case_id: int) -> ResponseReturnValue:
    """The case's audit events in order. Requesters get the public ones; staff and auditors all of them."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    rows = audit.events(db.session, case.stream)
    if not access.sees_internal(db.session, user, case):
        rows = [e for e in rows if e.kind in timeline.PUBLIC_KINDS and '"internal":true' not in e.payload]
    return jsonify(items=[audit.event_json(e) for e in rows])


@bp.get("/audit/verify")
def verify() -> ResponseReturnValue:
    user = api_user()
    if not user.has_role(Role.AUDITOR, Role.ADMIN):
        raise PermissionDenied("Only auditors and admins verify the audit chain.")
    result = audit.verify(db.session, request.args.get("stream") or None)
    body: dict[str, Any] = {"ok": result.ok, "checked": result.checked, "streams": result.streams}
    if result.first_broken:
        broken = result.first_broken
        body["first_broken"] = {"stream": broken.stream, "seq": broken.seq, "reason": broken.reason}
    return jsonify(body)
