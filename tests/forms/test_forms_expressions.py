"""Calculated-field expressions: arithmetic, functions, refusals, and never Python evaluation."""

from __future__ import annotations

import builtins
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forms.errors import ExpressionError
from forms.expressions import Column, Ref, parse_expression


def calc(text: str, **values: Any) -> Decimal | None:
    return parse_expression(text).evaluate(values)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", Decimal(7)),
        ("(1 + 2) * 3", Decimal(9)),
        ("10 - 4 - 3", Decimal(3)),  # left-associative
        ("12 / 4 / 3", Decimal(1)),
        ("-2 * -3", Decimal(6)),
        ("--2", Decimal(2)),
        ("0.1 + 0.2", Decimal("0.3")),  # Decimal, not float
        ("round(10 / 3, 2)", Decimal("3.33")),
        ("round(2.5)", Decimal(3)),  # half up, not banker's rounding
        ("round(-2.5)", Decimal(-3)),
        ("min(3, 1, 2)", Decimal(1)),
        ("max(3, 1, 2)", Decimal(3)),
        ("abs(-4.5)", Decimal("4.5")),
        (".5 * 4", Decimal(2)),
    ],
)
def test_arithmetic(text: str, expected: Decimal) -> None:
    assert calc(text) == expected


def test_field_references_use_submitted_numbers() -> None:
    assert calc("price * quantity", price=Decimal("19.99"), quantity=3) == Decimal("59.97")


def test_group_columns() -> None:
    rows = [{"amount": Decimal("10.50")}, {"amount": None}, {"amount": 4}, {"other": 1}]
    assert calc("sum(items.amount)", items=rows) == Decimal("14.50")
    assert calc("max(items.amount, 11)", items=rows) == Decimal(11)
    assert calc("min(items.amount)", items=rows) == Decimal(4)
    assert calc("sum(items.amount)", items=[]) == Decimal(0)
    assert calc("min(items.amount)", items=[]) is None
    assert calc("sum(items.amount)") == Decimal(0)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("a / 0", {"a": 1}),
        ("a / (b - b)", {"a": 1, "b": 2}),
        ("a + 1", {}),
        ("a + 1", {"a": None}),
        ("a + 1", {"a": "12"}),  # text is not a number here
        ("a + 1", {"a": True}),
        ("round(a, 2)", {"a": None}),
        ("round(1, 2.5)", {}),
        ("round(1, 11)", {}),
        ("min(a, 1)", {}),
        ("a * a", {"a": Decimal("1e999990")}),  # overflow
    ],
)
def test_empty_inputs_and_arithmetic_errors_give_none(text: str, values: dict[str, Any]) -> None:
    assert calc(text, **values) is None


@pytest.mark.parametrize(
    ("text", "fragment", "position"),
    [
        ("", "Enter an expression", None),
        ("1 +", "ends too early", 3),
        ("1 2", "Unexpected '2'", 2),
        ("(1 + 2", "Expected ')'", 6),
        ("foo(1)", "Unknown function 'foo'", 0),
        ("sum(1)", "sum(group.field)", 0),
        ("round(1, 2, 3)", "round(x, places)", 0),
        ("abs()", "abs(x)", 0),
        ("items.amount + 1", "group column", 0),
        ("abs(items.amount)", "cannot take a group column", 4),
        ("__import__('os')", "Unexpected character '_'", 0),
        ("a ** 2", "Unexpected '*'", 3),
        ("a; b", "Unexpected character ';'", 1),
        ("Price", "Unexpected character 'P'", 0),
        ("1" * 40, "too many digits", 0),
        ("-" * 60 + "1", "nested too deeply", None),
        ("(" * 60 + "1" + ")" * 60, "nested too deeply", None),
    ],
)
def test_refusals_name_the_problem_and_where(text: str, fragment: str, position: int | None) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    assert fragment in caught.value.message
    if position is not None:
        assert caught.value.position == position


def test_overlong_expression_refused() -> None:
    with pytest.raises(ExpressionError, match="longer than"):
        parse_expression("1 + " * 300 + "1")


def test_references_and_columns() -> None:
    expr = parse_expression("round(price * qty + sum(items.amount) - max(items.fee, shipping), 2)")
    assert expr.references() == {"price", "qty", "shipping"}
    assert expr.columns() == {("items", "amount"), ("items", "fee")}
    assert isinstance(parse_expression("x").root, Ref)
    assert isinstance(parse_expression("sum(g.x)").root.args[0], Column)  # type: ignore[union-attr]


# --- safety ------------------------------------------------------------------------------------

PYTHONISH = st.text(
    alphabet=st.sampled_from(list("abcdefxyz_0123456789.+-*/(),'\"[]{}:;=<>!@#$%^&|~` \n\tOSimport")),
    max_size=60,
)


def _forbidden(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("user text reached Python evaluation")


@settings(max_examples=300, deadline=None)
@given(PYTHONISH)
def test_any_text_parses_or_is_refused_and_never_reaches_python(text: str) -> None:
    with (
        mock.patch.object(builtins, "eval", _forbidden),
        mock.patch.object(builtins, "exec", _forbidden),
        mock.patch.object(builtins, "compile", _forbidden),
        mock.patch.object(builtins, "__import__", _forbidden),
    ):
        try:
            expr = parse_expression(text)
        except ExpressionError:
            return
        result = expr.evaluate({"a": 1, "b": Decimal("2.5"), "x": 0})
    assert result is None or isinstance(result, Decimal)


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> tuple[str, Decimal | None]:
    """A random expression as text, with its value computed independently of forms.expressions."""
    if depth > 3 or draw(st.booleans()):
        number = draw(st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False))
        return (f"({number})" if number < 0 else str(number)), number
    op = draw(st.sampled_from(["+", "-", "*", "/", "neg", "abs", "max"]))
    left_text, left = draw(trees(depth + 1))
    if op == "neg":
        return f"-({left_text})", (-left if left is not None else None)
    if op == "abs":
        return f"abs({left_text})", (abs(left) if left is not None else None)
    right_text, right = draw(trees(depth + 1))
    text = f"max({left_text}, {right_text})" if op == "max" else f"({left_text}) {op} ({right_text})"
    if left is None or right is None:
        return text, None
    if op == "max":
        return text, max(left, right)
    if op == "/":
        return text, (left / right if right != 0 else None)
    return text, {"+": left + right, "-": left - right, "*": left * right}[op]


@settings(max_examples=200, deadline=None)
@given(trees())
def test_parser_agrees_with_an_independent_evaluation(tree: tuple[str, Decimal | None]) -> None:
    text, expected = tree
    result = parse_expression(text).evaluate({})
    if expected is None:
        assert result is None
    else:
        assert result is not None
        assert abs(result - expected) <= abs(expected) * Decimal("1e-20") + Decimal("1e-20")
