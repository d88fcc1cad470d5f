"""Form definitions: the JSON document an admin designs, loaded into typed, validated objects.

Format (``schema_version`` 1)::

    {"schema_version": 1, "title": "...", "description": "...",
     "pages": [{"key": "details", "title": "Details", "fields": [FIELD, ...]}, ...]}

    FIELD := {"type": "<type name>", "key": "<machine name>", "label": "...", <properties>}

Loading reports every problem at once (``DefinitionError``), each tied to its JSON path, the field key
and the property, in words an admin understands. ``load_definition(dump_definition(s)) == s``.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from types import MappingProxyType
from typing import Any

import wtforms

from forms import conditions
from forms.conditions import Condition, condition_to_json, referenced_fields, validate_condition
from forms.errors import DefinitionError, ExpressionError, UnknownPage
from forms.expressions import Expression, parse_expression
from forms.fieldtypes import FIELD_TYPES, FieldType
from forms.files import KNOWN_FILE_TYPES
from forms.patterns import check_pattern

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "MIGRATIONS",
    "FieldSpec",
    "FormSchema",
    "Option",
    "Page",
    "dump_definition",
    "load_definition",
    "migrate_definition",
    "parse_definition_file",
]

CURRENT_SCHEMA_VERSION = 1
MAX_FIELDS = 500
MAX_PAGES = 50
MAX_OPTIONS = 1000
MAX_FILE_BYTES = 1024 * 1024
MAX_NESTING = 20
MAX_UPLOAD_BYTES = 1024 * 1024 * 1024
KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")
WIDTHS = ("full", "half", "third")
DISPLAYS = ("dropdown", "radio")

# Keys that would shadow attributes of the WTForms (or Flask-WTF) form class built from the schema.
RESERVED_KEYS: frozenset[str] = frozenset(
    {name for name in dir(wtforms.Form) if not name.startswith("_")}
    | {
        "meta", "csrf_token", "hidden_tag", "is_submitted", "validate_on_submit", "on_submit",
        "form_errors", "schema", "page", "clean_data", "file_refs", "prior_data", "timezone",
        "layout", "extra_validators", "recaptcha",
    }
)  # fmt: skip


# --- the objects -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One choice: the label people read and the machine value that is stored."""

    label: str
    value: str


@dataclass(frozen=True)
class FieldSpec:
    """One field of a form, as designed; which properties apply depends on ``type``."""

    type: str
    key: str
    label: str = ""
    help: str = ""
    placeholder: str = ""
    text: str = ""
    required: bool = False
    required_if: Condition | None = None
    visible_if: Condition | None = None
    default: Any = None
    min: Any = None
    max: Any = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    pattern_message: str | None = None
    options: tuple[Option, ...] = ()
    display: str | None = None
    currency: str | None = None
    allowed_types: tuple[str, ...] = ()
    max_size: int | None = None
    max_count: int | None = None
    expression: Expression | None = None
    decimals: int | None = None
    min_rows: int | None = None
    max_rows: int | None = None
    width: str = "full"
    fields: tuple[FieldSpec, ...] = ()

    @property
    def field_type(self) -> FieldType:
        return FIELD_TYPES[self.type]

    @property
    def family(self) -> str | None:
        return self.field_type.family

    @property
    def has_value(self) -> bool:
        return self.field_type.family is not None

    @property
    def takes_input(self) -> bool:
        return self.field_type.takes_input

    @property
    def display_label(self) -> str:
        return self.label or self.key

    def option_labels(self) -> dict[str, str]:
        return {option.value: option.label for option in self.options}


@dataclass(frozen=True)
class Page:
    """A page of a multi-page form (a single-page form has one)."""

    key: str
    title: str
    fields: tuple[FieldSpec, ...]


