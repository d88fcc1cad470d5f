"""Editing operations on a form draft, one small step at a time, as the browser designer makes them.

Each operation takes a draft document (the JSON dict of ``forms.schema``) and returns a new one; the
input is never changed. Drafts may have problems while they are being edited (a blank label, a
condition pointing at a deleted field): operations keep them as they are, and ``forms.schema`` reports
them where they are. An operation that cannot be done at all (an unknown field, a key that is taken)
raises ``EditError`` with a message for the admin, and changes nothing.

Keys are stable: a field keeps its key whatever its label becomes, unless it is renamed explicitly, and
then every condition and calculation that uses it is rewritten to the new key.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from forms.conditions import referenced_fields
from forms.errors import FormsError
from forms.fieldtypes import FIELD_TYPES, FieldType
from forms.schema import KEY_RE, MAX_OPTIONS, MAX_PAGES, RESERVED_KEYS

__all__ = [
    "CONDITIONS",
    "EditError",
    "Place",
    "Removed",
    "add_field",
    "add_option",
    "add_page",
    "delete_field",
    "delete_page",
    "field_keys",
    "find_field",
    "find_page",
    "fresh_key",
    "move_field",
    "move_option",
    "move_page",
    "new_field",
    "nudge_field",
    "nudge_page",
    "place_of",
    "remove_option",
    "rename_field",
    "rename_page",
    "restore_field",
    "set_condition",
    "set_form_properties",
    "set_options",
    "update_field",
    "update_option",
    "value_from_label",
]

CONDITIONS = ("visible_if", "required_if")
"""The two condition properties a field can have."""

_CHOICE_OPS = frozenset({"eq", "neq", "in", "not_in", "contains", "not_contains"})
_NOT_PROPERTIES = frozenset({"type", "key", "fields"})


class EditError(FormsError):
    """An editing step that cannot be made; nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Place:
    """Where a field sits: its page, its position there (0-based) and its group, if it is a sub-field."""

    page: str
    index: int
    group: str | None = None


