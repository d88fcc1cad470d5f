"""From a context to a `RenderRequest`: the one call a background job makes before `render_in_child`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from app.documents.render_request import Attachment, PdfMetadata, RenderRequest
from app.documents.templating import DEFAULT_AUDIT_LIMIT, block_document_html, dossier_html
from case_types.document_templates import BlockDocument, DossierContext
from cases.storage import FileStorage


def dossier_request(
    context: DossierContext,
    *,
    audit_json: bytes,
    audit_csv: bytes,
    author: str = "Casework",
    stable_id: str | None = None,
    created_at: datetime | None = None,
    audit_limit: int = DEFAULT_AUDIT_LIMIT,
    bundle_json: bytes = b"",
) -> RenderRequest:
    """The PDF/A-3b case dossier with the complete audit log embedded as audit.json and audit.csv, and
    the proof bundle for the offline verifier as bundle.json (when a checkpoint covers the case).

    `stable_id` defaults to `<ref>/dossier/<chain head>` and `created_at` to `context.generated_at`, so
    the same case at the same audit chain head always renders to the same bytes.
    """
    metadata = PdfMetadata(
        title=context.title,
        author=author,
        subject=f"Case dossier {context.ref}",
        keywords=(context.ref, context.case_type, "case dossier"),
        stable_id=stable_id or f"{context.ref}/dossier/{context.chain_head}",
        created_at=created_at or context.generated_at,
    )
    attachments = (
        Attachment("audit.json", audit_json, description=f"Complete audit log of {context.ref} (JSON)"),
        Attachment("audit.csv", audit_csv, description=f"Complete audit log of {context.ref} (CSV)"),
    )
    if bundle_json:
        attachments += (Attachment("bundle.json", bundle_json, description=f"Signed checkpoint and inclusion "
                                   f"proof of {context.ref}'s audit chain (verifier/casework_verify.py)"),)
    html = dossier_html(context, audit_limit=audit_limit)
    return RenderRequest(html=html, metadata=metadata, attachments=attachments)


def block_document_request(
    document: BlockDocument,
    context: DossierContext,
    *,
    values: Mapping[str, str] | None = None,
    author: str = "Casework",
    stable_id: str | None = None,
    created_at: datetime | None = None,
    attachments: Sequence[Attachment] = (),
    logos: FileStorage | None = None,
) -> RenderRequest:
    """An admin-composed document (decision letter, contract) for one case.

    `logos` is the store the header block's logo is read from; `stable_id` defaults to
    `<ref>/<template name>@v<version>/<chain head>`.
    """
    names = {attachment.name for attachment in attachments}
    metadata = PdfMetadata(
        title=f"{document.template_name} {context.ref}",
        author=author,
        subject=f"{document.template_name} (template version {document.version}) for case {context.ref}",
        keywords=(context.ref, context.case_type, document.template_name),
        stable_id=stable_id or f"{context.ref}/{document.template_name}@v{document.version}/{context.chain_head}",
        created_at=created_at or context.generated_at,
    )
    html = block_document_html(
        document, context, values=values, audit_attached={"audit.json", "audit.csv"} <= names
    )
    return RenderRequest(html=html, metadata=metadata, attachments=tuple(attachments), logos=logos)
