"""Edit steps on pages: add, rename, move and delete (moving a deleted page's fields to a neighbour)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from forms.editing.drafts import EditError, fields_of, page_in, pages_of, unique_name, value_from_label
from forms.schema import MAX_PAGES, RESERVED_KEYS

__all__ = [
    "add_page",
    "delete_page",
    "move_page",
    "nudge_page",
    "rename_page",
]


def add_page(document: Mapping[str, Any], title: str = "", index: int | None = None) -> tuple[dict[str, Any], str]:
    """Add an empty page (the draft shows that it needs a field); returns the document and the page key."""
    doc = copy.deepcopy(dict(document))
    pages = pages_of(doc)
    if len(pages) >= MAX_PAGES:
        raise EditError(f"A form can have at most {MAX_PAGES} pages.")
    title = (title or "").strip() or f"Page {len(pages) + 1}"
    taken = {str(p.get("key")) for p in pages}
    key = unique_name(value_from_label(title) or "page", taken)
    if key in RESERVED_KEYS:
        key = unique_name(f"{key}_page", taken)
    page = {"key": key, "title": title, "fields": []}
    pages.insert(len(pages) if index is None else max(0, min(index, len(pages))), page)
    return doc, key


def rename_page(document: Mapping[str, Any], page_key: str, title: str) -> dict[str, Any]:
    """Change a page's title (its key stays)."""
    doc = copy.deepcopy(dict(document))
    page_in(doc, page_key)["title"] = (title or "").strip()
    return doc


def move_page(document: Mapping[str, Any], page_key: str, index: int) -> dict[str, Any]:
    """Move a page to ``index`` (clamped). Fields keep their pages."""
    doc = copy.deepcopy(dict(document))
    pages = pages_of(doc)
    page = page_in(doc, page_key)
    pages.remove(page)
    pages.insert(max(0, min(index, len(pages))), page)
    return doc


def nudge_page(document: Mapping[str, Any], page_key: str, delta: int) -> dict[str, Any]:
    """Move a page one place earlier (-1) or later (+1)."""
    pages = pages_of(dict(document))
    position = next((i for i, p in enumerate(pages) if p.get("key") == page_key), None)
    if position is None:
        raise EditError(f"The form has no page {page_key!r} (it may have been deleted meanwhile).")
    if not 0 <= position + delta < len(pages):
        raise EditError("This page is already the " + ("first" if delta < 0 else "last") + " page.")
    return move_page(document, page_key, position + delta)


def delete_page(document: Mapping[str, Any], page_key: str, *, move_fields_to: str | None = None) -> dict[str, Any]:
    """Delete a page: an empty one, or one whose fields move to the ``previous`` or ``next`` page."""
    doc = copy.deepcopy(dict(document))
    pages = pages_of(doc)
    page = page_in(doc, page_key)
    if len(pages) == 1:
        raise EditError("A form needs at least one page.")
    fields = [f for f in fields_of(page)]
    position = pages.index(page)
    if fields:
        if move_fields_to not in ("previous", "next"):
            raise EditError("This page has fields: choose whether they move to the previous or the next page.")
        neighbour = position - 1 if move_fields_to == "previous" else position + 1
        if not 0 <= neighbour < len(pages):
            raise EditError(f"There is no {move_fields_to} page to move the fields to.")
        target = pages[neighbour].setdefault("fields", [])
        if move_fields_to == "previous":
            target.extend(fields)
        else:
            target[0:0] = fields
    pages.remove(page)
    return doc
