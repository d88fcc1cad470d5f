"""The first pass of loading a definition: pages and fields, each with its own properties.

Every problem is collected (never raised) with its JSON path, the field key and a message an admin
understands, so an import or a save shows them all at once. What ties fields together (conditions,
calculations, loops) is checked afterwards by ``forms.references`` on the drafts this pass leaves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from forms import conditions
from forms.fieldtypes import FIELD_TYPES, FieldType
from forms.properties import PROPERTIES
from forms.schema import KEY_RE, MAX_FIELDS, MAX_OPTIONS, MAX_PAGES, RESERVED_KEYS, FieldSpec, Option, Page

__all__ = ["Draft", "FieldLoader", "Problem", "count_fields"]

Problem = tuple[str, str | None, str]
"""(JSON path, field key or None, message)."""

_CONDITIONS = ("visible_if", "required_if")


@dataclass
class Draft:
    """A field while loading: properties gathered so far and where it sits."""

    path: str
    key: str | None
    ftype: FieldType
    page: int
    group: Draft | None
    kwargs: dict[str, Any]
    failed: set[str] = field(default_factory=set)
    """Properties that did not load; checks depending on them are skipped to avoid knock-on errors."""
    raw_conditions: dict[str, Any] = field(default_factory=dict)
    children: list[Draft] = field(default_factory=list)

    def spec(self) -> FieldSpec:
        fields = tuple(child.spec() for child in self.children)
        return FieldSpec(type=self.ftype.name, key=self.key or "", fields=fields, **self.kwargs)


class Reporter:
    """Collects problems into a shared list."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems

    def add(self, path: str, key: str | None, message: str) -> None:
        self.problems.append((path, key, message))


def count_fields(pages: Sequence[Any]) -> int:
    """Fields of raw pages, sub-fields included (checked before anything else, to bound the work)."""
    total = 0
    for page in pages:
        fields = page.get("fields") if isinstance(page, Mapping) else None
        if isinstance(fields, list | tuple):
            for item in fields:
                total += 1
                subs = item.get("fields") if isinstance(item, Mapping) else None
                if isinstance(subs, list | tuple):
                    total += len(subs)
    return total


