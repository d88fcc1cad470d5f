"""The auditor workspace: search every case, read its whole history, download its documents, export the
audit log (one case or a filtered set, CSV or JSON), verify the chains, read every definition's changes.

Auditors only read: nothing here changes a case or a definition (downloads and exports are reads; a
document download is recorded in the case's chain like any other; signing a checkpoint records the
chains' heads and changes no case). The one request an auditor may send that creates something is a DRAFT
dossier of an open case (app.blueprints.documents).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import Blueprint, Response, abort, current_app, redirect, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from app import case_pages
from app.api.proof import json_download, search_bundle
from app.auth import require_roles, signed_in_user
from app.checkpoints import make_checkpoint, public_key, signer
from app.documents.checks import request_check
from app.extensions import db
from app.htmx import is_htmx, render, see_other
from case_types.errors import NotFound
from cases import access, change_requests, checkpoints, definitions, document_checks, documents
from cases.clock import utcnow
from cases.errors import InvalidQuery
from cases.inputs import parse_count
from cases.models import Case, Checkpoint, Definition, Role, User
from cases.read import audit_trail, queries
from cases.read.states import state_names
from verifier.casework_verify import key_id

bp = Blueprint("audit", __name__, url_prefix="/audit")
require_roles(bp, Role.AUDITOR)

PER_PAGE = 25
CHECKPOINTS_SHOWN = 20
FORMATS = {"csv": "text/csv", "json": "application/json"}  # werkzeug adds "; charset=utf-8" to text types


def _me() -> User:
    user = signed_in_user()
    return user


def _filters() -> queries.CaseFilters:
    filters = queries.parse_filters(request.args)
    if not request.args.get("status"):
        filters.open = None  # auditors search open and closed cases alike unless they choose
    return filters


def _page_number() -> int:
    page = parse_count(request.args.get("page", "1"), low=1)
    if page is None:
        raise InvalidQuery("Invalid page.", {"page": ["Pages start at 1, written in digits 0-9."]})
    return page


@bp.get("/", endpoint="index")
def index() -> ResponseReturnValue:
    """Search every case: type, state, dates, requester, reference or text; paginated."""
    filters = _filters()
    result = queries.work_list(db.session, _me(), filters, page=_page_number(), per_page=PER_PAGE)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render("audit/index.html", filters=filters, result=result, args=args, states=state_names(db.session),
                  case_types=definitions.list_definitions(db.session, "case_type", include_archived=True))


def _case(case_id: int) -> Case:
    return access.get_case_for(db.session, case_id, _me())


@bp.get("/cases/<int:case_id>")
def case(case_id: int) -> ResponseReturnValue:
    """A case's data, documents and every event of its audit chain (actor, time, kind, changes, hashes)."""
    found = _case(case_id)
    return render("audit/case.html", page=case_pages.build(db.session, found, _me()),
                  history=audit_trail.case_history(db.session, found), form=FlaskForm())


