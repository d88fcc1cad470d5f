"""The case-type designer: admins lay out a case's states and transitions, who may move it, which fields
matter where and its deadlines, then publish numbered versions. Routes stay thin: editing the draft is
case_types.workflow_editing, storing and publishing it cases.definitions (through app.designer.drafts), the
page's forms `forms` and its view model `editor` beside this module.

Every edit answers with the whole editor (its htmx partial), so the diagram, the problems and the draft
revision in every form are always current; a change made on a stale page is refused with 409.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, flash, request, send_file, url_for
from flask.typing import ResponseReturnValue

from app.auth import require_roles
from app.designer.case_types import catalogue as ctc
from app.designer.case_types import editor as view
from app.designer.case_types import forms as ctf
from app.designer.case_types.calendar_form import calendar_form, calendar_input
from app.designer.case_types.diagram import case_type_svg, swatch
from app.designer.drafts import DraftForm, ImportForm, actor, answer, save_availability, save_change
from app.extensions import db
from app.htmx import is_htmx, render, see_other
from app.webforms import apply_errors
from case_types import adaptive_editing
from case_types import workflow_editing as editing
from case_types.errors import Conflict, NotFound, ValidationFailed
from case_types.workflow import starter_case_type
from cases import accounts, definitions, kinds
from cases.errors import PermissionDenied
from cases.models import Definition, Role
from forms.errors import DefinitionProblem

bp = Blueprint("designer_case_types", __name__, url_prefix="/designer/case-types")
require_roles(bp, Role.ADMIN)

KIND = "case_type"
Change = Callable[[dict[str, Any]], tuple[dict[str, Any], str]]


def _definition(definition_id: int) -> Definition:
    return definitions.get_definition(db.session, KIND, definition_id)


def _options(document: Mapping[str, Any]) -> ctf.Options:
    slug, number = document.get("form"), document.get("form_version")
    info = None
    if isinstance(slug, str) and isinstance(number, int) and not isinstance(number, bool):
        info = kinds.form_info(db.session, slug, number)
    return ctf.Options.build(document, accounts.list_queues(db.session),
                             definitions.list_definitions(db.session, "form"), info)


def _editor(definition: Definition, *, status: int = 200, problems: list[DefinitionProblem] | None = None,
            saved: str = "", conflict: str = "", **kwargs: Any) -> ResponseReturnValue:
    """The editor page, or its partial for htmx (with the status message swapped out of band)."""
    document = definitions.draft_document(definition)
    if problems is None:
        problems = definitions.draft_problems(db.session, definition)
    options = _options(document)
    editor = view.build_editor(
        definition, document, problems, options,
        diagram=case_type_svg(document, id_prefix="draft"), changes=definitions.draft_changes(definition),
        **kwargs)
    catalogue = ctc.build_catalogue(definition, document, editor.problems, options,
                                    submitted=kwargs.get("submitted") or {}, open_slot=editor.open_slot)
    return render("designer/case_types/edit.html", "designer/case_types/_editor.html", status=status,
                  editor=editor, catalogue=catalogue, definition=definition, swatch=swatch, conflict=conflict,
                  # htmx answers always reset the status line, so an old "saved" never sits beside errors
                  status_message=saved if is_htmx() else None)


def _done(definition: Definition, message: str, *, open_slot: str = "", focus: str = "",
          anchor: str = "", problems: list[DefinitionProblem] | None = None) -> ResponseReturnValue:
    return answer(message, page_url=url_for(".edit", definition_id=definition.id) + (f"#{anchor}" if anchor else ""),
                  partial=lambda: _editor(definition, saved=message, open_slot=open_slot, focus=focus,
                                          problems=problems))


def _change(definition: Definition, form: DraftForm, slot: str, change: Change, *, message: str,
            focus: Callable[[str], str] | None = None,
            anchor: Callable[[str], str] | None = None) -> ResponseReturnValue:
    """Validate the form, apply `change` to the current draft and save it with the page's revision."""
    if not form.validate():
        return _editor(definition, status=422, submitted={slot: form}, open_slot=slot)
    try:
        problems, open_slot = save_change(definition, form.expected_revision.data, change)
    except Conflict as exc:
        return _editor(definition, status=409, conflict=exc.message)
    except NotFound as exc:
        return _editor(definition, status=404, alert=exc.message)
    except ValidationFailed as exc:
        leftover = apply_errors(form, exc.fields, fallback=exc.message)
        return _editor(definition, status=422, submitted={slot: form}, open_slot=slot, alert=" ".join(leftover))
    return _done(definition, message, open_slot=open_slot, problems=problems,
                 focus=focus(open_slot) if focus else "", anchor=anchor(open_slot) if anchor else "")


