"""The form designer: admins build request forms in the browser, then publish numbered versions.

Every edit is one request that applies one step of forms.editing to the draft, saves it with the
revision the page was showing (a stale page gets a 409 and a reload link), and answers with the
re-rendered workspace: canvas, side panel, live preview and status line. Published versions are only
ever read here; publishing again makes the next version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import wtforms
from flask import Blueprint, Response, flash, make_response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.auth import current_user, require_roles
from app.designer.forms import builder, messages, palette, posts
from app.designer.forms.preview import preview_document
from app.designer.forms.problems import ProblemMap, problems_by_place
from app.errors import error_response
from app.extensions import db
from app.htmx import is_htmx, render, see_other
from app.webforms import apply_errors
from case_types.errors import Conflict, ValidationFailed
from cases import definitions
from cases.models import Definition, Role, User
from forms import editing
from forms.conditions import OPERATORS
from forms.definitions import load_definition
from forms.editing import EditError, Removed
from forms.fieldtypes import FIELD_TYPES
from forms.files import KNOWN_FILE_TYPES
from forms.schema import WIDTHS, FormSchema
from forms.validation import defaults, hidden_fields, to_json_values
from forms.wtf import build_form_class

bp = Blueprint("designer_forms", __name__, url_prefix="/designer/forms")
require_roles(bp, Role.ADMIN)

KIND = "form"
MAX_IMPORT_BYTES = 2 * 1024 * 1024  # the domain refuses files over 1 MiB with a clear message
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "CZK", "INR", "CNY")


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


class StaleDraft(Conflict):
    """The page showed an older revision of the draft than the one stored."""


@dataclass(frozen=True)
class Selection:
    """What the side panel edits: a field, a page, or (neither) the form itself."""

    field: str | None = None
    page: str | None = None


def _actor() -> User:
    user = current_user()
    assert user is not None
    return user


def _definition(form_id: int) -> Definition:
    return definitions.get_definition(db.session, KIND, form_id)


def _revision() -> int | None:
    return request.form.get("revision", type=int)


def _int(name: str) -> int | None:
    return request.form.get(name, type=int)


def _edit(step: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one editing step; one that cannot be made is a validation failure (422) that changes nothing."""
    try:
        return step(*args, **kwargs)
    except EditError as exc:
        raise ValidationFailed(exc.message) from None


def _save(definition: Definition, document: dict[str, Any]) -> None:
    try:
        definitions.save_draft(db.session, definition, document, actor=_actor(), expected_revision=_revision())
    except Conflict as exc:
        raise StaleDraft(exc.message) from None


# --- the workspace -----------------------------------------------------------------------------


def _requester_view(schema: FormSchema) -> dict[str, Any]:
    """The form as requesters get it: one WTForms form per page, and the fields hidden at the start."""
    forms = {page.key: build_form_class(schema, page=page.key, base=wtforms.Form)() for page in schema.pages}
    hidden = hidden_fields(schema, to_json_values(defaults(schema)))
    return {"preview_schema": schema, "preview_forms": forms, "preview_hidden": hidden}


def _preview(document: dict[str, Any]) -> dict[str, Any]:
    preview = preview_document(document)
    if preview.document is None:
        return {"preview": preview, "preview_schema": None, "preview_forms": {}, "preview_hidden": set()}
    return {"preview": preview, **_requester_view(load_definition(preview.document))}


def _panel(document: dict[str, Any], selection: Selection) -> dict[str, Any]:
    field = editing.find_field(document, selection.field) if selection.field else None
    if field is None:
        page = editing.find_page(document, selection.page) if selection.page else None
        return {"selected_field": None, "selected_page": page}
    ftype = FIELD_TYPES.get(str(field.get("type")))
    key = str(field["key"])
    cond_fields = builder.condition_fields(document, key)
    builders = {which: builder.state_from_condition(field.get(which)) for which in editing.CONDITIONS}
    return {
        "selected_field": field, "selected_page": None, "ftype": ftype,
        "allowed": ftype.allowed_properties if ftype is not None else frozenset(),
        "place": editing.place_of(document, key), "cond_fields": cond_fields, "builders": builders,
        "used_by": messages.uses(document, key),
    }