@dataclass(frozen=True)
class Removed:
    """A deleted field and where it was, so the deletion can be undone."""

    field: dict[str, Any]
    page: str
    index: int
    group: str | None = None

    @property
    def key(self) -> str:
        return str(self.field.get("key", ""))

    def to_json(self) -> str:
        return json.dumps({"field": self.field, "page": self.page, "index": self.index, "group": self.group},
                          separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Removed:
        """Read what ``to_json`` wrote; EditError when it is not that."""
        try:
            data = json.loads(raw)
        except (TypeError, ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            raise EditError("There is nothing to undo.")
        field, page, index, group = data.get("field"), data.get("page"), data.get("index"), data.get("group")
        ok = (
            isinstance(field, dict) and isinstance(field.get("key"), str) and isinstance(field.get("type"), str)
            and isinstance(page, str) and isinstance(index, int) and not isinstance(index, bool)
            and (group is None or isinstance(group, str))
        )
        if not ok or not isinstance(field, dict) or not isinstance(page, str) or not isinstance(index, int):
            raise EditError("There is nothing to undo.")
        return cls(field=field, page=page, index=index, group=group if isinstance(group, str) else None)


# --- reading a draft ---------------------------------------------------------------------------


def _pages(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    pages = document.get("pages")
    if not isinstance(pages, list) or not all(isinstance(p, dict) for p in pages):
        raise EditError("The draft's list of pages is damaged; import a good copy of the form to repair it.")
    for page in pages:
        if not isinstance(page.get("fields", []), list):
            raise EditError("A page of the draft is damaged; import a good copy of the form to repair it.")
    return pages


def _fields(container: Mapping[str, Any]) -> list[Any]:
    fields = container.get("fields")
    return fields if isinstance(fields, list) else []


def _walk(document: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None, list[Any]]]:
    """(field, its group or None, the list holding it) for every field, sub-fields after their group."""
    pages = document.get("pages")
    for page in pages if isinstance(pages, list) else []:
        if not isinstance(page, dict):
            continue
        siblings = _fields(page)
        for field in siblings:
            if not isinstance(field, dict):
                continue
            yield field, None, siblings
            subs = _fields(field)
            for sub in subs:
                if isinstance(sub, dict):
                    yield sub, field, subs


def field_keys(document: Mapping[str, Any]) -> set[str]:
    """Every field key of the draft, sub-fields of groups included."""
    return {f["key"] for f, _, _ in _walk(document) if isinstance(f.get("key"), str)}


def find_field(document: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    """The field with this key (a sub-field too), or None."""
    return next((f for f, _, _ in _walk(document) if f.get("key") == key), None)


def find_page(document: Mapping[str, Any], page_key: str) -> dict[str, Any] | None:
    pages = document.get("pages")
    return next((p for p in pages if isinstance(p, dict) and p.get("key") == page_key), None) if isinstance(
        pages, list) else None


def place_of(document: Mapping[str, Any], key: str) -> Place | None:
    """Where the field is, or None if the draft has no such field."""
    pages = document.get("pages")
    for page in pages if isinstance(pages, list) else []:
        if not isinstance(page, dict):
            continue
        for index, field in enumerate(_fields(page)):
            if not isinstance(field, dict):
                continue
            if field.get("key") == key:
                return Place(str(page.get("key", "")), index)
            for sub_index, sub in enumerate(_fields(field)):
                if isinstance(sub, dict) and sub.get("key") == key:
                    return Place(str(page.get("key", "")), sub_index, str(field.get("key", "")))
    return None


def _label_of(field: Mapping[str, Any]) -> str:
    label = field.get("label")
    return label if isinstance(label, str) and label.strip() else str(field.get("key", "field"))


def _locate(document: dict[str, Any], key: str) -> tuple[list[Any], int, dict[str, Any]]:
    """(the list holding the field, its index, the page) in ``document`` (a copy being edited)."""
    for page in _pages(document):
        siblings = _fields(page)
        for index, field in enumerate(siblings):
            if not isinstance(field, dict):
                continue
            if field.get("key") == key:
                return siblings, index, page
            subs = _fields(field)
            for sub_index, sub in enumerate(subs):
                if isinstance(sub, dict) and sub.get("key") == key:
                    return subs, sub_index, page
    raise EditError(f"The form has no field {key!r} (it may have been deleted meanwhile).")


def _page(document: dict[str, Any], page_key: str) -> dict[str, Any]:
    for page in _pages(document):
        if page.get("key") == page_key:
            page.setdefault("fields", [])
            return page
    raise EditError(f"The form has no page {page_key!r} (it may have been deleted meanwhile).")


def _group(document: dict[str, Any], group_key: str) -> dict[str, Any]:
    siblings, index, _ = _locate(document, group_key)
    group: dict[str, Any] = siblings[index]
    if group.get("type") != "group":
        raise EditError(f"{_label_of(group)!r} is not a repeating group.")
    if not isinstance(group.get("fields"), list):
        group["fields"] = []
    return group


def _field(document: dict[str, Any], key: str) -> dict[str, Any]:
    siblings, index, _ = _locate(document, key)
    field: dict[str, Any] = siblings[index]
    return field


# --- names -------------------------------------------------------------------------------------


def value_from_label(label: str, *, limit: int = 63) -> str:
    """A machine name from a label: "Late delivery" -> "late_delivery", "Überweisung" -> "uberweisung"."""
    ascii_text = unicodedata.normalize("NFKD", label or "").encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    if name and not name[0].isalpha():
        name = f"n_{name}"
    return name[:limit].rstrip("_")


def _unique(base: str, taken: set[str], *, limit: int = 63) -> str:
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = f"_{n}"
        candidate = base[: limit - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def _referenced_keys(document: Mapping[str, Any]) -> set[str]:
    """Keys used by conditions and calculations, including keys of fields that no longer exist."""
    used: set[str] = set()
    for field, _, _ in _walk(document):
        for name in CONDITIONS:
            if name in field:
                used |= referenced_fields(field[name])
        expression = field.get("expression")
        if isinstance(expression, str):
            used |= set(re.findall(r"[a-z][a-z0-9_]*", expression))
    return used


def fresh_key(document: Mapping[str, Any], base: str) -> str:
    """A key no field has, that nothing refers to (so a dangling condition never adopts a new field)."""
    base = value_from_label(base) or "field"
    if base in RESERVED_KEYS:
        base = f"{base}_field"
    taken = field_keys(document) | _referenced_keys(document) | set(RESERVED_KEYS)
    return _unique(base, taken)


def _check_new_key(document: Mapping[str, Any], key: str, *, current: str | None = None) -> None:
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        raise EditError("A key is 1 to 63 lowercase letters, digits and underscores, starting with a letter "
                        "(like order_number).")
    if key in RESERVED_KEYS:
        raise EditError(f"The key {key!r} is reserved by Casework; choose another.")
    if key != current and key in field_keys(document):
        raise EditError(f"Another field already has the key {key!r}; keys must be unique in the form.")


# --- fields ------------------------------------------------------------------------------------


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
        target = _fields(_group(doc, group))
    else:
        target = _page(doc, page_key)["fields"]
    sub_key = None
    if type_name == "group":
        sub_key = _unique(f"{key}_item", field_keys(doc) | _referenced_keys(doc) | {key})
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
    field = _field(doc, key)
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
    field = _field(doc, key)
    new_key = (new_key or "").strip()
    if new_key == key:
        return doc
    _check_new_key(doc, new_key, current=key)
    field["key"] = new_key
    for other, _, _ in _walk(doc):
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
    siblings, position, _ = _locate(doc, key)
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
            target = _page(doc, page_key)["fields"]
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
    siblings, position, page = _locate(doc, key)
    new_position = position + delta
    if 0 <= new_position < len(siblings):
        siblings.insert(new_position, siblings.pop(position))
        return doc, Place(place.page, new_position, place.group)
    if place.group is not None:
        raise EditError("This field is already at the " + ("top" if delta < 0 else "bottom") + " of its group.")
    pages = _pages(doc)
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
    siblings, position, _ = _locate(doc, key)
    field = siblings.pop(position)
    return doc, Removed(field=field, page=place.page, index=place.index, group=place.group)


def restore_field(document: Mapping[str, Any], removed: Removed) -> dict[str, Any]:
    """Put a deleted field back where it was (or as near as the form now allows)."""
    doc = copy.deepcopy(dict(document))
    field = copy.deepcopy(removed.field)
    keys = {removed.key} | {s["key"] for s in _fields(field) if isinstance(s, dict) and isinstance(s.get("key"), str)}
    clash = sorted(keys & field_keys(doc))
    if clash:
        raise EditError(f"Cannot undo: another field now has the key {clash[0]!r}. Rename that field first.")
    index = removed.index
    if removed.group is not None:
        target = _fields(_group(doc, removed.group))
    else:
        pages = _pages(doc)
        page = next((p for p in pages if p.get("key") == removed.page), None)
        if page is None:  # its page was deleted meanwhile: the end of the form is the least surprising place
            if not pages:
                raise EditError("Cannot undo: the form has no page to put the field on.")
            page = pages[-1]
            index = len(_fields(page))
        target = page.setdefault("fields", [])
    target.insert(max(0, min(index, len(target))), field)
    return doc


def set_condition(document: Mapping[str, Any], key: str, which: str, condition: Any) -> dict[str, Any]:
    """Set (or, with None, remove) a field's ``visible_if`` or ``required_if`` condition (JSON)."""
    if which not in CONDITIONS:
        raise EditError("A field has two conditions: when it is shown, and when it is required.")
    doc = copy.deepcopy(dict(document))
    field = _field(doc, key)
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


# --- options -----------------------------------------------------------------------------------


def _options_of(field: dict[str, Any]) -> list[Any]:
    if "options" not in FIELD_TYPES.get(str(field.get("type")), FIELD_TYPES["info"]).properties:
        raise EditError(f"{_label_of(field)!r} is not a choice field, so it has no options.")
    options = field.get("options")
    if not isinstance(options, list):
        options = field["options"] = []
    return options


def _option_values(options: Sequence[Any]) -> set[str]:
    return {o["value"] for o in options if isinstance(o, dict) and isinstance(o.get("value"), str)}


def _option_value_for(label: str, taken: set[str], position: int) -> str:
    return _unique(value_from_label(label, limit=100) or f"option_{position}", taken, limit=100)


def _rename_values(doc: dict[str, Any], key: str, renames: Mapping[str, str]) -> None:
    """Keep conditions on field ``key`` and its default pointing at the same options after a value rename."""
    if not renames:
        return

    def fix(value: Any) -> Any:
        if isinstance(value, str):
            return renames.get(value, value)
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    def walk(node: Any, depth: int = 0) -> Any:
        if depth > 40:
            return node
        if isinstance(node, list):
            return [walk(item, depth + 1) for item in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v, depth + 1) if k in ("all", "any", "not") else v for k, v in node.items()}
        if out.get("field") == key and out.get("op") in _CHOICE_OPS and "value" in out:
            out["value"] = fix(out["value"])
        return out

    for other, _, _ in _walk(doc):
        for name in CONDITIONS:
            if name in other:
                other[name] = walk(other[name])
    field = _field(doc, key)
    if "default" in field:
        field["default"] = fix(field["default"])


def set_options(document: Mapping[str, Any], key: str, options: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Replace a choice field's options with ``options`` (same order as shown, entry by entry).

    While an option's value is still the one made from its label, it follows the label when the label
    changes ("Option 1" renamed "Low" stores "low"); conditions and the default follow value renames.
    """
    doc = copy.deepcopy(dict(document))
    field = _field(doc, key)
    old = list(_options_of(field))
    if len(options) > MAX_OPTIONS:
        raise EditError(f"A field can have at most {MAX_OPTIONS} options.")
    new: list[dict[str, Any]] = []
    renames: dict[str, str] = {}
    for i, item in enumerate(options):
        label = item.get("label", "")
        value = item.get("value", "")
        label = label if isinstance(label, str) else str(label)
        value = value.strip() if isinstance(value, str) else str(value)
        before = old[i] if i < len(old) and isinstance(old[i], dict) else None
        if before is not None and value == before.get("value") and label != before.get("label"):
            follows = value == value_from_label(str(before.get("label", "")), limit=100) or re.fullmatch(
                r"option_\d+", value)
            if follows and label.strip():
                taken = {o["value"] for o in new} | {str(o.get("value", "")).strip() for o in options[i + 1:]}
                value = _option_value_for(label, taken, i + 1)
                renames[str(before.get("value"))] = value
        elif before is not None and isinstance(before.get("value"), str) and value != before["value"] and value:
            renames[before["value"]] = value
        new.append({"label": label, "value": value})
    field["options"] = new
    _rename_values(doc, key, renames)
    return doc


def add_option(document: Mapping[str, Any], key: str, label: str | None = None) -> dict[str, Any]:
    """Add an option at the end, with a value made from its label."""
    doc = copy.deepcopy(dict(document))
    options = _options_of(_field(doc, key))
    if len(options) >= MAX_OPTIONS:
        raise EditError(f"A field can have at most {MAX_OPTIONS} options.")
    label = (label or "").strip() or f"Option {len(options) + 1}"
    taken = _option_values(options)
    labels = {o.get("label") for o in options if isinstance(o, dict)}
    n = len(options) + 1
    while label in labels:
        n += 1
        label = f"Option {n}"
    options.append({"label": label, "value": _option_value_for(label, taken, len(options) + 1)})
    return doc


def _option_index(options: Sequence[Any], index: int) -> int:
    if not 0 <= index < len(options):
        raise EditError("There is no such option (the list may have changed meanwhile).")
    return index


def update_option(
    document: Mapping[str, Any], key: str, index: int, *, label: str | None = None, value: str | None = None
) -> dict[str, Any]:
    """Change one option's label and/or value (conditions and the default follow a value change)."""
    options = _options_of(_field(copy.deepcopy(dict(document)), key))
    _option_index(options, index)
    rows = [dict(o) if isinstance(o, dict) else {} for o in options]
    if label is not None:
        rows[index]["label"] = label
    if value is not None:
        rows[index]["value"] = value
    return set_options(document, key, rows)


def remove_option(document: Mapping[str, Any], key: str, index: int) -> dict[str, Any]:
    """Remove one option; conditions that used it stay, so the draft shows where they need fixing."""
    doc = copy.deepcopy(dict(document))
    options = _options_of(_field(doc, key))
    options.pop(_option_index(options, index))
    return doc


def move_option(document: Mapping[str, Any], key: str, index: int, new_index: int) -> dict[str, Any]:
    """Move one option to ``new_index`` (clamped)."""
    doc = copy.deepcopy(dict(document))
    options = _options_of(_field(doc, key))
    item = options.pop(_option_index(options, index))
    options.insert(max(0, min(new_index, len(options))), item)
    return doc


# --- pages -------------------------------------------------------------------------------------


def add_page(document: Mapping[str, Any], title: str = "", index: int | None = None) -> tuple[dict[str, Any], str]:
    """Add an empty page (the draft shows that it needs a field); returns the document and the page key."""
    doc = copy.deepcopy(dict(document))
    pages = _pages(doc)
    if len(pages) >= MAX_PAGES:
        raise EditError(f"A form can have at most {MAX_PAGES} pages.")
    title = (title or "").strip() or f"Page {len(pages) + 1}"
    taken = {str(p.get("key")) for p in pages}
    key = _unique(value_from_label(title) or "page", taken)
    if key in RESERVED_KEYS:
        key = _unique(f"{key}_page", taken)
    page = {"key": key, "title": title, "fields": []}
    pages.insert(len(pages) if index is None else max(0, min(index, len(pages))), page)
    return doc, key


def rename_page(document: Mapping[str, Any], page_key: str, title: str) -> dict[str, Any]:
    """Change a page's title (its key stays)."""
    doc = copy.deepcopy(dict(document))
    _page(doc, page_key)["title"] = (title or "").strip()
    return doc


def move_page(document: Mapping[str, Any], page_key: str, index: int) -> dict[str, Any]:
    """Move a page to ``index`` (clamped). Fields keep their pages."""
    doc = copy.deepcopy(dict(document))
    pages = _pages(doc)
    page = _page(doc, page_key)
    pages.remove(page)
    pages.insert(max(0, min(index, len(pages))), page)
    return doc


def nudge_page(document: Mapping[str, Any], page_key: str, delta: int) -> dict[str, Any]:
    """Move a page one place earlier (-1) or later (+1)."""
    pages = _pages(dict(document))
    position = next((i for i, p in enumerate(pages) if p.get("key") == page_key), None)
    if position is None:
        raise EditError(f"The form has no page {page_key!r} (it may have been deleted meanwhile).")
    if not 0 <= position + delta < len(pages):
        raise EditError("This page is already the " + ("first" if delta < 0 else "last") + " page.")
    return move_page(document, page_key, position + delta)


def delete_page(document: Mapping[str, Any], page_key: str, *, move_fields_to: str | None = None) -> dict[str, Any]:
    """Delete a page: an empty one, or one whose fields move to the ``previous`` or ``next`` page."""
    doc = copy.deepcopy(dict(document))
    pages = _pages(doc)
    page = _page(doc, page_key)
    if len(pages) == 1:
        raise EditError("A form needs at least one page.")
    fields = [f for f in _fields(page)]
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
