"""Edit steps on fields: add, change, rename (rewriting what uses the key), move, delete and undo."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from forms.editing.drafts import (
    CONDITIONS,
    EditError,
    Place,
    Removed,
    check_new_key,
    field_in,
    field_keys,
    fields_of,
    fresh_key,
    group_in,
    locate,
    page_in,
    pages_of,
    place_of,
    referenced_keys,
    unique_name,
    walk_fields,
)
from forms.editing.options import set_options
from forms.fieldtypes import FIELD_TYPES, FieldType

__all__ = [
    "add_field",
    "delete_field",
    "move_field",
    "new_field",
    "nudge_field",
    "rename_field",
    "restore_field",
    "set_condition",
    "set_form_properties",
    "update_field",
]


def new_field(type_name: str, key: str, *, sub_key: str | None = None) -> dict[str, Any]:
    """A new field of this type that is complete as it is (the form stays publishable)."""
    return _field_type(type_name).starter(key, sub_key=sub_key)


def _field_type(type_name: str) -> FieldType:
    ftype = FIELD_TYPES.get(type_name)
    if ftype is None:
        raise EditError(f"Unknown field type {type_name!r}; choose one of the palette.")
    return ftype


def add_field(
    document: Mapping[str, Any], type_name: str, page_key: str, index: int | None = None, *, group: str | None = None
) -> tuple[dict[str, Any], str]:
    """Add a new field of ``type_name`` at ``index`` (the end if None) of a page, or of a group's row.

    Returns the new document and the new field's key.
    """
    doc = copy.deepcopy(dict(document))
    ftype = _field_type(type_name)
    key = fresh_key(doc, ftype.key_base)
    if group is not None:
        if not ftype.in_groups:
            raise EditError(f"A repeating group cannot contain a {ftype.title} field.")
        target = fields_of(group_in(doc, group))
    else:
        target = page_in(doc, page_key)["fields"]
    sub_key = None
    if type_name == "group":
        sub_key = unique_name(f"{key}_item", field_keys(doc) | referenced_keys(doc) | {key})
    field = new_field(type_name, key, sub_key=sub_key)
    position = len(target) if index is None else max(0, min(index, len(target)))
    target.insert(position, field)
    return doc, key


def update_field(document: Mapping[str, Any], key: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """Set properties of a field; a value of None removes the property, ``key`` renames the field.

    ``options`` go through ``set_options`` (values follow their labels); ``type`` and sub-``fields`` cannot
    be set here.
    """
    doc = copy.deepcopy(dict(document))
    field = field_in(doc, key)
    for name in ("type", "fields"):
        if name in props:
            raise EditError(f"The {name} of a field cannot be changed here.")
    for name, value in props.items():
        if name in ("key", "options"):
            continue
        if value is None:
            field.pop(name, None)
        else:
            field[name] = copy.deepcopy(value)
    if "options" in props:
        options = props["options"]
        doc = set_options(doc, key, options if isinstance(options, list) else [])
    new_key = props.get("key")
    if isinstance(new_key, str) and new_key != key:
        doc = rename_field(doc, key, new_key)
    return doc


def _rename_in_condition(node: Any, old: str, new: str, depth: int = 0) -> Any:
    if depth > 40:
        return node
    if isinstance(node, dict):
        out = {k: _rename_in_condition(v, old, new, depth + 1) if k in ("all", "any", "not") else v
               for k, v in node.items()}
        if out.get("field") == old:
            out["field"] = new
        return out
    if isinstance(node, list):
        return [_rename_in_condition(item, old, new, depth + 1) for item in node]
    return node


def _rename_in_expression(source: str, old: str, new: str) -> str:
    # The expression language has no string literals, so every name token is a name; calls keep theirs.
    return re.sub(rf"(?<![a-z0-9_]){re.escape(old)}(?![a-z0-9_])(?!\s*\()", new, source)


def rename_field(document: Mapping[str, Any], key: str, new_key: str) -> dict[str, Any]:
    """Give a field a new key and rewrite every condition and calculation that uses the old one."""
    doc = copy.deepcopy(dict(document))
    field = field_in(doc, key)
    new_key = (new_key or "").strip()
    if new_key == key:
        return doc
    check_new_key(doc, new_key, current=key)
    field["key"] = new_key
    for other, _, _ in walk_fields(doc):
        for name in CONDITIONS:
            if name in other:
                other[name] = _rename_in_condition(other[name], key, new_key)
        expression = other.get("expression")
        if isinstance(expression, str):
            other["expression"] = _rename_in_expression(expression, key, new_key)
    return doc


def move_field(
    document: Mapping[str, Any], key: str, page_key: str | None, index: int, *, group: str | None = None
) -> dict[str, Any]:
    """Move a field to ``index`` of a page (or of its group's row, for a sub-field).

    ``index`` is the position in the target list once the field has been taken out of it; it is clamped.
    Sub-fields stay in their group, and a group's row cannot hold another group or a file.
    """
    doc = copy.deepcopy(dict(document))
    siblings, position, _ = locate(doc, key)
    current = place_of(doc, key)
    assert current is not None
    if (current.group is None) != (group is None) or (group is not None and group != current.group):
        if current.group is not None:
            raise EditError("A field of a repeating group can only be moved within its group.")
        raise EditError("Fields cannot be moved into a repeating group; add new ones to the group instead.")
    field = siblings.pop(position)
    if group is not None:
        target = siblings
    else:
        if page_key is None:
            raise EditError("Choose the page to move the field to.")
        try:
            target = page_in(doc, page_key)["fields"]
        except EditError:
            siblings.insert(position, field)
            raise
    target.insert(max(0, min(index, len(target))), field)
    return doc


def nudge_field(document: Mapping[str, Any], key: str, delta: int) -> tuple[dict[str, Any], Place]:
    """Move a field one step up (-1) or down (+1); at the edge of a page it goes to the neighbouring page.

    Returns the new document and the field's new place.
    """
    if delta not in (-1, 1):
        raise EditError("A field moves one place up or down at a time.")
    place = place_of(document, key)
    if place is None:
        raise EditError(f"The form has no field {key!r} (it may have been deleted meanwhile).")
    doc = copy.deepcopy(dict(document))
    siblings, position, page = locate(doc, key)
    new_position = position + delta
    if 0 <= new_position < len(siblings):
        siblings.insert(new_position, siblings.pop(position))
        return doc, Place(place.page, new_position, place.group)
    if place.group is not None:
        raise EditError("This field is already at the " + ("top" if delta < 0 else "bottom") + " of its group.")
    pages = pages_of(doc)
    page_index = pages.index(page)
    neighbour = page_index + delta
    if not 0 <= neighbour < len(pages):
        raise EditError("This field is already at the " + ("top" if delta < 0 else "bottom") + " of the form.")
    target = pages[neighbour].setdefault("fields", [])
    field = siblings.pop(position)
    at = len(target) if delta < 0 else 0
    target.insert(at, field)
    return doc, Place(str(pages[neighbour].get("key", "")), at)


def delete_field(document: Mapping[str, Any], key: str) -> tuple[dict[str, Any], Removed]:
    """Remove a field (a group with its sub-fields); returns what is needed to undo it.

    Conditions of other fields that use it are kept: the draft then shows, at those fields, that their
    condition points at a field that does not exist, instead of silently changing what they do.
    """
    place = place_of(document, key)
    if place is None:
        raise EditError(f"The form has no field {key!r} (it may have been deleted meanwhile).")
    doc = copy.deepcopy(dict(document))
    siblings, position, _ = locate(doc, key)
    field = siblings.pop(position)
    return doc, Removed(field=field, page=place.page, index=place.index, group=place.group)


def restore_field(document: Mapping[str, Any], removed: Removed) -> dict[str, Any]:
    """Put a deleted field back where it was (or as near as the form now allows)."""
    doc = copy.deepcopy(dict(document))
    field = copy.deepcopy(removed.field)
    keys = {removed.key} | {s["key"] for s in fields_of(field) if isinstance(s, dict) and isinstance(s.get("key"), str)}
    clash = sorted(keys & field_keys(doc))
    if clash:
        raise EditError(f"Cannot undo: another field now has the key {clash[0]!r}. Rename that field first.")
    index = removed.index
    if removed.group is not None:
        target = fields_of(group_in(doc, removed.group))
    else:
        pages = pages_of(doc)
        page = next((p for p in pages if p.get("key") == removed.page), None)
        if page is None:  # its page was deleted meanwhile: the end of the form is the least surprising place
            if not pages:
                raise EditError("Cannot undo: the form has no page to put the field on.")
            page = pages[-1]
            index = len(fields_of(page))
        target = page.setdefault("fields", [])
    target.insert(max(0, min(index, len(target))), field)
    return doc


def set_condition(document: Mapping[str, Any], key: str, which: str, condition: Any) -> dict[str, Any]:
    """Set (or, with None, remove) a field's ``visible_if`` or ``required_if`` condition (JSON)."""
    if which not in CONDITIONS:
        raise EditError("A field has two conditions: when it is shown, and when it is required.")
    doc = copy.deepcopy(dict(document))
    field = field_in(doc, key)
    if condition is None:
        field.pop(which, None)
    else:
        field[which] = copy.deepcopy(condition)
        if which == "required_if":
            field.pop("required", None)  # "always required" and "required when" exclude each other
    return doc


def set_form_properties(
    document: Mapping[str, Any], *, title: str | None = None, description: str | None = None
) -> dict[str, Any]:
    """Change the form's title or description (None leaves it as it is; "" removes the description)."""
    doc = copy.deepcopy(dict(document))
    if title is not None:
        doc["title"] = title.strip()
    if description is not None:
        if description.strip():
            doc["description"] = description.strip()
        else:
            doc.pop("description", None)
    return doc