def _workspace(
    definition: Definition, selection: Selection = Selection(), *, notice: str | None = None,
    undo: Removed | None = None, alert: str | None = None, focus: str | None = None, status: int = 200,
) -> Response:
    document = definitions.draft_document(definition)
    problems = problems_by_place(document, definitions.draft_problems(db.session, definition))
    context = {
        "definition": definition, "document": document, "problems": problems, "selection": selection,
        "notice": notice, "undo": undo, "alert": alert, "focus": focus, "revision": definition.draft_revision,
        "palette": palette.PALETTE,
        "add_target": palette.add_target(document, field=selection.field, page=selection.page),
        **_panel(document, selection), **_preview(document), **_helpers(),
    }
    return render("designer/forms/edit.html", "designer/forms/_workspace.html", status=status, **context)


def _helpers() -> dict[str, Any]:
    return {
        "field_types": FIELD_TYPES, "type_title": messages.field_type_title, "summary": builder.condition_summary,
        "operators_for": builder.operators_for, "file_types": KNOWN_FILE_TYPES, "widths": WIDTHS,
        "currencies": CURRENCIES, "megabyte": posts.MEGABYTE,
        "arity": lambda op: OPERATORS[op].arity if op in OPERATORS else "one",
    }


def _done(definition: Definition, selection: Selection, notice: str, **kwargs: Any) -> ResponseReturnValue:
    """After an edit: the re-rendered workspace for htmx, else back to the editor page (303)."""
    if is_htmx():
        return _workspace(definition, selection, notice=notice, **kwargs)
    flash(notice, "success")
    query = {"field": selection.field} if selection.field else {"page": selection.page} if selection.page else {}
    return see_other(url_for("designer_forms.edit", form_id=definition.id, **query))


def _draft(form_id: int) -> tuple[Definition, dict[str, Any]]:
    definition = _definition(form_id)
    return definition, definitions.draft_document(definition)


@bp.errorhandler(ValidationFailed)
@bp.errorhandler(Conflict)
def _designer_problem(exc: ValidationFailed | Conflict) -> ResponseReturnValue:
    """Under htmx, a refused edit is shown in the workspace's alert line; the workspace stays as it is."""
    db.session.rollback()
    status = 409 if isinstance(exc, Conflict) else 422
    if not is_htmx():
        fields = exc.fields if isinstance(exc, ValidationFailed) else None
        return error_response(status, exc.message, code=exc.code, fields=fields)
    form_id = request.view_args.get("form_id") if request.view_args else None
    reload_url = url_for("designer_forms.edit", form_id=form_id) if form_id else url_for("designer_forms.index")
    response = make_response(render_template("designer/forms/_alert.html", message=exc.message,
                                             stale=isinstance(exc, StaleDraft), reload_url=reload_url), status)
    response.headers["HX-Retarget"] = "#designer-alert"
    response.headers["HX-Reswap"] = "innerHTML"
    return response


# --- the list of forms, new forms, import --------------------------------------------------------


def _summaries(forms: Any) -> list[dict[str, Any]]:
    """Per form: its latest version and whether the draft has unpublished changes or problems."""
    rows = []
    for definition in forms:
        latest = definition.latest_version
        problems = definitions.draft_problems(db.session, definition)
        changes = definitions.draft_changes(definition) if latest else None
        rows.append({"definition": definition, "latest": latest, "problems": len(problems),
                     "changed": latest is None or bool(changes) or changes is None})
    return rows


def _index_page(*, form: NewFormForm | None = None, import_form: ImportForm | None = None,
                import_errors: list[str] | None = None, status: int = 200) -> ResponseReturnValue:
    archived = request.args.get("archived") == "1"
    forms = definitions.list_definitions(db.session, KIND, include_archived=archived)
    return render("designer/forms/index.html", status=status, rows=_summaries(forms), archived=archived,
                  form=form or NewFormForm(formdata=None), import_form=import_form or ImportForm(formdata=None),
                  import_errors=import_errors or [])


@bp.get("/")
def index() -> ResponseReturnValue:
    return _index_page()


@bp.post("/new")
def create() -> ResponseReturnValue:
    form = NewFormForm()
    if form.validate_on_submit():
        try:
            definition = definitions.create(db.session, KIND, slug=form.slug.data or "", title=form.title.data or "",
                                            actor=_actor())
        except ValidationFailed as exc:
            apply_errors(form, exc.fields)
        else:
            flash(f"Form “{definition.title}” created. Add its fields from the palette.", "success")
            return see_other(url_for("designer_forms.edit", form_id=definition.id))
    return _index_page(form=form, status=422)


def _read_upload(form: ImportForm | ImportIntoForm) -> bytes:
    upload = form.file.data
    return bytes(upload.read(MAX_IMPORT_BYTES + 1)) if upload is not None else b""


