"""The form designer's own FlaskForms: a new form, and the shared import form worded for form files."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.designer.drafts import ImportForm

FILE_LABEL = "Form file (.form.json)"


class NewFormForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)],
                        description="What requesters see, e.g. “Customer complaint”.")
    slug = StringField("Short name", validators=[DataRequired(), Length(max=63)],
                       description="Lower-case letters, digits, '-' or '_', e.g. complaint. Used in web addresses, "
                                   "rules and the API; it cannot be changed later.")


def import_new_form(*, submitted: bool = False) -> ImportForm:
    """A form file for a new form. Prefixed: the list page's new-form form also has a short name; a short
    name that is taken is refused (files go into an existing form from its Versions page)."""
    form = ImportForm(prefix="import", file_label=FILE_LABEL, **({} if submitted else {"formdata": None}))
    form.slug.description = "Leave empty to take it from the file name (complaint.form.json → complaint)."
    return form


def import_into_form(*, submitted: bool = False) -> ImportForm:
    """A form file replacing the draft of the form the page shows."""
    return ImportForm(file_label=FILE_LABEL, ask_slug=False, **({} if submitted else {"formdata": None}))
