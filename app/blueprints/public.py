"""Public request forms (no account needed when a case type is public) and private tracking links."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, abort, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from app.auth import current_user
from app.blueprints.portal import _fileable_case_type, case_type_wizard, wizard_page
from app.extensions import db
from app.filing import HONEYPOT, WizardPage
from app.htmx import render, see_other
from case_types.errors import Conflict, ValidationFailed
from cases import audit, case_versions, form_tokens, lifecycle
from cases.models import FormToken
from cases.privacy.values import readable
from cases.read import timeline
from cases.submissions import Uploader

bp = Blueprint("public", __name__)
VISITOR_KEY = "visitor"


def _uploader() -> Uploader:
    """A logged-in requester files as themselves; a visitor by a random key kept in their session."""
    user = current_user()
    if user is not None:
        return Uploader(user)
    if VISITOR_KEY not in session:
        session[VISITOR_KEY] = secrets.token_urlsafe(24)
    return Uploader(None, session_key=session[VISITOR_KEY])


@bp.route("/request/<slug>", methods=["GET", "POST"])
def request_form(slug: str) -> ResponseReturnValue:
    """A public case type's form. Bots that fill the hidden honeypot field are refused."""
    user = current_user()
    case_type = _fileable_case_type(slug, None)
    uploader = _uploader()
    wizard = case_type_wizard(case_type, uploader)
    action = url_for("public.request_form", slug=slug)
    if request.method == "GET":
        return wizard_page(wizard.start(), title=case_type.title, action=action, public=True)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if request.form.get(HONEYPOT):
        raise ValidationFailed("This request looks automated and was not filed.")

    def complete(answers: dict[str, Any], file_ids: dict[str, list[int]]) -> ResponseReturnValue:
        email = answers.get("email", "") if isinstance(answers.get("email"), str) else ""
        if user is not None and user.has_role("requester"):
            case = form_tokens.run_once(db.session, wizard.token, user, lambda: lifecycle.file_case(
                db.session, case_type, answers, uploader=uploader, file_ids=file_ids))
            case_id = case.case_id if isinstance(case, FormToken) else case.id
            return see_other(url_for("portal.case", case_id=case_id, filed=1))
        filed = form_tokens.run_once(db.session, wizard.token, None, lambda: lifecycle.file_case_anonymously(
            db.session, case_type, answers, uploader=uploader, file_ids=file_ids, contact_email=email))
        if isinstance(filed, FormToken):  # the tracking link is shown once, to the first post only
            raise Conflict("This request was already received. Use the tracking link shown after sending it "
                           "(it was also sent by e-mail).")
        return see_other(url_for("public.track", token=filed[1], filed=1))

    result = wizard.step(complete)
    if isinstance(result, WizardPage):
        return wizard_page(result, title=case_type.title, action=action, public=True)
    return result


@bp.get("/track/<token>")
def track(token: str) -> ResponseReturnValue:
    """The requester's private view of their case: state and public timeline."""
    case = lifecycle.case_by_tracking_token(db.session, token)
    spec = case_versions.case_spec(db.session, case)
    entries = timeline.build(readable(db.session, audit.events(db.session, case.stream)), spec, public=True,
                             requester_email=case.contact_email, schema=case_versions.case_schema(case))
    response = render("public/track.html", case=case, spec=spec, entries=entries,
                      state_label=spec.state(case.state).label, just_filed=request.args.get("filed") == "1",
                      track_url=url_for("public.track", token=token, _external=True))
    # The token is the credential: never leak it to other sites or caches.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response