def _slot_ref(slot: str) -> str:
    return slot.split(":", 1)[1] if ":" in slot else ""


# ---------------------------------------------------------------- list, new, import


@bp.get("/")
def index() -> ResponseReturnValue:
    return _index_page()


def _index_page(*, import_form: ImportForm | None = None, reasons: list[str] | None = None,
                status: int = 200) -> ResponseReturnValue:
    archived = request.args.get("archived") == "1"
    rows = [(d, definitions.draft_changes(d)) for d in
            definitions.list_definitions(db.session, KIND, include_archived=archived)]
    return render("designer/case_types/index.html", status=status, rows=rows, show_archived=archived,
                  import_form=import_form or ctf.import_form(), import_reasons=reasons or [])


@bp.route("/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    forms = definitions.list_definitions(db.session, "form")
    form = ctf.new_form(forms, accounts.list_queues(db.session))
    if form.validate_on_submit():
        name = (form.name.data or "").strip()
        slug = (form.slug.data or "").strip().lower() or editing.suggest_slug(name)
        form_slug, number = ctf.split_ref(form.form_ref.data or "")
        try:
            queue = _queue_for_new(form, slug)
            document = editing.normalized(starter_case_type(name, form=form_slug, form_version=number, queue=queue))
            definition = definitions.create(db.session, KIND, slug=slug, title=name, actor=actor(),
                                            document=document)
        except ValidationFailed as exc:
            fields = {("name" if k == "title" else k): v for k, v in exc.fields.items()}
            apply_errors(form, fields, fallback=exc.message)
        else:
            flash(f"Case type “{definition.title}” created from the starter states. Adjust them below.", "success")
            return see_other(url_for(".edit", definition_id=definition.id))
    return render("designer/case_types/new.html", form=form, status=422 if form.errors else 200)


def _queue_for_new(form: ctf.NewCaseTypeForm, slug: str) -> str:
    """The chosen queue, or the new one named on the form, created (with a short name from its name) once
    the case type's own short name is known to be free, so a refusal leaves nothing behind."""
    name = (form.new_queue.data or "").strip()
    if not name:
        return form.queue.data or ""
    if definitions.find_definition(db.session, KIND, slug) is not None:
        raise ValidationFailed("The case type could not be created.",
                               {"slug": ["Another case type already uses this short name."]})
    try:
        return accounts.create_queue(db.session, slug=editing.suggest_slug(name), name=name).slug
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, {"new_queue": [m for ms in exc.fields.values() for m in ms]}) from None


@bp.post("/import")
def import_file() -> ResponseReturnValue:
    form = ctf.import_form(submitted=True)
    reasons: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        slug = (form.slug.data or "").strip().lower() or definitions.slug_from_filename(upload.filename or "")
        try:
            definition = definitions.import_document(db.session, KIND, upload.read(), slug=slug, actor=actor(),
                                                     publish_now=bool(form.publish.data))
        except ValidationFailed as exc:
            slug_errors = {k: v for k, v in exc.fields.items() if k == "slug"}
            apply_errors(form, slug_errors)
            reasons = ctf.import_reasons({k: v for k, v in exc.fields.items() if k != "slug"})
            if not exc.fields:
                reasons = [exc.message]
        else:
            latest = definition.latest_version
            done = f" and published as version {latest.number}" if form.publish.data and latest else ""
            flash(f"Imported “{definition.title}”{done}.", "success")
            return see_other(url_for(".edit", definition_id=definition.id))
    return _index_page(import_form=form, reasons=reasons, status=422)