@dataclass(frozen=True)
class FormSchema:
    """A loaded, valid form definition; immutable, compared by value."""

    title: str
    pages: tuple[Page, ...]
    description: str = ""
    schema_version: int = CURRENT_SCHEMA_VERSION

    @cached_property
    def fields(self) -> tuple[FieldSpec, ...]:
        """Top-level fields of every page, in order."""
        return tuple(spec for page in self.pages for spec in page.fields)

    @cached_property
    def by_key(self) -> Mapping[str, FieldSpec]:
        """Every field, sub-fields of groups included, by key."""
        out: dict[str, FieldSpec] = {}
        for spec in self.fields:
            out[spec.key] = spec
            for sub in spec.fields:
                out[sub.key] = sub
        return MappingProxyType(out)

    @cached_property
    def group_of(self) -> Mapping[str, str]:
        """Sub-field key -> key of its group."""
        return MappingProxyType({sub.key: spec.key for spec in self.fields for sub in spec.fields})

    @cached_property
    def page_of(self) -> Mapping[str, str]:
        """Top-level field key -> key of its page."""
        return MappingProxyType({spec.key: page.key for page in self.pages for spec in page.fields})

    @cached_property
    def families(self) -> Mapping[str, str]:
        """Top-level fields with a value -> condition family (what rules may test)."""
        return MappingProxyType({s.key: s.family for s in self.fields if s.family is not None})

    def row_families(self, group: str) -> Mapping[str, str]:
        """Families seen from inside a row of ``group``: top-level fields and the row's own."""
        subs = {s.key: s.family for s in self.by_key[group].fields if s.family is not None}
        return MappingProxyType({**self.families, **subs})

    def page(self, key: str) -> Page:
        """The page with this key; UnknownPage if there is none."""
        for page in self.pages:
            if page.key == key:
                return page
        raise UnknownPage(f"The form has no page {key!r}.")

    def field(self, key: str) -> FieldSpec:
        """Any field by key (sub-fields included); KeyError if there is none."""
        return self.by_key[key]

    def labels(self) -> dict[str, str]:
        """Key -> label for every field, for messages and ``conditions.describe``."""
        return {key: spec.display_label for key, spec in self.by_key.items()}

    def option_labels(self) -> dict[str, dict[str, str]]:
        """Choice field key -> {option value: label}."""
        return {key: spec.option_labels() for key, spec in self.by_key.items() if spec.options}

    def options(self) -> dict[str, list[str]]:
        """Choice field key -> option values (what ``conditions.validate_condition`` wants)."""
        return {key: [o.value for o in spec.options] for key, spec in self.by_key.items() if spec.options}

    @cached_property
    def order(self) -> tuple[str, ...]:
        """Top-level keys in the order their visibility and values can be decided."""
        keys = [s.key for s in self.fields]
        deps = {s.key: field_dependencies(s) & set(keys) for s in self.fields}
        return tuple(_topological(keys, deps)[0])

    def row_order(self, group: str) -> tuple[str, ...]:
        """Sub-field keys of ``group`` in evaluation order."""
        subs = self.by_key[group].fields
        keys = [s.key for s in subs]
        return tuple(_topological(keys, {s.key: field_dependencies(s) & set(keys) for s in subs})[0])


def field_dependencies(spec: FieldSpec) -> set[str]:
    """Keys a field's visibility or value depends on (a group's include its sub-fields')."""
    deps: set[str] = set()
    if spec.visible_if is not None:
        deps |= referenced_fields(spec.visible_if)
    if spec.expression is not None:
        deps |= spec.expression.references() | {group for group, _ in spec.expression.columns()}
    for sub in spec.fields:
        deps |= field_dependencies(sub)
    deps.discard(spec.key)
    return deps


def _topological(keys: Sequence[str], deps: Mapping[str, set[str]]) -> tuple[list[str], list[str] | None]:
    """A stable order (definition order where free) and a cycle if there is one."""
    order: list[str] = []
    placed: set[str] = set()
    pending = list(keys)
    while pending:
        ready = [k for k in pending if deps.get(k, set()) <= placed]
        if not ready:
            return order + pending, _find_cycle(pending, deps)
        first = ready[0]
        order.append(first)
        placed.add(first)
        pending.remove(first)
    return order, None


def _find_cycle(keys: Sequence[str], deps: Mapping[str, set[str]]) -> list[str]:
    remaining = set(keys)
    for start in keys:
        path = [start]
        seen = {start}
        node = start
        while True:
            nxt = next((d for d in sorted(deps.get(node, set())) if d in remaining), None)
            if nxt is None:
                break
            if nxt in seen:
                return [*path[path.index(nxt):], nxt]
            path.append(nxt)
            seen.add(nxt)
            node = nxt
    return list(keys)  # pragma: no cover - a blocked set always holds a cycle


# --- properties --------------------------------------------------------------------------------