class FieldLoader(Reporter):
    """Reads a definition's header and pages into drafts; ``drafts`` lists every field it read."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.keys: dict[str, str] = {}
        self.drafts: list[Draft] = []

    def header(self, data: Mapping[str, Any]) -> tuple[str, str]:
        """The form's title and description (problems reported, blanks returned when they are wrong)."""
        for name in data:
            if name not in ("schema_version", "title", "description", "pages"):
                self.add(str(name), None, f"Unknown property {str(name)!r} at the top of the form definition.")
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            self.add("title", None, "Give the form a title.")
        elif len(title) > 300:
            self.add("title", None, "The title must be at most 300 characters.")
        description = data.get("description", "")
        if not isinstance(description, str):
            self.add("description", None, "The description must be text.")
            description = ""
        return str(title), description

    def pages(self, pages_raw: Any) -> list[tuple[str, str, list[Draft]]] | None:
        """(key, title, drafts) per page; None when the list of pages cannot be read at all."""
        if not isinstance(pages_raw, list | tuple) or not pages_raw:
            self.add("pages", None, "The form needs a list of pages with at least one page.")
            return None
        if len(pages_raw) > MAX_PAGES:
            self.add("pages", None, f"The form has more than {MAX_PAGES} pages.")
            return None
        total = count_fields(pages_raw)
        if total > MAX_FIELDS:
            self.add("pages", None, f"The form has {total} fields; the limit is {MAX_FIELDS}.")
            return None
        page_keys: set[str] = set()
        return [self.page(raw, f"pages[{index}]", index, page_keys) for index, raw in enumerate(pages_raw)]

    def page(self, raw: Any, path: str, index: int, seen: set[str]) -> tuple[str, str, list[Draft]]:
        if not isinstance(raw, Mapping):
            self.add(path, None, "Each page must be an object with a key, a title and fields.")
            return "", "", []
        for name in raw:
            if name not in ("key", "title", "fields"):
                self.add(f"{path}.{name}", None, f"Unknown property {str(name)!r} on a page.")
        key = raw.get("key")
        if not isinstance(key, str) or not KEY_RE.fullmatch(key):
            self.add(f"{path}.key", None, "Give the page a key: lowercase letters, digits and underscores.")
            key = ""
        elif key in seen:
            self.add(f"{path}.key", None, f"Another page already has the key {key!r}.")
        seen.add(key)
        title = raw.get("title")
        if not isinstance(title, str) or not title.strip():
            self.add(f"{path}.title", None, "Give the page a title.")
            title = ""
        fields_raw = raw.get("fields")
        if not isinstance(fields_raw, list | tuple) or not fields_raw:
            self.add(f"{path}.fields", None, "Add at least one field to this page.")
            return key, title, []
        drafts = [self.field(f, f"{path}.fields[{i}]", index, None) for i, f in enumerate(fields_raw)]
        return key, title, [d for d in drafts if d is not None]

    def field(self, raw: Any, path: str, page: int, group: Draft | None) -> Draft | None:
        if not isinstance(raw, Mapping):
            self.add(path, None, "Each field must be an object with at least a type and a key.")
            return None
        key = self.field_key(raw.get("key"), path, raw.get("label"))
        ftype = self.field_type(raw.get("type"), path, key, group)
        if ftype is None:
            return None
        allowed = ftype.allowed_properties
        draft = Draft(path, key, ftype, page, group, {})
        self.properties(draft, raw, allowed)
        label = draft.kwargs.get("label", "" if "label" not in raw else "x")
        if ftype.label_required and not str(label).strip():
            self.add(f"{path}.label", key, "Give the field a label.")
        if "options" in raw and "options" in allowed:
            options = self.options(raw["options"], f"{path}.options", key)
            if options is not None:
                draft.kwargs["options"] = options
            else:
                draft.failed.add("options")
        if "fields" in raw and "fields" in allowed:
            self.group_fields(draft, raw["fields"])
        self.bounds(draft, raw)
        for name in _CONDITIONS:
            if name in raw and name in allowed:
                draft.raw_conditions[name] = raw[name]
        self.drafts.append(draft)
        return draft

    def field_type(self, type_name: Any, path: str, key: str | None, group: Draft | None) -> FieldType | None:
        ftype = FIELD_TYPES.get(type_name) if isinstance(type_name, str) else None
        if ftype is None:
            names = ", ".join(FIELD_TYPES)
            what = "Choose a field type" if type_name is None else f"Unknown field type {type_name!r}"
            self.add(f"{path}.type", key, f"{what}; use one of: {names}.")
            return None
        if group is not None and not ftype.in_groups:
            self.add(f"{path}.type", key, f"A repeating group cannot contain a {ftype.title} field.")
            return None
        return ftype

    def properties(self, draft: Draft, raw: Mapping[str, Any], allowed: frozenset[str]) -> None:
        """Load the properties that load on their own; report unknown and missing ones."""
        path, key, ftype = draft.path, draft.key, draft.ftype
        for name, value in raw.items():
            if name in ("type", "key"):
                continue
            if name not in allowed:
                if name in PROPERTIES:
                    msg = f"The property {name!r} does not apply to a {ftype.title} field."
                else:
                    msg = f"Unknown property {str(name)!r}."
                self.add(f"{path}.{name}", key, msg)
                continue
            prop = PROPERTIES[name]
            if prop.load is not None:
                try:
                    draft.kwargs[name] = prop.load(value)
                except ValueError as exc:
                    self.add(f"{path}.{name}", key, f"{prop.title} {exc}.")
                    draft.failed.add(name)
        for name in sorted(ftype.required_properties):
            if name not in raw:
                self.add(f"{path}.{name}", key, f"{PROPERTIES[name].title} is required for a {ftype.title} field.")

    def field_key(self, key: Any, path: str, label: Any) -> str | None:
        if key is None:
            self.add(f"{path}.key", None, "Give the field a key: a machine name like order_number.")
            return None
        if not isinstance(key, str) or not KEY_RE.fullmatch(key):
            self.add(
                f"{path}.key",
                key if isinstance(key, str) else None,
                f"The key {key!r} is not valid: use 1 to 63 lowercase letters, digits and underscores, "
                "starting with a letter.",
            )
            return None
        if key in RESERVED_KEYS:
            self.add(f"{path}.key", key, f"The key {key!r} is reserved by Casework; choose another.")
            return None
        if key in self.keys:
            self.add(
                f"{path}.key",
                key,
                f"The key {key!r} is already used by another field ({self.keys[key]}); keys must be unique "
                "in the whole form, repeating groups included.",
            )
            return key
        self.keys[key] = f"{label!r} at {path}" if isinstance(label, str) and label else path
        return key

    def options(self, raw: Any, path: str, key: str | None) -> tuple[Option, ...] | None:
        if not isinstance(raw, list | tuple) or not raw:
            self.add(path, key, "Add at least one option, each with a label and a value.")
            return None
        if len(raw) > MAX_OPTIONS:
            self.add(path, key, f"A field can have at most {MAX_OPTIONS} options.")
            return None
        out: list[Option] = []
        seen: dict[str, int] = {}
        ok = True
        for i, item in enumerate(raw):
            option = self.option(item, f"{path}[{i}]", key, i, seen)
            if option is None:
                ok = False
            else:
                out.append(option)
        return tuple(out) if ok else None

    def option(self, item: Any, here: str, key: str | None, index: int, seen: dict[str, int]) -> Option | None:
        """One option, or None after reporting why it is not one; ``seen`` maps values to their index."""
        if not isinstance(item, Mapping):
            self.add(here, key, "Each option must be an object with a label and a value.")
            return None
        ok = True
        for name in item:
            if name not in ("label", "value"):
                self.add(f"{here}.{name}", key, f"Unknown property {str(name)!r} on an option.")
                ok = False
        label, value = item.get("label"), item.get("value")
        if not isinstance(label, str) or not label.strip() or len(label) > 300:
            self.add(f"{here}.label", key, "Give each option a label (text, at most 300 characters).")
            ok = False
        if not isinstance(value, str) or not value.strip() or len(value) > 100 or value != value.strip():
            self.add(
                f"{here}.value",
                key,
                "Give each option a value: text of at most 100 characters without surrounding spaces.",
            )
            return None
        if value in seen:
            self.add(f"{here}.value", key, f"The value {value!r} is already used by option {seen[value] + 1}.")
            return None
        seen[value] = index
        return Option(label, value) if ok and isinstance(label, str) else None

    def group_fields(self, draft: Draft, raw: Any) -> None:
        path = f"{draft.path}.fields"
        if not isinstance(raw, list | tuple) or not raw:
            self.add(path, draft.key, "Add at least one field to the repeating group.")
            return
        for i, item in enumerate(raw):
            child = self.field(item, f"{path}[{i}]", draft.page, draft)
            if child is not None:
                draft.children.append(child)

    def bounds(self, draft: Draft, raw: Mapping[str, Any]) -> None:
        """min, max and default depend on the type and its other properties, so they come last."""
        if "pattern_message" in raw and "pattern" not in raw:
            self.add(f"{draft.path}.pattern_message", draft.key, "There is a pattern message but no pattern.")
        if draft.failed:
            return
        self.min_max(draft, raw)
        if draft.failed:
            return
        spec = draft.spec()
        for prop, message in draft.ftype.check(spec):
            self.add(f"{draft.path}.{prop}", draft.key, message)
        if "default" in raw and "default" in draft.ftype.allowed_properties:
            self.default(draft, spec, raw["default"])

    def min_max(self, draft: Draft, raw: Mapping[str, Any]) -> None:
        for name in ("min", "max"):
            if name in raw and name in draft.ftype.allowed_properties:
                try:
                    value = draft.ftype.load_bound(draft.spec(), raw[name])
                    if value is None:
                        raise ValueError("Enter a value or remove the property.")
                    draft.kwargs[name] = value
                except ValueError as exc:
                    self.add(f"{draft.path}.{name}", draft.key, f"{PROPERTIES[name].title} is not valid: {exc}")
                    draft.failed.add(name)

    def default(self, draft: Draft, spec: FieldSpec, raw: Any) -> None:
        try:
            value = draft.ftype.coerce(spec, raw, dt.UTC)
            problems = [] if conditions.is_empty(value) else draft.ftype.check_value(spec, value)
        except ValueError as exc:
            problems = [str(exc)]
        if problems:
            self.add(f"{draft.path}.default", draft.key, f"The default value is not valid: {problems[0]}")
        else:
            draft.kwargs["default"] = value

    def schema_pages(self, pages: Sequence[tuple[str, str, list[Draft]]]) -> tuple[Page, ...]:
        """The loaded pages, once every check has passed."""
        return tuple(Page(key, title, tuple(d.spec() for d in drafts)) for key, title, drafts in pages)
