"""The document template designer: admins compose a case type's templates from blocks (heading, text with
`{{field}}` placeholders, field table, timeline, audit table, signature lines, page header with a logo,
page footer) and see a live preview rendered by the PDF engine, from a sample or a real case.

Routes stay thin: editing is case_types.template_editing, storing the case-type draft (with the page's
revision, so a stale page gets 409) app.designer.drafts, the preview app.documents.preview (a renderer
child under a short time limit). Every edit answers with the whole editor (its htmx partial).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy import select

from app.auth import require_roles
from app.designer.drafts import posted_revision, save_change
from app.documents import preview
from app.documents.dossier import block_document_request
from app.documents.errors import RenderFailed
from app.documents.render_request import RenderRequest
from app.extensions import db
from app.htmx import is_htmx, render, see_other
from app.uploads import logo_store, store_logo
from case_types import template_editing as editing
from case_types.document_templates import BUILTIN_PLACEHOLDERS, BlockDocument, BlockError, parse_block_document
from case_types.errors import Conflict, NotFound, ValidationFailed
from cases import case_versions, definitions, document_content
from cases.clock import utcnow
from cases.errors import TooManyRequests
from cases.inputs import parse_count
from cases.models import Case, Definition, Role
from cases.submissions import form_schema
from forms.errors import DefinitionProblem
from forms.schema import FormSchema

bp = Blueprint("designer_documents", __name__, url_prefix="/designer/case-types/<int:definition_id>/documents")
require_roles(bp, Role.ADMIN)

KIND = "case_type"
Change = Callable[[dict[str, Any]], dict[str, Any]]


def _definition(definition_id: int) -> Definition:
    return definitions.get_definition(db.session, KIND, definition_id)


def _schema(document: dict[str, Any]) -> FormSchema | None:
    """The form the draft files with (None while it names no published form version)."""
    slug, number = document.get("form"), document.get("form_version")
    if not isinstance(slug, str) or not isinstance(number, int) or isinstance(number, bool):
        return None
    try:
        return form_schema(case_versions.pinned_form_version(db.session, slug, number))
    except NotFound:
        return None


@dataclass
class Editor:
    """What the editor page shows."""

    definition: Definition
    document: dict[str, Any]
    templates: list[dict[str, Any]]
    index: int | None
    problems: list[DefinitionProblem]
    fields: list[tuple[str, str]]  # (key, label) of the form's fields
    placeholders: list[str]
    cases: list[Case]
    preview_case: int | None
    can_png: bool
    message: str = ""
    alert: str = ""
    conflict: str = ""

    @property
    def template(self) -> dict[str, Any] | None:
        return self.templates[self.index] if self.index is not None else None

    @property
    def revision(self) -> int:
        return self.definition.draft_revision

    def problems_at(self, path: str) -> list[str]:
        """Problems of a template (`documents[i]`) or of one of its blocks (`documents[i].blocks[n]`)."""
        return [p.message for p in self.problems if p.path == path or p.path.startswith(path + ".")]


def _editor(definition: Definition, index: int | None, *, status: int = 200, message: str = "", alert: str = "",
            conflict: str = "", problems: list[DefinitionProblem] | None = None) -> ResponseReturnValue:
    document = definitions.draft_document(definition)
    items = editing.templates(document)
    if index is not None and not 0 <= index < len(items):
        raise NotFound("No such document template.")
    schema = _schema(document)
    fields = [(spec.key, spec.display_label) for spec in schema.fields if spec.has_value] if schema else []
    cases = list(db.session.scalars(select(Case).where(Case.case_type_id == definition.id)
                                    .order_by(Case.created_at.desc()).limit(20)))
    preview_case = request.values.get("case", type=int)
    editor = Editor(
        definition=definition, document=document, templates=items, index=index,
        problems=definitions.draft_problems(db.session, definition) if problems is None else problems,
        fields=fields, placeholders=[key for key, _label in fields] + list(BUILTIN_PLACEHOLDERS), cases=cases,
        preview_case=preview_case if any(c.id == preview_case for c in cases) else None,
        can_png=preview.can_rasterise(), message=message, alert=alert, conflict=conflict)
    page = "designer/documents/edit.html" if index is not None else "designer/documents/index.html"
    return render(page, "designer/documents/_editor.html" if index is not None else None, status=status,
                  editor=editor, labels=editing.BLOCK_LABELS, form=FlaskForm())


def _change(definition: Definition, index: int | None, change: Change, *, message: str,
            go_to: int | None = None, to_list: bool = False) -> ResponseReturnValue:
    """Apply `change` to the current draft and save it with the page's revision; refusals re-render."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    latest = definition.latest_version

    def settled(doc: dict[str, Any]) -> tuple[dict[str, Any], None]:
        return editing.settle_versions(change(doc), definitions.version_document(latest) if latest else None), None

    try:
        problems, _ = save_change(definition, posted_revision(), settled)
    except Conflict as exc:
        return _editor(definition, index, status=409, conflict=exc.message)
    except NotFound as exc:
        return _editor(definition, None, status=404, alert=exc.message)
    except ValidationFailed as exc:
        details = [" ".join(v) for v in exc.fields.values()]
        return _editor(definition, index, status=422, alert=" ".join([exc.message, *details]))
    target = None if to_list else index if go_to is None else go_to
    if not is_htmx() or target != index:
        flash(message, "success")
        url = url_for(".edit", definition_id=definition.id, index=target) if target is not None else \
            url_for(".index", definition_id=definition.id)
        return see_other(url)
    return _editor(definition, index, message=message, problems=problems)