def _text(limit: int, *, single_line: bool = False) -> Callable[[Any], str]:
    def load(raw: Any) -> str:
        if not isinstance(raw, str):
            raise ValueError("must be text")
        if len(raw) > limit:
            raise ValueError(f"must be at most {limit} characters")
        if single_line and ("\n" in raw or "\r" in raw):
            raise ValueError("must be a single line")
        return raw

    return load


def _int(low: int, high: int) -> Callable[[Any], int]:
    def load(raw: Any) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int | Decimal) or raw != int(raw):
            raise ValueError("must be a whole number")
        if not low <= raw <= high:
            raise ValueError(f"must be between {low} and {high}")
        return int(raw)

    return load


def _bool(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise ValueError("must be true or false")
    return raw


def _choice(values: Sequence[str]) -> Callable[[Any], str]:
    def load(raw: Any) -> str:
        if raw not in values:
            raise ValueError("must be one of: " + ", ".join(values))
        return str(raw)

    return load


def _currency(raw: Any) -> str:
    if not isinstance(raw, str) or not re.fullmatch(r"[A-Z]{3}", raw):
        raise ValueError("must be a three-letter currency code in capitals, like EUR or USD")
    return raw


def _pattern(raw: Any) -> str:
    """Only patterns both RE2 (the server) and the browser read the same way; see forms/patterns.py."""
    return check_pattern(raw)


def _allowed_types(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list | tuple) or not all(isinstance(t, str) for t in raw):
        raise ValueError("must be a list of content types, like [\"application/pdf\", \"image/png\"]")
    unknown = [t for t in raw if t not in KNOWN_FILE_TYPES]
    if unknown:
        raise ValueError(
            f"has types Casework cannot recognise ({', '.join(unknown)}); use: {', '.join(KNOWN_FILE_TYPES)}"
        )
    return tuple(dict.fromkeys(raw))


def _expression(raw: Any) -> Expression:
    if not isinstance(raw, str):
        raise ValueError("must be text, like price * quantity")
    try:
        return parse_expression(raw)
    except ExpressionError as exc:
        raise ValueError(f"cannot be read: {exc}") from None


@dataclass(frozen=True)
class Prop:
    """A field property: its name in messages, how to load it and how to dump it."""

    name: str
    title: str
    load: Callable[[Any], Any] | None = None  # None: loaded by the loader itself
    dump: Callable[[Any], Any] = field(default=lambda v: v)


_PROPS: tuple[Prop, ...] = (
    Prop("type", "Type"),
    Prop("key", "Key"),
    Prop("label", "The label", _text(300)),
    Prop("help", "The help text", _text(5000)),
    Prop("placeholder", "The placeholder", _text(300)),
    Prop("text", "The text", _text(20_000)),
    Prop("required", "Required", _bool),
    Prop("required_if", "The required-if condition"),
    Prop("visible_if", "The visible-if condition"),
    Prop("default", "The default value"),
    Prop("min", "The minimum"),
    Prop("max", "The maximum"),
    Prop("min_length", "The minimum length", _int(0, 100_000)),
    Prop("max_length", "The maximum length", _int(1, 100_000)),
    Prop("pattern", "The pattern", _pattern),
    Prop("pattern_message", "The pattern message", _text(300)),
    Prop("options", "The options", dump=lambda v: [{"label": o.label, "value": o.value} for o in v]),
    Prop("display", "The display", _choice(DISPLAYS)),
    Prop("currency", "The currency", _currency),
    Prop("allowed_types", "The allowed types", _allowed_types, dump=list),
    Prop("max_size", "The maximum size", _int(1, MAX_UPLOAD_BYTES)),
    Prop("max_count", "The maximum number of files", _int(1, 100)),
    Prop("expression", "The expression", _expression, dump=lambda e: e.source),
    Prop("decimals", "The number of decimals", _int(0, 10)),
    Prop("min_rows", "The minimum number of rows", _int(0, 1000)),
    Prop("max_rows", "The maximum number of rows", _int(1, 1000)),
    Prop("width", "The width", _choice(WIDTHS)),
    Prop("fields", "The fields"),
)
PROPERTIES: Mapping[str, Prop] = MappingProxyType({p.name: p for p in _PROPS})
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(FieldSpec)}


# --- loading -----------------------------------------------------------------------------------


