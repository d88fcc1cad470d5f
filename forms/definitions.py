"""A form definition document in and out: load it (every problem at once), dump it, import a file.

``load_definition(dump_definition(s)) == s``. Loading brings the document up to the current
``schema_version`` first, then reads it in two passes (``forms.loading``, ``forms.references``); the
errors carry the JSON path, the field key and a message an admin understands.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from forms.conditions import condition_to_json
from forms.errors import DefinitionError
from forms.loading import FieldLoader, Problem, count_fields
from forms.properties import PROPERTY_ORDER
from forms.references import References
from forms.schema import MAX_FIELDS, FieldSpec, FormSchema, migrate_definition

__all__ = ["dump_definition", "dump_field", "load_definition", "parse_definition_file"]

MAX_FILE_BYTES = 1024 * 1024
MAX_NESTING = 20
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(FieldSpec)}


def load_definition(data: Mapping[str, Any]) -> FormSchema:
    """Validate a JSON definition and build the schema; DefinitionError lists every problem."""
    migrated = migrate_definition(data)
    problems: list[Problem] = []
    loader = FieldLoader(problems)
    title, description = loader.header(migrated)
    pages = loader.pages(migrated.get("pages"))
    if pages is not None:
        References(problems, loader.drafts).check()
    if problems or pages is None:
        raise DefinitionError(problems or [("", None, "The definition is not valid.")])
    return FormSchema(title=title, description=description, pages=loader.schema_pages(pages))


def dump_field(spec: FieldSpec) -> dict[str, Any]:
    """The JSON of one field: its type, key and every property that differs from the default."""
    ftype = spec.field_type
    allowed = ftype.allowed_properties
    out: dict[str, Any] = {"type": spec.type, "key": spec.key}
    for prop in PROPERTY_ORDER[2:]:
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
            out[prop.name] = [dump_field(sub) for sub in value]
        else:
            out[prop.name] = prop.dump(value)
    return out


def dump_definition(schema: FormSchema) -> dict[str, Any]:
    """The JSON document of a schema (what is stored, exported and diffed)."""
    out: dict[str, Any] = {"schema_version": schema.schema_version, "title": schema.title}
    if schema.description:
        out["description"] = schema.description
    out["pages"] = [
        {"key": page.key, "title": page.title, "fields": [dump_field(spec) for spec in page.fields]}
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
    if isinstance(pages, list) and count_fields(pages) > MAX_FIELDS:
        raise _file_error(f"The form has more than {MAX_FIELDS} fields.")
    return load_definition(data)
