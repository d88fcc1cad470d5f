"""The form designer's workspace: canvas, side panel, live preview and status line, as one template context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import wtforms

from app.designer.forms import builder, messages, palette
from app.designer.forms.panel import property_panel
from app.designer.forms.preview import preview_document
from app.designer.forms.problems import ProblemMap
from forms import editing
from forms.conditions import OPERATORS
from forms.definitions import load_definition
from forms.editing import Removed
from forms.fieldtypes import FIELD_TYPES
from forms.schema import FormSchema
from forms.validation import defaults, hidden_fields, to_json_values
from forms.wtf import build_form_class


@dataclass(frozen=True)
class Selection:
    """What the side panel edits: a field, a page, or (neither) the form itself."""

    field: str | None = None
    page: str | None = None


@dataclass(frozen=True)
class Status:
    """What the status line says after a request, and where keyboard focus goes."""

    notice: str | None = None
    undo: Removed | None = None
    alert: str | None = None
    focus: str | None = None


def requester_view(schema: FormSchema) -> dict[str, Any]:
    """The form as requesters get it: one WTForms form per page, and the fields hidden at the start."""
    forms = {page.key: build_form_class(schema, page=page.key, base=wtforms.Form)() for page in schema.pages}
    hidden = hidden_fields(schema, to_json_values(defaults(schema)))
    return {"preview_schema": schema, "preview_forms": forms, "preview_hidden": hidden}


def _preview(document: dict[str, Any]) -> dict[str, Any]:
    preview = preview_document(document)
    if preview.document is None:
        return {"preview": preview, "preview_schema": None, "preview_forms": {}, "preview_hidden": set()}
    return {"preview": preview, **requester_view(load_definition(preview.document))}


def _panel(document: dict[str, Any], selection: Selection, problems: ProblemMap) -> dict[str, Any]:
    field = editing.find_field(document, selection.field) if selection.field else None
    if field is None:
        page = editing.find_page(document, selection.page) if selection.page else None
        return {"selected_field": None, "selected_page": page}
    key = str(field["key"])
    return {
        "selected_field": field, "selected_page": None, "panel": property_panel(field, problems),
        "place": editing.place_of(document, key), "cond_fields": builder.condition_fields(document, key),
        "builders": {which: builder.state_from_condition(field.get(which)) for which in editing.CONDITIONS},
        "used_by": messages.uses(document, key),
    }


def template_helpers() -> dict[str, Any]:
    """The functions the designer's templates call (the condition builder's partial too)."""
    return {
        "field_types": FIELD_TYPES, "type_title": messages.field_type_title, "summary": builder.condition_summary,
        "operators_for": builder.operators_for,
        "arity": lambda op: OPERATORS[op].arity if op in OPERATORS else "one",
    }


def workspace_context(document: dict[str, Any], problems: ProblemMap, selection: Selection,
                      status: Status) -> dict[str, Any]:
    """Everything the workspace template shows for the draft ``document`` with its ``problems``."""
    return {
        "document": document, "problems": problems, "selection": selection, "notice": status.notice,
        "undo": status.undo, "alert": status.alert, "focus": status.focus, "palette": palette.PALETTE,
        "add_target": palette.add_target(document, field=selection.field, page=selection.page),
        **_panel(document, selection, problems), **_preview(document), **template_helpers(),
    }
