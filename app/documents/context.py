"""The context contract between the database and the PDF templates (defined in cases.doc_templates).

Whoever builds documents from the database fills these dataclasses; the templates read nothing else.
They are pure data and belong to the document language, so the domain (cases.documents) builds them
without importing the web layer; this module keeps the names the renderer and its tests use.
"""

from __future__ import annotations

from cases.doc_templates import (
    BLOCK_TYPES,
    FIELD_KEY_RE,
    LOGO_NAME_RE,
    MAX_LONG_TEXT,
    MAX_SHORT_TEXT,
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

__all__ = [
    "BLOCK_TYPES",
    "FIELD_KEY_RE",
    "LOGO_NAME_RE",
    "MAX_LONG_TEXT",
    "MAX_SHORT_TEXT",
    "AuditRow",
    "AuditTableBlock",
    "Block",
    "BlockDocument",
    "DossierContext",
    "FieldRow",
    "FieldTableBlock",
    "FooterBlock",
    "HeaderBlock",
    "HeadingBlock",
    "SignaturesBlock",
    "TextBlock",
    "TimelineBlock",
    "TimelineRow",
]
