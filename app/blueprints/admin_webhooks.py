"""Admin: webhook subscriptions (the secret is shown once), their delivery logs, redelivery, the allow-list."""
from __future__ import annotations

from typing import Any

from flask import abort, current_app, request
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.auth import signed_in_user
from app.blueprints.admin import bp
from app.extensions import db
from app.htmx import render
from app.webforms import CheckboxList, ConfirmForm, apply_errors
from app.webhooks import resolver
from case_types.errors import ValidationFailed
from cases import definitions, webhooks
from cases.models import User, WebhookSubscription


class SubscriptionForm(FlaskForm):
    url = StringField("Target URL", validators=[DataRequired(), Length(max=2000)],
                      description="http:// or https://. Private, loopback and link-local addresses are refused "
                                  "unless the allow-list below names them.")
    description = StringField("Description", validators=[Optional(), Length(max=200)])
    case_type = SelectField("Case type", choices=[], validate_choice=True)
    kinds = CheckboxList("Events", choices=list(webhooks.EVENT_KINDS.items()),
                         validators=[DataRequired("Choose at least one event.")])


class AllowListForm(FlaskForm):
    allow_list = TextAreaField("Allow-list", validators=[Optional(), Length(max=5000)],
                               description="One host name, address or network (10.1.0.0/16) per line that webhooks "
                                           "may reach although it is not public. Leave empty to allow none.")


def _admin() -> User:
    user = signed_in_user()
    return user


def _subscription_form(formdata: Any = None) -> SubscriptionForm:
    form = SubscriptionForm(formdata=formdata) if formdata is not None else SubscriptionForm(formdata=None)
    form.case_type.choices = [("", "Every case type")] + [
        (d.slug, d.title) for d in definitions.list_definitions(db.session, "case_type")]
    return form


def _list(*, form: SubscriptionForm | None = None, allow: AllowListForm | None = None, secret: str = "",
          created: WebhookSubscription | None = None, status: int = 200) -> ResponseReturnValue:
    allow = allow or AllowListForm(formdata=None, data={"allow_list": webhooks.allow_list(db.session).dump()})
    return render("admin/webhooks.html", "admin/_webhook_new.html",
                  subscriptions=webhooks.list_subscriptions(db.session), form=form or _subscription_form(),
                  allow=allow, secret=secret, created=created, kinds=webhooks.EVENT_KINDS,
                  kinds_of=webhooks.kinds_of, status=status)


@bp.get("/webhooks")
def webhook_list() -> ResponseReturnValue:
    return _list()


@bp.post("/webhooks")
def webhook_create() -> ResponseReturnValue:
    form = _subscription_form(formdata=request.form)
    if not form.validate_on_submit():
        return _list(form=form, status=422)
    try:
        subscription, secret = webhooks.create_subscription(
            db.session, url=form.url.data or "", kinds=form.kinds.data or [], actor=_admin(),
            description=form.description.data or "", case_type=form.case_type.data or None,
            resolve=resolver(current_app))
    except ValidationFailed as exc:
        db.session.rollback()
        leftover = apply_errors(form, exc.fields)
        if leftover or not exc.fields:
            form.url.errors = [*form.url.errors, exc.message]  # type: ignore[union-attr]
        return _list(form=form, status=422)
    return _list(secret=secret, created=subscription)


@bp.post("/webhooks/allow-list")
def webhook_allow_list() -> ResponseReturnValue:
    allow = AllowListForm()
    if not allow.validate_on_submit():
        return _list(allow=allow, status=422)
    try:
        webhooks.set_allow_list(db.session, allow.allow_list.data or "", _admin())
    except ValidationFailed as exc:
        db.session.rollback()
        allow.allow_list.errors = [*exc.fields.get("allow_list", []), exc.message]
        return _list(allow=allow, status=422)
    return _list()


def _detail(subscription: WebhookSubscription, status: int = 200) -> ResponseReturnValue:
    deliveries = webhooks.deliveries_of(db.session, subscription)
    return render("admin/webhook.html", "admin/_webhook_deliveries.html", subscription=subscription,
                  deliveries=deliveries, attempts={d.id: webhooks.attempts_of(db.session, d) for d in deliveries},
                  kinds=webhooks.EVENT_KINDS, kinds_of=webhooks.kinds_of, form=ConfirmForm(), status=status)


@bp.get("/webhooks/<int:subscription_id>")
def webhook_detail(subscription_id: int) -> ResponseReturnValue:
    return _detail(webhooks.get_subscription(db.session, subscription_id))


@bp.post("/webhooks/<int:subscription_id>/active")
def webhook_toggle(subscription_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    subscription = webhooks.get_subscription(db.session, subscription_id)
    webhooks.set_active(db.session, subscription, request.form.get("active") == "y", _admin())
    return _detail(subscription)


@bp.post("/webhooks/<int:subscription_id>/deliveries/<int:delivery_id>/redeliver")
def webhook_redeliver(subscription_id: int, delivery_id: int) -> ResponseReturnValue:
    """Send one delivery again, now (same webhook-id); the job queue picks it up after the commit."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    subscription = webhooks.get_subscription(db.session, subscription_id)
    webhooks.redeliver(db.session, subscription, delivery_id, _admin())
    if current_app.config.get("WEBHOOKS_AUTO_DELIVER", True):
        from app.jobs import enqueue

        enqueue(current_app._get_current_object(), "deliver_webhooks")  # type: ignore[attr-defined]
    return _detail(subscription)
