"""Admin-composed documents: placeholder substitution and the stored JSON form of block documents.

Admins never write Jinja. Their text reaches the PDF only through `fill_placeholders`, which swaps
`{{field_key}}` tokens for field values and returns plain strings; the trusted templates escape them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from app.documents.context import BLOCK_TYPES, Block, BlockDocument, DossierContext
from app.documents.errors import BlockError

#: `{{field_key}}` with optional spaces inside the braces; the key follows the form language's rule.
#: Anything else between double braces (`{{ ''.__class__ }}`, `{{a.b}}`, `{{x|safe}}`) is not a
#: placeholder and prints literally.
PLACEHOLDER_RE = re.compile(r"\{\{ *([a-z][a-z0-9_]{0,62}) *\}\}")

#: Keys every document can use besides the case's own fields; a form field of the same key wins.
BUILTIN_PLACEHOLDERS = ("case_ref", "case_title", "case_type", "case_state", "organisation", "generated_on")


class MissingValue(str):
    """The visible stand-in for a placeholder whose key has no value: `[missing: key]`.

    Chosen over an empty string because a decision letter with a silent gap reads as if it were
    complete; the marker shows up in the designer's live preview and in review. It is a `str`, so it
    is escaped and printed like any other text; templates may highlight it (`is missing` test).
    """

    __slots__ = ()

    def __new__(cls, key: str) -> MissingValue:
        return super().__new__(cls, f"[missing: {key}]")


def fill_placeholders(text: str, values: Mapping[str, str]) -> list[str]:
    """Split `text` into plain segments with every `{{field_key}}` replaced by its value.

    One pass over the admin's text: a value that itself contains `{{other}}` stays literal, so case
    data can never pull in another field or anything else. Unknown keys become `MissingValue`.
    """
    segments: list[str] = []
    position = 0
    for match in PLACEHOLDER_RE.finditer(text):
        if match.start() > position:
            segments.append(text[position : match.start()])
        key = match.group(1)
        value = values.get(key)
        segments.append(MissingValue(key) if value is None else str(value))
        position = match.end()
    if position < len(text):
        segments.append(text[position:])
    return segments


def placeholder_values(context: DossierContext) -> dict[str, str]:
    """The values placeholders can name: the case's fields by key, then the built-in `case_*` keys."""
    values = {
        "case_ref": context.ref,
        "case_title": context.title,
        "case_type": context.case_type,
        "case_state": context.state,
        "organisation": context.organisation,
        "generated_on": context.generated_at.date().isoformat(),
    }
    values.update({row.key: row.value for row in context.fields if row.key})
    return values


# --- stored form -------------------------------------------------------------------------------------


def parse_block(data: Mapping[str, Any]) -> Block:
    """Build one block from its stored dict (`{"kind": "text", "text": "..."}`); raises `BlockError`."""
    if not isinstance(data, Mapping):
        raise BlockError("a block must be an object with a kind")
    kind = data.get("kind")
    cls = BLOCK_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise BlockError(f"unknown block kind {kind!r}; known kinds: {', '.join(sorted(BLOCK_TYPES))}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names - {"kind"})
    if unknown:
        raise BlockError(f"{kind} block: unknown properties {', '.join(unknown)}")
    try:
        return cls(**{name: data[name] for name in names if name in data})
    except TypeError as exc:
        raise BlockError(f"{kind} block: {exc}") from exc


def parse_block_document(data: Mapping[str, Any]) -> BlockDocument:
    """Build a `BlockDocument` from its stored JSON object; raises `BlockError` naming the bad block."""
    if not isinstance(data, Mapping):
        raise BlockError("a document template must be an object")
    name, version, blocks = data.get("template_name"), data.get("version"), data.get("blocks")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BlockError("version must be a whole number from 1")
    if not isinstance(blocks, list):
        raise BlockError("blocks must be a list")
    parsed = []
    for number, block in enumerate(blocks, start=1):
        try:
            parsed.append(parse_block(block))
        except BlockError as exc:
            raise BlockError(f"block {number}: {exc}") from exc
    return BlockDocument(template_name=name, version=version, blocks=parsed)  # type: ignore[arg-type]


def block_document_to_dict(document: BlockDocument) -> dict[str, Any]:
    """The stored JSON form of a block document; `parse_block_document` reads it back unchanged."""
    return {
        "template_name": document.template_name,
        "version": document.version,
        "blocks": [{"kind": block.kind, **dataclasses.asdict(block)} for block in document.blocks],
    }
