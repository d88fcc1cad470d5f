"""Requesters: file requests through their forms, follow their cases, answer questions, add comments and files."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from app import case_pages
from app.auth import require_roles, signed_in_user
from app.extensions import db
from app.filing import Wizard, WizardPage
from app.htmx import render, see_other
from case_types.errors import NotFound
from cases import access, case_versions, conversation, definitions, form_tokens, lifecycle, submissions
from cases.models import Case, Definition, FormToken, Role, User
from cases.read import queries
from cases.read.states import state_names
from cases.submissions import Uploader
from forms.display import display_rows

bp = Blueprint("portal", __name__, url_prefix="/portal")
require_roles(bp, Role.REQUESTER)



def _me() -> User:
    user = signed_in_user()
    return user


@bp.get("/")
def index() -> ResponseReturnValue:
    user = _me()
    used = case_versions.forms_used_by_case_types(db.session)
    forms = [(f, v) for f, v in submissions.fileable_forms(db.session, user) if f.slug not in used]
    return render("portal/index.html", cases=queries.requester_cases(db.session, user),
                  case_types=case_versions.fileable_case_types(db.session, user), forms=forms,
                  filed=submissions.submissions_of(db.session, user), states=state_names(db.session))


def wizard_page(wiz: WizardPage, *, title: str, action: str, public: bool = False) -> ResponseReturnValue:
    return render("portal/file.html", wiz=wiz, title=title, action=action, public=public, status=wiz.status)


def case_type_wizard(case_type: Definition, uploader: Uploader) -> Wizard:
    spec = case_versions.spec_of(db.session, case_type.latest_version)
    form_version = case_versions.pinned_form_version(db.session, spec.form.slug, spec.form.version)
    return Wizard(submissions.form_schema(form_version), uploader)


def _fileable_case_type(slug: str, user: User | None) -> Definition:
    for definition, _version in case_versions.fileable_case_types(db.session, user):
        if definition.slug == slug:
            return definition
    raise NotFound("This request type is not open.")


@bp.route("/new/<slug>", methods=["GET", "POST"])
def new_case(slug: str) -> ResponseReturnValue:
    user = _me()
    case_type = _fileable_case_type(slug, user)
    wizard = case_type_wizard(case_type, Uploader(user))
    action = url_for("portal.new_case", slug=slug)
    if request.method == "GET":
        return wizard_page(wizard.start(), title=case_type.title, action=action)
    if not FlaskForm().validate_on_submit():
        abort(400)

    def complete(answers: dict[str, Any], file_ids: dict[str, list[int]]) -> ResponseReturnValue:
        case = form_tokens.run_once(db.session, wizard.token, user, lambda: lifecycle.file_case(
            db.session, case_type, answers, uploader=Uploader(user), file_ids=file_ids))
        if isinstance(case, FormToken):  # a repeated post: show what the first one filed
            return see_other(url_for("portal.case", case_id=case.case_id, filed=1))
        return see_other(url_for("portal.case", case_id=case.id, filed=1))

    result = wizard.step(complete)
    return wizard_page(result, title=case_type.title, action=action) if isinstance(result, WizardPage) else result


@bp.route("/forms/<slug>", methods=["GET", "POST"])
def new_submission(slug: str) -> ResponseReturnValue:
    user = _me()
    form_def = definitions.find_definition(db.session, "form", slug)
    if form_def is None:
        raise NotFound("No such form.")
    version = submissions.filing_version(db.session, form_def, user)
    wizard = Wizard(submissions.form_schema(version), Uploader(user))
    action = url_for("portal.new_submission", slug=slug)
    if request.method == "GET":
        return wizard_page(wizard.start(), title=form_def.title, action=action)
    if not FlaskForm().validate_on_submit():
        abort(400)

    def complete(answers: dict[str, Any], file_ids: dict[str, list[int]]) -> ResponseReturnValue:
        result = form_tokens.run_once(db.session, wizard.token, user, lambda: submissions.submit(
            db.session, form_def, answers, uploader=Uploader(user), file_ids=file_ids, version=version))
        if isinstance(result, FormToken):
            return see_other(url_for("portal.submission", submission_id=result.submission_id))
        return see_other(url_for("portal.submission", submission_id=result[0].id))

    result = wizard.step(complete)
    return wizard_page(result, title=form_def.title, action=action) if isinstance(result, WizardPage) else result


@bp.get("/submissions/<int:submission_id>")
def submission(submission_id: int) -> ResponseReturnValue:
    filed = submissions.get_submission_for(db.session, submission_id, _me())
    rows = display_rows(submissions.form_schema(filed.version), submissions.submission_data(filed))
    return render("portal/submission.html", submission=filed, rows=rows)


# ---------------------------------------------------------------- the requester's case page


def _case(case_id: int) -> Case:
    user = _me()
    case = access.get_case_for(db.session, case_id, user)
    if case.requester_id != user.id:
        raise NotFound("No such case.")
    return case


def _case_response(case: Case, *, problem: str | None = None, offer_reload: bool = False,
                   status: int = 200) -> ResponseReturnValue:
    page = case_pages.build(db.session, case, _me(), problem=problem, offer_reload=offer_reload)
    return render("portal/case.html", "portal/_case.html", page=page, form=FlaskForm(), status=status,
                  just_filed=request.args.get("filed") == "1")


@bp.get("/cases/<int:case_id>")
def case(case_id: int) -> ResponseReturnValue:
    return _case_response(_case(case_id))


def _act(case_id: int, action: Callable[[Case, User], Any]) -> ResponseReturnValue:
    return case_pages.act(lambda: _case(case_id), _me(), action, show=_case_response,
                          done_url=lambda c: url_for("portal.case", case_id=c.id))


@bp.post("/cases/<int:case_id>/answer")
def answer(case_id: int) -> ResponseReturnValue:
    return _act(case_id, lambda c, u: conversation.answer_information(db.session, c, u, request.form.get("answer", "")))


@bp.post("/cases/<int:case_id>/transitions/<key>")
def fire(case_id: int, key: str) -> ResponseReturnValue:
    """A step the case type lets the requester take (confirm a resolution, correct a purchase order...)."""
    return _act(case_id, lambda c, u: case_pages.fire_posted(c, u, key))


@bp.post("/cases/<int:case_id>/comments")
def comment(case_id: int) -> ResponseReturnValue:
    return _act(case_id, lambda c, u: conversation.add_comment(db.session, c, u, request.form.get("body", "")))


@bp.post("/cases/<int:case_id>/reopen")
def reopen(case_id: int) -> ResponseReturnValue:
    return _act(case_id, lambda c, u: lifecycle.reopen(db.session, c, u, reason=request.form.get("reason", "")))


@bp.post("/cases/<int:case_id>/files")
def attach(case_id: int) -> ResponseReturnValue:
    return _act(case_id, case_pages.attach_upload)
