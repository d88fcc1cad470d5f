"""Logging in and out, self-registration, and the user's own profile and API tokens."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from app.auth import current_user, home_url, log_in, log_out, login_required, safe_next
from app.extensions import db
from app.htmx import render, see_other
from app.webforms import LoginForm, PasswordChangeForm, ProfileForm, RegisterForm, TokenForm, apply_errors
from cases import accounts
from cases.errors import AuthenticationFailed, ValidationFailed

bp = Blueprint("auth", __name__)

REGISTERED_ELSEWHERE = ("Thank you. If this e-mail address can be used for a new account, you are logged in "
                        "now; if not, we have sent a message to it that explains what to do.")


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
    if not accounts.registration_open(db.session):
        return render("auth/register_closed.html", status=403)
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts.register_requester(
                db.session, email=form.email.data or "", name=form.name.data or "",
                password=form.password.data or "",
            )
        except ValidationFailed as exc:
            apply_errors(form, exc.fields)
        else:
            if user is None:  # the address has an account: its owner was e-mailed; say nothing more here
                flash(REGISTERED_ELSEWHERE, "info")
                return see_other(url_for("auth.login"))
            log_in(user)
            flash("Welcome to Casework. Your account is ready.", "success")
            return see_other(home_url(user))
    status = 422 if form.errors else 200
    return render("auth/register.html", form=form, status=status)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        accounts.update_profile(db.session, user, name=form.name.data or "")
        flash("Your profile is saved.", "success")
        return see_other(url_for("auth.profile"))
    return _profile_page(profile_form=form, status=422 if form.errors else 200)


@bp.post("/profile/password")
@login_required
def change_password() -> ResponseReturnValue:
    user = current_user()
    assert user is not None
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
    user = current_user()
    assert user is not None
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
    user = current_user()
    assert user is not None
    accounts.revoke_api_token(db.session, token_id, actor=user)
    return _tokens(token_form=TokenForm(formdata=None))


def _tokens(*, token_form: TokenForm, new_token: str | None = None, status: int = 200) -> ResponseReturnValue:
    return _profile_page(token_form=token_form, new_token=new_token, status=status, partial="auth/_tokens.html")


def _profile_page(*, profile_form: ProfileForm | None = None, password_form: PasswordChangeForm | None = None,
                  token_form: TokenForm | None = None, new_token: str | None = None, status: int = 200,
                  partial: str | None = None) -> ResponseReturnValue:
    """The profile page (or one of its partials) with fresh forms where none are given."""
    user = current_user()
    assert user is not None
    return render(
        "auth/profile.html", partial, status=status,
        profile_form=profile_form or ProfileForm(obj=user, formdata=None),
        password_form=password_form or PasswordChangeForm(formdata=None),
        token_form=token_form or TokenForm(formdata=None), new_token=new_token,
        tokens=accounts.list_api_tokens(db.session, user),
        queues=accounts.queues_of(db.session, user),
    )