def _problems_list(exc: ValidationFailed) -> list[str]:
    return [f"{where}: {message}" if where not in ("", "definition") else message
            for where, messages in exc.fields.items() for message in messages] or [exc.message]


@bp.post("/import")
def import_new() -> ResponseReturnValue:
    form = ImportForm()
    errors: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        slug = (form.slug.data or "").strip().lower() or definitions.slug_from_filename(upload.filename or "")
        if definitions.find_definition(db.session, KIND, slug) is not None:
            form.slug.errors = [f"A form with the short name “{slug}” exists already. Import into it from its "
                                "Versions page, or choose another short name."]
        else:
            try:
                definition = definitions.import_document(db.session, KIND, _read_upload(form), slug=slug,
                                                         actor=_actor(), publish_now=bool(form.publish.data))
            except ValidationFailed as exc:
                errors = _problems_list(exc)
            else:
                flash(f"Imported “{definition.title}”.", "success")
                return see_other(url_for("designer_forms.edit", form_id=definition.id))
    return _index_page(import_form=form, import_errors=errors, status=422)


# --- the editor ----------------------------------------------------------------------------------


@bp.get("/<int:form_id>")
def edit(form_id: int) -> ResponseReturnValue:
    definition = _definition(form_id)
    selection = Selection(field=request.args.get("field") or None, page=request.args.get("page") or None)
    return _workspace(definition, selection)


@bp.post("/<int:form_id>/settings")
def update_form(form_id: int) -> ResponseReturnValue:
    definition, document = _draft(form_id)
    document = editing.set_form_properties(document, title=request.form.get("title", ""),
                                           description=request.form.get("description", ""))
    _save(definition, document)
    return _done(definition, Selection(), "Form details saved.")


@bp.post("/<int:form_id>/fields")
def add_field(form_id: int) -> ResponseReturnValue:
    definition, document = _draft(form_id)
    type_name = request.form.get("type", "")
    document, key = _edit(editing.add_field, document, type_name, request.form.get("page", ""), _int("index"),
                          group=request.form.get("group") or None)
    _save(definition, document)
    notice = f"Added a {messages.field_type_title(type_name).lower()} field at {messages.where(document, key)}."
    return _done(definition, Selection(field=key), notice, focus=f"fp-{key}-label")


@bp.post("/<int:form_id>/move")
def move_field(form_id: int) -> ResponseReturnValue:
    definition, document = _draft(form_id)
    key = request.form.get("key", "")
    direction = request.form.get("direction")
    if direction in ("up", "down"):
        document, _place = _edit(editing.nudge_field, document, key, -1 if direction == "up" else 1)
    else:
        document = _edit(editing.move_field, document, key, request.form.get("page") or None, _int("index") or 0,
                         group=request.form.get("group") or None)
    _save(definition, document)
    notice = f"“{messages.label_of(document, key)}” moved to {messages.where(document, key)}."
    return _done(definition, Selection(field=key), notice, focus=f"sel-{key}")


@bp.post("/<int:form_id>/fields/<key>")
def update_field(form_id: int, key: str) -> ResponseReturnValue:
    definition, document = _draft(form_id)
    field = _edit(_existing, document, key)
    props = posts.props_from_post(str(field.get("type")), request.form)
    document = _edit(editing.update_field, document, key, props)
    _save(definition, document)
    new_key = props.get("key", key)
    return _done(definition, Selection(field=new_key), f"Saved “{messages.label_of(document, new_key)}”.")


def _existing(document: dict[str, Any], key: str) -> dict[str, Any]:
    field = editing.find_field(document, key)
    if field is None:
        raise EditError(f"The form has no field {key!r} (it may have been deleted meanwhile).")
    return field


@bp.post("/<int:form_id>/fields/<key>/options")
def change_options(form_id: int, key: str) -> ResponseReturnValue:
    """Add, remove or reorder options; the side panel's other inputs, posted along, are saved first."""
    definition, document = _draft(form_id)
    field = _edit(_existing, document, key)
    props = posts.props_from_post(str(field.get("type")), request.form)
    document = _edit(editing.update_field, document, key, props)
    key = props.get("key", key)
    action, index = request.form.get("action", ""), _int("index")
    if action == "add":
        document = _edit(editing.add_option, document, key)
    elif action in ("remove", "up", "down") and index is not None:
        if action == "remove":
            document = _edit(editing.remove_option, document, key, index)
        else:
            document = _edit(editing.move_option, document, key, index, index + (-1 if action == "up" else 1))
    _save(definition, document)
    words = {"add": "Option added", "remove": "Option removed", "up": "Option moved up", "down": "Option moved down"}
    return _done(definition, Selection(field=key), f"{words.get(action, 'Options saved')}.")


