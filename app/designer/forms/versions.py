"""The form designer's list of forms and versions: new forms, imports, publishing, exports, availability.

Published versions are only ever read here; publishing again makes the next version.
"""

from __future__ import annotations

from typing import Any

from flask import flash, make_response, request, url_for
from flask.typing import ResponseReturnValue

from app.designer.drafts import AvailabilityForm, ImportForm, PublishForm, actor, posted_revision, save_availability
from app.designer.forms.routes import KIND, StaleDraft, bp, definition_of, workspace
from app.designer.forms.webforms import NewFormForm, import_into_form, import_new_form
from app.designer.forms.workspace import Status, requester_view
from app.extensions import db
from app.htmx import is_htmx, render, see_other
from app.webforms import apply_errors
from case_types.errors import Conflict, ValidationFailed
from cases import definitions
from cases.errors import PermissionDenied
from cases.models import Definition

MAX_IMPORT_BYTES = 2 * 1024 * 1024  # the domain refuses files over 1 MiB with a clear message


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
                  form=form or NewFormForm(formdata=None), import_form=import_form or import_new_form(),
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
                                            actor=actor())
        except ValidationFailed as exc:
            apply_errors(form, exc.fields)
        else:
            flash(f"Form “{definition.title}” created. Add its fields from the palette.", "success")
            return see_other(url_for("designer_forms.edit", form_id=definition.id))
    return _index_page(form=form, status=422)


def _read_upload(form: ImportForm) -> bytes:
    upload = form.file.data
    return bytes(upload.read(MAX_IMPORT_BYTES + 1)) if upload is not None else b""


def _problems_list(exc: ValidationFailed) -> list[str]:
    return [f"{where}: {message}" if where not in ("", "definition") else message
            for where, messages in exc.fields.items() for message in messages] or [exc.message]


@bp.post("/import")
def import_new() -> ResponseReturnValue:
    form = import_new_form(submitted=True)
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
                                                         actor=actor(), publish_now=bool(form.publish.data))
            except ValidationFailed as exc:
                errors = _problems_list(exc)
            else:
                flash(f"Imported “{definition.title}”.", "success")
                return see_other(url_for("designer_forms.edit", form_id=definition.id))
    return _index_page(import_form=form, import_errors=errors, status=422)


# --- versions ------------------------------------------------------------------------------------


@bp.post("/<int:form_id>/publish")
def publish(form_id: int) -> ResponseReturnValue:
    definition = definition_of(form_id)
    expected = posted_revision("revision", "expected_revision")
    if expected is not None:
        try:
            definitions.check_revision(definition, expected)
        except Conflict as exc:
            raise StaleDraft(exc.message) from None
    form = PublishForm()
    try:
        version = definitions.publish(db.session, definition, actor=actor(), change_note=form.change_note.data or "")
    except PermissionDenied as exc:  # review is required: publishing goes through a change request
        db.session.rollback()
        if is_htmx():
            return workspace(definition, status=Status(alert=exc.message), code=403)
        flash(exc.message, "error")
        return see_other(url_for("designer_forms.versions", form_id=definition.id))
    except ValidationFailed as exc:
        db.session.rollback()
        count = sum(len(m) for m in exc.fields.values())
        message = (f"Version not published: fix the {count} problem{'s' if count != 1 else ''} marked in the form "
                   "first.")
        if is_htmx():
            return workspace(definition, status=Status(alert=message), code=422)
        flash(message, "error")
        return see_other(url_for("designer_forms.edit", form_id=definition.id))
    notice = f"Version {version.number} published."
    if is_htmx():
        return workspace(definition, status=Status(notice=notice))
    flash(notice, "success")
    return see_other(url_for("designer_forms.versions", form_id=definition.id))


def _versions_page(definition: Definition, *, import_form: ImportForm | None = None,
                   import_errors: list[str] | None = None, status: int = 200) -> ResponseReturnValue:
    problems = definitions.draft_problems(db.session, definition)
    return render(
        "designer/forms/versions.html", status=status, definition=definition,
        versions=list(reversed(definition.versions)), problems=problems,
        changes=definitions.draft_changes(definition), history=definitions.history(db.session, definition),
        publish_form=PublishForm(formdata=None, data={"expected_revision": definition.draft_revision}),
        import_form=import_form or import_into_form(), import_errors=import_errors or [],
        availability_form=AvailabilityForm.of(definition),
    )


@bp.get("/<int:form_id>/versions")
def versions(form_id: int) -> ResponseReturnValue:
    return _versions_page(definition_of(form_id))


@bp.get("/<int:form_id>/versions/<int:number>")
def version(form_id: int, number: int) -> ResponseReturnValue:
    definition = definition_of(form_id)
    found = definitions.get_version(definition, number)
    changes = definitions.diff_versions(definition, number - 1, number) if number > 1 else None
    schema = definitions.load_version(db.session, found)
    return render("designer/forms/version.html", definition=definition, version=found, changes=changes,
                  **requester_view(schema))


@bp.get("/<int:form_id>/export")
def export(form_id: int) -> ResponseReturnValue:
    definition = definition_of(form_id)
    body = definitions.export_document(definition, request.args.get("version", type=int))
    response = make_response(body)
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{definition.slug}.form.json"'
    return response


@bp.post("/<int:form_id>/import")
def import_into(form_id: int) -> ResponseReturnValue:
    definition = definition_of(form_id)
    form = import_into_form(submitted=True)
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            definitions.import_document(db.session, KIND, _read_upload(form), slug=definition.slug, actor=actor(),
                                        publish_now=bool(form.publish.data))
        except ValidationFailed as exc:
            errors = _problems_list(exc)
        else:
            flash("Imported: the draft now holds the file's form.", "success")
            return see_other(url_for("designer_forms.edit", form_id=definition.id))
    return _versions_page(definition, import_form=form, import_errors=errors, status=422)


@bp.post("/<int:form_id>/availability")
def availability(form_id: int) -> ResponseReturnValue:
    definition = definition_of(form_id)
    form = AvailabilityForm.of(definition, submitted=True)
    if form.validate_on_submit():
        save_availability(definition, form)
        flash("Availability saved.", "success")
    return see_other(url_for("designer_forms.versions", form_id=definition.id))
