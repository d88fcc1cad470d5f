"""WTForms classes for the account and admin pages (Flask-WTF adds the CSRF token)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from cases.models.accounts import ROLE_LABELS

ROLE_CHOICES = [SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()]


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})


class RegisterForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=200)],
                       render_kw={"autocomplete": "name"})
    email = EmailField("E-mail address", validators=[DataRequired(), Email(), Length(max=254)],
                       render_kw={"autocomplete": "email"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)],
                             description="At least 10 characters.",
                             render_kw={"autocomplete": "new-password"})


class ProfileForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=256)],
                                 description="At least 10 characters.",
                                 render_kw={"autocomplete": "new-password"})


class TokenForm(FlaskForm):
    """Prefixed, since it shares pages with other forms that have a `name` field (ids must be unique)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "token")
        super().__init__(*args, **kwargs)

    name = StringField("Token name", validators=[DataRequired(), Length(max=100)],
                       description="What the token is for, e.g. “ERP integration”.")


class UserCreateForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("E-mail address", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Initial password", validators=[DataRequired(), Length(max=256)],
                             description="At least 10 characters. Tell the person to change it.")
    roles = CheckboxList("Roles", choices=ROLE_CHOICES, validators=[DataRequired("Choose at least one role.")])


class UserEditForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    roles = CheckboxList("Roles", choices=ROLE_CHOICES, validators=[DataRequired("Choose at least one role.")])
    active = BooleanField("Active (can log in)")
    absent = BooleanField("Absent (skipped when work is assigned automatically)")


class PasswordResetForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=256)],
                             description="At least 10 characters. Ends all of the user's sessions.")


class QueueForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    slug = StringField("Short name", validators=[Optional(), Length(max=63)],
                       description="Lower-case letters, digits, '-' or '_'. Used by rules and the API; "
                                   "cannot be changed later. Made from the name unless you change it.")
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])


class QueueEditForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    active = BooleanField("Active")


class MemberForm(FlaskForm):
    email = EmailField("Agent's e-mail address", validators=[DataRequired(), Length(max=254)],
                       render_kw={"list": "agents", "autocomplete": "off"})


class SettingsForm(FlaskForm):
    registration_open = BooleanField("Anyone may register as a requester")
    review_required = BooleanField("Four-eyes review: a second admin approves every change before it is published")


class ConfirmForm(FlaskForm):
    """An empty form, for buttons that only need the CSRF token."""


def apply_errors(form: FlaskForm, fields: dict[str, list[str]], *, fallback: str | None = None) -> list[str]:
    """Attach a service's per-field messages to the form's fields; return those that fit no field."""
    leftover: list[str] = []
    for name, messages in fields.items():
        field = getattr(form, name, None) if name in form._fields else None
        if field is None:
            leftover.extend(messages)
        else:
            field.errors = [*field.errors, *messages]
    if not fields and fallback:
        leftover.append(fallback)
    return leftover
