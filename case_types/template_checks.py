"""Document templates as part of a case type: checked against the form's fields when the case type is
loaded (case_types.loading), and their changes told in sentences for the version diff."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from case_types.document_templates import (
    BUILTIN_PLACEHOLDERS,
    MAX_BLOCKS,
    MAX_TEMPLATE_NAME,
    MAX_TEMPLATES,
    RESERVED_NAMES,
    AuditTableBlock,
    BlockDocument,
    BlockError,
    FieldTableBlock,
    block_document_to_dict,
    block_texts,
    parse_block,
    parse_block_document,
    placeholders_in,
)

#: (path, message), e.g. ("documents[0].blocks[2].text", "...").
Problem = tuple[str, str]


def check_templates(raw: Any, field_keys: Iterable[str]) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Validate a case type's `documents` list against its form's field keys.

    Returns the canonical stored form of every readable template and the problems, each with a path
    under `documents[i]` an admin can follow: unknown blocks, unknown placeholders, field tables
    naming fields the form lacks, duplicate or reserved names, audit tables in requester documents.
    """
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [("documents", "Document templates are a list.")]
    if len(raw) > MAX_TEMPLATES:
        return [], [("documents", f"A case type has at most {MAX_TEMPLATES} document templates.")]
    fields = set(field_keys)
    problems: list[Problem] = []
    stored: list[dict[str, Any]] = []
    names: set[str] = set()
    for i, item in enumerate(raw):
        path = f"documents[{i}]"
        unreadable = _unreadable_blocks(item, path)
        if unreadable:
            problems.extend(unreadable)
            continue
        try:
            document = parse_block_document(item)
        except BlockError as exc:
            problems.append((path, _sentence(str(exc))))
            continue
        problems.extend(_name_problems(document.template_name, f"{path}.template_name", names))
        problems.extend(_content_problems(document, path, fields))
        stored.append(block_document_to_dict(document))
    return stored, problems


def _unreadable_blocks(item: Any, path: str) -> list[Problem]:
    """Each block parsed on its own, so every bad block is named, not only the first."""
    if not (isinstance(item, Mapping) and isinstance(item.get("blocks"), list)):
        return []
    problems: list[Problem] = []
    for b, block in enumerate(item["blocks"]):
        try:
            parse_block(block)
        except BlockError as exc:
            problems.append((f"{path}.blocks[{b}]", _sentence(str(exc))))
    if len(item["blocks"]) > MAX_BLOCKS:
        problems.append((f"{path}.blocks", f"A template has at most {MAX_BLOCKS} blocks."))
    return problems


def _name_problems(template_name: str, path: str, names: set[str]) -> list[Problem]:
    """A template's name: present, short, not the dossier's, unique (`names` collects the ones seen)."""
    problems: list[Problem] = []
    name = template_name.strip()
    if not name:
        problems.append((path, "Give the template a name."))
    elif len(name) > MAX_TEMPLATE_NAME:
        problems.append((path, f"Use at most {MAX_TEMPLATE_NAME} characters."))
    elif name.lower() in RESERVED_NAMES:
        problems.append((path, f"'{name}' is reserved for the case dossier; choose another name."))
    elif name.lower() in names:
        problems.append((path, f"Two templates are called '{name}'."))
    names.add(name.lower())
    if name != template_name:
        problems.append((path, "The name must not start or end with spaces."))
    return problems


def _content_problems(document: BlockDocument, path: str, fields: set[str]) -> list[Problem]:
    """Placeholders and field tables against the form's fields; audit tables only in internal templates."""
    known = fields | set(BUILTIN_PLACEHOLDERS)
    problems: list[Problem] = []
    for b, block in enumerate(document.blocks):
        where = f"{path}.blocks[{b}]"
        for prop, text in block_texts(block):
            unknown = [key for key in placeholders_in(text) if key not in known]
            if unknown:
                problems.append((f"{where}.{prop}", "Unknown placeholder " + ", ".join(
                    "{{" + key + "}}" for key in unknown) + "; use a field of the form or one of "
                    + ", ".join(BUILTIN_PLACEHOLDERS) + "."))
        if isinstance(block, FieldTableBlock) and block.fields is not None:
            missing = [key for key in block.fields if key not in fields]
            if missing:
                problems.append((f"{where}.fields", f"The form has no field {', '.join(missing)}."))
        if isinstance(block, AuditTableBlock) and not document.internal:
            problems.append((where, "An audit table shows staff names and internal events: mark the "
                                    "template internal (staff only) to use it."))
    return problems


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")




def _describe(block: Mapping[str, Any]) -> str:
    kind = str(block.get("kind", "?")).replace("_", " ")
    text = block.get("text") or block.get("title") or ""
    text = str(text).replace("\n", " ")
    return f"{kind} “{text[:60]}{'…' if len(text) > 60 else ''}”" if text else kind


def diff_templates(before: Any, after: Any) -> list[str]:
    """Readable changes between two `documents` lists: templates added, removed, and block by block."""
    def by_name(raw: Any) -> dict[str, Mapping[str, Any]]:
        items = raw if isinstance(raw, list) else []
        return {str(t.get("template_name")): t for t in items if isinstance(t, Mapping)}

    old, new = by_name(before), by_name(after)
    changes: list[str] = []
    for name in new.keys() - old.keys():
        changes.append(f"Document template '{name}' added.")
    for name in old.keys() - new.keys():
        changes.append(f"Document template '{name}' removed.")
    for name in sorted(old.keys() & new.keys()):
        a, b = old[name], new[name]
        label = f"Document template '{name}'"
        if a.get("version") != b.get("version"):
            changes.append(f"{label}: template version changed from {a.get('version')} to {b.get('version')}.")
        if bool(a.get("internal")) != bool(b.get("internal")):
            audience = "internal (staff only)" if b.get("internal") else "shown to the requester"
            changes.append(f"{label}: now {audience}.")
        blocks_a = [x for x in a.get("blocks") or [] if isinstance(x, Mapping)]
        blocks_b = [x for x in b.get("blocks") or [] if isinstance(x, Mapping)]
        for index in range(max(len(blocks_a), len(blocks_b))):
            if index >= len(blocks_a):
                changes.append(f"{label}: block {index + 1} added: {_describe(blocks_b[index])}.")
            elif index >= len(blocks_b):
                changes.append(f"{label}: block {index + 1} removed: {_describe(blocks_a[index])}.")
            elif blocks_a[index] != blocks_b[index]:
                x, y = blocks_a[index], blocks_b[index]
                if x.get("kind") != y.get("kind"):
                    changes.append(f"{label}: block {index + 1} replaced: {_describe(x)} → {_describe(y)}.")
                    continue
                for prop in sorted((set(x) | set(y)) - {"kind"}):
                    if x.get(prop) != y.get(prop):
                        changes.append(f"{label}: block {index + 1} ({_describe(y)}): {prop} changed from "
                                       f"{x.get(prop)!r} to {y.get(prop)!r}.")
    if list(k for k in old if k in new) != list(k for k in new if k in old):
        changes.append("Document templates reordered.")
    return changes
