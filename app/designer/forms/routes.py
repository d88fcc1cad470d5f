"""The form designer's editor: admins build a request form's draft in the browser.

Every edit is one request that applies one step of forms.editing to the draft, saves it with the
revision the page was showing (a stale page gets a 409 and a reload link), and answers with the
re-rendered workspace: canvas, side panel, live preview and status line. The list of forms, imports,
publishing and versions are ``app.designer.forms.versions``, on the same blueprint.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, make_response, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.auth import require_roles
from app.designer.drafts import actor, answer, posted_revision
from app.designer.forms import builder, messages, posts
from app.designer.forms.problems import ProblemMap, problems_by_place
from app.designer.forms.workspace import Selection, Status, template_helpers, workspace_context
from app.errors import error_response
from app.extensions import db
from app.htmx import is_htmx, render
from case_types.errors import Conflict, ValidationFailed
from cases import definitions
from cases.models import Definition, Role
from forms import editing
from forms.editing import EditError, Removed

bp = Blueprint("designer_forms", __name__, url_prefix="/designer/forms")
require_roles(bp, Role.ADMIN)

KIND = "form"


class StaleDraft(Conflict):
    """The page showed an older revision of the draft than the one stored."""


def definition_of(form_id: int) -> Definition:
    return definitions.get_definition(db.session, KIND, form_id)


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
        definitions.save_draft(db.session, definition, document, actor=actor(),
                               expected_revision=posted_revision("revision"))
    except Conflict as exc:
        raise StaleDraft(exc.message) from None


def workspace(definition: Definition, selection: Selection | None = None, status: Status | None = None, *,
              code: int = 200) -> Response:
    """The editor page, or under htmx its workspace partial."""
    document = definitions.draft_document(definition)
    problems = problems_by_place(document, definitions.draft_problems(db.session, definition))
    context = workspace_context(document, problems, selection or Selection(), status or Status())
    return render("designer/forms/edit.html", "designer/forms/_workspace.html", status=code, definition=definition,
                  revision=definition.draft_revision, **context)


def _done(definition: Definition, selection: Selection, notice: str, **kwargs: Any) -> ResponseReturnValue:
    """After an edit: the re-rendered workspace for htmx, else back to the editor page (303)."""
    query = {"field": selection.field} if selection.field else {"page": selection.page} if selection.page else {}
    return answer(notice, page_url=url_for("designer_forms.edit", form_id=definition.id, **query),
                  partial=lambda: workspace(definition, selection, Status(notice=notice, **kwargs)))


def _draft(form_id: int) -> tuple[Definition, dict[str, Any]]:
    definition = definition_of(form_id)
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


# --- the editor ----------------------------------------------------------------------------------


@bp.get("/<int:form_id>")
def edit(form_id: int) -> ResponseReturnValue:
    definition = definition_of(form_id)
    selection = Selection(field=request.args.get("field") or None, page=request.args.get("page") or None)
    return workspace(definition, selection)


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
                           revision=definition.draft_revision, **template_helpers())


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
