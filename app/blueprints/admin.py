"""Admin pages: users and roles, queues and their members, site settings, tokens for integrations."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, url_for
from flask.typing import ResponseReturnValue

from app.auth import require_roles, signed_in_user
from app.extensions import db
from app.htmx import render, see_other
from app.webforms import (
    ConfirmForm,
    MemberForm,
    PasswordResetForm,
    QueueEditForm,
    QueueForm,
    SettingsForm,
    TokenForm,
    UserCreateForm,
    UserEditForm,
    apply_errors,
)
from case_types.errors import Conflict, ValidationFailed
from case_types.workflow_editing import suggest_slug
from cases import accounts, change_requests, notifications
from cases import outbox as mail_outbox
from cases.models import Role, User

bp = Blueprint("admin", __name__, url_prefix="/admin")
require_roles(bp, Role.ADMIN)



@bp.get("/users")
def users() -> ResponseReturnValue:
    return render("admin/users.html", users=accounts.list_users(db.session))


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> ResponseReturnValue:
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(db.session, email=form.email.data or "", name=form.name.data or "",
                                        password=form.password.data or "", roles=form.roles.data or [])
        except ValidationFailed as exc:
            apply_errors(form, exc.fields)
        else:
            flash(f"User {user.email} created.", "success")
            return see_other(url_for("admin.edit_user", user_id=user.id))
    return render("admin/user_new.html", form=form, status=422 if form.errors else 200)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int) -> ResponseReturnValue:
    user = accounts.get_user(db.session, user_id)
    form = UserEditForm(obj=user, data={"roles": sorted(user.roles)})
    problem = None
    if form.validate_on_submit():
        try:
            accounts.update_profile(db.session, user, name=form.name.data or "")
            accounts.set_roles(db.session, user, form.roles.data or [], actor=signed_in_user())
            accounts.set_active(db.session, user, bool(form.active.data), actor=signed_in_user())
            accounts.set_absent(db.session, user, bool(form.absent.data))
        except ValidationFailed as exc:
            problem = " ".join(apply_errors(form, exc.fields, fallback=exc.message)) or None
        except Conflict as exc:
            problem = exc.message
        else:
            flash("Changes saved.", "success")
            return see_other(url_for("admin.edit_user", user_id=user.id))
    return _user_page(user, form=form, problem=problem, status=422 if (form.errors or problem) else 200)


@bp.post("/users/<int:user_id>/password")
def reset_password(user_id: int) -> ResponseReturnValue:
    user = accounts.get_user(db.session, user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            accounts.set_password(db.session, user, form.password.data or "")
        except ValidationFailed as exc:
            apply_errors(form, exc.fields)
        else:
            flash("Password reset; the user's sessions have ended.", "success")
            return see_other(url_for("admin.edit_user", user_id=user.id))
    return _user_page(user, password_form=form, status=422)


@bp.post("/users/<int:user_id>/tokens")
def create_user_token(user_id: int) -> ResponseReturnValue:
    user = accounts.get_user(db.session, user_id)
    form = TokenForm()
    new_token = None
    problem = None
    if form.validate_on_submit():
        try:
            _row, new_token = accounts.create_api_token(db.session, user, name=form.name.data or "",
                                                         created_by=signed_in_user())
        except ValidationFailed as exc:
            apply_errors(form, exc.fields)
        except Conflict as exc:
            problem = exc.message
    status = 201 if new_token else 422
    return _user_page(user, token_form=form if not new_token else None, new_token=new_token,
                      problem=problem, status=status)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> ResponseReturnValue:
    row = accounts.revoke_api_token(db.session, token_id, actor=signed_in_user())
    flash(f"Token “{row.name}” revoked.", "success")
    return see_other(url_for("admin.edit_user", user_id=row.user_id))


def _user_page(user: User, *, form: UserEditForm | None = None, password_form: PasswordResetForm | None = None,
               token_form: TokenForm | None = None, new_token: str | None = None, problem: str | None = None,
               status: int = 200) -> ResponseReturnValue:
    return render(
        "admin/user_edit.html", status=status, user=user, problem=problem,
        form=form or UserEditForm(obj=user, data={"roles": sorted(user.roles)}, formdata=None),
        password_form=password_form or PasswordResetForm(formdata=None),
        token_form=token_form or TokenForm(formdata=None), new_token=new_token,
        tokens=accounts.list_api_tokens(db.session, user), revoke_form=ConfirmForm(),
        queues=accounts.queues_of(db.session, user),
    )


@bp.get("/queues")
def queues() -> ResponseReturnValue:
    return render("admin/queues.html", queues=accounts.list_queues(db.session))


@bp.route("/queues/new", methods=["GET", "POST"])
def new_queue() -> ResponseReturnValue:
    form = QueueForm()
    if form.validate_on_submit():
        try:
            queue = accounts.create_queue(db.session, slug=(form.slug.data or "").strip() or
                                          suggest_slug(form.name.data or ""), name=form.name.data or "",
                                          description=form.description.data or "")
        except ValidationFailed as exc:
            apply_errors(form, exc.fields)
        else:
            flash(f"Queue “{queue.name}” created. Add its members below.", "success")
            return see_other(url_for("admin.edit_queue", queue_id=queue.id))
    return render("admin/queue_new.html", form=form, status=422 if form.errors else 200)


@bp.route("/queues/<int:queue_id>", methods=["GET", "POST"])
def edit_queue(queue_id: int) -> ResponseReturnValue:
    queue = accounts.get_queue(db.session, queue_id)
    form = QueueEditForm(obj=queue)
    if form.validate_on_submit():
        try:
            accounts.update_queue(db.session, queue, name=form.name.data or "",
                                  description=form.description.data or "", active=bool(form.active.data))
        except ValidationFailed as exc:
            apply_errors(form, exc.fields)
        else:
            flash("Queue saved.", "success")
            return see_other(url_for("admin.edit_queue", queue_id=queue.id))
    return _queue_page(queue, form=form, status=422 if form.errors else 200)


@bp.post("/queues/<int:queue_id>/members")
def add_member(queue_id: int) -> ResponseReturnValue:
    queue = accounts.get_queue(db.session, queue_id)
    form = MemberForm()
    status = 422
    if form.validate_on_submit():
        user = accounts.find_user(db.session, form.email.data or "")
        if user is None:
            form.email.errors = ["No user has this e-mail address."]
        else:
            try:
                accounts.add_queue_member(db.session, queue, user)
            except ValidationFailed as exc:
                form.email.errors = [m for ms in exc.fields.values() for m in ms] or [exc.message]
            else:
                form, status = MemberForm(formdata=None), 200
    return _queue_page(queue, member_form=form, status=status, partial="admin/_members.html")


@bp.post("/queues/<int:queue_id>/members/<int:user_id>/remove")
def remove_member(queue_id: int, user_id: int) -> ResponseReturnValue:
    queue = accounts.get_queue(db.session, queue_id)
    accounts.remove_queue_member(db.session, queue, accounts.get_user(db.session, user_id))
    return _queue_page(queue, partial="admin/_members.html")


def _queue_page(queue: object, *, form: QueueEditForm | None = None, member_form: MemberForm | None = None,
                status: int = 200, partial: str | None = None) -> ResponseReturnValue:
    return render(
        "admin/queue_edit.html", partial, status=status, queue=queue,
        form=form or QueueEditForm(obj=queue, formdata=None),
        member_form=member_form or MemberForm(formdata=None), remove_form=ConfirmForm(),
        agents=accounts.users_with_role(db.session, Role.AGENT),
    )


REVIEW = change_requests.REVIEW_SETTING


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> ResponseReturnValue:
    form = SettingsForm(data={"registration_open": accounts.registration_open(db.session),
                              "review_required": accounts.get_setting(db.session, REVIEW) == "true"})
    if form.validate_on_submit():
        accounts.set_setting(db.session, "registration_open", "true" if form.registration_open.data else "false")
        change_requests.set_instance_review_required(db.session, bool(form.review_required.data),
                                                     actor=signed_in_user())
        flash("Settings saved.", "success")
        return see_other(url_for("admin.settings"))
    return render("admin/settings.html", form=form)


@bp.get("/outbox")
def outbox() -> ResponseReturnValue:
    """The e-mails Casework sent or would send (all of them stay here when no SMTP server is set)."""
    return render("admin/outbox.html", messages=notifications.recent(db.session),
                  backlog=mail_outbox.backlog(db.session), smtp=bool(current_app.config.get("SMTP_URL")),
                  body_for_admins=notifications.body_for_admins, form=ConfirmForm())


@bp.post("/outbox/<int:message_id>/retry")
def retry_message(message_id: int) -> ResponseReturnValue:
    """Send a message that failed for good again, from its first attempt."""
    message = mail_outbox.retry(db.session, message_id)
    flash(f"The message to {message.to} will be sent again.", "success")
    return see_other(url_for("admin.outbox"))