@dataclass
class _Draft:
    """A field while loading: properties gathered so far and where it sits."""

    path: str
    key: str | None
    ftype: FieldType
    page: int
    group: _Draft | None
    kwargs: dict[str, Any]
    failed: set[str] = field(default_factory=set)
    """Properties that did not load; checks depending on them are skipped to avoid knock-on errors."""
    raw_conditions: dict[str, Any] = field(default_factory=dict)
    children: list[_Draft] = field(default_factory=list)

    def spec(self) -> FieldSpec:
        fields = tuple(child.spec() for child in self.children)
        return FieldSpec(type=self.ftype.name, key=self.key or "", fields=fields, **self.kwargs)


class _Loader:
    def __init__(self) -> None:
        self.problems: list[tuple[str, str | None, str]] = []
        self.keys: dict[str, str] = {}
        self.drafts: list[_Draft] = []

    def add(self, path: str, key: str | None, message: str) -> None:
        self.problems.append((path, key, message))

    def load(self, data: Mapping[str, Any]) -> FormSchema | None:
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
        pages_raw = data.get("pages")
        if not isinstance(pages_raw, list | tuple) or not pages_raw:
            self.add("pages", None, "The form needs a list of pages with at least one page.")
            return None
        if len(pages_raw) > MAX_PAGES:
            self.add("pages", None, f"The form has more than {MAX_PAGES} pages.")
            return None
        total = _count_fields(pages_raw)
        if total > MAX_FIELDS:
            self.add("pages", None, f"The form has {total} fields; the limit is {MAX_FIELDS}.")
            return None
        page_keys: set[str] = set()
        pages: list[tuple[str, str, list[_Draft]]] = []
        for index, raw_page in enumerate(pages_raw):
            pages.append(self.page(raw_page, f"pages[{index}]", index, page_keys))
        self.resolve()
        if self.problems:
            return None
        return FormSchema(
            title=str(title),
            description=description,
            pages=tuple(Page(key, ptitle, tuple(d.spec() for d in drafts)) for key, ptitle, drafts in pages),
        )

    def page(self, raw: Any, path: str, index: int, seen: set[str]) -> tuple[str, str, list[_Draft]]:
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

    def field(self, raw: Any, path: str, page: int, group: _Draft | None) -> _Draft | None:
        if not isinstance(raw, Mapping):
            self.add(path, None, "Each field must be an object with at least a type and a key.")
            return None
        key = self.field_key(raw.get("key"), path, raw.get("label"))
        type_name = raw.get("type")
        ftype = FIELD_TYPES.get(type_name) if isinstance(type_name, str) else None
        if ftype is None:
            names = ", ".join(FIELD_TYPES)
            what = "Choose a field type" if type_name is None else f"Unknown field type {type_name!r}"
            self.add(f"{path}.type", key, f"{what}; use one of: {names}.")
            return None
        if group is not None and not ftype.in_groups:
            self.add(f"{path}.type", key, f"A repeating group cannot contain a {ftype.title} field.")
            return None
        allowed = ftype.allowed_properties
        draft = _Draft(path, key, ftype, page, group, {})
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
        for name in ("visible_if", "required_if"):
            if name in raw and name in allowed:
                draft.raw_conditions[name] = raw[name]
        self.drafts.append(draft)
        return draft

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
            here = f"{path}[{i}]"
            if not isinstance(item, Mapping):
                self.add(here, key, "Each option must be an object with a label and a value.")
                ok = False
                continue
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
                ok = False
                continue
            if value in seen:
                self.add(f"{here}.value", key, f"The value {value!r} is already used by option {seen[value] + 1}.")
                ok = False
                continue
            seen[value] = i
            if isinstance(label, str):
                out.append(Option(label, value))
        return tuple(out) if ok else None

    def group_fields(self, draft: _Draft, raw: Any) -> None:
        path = f"{draft.path}.fields"
        if not isinstance(raw, list | tuple) or not raw:
            self.add(path, draft.key, "Add at least one field to the repeating group.")
            return
        for i, item in enumerate(raw):
            child = self.field(item, f"{path}[{i}]", draft.page, draft)
            if child is not None:
                draft.children.append(child)

    def bounds(self, draft: _Draft, raw: Mapping[str, Any]) -> None:
        """min, max and default depend on the type and its other properties, so they come last."""
        allowed = draft.ftype.allowed_properties
        if "pattern_message" in raw and "pattern" not in raw:
            self.add(f"{draft.path}.pattern_message", draft.key, "There is a pattern message but no pattern.")
        if draft.failed:
            return
        for name in ("min", "max"):
            if name in raw and name in allowed:
                try:
                    value = draft.ftype.load_bound(draft.spec(), raw[name])
                    if value is None:
                        raise ValueError("Enter a value or remove the property.")
                    draft.kwargs[name] = value
                except ValueError as exc:
                    self.add(f"{draft.path}.{name}", draft.key, f"{PROPERTIES[name].title} is not valid: {exc}")
                    draft.failed.add(name)
        if draft.failed:
            return
        spec = draft.spec()
        for prop, message in draft.ftype.check(spec):
            self.add(f"{draft.path}.{prop}", draft.key, message)
        if "default" in raw and "default" in allowed:
            try:
                value = draft.ftype.coerce(spec, raw["default"], dt.UTC)
                problems = [] if conditions.is_empty(value) else draft.ftype.check_value(spec, value)
            except ValueError as exc:
                problems = [str(exc)]
            if problems:
                self.add(f"{draft.path}.default", draft.key, f"The default value is not valid: {problems[0]}")
            else:
                draft.kwargs["default"] = value

    # --- cross-field checks, once every field is known ----------------------------------------

    def resolve(self) -> None:
        top = [d for d in self.drafts if d.group is None and d.key]
        families = {d.key: d.ftype.family for d in top if d.key and d.ftype.family}
        page_of = {d.key: d.page for d in top if d.key}
        owner = {d.key: d.group.key for d in self.drafts if d.group is not None and d.key and d.group.key}
        no_value = {d.key: d.ftype.title for d in self.drafts if d.key and d.ftype.family is None}
        options = {
            d.key: [o.value for o in d.kwargs["options"]] for d in self.drafts if d.key and "options" in d.kwargs
        }
        for draft in self.drafts:
            scope = self.scope(draft, families, page_of)
            later = {k for k, p in page_of.items() if p > draft.page}
            for name, raw in draft.raw_conditions.items():
                self.condition(draft, name, raw, scope, later, owner, no_value, options)
            expression = draft.kwargs.get("expression")
            if expression is not None:
                self.expression(draft, expression, scope, later, owner, top)
        self.cycles(top)
        for group in top:
            if group.children:
                self.cycles(group.children)

    def scope(self, draft: _Draft, families: Mapping[str, str], page_of: Mapping[str, int]) -> dict[str, str]:
        """Fields a condition or expression of ``draft`` may use."""
        scope = {k: f for k, f in families.items() if page_of[k] <= draft.page and k != draft.key}
        if draft.group is not None:
            scope.pop(draft.group.key or "", None)
            for sibling in draft.group.children:
                if sibling.key and sibling.ftype.family and sibling.key != draft.key:
                    scope[sibling.key] = sibling.ftype.family
        return scope

    def condition(
        self,
        draft: _Draft,
        name: str,
        raw: Any,
        scope: Mapping[str, str],
        later: set[str],
        owner: Mapping[str, str],
        no_value: Mapping[str, str],
        options: Mapping[str, Sequence[str]],
    ) -> None:
        path = f"{draft.path}.{name}"
        reported: set[str] = set()
        for ref in sorted(referenced_fields(raw)):
            message = None
            if ref == draft.key:
                message = "A condition cannot use the field it belongs to."
            elif ref in later:
                message = f"The condition uses {ref!r}, which is on a later page; use fields on this page or earlier."
            elif ref in owner and ref not in scope:
                message = (
                    f"The condition uses {ref!r}, which is inside the repeating group {owner[ref]!r}; only "
                    "fields of the same group row can use it."
                )
            elif ref in no_value:
                message = f"The condition uses {ref!r}, a {no_value[ref]}, which has no value to test."
            if message:
                self.add(path, draft.key, message)
                reported.add(ref)
        errors = validate_condition(raw, scope, options)
        for error in errors:
            if error.message.startswith("Unknown field") and any(repr(r) in error.message for r in reported):
                continue
            self.add(f"{path}.{error.path}" if error.path else path, draft.key, error.message)
        if not errors and not reported:
            draft.kwargs[name] = conditions.parse_condition(raw, scope, options)

    def expression(
        self,
        draft: _Draft,
        expression: Expression,
        scope: Mapping[str, str],
        later: set[str],
        owner: Mapping[str, str],
        top: Sequence[_Draft],
    ) -> None:
        path = f"{draft.path}.expression"
        for ref in sorted(expression.references()):
            if ref == draft.key:
                self.add(path, draft.key, "The expression cannot use the field itself.")
            elif ref in later:
                self.add(path, draft.key, f"The expression uses {ref!r}, which is on a later page.")
            elif ref not in scope:
                if ref in owner:
                    g = owner[ref]
                    hint = f"use sum({g}.{ref}), min({g}.{ref}) or max({g}.{ref})"
                    self.add(path, draft.key, f"{ref!r} is inside the repeating group {g!r}; {hint}.")
                else:
                    self.add(path, draft.key, f"The expression uses {ref!r}, which is not a field of this form.")
            elif scope[ref] != "number":
                self.add(path, draft.key, f"{ref!r} is not a number field, so it cannot be used in a calculation.")
        groups = {d.key: d for d in top if d.ftype.name == "group"}
        for group_key, sub_key in sorted(expression.columns()):
            group = groups.get(group_key)
            if group is None or group_key not in scope:
                where = "is on a later page" if group_key in later else "is not a repeating group of this form"
                if draft.group is not None and draft.group.key == group_key:
                    where = "is the group this field belongs to; use the row's fields directly"
                self.add(path, draft.key, f"{group_key!r} {where}.")
                continue
            sub = next((c for c in group.children if c.key == sub_key), None)
            if sub is None:
                self.add(path, draft.key, f"{sub_key!r} is not a field of the group {group_key!r}.")
            elif sub.ftype.family != "number":
                self.add(path, draft.key, f"{group_key}.{sub_key} is not a number field.")

    def cycles(self, drafts: Sequence[_Draft]) -> None:
        keys = [d.key for d in drafts if d.key]
        deps = {d.key: self.deps(d) for d in drafts if d.key}
        while True:
            # Report every loop: after one is found its fields are set aside and the rest checked again.
            remaining = set(keys)
            _, cycle = _topological(keys, {k: v & remaining for k, v in deps.items()})
            if not cycle:
                return
            first = next(d for d in drafts if d.key == cycle[0])
            self.add(
                first.path,
                first.key,
                "These fields depend on each other in a loop: " + " → ".join(cycle) + "; break the loop.",
            )
            keys = [k for k in keys if k not in cycle]

    def deps(self, draft: _Draft) -> set[str]:
        deps: set[str] = set()
        raw_visible = draft.raw_conditions.get("visible_if")
        if raw_visible is not None:
            deps |= referenced_fields(raw_visible)
        expression = draft.kwargs.get("expression")
        if isinstance(expression, Expression):
            deps |= expression.references() | {g for g, _ in expression.columns()}
        for child in draft.children:
            deps |= self.deps(child)
        deps.discard(draft.key or "")
        return deps


