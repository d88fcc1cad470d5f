"""Words and places for the form designer's announcements: labels, where a field now is, what uses it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.designer.forms.nodes import all_fields, label
from forms.conditions import referenced_fields
from forms.editing import CONDITIONS, find_field, find_page, place_of
from forms.fieldtypes import FIELD_TYPES


def field_type_title(type_name: str) -> str:
    """ "Short text" for "short_text"."""
    ftype = FIELD_TYPES.get(type_name)
    title = ftype.title if ftype is not None else type_name
    return title[:1].upper() + title[1:]


def uses(document: Mapping[str, Any], key: str) -> list[str]:
    """Labels of the fields whose conditions or calculation use field ``key``."""
    out: list[str] = []
    for node in all_fields(document):
        refs: set[str] = set()
        for name in CONDITIONS:
            if name in node:
                refs |= referenced_fields(node[name])
        expression = node.get("expression")
        if isinstance(expression, str):
            refs |= set(re.findall(r"[a-z][a-z0-9_]*", expression))
        if key in refs and node.get("key") != key:
            out.append(label(node))
    return out


def label_of(document: Mapping[str, Any], key: str) -> str:
    """A field's label, or its key when it has none."""
    return label(find_field(document, key) or {"key": key})


def where(document: Mapping[str, Any], key: str) -> str:
    """ "position 3 of 9 on page “Details”", for announcing where a field now is."""
    place = place_of(document, key)
    if place is None:
        return "its place"
    if place.group is not None:
        group = find_field(document, place.group) or {}
        count = len(group.get("fields") or [])
        return f"position {place.index + 1} of {count} in “{label_of(document, place.group)}”"
    page = find_page(document, place.page) or {}
    count = len(page.get("fields") or [])
    return f"position {place.index + 1} of {count} on page “{page.get('title') or place.page}”"
