"""Documents of cases for everyone allowed to see them: download, the section's refresh, drafts, retries.

Row-level checks live in cases.documents (a document is visible with its case; requesters only get their
finished, non-internal ones). Every download is an audit event of the case.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from app.auth import check_roles, require_roles, signed_in_user
from app.case_pages import error_status
from app.documents.pages import document_section, send_document
from app.extensions import db
from app.htmx import is_htmx, see_other
from case_types.errors import CasesError
from cases import access, documents
from cases.models import Case, Role, User

bp = Blueprint("documents", __name__, url_prefix="/documents")
require_roles(bp)


def _me() -> User:
    user = signed_in_user()
    return user


def _section(case: Case, status: int = 200, problem: str = "") -> ResponseReturnValue:
    section = document_section(db.session, case, _me())
    return render_template("cases/_documents.html", docs=section, form=FlaskForm(), docs_problem=problem), status


def _act(case: Case, action: Callable[[], object]) -> ResponseReturnValue:
    """Run one action; under htmx a refusal re-renders the section with the reason (nothing else is lost)."""
    try:
        action()
    except CasesError as exc:
        if not is_htmx():
            raise
        db.session.rollback()
        return _section(case, error_status(exc), exc.message)
    return _back(case)


def _back(case: Case) -> ResponseReturnValue:
    """After a change: the refreshed section for htmx, else back to the page the person came from."""
    if is_htmx():
        return _section(case)
    target = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else \
        url_for("auth.root")
    return see_other(target)


@bp.get("/<int:document_id>")
def download(document_id: int) -> ResponseReturnValue:
    """The PDF, always as an attachment; the download is recorded in the case's audit chain."""
    user = _me()
    document, case = documents.document_for(db.session, document_id, user)
    return send_document(db.session, document, case, user)


@bp.get("/cases/<int:case_id>")
def section(case_id: int) -> ResponseReturnValue:
    """The documents section of a case page (htmx refreshes it while documents are being made)."""
    return _section(access.get_case_for(db.session, case_id, _me()))


@bp.post("/cases/<int:case_id>/draft")
def draft(case_id: int) -> ResponseReturnValue:
    """Have a DRAFT dossier made of an open case (agents on the case, auditors, admins)."""
    if refused := check_roles(Role.AGENT, Role.AUDITOR, Role.ADMIN):
        return refused
    if not FlaskForm().validate_on_submit():
        abort(400)
    case = access.get_case_for(db.session, case_id, _me())
    return _act(case, lambda: documents.request_draft(db.session, case, _me()))


@bp.post("/<int:document_id>/retry")
def retry(document_id: int) -> ResponseReturnValue:
    """Admins send a failed document back to the renderer."""
    if refused := check_roles(Role.ADMIN):
        return refused
    if not FlaskForm().validate_on_submit():
        abort(400)
    document, case = documents.document_for(db.session, document_id, _me())
    return _act(case, lambda: documents.retry(db.session, document, _me()))