def _count_fields(pages: Sequence[Any]) -> int:
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


# --- versions ----------------------------------------------------------------------------------

MAX_STRUCTURE_DEPTH = 40
"""Deeper definitions (already parsed, e.g. from the API) are refused before anything recurses into them."""


def _structure_depth(data: Any, limit: int) -> int:
    """Nesting depth of dicts and lists, iteratively, stopping once past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            children: Any = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""schema_version N -> function turning a version N document into version N + 1."""


def migrate_definition(data: Any) -> dict[str, Any]:
    """Bring a stored or imported definition up to the current schema_version (a new dict)."""
    if not isinstance(data, Mapping):
        raise DefinitionError([("", None, "A form definition must be a JSON object.")])
    version = data.get("schema_version")
    if version is None:
        raise DefinitionError([("schema_version", None, "schema_version is missing: this does not look "
                                                       "like a Casework form definition.")])
    if isinstance(version, bool) or not isinstance(version, int):
        raise DefinitionError([("schema_version", None, "schema_version must be a whole number, like 1.")])
    if version > CURRENT_SCHEMA_VERSION:
        raise DefinitionError([("schema_version", None, f"This definition was made by a newer Casework "
                                f"(schema_version {version}); this server reads up to {CURRENT_SCHEMA_VERSION}.")])
    if _structure_depth(data, MAX_STRUCTURE_DEPTH) > MAX_STRUCTURE_DEPTH:
        raise DefinitionError([("", None, f"The definition nests objects and lists more than {MAX_STRUCTURE_DEPTH} "
                                          "levels deep.")])
    if version == CURRENT_SCHEMA_VERSION:
        return dict(data)
    out = copy.deepcopy(dict(data))  # migrations may change nested parts; the caller's data stays as it was
    while version < CURRENT_SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise DefinitionError([("schema_version", None, f"schema_version {version} is not supported.")])
        out = step(out)
        version += 1
        out["schema_version"] = version
    return out


