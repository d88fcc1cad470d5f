"""Reading a draft being edited, finding fields and pages in it, and choosing keys that are free."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from forms.conditions import referenced_fields
from forms.errors import FormsError
from forms.schema import KEY_RE, RESERVED_KEYS

__all__ = [
    "CONDITIONS",
    "EditError",
    "Place",
    "Removed",
    "check_new_key",
    "field_in",
    "field_keys",
    "fields_of",
    "find_field",
    "find_page",
    "fresh_key",
    "group_in",
    "label_of",
    "locate",
    "page_in",
    "pages_of",
    "place_of",
    "referenced_keys",
    "unique_name",
    "value_from_label",
    "walk_fields",
]

CONDITIONS = ("visible_if", "required_if")
"""The two condition properties a field can have."""



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


def pages_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    pages = document.get("pages")
    if not isinstance(pages, list) or not all(isinstance(p, dict) for p in pages):
        raise EditError("The draft's list of pages is damaged; import a good copy of the form to repair it.")
    for page in pages:
        if not isinstance(page.get("fields", []), list):
            raise EditError("A page of the draft is damaged; import a good copy of the form to repair it.")
    return pages


def fields_of(container: Mapping[str, Any]) -> list[Any]:
    fields = container.get("fields")
    return fields if isinstance(fields, list) else []


def walk_fields(document: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None, list[Any]]]:
    """(field, its group or None, the list holding it) for every field, sub-fields after their group."""
    pages = document.get("pages")
    for page in pages if isinstance(pages, list) else []:
        if not isinstance(page, dict):
            continue
        siblings = fields_of(page)
        for field in siblings:
            if not isinstance(field, dict):
                continue
            yield field, None, siblings
            subs = fields_of(field)
            for sub in subs:
                if isinstance(sub, dict):
                    yield sub, field, subs


def field_keys(document: Mapping[str, Any]) -> set[str]:
    """Every field key of the draft, sub-fields of groups included."""
    return {f["key"] for f, _, _ in walk_fields(document) if isinstance(f.get("key"), str)}


def find_field(document: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    """The field with this key (a sub-field too), or None."""
    return next((f for f, _, _ in walk_fields(document) if f.get("key") == key), None)


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
        for index, field in enumerate(fields_of(page)):
            if not isinstance(field, dict):
                continue
            if field.get("key") == key:
                return Place(str(page.get("key", "")), index)
            for sub_index, sub in enumerate(fields_of(field)):
                if isinstance(sub, dict) and sub.get("key") == key:
                    return Place(str(page.get("key", "")), sub_index, str(field.get("key", "")))
    return None


def label_of(field: Mapping[str, Any]) -> str:
    label = field.get("label")
    return label if isinstance(label, str) and label.strip() else str(field.get("key", "field"))


def locate(document: dict[str, Any], key: str) -> tuple[list[Any], int, dict[str, Any]]:
    """(the list holding the field, its index, the page) in ``document`` (a copy being edited)."""
    for page in pages_of(document):
        siblings = fields_of(page)
        for index, field in enumerate(siblings):
            if not isinstance(field, dict):
                continue
            if field.get("key") == key:
                return siblings, index, page
            subs = fields_of(field)
            for sub_index, sub in enumerate(subs):
                if isinstance(sub, dict) and sub.get("key") == key:
                    return subs, sub_index, page
    raise EditError(f"The form has no field {key!r} (it may have been deleted meanwhile).")


def page_in(document: dict[str, Any], page_key: str) -> dict[str, Any]:
    for page in pages_of(document):
        if page.get("key") == page_key:
            page.setdefault("fields", [])
            return page
    raise EditError(f"The form has no page {page_key!r} (it may have been deleted meanwhile).")


def group_in(document: dict[str, Any], group_key: str) -> dict[str, Any]:
    siblings, index, _ = locate(document, group_key)
    group: dict[str, Any] = siblings[index]
    if group.get("type") != "group":
        raise EditError(f"{label_of(group)!r} is not a repeating group.")
    if not isinstance(group.get("fields"), list):
        group["fields"] = []
    return group


def field_in(document: dict[str, Any], key: str) -> dict[str, Any]:
    siblings, index, _ = locate(document, key)
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


def unique_name(base: str, taken: set[str], *, limit: int = 63) -> str:
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = f"_{n}"
        candidate = base[: limit - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def referenced_keys(document: Mapping[str, Any]) -> set[str]:
    """Keys used by conditions and calculations, including keys of fields that no longer exist."""
    used: set[str] = set()
    for field, _, _ in walk_fields(document):
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
    taken = field_keys(document) | referenced_keys(document) | set(RESERVED_KEYS)
    return unique_name(base, taken)


def check_new_key(document: Mapping[str, Any], key: str, *, current: str | None = None) -> None:
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        raise EditError("A key is 1 to 63 lowercase letters, digits and underscores, starting with a letter "
                        "(like order_number).")
    if key in RESERVED_KEYS:
        raise EditError(f"The key {key!r} is reserved by Casework; choose another.")
    if key != current and key in field_keys(document):
        raise EditError(f"Another field already has the key {key!r}; keys must be unique in the form.")
