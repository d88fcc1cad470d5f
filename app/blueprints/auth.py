"""Logging in and out, self-registration, and the user's own profile and API tokens."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from app.auth import current_user, home_url, log_in, log_out, login_required, safe_next, signed_in_user
from app.extensions import db
from app.htmx import render, see_other
from app.webforms import (
    ConfirmForm,
    LoginForm,
    PasswordChangeForm,
    ProfileForm,
    RegisterForm,
    TokenForm,
    apply_errors,
)
from case_types.errors import NotFound, ValidationFailed
from cases import accounts, registration
from cases.errors import AuthenticationFailed

bp = Blueprint("auth", __name__)

@bp.get("/")
def root() -> ResponseReturnValue:
    user = current_user()
    return redirect(home_url(user) if user else url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(db.session, form.email.data or "", form.password.data or "")
        except AuthenticationFailed as exc:
            error = exc.message
        else:
            log_in(user)
            return see_other(safe_next(request.args.get("next")) or home_url(user))
    elif request.method == "POST":
        error = "Enter your e-mail address and password."
    status = 401 if error else 200
    return render("auth/login.html", form=form, error=error,
                  registration_open=accounts.registration_open(db.session), status=status)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    log_out()
    flash("You have logged out.", "info")
    return see_other(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
    """Every accepted registration gets the same answer; what happens next arrives by e-mail."""
    if not accounts.registration_open(db.session):
        return render("auth/register_closed.html", status=403)
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            registration.request_registration(
                db.session, email=form.email.data or "", name=form.name.data or "",
                password=form.password.data or "",
                link_for=lambda token: url_for("auth.confirm_registration", token=token, _external=True),
            )
        except ValidationFailed as exc:
            apply_errors(form, exc.fields)
        else:
            return see_other(url_for("auth.registration_sent"))
    status = 422 if form.errors else 200
    return render("auth/register.html", form=form, status=status)


@bp.get("/register/sent")
def registration_sent() -> ResponseReturnValue:
    return render("auth/register_sent.html")


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
def confirm_registration(token: str) -> ResponseReturnValue:
    """The e-mailed link: a page with one button (mail scanners that open links spend nothing), whose
    post creates the account and logs its owner in."""
    form = ConfirmForm()
    try:
        if not form.validate_on_submit():
            pending = registration.pending_registration(db.session, token)
            return render("auth/register_confirm.html", form=form, name=pending.name, email=pending.email)
        user = registration.confirm_registration(db.session, token)
    except NotFound as exc:
        return render("auth/register_invalid.html", message=exc.message, status=404)
    log_in(user)
    flash("Welcome to Casework. Your account is ready.", "success")
    return see_other(home_url(user))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> ResponseReturnValue:
    user = signed_in_user()
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        accounts.update_profile(db.session, user, name=form.name.data or "")
        flash("Your profile is saved.", "success")
        return see_other(url_for("auth.profile"))
    return _profile_page(profile_form=form, status=422 if form.errors else 200)


@bp.post("/profile/password")
@login_required
def change_password() -> ResponseReturnValue:
    user = signed_in_user()
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(db.session, user, current=form.current_password.data or "",
                                     new=form.new_password.data or "", keep_session_token=session.get("sid"))
        except ValidationFailed as exc:
            apply_errors(form, exc.fields)
        else:
            flash("Your password is changed. Your other sessions have been logged out.", "success")
            return see_other(url_for("auth.profile"))
    return _profile_page(password_form=form, status=422)


@bp.post("/profile/tokens")
@login_required
def create_token() -> ResponseReturnValue:
    user = signed_in_user()
    form = TokenForm()
    new_token = None
    status = 422
    if form.validate_on_submit():
        try:
            _row, new_token = accounts.create_api_token(db.session, user, name=form.name.data or "")
            form = TokenForm(formdata=None)
            status = 201
        except ValidationFailed as exc:
            apply_errors(form, exc.fields)
    return _tokens(token_form=form, new_token=new_token, status=status)


@bp.post("/profile/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    user = signed_in_user()
    accounts.revoke_api_token(db.session, token_id, actor=user)
    return _tokens(token_form=TokenForm(formdata=None))


def _tokens(*, token_form: TokenForm, new_token: str | None = None, status: int = 200) -> ResponseReturnValue:
    return _profile_page(token_form=token_form, new_token=new_token, status=status, partial="auth/_tokens.html")


def _profile_page(*, profile_form: ProfileForm | None = None, password_form: PasswordChangeForm | None = None,
                  token_form: TokenForm | None = None, new_token: str | None = None, status: int = 200,
                  partial: str | None = None) -> ResponseReturnValue:
    """The profile page (or one of its partials) with fresh forms where none are given."""
    user = signed_in_user()
    return render(
        "auth/profile.html", partial, status=status,
        profile_form=profile_form or ProfileForm(obj=user, formdata=None),
        password_form=password_form or PasswordChangeForm(formdata=None),
        token_form=token_form or TokenForm(formdata=None), new_token=new_token,
        tokens=accounts.list_api_tokens(db.session, user),
        queues=accounts.queues_of(db.session, user),
    )
