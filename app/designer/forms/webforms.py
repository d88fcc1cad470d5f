"""The form designer's own FlaskForms: a new form, and the files imported into the list or into a form."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class NewFormForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)],
                        description="What requesters see, e.g. “Customer complaint”.")
    slug = StringField("Short name", validators=[DataRequired(), Length(max=63)],
                       description="Lower-case letters, digits, '-' or '_', e.g. complaint. Used in web addresses, "
                                   "rules and the API; it cannot be changed later.")


class ImportForm(FlaskForm):
    """Prefixed: it shares the forms list page with the new-form form, which also has a short name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "import")
        super().__init__(*args, **kwargs)

    file = FileField("Form file (.form.json)", validators=[FileRequired("Choose a file to import.")])
    slug = StringField("Short name", validators=[Optional(), Length(max=63)],
                       description="Leave empty to take it from the file name (complaint.form.json → complaint).")
    publish = BooleanField("Publish it as a new version right away")


class ImportIntoForm(FlaskForm):
    file = FileField("Form file (.form.json)", validators=[FileRequired("Choose a file to import.")])
    publish = BooleanField("Publish it as a new version right away")


class PublishForm(FlaskForm):
    change_note = TextAreaField("What changed (for the version history)", validators=[Length(max=2000)])


class AvailabilityForm(FlaskForm):
    open_for_requests = BooleanField("Open for requests: logged-in requesters can file it")
    public = BooleanField("Public: anyone with the link can file it, without an account")
    archived = BooleanField("Archived: hidden from the lists, nobody can file it")
