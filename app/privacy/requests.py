"""Erasure request pages: the list, recording one, reviewing what it touches, erasing, the completion record."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import EmailField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.extensions import db
from app.htmx import render, see_other
from app.privacy.blueprint import admin, bp
from app.uploads import document_store, file_store
from app.webforms import apply_errors
from case_types.errors import ValidationFailed
from cases.clock import utcnow
from cases.privacy import erasure, erasure_requests
from cases.privacy.erasure_requests import MAX_NOTE


class RequestForm(FlaskForm):
    email = EmailField("E-mail address of the person", validators=[DataRequired("Enter an e-mail address."),
                                                                   Length(max=254)])
    note = TextAreaField("Note", validators=[Optional(), Length(max=MAX_NOTE)],
                         description="How the request arrived and how the person was identified.")


def _list(form: RequestForm | None = None, status: int = 200) -> ResponseReturnValue:
    return render("privacy/requests.html", form=form or RequestForm(formdata=None),
                  requests=erasure_requests.list_requests(db.session), status=status)


@bp.get("/requests")
def request_list() -> ResponseReturnValue:
    return _list()


@bp.post("/requests")
def request_record() -> ResponseReturnValue:
    form = RequestForm()
    if not form.validate_on_submit():
        return _list(form, status=422)
    try:
        recorded = erasure_requests.record_request(db.session, form.email.data or "", note=form.note.data or "",
                                                   actor=admin())
    except ValidationFailed as exc:
        db.session.rollback()
        leftover = apply_errors(form, exc.fields, fallback=exc.message)
        form.email.errors = [*form.email.errors, *leftover]  # type: ignore[misc]
        return _list(form, status=422)
    flash("Erasure request recorded. Review what it touches, then erase.", "success")
    return see_other(url_for("privacy.request_detail", request_id=recorded.id))


@bp.get("/requests/<int:request_id>")
def request_detail(request_id: int) -> ResponseReturnValue:
    found = erasure_requests.get_request(db.session, request_id)
    return render("privacy/request.html", req=found, review=erasure_requests.review(db.session, found, now=utcnow()),
                  form=FlaskForm())


@bp.post("/requests/<int:request_id>/erase")
def request_erase(request_id: int) -> ResponseReturnValue:
    if not FlaskForm().validate_on_submit():
        abort(400)
    found = erasure_requests.get_request(db.session, request_id)
    if found.done:
        return see_other(url_for("privacy.request_detail", request_id=found.id))
    record = erasure.erase_person(db.session, found.email, admin(), reason=f"Erasure request #{found.id}",
                                  files=file_store(current_app), documents=document_store(current_app))
    erasure_requests.complete(db.session, found, record.as_json(), actor=admin())
    flash(f"Erased {len(record.cases)} case(s); {len(record.held)} kept with the reason shown in the record.",
          "success")
    return see_other(url_for("privacy.request_detail", request_id=found.id))


@bp.get("/requests/<int:request_id>/record.json")
def request_record_download(request_id: int) -> ResponseReturnValue:
    found = erasure_requests.get_request(db.session, request_id)
    if not found.done or found.record is None:
        abort(404)
    return Response(found.record, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="erasure-request-{found.id}.json"'})


