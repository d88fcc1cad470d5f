"""API: a case's stored documents and their downloads (row-level access as for the case itself)."""

from __future__ import annotations

from typing import Any

from app.api.base import api_user, bp
from app.api.openapi import operation
from app.api.schemas import DocumentOut, Items
from app.documents.pages import send_document
from app.extensions import db
from case_types.errors import NotFound
from cases import access, documents


@bp.get("/cases/<int:case_id>/documents")
@operation("List a case's documents", response=Items[DocumentOut])
def case_documents(case_id: int) -> Any:
    """The case's documents the caller may see, newest first (requesters: finished, non-internal ones)."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    hide = not access.sees_internal(db.session, user, case)
    items = [documents.document_json(d) for d in documents.documents_for(db.session, case, user)]
    for item in items:
        if hide and item["requested_by"]:
            item["requested_by"] = "support"
    return {"items": items}


@bp.get("/cases/<int:case_id>/documents/<int:document_id>")
@operation("Download a document", produces="application/pdf", errors=(409,))
def download_document(case_id: int, document_id: int) -> Any:
    """The PDF (409 while it is not ready); the download is an audit event of the case."""
    user = api_user()
    document, case = documents.document_for(db.session, document_id, user)
    if case.id != case_id:
        raise NotFound("No such document.")
    return send_document(db.session, document, case, user)