# --- public API --------------------------------------------------------------------------------


def load_definition(data: Mapping[str, Any]) -> FormSchema:
    """Validate a JSON definition and build the schema; DefinitionError lists every problem."""
    migrated = migrate_definition(data)
    loader = _Loader()
    schema = loader.load(migrated)
    if loader.problems or schema is None:
        raise DefinitionError(loader.problems or [("", None, "The definition is not valid.")])
    return schema


def _dump_field(spec: FieldSpec) -> dict[str, Any]:
    ftype = spec.field_type
    allowed = ftype.allowed_properties
    out: dict[str, Any] = {"type": spec.type, "key": spec.key}
    for prop in _PROPS[2:]:
        if prop.name not in allowed:
            continue
        value = getattr(spec, prop.name)
        if value == _DEFAULTS[prop.name]:
            continue
        if prop.name in ("min", "max", "default"):
            out[prop.name] = ftype.to_json(value)
        elif prop.name in ("visible_if", "required_if"):
            out[prop.name] = condition_to_json(value)
        elif prop.name == "fields":
            out[prop.name] = [_dump_field(sub) for sub in value]
        else:
            out[prop.name] = prop.dump(value)
    return out


def dump_definition(schema: FormSchema) -> dict[str, Any]:
    """The JSON document of a schema (what is stored, exported and diffed)."""
    out: dict[str, Any] = {"schema_version": schema.schema_version, "title": schema.title}
    if schema.description:
        out["description"] = schema.description
    out["pages"] = [
        {"key": page.key, "title": page.title, "fields": [_dump_field(spec) for spec in page.fields]}
        for page in schema.pages
    ]
    return out


