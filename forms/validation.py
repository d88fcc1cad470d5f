"""Validating a submission against a form schema: the single place that decides what is clean data.

The HTML form (through ``forms.wtf``) and the JSON API both call ``validate_submission``, so they give the
same messages. Input is coerced to the python type of each field's family, hidden fields are neither
validated nor returned, calculated fields are computed, and keys that are not fields are dropped.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import ChainMap
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeAlias

from forms.conditions import evaluate, is_empty
from forms.errors import SubmissionInvalid
from forms.fieldtypes.attachments import allowed_labels, file_type_allowed
from forms.files import HEAD_BYTES, KNOWN_FILE_TYPES, human_size, sniff_content_type
from forms.schema import FieldSpec, FormSchema

__all__ = [
    "HEAD_BYTES",
    "MAX_ROWS",
    "CleanData",
    "check_upload",
    "defaults",
    "from_json_values",
    "hidden_fields",
    "sniff_content_type",
    "to_json_values",
    "validate_submission",
]

CleanData: TypeAlias = dict[str, Any]
"""Field key -> python value of the field's family; group rows are lists of such dicts."""

MAX_ROWS = 1000
"""More rows than any group allows; bounds the work a hostile post can cause."""

def _raw_rows(raw: Mapping[str, Any], spec: FieldSpec) -> tuple[list[Any], str | None]:
    value = raw.get(spec.key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return [], None
    if isinstance(value, Mapping):
        value = [value]  # an HTML-less client sending one row
    if not isinstance(value, list | tuple):
        return [], "Enter the rows as a list."
    return list(value), None


def _blank_row(row: Mapping[str, Any], spec: FieldSpec) -> bool:
    """A row where nothing was entered (an untouched blank row of the page) is ignored."""
    for sub in spec.fields:
        if not sub.takes_input:
            continue
        value = row.get(sub.key)
        if is_empty(value) or (isinstance(value, list | tuple) and all(is_empty(v) for v in value)):
            continue
        if sub.default is not None and _coerces_to(sub, value, sub.default):
            continue  # a pre-filled default left as it was
        return False
    return True


def _coerces_to(spec: FieldSpec, raw: Any, expected: Any) -> bool:
    try:
        return bool(spec.field_type.coerce(spec, raw, dt.UTC) == expected)
    except ValueError:
        return False


class _Run:
    """One validation: values decided in dependency order, then every rule checked."""

    def __init__(
        self,
        schema: FormSchema,
        raw: Mapping[str, Any],
        files: Mapping[str, Any] | None,
        tz: dt.tzinfo,
    ) -> None:
        self.schema = schema
        self.raw = raw
        self.files = files or {}
        self.tz = tz
        self.errors: dict[str, list[str]] = {}
        self.invalid: set[str] = set()
        self.values: dict[str, Any] = {}
        self.rows: list[tuple[FieldSpec, int, dict[str, Any]]] = []

    def error(self, key: str, message: str) -> None:
        messages = self.errors.setdefault(key, [])
        if message not in messages:
            messages.append(message)

    def decide(self) -> None:
        """Visibility and value of every top-level field, each after the fields it depends on."""
        schema = self.schema
        for key in schema.order:
            spec = schema.by_key[key]
            if not spec.has_value:
                continue
            if spec.visible_if is not None and not evaluate(spec.visible_if, self.values, schema.families):
                continue
            self.values[key] = self.value(spec, self.raw_value(spec), key, self.values)

    def raw_value(self, spec: FieldSpec) -> Any:
        if spec.family == "file" and spec.key in self.files:
            return self.files[spec.key]
        return self.raw.get(spec.key)

    def value(self, spec: FieldSpec, raw: Any, err_key: str, scope: Mapping[str, Any]) -> Any:
        if spec.expression is not None:
            return self.calculate(spec, scope)
        if spec.family == "group":
            return self.group(spec)
        if is_empty(raw):
            # None, blank text or an empty list: the same "nothing entered" for every type.
            return spec.field_type.empty_value()
        try:
            return spec.field_type.coerce(spec, raw, self.tz)
        except ValueError as exc:
            self.error(err_key, str(exc))
            self.invalid.add(err_key)
            return None

    def calculate(self, spec: FieldSpec, scope: Mapping[str, Any]) -> Decimal | None:
        assert spec.expression is not None
        result = spec.expression.evaluate(scope)
        if result is not None and spec.decimals is not None:
            try:
                with decimal.localcontext() as ctx:
                    ctx.traps[decimal.InvalidOperation] = True
                    result = result.quantize(Decimal(1).scaleb(-spec.decimals), rounding=decimal.ROUND_HALF_UP)
            except ArithmeticError:
                return None
        return result

    def group(self, spec: FieldSpec) -> list[dict[str, Any]]:
        raw_rows, problem = _raw_rows(self.raw, spec)
        if problem is not None:
            self.error(spec.key, problem)
            self.invalid.add(spec.key)
            return []
        if len(raw_rows) > MAX_ROWS:
            self.error(spec.key, f"Add at most {MAX_ROWS} rows.")
            self.invalid.add(spec.key)
            return []
        families = self.schema.row_families(spec.key)
        order = self.schema.row_order(spec.key)
        rows: list[dict[str, Any]] = []
        for index, raw_row in enumerate(raw_rows):
            if not isinstance(raw_row, Mapping):
                self.error(f"{spec.key}.{index}", "Each row must be an object of field values.")
                self.invalid.add(spec.key)
                continue
            if _blank_row(raw_row, spec):
                continue
            row: dict[str, Any] = {}
            scope = ChainMap(row, self.values)
            for sub_key in order:
                sub = self.schema.by_key[sub_key]
                if not sub.has_value:
                    continue
                if sub.visible_if is not None and not evaluate(sub.visible_if, scope, families):
                    continue
                row[sub_key] = self.value(sub, raw_row.get(sub.key), f"{spec.key}.{index}.{sub_key}", scope)
            # Keys in definition order, whatever order they were decided in.
            ordered = {s.key: row[s.key] for s in spec.fields if s.key in row}
            rows.append(ordered)
            self.rows.append((spec, index, ordered))
        return rows

    def check(self) -> None:
        """Required, required_if and each type's rules, on the decided values."""
        for key, value in self.values.items():
            spec = self.schema.by_key[key]
            self.check_field(spec, value, key, self.values, self.schema.families)
        for group, index, row in self.rows:
            if group.key not in self.values:
                continue
            families = self.schema.row_families(group.key)
            scope = ChainMap(row, self.values)
            for sub_key, value in row.items():
                sub = self.schema.by_key[sub_key]
                self.check_field(sub, value, f"{group.key}.{index}.{sub_key}", scope, families)

    def check_field(
        self, spec: FieldSpec, value: Any, err_key: str, scope: Mapping[str, Any], families: Mapping[str, str]
    ) -> None:
        if err_key in self.invalid or not spec.takes_input:
            return
        empty = is_empty(value)
        if empty:
            required = spec.required or (
                spec.required_if is not None and evaluate(spec.required_if, scope, families)
            )
            if required:
                self.error(err_key, spec.field_type.required_message)
                return
            if not spec.field_type.check_when_empty:
                return
        for message in spec.field_type.check_value(spec, value):
            self.error(err_key, message)


def _row_position(key: str) -> int:
    parts = key.split(".")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1


def validate_submission(
    schema: FormSchema,
    raw: Mapping[str, Any],
    *,
    page: str | None = None,
    files: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    timezone: dt.tzinfo = dt.UTC,
) -> CleanData:
    """Clean data of the visible fields (of ``page``, or of the whole form); SubmissionInvalid lists every error.

    ``raw`` holds plain JSON-like values: a list for a multiple choice, a list of row objects for a group
    (the web layer turns an HTML post into these: ``app/filing.py``). ``files`` holds the already-stored
    file refs per file field (``{"id", "name", "size", "content_type"}``). Naive date-times (an HTML
    ``datetime-local``) are read in ``timezone``. Error keys of group sub-fields are
    ``group.<row position>.<key>``. In page mode, ``raw`` should also hold the earlier pages' values, since
    conditions may depend on them.
    """
    scope = [s.key for s in (schema.page(page).fields if page is not None else schema.fields)]
    run = _Run(schema, raw if isinstance(raw, Mapping) else {}, files, timezone)
    run.decide()
    run.check()
    position = {key: i for i, key in enumerate(scope)}
    found = [k for k in run.errors if k.split(".", 1)[0] in position]
    # Errors in the order of the form, so "first error" means the first one on the page.
    found.sort(key=lambda k: (position[k.split(".", 1)[0]], _row_position(k)))
    errors = {k: run.errors[k] for k in found}
    if errors:
        raise SubmissionInvalid(errors)
    return {key: run.values[key] for key in scope if key in run.values}


# --- storage -----------------------------------------------------------------------------------


def to_json_values(clean: Mapping[str, Any]) -> dict[str, Any]:
    """Clean data as JSON-safe values: Decimal as a string, dates as ISO text; exact and reversible."""
    return {key: _json(value) for key, value in clean.items()}


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")  # exact, and never in exponent notation
    if isinstance(value, dt.date):  # datetime included
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def _typed(spec: FieldSpec, stored: Any) -> Any:
    if spec.family == "group":
        if not isinstance(stored, list):
            return stored
        subs = {sub.key: sub for sub in spec.fields}
        return [
            {k: _typed(subs[k], v) for k, v in row.items() if k in subs} if isinstance(row, Mapping) else row
            for row in stored
        ]
    try:
        return spec.field_type.from_json(spec, stored)
    except ValueError:
        return stored  # never lose stored data because a later reading is stricter


def from_json_values(schema: FormSchema, stored: Mapping[str, Any]) -> CleanData:
    """Stored JSON back to typed values; keys that are not fields of ``schema`` are left out."""
    return {
        spec.key: _typed(spec, stored[spec.key])
        for spec in schema.fields
        if spec.has_value and spec.key in stored
    }


def defaults(schema: FormSchema) -> CleanData:
    """The default value of every field that has one, to pre-fill a new submission."""
    return {spec.key: spec.default for spec in schema.fields if spec.default is not None}


# --- uploads -----------------------------------------------------------------------------------


def check_upload(
    field: FieldSpec, name: str, size: int, head_bytes: bytes, *, existing_count: int = 0
) -> list[str]:
    """Why an upload is refused (empty list: accepted); the type is judged by content, never by name.

    ``head_bytes`` is the start of the file (``HEAD_BYTES`` is enough); ``existing_count`` the files
    already attached to the field.
    """
    if field.family != "file":
        return ["This field does not take files."]
    messages: list[str] = []
    limit = field.max_count if field.max_count is not None else 1
    if existing_count + 1 > limit:
        messages.append("Attach only one file." if limit == 1 else f"Attach at most {limit} files.")
    if size <= 0:
        messages.append("The file is empty.")
    elif field.max_size is not None and size > field.max_size:
        messages.append(f"The file is too large ({human_size(size)}); the limit is {human_size(field.max_size)}.")
    content_type = sniff_content_type(head_bytes, name=name)
    if content_type is None or content_type not in KNOWN_FILE_TYPES:
        messages.append(f"This kind of file is not accepted ({allowed_labels(field)}).")
    elif not file_type_allowed(field, content_type):
        kind = KNOWN_FILE_TYPES[content_type].label
        messages.append(f"This file is a {kind}, which is not accepted here ({allowed_labels(field)}).")
    return messages


def hidden_fields(
    schema: FormSchema,
    raw: Mapping[str, Any],
    *,
    files: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    timezone: dt.tzinfo = dt.UTC,
) -> set[str]:
    """Top-level keys whose visible-if condition is false for these answers (headings and notes too).

    Pages render these hidden, so what a requester sees matches what validation will keep.
    """
    run = _Run(schema, raw if isinstance(raw, Mapping) else {}, files, timezone)
    run.decide()
    hidden: set[str] = set()
    for spec in schema.fields:
        if spec.visible_if is None:
            continue
        if spec.has_value:
            if spec.key not in run.values:
                hidden.add(spec.key)
        elif not evaluate(spec.visible_if, run.values, schema.families):
            hidden.add(spec.key)
    return hidden
