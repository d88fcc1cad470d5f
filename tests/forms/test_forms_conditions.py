"""The condition language: the contract shared with rules/, checked clause by clause."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from forms import conditions
from forms.conditions import (
    FAMILY_OPERATORS,
    UNARY_OPERATORS,
    AllOf,
    Clause,
    ConditionError,
    ConditionInvalid,
    coerce_value,
    condition_to_json,
    describe,
    evaluate,
    parse_condition,
    referenced_fields,
    validate_condition,
)
from forms.errors import FormsError

FAMILIES = {
    "name": "text",
    "amount": "number",
    "due": "date",
    "at": "datetime",
    "severity": "choice",
    "tags": "multi",
    "urgent": "bool",
    "files": "file",
    "items": "group",
}
OPTIONS = {"severity": ["low", "medium", "high", "critical"], "tags": ["red", "green"]}


def clause(field: str, op: str, value: Any = None, *, unary: bool = False) -> dict[str, Any]:
    node: dict[str, Any] = {"field": field, "op": op}
    if not unary:
        node["value"] = value
    return node


def check(node: dict[str, Any], values: dict[str, Any]) -> bool:
    return evaluate(node, values, FAMILIES)


def test_operator_table_is_the_contract() -> None:
    assert FAMILY_OPERATORS["text"] == {"eq", "neq", "in", "not_in", "contains", "not_contains", "empty", "not_empty"}
    assert FAMILY_OPERATORS["number"] == {
        "eq",
        "neq",
        "gt",
        "gte",
        "lt",
        "lte",
        "between",
        "in",
        "not_in",
        "empty",
        "not_empty",
    }
    assert FAMILY_OPERATORS["date"] == {"eq", "neq", "before", "after", "between", "empty", "not_empty"}
    assert FAMILY_OPERATORS["datetime"] == {"before", "after", "between", "empty", "not_empty"}
    assert FAMILY_OPERATORS["choice"] == {"eq", "neq", "in", "not_in", "empty", "not_empty"}
    assert FAMILY_OPERATORS["multi"] == {"contains", "not_contains", "empty", "not_empty"}
    assert FAMILY_OPERATORS["bool"] == {"is_true", "is_false", "empty", "not_empty"}
    assert FAMILY_OPERATORS["file"] == FAMILY_OPERATORS["group"] == {"empty", "not_empty"}
    assert {"empty", "not_empty", "is_true", "is_false"} == UNARY_OPERATORS


def test_condition_error_is_a_forms_error_with_path_and_message() -> None:
    error = ConditionError("all[1].value", "Enter a number.")
    assert isinstance(error, FormsError)
    assert (error.path, error.message) == ("all[1].value", "Enter a number.")


# --- validation --------------------------------------------------------------------------------


def test_valid_condition_has_no_errors() -> None:
    cond = {
        "all": [
            clause("severity", "in", ["high", "critical"]),
            {"any": [clause("amount", "gt", "10000.01"), {"not": clause("urgent", "is_false", unary=True)}]},
            clause("due", "between", ["2024-01-01", "2024-12-31"]),
            clause("tags", "contains", "red"),
        ]
    }
    assert validate_condition(cond, FAMILIES, OPTIONS) == []


@pytest.mark.parametrize(
    ("cond", "path", "fragment"),
    [
        (clause("nope", "eq", "x"), "field", "Unknown field 'nope'"),
        (clause("amount", "contains", 1), "op", "does not fit 'amount'"),
        (clause("amount", "zz", 1), "op", "Unknown operator 'zz'"),
        ({"field": "amount", "op": "eq"}, "value", "Enter a value"),
        (clause("amount", "empty", 1), "value", "takes no value"),
        (clause("amount", "gt", "lots"), "value", "Enter a number"),
        (clause("amount", "gt", True), "value", "Enter a number"),
        (clause("amount", "between", [5, 1]), "value", "must not be above"),
        (clause("amount", "between", [5]), "value", "exactly two values"),
        (clause("amount", "in", []), "value", "at least one value"),
        (clause("amount", "in", 5), "value", "a list of values"),
        (clause("amount", "eq", [5]), "value", "single value"),
        (clause("due", "before", "01/02/2024"), "value", "YYYY-MM-DD"),
        (clause("due", "before", "2024-02-30"), "value", "does not exist"),
        (clause("at", "after", "2024-05-01T10:00:00"), "value", "time zone offset"),
        (clause("severity", "eq", "urgent"), "value", "not an option of 'severity'"),
        (clause("tags", "contains", ["red"]), "value", "single value"),
        (clause("name", "eq", "   "), "value", "Enter the text"),
        ({"field": "name", "op": "eq", "value": "x", "extra": 1}, "extra", "Unknown key 'extra'"),
        ({"all": [], "any": []}, "", "only its 'all' list"),
        ({"all": "x"}, "all", "must be a list"),
        ("severity = high", "", "must be an object"),
    ],
)
def test_each_problem_is_reported_at_its_path(cond: Any, path: str, fragment: str) -> None:
    errors = validate_condition(cond, FAMILIES, OPTIONS)
    assert any(e.path == path and fragment in e.message for e in errors), errors


def test_paths_point_into_nested_groups() -> None:
    cond = {"all": [clause("amount", "gt", 1), {"any": [clause("name", "eq", "x"), clause("due", "gt", 3)]}]}
    errors = validate_condition(cond, FAMILIES)
    assert [e.path for e in errors] == ["all[1].any[1].op"]


def test_every_problem_is_reported_not_just_the_first() -> None:
    cond = {"any": [clause("x", "eq", 1), clause("amount", "gt", "a"), clause("due", "after", "never")]}
    assert {e.path for e in validate_condition(cond, FAMILIES)} == {"any[0].field", "any[1].value", "any[2].value"}


def test_choice_values_are_not_checked_without_options() -> None:
    assert validate_condition(clause("severity", "eq", "anything"), FAMILIES) == []


def test_too_deep_nesting_is_refused_without_recursion_error() -> None:
    node: dict[str, Any] = clause("amount", "gt", 1)
    for _ in range(200):
        node = {"not": node}
    errors = validate_condition(node, FAMILIES)
    assert errors and "nested too deeply" in errors[0].message


def test_parse_condition_raises_condition_invalid_with_all_errors() -> None:
    with pytest.raises(ConditionInvalid) as caught:
        parse_condition({"all": [clause("x", "eq", 1), clause("amount", "gt", "a")]}, FAMILIES)
    assert len(caught.value.errors) == 2
    assert isinstance(caught.value, ConditionError)


def test_parse_condition_coerces_values() -> None:
    parsed = parse_condition(
        {"all": [clause("amount", "between", ["10", "10000.01"]), clause("due", "before", "2024-03-01")]}, FAMILIES
    )
    assert isinstance(parsed, AllOf)
    first, second = parsed.items
    assert first == Clause("amount", "between", (10, Decimal("10000.01")), "number")
    assert second == Clause("due", "before", dt.date(2024, 3, 1), "date")


def test_to_json_round_trips() -> None:
    cond = {"any": [clause("amount", "in", [1, "2.50"]), {"not": clause("urgent", "is_true", unary=True)}]}
    parsed = parse_condition(cond, FAMILIES)
    assert parse_condition(condition_to_json(parsed), FAMILIES) == parsed
    assert condition_to_json(parsed) == {
        "any": [clause("amount", "in", [1, "2.50"]), {"not": clause("urgent", "is_true", unary=True)}]
    }


# --- semantics ---------------------------------------------------------------------------------


def test_empty_groups() -> None:
    assert check({"all": []}, {}) is True
    assert check({"any": []}, {}) is False


@pytest.mark.parametrize("empty", [None, "", "   ", [], "MISSING"])
@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (clause("name", "eq", "x"), False),
        (clause("name", "neq", "x"), True),
        (clause("name", "in", ["x"]), False),
        (clause("name", "not_in", ["x"]), True),
        (clause("name", "contains", "x"), False),
        (clause("name", "not_contains", "x"), True),
        (clause("name", "empty", unary=True), True),
        (clause("name", "not_empty", unary=True), False),
    ],
)
def test_empty_values_make_negations_true_and_the_rest_false(empty: Any, node: dict[str, Any], expected: bool) -> None:
    values = {} if empty == "MISSING" else {"name": empty}
    assert check(node, values) is expected


@pytest.mark.parametrize(
    "node",
    [
        clause("amount", "gt", 0),
        clause("amount", "lte", 0),
        clause("amount", "between", [0, 1]),
        clause("due", "before", "2100-01-01"),
        clause("at", "after", "2000-01-01T00:00:00+00:00"),
        clause("urgent", "is_true", unary=True),
        clause("urgent", "is_false", unary=True),
        clause("tags", "contains", "red"),
        clause("severity", "eq", "low"),
    ],
)
def test_comparisons_are_false_for_missing_values(node: dict[str, Any]) -> None:
    assert check(node, {}) is False
    assert check(node, {node["field"]: None}) is False


def test_text_is_case_insensitive_and_trimmed() -> None:
    assert check(clause("name", "eq", " ADA "), {"name": "ada"})
    assert check(clause("name", "in", ["bob", "Ada"]), {"name": "  ada"})
    assert check(clause("name", "contains", "LOVE"), {"name": "Ada Lovelace"})
    assert not check(clause("name", "not_contains", "love"), {"name": "Ada Lovelace"})
    assert check(clause("name", "neq", "bob"), {"name": "ada"})
    assert check(clause("name", "eq", "straße"), {"name": "STRASSE"})  # casefold, not lower


def test_numbers_compare_exactly() -> None:
    assert check(clause("amount", "gt", 10000), {"amount": Decimal("10000.01")})
    assert not check(clause("amount", "gt", "10000.01"), {"amount": Decimal("10000.01")})
    assert check(clause("amount", "gte", "10000.01"), {"amount": Decimal("10000.010")})
    assert check(clause("amount", "eq", 3), {"amount": Decimal("3.00")})
    assert check(clause("amount", "lt", "0.3"), {"amount": Decimal("0.1") + Decimal("0.19")})
    assert check(clause("amount", "in", [1, 2, 3]), {"amount": 2})
    assert check(clause("amount", "not_in", [1, 2, 3]), {"amount": 4})
    assert check(clause("amount", "eq", 0), {"amount": 0})  # zero is not empty


@pytest.mark.parametrize(("value", "expected"), [(9, False), (10, True), (15, True), (20, True), (21, False)])
def test_between_is_inclusive(value: int, expected: bool) -> None:
    assert check(clause("amount", "between", [10, 20]), {"amount": value}) is expected


def test_dates_before_and_after_are_strict() -> None:
    day = dt.date(2024, 3, 1)
    assert check(clause("due", "before", "2024-03-02"), {"due": day})
    assert not check(clause("due", "before", "2024-03-01"), {"due": day})
    assert not check(clause("due", "after", "2024-03-01"), {"due": day})
    assert check(clause("due", "between", ["2024-03-01", "2024-03-01"]), {"due": day})
    assert check(clause("due", "eq", "2024-03-01"), {"due": day})


def test_datetimes_compare_across_offsets() -> None:
    moment = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    assert check(clause("at", "after", "2024-05-01T13:59:00+02:00"), {"at": moment})
    assert not check(clause("at", "after", "2024-05-01T14:00:00+02:00"), {"at": moment})
    assert check(clause("at", "between", ["2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00Z"]), {"at": moment})


def test_choices_are_exact_machine_values() -> None:
    assert check(clause("severity", "eq", "high"), {"severity": "high"})
    assert not check(clause("severity", "eq", "high"), {"severity": "High"})
    assert check(clause("severity", "not_in", ["low"]), {"severity": "high"})


def test_multi_contains_one_value() -> None:
    assert check(clause("tags", "contains", "red"), {"tags": ["green", "red"]})
    assert not check(clause("tags", "contains", "red"), {"tags": ["green"]})
    assert check(clause("tags", "not_contains", "red"), {"tags": []})


def test_bools() -> None:
    assert check(clause("urgent", "is_true", unary=True), {"urgent": True})
    assert not check(clause("urgent", "is_true", unary=True), {"urgent": False})
    assert check(clause("urgent", "is_false", unary=True), {"urgent": False})
    assert check(clause("urgent", "not_empty", unary=True), {"urgent": False})  # False is an answer


def test_files_and_groups_test_emptiness() -> None:
    assert check(clause("files", "empty", unary=True), {"files": []})
    assert check(clause("items", "not_empty", unary=True), {"items": [{"a": 1}]})


def test_not_any_all_combine() -> None:
    node = {
        "all": [clause("amount", "gt", 5), {"not": {"any": [clause("name", "eq", "x"), clause("name", "eq", "y")]}}]
    }
    assert check(node, {"amount": 6, "name": "z"})
    assert not check(node, {"amount": 6, "name": "Y"})
    assert not check(node, {"amount": 5, "name": "z"})


def test_evaluate_accepts_stored_json_values() -> None:
    """Data read back from the database as JSON still compares by type."""
    assert check(clause("amount", "gt", 10000), {"amount": "10000.01"})
    assert check(clause("due", "before", "2024-03-02"), {"due": "2024-03-01"})


def test_evaluate_refuses_values_of_the_wrong_type() -> None:
    with pytest.raises(ConditionError):
        check(clause("amount", "gt", 1), {"amount": "lots"})


def test_evaluate_refuses_an_invalid_json_condition() -> None:
    with pytest.raises(ConditionInvalid):
        check(clause("amount", "gt", "x"), {"amount": 1})


# --- coercion, inspection, description ---------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "raw", "expected"),
    [
        ("number", "10000.01", Decimal("10000.01")),
        ("number", 12, 12),
        ("number", "12", 12),
        ("number", 0.1, Decimal("0.1")),
        ("date", "2024-02-29", dt.date(2024, 2, 29)),
        ("datetime", "2024-05-01T14:30:00+02:00", dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)),
        ("bool", "on", True),
        ("bool", "false", False),
        ("multi", ["a", "b"], ["a", "b"]),
        ("choice", "x", "x"),
        ("text", "hello", "hello"),
        ("number", None, None),
        ("date", "  ", None),
    ],
)
def test_coerce_value(family: str, raw: Any, expected: Any) -> None:
    assert coerce_value(family, raw) == expected


@pytest.mark.parametrize(
    ("family", "raw"),
    [
        ("number", "1e5"),
        ("number", "ten"),
        ("number", True),
        ("number", float("nan")),
        ("date", "2024-13-01"),
        ("datetime", "2024-05-01T14:30:00"),
        ("bool", "maybe"),
        ("text", True),
        ("nope", "x"),
    ],
)
def test_coerce_value_refuses_with_readable_message(family: str, raw: Any) -> None:
    with pytest.raises(ValueError, match=r"[A-Z]"):
        coerce_value(family, raw)


def test_referenced_fields_of_json_and_parsed() -> None:
    cond = {"all": [clause("amount", "gt", 1), {"not": {"any": [clause("name", "empty", unary=True)]}}]}
    assert referenced_fields(cond) == {"amount", "name"}
    assert referenced_fields(parse_condition(cond, FAMILIES)) == {"amount", "name"}
    assert referenced_fields({"all": ["junk", {"field": 3}]}) == set()


def test_describe_reads_like_the_contract_example() -> None:
    cond = {"all": [clause("severity", "in", ["high", "critical"]), clause("tier", "eq", "gold")]}
    text = describe(
        cond,
        {"severity": "Severity", "tier": "Customer tier"},
        {"severity": {"high": "High", "critical": "Critical"}, "tier": {"gold": "Gold"}},
    )
    assert text == "Severity is High or Critical and Customer tier is Gold"


def test_describe_other_shapes() -> None:
    labels = {"amount": "Amount", "name": "Name", "due": "Due", "tags": "Tags", "urgent": "Urgent"}
    cond = {
        "any": [
            {"all": [clause("amount", "between", [1, 5]), clause("name", "contains", "x")]},
            {"not": clause("due", "before", "2024-01-01")},
            clause("tags", "contains", "red"),
            clause("urgent", "is_true", unary=True),
        ]
    }
    text = describe(cond, labels, {"tags": {"red": "Red"}}, families=FAMILIES)
    assert text == (
        '(Amount is between 1 and 5 and Name contains "x") or not (Due is before 2024-01-01) '
        "or Tags includes Red or Urgent is Yes"
    )
    assert describe({"all": []}, {}) == "always"
    assert conditions.describe(parse_condition(clause("amount", "not_empty", unary=True), FAMILIES), labels) == (
        "Amount is filled in"
    )
