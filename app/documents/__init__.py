"""PDF documents of Casework: case dossiers (PDF/A-3b with the audit log attached) and admin-composed letters.

The flow: build a context (`context.py`, from the database), turn it into a `RenderJob` (`dossier.py`),
and render it with `render_in_child` (`child.py`), which runs WeasyPrint in a child process with a
memory and time limit. Nothing imported here imports WeasyPrint or Flask's app, so web processes and
workers stay light; `app.documents.render` (WeasyPrint itself) is imported only where PDFs are made.
"""

from __future__ import annotations

from app.documents.blocks import fill_placeholders, parse_block_document, placeholder_values
from app.documents.child import render_in_child, start_renderer
from app.documents.context import (
    AuditRow,
    AuditTableBlock,
    Block,
    BlockDocument,
    DossierContext,
    FieldRow,
    FieldTableBlock,
    FooterBlock,
    HeaderBlock,
    HeadingBlock,
    SignaturesBlock,
    TextBlock,
    TimelineBlock,
    TimelineRow,
)
from app.documents.dossier import block_document_job, dossier_job
from app.documents.errors import AssetMissing, BlockError, DocumentError, RenderFailed
from app.documents.jobs import Attachment, PdfMetadata, RenderJob

__all__ = [
    "AssetMissing",
    "Attachment",
    "AuditRow",
    "AuditTableBlock",
    "Block",
    "BlockDocument",
    "BlockError",
    "DocumentError",
    "DossierContext",
    "FieldRow",
    "FieldTableBlock",
    "FooterBlock",
    "HeaderBlock",
    "HeadingBlock",
    "PdfMetadata",
    "RenderFailed",
    "RenderJob",
    "SignaturesBlock",
    "TextBlock",
    "TimelineBlock",
    "TimelineRow",
    "block_document_job",
    "dossier_job",
    "fill_placeholders",
    "parse_block_document",
    "placeholder_values",
    "render_in_child",
    "start_renderer",
]