# ---------------------------------------------------------------- templates


@bp.get("/")
def index(definition_id: int) -> ResponseReturnValue:
    return _editor(_definition(definition_id), None)


@bp.post("/")
def add_template(definition_id: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    return _change(definition, None, lambda doc: editing.add_template(
        doc, request.form.get("name", ""), internal=request.form.get("internal") == "y")[0],
        message="Template added: compose it from blocks below.",
        go_to=len(editing.templates(definitions.draft_document(definition))))


@bp.get("/<int:index>")
def edit(definition_id: int, index: int) -> ResponseReturnValue:
    return _editor(_definition(definition_id), index)


@bp.post("/<int:index>")
def save_template(definition_id: int, index: int) -> ResponseReturnValue:
    return _change(_definition(definition_id), index, lambda doc: editing.update_template(
        doc, index, name=request.form.get("name", ""), internal=request.form.get("internal") == "y"),
        message="Template saved.")


@bp.post("/<int:index>/remove")
def remove_template(definition_id: int, index: int) -> ResponseReturnValue:
    return _change(_definition(definition_id), index, lambda doc: editing.remove_template(doc, index),
                   message="Template removed.", to_list=True)


# ---------------------------------------------------------------- blocks


@bp.post("/<int:index>/blocks")
def add_block(definition_id: int, index: int) -> ResponseReturnValue:
    return _change(_definition(definition_id), index,
                   lambda doc: editing.add_block(doc, index, request.form.get("kind", ""))[0], message="Block added.")


def _whole(name: str, default: int, low: int, high: int) -> int:
    raw = (request.form.get(name) or "").strip()
    value = parse_count(raw, low=low, high=high)
    if value is None:
        raise ValidationFailed(f"Enter a whole number from {low} to {high}.", {name: [f"From {low} to {high}."]})
    return value


def _block_input() -> editing.BlockInput:
    fields = None if request.form.get("all_fields") == "y" else request.form.getlist("fields")
    return editing.BlockInput(
        text=request.form.get("text", ""), level=_whole("level", 1, 1, 3) if "level" in request.form else 1,
        title=request.form.get("title", ""), fields=fields,
        limit=_whole("limit", 50, 1, 500) if "limit" in request.form else 50,
        signers=(request.form.get("signers") or "").splitlines())


@bp.post("/<int:index>/blocks/<int:number>")
def save_block(definition_id: int, index: int, number: int) -> ResponseReturnValue:
    return _change(_definition(definition_id), index,
                   lambda doc: editing.update_block(doc, index, number, _block_input()), message="Block saved.")


@bp.post("/<int:index>/blocks/<int:number>/move")
def move_block(definition_id: int, index: int, number: int) -> ResponseReturnValue:
    offset = -1 if request.form.get("direction") == "up" else 1
    return _change(_definition(definition_id), index,
                   lambda doc: editing.move_block(doc, index, number, offset)[0], message="Block moved.")


@bp.post("/<int:index>/blocks/<int:number>/remove")
def remove_block(definition_id: int, index: int, number: int) -> ResponseReturnValue:
    return _change(_definition(definition_id), index, lambda doc: editing.remove_block(doc, index, number),
                   message="Block removed.")


@bp.post("/<int:index>/logo")
def upload_logo(definition_id: int, index: int) -> ResponseReturnValue:
    """A PNG or JPEG (checked by content) for the template's page header, kept under a generated name."""
    definition = _definition(definition_id)

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        if request.form.get("remove") == "y":
            return editing.set_logo(doc, index, None)
        upload = request.files.get("logo")
        if upload is None or not upload.filename:
            raise ValidationFailed("Choose an image to upload.", {"logo": ["Choose a PNG or JPEG image."]})
        return editing.set_logo(doc, index, store_logo(current_app._get_current_object(),  # type: ignore[attr-defined]
                                                       upload.stream))

    return _change(definition, index, change, message="Logo saved.")


# ---------------------------------------------------------------- preview


def _preview_request(definition: Definition, index: int) -> RenderRequest:
    """The draft template as a render request, filled from a real case of this type (?case=) or a sample."""
    document = definitions.draft_document(definition)
    items = editing.templates(document)
    if not 0 <= index < len(items):
        raise NotFound("No such document template.")
    try:
        template: BlockDocument = parse_block_document(items[index])
    except BlockError as exc:
        raise ValidationFailed(f"Fix the template to preview it: {exc}") from None
    organisation = current_app.config["ORGANISATION_NAME"]
    case_id = request.args.get("case", type=int)
    case = db.session.get(Case, case_id) if case_id else None
    if case is not None and case.case_type_id == definition.id:
        context = document_content.preview_context(db.session, case, organisation=organisation,
                                                   public=not template.internal)
    else:
        context = document_content.sample_context(_schema(document), case_type=definition.title,
                                                  organisation=organisation, generated_at=utcnow())
    return block_document_request(template, context, stable_id=f"preview/{definition.id}/{index}",
                                  logos=logo_store(current_app._get_current_object()))  # type: ignore[attr-defined]


@contextlib.contextmanager
def _previewing() -> Iterator[dict[str, Any]]:
    """The renderer's limits for a preview, and its failures in the words of the page."""
    limits = {"memory_mb": int(current_app.config["DOCUMENT_MEMORY_MB"]),
              "timeout_s": float(current_app.config["DOCUMENT_TIMEOUT_S"])}
    try:
        yield limits
    except preview.PreviewBusy as exc:
        raise TooManyRequests(str(exc)) from None
    except RenderFailed as exc:
        raise ValidationFailed(f"The preview could not be rendered: {exc.reason}") from None


@bp.get("/<int:index>/preview.pdf")
def preview_pdf(definition_id: int, index: int) -> ResponseReturnValue:
    wanted = _preview_request(_definition(definition_id), index)
    with _previewing() as limits:
        pdf = preview.preview_pdf(wanted, **limits)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'attachment; filename="preview.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:index>/preview.png")
def preview_png(definition_id: int, index: int) -> ResponseReturnValue:
    """One page of the preview as an image (the first unless ?page=), for the editor's live preview."""
    if not preview.can_rasterise():
        raise NotFound("Page images need poppler-utils (pdftoppm); download the preview PDF instead.")
    wanted = _preview_request(_definition(definition_id), index)
    page = min(max(1, request.args.get("page", 1, type=int)), 999)
    with _previewing() as limits:
        png = preview.preview_png(wanted, page, **limits)
    if png is None:
        raise NotFound("That page does not exist.")
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response
