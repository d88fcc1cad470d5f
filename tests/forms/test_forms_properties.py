"""Property-based tests over generated form definitions, submissions and conditions.

The generators build valid definitions of every field type (with conditions, patterns, bounds, groups and
calculations) and, for each, values that are valid or arbitrary. The properties then hold for all of them:
round trips, no exception but SubmissionInvalid, and every declared rule visible in the result.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from forms.conditions import evaluate, is_empty, parse_condition, validate_condition
from forms.definitions import dump_definition, load_definition, parse_definition_file
from forms.errors import DefinitionError, SubmissionInvalid
from forms.files import KNOWN_FILE_TYPES
from forms.schema import FieldSpec, FormSchema
from forms.validation import from_json_values, to_json_values, validate_submission

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FAMILY = {
    "short_text": "text", "long_text": "text", "email": "text", "phone": "text", "url": "text",
    "integer": "number", "decimal": "number", "currency": "number", "calculated": "number",
    "date": "date", "datetime": "datetime", "single_choice": "choice", "multi_choice": "multi",
    "yes_no": "bool", "file": "file", "group": "group",
}  # fmt: skip
INPUT_TYPES = [t for t in FAMILY if t != "calculated"]
PATTERNS = ["[A-Z]{3}-[0-9]{3}", "[a-z]+", "[0-9]{4,6}", "(ab|cd)[0-9]?"]
FILE_TYPES = ["application/pdf", "image/png", "image/jpeg", "text/plain"]
LETTERS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFG", min_size=1, max_size=12)
WORDS = st.lists(LETTERS, min_size=1, max_size=3).map(" ".join)


# --- definitions -------------------------------------------------------------------------------


def _options(draw: st.DrawFn) -> list[dict[str, str]]:
    values = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=4, unique=True))
    return [{"label": value.upper() + " option", "value": value} for value in values]


def _bounds(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> tuple[Any, Any]:
    low, high = draw(st.one_of(st.none(), values)), draw(st.one_of(st.none(), values))
    if low is not None and high is not None and low > high:
        low, high = high, low
    return low, high


def _add_bounds(field: dict[str, Any], low: Any, high: Any, dump: Any = lambda v: v) -> None:
    if low is not None:
        field["min"] = dump(low)
    if high is not None:
        field["max"] = dump(high)


def _condition(draw: st.DrawFn, target: dict[str, Any]) -> dict[str, Any]:
    """A condition that fits the family of ``target`` (a field defined earlier)."""
    key, family = target["key"], FAMILY[target["type"]]
    unary = draw(st.sampled_from(["empty", "not_empty", None]))
    if unary is not None:
        return {"field": key, "op": unary}
    if family == "text":
        return {"field": key, "op": draw(st.sampled_from(["eq", "neq", "contains", "not_contains"])), "value": "a"}
    if family == "number":
        op = draw(st.sampled_from(["gt", "gte", "lt", "lte", "eq", "neq", "between", "in"]))
        value: Any = draw(st.integers(-5, 50))
        if op == "between":
            value = sorted([value, draw(st.integers(-5, 50))])
        elif op == "in":
            value = [value, "10.5"]
        return {"field": key, "op": op, "value": value}
    if family == "date":
        return {"field": key, "op": draw(st.sampled_from(["before", "after", "eq"])), "value": "2024-06-01"}
    if family == "datetime":
        return {"field": key, "op": draw(st.sampled_from(["before", "after"])), "value": "2024-06-01T12:00:00+02:00"}
    if family in ("choice", "multi"):
        value = draw(st.sampled_from([o["value"] for o in target["options"]]))
        ops = ["eq", "neq", "in", "not_in"] if family == "choice" else ["contains", "not_contains"]
        op = draw(st.sampled_from(ops))
        return {"field": key, "op": op, "value": [value] if op.endswith("in") else value}
    if family == "bool":
        return {"field": key, "op": draw(st.sampled_from(["is_true", "is_false"]))}
    return {"field": key, "op": "not_empty"}


@st.composite
def sub_field(draw: st.DrawFn, key: str) -> dict[str, Any]:
    ftype = draw(st.sampled_from(["short_text", "integer", "currency", "yes_no", "single_choice"]))
    field: dict[str, Any] = {"type": ftype, "key": key, "label": key.upper(), "required": draw(st.booleans())}
    if ftype == "integer":
        _add_bounds(field, *_bounds(draw, st.integers(-100, 100)))
    if ftype == "currency":
        field["currency"] = "EUR"
    if ftype == "single_choice":
        field["options"] = _options(draw)
    return field


@st.composite
def field_def(draw: st.DrawFn, key: str, earlier: list[dict[str, Any]]) -> dict[str, Any]:
    numeric = [f["key"] for f in earlier if FAMILY.get(f["type"]) == "number"]
    groups = [f for f in earlier if f["type"] == "group"]
    kinds = [*INPUT_TYPES, "heading", "info"] + (["calculated"] if numeric or groups else [])
    ftype = draw(st.sampled_from(kinds))
    field: dict[str, Any] = {"type": ftype, "key": key, "label": draw(WORDS)}
    if ftype in INPUT_TYPES:
        field["required"] = draw(st.booleans())
    if ftype == "info":
        field["text"] = draw(WORDS)
    elif ftype == "short_text":
        if draw(st.booleans()):
            field["pattern"] = draw(st.sampled_from(PATTERNS))
            field["pattern_message"] = "Use the format shown."
        else:
            low, high = _bounds(draw, st.integers(0, 15))
            if low is not None:
                field["min_length"] = low
            if high:
                field["max_length"] = high
    elif ftype == "long_text":
        low, high = _bounds(draw, st.integers(1, 40))
        if low is not None:
            field["min_length"] = low
        if high is not None:
            field["max_length"] = high
    elif ftype == "integer":
        _add_bounds(field, *_bounds(draw, st.integers(-1000, 1000)))
    elif ftype in ("decimal", "currency"):
        places = 2
        _add_bounds(field, *_bounds(draw, st.decimals(-1000, 1000, places=places)), dump=str)
        if ftype == "currency":
            field["currency"] = draw(st.sampled_from(["EUR", "USD", "GBP"]))
    elif ftype == "date":
        _add_bounds(field, *_bounds(draw, st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31))), dump=str)
    elif ftype in ("single_choice", "multi_choice"):
        field["options"] = _options(draw)
        if ftype == "single_choice":
            field["display"] = draw(st.sampled_from(["dropdown", "radio"]))
    elif ftype == "file":
        field["allowed_types"] = draw(st.lists(st.sampled_from(FILE_TYPES), min_size=1, max_size=3, unique=True))
        field["max_size"] = draw(st.integers(100, 10_000))
        field["max_count"] = draw(st.integers(1, 3))
    elif ftype == "group":
        count = draw(st.integers(1, 3))
        field["fields"] = [draw(sub_field(f"{key}_s{i}")) for i in range(count)]
        low, high = _bounds(draw, st.integers(1, 4))
        if low is not None:
            field["min_rows"] = low
        if high is not None:
            field["max_rows"] = high
    elif ftype == "calculated":
        parts = [draw(st.sampled_from(numeric)) for _ in range(draw(st.integers(1, 3)))] if numeric else []
        for group in groups:
            numeric_subs = [s["key"] for s in group["fields"] if FAMILY[s["type"]] == "number"]
            if numeric_subs and draw(st.booleans()):
                parts.append(f"sum({group['key']}.{draw(st.sampled_from(numeric_subs))})")
        assume(parts)
        field["expression"] = draw(st.sampled_from([" + ", " * ", " - "])).join(parts)
        if draw(st.booleans()):
            field["decimals"] = draw(st.integers(0, 4))
    valued = [f for f in earlier if f["type"] in FAMILY]
    if valued and draw(st.integers(0, 2)) == 0:
        field["visible_if"] = _condition(draw, draw(st.sampled_from(valued)))
    if valued and ftype in INPUT_TYPES and draw(st.integers(0, 3)) == 0:
        field["required_if"] = {"any": [_condition(draw, draw(st.sampled_from(valued)))]}
    return field


@st.composite
def definitions(draw: st.DrawFn, extra: st.SearchStrategy[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A valid definition; ``extra`` adds one more field (without conditions) at a random place."""
    count = draw(st.integers(1, 8))
    fields: list[dict[str, Any]] = []
    for i in range(count):
        fields.append(draw(field_def(f"f{i}", fields)))
    if extra is not None:
        fields.insert(draw(st.integers(0, count)), draw(extra))
        count += 1
    split = draw(st.integers(1, count))
    pages = [{"key": "one", "title": "One", "fields": fields[:split]}]
    if fields[split:]:
        pages.append({"key": "two", "title": "Two", "fields": fields[split:]})
    return {"schema_version": 1, "title": draw(WORDS), "pages": pages}


