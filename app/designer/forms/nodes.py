"""Reading a draft that may be broken (the designer shows drafts with problems): field nodes, labels, paths."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PATH_RE = re.compile(r"^pages\[(\d+)\](?:\.fields\[(\d+)\](?:\.fields\[(\d+)\])?)?(?:\.(.+))?$")
"""A problem's path: page, field and sub-field positions, then the rest (the property and below)."""


def node_at(document: Mapping[str, Any], page: int, index: int | None, sub: int | None) -> Any:
    """The page, field or sub-field at these positions, or None when the draft has nothing there."""
    try:
        node: Any = document["pages"][page]
        if index is not None:
            node = node["fields"][index]
        if sub is not None:
            node = node["fields"][sub]
    except (KeyError, IndexError, TypeError):
        return None
    return node


def label(node: Any) -> str:
    """A field's label, or its key when it has none."""
    if not isinstance(node, dict):
        return "a field"
    text = node.get("label")
    return text if isinstance(text, str) and text.strip() else str(node.get("key") or "a field")


def all_fields(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every field node of the draft, sub-fields right after their group."""
    out: list[dict[str, Any]] = []
    pages = document.get("pages")
    for page in pages if isinstance(pages, list) else []:
        fields = page.get("fields") if isinstance(page, dict) else None
        for node in fields if isinstance(fields, list) else []:
            if isinstance(node, dict):
                out.append(node)
                subs = node.get("fields")
                out.extend(s for s in (subs if isinstance(subs, list) else []) if isinstance(s, dict))
    return out
