"""Editing a case type's document templates the way the designer does: pure functions from a case-type
document to a new one (the input is never changed).

Admins compose templates from blocks; they never write JSON or Jinja. Each operation refuses only what
would tangle the draft (an unknown template or block, a malformed value); everything else is stored and
reported by the case type's loader at `documents[i]...` (case_types.template_checks.check_templates).

A template's `version` follows the published case type: unchanged templates keep the published number,
a changed one gets the published number + 1, a new one 1 (`settle_versions`), however many edits it took.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from case_types.document_templates import FIELD_KEY_RE, LOGO_NAME_RE, MAX_TEMPLATE_NAME, MAX_TEMPLATES
from case_types.errors import NotFound, ValidationFailed

Document = dict[str, Any]

#: What a new block of each kind starts as (valid, so a fresh block never shows a problem).
NEW_BLOCKS: dict[str, dict[str, Any]] = {
    "heading": {"kind": "heading", "text": "Heading", "level": 1},
    "text": {"kind": "text", "text": ""},
    "field_table": {"kind": "field_table", "fields": None, "title": ""},
    "timeline": {"kind": "timeline", "title": "Timeline"},
    "audit_table": {"kind": "audit_table", "title": "Audit trail", "limit": 50},
    "signatures": {"kind": "signatures", "signers": ["Case officer"]},
    "header": {"kind": "header", "text": "{{organisation}}", "logo": None},
    "footer": {"kind": "footer", "text": ""},
}
BLOCK_LABELS = {
    "heading": "Heading", "text": "Text", "field_table": "Field table", "timeline": "Timeline",
    "audit_table": "Audit table (internal templates)", "signatures": "Signature lines",
    "header": "Page header", "footer": "Page footer",
}


@dataclass(frozen=True)
class BlockInput:
    """What a block's form gives; only the properties of the block's kind are used."""

    text: str = ""
    level: int = 1
    title: str = ""
    fields: Sequence[str] | None = None
    limit: int = 50
    signers: Sequence[str] = ()


def templates(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = document.get("documents")
    return [dict(t) for t in raw if isinstance(t, Mapping)] if isinstance(raw, list) else []


def _copy(document: Mapping[str, Any]) -> tuple[Document, list[dict[str, Any]]]:
    doc: Document = copy.deepcopy(dict(document))
    doc["documents"] = templates(doc)
    return doc, doc["documents"]


def _template(items: list[dict[str, Any]], index: int) -> dict[str, Any]:
    if not 0 <= index < len(items):
        raise NotFound("No such document template (the draft changed: reload it).")
    return items[index]


def _blocks(template: dict[str, Any]) -> list[dict[str, Any]]:
    if not isinstance(template.get("blocks"), list):
        template["blocks"] = []
    blocks: list[dict[str, Any]] = template["blocks"]
    return blocks


def _block(template: dict[str, Any], number: int) -> dict[str, Any]:
    blocks = _blocks(template)
    if not 0 <= number < len(blocks) or not isinstance(blocks[number], dict):
        raise NotFound("No such block (the draft changed: reload it).")
    return blocks[number]


def _name(name: str, items: list[dict[str, Any]], *, skip: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Give the template a name.", {"name": ["Give the template a name."]})
    if len(name) > MAX_TEMPLATE_NAME:
        raise ValidationFailed("The name is too long.", {"name": [f"Use at most {MAX_TEMPLATE_NAME} characters."]})
    if name.lower() == "dossier":
        raise ValidationFailed("That name is taken.", {"name": ["'dossier' is the case dossier's name."]})
    if any(i != skip and str(t.get("template_name", "")).lower() == name.lower() for i, t in enumerate(items)):
        raise ValidationFailed("That name is taken.", {"name": [f"Another template is called '{name}'."]})
    return name


def add_template(document: Mapping[str, Any], name: str, *, internal: bool = False) -> tuple[Document, int]:
    """A new template with a heading and a text block; returns the document and the template's index."""
    doc, items = _copy(document)
    if len(items) >= MAX_TEMPLATES:
        raise ValidationFailed(f"A case type has at most {MAX_TEMPLATES} document templates.")
    template: dict[str, Any] = {"template_name": _name(name, items), "version": 1, "blocks": [
        {"kind": "heading", "text": "{{case_type}} {{case_ref}}", "level": 1},
        {"kind": "text", "text": ""},
    ]}
    if internal:
        template["internal"] = True
    items.append(template)
    return doc, len(items) - 1