# --- values ------------------------------------------------------------------------------------


def _text_value(draw: st.DrawFn, spec: FieldSpec) -> str:
    if spec.pattern is not None:
        return draw(st.from_regex(spec.pattern, fullmatch=True))
    low = max(spec.min_length or 0, 1)
    high = max(spec.max_length or low + 10, low)
    return draw(st.text(alphabet="abcdefxyz", min_size=low, max_size=high))


def valid_value(draw: st.DrawFn, spec: FieldSpec) -> tuple[Any, Any]:
    """(raw value as a client might send it, the clean value expected back)."""
    kind = spec.type
    if kind in ("short_text", "long_text"):
        text = _text_value(draw, spec)
        return text, text
    if kind == "email":
        text = f"{draw(LETTERS).lower()}@example.com"
        return text, text
    if kind == "phone":
        text = f"+1 555 {draw(st.integers(1000, 9999))}"
        return text, text
    if kind == "url":
        text = f"https://example.com/{draw(LETTERS)}"
        return text, text
    if kind == "integer":
        low = spec.min if spec.min is not None else -(10**6)
        value = draw(st.integers(low, spec.max if spec.max is not None else 10**6))
        return draw(st.sampled_from([value, str(value), f"{value:,}"])), value
    if kind in ("decimal", "currency"):
        low = spec.min if spec.min is not None else Decimal(-(10**6))
        high = spec.max if spec.max is not None else Decimal(10**6)
        value = draw(st.decimals(low, high, places=2))
        raw = draw(st.sampled_from([str(value), f"{value:,}"]))
        return raw, value
    if kind == "date":
        value = draw(st.dates(spec.min or dt.date(1990, 1, 1), spec.max or dt.date(2050, 1, 1)))
        return value.isoformat(), value
    if kind == "datetime":
        value = draw(st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2050, 1, 1), timezones=st.just(dt.UTC)))
        return value.isoformat(), value
    if kind == "single_choice":
        value = draw(st.sampled_from([o.value for o in spec.options]))
        return value, value
    if kind == "multi_choice":
        values = draw(st.lists(st.sampled_from([o.value for o in spec.options]), min_size=1, unique=True))
        return values, values
    if kind == "yes_no":
        value = draw(st.booleans())
        return draw(st.sampled_from([value, str(value).lower(), "on" if value else "off"])), value
    if kind == "file":
        refs = [
            {"id": str(i), "name": f"f{i}", "size": draw(st.integers(1, spec.max_size or 100)),
             "content_type": draw(st.sampled_from(spec.allowed_types or tuple(KNOWN_FILE_TYPES)))}
            for i in range(draw(st.integers(1, spec.max_count or 1)))
        ]  # fmt: skip
        return refs, refs
    if kind == "group":
        low = max(spec.min_rows or 0, 1)
        count = draw(st.integers(low, spec.max_rows if spec.max_rows is not None else low + 2))
        rows = [{sub.key: valid_value(draw, sub) for sub in spec.fields} for _ in range(count)]
        return [{k: raw for k, (raw, _) in row.items()} for row in rows], [
            {k: clean for k, (_, clean) in row.items()} for row in rows
        ]
    raise AssertionError(kind)


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
    | st.sampled_from(["", " ", "on", "1,000.5", "2024-02-30", "a", "ORD-1", "\x00", "\ud800", "1e999"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


@st.composite
def form_and_valid(
    draw: st.DrawFn, extra: st.SearchStrategy[dict[str, Any]] | None = None
) -> tuple[FormSchema, dict[str, Any], dict[str, Any]]:
    schema = load_definition(draw(definitions(extra)))
    raw, expected = {}, {}
    for spec in schema.fields:
        if spec.takes_input:
            raw[spec.key], expected[spec.key] = valid_value(draw, spec)
    return schema, raw, expected


@st.composite
def form_and_junk(draw: st.DrawFn) -> tuple[FormSchema, dict[str, Any]]:
    schema = load_definition(draw(definitions()))
    raw: dict[str, Any] = {}
    for spec in schema.fields:
        choice = draw(st.integers(0, 3))
        if choice == 0:
            continue
        if choice == 1:
            raw[spec.key] = valid_value(draw, spec)[0] if spec.takes_input else draw(JUNK)
        else:
            raw[spec.key] = draw(JUNK)
    raw.update(draw(st.dictionaries(st.sampled_from(["state", "assignee", "f1-0-x", "zz"]), JUNK, max_size=2)))
    return schema, raw


# --- invariants of any clean result --------------------------------------------------------------


def assert_rules_hold(schema: FormSchema, clean: dict[str, Any], scope: list[FieldSpec]) -> None:
    assert set(clean) <= {s.key for s in scope if s.has_value}
    for spec in scope:
        if not spec.has_value:
            continue
        visible = spec.visible_if is None or evaluate(spec.visible_if, clean, schema.families)
        # Hidden fields are never returned; visible ones always are.
        assert (spec.key in clean) == visible, spec.key
        if not visible:
            continue
        assert_field_rules(spec, clean[spec.key], clean, schema.families)
        if spec.type == "group":
            for row in clean[spec.key]:
                for sub in spec.fields:
                    assert sub.key in row
                    assert_field_rules(sub, row[sub.key], {**clean, **row}, schema.row_families(spec.key))


def assert_field_rules(spec: FieldSpec, value: Any, scope: dict[str, Any], families: Any) -> None:
    if is_empty(value):
        assert not spec.required, spec.key
        if spec.required_if is not None:
            assert not evaluate(spec.required_if, scope, families), spec.key
        if spec.type == "group":
            assert not spec.min_rows
        return
    if spec.min is not None:
        assert value >= spec.min
    if spec.max is not None:
        assert value <= spec.max
    if spec.min_length is not None:
        assert len(value) >= spec.min_length
    if spec.max_length is not None:
        assert len(value) <= spec.max_length
    if spec.pattern is not None:
        assert re.fullmatch(spec.pattern, value)
    if spec.type == "single_choice":
        assert value in [o.value for o in spec.options]
    if spec.type == "multi_choice":
        assert set(value) <= {o.value for o in spec.options}
    if spec.type == "group":
        assert spec.min_rows is None or len(value) >= spec.min_rows
        assert spec.max_rows is None or len(value) <= spec.max_rows
    expected_type = {"text": str, "number": (int, Decimal), "date": dt.date, "datetime": dt.datetime, "choice": str,
                     "multi": list, "bool": bool, "file": list, "group": list}[spec.family or ""]  # fmt: skip
    assert isinstance(value, expected_type)


# --- properties ----------------------------------------------------------------------------------


@SETTINGS
@given(definitions())
def test_generated_definitions_load_and_round_trip(data: dict[str, Any]) -> None:
    schema = load_definition(data)
    dumped = dump_definition(schema)
    assert load_definition(dumped) == schema
    assert dump_definition(load_definition(json.loads(json.dumps(dumped)))) == dumped
    assert parse_definition_file(json.dumps(dumped).encode()) == schema


@SETTINGS
@given(form_and_junk())
def test_validation_raises_nothing_but_submission_invalid(case: tuple[FormSchema, dict[str, Any]]) -> None:
    schema, raw = case
    field_keys = {s.key for s in schema.fields if s.has_value}
    try:
        clean = validate_submission(schema, raw)
    except SubmissionInvalid as exc:
        assert exc.errors
        for key, messages in exc.errors.items():
            assert key.split(".")[0] in field_keys  # errors only ever name fields
            assert messages and all(isinstance(m, str) and m.endswith(".") for m in messages)
        return
    assert not {"state", "assignee", "zz"} & set(clean)
    assert_rules_hold(schema, clean, list(schema.fields))
    assert from_json_values(schema, json.loads(json.dumps(to_json_values(clean)))) == clean


@SETTINGS
@given(form_and_valid())
def test_valid_values_are_accepted_and_returned_typed(case: tuple[FormSchema, dict, dict]) -> None:
    schema, raw, expected = case
    clean = validate_submission(schema, raw)
    assert_rules_hold(schema, clean, list(schema.fields))
    for key, value in clean.items():
        spec = schema.field(key)
        if spec.type == "calculated":
            assert value is None or isinstance(value, Decimal)
        elif spec.type == "group":
            assert [{k: v for k, v in row.items() if k in expected[key][0]} for row in value] == expected[key]
        else:
            assert value == expected[key]


@SETTINGS
@given(form_and_valid(), st.data())
def test_each_page_validates_on_its_own(case: tuple[FormSchema, dict, dict], data: st.DataObject) -> None:
    schema, raw, _ = case
    whole = validate_submission(schema, raw)
    merged: dict[str, Any] = {}
    for page in schema.pages:
        merged.update(validate_submission(schema, raw, page=page.key))
    assert merged == whole


REQUIRED_FIELD = field_def("z", []).filter(lambda f: f["type"] in INPUT_TYPES).map(lambda f: {**f, "required": True})
BOUNDED_FIELD = st.one_of(
    st.integers(-50, 50).map(lambda n: {"type": "integer", "key": "z", "label": "Z", "min": n, "max": n + 10}),
    st.dates(dt.date(2000, 1, 1), dt.date(2030, 1, 1)).map(
        lambda d: {"type": "date", "key": "z", "label": "Z", "min": str(d), "max": str(d + dt.timedelta(30))}
    ),
)
PATTERN_FIELD = st.sampled_from(PATTERNS).map(
    lambda p: {"type": "short_text", "key": "z", "label": "Z", "pattern": p, "pattern_message": "Use the format shown."}
)


@SETTINGS
@given(form_and_valid(REQUIRED_FIELD), st.data())
def test_a_missing_required_value_is_reported(case: tuple[FormSchema, dict, dict], data: st.DataObject) -> None:
    schema, raw, _ = case
    spec = schema.field("z")
    raw = {**raw, spec.key: data.draw(st.sampled_from([None, "", "   ", []]))}
    try:
        validate_submission(schema, raw)
    except SubmissionInvalid as exc:
        messages = {"group": "Add at least one row.", "file": "Attach a file."}
        assert messages.get(spec.type, "This field is required.") in exc.errors[spec.key]
    else:
        raise AssertionError(f"{spec.key} is required but an empty value was accepted")


@SETTINGS
@given(form_and_valid(BOUNDED_FIELD), st.data())
def test_values_out_of_bounds_are_reported(case: tuple[FormSchema, dict, dict], data: st.DataObject) -> None:
    schema, raw, _ = case
    spec = schema.field("z")
    one = 1 if spec.type == "integer" else dt.timedelta(days=1)
    below = spec.min is not None and (spec.max is None or data.draw(st.booleans()))
    value = spec.min - one if below else spec.max + one
    raw = {**raw, spec.key: str(value) if spec.type == "integer" else value.isoformat()}
    try:
        validate_submission(schema, raw)
    except SubmissionInvalid as exc:
        if spec.type == "integer":
            expected = f"Must be at least {spec.min}." if below else f"Must be at most {spec.max}."
        else:
            expected = f"Must be on or after {spec.min}." if below else f"Must be on or before {spec.max}."
        assert exc.errors[spec.key] == [expected]
    else:
        raise AssertionError(f"{spec.key}: {value} is out of bounds but was accepted")


@SETTINGS
@given(form_and_valid(PATTERN_FIELD), st.data())
def test_pattern_mismatch_shows_the_custom_message(case: tuple[FormSchema, dict, dict], data: st.DataObject) -> None:
    schema, raw, _ = case
    spec = schema.field("z")
    bad = data.draw(st.text(alphabet="!?#", min_size=1, max_size=5))
    try:
        validate_submission(schema, {**raw, spec.key: bad})
    except SubmissionInvalid as exc:
        assert exc.errors[spec.key] == ["Use the format shown."]
    else:
        raise AssertionError("a value not matching the pattern was accepted")


# --- conditions ----------------------------------------------------------------------------------

COND_FAMILIES = {"t": "text", "n": "number", "c": "choice", "m": "multi", "b": "bool", "d": "date"}


@st.composite
def conditions(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    if depth < 3 and draw(st.integers(0, 2)) == 0:
        kind = draw(st.sampled_from(["all", "any", "not"]))
        if kind == "not":
            return {"not": draw(conditions(depth + 1))}
        return {kind: draw(st.lists(conditions(depth + 1), max_size=3))}
    targets = [
        {"key": "t", "type": "short_text"}, {"key": "n", "type": "integer"}, {"key": "d", "type": "date"},
        {"key": "c", "type": "single_choice", "options": [{"value": "x"}, {"value": "y"}]},
        {"key": "m", "type": "multi_choice", "options": [{"value": "x"}, {"value": "y"}]},
        {"key": "b", "type": "yes_no"},
    ]  # fmt: skip
    return _condition(draw, draw(st.sampled_from(targets)))


FACTS = st.fixed_dictionaries(
    {},
    optional={
        "t": st.sampled_from(["", " ", "a", "A b", "xyz", None]),
        "n": st.one_of(st.none(), st.integers(-10, 60), st.decimals(-10, 60, places=2)),
        "d": st.one_of(st.none(), st.dates(dt.date(2024, 1, 1), dt.date(2024, 12, 31))),
        "c": st.sampled_from(["x", "y", "", None]),
        "m": st.lists(st.sampled_from(["x", "y"]), unique=True),
        "b": st.sampled_from([True, False, None]),
    },
)

NEGATIONS = {"eq": "neq", "in": "not_in", "contains": "not_contains", "empty": "not_empty"}


@settings(max_examples=300, deadline=None)
@given(conditions(), FACTS)
def test_condition_laws(cond: dict[str, Any], facts: dict[str, Any]) -> None:
    assert validate_condition(cond, COND_FAMILIES) == []
    parsed = parse_condition(cond, COND_FAMILIES)
    result = evaluate(parsed, facts, COND_FAMILIES)
    assert evaluate({"not": cond}, facts, COND_FAMILIES) is (not result)
    assert evaluate({"all": [cond, cond]}, facts, COND_FAMILIES) is result
    assert evaluate({"any": [cond, {"any": []}]}, facts, COND_FAMILIES) is result
    if "op" in cond and cond["op"] in NEGATIONS:
        flipped = {**cond, "op": NEGATIONS[cond["op"]]}
        assert evaluate(flipped, facts, COND_FAMILIES) is (not result)


# --- hostile input -------------------------------------------------------------------------------

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_are_refused_cleanly(raw: bytes) -> None:
    try:
        parse_definition_file(raw)
    except DefinitionError as exc:
        assert exc.errors and all(p.message for p in exc.errors)


@SETTINGS
@given(definitions(), st.data())
def test_broken_definitions_are_refused_cleanly(data: dict[str, Any], draw: st.DataObject) -> None:
    """Replace one property anywhere with junk: loading succeeds or lists problems, never crashes."""
    fields = [f for page in data["pages"] for f in page["fields"]]
    field = draw.draw(st.sampled_from(fields))
    name = draw.draw(st.sampled_from([*field, "min", "options", "visible_if", "expression", "fields"]))
    field[name] = draw.draw(JSONISH)
    try:
        load_definition(data)
    except DefinitionError as exc:
        assert exc.errors and all(isinstance(p.message, str) and p.path for p in exc.errors)


@SETTINGS
@given(JSONISH)
def test_arbitrary_json_is_refused_cleanly(data: Any) -> None:
    try:
        load_definition({"schema_version": 1, "title": "T", "pages": data} if not isinstance(data, dict) else data)
    except DefinitionError as exc:
        assert exc.errors
