"""Real cases for the document tests: a complaint case type with templates, filed and closed through the
services (the same calls the pages and the API make)."""

from __future__ import annotations

from typing import Any

from app.extensions import db
from cases import accounts, assignment, definitions, lifecycle
from cases.models import Case, Document
from cases.submissions import Uploader
from tests.support.complaint import GOOD, publish_complaint

LETTER: dict[str, Any] = {
    "template_name": "Decision letter", "version": 2,
    "blocks": [
        {"kind": "header", "text": "{{organisation}} · complaints"},
        {"kind": "heading", "text": "Decision on {{case_ref}}", "level": 1},
        {"kind": "text", "text": "Dear {{name}},\n\nYour complaint about order {{order_number}} was upheld."},
        {"kind": "field_table", "fields": ["order_number", "category"], "title": "Your complaint"},
        {"kind": "timeline", "title": "What happened"},
        {"kind": "signatures", "signers": ["Case officer", "{{name}}"]},
        {"kind": "footer", "text": "Questions? Quote {{case_ref}}."},
    ],
}
MEMO: dict[str, Any] = {
    "template_name": "Internal memo", "version": 1, "internal": True,
    "blocks": [{"kind": "heading", "text": "Memo on {{case_ref}}"},
               {"kind": "audit_table", "title": "Recent events", "limit": 20}],
}


def publish_complaint_with_templates(app: Any, templates: list[dict[str, Any]] | None = None) -> None:
    """The complaint form (v1) and a complaint case type carrying `templates`, published as the admin."""
    publish_complaint(app, documents=[LETTER, MEMO] if templates is None else templates)


def file_case(app: Any, **data: Any) -> int:
    """A complaint filed by the demo requester; returns its id."""
    with app.app_context():
        requester = accounts.find_user(db.session, "requester@example.com")
        case_type = definitions.find_definition(db.session, "case_type", "complaint")
        assert requester is not None and case_type is not None
        case = lifecycle.file_case(db.session, case_type, {**GOOD, **data}, uploader=Uploader(requester))
        case_id = case.id
        db.session.remove()
    return case_id


def work_and_close(app: Any, case_id: int, *, comment: str = "Refund of 49.90 EUR sent.",
                   description: str | None = None) -> None:
    """The demo agent claims the case, starts work, edits the description, and resolves it."""
    with app.app_context():
        agent = accounts.find_user(db.session, "agent@example.com")
        assert agent is not None
        case = db.session.get(Case, case_id)
        assert case is not None
        assignment.claim(db.session, case, agent)
        lifecycle.transition(db.session, case, "start", agent)
        if description is not None:
            lifecycle.edit_fields(db.session, case, {"description": description}, agent)
        lifecycle.transition(db.session, case, "resolve", agent, comment=comment)
        db.session.remove()


def documents_of(app: Any, case_id: int) -> list[Document]:
    """The case's document rows, oldest first (detached, safe to read outside the app context)."""
    from sqlalchemy import select

    with app.app_context():
        rows = list(db.session.scalars(select(Document).where(Document.case_id == case_id).order_by(Document.id)))
        db.session.expunge_all()
        db.session.remove()
    return rows


def render_queued(app: Any, case_id: int) -> list[Document]:
    """Render the case's queued documents now, as the background job does."""
    from app.documents.queue import render_documents

    with app.app_context():
        ids = [d.id for d in documents_of(app, case_id) if d.status == "queued"]
        render_documents(ids)
        db.session.remove()
    return documents_of(app, case_id)


def stored_pdf(app: Any, document: Document) -> bytes:
    from app.uploads import document_store

    return document_store(app).read(document.storage_name or "")
