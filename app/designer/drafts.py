"""What the four designers share: editing a definition's draft under the revision the page showed, and the
forms around it (publish, availability, import).

Every designer edits the same way. The page names the draft revision it shows; a change is applied to the
current draft and stored only while that revision is still the stored one (a stale page gets 409 saying
who changed the draft and when, and nothing is stored); the answer is the re-rendered partial under htmx,
or a flash and a 303 back to the page for a plain form post, so reloading never posts twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash, request
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from app.auth import signed_in_user
from app.extensions import db
from app.htmx import is_htmx, see_other
from cases import definitions
from cases.inputs import MAX_ID, parse_count
from cases.models import Definition, User
from forms.errors import DefinitionProblem

T = TypeVar("T")
#: A change to a draft document: the new document and what the page should show next.
Change = Callable[[dict[str, Any]], tuple[dict[str, Any], T]]


class DraftForm(FlaskForm):
    """Every change to the draft names the revision it was made on, so a stale page gets a clear 409."""

    expected_revision = IntegerField("Draft revision", widget=HiddenInput(), validators=[InputRequired()])


class PublishForm(DraftForm):
    change_note = TextAreaField("Change note", validators=[Optional(), Length(max=2000)],
                                description="What changed and why; it is shown in the version history.")


class AvailabilityForm(FlaskForm):
    open_for_requests = BooleanField("Open for requests: logged-in requesters can file it")
    public = BooleanField("Public: anyone with the link can file it, without an account")
    archived = BooleanField("Archived: hidden from the lists, nobody can file it")

    @classmethod
    def of(cls, definition: Definition, *, submitted: bool = False, **kwargs: Any) -> AvailabilityForm:
        """The form showing the definition's availability (or, `submitted`, the posted one)."""
        if submitted:
            return cls(**kwargs)
        return cls(formdata=None, data={"open_for_requests": definition.open_for_requests,
                                        "public": definition.public, "archived": definition.archived}, **kwargs)


class ImportForm(FlaskForm):
    """An exported definition file, into the definition of that short name (a new one if none has it), or,
    without the short name (`ask_slug=False`), into the definition the page shows."""

    file = FileField("File (.json)", validators=[FileRequired("Choose a file to import.")])
    slug = StringField("Short name", validators=[Optional(), Length(max=63)],
                       description="Leave empty to take it from the file's name. If one has this short name, the "
                                   "file replaces its draft; its published versions are kept.")
    publish = BooleanField("Publish it as a new version right away")

    def __init__(self, *args: Any, file_label: str = "", ask_slug: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if file_label:
            self.file.label.text = file_label
        if not ask_slug:
            del self.slug


def actor() -> User:
    """The admin making the change (every designer route requires one)."""
    return signed_in_user()


def posted_revision(*names: str) -> int | None:
    """The draft revision the page showed, from the first of `names` posted (None when none is)."""
    for name in names or ("expected_revision",):
        value = parse_count(request.form.get(name, ""), high=MAX_ID)
        if value is not None:
            return value
    return None


def save_change(definition: Definition, revision: int | None, change: Change[T]) -> tuple[list[DefinitionProblem], T]:
    """Apply `change` to the current draft and store it, unless the page showed another revision (Conflict);
    returns the stored draft's problems and what `change` said the page should show next."""
    definitions.check_revision(definition, revision)
    document, shown = change(definitions.draft_document(definition))
    problems = definitions.save_draft(db.session, definition, document, actor=actor(), expected_revision=revision)
    return problems, shown


def save_availability(definition: Definition, form: AvailabilityForm) -> None:
    definitions.set_availability(db.session, definition, open_for_requests=bool(form.open_for_requests.data),
                                 public=bool(form.public.data), archived=bool(form.archived.data), actor=actor())


def answer(message: str, *, page_url: str, partial: Callable[[], ResponseReturnValue]) -> ResponseReturnValue:
    """After a change: htmx gets the re-rendered `partial`; a plain form post a flash and a 303 to `page_url`."""
    if is_htmx():
        return partial()
    flash(message, "success")
    return see_other(page_url)