def update_template(document: Mapping[str, Any], index: int, *, name: str, internal: bool) -> Document:
    doc, items = _copy(document)
    template = _template(items, index)
    template["template_name"] = _name(name, items, skip=index)
    if internal:
        template["internal"] = True
    else:
        template.pop("internal", None)
    return doc


def remove_template(document: Mapping[str, Any], index: int) -> Document:
    doc, items = _copy(document)
    _template(items, index)
    del items[index]
    if not items:
        doc.pop("documents")
    return doc


def add_block(document: Mapping[str, Any], index: int, kind: str) -> tuple[Document, int]:
    """Append a block of `kind` (headers and footers go first and last); returns its position."""
    if kind not in NEW_BLOCKS:
        raise ValidationFailed("Choose a kind of block.", {"kind": ["Choose a kind of block."]})
    doc, items = _copy(document)
    blocks = _blocks(_template(items, index))
    if kind in ("header", "footer") and any(isinstance(b, Mapping) and b.get("kind") == kind for b in blocks):
        raise ValidationFailed(f"The template already has a page {kind}.", {"kind": [f"Only one page {kind}."]})
    block = copy.deepcopy(NEW_BLOCKS[kind])
    position = 0 if kind == "header" else len(blocks)
    blocks.insert(position, block)
    return doc, position


def update_block(document: Mapping[str, Any], index: int, number: int, data: BlockInput) -> Document:
    """Set a block's properties from its form (its kind stays)."""
    doc, items = _copy(document)
    block = _block(_template(items, index), number)
    kind = block.get("kind")
    if kind in ("heading", "text", "header", "footer"):
        block["text"] = data.text.replace("\r\n", "\n")
    if kind == "heading":
        block["level"] = data.level if data.level in (1, 2, 3) else 1
    if kind in ("field_table", "timeline", "audit_table"):
        block["title"] = data.title.strip()
    if kind == "field_table":
        if data.fields is not None:
            bad = [key for key in data.fields if not FIELD_KEY_RE.fullmatch(key)]
            if bad:
                raise ValidationFailed("Choose fields of the form.", {"fields": ["Choose fields of the form."]})
        block["fields"] = list(dict.fromkeys(data.fields)) if data.fields is not None else None
    if kind == "audit_table":
        block["limit"] = data.limit
    if kind == "signatures":
        block["signers"] = [s.strip() for s in data.signers if s.strip()]
    return doc


def set_logo(document: Mapping[str, Any], index: int, logo: str | None) -> Document:
    """Put a stored logo (its file name) into the template's page header, adding the header if needed."""
    if logo is not None and not LOGO_NAME_RE.fullmatch(logo):
        raise ValidationFailed("Not a stored logo.")
    doc, items = _copy(document)
    blocks = _blocks(_template(items, index))
    header = next((b for b in blocks if isinstance(b, dict) and b.get("kind") == "header"), None)
    if header is None:
        header = copy.deepcopy(NEW_BLOCKS["header"])
        blocks.insert(0, header)
    header["logo"] = logo
    return doc


def move_block(document: Mapping[str, Any], index: int, number: int, offset: int) -> tuple[Document, int]:
    doc, items = _copy(document)
    blocks = _blocks(_template(items, index))
    _block(_template(items, index), number)
    target = max(0, min(len(blocks) - 1, number + offset))
    blocks.insert(target, blocks.pop(number))
    return doc, target


def remove_block(document: Mapping[str, Any], index: int, number: int) -> Document:
    doc, items = _copy(document)
    _block(_template(items, index), number)
    del _blocks(items[index])[number]
    return doc


def settle_versions(document: Mapping[str, Any], published: Mapping[str, Any] | None) -> Document:
    """Give every template the version it will publish as: the published one's if unchanged, one more if
    changed, 1 if new (so a draft's many edits make one new version)."""
    doc, items = _copy(document)
    before = {str(t.get("template_name")): t for t in templates(published or {})}
    for template in items:
        old = before.get(str(template.get("template_name")))
        if old is None:
            template["version"] = 1
            continue
        version = old.get("version")
        number = version if isinstance(version, int) else 1
        changed = (old.get("blocks"), bool(old.get("internal"))) != (template.get("blocks"),
                                                                       bool(template.get("internal")))
        template["version"] = number + 1 if changed else number
    if not items:
        doc.pop("documents")
    return doc