@bp.post("/<int:form_id>/fields/<key>/delete")
def delete_field(form_id: int, key: str) -> ResponseReturnValue:
    definition, document = _draft(form_id)
    label = messages.label_of(document, key)
    used_by = messages.uses(document, key)
    document, removed = _edit(editing.delete_field, document, key)
    _save(definition, document)
    notice = f"Deleted “{label}”."
    if used_by:
        notice += " The conditions of " + ", ".join(f"“{u}”" for u in used_by) + " still use it: fix them, or undo."
    return _done(definition, Selection(page=removed.page), notice, undo=removed, focus="undo-button")


@bp.post("/<int:form_id>/restore")
def restore_field(form_id: int) -> ResponseReturnValue:
    definition, document = _draft(form_id)
    removed = _edit(Removed.from_json, request.form.get("removed", ""))
    document = _edit(editing.restore_field, document, removed)
    _save(definition, document)
    return _done(definition, Selection(field=removed.key), f"“{messages.label_of(document, removed.key)}” is back.",
                 focus=f"sel-{removed.key}")


def _builder_state(document: dict[str, Any], key: str) -> tuple[str, list[builder.CondField], Any]:
    which = request.values.get("which", "")
    if which not in editing.CONDITIONS:
        raise ValidationFailed("Choose which condition to change: when the field is shown, or when it is required.")
    fields = builder.condition_fields(document, key)
    return which, fields, posts.builder_from_post(request.values, fields)


@bp.get("/<int:form_id>/fields/<key>/condition")
def condition_builder(form_id: int, key: str) -> ResponseReturnValue:
    """The condition's pickers re-drawn for what was chosen so far (nothing is saved)."""
    definition, document = _draft(form_id)
    field = _edit(_existing, document, key)
    which, fields, state = _builder_state(document, key)
    return render_template("designer/forms/_condition.html", definition=definition, field=field, which=which,
                           state=state, cond_fields=fields, problems=ProblemMap(),
                           revision=definition.draft_revision, **_helpers())


@bp.post("/<int:form_id>/fields/<key>/condition")
def set_condition(form_id: int, key: str) -> ResponseReturnValue:
    definition, document = _draft(form_id)
    _edit(_existing, document, key)
    which, fields, state = _builder_state(document, key)
    condition = builder.condition_from_builder(state, fields)
    document = _edit(editing.set_condition, document, key, which, condition)
    _save(definition, document)
    label = messages.label_of(document, key)
    if condition is not None:
        what = "shown" if which == "visible_if" else "required"
        notice = f"“{label}” is {what} only when {builder.condition_summary(document, condition)}."
    elif which == "visible_if":
        notice = f"“{label}” is now always shown."
    else:
        notice = f"“{label}” is no longer required depending on other answers."
    return _done(definition, Selection(field=key), notice)


@bp.post("/<int:form_id>/pages")
def add_page(form_id: int) -> ResponseReturnValue:
    definition, document = _draft(form_id)
    document, page_key = _edit(editing.add_page, document, request.form.get("title", ""))
    _save(definition, document)
    page = editing.find_page(document, page_key) or {}
    return _done(definition, Selection(page=page_key), f"Page “{page.get('title')}” added. Drag fields onto it, "
                 "or add new ones.", focus=f"pp-{page_key}-title")


@bp.post("/<int:form_id>/pages/<page_key>")
def update_page(form_id: int, page_key: str) -> ResponseReturnValue:
    definition, document = _draft(form_id)
    document = _edit(editing.rename_page, document, page_key, request.form.get("title", ""))
    _save(definition, document)
    return _done(definition, Selection(page=page_key), "Page title saved.")


@bp.post("/<int:form_id>/pages/<page_key>/move")
def move_page(form_id: int, page_key: str) -> ResponseReturnValue:
    definition, document = _draft(form_id)
    delta = -1 if request.form.get("direction") == "up" else 1
    document = _edit(editing.nudge_page, document, page_key, delta)
    _save(definition, document)
    position = next(i for i, p in enumerate(document["pages"]) if p.get("key") == page_key) + 1
    return _done(definition, Selection(page=page_key),
                 f"Page moved to position {position} of {len(document['pages'])}.", focus=f"pagesel-{page_key}")


