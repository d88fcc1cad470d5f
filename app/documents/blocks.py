"""Admin-composed documents: placeholder substitution and the stored JSON form of block documents.

The document language is data and lives in `cases.doc_templates` (case types carry their templates);
this module keeps the names the renderer and its tests use.
"""

from __future__ import annotations

from cases.doc_templates import (
    BUILTIN_PLACEHOLDERS,
    PLACEHOLDER_RE,
    MissingValue,
    block_document_to_dict,
    fill_placeholders,
    parse_block,
    parse_block_document,
    placeholder_values,
)

__all__ = [
    "BUILTIN_PLACEHOLDERS",
    "PLACEHOLDER_RE",
    "MissingValue",
    "block_document_to_dict",
    "fill_placeholders",
    "parse_block",
    "parse_block_document",
    "placeholder_values",
]