def _export(chunks: Any, fmt: str, name: str) -> Response:
    response = Response(stream_with_context(chunks), mimetype=FORMATS[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _chunks(fmt: str, streams: list[str]) -> Any:
    if fmt == "csv":
        return audit_trail.export_csv(db.session, streams)
    return audit_trail.export_json(db.session, streams, exported_at=utcnow().astimezone(UTC).isoformat())


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise NotFound("Exports are CSV or JSON.")
    return fmt


@bp.get("/cases/<int:case_id>/export.<fmt>")
def export_case(case_id: int, fmt: str) -> ResponseReturnValue:
    """One case's audit events as CSV (formula-safe) or JSON."""
    found = _case(case_id)
    return _export(_chunks(_format(fmt), [found.stream]), fmt, f"audit-{found.ref}")


@bp.get("/export.<fmt>")
def export_cases(fmt: str) -> ResponseReturnValue:
    """The audit events of every case matching the search filters, as CSV or JSON."""
    _format(fmt)
    matching = queries.all_matching(db.session, _me(), _filters())
    return _export(_chunks(fmt, audit_trail.case_streams(case_id for case_id, _ref in matching)), fmt,
                   f"audit-{len(matching)}-cases")


@bp.get("/verify")
def verify() -> ResponseReturnValue:
    """Recompute the chains (all of them, or one case's) and name the first broken event."""
    ref = (request.args.get("case") or "").strip()
    report, scope, problem = None, "", ""
    if request.args.get("run") or ref:
        if ref:
            try:
                found = access.find_case_for(db.session, ref, _me())
            except NotFound:
                problem = f"No case has the reference {ref}."
            else:
                scope = found.ref
                report = audit_trail.verification_report(db.session, found.stream, public_key=public_key())
        else:
            scope = "all"
            report = audit_trail.verification_report(db.session, public_key=public_key())
    return render("audit/verify.html", report=report, scope=scope, ref=ref, problem=problem,
                  status=422 if problem else 200)


@bp.get("/definitions")
def definition_log() -> ResponseReturnValue:
    """Every form and case type with its audit stream (the change log of the definitions)."""
    return render("audit/definitions.html", logs=audit_trail.definition_logs(db.session),
                  settings=change_requests.settings_history(db.session))


@bp.get("/definitions/<int:definition_id>")
def definition(definition_id: int) -> ResponseReturnValue:
    """One definition's changes: every audit event with its readable diff, and its published versions."""
    found = db.session.get(Definition, definition_id)
    if found is None:
        raise NotFound("No such definition.")
    events, versions = audit_trail.definition_changes(db.session, found)
    return render("audit/definition.html", definition=found, events=events, versions=versions)


def _checked(document_id: int) -> tuple[Any, Case]:
    document, found = documents.document_for(db.session, document_id, _me())
    documents.downloadable(document)
    return document, found


def _check_page(document: Any, found: Case, status: int = 200) -> ResponseReturnValue:
    check = document_checks.check_view(document_checks.latest_check(db.session, document))
    return render("audit/document_check.html", "audit/_document_check.html", document=document, case=found,
                  check=check, toolchain=document_checks.describe(document.toolchain), form=FlaskForm(),
                  name=documents.display_kind(document), back=url_for(".case", case_id=found.id), status=status)


@bp.get("/documents/<int:document_id>/check")
def check_document(document_id: int) -> ResponseReturnValue:
    """A stored document's latest check (run in the background: this page only reads, and refreshes itself
    while a check runs)."""
    document, found = _checked(document_id)
    return _check_page(document, found)


@bp.post("/documents/<int:document_id>/check")
def run_check(document_id: int) -> ResponseReturnValue:
    """Queue a check of the stored document: its file, its signature, and a fresh rendering from the chain."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    document, found = _checked(document_id)
    request_check(document, _me(), current_app._get_current_object())  # type: ignore[attr-defined]
    if is_htmx():
        return _check_page(document, found)
    return see_other(url_for(".check_document", document_id=document.id))


# ---------------------------------------------------------------- checkpoints and proof bundles


@bp.get("/checkpoints")
def checkpoint_list() -> ResponseReturnValue:
    """The latest signed checkpoint, the public key that verifies it, and the recent ones to download."""
    recent = checkpoints.recent(db.session, limit=CHECKPOINTS_SHOWN)
    key = public_key()
    return render("audit/checkpoints.html", recent=[checkpoints.checkpoint_json(c) for c in recent],
                  public_key=key, key_id=key_id(key), form=FlaskForm(), made=request.args.get("made"))


@bp.post("/checkpoints")
def make_checkpoint_now() -> ResponseReturnValue:
    """Sign a checkpoint now (if anything changed): it records heads, it changes no case."""
    if not FlaskForm().validate_on_submit():
        raise InvalidQuery("The form expired; reload the page.", {"csrf_token": ["Reload the page."]})
    result = make_checkpoint()
    made = "new" if result.created else "unchanged"
    return redirect(url_for(".checkpoint_list", made=made), code=303)


@bp.get("/checkpoints/<int:checkpoint_id>.json")
def checkpoint_download(checkpoint_id: int) -> ResponseReturnValue:
    """A checkpoint with all its leaves: the file to keep for `casework audit verify-file --since`."""
    found = db.session.get(Checkpoint, checkpoint_id)
    if found is None:
        raise NotFound("No such checkpoint.")
    return json_download(checkpoints.checkpoint_file(db.session, found), f"checkpoint-{found.id}.json")


@bp.get("/cases/<int:case_id>/bundle.json")
def case_bundle(case_id: int) -> ResponseReturnValue:
    """One case's proof bundle for the offline verifier."""
    found = _case(case_id)
    return json_download(checkpoints.fresh_bundle(db.session, [found], signer()), f"bundle-{found.ref}.json")


@bp.get("/bundle.json")
def search_bundle_download() -> ResponseReturnValue:
    """One proof bundle of every case matching the search (complete, with every leaf, without filters)."""
    return search_bundle(_me(), _filters(), complete=not any(request.args.values()))