# ---------------------------------------------------------------- the editor


@bp.get("/<int:definition_id>")
def edit(definition_id: int) -> ResponseReturnValue:
    """The editor; `?open=state:KEY` (or `transition:KEY`) opens that card's forms (a large case type shows
    the forms of open cards only)."""
    slot = request.args.get("open", "")[:200]
    return _editor(_definition(definition_id), open_slot=slot if slot.startswith(("state:", "transition:")) else "")


@bp.post("/<int:definition_id>/general")
def save_general(definition_id: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    form = ctf.general_form(_options(definitions.draft_document(definition)), {}, 0, submitted=True)
    return _change(definition, form, "general",
                   lambda doc: (editing.set_general(doc, ctf.general_input(form)), "general"),
                   message="Settings saved.", anchor=lambda _s: "general")


@bp.post("/<int:definition_id>/calendar")
def save_calendar(definition_id: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    form = calendar_form({}, 0, submitted=True)
    return _change(definition, form, "calendar",
                   lambda doc: (editing.set_calendar(doc, calendar_input(form)), "calendar"),
                   message="Business hours saved.", focus=lambda _s: "cal-save", anchor=lambda _s: "calendar")


@bp.post("/<int:definition_id>/states")
def add_state(definition_id: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    form = ctf.state_form(None, 0, prefix="ns", submitted=True)

    def change(doc: dict[str, Any]) -> tuple[dict[str, Any], str]:
        document, key = editing.add_state(doc, ctf.state_input(form))
        return document, f"new-state:{key}"

    return _change(definition, form, "new-state", change, message=f"State “{(form.label.data or '').strip()}” added.",
                   focus=lambda _s: "ns-label", anchor=lambda s: f"state-{view.dom_id(_slot_ref(s))}")


@bp.post("/<int:definition_id>/states/<key>")
def save_state(definition_id: int, key: str) -> ResponseReturnValue:
    definition = _definition(definition_id)
    form = ctf.state_form(None, 0, prefix=view.prefix("state", key), submitted=True)

    def change(doc: dict[str, Any]) -> tuple[dict[str, Any], str]:
        document, new_key = editing.update_state(doc, key, ctf.state_input(form))
        return document, f"state:{new_key}"

    return _change(definition, form, f"state:{key}", change, message="State saved.",
                   focus=lambda s: f"{view.prefix('state', _slot_ref(s))}-save",
                   anchor=lambda s: f"state-{view.dom_id(_slot_ref(s))}")


@bp.post("/<int:definition_id>/states/<key>/remove")
def remove_state(definition_id: int, key: str) -> ResponseReturnValue:
    definition = _definition(definition_id)
    form = DraftForm()
    return _change(definition, form, "", lambda doc: (editing.remove_state(doc, key), ""),
                   message="State removed.", focus=lambda _s: "states-h", anchor=lambda _s: "states")


@bp.post("/<int:definition_id>/states/<key>/move")
def move_state(definition_id: int, key: str) -> ResponseReturnValue:
    return _move(_definition(definition_id), "states", key)


@bp.post("/<int:definition_id>/states/<key>/fields")
def save_fields(definition_id: int, key: str) -> ResponseReturnValue:
    definition = _definition(definition_id)
    form = ctf.fields_form(_options(definitions.draft_document(definition)), [], 0,
                           prefix=view.prefix("fields", key), submitted=True)
    return _change(definition, form, f"fields:{key}",
                   lambda doc: (editing.set_editable_fields(doc, key, form.fields.data or []), f"fields:{key}"),
                   message="Editable fields saved.", focus=lambda _s: f"{view.prefix('fields', key)}-save",
                   anchor=lambda _s: f"state-{view.dom_id(key)}")


@bp.post("/<int:definition_id>/states/<key>/deadlines")
def save_deadlines(definition_id: int, key: str) -> ResponseReturnValue:
    definition = _definition(definition_id)
    form = ctf.deadlines_form({}, 0, prefix=view.prefix("deadlines", key), submitted=True)
    return _change(definition, form, f"deadlines:{key}",
                   lambda doc: (editing.set_deadlines(doc, key, ctf.deadline_inputs(form)), f"deadlines:{key}"),
                   message="Deadlines saved.", focus=lambda _s: f"{view.prefix('deadlines', key)}-save",
                   anchor=lambda _s: f"state-{view.dom_id(key)}")


@bp.post("/<int:definition_id>/transitions")
def add_transition(definition_id: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    form = ctf.transition_form(_options(definitions.draft_document(definition)), None, 0, prefix="nt",
                               submitted=True)

    def change(doc: dict[str, Any]) -> tuple[dict[str, Any], str]:
        document, key = editing.add_transition(doc, ctf.transition_input(form))
        return document, f"new-transition:{key}"

    return _change(definition, form, "new-transition", change,
                   message=f"Transition “{(form.label.data or '').strip()}” added.",
                   focus=lambda _s: "nt-label", anchor=lambda s: f"transition-{view.dom_id(_slot_ref(s))}")


@bp.post("/<int:definition_id>/transitions/<key>")
def save_transition(definition_id: int, key: str) -> ResponseReturnValue:
    definition = _definition(definition_id)
    form = ctf.transition_form(_options(definitions.draft_document(definition)), None, 0,
                               prefix=view.prefix("transition", key), submitted=True)

    def change(doc: dict[str, Any]) -> tuple[dict[str, Any], str]:
        document, new_key = editing.update_transition(doc, key, ctf.transition_input(form))
        return document, f"transition:{new_key}"

    return _change(definition, form, f"transition:{key}", change, message="Transition saved.",
                   focus=lambda s: f"{view.prefix('transition', _slot_ref(s))}-save",
                   anchor=lambda s: f"transition-{view.dom_id(_slot_ref(s))}")


@bp.post("/<int:definition_id>/transitions/<key>/remove")
def remove_transition(definition_id: int, key: str) -> ResponseReturnValue:
    definition = _definition(definition_id)
    return _change(definition, DraftForm(), "", lambda doc: (editing.remove_transition(doc, key), ""),
                   message="Transition removed.", focus=lambda _s: "transitions-h",
                   anchor=lambda _s: "transitions")


@bp.post("/<int:definition_id>/transitions/<key>/move")
def move_transition(definition_id: int, key: str) -> ResponseReturnValue:
    return _move(_definition(definition_id), "transitions", key)


def _move(definition: Definition, section: str, key: str) -> ResponseReturnValue:
    offset = -1 if request.form.get("direction") == "up" else 1
    noun = section[:-1]
    direction = "up" if offset < 0 else "down"
    return _change(definition, DraftForm(), "", lambda doc: (editing.move(doc, section, key, offset), ""),
                   message=f"Moved {direction}.", focus=lambda _s: f"move-{noun}-{view.dom_id(key)}-{direction}",
                   anchor=lambda _s: f"{noun}-{view.dom_id(key)}")


# ---------------------------------------------------------------- the catalogue of tasks agents may start


@bp.post("/<int:definition_id>/catalogue")
def add_item(definition_id: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    document = definitions.draft_document(definition)
    form, picks = ctc.posted_form(definition, document, _options(document), "nd")

    def change(doc: dict[str, Any]) -> tuple[dict[str, Any], str]:
        document, key = adaptive_editing.add_item(doc, ctc.item_input(form, picks))
        return document, f"task:{key}"

    return _change(definition, form, "new-task", change, message=f"“{(form.label.data or '').strip()}” added.",
                   focus=lambda _s: "nd-label", anchor=lambda s: f"task-{view.dom_id(_slot_ref(s))}")


@bp.post("/<int:definition_id>/catalogue/<key>")
def save_item(definition_id: int, key: str) -> ResponseReturnValue:
    definition = _definition(definition_id)
    document = definitions.draft_document(definition)
    form, picks = ctc.posted_form(definition, document, _options(document), ctc.prefix(key))

    def change(doc: dict[str, Any]) -> tuple[dict[str, Any], str]:
        document, new_key = adaptive_editing.update_item(doc, key, ctc.item_input(form, picks))
        return document, f"task:{new_key}"

    return _change(definition, form, f"task:{key}", change, message="Task saved.",
                   focus=lambda s: f"{ctc.prefix(_slot_ref(s))}-save",
                   anchor=lambda s: f"task-{view.dom_id(_slot_ref(s))}")


@bp.post("/<int:definition_id>/catalogue/<key>/remove")
def remove_item(definition_id: int, key: str) -> ResponseReturnValue:
    definition = _definition(definition_id)
    return _change(definition, DraftForm(), "", lambda doc: (adaptive_editing.remove_item(doc, key), ""),
                   message="Task removed.", focus=lambda _s: "tasks-h", anchor=lambda _s: "tasks")


@bp.post("/<int:definition_id>/publish")
def publish(definition_id: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    form = ctf.publish_form(0, submitted=True)
    if not form.validate():
        return _editor(definition, status=422, submitted={"publish": form}, open_slot="publish")
    try:
        definitions.check_revision(definition, form.expected_revision.data)
    except Conflict as exc:
        return _editor(definition, status=409, conflict=exc.message)
    try:
        version = definitions.publish(db.session, definition, actor=actor(), change_note=form.change_note.data or "")
    except ValidationFailed as exc:
        return _editor(definition, status=422, submitted={"publish": form}, publish_problem=exc.message,
                       focus="publish-h")
    except Conflict as exc:  # nothing changed since the latest version
        return _editor(definition, status=409, submitted={"publish": form}, publish_problem=exc.message,
                       focus="publish-h")
    except PermissionDenied as exc:  # review is required: publishing goes through a change request
        return _editor(definition, status=403, submitted={"publish": form}, publish_problem=exc.message,
                       focus="publish-h")
    return _done(definition, f"Version {version.number} published. New cases are filed under it.",
                 focus="publish-h", anchor="publish")


@bp.post("/<int:definition_id>/availability")
def availability(definition_id: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    form = ctf.availability_form(definition, submitted=True)
    if not form.validate():
        return _editor(definition, status=422, submitted={"availability": form})
    save_availability(definition, form)
    return _done(definition, "Availability saved.", focus="av-save", anchor="availability")


# ---------------------------------------------------------------- versions, history, export


@bp.get("/<int:definition_id>/history")
def history(definition_id: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    versions = [(v, definitions.diff_versions(definition, v.number - 1, v.number) if v.number > 1 else None)
                for v in reversed(definition.versions)]
    return render("designer/case_types/history.html", definition=definition, versions=versions,
                  events=definitions.history(db.session, definition))


@bp.get("/<int:definition_id>/versions/<int:number>")
def version(definition_id: int, number: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    found = definitions.get_version(definition, number)
    document = definitions.version_document(found)
    states, transitions = view.read_only(document, _options(document))
    return render("designer/case_types/version.html", definition=definition, version=found, document=document,
                  states=states, transitions=transitions, swatch=swatch,
                  diagram=case_type_svg(document, id_prefix=f"v{number}"))


@bp.get("/<int:definition_id>/export")
def export(definition_id: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    data = definitions.export_document(definition, request.args.get("version", type=int))
    return send_file(io.BytesIO(data), mimetype="application/json", as_attachment=True,
                     download_name=f"{definition.slug}.case_type.json", max_age=0)

