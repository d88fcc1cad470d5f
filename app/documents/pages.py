"""Documents on pages: the documents section of a case page (agent, requester and auditor pages, and its
htmx refresh), and sending a stored PDF (pages and API alike)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, current_app, send_file
from sqlalchemy.orm import Session

from app.uploads import document_store, open_stored
from cases import documents
from cases.clock import utcnow
from cases.models import Case, Document, Role, User


@dataclass
class DocumentRow:
    document: Document
    name: str
    may_retry: bool


@dataclass
class DocumentSection:
    case: Case
    rows: list[DocumentRow]
    may_draft: bool
    show_hashes: bool = False
    """Auditors see each document's SHA-256 and the audit events it covers; others see the document."""

    @property
    def pending(self) -> bool:
        """Something is still being made: the section refreshes itself until it is done."""
        return any(row.document.status in ("queued", "rendering") for row in self.rows)


def document_section(session: Session, case: Case, user: User) -> DocumentSection:
    """What `user` sees of the case's documents and may do with them (the caller checked the case)."""
    now = utcnow()
    admin = user.has_role(Role.ADMIN)
    rows = [DocumentRow(document=d, name=documents.display_kind(d), may_retry=admin and documents.may_retry(d, now))
            for d in documents.documents_for(session, case, user)]
    return DocumentSection(case=case, rows=rows, may_draft=documents.may_request_draft(session, user, case),
                           show_hashes=user.has_role(Role.AUDITOR))


def send_document(session: Session, document: Document, case: Case, user: User) -> Response:
    """The stored PDF as an attachment, after recording the download in the case's audit chain."""
    documents.downloadable(document)
    body = open_stored(document_store(current_app), document.storage_name)
    documents.record_download(session, document, case, user)
    response = send_file(body, mimetype="application/pdf", as_attachment=True,
                         download_name=documents.download_name(document, case), max_age=0)
    response.headers["X-Content-SHA256"] = document.sha256 or ""
    return response
