"""Form definitions: loading, every refusal with its path and field, dump round trips, imports."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from forms import schema as schema_module
from forms.conditions import AnyOf, Clause
from forms.definitions import dump_definition, load_definition, parse_definition_file
from forms.errors import DefinitionError, DefinitionProblem, FormsError, UnknownPage
from forms.fieldtypes import FIELD_TYPES
from forms.schema import MAX_FIELDS, FieldSpec, FormSchema, Option, migrate_definition

OnePage = Callable[..., dict[str, Any]]


def problems(data: dict[str, Any]) -> list[DefinitionProblem]:
    with pytest.raises(DefinitionError) as caught:
        load_definition(data)
    return caught.value.errors


def assert_problem(data: dict[str, Any], path: str, field: str | None, fragment: str) -> None:
    found = problems(data)
    assert any(p.path == path and p.field == field and fragment in p.message for p in found), found


# --- the example form --------------------------------------------------------------------------


def test_complaint_loads(complaint: FormSchema) -> None:
    assert complaint.title == "Customer complaint"
    assert [p.key for p in complaint.pages] == ["details"]
    severity = complaint.field("severity")
    assert severity.type == "single_choice" and severity.display == "radio" and severity.default == "medium"
    assert severity.options[3] == Option("Critical", "critical")
    assert complaint.field("order_number").pattern == "ORD-[0-9]{6}"
    assert complaint.field("other_category").visible_if == Clause("category", "eq", "other", "choice")
    assert complaint.field("attachment").allowed_types == ("application/pdf", "image/png", "image/jpeg")
    assert complaint.families["severity"] == "choice"
    assert "about_you" not in complaint.families  # a heading has no value
    assert complaint.page_of["email"] == "details"
    assert complaint.labels()["order_number"] == "Order number"
    assert complaint.option_labels()["customer_tier"]["gold"] == "Gold"


def test_every_field_type_is_registered() -> None:
    assert set(FIELD_TYPES) == {
        "short_text",
        "long_text",
        "integer",
        "decimal",
        "currency",
        "date",
        "datetime",
        "email",
        "phone",
        "url",
        "single_choice",
        "multi_choice",
        "yes_no",
        "file",
        "group",
        "heading",
        "info",
        "calculated",
    }
    families = {name: t.family for name, t in FIELD_TYPES.items()}
    assert families["currency"] == families["calculated"] == "number"
    assert families["heading"] is None and families["info"] is None


def test_dump_then_load_gives_the_same_schema(complaint: FormSchema) -> None:
    dumped = dump_definition(complaint)
    assert load_definition(dumped) == complaint
    assert dump_definition(load_definition(dumped)) == dumped
    json.dumps(dumped)  # plain JSON


def test_dump_is_canonical_and_omits_defaults(complaint_definition: dict[str, Any]) -> None:
    complaint_definition["pages"][0]["fields"][1]["help"] = ""
    complaint_definition["pages"][0]["fields"][1]["required"] = True
    dumped = dump_definition(load_definition(complaint_definition))
    name = dumped["pages"][0]["fields"][1]
    assert name == {
        "type": "short_text",
        "key": "name",
        "label": "Your name",
        "required": True,
        "max_length": 200,
        "width": "half",
    }


def test_typed_properties_round_trip(one_page: OnePage) -> None:
    data = one_page(
        {
            "type": "currency",
            "key": "amount",
            "label": "Amount",
            "currency": "EUR",
            "min": "0.01",
            "max": 5000,
            "default": "12.5",
        },
        {
            "type": "date",
            "key": "due",
            "label": "Due",
            "min": "2024-01-01",
            "max": "2024-12-31",
            "default": "2024-06-01",
        },
        {"type": "decimal", "key": "rate", "label": "Rate", "min": 0.5},
        {
            "type": "multi_choice",
            "key": "tags",
            "label": "Tags",
            "default": ["b"],
            "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}],
        },
        {"type": "yes_no", "key": "ok", "label": "OK?", "default": True},
        {
            "type": "calculated",
            "key": "twice",
            "label": "Twice",
            "expression": "amount * 2",
            "decimals": 2,
            "visible_if": {
                "any": [{"field": "amount", "op": "gt", "value": "100.5"}, {"field": "ok", "op": "is_true"}]
            },
        },
    )
    schema = load_definition(data)
    amount = schema.field("amount")
    assert (amount.min, amount.max, amount.default) == (Decimal("0.01"), Decimal("5000.00"), Decimal("12.50"))
    assert schema.field("due").min == dt.date(2024, 1, 1)
    assert schema.field("rate").min == Decimal("0.5")
    assert schema.field("tags").default == ["b"]
    assert schema.field("ok").default is True
    assert isinstance(schema.field("twice").visible_if, AnyOf)
    dumped = dump_definition(schema)
    assert dumped["pages"][0]["fields"][0]["min"] == "0.01"
    assert dumped["pages"][0]["fields"][1]["default"] == "2024-06-01"
    assert load_definition(dumped) == schema


def test_multi_page_and_groups(one_page: OnePage) -> None:
    data = {
        "schema_version": 1,
        "title": "Expenses",
        "pages": [
            {"key": "who", "title": "Who", "fields": [{"type": "short_text", "key": "name", "label": "Name"}]},
            {
                "key": "what",
                "title": "What",
                "fields": [
                    {
                        "type": "group",
                        "key": "items",
                        "label": "Items",
                        "min_rows": 1,
                        "max_rows": 10,
                        "fields": [
                            {"type": "short_text", "key": "what", "label": "What"},
                            {"type": "currency", "key": "amount", "label": "Amount", "currency": "GBP"},
                        ],
                    },
                    {"type": "calculated", "key": "total", "label": "Total", "expression": "sum(items.amount)"},
                ],
            },
        ],
    }
    schema = load_definition(data)
    assert [s.key for s in schema.page("what").fields] == ["items", "total"]
    assert schema.group_of == {"what": "items", "amount": "items"}
    assert schema.row_families("items")["amount"] == "number"
    assert schema.order.index("items") < schema.order.index("total")
    with pytest.raises(UnknownPage):
        schema.page("nope")
    assert load_definition(dump_definition(schema)) == schema


def test_evaluation_order_follows_dependencies(one_page: OnePage) -> None:
    data = one_page(
        {"type": "calculated", "key": "total", "label": "Total", "expression": "a + b"},
        {"type": "integer", "key": "a", "label": "A"},
        {"type": "integer", "key": "b", "label": "B", "visible_if": {"field": "a", "op": "gt", "value": 1}},
    )
    assert load_definition(data).order == ("a", "b", "total")


# --- refusals ----------------------------------------------------------------------------------


def test_unknown_field_type(one_page: OnePage) -> None:
    assert_problem(
        one_page({"type": "signature", "key": "sig", "label": "Sign"}),
        "pages[0].fields[0].type",
        "sig",
        "Unknown field type 'signature'",
    )


def test_duplicate_keys_across_the_whole_form_including_groups(one_page: OnePage) -> None:
    data = one_page(
        {"type": "short_text", "key": "name", "label": "Name"},
        {
            "type": "group",
            "key": "items",
            "label": "Items",
            "fields": [{"type": "short_text", "key": "name", "label": "Item name"}],
        },
        {"type": "integer", "key": "items", "label": "Count"},
    )
    found = problems(data)
    paths = {p.path for p in found if "already used" in p.message}
    assert paths == {"pages[0].fields[1].fields[0].key", "pages[0].fields[2].key"}
    assert any("'Name' at pages[0].fields[0]" in p.message for p in found)


@pytest.mark.parametrize("key", ["Name", "1st", "with-dash", "", "a" * 64, "naïve", 5])
def test_invalid_keys(one_page: OnePage, key: Any) -> None:
    found = problems(one_page({"type": "short_text", "key": key, "label": "X"}))
    assert found[0].path == "pages[0].fields[0].key" and "not valid" in found[0].message


@pytest.mark.parametrize("key", ["data", "validate", "errors", "meta", "csrf_token", "on_submit", "process"])
def test_reserved_keys(one_page: OnePage, key: str) -> None:
    assert_problem(
        one_page({"type": "short_text", "key": key, "label": "X"}), "pages[0].fields[0].key", key, "reserved"
    )


def test_missing_key_and_type(one_page: OnePage) -> None:
    found = problems(one_page({"label": "Nameless"}))
    assert {p.path for p in found} == {"pages[0].fields[0].key", "pages[0].fields[0].type"}


def test_condition_on_a_missing_field(complaint_definition: dict[str, Any]) -> None:
    """Deleting a field that a condition uses is refused, naming both."""
    fields = complaint_definition["pages"][0]["fields"]
    del fields[6]  # category
    found = problems(complaint_definition)
    paths = {(p.path, p.field) for p in found if "Unknown field 'category'" in p.message}
    assert paths == {
        ("pages[0].fields[6].visible_if.field", "other_category"),
        ("pages[0].fields[6].required_if.field", "other_category"),
    }


def test_condition_problems_inside_the_condition(one_page: OnePage) -> None:
    data = one_page(
        {"type": "integer", "key": "qty", "label": "Qty"},
        {
            "type": "short_text",
            "key": "why",
            "label": "Why",
            "visible_if": {"all": [{"field": "qty", "op": "contains", "value": 3}, {"field": "qty", "op": "gt"}]},
        },
    )
    found = problems(data)
    assert {p.path for p in found} == {
        "pages[0].fields[1].visible_if.all[0].op",
        "pages[0].fields[1].visible_if.all[1].value",
    }


def test_condition_option_must_exist(complaint_definition: dict[str, Any]) -> None:
    complaint_definition["pages"][0]["fields"][7]["visible_if"]["value"] = "others"
    assert_problem(
        complaint_definition,
        "pages[0].fields[7].visible_if.value",
        "other_category",
        "'others' is not an option of 'category'",
    )


def test_condition_on_itself_a_later_page_a_heading_or_a_row_field() -> None:
    data = {
        "schema_version": 1,
        "title": "T",
        "pages": [
            {
                "key": "one",
                "title": "One",
                "fields": [
                    {"type": "heading", "key": "head", "label": "Head"},
                    {"type": "short_text", "key": "a", "label": "A", "visible_if": {"field": "a", "op": "not_empty"}},
                    {"type": "short_text", "key": "b", "label": "B", "visible_if": {"field": "c", "op": "not_empty"}},
                    {
                        "type": "short_text",
                        "key": "d",
                        "label": "D",
                        "visible_if": {"field": "head", "op": "not_empty"},
                    },
                    {
                        "type": "group",
                        "key": "rows",
                        "label": "Rows",
                        "fields": [
                            {"type": "integer", "key": "n", "label": "N"},
                            {
                                "type": "integer",
                                "key": "m",
                                "label": "M",
                                "visible_if": {"field": "n", "op": "gt", "value": 1},
                            },
                        ],
                    },
                    {
                        "type": "short_text",
                        "key": "e",
                        "label": "E",
                        "visible_if": {"field": "n", "op": "gt", "value": 1},
                    },
                ],
            },
            {"key": "two", "title": "Two", "fields": [{"type": "short_text", "key": "c", "label": "C"}]},
        ],
    }
    found = {(p.field, p.message.split(",")[0]) for p in problems(data)}
    assert found == {
        ("a", "A condition cannot use the field it belongs to."),
        ("b", "The condition uses 'c'"),
        ("d", "The condition uses 'head'"),
        ("e", "The condition uses 'n'"),
    }


def test_invalid_and_dangerous_patterns(one_page: OnePage) -> None:
    data = one_page(
        {"type": "short_text", "key": "a", "label": "A", "pattern": "[a-z"},
        {"type": "short_text", "key": "b", "label": "B", "pattern": "(a+)+$"},
        {"type": "short_text", "key": "c", "label": "C", "pattern": "(x|y*)*"},
        {"type": "short_text", "key": "d", "label": "D", "pattern": "a" * 501},
        {"type": "short_text", "key": "e", "label": "E", "pattern": r"(a)\1"},
        {"type": "short_text", "key": "f", "label": "F", "pattern_message": "Wrong"},
        {"type": "short_text", "key": "g", "label": "G", "pattern": "[A-Z]{3}-[0-9]+"},
    )
    found = {p.field: p.message for p in problems(data)}
    assert "not a valid regular expression" in found["a"]
    # Nested repetitions are harmless now that patterns run in RE2 (linear time): accepted.
    assert "b" not in found and "c" not in found
    assert "at most 500" in found["d"]
    assert "back-reference" in found["e"]
    assert "no pattern" in found["f"]
    assert "g" not in found


@pytest.mark.parametrize(
    ("field", "path", "fragment"),
    [
        (
            {"type": "integer", "key": "n", "label": "N", "min": 10, "max": 1},
            "min",
            "minimum (10) is above the maximum (1)",
        ),
        (
            {"type": "date", "key": "d", "label": "D", "min": "2024-02-01", "max": "2024-01-01"},
            "min",
            "above the maximum",
        ),
        ({"type": "short_text", "key": "s", "label": "S", "min_length": 5, "max_length": 2}, "min_length", "above"),
        (
            {
                "type": "group",
                "key": "g",
                "label": "G",
                "min_rows": 5,
                "max_rows": 2,
                "fields": [{"type": "integer", "key": "x", "label": "X"}],
            },
            "min_rows",
            "above",
        ),
        ({"type": "single_choice", "key": "c", "label": "C"}, "options", "required"),
        ({"type": "single_choice", "key": "c", "label": "C", "options": []}, "options", "at least one option"),
        (
            {
                "type": "single_choice",
                "key": "c",
                "label": "C",
                "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "a"}],
            },
            "options[1].value",
            "already used",
        ),
        ({"type": "multi_choice", "key": "c", "label": "C", "options": [{"label": "A"}]}, "options[0].value", "value"),
        (
            {"type": "single_choice", "key": "c", "label": "C", "options": [{"label": "A", "value": "a", "x": 1}]},
            "options[0].x",
            "Unknown property",
        ),
        (
            {
                "type": "single_choice",
                "key": "c",
                "label": "C",
                "options": [{"label": "A", "value": "a"}],
                "default": "b",
            },
            "default",
            "default value is not valid",
        ),
        ({"type": "integer", "key": "n", "label": "N", "max": 5, "default": 6}, "default", "Must be at most 5"),
        ({"type": "integer", "key": "n", "label": "N", "default": "many"}, "default", "whole number"),
        (
            {"type": "short_text", "key": "s", "label": "S", "pattern": "[0-9]+", "default": "abc"},
            "default",
            "not valid",
        ),
        ({"type": "integer", "key": "n", "label": "N", "min": 1.5}, "min", "whole number"),
        ({"type": "date", "key": "d", "label": "D", "max": "tomorrow"}, "max", "YYYY-MM-DD"),
        ({"type": "short_text", "key": "s", "label": "S", "colour": "red"}, "colour", "Unknown property 'colour'"),
        ({"type": "short_text", "key": "s", "label": "S", "options": []}, "options", "does not apply"),
        ({"type": "heading", "key": "h", "label": "H", "required": True}, "required", "does not apply"),
        ({"type": "short_text", "key": "s", "label": "S", "required": "yes"}, "required", "true or false"),
        ({"type": "short_text", "key": "s", "label": "S", "max_length": "10"}, "max_length", "whole number"),
        ({"type": "short_text", "key": "s", "label": "S", "width": "wide"}, "width", "full, half, third"),
        ({"type": "short_text", "key": "s", "label": 5}, "label", "must be text"),
        ({"type": "short_text", "key": "s", "label": "  "}, "label", "Give the field a label"),
        ({"type": "short_text", "key": "s"}, "label", "Give the field a label"),
        ({"type": "currency", "key": "m", "label": "M"}, "currency", "required"),
        ({"type": "currency", "key": "m", "label": "M", "currency": "euro"}, "currency", "three-letter"),
        ({"type": "file", "key": "f", "label": "F", "allowed_types": ["video/mp4"]}, "allowed_types", "video/mp4"),
        ({"type": "file", "key": "f", "label": "F", "max_size": 0}, "max_size", "between"),
        (
            {
                "type": "single_choice",
                "key": "c",
                "label": "C",
                "display": "tiles",
                "options": [{"label": "A", "value": "a"}],
            },
            "display",
            "dropdown, radio",
        ),
        ({"type": "info", "key": "i"}, "text", "required"),
        ({"type": "group", "key": "g", "label": "G", "fields": []}, "fields", "at least one field"),
    ],
)
def test_field_property_problems(one_page: OnePage, field: dict[str, Any], path: str, fragment: str) -> None:
    assert_problem(one_page(field), f"pages[0].fields[0].{path}", field["key"], fragment)


def test_groups_cannot_hold_groups_or_files(one_page: OnePage) -> None:
    data = one_page(
        {
            "type": "group",
            "key": "g",
            "label": "G",
            "fields": [
                {
                    "type": "group",
                    "key": "inner",
                    "label": "Inner",
                    "fields": [{"type": "integer", "key": "x", "label": "X"}],
                },
                {"type": "file", "key": "doc", "label": "Doc"},
            ],
        }
    )
    found = [(p.path, p.field) for p in problems(data)]
    assert found == [("pages[0].fields[0].fields[0].type", "inner"), ("pages[0].fields[0].fields[1].type", "doc")]


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("price * nothing", "'nothing', which is not a field"),
        ("price * label", "'label' is not a number field"),
        ("price * amount", "inside the repeating group 'items'; use sum(items.amount)"),
        ("sum(items.label)", "items.label is not a number field"),
        ("sum(items.nope)", "'nope' is not a field of the group 'items'"),
        ("sum(price.x)", "'price' is not a repeating group"),
        ("price *", "cannot be read"),
        ("total + 1", "cannot use the field itself"),
    ],
)
def test_calculated_expression_problems(one_page: OnePage, expression: str, fragment: str) -> None:
    data = one_page(
        {"type": "decimal", "key": "price", "label": "Price"},
        {"type": "short_text", "key": "label", "label": "Label"},
        {
            "type": "group",
            "key": "items",
            "label": "Items",
            "fields": [
                {"type": "integer", "key": "amount", "label": "Amount"},
                {"type": "short_text", "key": "text", "label": "Text"},
            ],
        },
        {"type": "calculated", "key": "total", "label": "Total", "expression": expression},
    )
    data["pages"][0]["fields"][2]["fields"][1]["key"] = "label" if "items.label" in expression else "text"
    if "items.label" in expression:
        data["pages"][0]["fields"][1]["key"] = "name"
        data["pages"][0]["fields"][2]["fields"][1] = {"type": "short_text", "key": "label", "label": "Label"}
    assert_problem(data, "pages[0].fields[3].expression", "total", fragment)


def test_dependency_cycles(one_page: OnePage) -> None:
    data = one_page(
        {"type": "calculated", "key": "a", "label": "A", "expression": "b + 1"},
        {"type": "calculated", "key": "b", "label": "B", "expression": "a + 1"},
        {"type": "short_text", "key": "c", "label": "C", "visible_if": {"field": "d", "op": "not_empty"}},
        {"type": "short_text", "key": "d", "label": "D", "visible_if": {"field": "c", "op": "not_empty"}},
    )
    loops = [(p.path, p.field, p.message) for p in problems(data) if "loop" in p.message]
    assert loops == [
        ("pages[0].fields[0]", "a", "These fields depend on each other in a loop: a → b → a; break the loop."),
        ("pages[0].fields[2]", "c", "These fields depend on each other in a loop: c → d → c; break the loop."),
    ]
    data["pages"][0]["fields"][0]["expression"] = "1"
    loops = [(p.path, p.field, p.message) for p in problems(data) if "loop" in p.message]
    assert [field for _, field, _ in loops] == ["c"]


def test_cycle_through_a_calculation_and_a_condition(one_page: OnePage) -> None:
    data = one_page(
        {"type": "integer", "key": "n", "label": "N", "visible_if": {"field": "total", "op": "gt", "value": 1}},
        {"type": "calculated", "key": "total", "label": "Total", "expression": "n * 2"},
    )
    assert any("loop" in p.message for p in problems(data))


def test_form_level_problems() -> None:
    found = {(p.path, p.message.split(" ")[0]) for p in problems({"schema_version": 1, "pages": [], "theme": "dark"})}
    assert found == {("theme", "Unknown"), ("title", "Give"), ("pages", "The")}


def test_page_problems(one_page: OnePage) -> None:
    data = one_page({"type": "short_text", "key": "s", "label": "S"})
    data["pages"].append({"key": "main", "title": "", "fields": [], "intro": "x"})
    found = {p.path for p in problems(data)}
    assert found == {"pages[1].key", "pages[1].title", "pages[1].fields", "pages[1].intro"}


@pytest.mark.parametrize(
    ("version", "fragment"),
    [(None, "missing"), ("1", "whole number"), (True, "whole number"), (2, "newer Casework"), (0, "not supported")],
)
def test_schema_version_problems(complaint_definition: dict[str, Any], version: Any, fragment: str) -> None:
    if version is None:
        del complaint_definition["schema_version"]
    else:
        complaint_definition["schema_version"] = version
    found = problems(complaint_definition)
    assert [p.path for p in found] == ["schema_version"] and fragment in found[0].message


def test_all_problems_are_reported_at_once(complaint_definition: dict[str, Any]) -> None:
    fields = complaint_definition["pages"][0]["fields"]
    fields[1]["type"] = "shorttext"
    fields[2]["key"] = "name"
    fields[3]["pattern"] = "(a)\\1"
    fields[8]["required"] = "yes"
    complaint_definition["theme"] = "dark"
    with pytest.raises(DefinitionError) as caught:
        load_definition(complaint_definition)
    error = caught.value
    assert len(error.errors) == 5
    assert error.by_field()["name"] and error.by_field()[None]
    assert error.errors[0].prop == "theme"
    assert "and 4 more problems" in str(error)
    assert isinstance(error, FormsError)


def test_problems_have_no_knock_on_errors(complaint_definition: dict[str, Any]) -> None:
    """A broken options list is reported once, not again as 'default not an option'."""
    complaint_definition["pages"][0]["fields"][4]["options"].append({"label": "Again", "value": "low"})
    assert [p.path for p in problems(complaint_definition)] == ["pages[0].fields[4].options[4].value"]


def test_too_many_fields(one_page: OnePage) -> None:
    fields = [{"type": "short_text", "key": f"f{i}", "label": f"F{i}"} for i in range(MAX_FIELDS + 1)]
    found = problems(one_page(*fields))
    assert len(found) == 1 and "limit is 500" in found[0].message


def test_deeply_nested_data_is_refused_before_recursing(one_page: OnePage) -> None:
    deep: Any = {"field": "a", "op": "empty"}
    for _ in range(5000):
        deep = {"not": deep}
    data = one_page({"type": "short_text", "key": "a", "label": "A"},
                    {"type": "short_text", "key": "b", "label": "B", "visible_if": deep})  # fmt: skip
    found = problems(data)
    assert len(found) == 1 and "more than 40 levels" in found[0].message


def test_load_refuses_non_objects() -> None:
    with pytest.raises(DefinitionError, match="JSON object"):
        load_definition([])  # type: ignore[arg-type]


# --- versions ----------------------------------------------------------------------------------


def test_migration_hook_upgrades_step_by_step(monkeypatch: pytest.MonkeyPatch) -> None:
    def v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        data["upgraded"] = True
        return data

    monkeypatch.setattr(schema_module, "CURRENT_SCHEMA_VERSION", 2)
    monkeypatch.setitem(schema_module.MIGRATIONS, 1, v1_to_v2)
    original = {"schema_version": 1, "title": "Old", "pages": []}
    migrated = migrate_definition(original)
    assert migrated == {"schema_version": 2, "title": "Old", "pages": [], "upgraded": True}
    assert original["schema_version"] == 1  # the input is never changed


def test_current_version_passes_unchanged(complaint_definition: dict[str, Any]) -> None:
    assert migrate_definition(complaint_definition) == complaint_definition


# --- import files ------------------------------------------------------------------------------


def as_bytes(data: Any) -> bytes:
    return json.dumps(data).encode()


def test_import_of_an_exported_file(complaint: FormSchema) -> None:
    exported = json.dumps(dump_definition(complaint), indent=2, ensure_ascii=False).encode("utf-8")
    assert parse_definition_file(exported) == complaint
    assert parse_definition_file(b"\xef\xbb\xbf" + exported) == complaint  # a BOM from a Windows editor


def test_import_keeps_decimals_exact(one_page: OnePage) -> None:
    raw = as_bytes(one_page({"type": "decimal", "key": "d", "label": "D", "min": 0.5}))
    raw = raw.replace(b"0.5", b"123456789.0123456789")  # more digits than a float holds
    assert parse_definition_file(raw).field("d").min == Decimal("123456789.0123456789")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b" " * (1024 * 1024 + 1), "larger than 1024 KiB"),
        ('{"title": "caf\u00e9"}'.encode("latin-1"), "not UTF-8"),
        (b"\xff\xfe{\x00}\x00", "not UTF-8"),
        (b"{'title': 'x'}", "not valid JSON"),
        (b'{"a": 1,}', "not valid JSON: Expecting"),
        (b"", "not valid JSON"),
        (b"[" * 21 + b"]" * 21, "more than 20 levels"),
        (b"[" * 100_000, "more than 20 levels"),
        (b'{"title": "x", "title": "y"}', "appears twice"),
        (b'{"schema_version": NaN}', "NaN is not allowed"),
        (b'{"schema_version": 1' + b"1" * 5000 + b"}", "not valid JSON"),
        (b"[1, 2]", "one JSON object"),
        (b'"just a string"', "one JSON object"),
        (b'{"schema_version": 1, "title": "x", "pages": []}', "at least one page"),
    ],
)
def test_hostile_or_broken_files_are_refused_clearly(raw: bytes, fragment: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition_file(raw)
    assert fragment in caught.value.errors[0].message


def test_nesting_inside_strings_does_not_count() -> None:
    data = {"schema_version": 1, "title": '[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{{{\\"[[[[[', "pages": []}
    with pytest.raises(DefinitionError) as caught:
        parse_definition_file(as_bytes(data))
    assert "at least one page" in caught.value.errors[0].message


def test_import_refuses_too_many_fields() -> None:
    fields = [{"type": "short_text", "key": f"f{i}", "label": "F"} for i in range(200)]
    data = {
        "schema_version": 1,
        "title": "Big",
        "pages": [{"key": f"p{n}", "title": "P", "fields": copy.deepcopy(fields)} for n in range(3)],
    }
    with pytest.raises(DefinitionError, match="more than 500 fields"):
        parse_definition_file(as_bytes(data))


def test_field_spec_helpers(complaint: FormSchema) -> None:
    spec = complaint.field("category")
    assert isinstance(spec, FieldSpec)
    assert spec.option_labels()["other"] == "Other"
    assert spec.field_type.title == "single choice"
    assert complaint.field("about_you").has_value is False
    assert complaint.options()["severity"] == ["low", "medium", "high", "critical"]


def test_personal_marks_fields_with_a_value_and_round_trips(one_page: OnePage) -> None:
    data = one_page(
        {"type": "short_text", "key": "name", "label": "Name", "personal": True},
        {"type": "short_text", "key": "topic", "label": "Topic"},
        {"type": "group", "key": "people", "label": "People",
         "fields": [{"type": "email", "key": "mail", "label": "Mail", "personal": True}]},
    )
    schema = load_definition(data)
    assert schema.field("name").personal and not schema.field("topic").personal
    assert schema.personal_keys == {"name", "people"}
    assert load_definition(dump_definition(schema)) == schema
    assert dump_definition(schema)["pages"][0]["fields"][0]["personal"] is True
    assert "personal" not in dump_definition(schema)["pages"][0]["fields"][1]
    assert "personal" in {p.name for p in FIELD_TYPES["short_text"].editable_properties()}
    assert "personal" not in FIELD_TYPES["heading"].allowed_properties
    assert_problem(one_page({"type": "short_text", "key": "n", "label": "N", "personal": "yes"}),
                   "pages[0].fields[0].personal", "n", "Personal must be true or false")
    assert_problem(one_page({"type": "heading", "key": "h", "label": "H", "personal": True}),
                   "pages[0].fields[0].personal", "h", "does not apply")