_JSON_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET_RE = re.compile(r"[\[\]{}]")


def _nesting_depth(text: str, limit: int) -> int:
    """Deepest nesting of objects and lists, stopping early once past ``limit``."""
    depth = deepest = 0
    for match in _BRACKET_RE.finditer(_JSON_STRING_RE.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
        else:
            depth -= 1
    return deepest


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice in the same object")
        out[key] = value
    return out


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _file_error(message: str) -> DefinitionError:
    return DefinitionError([("", None, message)])


def parse_definition_file(raw: bytes) -> FormSchema:
    """Import an exported definition file, refusing hostile or broken files with a clear message."""
    if not isinstance(raw, bytes | bytearray):
        raise _file_error("The file could not be read.")
    if len(raw) > MAX_FILE_BYTES:
        raise _file_error(f"The file is larger than {MAX_FILE_BYTES // 1024} KiB; a form definition is never "
                          "that big.")
    try:
        text = bytes(raw).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _file_error("The file is not UTF-8 text; export the form from Casework again.") from None
    if _nesting_depth(text, MAX_NESTING) > MAX_NESTING:
        raise _file_error(f"The file nests objects and lists more than {MAX_NESTING} levels deep.")
    try:
        data = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=Decimal,
            parse_constant=_refuse_constant,
        )
    except json.JSONDecodeError as exc:
        raise _file_error(f"The file is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except (ValueError, RecursionError) as exc:
        raise _file_error(f"The file is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise _file_error("The file must hold one JSON object: a Casework form definition.")
    pages = data.get("pages")
    if isinstance(pages, list) and _count_fields(pages) > MAX_FIELDS:
        raise _file_error(f"The form has more than {MAX_FIELDS} fields.")
    return load_definition(data)


def iter_fields(schema: FormSchema) -> Iterator[tuple[Page, FieldSpec, FieldSpec | None]]:
    """(page, field, group or None) for every field, sub-fields right after their group."""
    for page in schema.pages:
        for spec in page.fields:
            yield page, spec, None
            for sub in spec.fields:
                yield page, sub, spec
