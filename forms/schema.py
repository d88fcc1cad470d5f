"""Form definitions as typed objects: the schema an admin designs, and its versions.

Format (``schema_version`` 1)::

    {"schema_version": 1, "title": "...", "description": "...",
     "pages": [{"key": "details", "title": "Details", "fields": [FIELD, ...]}, ...]}

    FIELD := {"type": "<type name>", "key": "<machine name>", "label": "...", <properties>}

``forms.definitions`` reads and writes that document (``load_definition`` reports every problem at once,
``load_definition(dump_definition(s)) == s``); ``forms.properties`` describes each property. Older
documents are brought up to date by ``migrate_definition`` before they are loaded.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Any

import wtforms

from forms.conditions import Condition, referenced_fields
from forms.errors import DefinitionError, UnknownPage
from forms.expressions import Expression
from forms.fieldtypes import FIELD_TYPES, FieldType

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "MIGRATIONS",
    "FieldSpec",
    "FormSchema",
    "Option",
    "Page",
    "iter_fields",
    "migrate_definition",
    "topological_order",
]

CURRENT_SCHEMA_VERSION = 1
MAX_FIELDS = 500
MAX_PAGES = 50
MAX_OPTIONS = 1000
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
    personal: bool = False
    """The answer is personal data about the requester: it is kept outside the audit chain's hashed
    payloads (behind a salted commitment) so it can be erased without breaking any hash. A repeating
    group marked personal makes every value of its rows personal."""
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
    def personal_keys(self) -> frozenset[str]:
        """Top-level keys whose value is personal data (``FieldSpec.personal``; a group counts whole if
        it or any of its sub-fields is marked): what the audit chain keeps behind salted commitments."""
        return frozenset(s.key for s in self.fields if s.personal or any(sub.personal for sub in s.fields))

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
        return tuple(topological_order(keys, deps)[0])

    def row_order(self, group: str) -> tuple[str, ...]:
        """Sub-field keys of ``group`` in evaluation order."""
        subs = self.by_key[group].fields
        keys = [s.key for s in subs]
        return tuple(topological_order(keys, {s.key: field_dependencies(s) & set(keys) for s in subs})[0])


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


def topological_order(
    keys: Sequence[str], deps: Mapping[str, set[str]]
) -> tuple[list[str], list[str] | None]:
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



def iter_fields(schema: FormSchema) -> Iterator[tuple[Page, FieldSpec, FieldSpec | None]]:
    """(page, field, group or None) for every field, sub-fields right after their group."""
    for page in schema.pages:
        for spec in page.fields:
            yield page, spec, None
            for sub in spec.fields:
                yield page, sub, spec


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