@bp.post("/<int:form_id>/pages/<page_key>/delete")
def delete_page(form_id: int, page_key: str) -> ResponseReturnValue:
    definition, document = _draft(form_id)
    page = editing.find_page(document, page_key) or {}
    document = _edit(editing.delete_page, document, page_key,
                     move_fields_to=request.form.get("fields_to") or None)
    _save(definition, document)
    return _done(definition, Selection(), f"Page “{page.get('title') or page_key}” deleted.")


# --- versions ------------------------------------------------------------------------------------


@bp.post("/<int:form_id>/publish")
def publish(form_id: int) -> ResponseReturnValue:
    definition = _definition(form_id)
    expected = _revision()
    if expected is not None and expected != definition.draft_revision:
        who = definition.draft_updated_by.name if definition.draft_updated_by else "someone"
        raise StaleDraft(f"This draft was changed by {who} at {definition.draft_updated_at:%Y-%m-%d %H:%M} UTC "
                         "after you opened it. Reload to see their changes before publishing.")
    form = PublishForm()
    try:
        version = definitions.publish(db.session, definition, actor=_actor(), change_note=form.change_note.data or "")
    except ValidationFailed as exc:
        db.session.rollback()
        count = sum(len(m) for m in exc.fields.values())
        message = (f"Version not published: fix the {count} problem{'s' if count != 1 else ''} marked in the form "
                   "first.")
        if is_htmx():
            return _workspace(definition, alert=message, status=422)
        flash(message, "error")
        return see_other(url_for("designer_forms.edit", form_id=definition.id))
    notice = f"Version {version.number} published."
    if is_htmx():
        return _workspace(definition, notice=notice)
    flash(notice, "success")
    return see_other(url_for("designer_forms.versions", form_id=definition.id))


def _versions_page(definition: Definition, *, import_form: ImportIntoForm | None = None,
                   import_errors: list[str] | None = None, status: int = 200) -> ResponseReturnValue:
    problems = definitions.draft_problems(db.session, definition)
    return render(
        "designer/forms/versions.html", status=status, definition=definition,
        versions=list(reversed(definition.versions)), problems=problems,
        changes=definitions.draft_changes(definition), history=definitions.history(db.session, definition),
        publish_form=PublishForm(formdata=None), import_form=import_form or ImportIntoForm(formdata=None),
        import_errors=import_errors or [],
        availability_form=AvailabilityForm(formdata=None, data={
            "open_for_requests": definition.open_for_requests, "public": definition.public,
            "archived": definition.archived}),
    )


@bp.get("/<int:form_id>/versions")
def versions(form_id: int) -> ResponseReturnValue:
    return _versions_page(_definition(form_id))


@bp.get("/<int:form_id>/versions/<int:number>")
def version(form_id: int, number: int) -> ResponseReturnValue:
    definition = _definition(form_id)
    found = definitions.get_version(definition, number)
    changes = definitions.diff_versions(definition, number - 1, number) if number > 1 else None
    schema = definitions.load_version(db.session, found)
    return render("designer/forms/version.html", definition=definition, version=found, changes=changes,
                  **_requester_view(schema))


@bp.get("/<int:form_id>/export")
def export(form_id: int) -> ResponseReturnValue:
    definition = _definition(form_id)
    body = definitions.export_document(definition, request.args.get("version", type=int))
    response = make_response(body)
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{definition.slug}.form.json"'
    return response


@bp.post("/<int:form_id>/import")
def import_into(form_id: int) -> ResponseReturnValue:
    definition = _definition(form_id)
    form = ImportIntoForm()
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            definitions.import_document(db.session, KIND, _read_upload(form), slug=definition.slug, actor=_actor(),
                                        publish_now=bool(form.publish.data))
        except ValidationFailed as exc:
            errors = _problems_list(exc)
        else:
            flash("Imported: the draft now holds the file's form.", "success")
            return see_other(url_for("designer_forms.edit", form_id=definition.id))
    return _versions_page(definition, import_form=form, import_errors=errors, status=422)


@bp.post("/<int:form_id>/availability")
def availability(form_id: int) -> ResponseReturnValue:
    definition = _definition(form_id)
    form = AvailabilityForm()
    if form.validate_on_submit():
        definitions.set_availability(db.session, definition, open_for_requests=bool(form.open_for_requests.data),
                                     public=bool(form.public.data), archived=bool(form.archived.data), actor=_actor())
        flash("Availability saved.", "success")
    return see_other(url_for("designer_forms.versions", form_id=definition.id))
