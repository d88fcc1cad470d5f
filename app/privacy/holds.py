"""Legal hold pages: the holds in force and lifted, placing one (a case reference or a search), lifting one."""

from __future__ import annotations

from typing import Any

from flask import flash, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.extensions import db
from app.htmx import render, see_other
from app.privacy.blueprint import admin, bp
from app.webforms import apply_errors
from case_types.errors import NotFound, ValidationFailed
from cases import access, definitions
from cases.privacy import holds
from cases.privacy.holds import HoldSearch


class HoldForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[DataRequired("Enter a reason."), Length(max=holds.MAX_REASON)],
                           description="Shown on every case the hold covers and kept in the audit trail.")
    case_ref = StringField("One case", validators=[Optional(), Length(max=24)],
                           description="A case reference (CMP-000123). Leave empty to hold every case matching "
                                       "the search below.")
    case_type = SelectField("Case type", choices=[], default="", validate_choice=True)
    email = EmailField("Requester e-mail", validators=[Optional(), Length(max=254)])
    state = StringField("State", validators=[Optional(), Length(max=64)], description="A state key, e.g. closed.")
    filed_from = DateField("Filed from", validators=[Optional()])
    filed_to = DateField("Filed until", validators=[Optional()], description="Inclusive; dates in UTC.")


class LiftForm(FlaskForm):
    lift_reason = TextAreaField("Why lift it", validators=[DataRequired("Enter a reason."),
                                                           Length(max=holds.MAX_REASON)])


def _hold_form(formdata: Any = None) -> HoldForm:
    form = HoldForm(formdata=formdata)
    form.case_type.choices = [("", "Any case type")] + [
        (d.slug, d.title) for d in definitions.list_definitions(db.session, "case_type")]
    return form


def _page(form: HoldForm | None = None, status: int = 200) -> ResponseReturnValue:
    listed = holds.list_holds(db.session)
    return render("privacy/holds.html", form=form or _hold_form(), holds=listed, lift=LiftForm(formdata=None),
                  covered={h.id: holds.covered_count(db.session, h) for h in listed if h.active},
                  describe=holds.describe, status=status)


@bp.get("/holds")
def hold_list() -> ResponseReturnValue:
    return _page()


def _place(form: HoldForm) -> Any:
    reason = form.reason.data or ""
    if form.case_ref.data:
        try:
            case = access.find_case_for(db.session, form.case_ref.data, admin())
        except NotFound:
            raise ValidationFailed("No case has this reference.", {"case_ref": ["No such case."]}) from None
        return holds.place_hold(db.session, reason=reason, actor=admin(), case=case)
    search = HoldSearch(case_type=form.case_type.data or "", email=form.email.data or "", state=form.state.data or "",
                        filed_from=form.filed_from.data, filed_to=form.filed_to.data)
    return holds.place_hold(db.session, reason=reason, actor=admin(), search=search)


@bp.post("/holds")
def hold_place() -> ResponseReturnValue:
    form = _hold_form(formdata=request.form)
    if not form.validate_on_submit():
        return _page(form, status=422)
    try:
        hold = _place(form)
    except ValidationFailed as exc:
        db.session.rollback()
        leftover = apply_errors(form, exc.fields, fallback=exc.message)
        form.reason.errors = [*form.reason.errors, *leftover]  # type: ignore[misc]
        return _page(form, status=422)
    flash(f"Legal hold placed on {holds.describe(hold)}.", "success")
    return see_other(url_for("privacy.hold_list"))


@bp.post("/holds/<int:hold_id>/lift")
def hold_lift(hold_id: int) -> ResponseReturnValue:
    hold = holds.get_hold(db.session, hold_id)
    lift = LiftForm()
    if not lift.validate_on_submit():
        flash("Say why the hold is lifted.", "error")
        return see_other(url_for("privacy.hold_list"))
    holds.lift_hold(db.session, hold, reason=lift.lift_reason.data or "", actor=admin())
    flash(f"Legal hold on {holds.describe(hold)} lifted.", "success")
    return see_other(url_for("privacy.hold_list"))
