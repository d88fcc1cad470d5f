"""A tiny, safe arithmetic language for calculated fields.

Grammar (our own tokenizer and recursive-descent parser; user text never reaches eval, exec or ast)::

    expr    := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary)*
    unary   := "-" unary | primary
    primary := NUMBER | NAME | NAME "(" args ")" | "(" expr ")"
    args    := arg ("," arg)*
    arg     := expr | NAME "." NAME          (a group column, only inside sum, min and max)

Functions: ``round(x)`` / ``round(x, n)`` (half up), ``min(...)``, ``max(...)``, ``abs(x)`` and
``sum(group.subfield)`` over a repeating group's rows. Arithmetic is Decimal. Evaluation never raises:
an empty input, a division by zero or a result beyond 10**200 gives None, which the form shows as empty.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeAlias

from forms.errors import ExpressionError

__all__ = [
    "FUNCTIONS",
    "BinOp",
    "Call",
    "Column",
    "Expression",
    "Neg",
    "Num",
    "Ref",
    "parse_expression",
]

MAX_LENGTH = 1000
MAX_DEPTH = 40
MAX_NUMBER_DIGITS = 30
MAX_ROUND_PLACES = 10

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+(?:\.\d+)?|\.\d+))
  | (?P<name>[a-z][a-z0-9_]*)
  | (?P<punct>[-+*/(),.])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # "number" | "name" | "punct" | "end"
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise ExpressionError(f"Unexpected character {text[pos]!r}.", pos)
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


# --- syntax tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    """A number literal."""

    value: Decimal


@dataclass(frozen=True)
class Ref:
    """The value of another field."""

    name: str


@dataclass(frozen=True)
class Column:
    """Every row's value of one sub-field of a repeating group."""

    group: str
    field: str


@dataclass(frozen=True)
class Neg:
    """Unary minus."""

    operand: Node


@dataclass(frozen=True)
class BinOp:
    """``left op right`` for + - * /."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    """A call of one of the registered functions."""

    name: str
    args: tuple[Node, ...]


Node: TypeAlias = "Num | Ref | Column | Neg | BinOp | Call"
_Values: TypeAlias = "list[Decimal | None]"


# --- functions ---------------------------------------------------------------------------------

_HALF_UP = decimal.ROUND_HALF_UP


def _flat(args: Sequence[_Values]) -> list[Decimal] | None:
    """Scalars must all be filled; group columns skip their empty cells."""
    out: list[Decimal] = []
    for arg in args:
        for value in arg:
            if value is None:
                return None
            out.append(value)
    return out


def _fn_min(args: Sequence[_Values]) -> Decimal | None:
    values = _flat(args)
    return min(values) if values else None


def _fn_max(args: Sequence[_Values]) -> Decimal | None:
    values = _flat(args)
    return max(values) if values else None


def _fn_sum(args: Sequence[_Values]) -> Decimal | None:
    values = _flat(args)
    return sum(values, Decimal(0)) if values is not None else None


def _fn_abs(args: Sequence[_Values]) -> Decimal | None:
    value = args[0][0]
    return abs(value) if value is not None else None


def _fn_round(args: Sequence[_Values]) -> Decimal | None:
    value = args[0][0]
    places = args[1][0] if len(args) > 1 else Decimal(0)
    if value is None or places is None:
        return None
    if places != places.to_integral_value() or not 0 <= places <= MAX_ROUND_PLACES:
        return None
    return value.quantize(Decimal(1).scaleb(-int(places)), rounding=_HALF_UP)


@dataclass(frozen=True)
class Function:
    """A function of the language: its arity and whether group columns may be passed."""

    name: str
    min_args: int
    max_args: int | None
    columns: bool
    impl: Callable[[Sequence[_Values]], Decimal | None]
    signature: str


FUNCTIONS: Mapping[str, Function] = MappingProxyType(
    {
        f.name: f
        for f in (
            Function("round", 1, 2, False, _fn_round, "round(x, places)"),
            Function("min", 1, None, True, _fn_min, "min(a, b, ...)"),
            Function("max", 1, None, True, _fn_max, "max(a, b, ...)"),
            Function("abs", 1, 1, False, _fn_abs, "abs(x)"),
            Function("sum", 1, 1, True, _fn_sum, "sum(group.field)"),
        )
    }
)


# --- parser ------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> _Token:
        return self.peek(0)

    def peek(self, ahead: int) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, text: str, what: str) -> None:
        if self.tok.text != text or self.tok.kind != "punct":
            raise ExpressionError(f"Expected {what}{self._found()}.", self.tok.pos)
        self.take()

    def _found(self) -> str:
        return ", found the end" if self.tok.kind == "end" else f", found {self.tok.text!r}"

    def parse(self) -> Node:
        node = self.expr()
        if self.tok.kind != "end":
            raise ExpressionError(f"Unexpected {self.tok.text!r}.", self.tok.pos)
        return node

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError("The expression is nested too deeply.", self.tok.pos)

    def expr(self) -> Node:
        node = self.term()
        while self.tok.kind == "punct" and self.tok.text in "+-":
            op = self.take().text
            node = BinOp(op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.tok.kind == "punct" and self.tok.text in "*/":
            op = self.take().text
            node = BinOp(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.tok.kind == "punct" and self.tok.text == "-":
            self.take()
            self.nest()
            node = Neg(self.unary())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.take()
            digits = tok.text.replace(".", "").lstrip("0")
            if len(digits) > MAX_NUMBER_DIGITS:
                raise ExpressionError("This number has too many digits.", tok.pos)
            return Num(Decimal(tok.text))
        if tok.kind == "name":
            self.take()
            if self.tok.kind == "punct" and self.tok.text == "(":
                return self.call(tok)
            if self.tok.kind == "punct" and self.tok.text == ".":
                raise ExpressionError(
                    f"{tok.text}.{self.peek(1).text} is a group column: use it inside "
                    "sum(), min() or max().",
                    tok.pos,
                )
            return Ref(tok.text)
        if tok.kind == "punct" and tok.text == "(":
            self.take()
            self.nest()
            node = self.expr()
            self.depth -= 1
            self.expect(")", "')'")
            return node
        if tok.kind == "end":
            raise ExpressionError("The expression ends too early.", tok.pos)
        raise ExpressionError(f"Unexpected {tok.text!r}.", tok.pos)

    def call(self, name: _Token) -> Node:
        function = FUNCTIONS.get(name.text)
        if function is None:
            known = ", ".join(FUNCTIONS)
            raise ExpressionError(f"Unknown function {name.text!r}; use one of: {known}.", name.pos)
        self.expect("(", "'('")
        self.nest()
        args: list[Node] = []
        if not (self.tok.kind == "punct" and self.tok.text == ")"):
            args.append(self.arg(function))
            while self.tok.kind == "punct" and self.tok.text == ",":
                self.take()
                args.append(self.arg(function))
        self.expect(")", "')' or ','")
        self.depth -= 1
        too_many = function.max_args is not None and len(args) > function.max_args
        if len(args) < function.min_args or too_many:
            raise ExpressionError(f"Use {function.signature}.", name.pos)
        if function.name == "sum" and not isinstance(args[0], Column):
            raise ExpressionError("sum() adds up a group column: use sum(group.field).", name.pos)
        return Call(function.name, tuple(args))

    def arg(self, function: Function) -> Node:
        first, second = self.tok, self.peek(1)
        if first.kind == "name" and second.kind == "punct" and second.text == ".":
            self.take()
            self.take()
            sub = self.tok
            if sub.kind != "name":
                raise ExpressionError(f"Expected a field name after '{first.text}.'.", sub.pos)
            self.take()
            if not function.columns:
                raise ExpressionError(
                    f"{function.name}() cannot take a group column; use sum(), min() or max().", first.pos
                )
            return Column(first.text, sub.text)
        return self.expr()


# --- evaluation --------------------------------------------------------------------------------


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    return None


def _walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Neg):
        yield from _walk(node.operand)
    elif isinstance(node, BinOp):
        yield from _walk(node.left)
        yield from _walk(node.right)
    elif isinstance(node, Call):
        for arg in node.args:
            yield from _walk(arg)


def _column(node: Column, values: Mapping[str, Any]) -> _Values:
    rows = values.get(node.group)
    if not isinstance(rows, list | tuple):
        return []
    cells = (_number(row.get(node.field)) if isinstance(row, Mapping) else None for row in rows)
    return [cell for cell in cells if cell is not None]


def _eval(node: Node, values: Mapping[str, Any]) -> Decimal | None:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Ref):
        return _number(values.get(node.name))
    if isinstance(node, Neg):
        operand = _eval(node.operand, values)
        return -operand if operand is not None else None
    if isinstance(node, BinOp):
        left, right = _eval(node.left, values), _eval(node.right, values)
        if left is None or right is None:
            return None
        return _BINARY[node.op](left, right)
    if isinstance(node, Call):
        args = [_column(a, values) if isinstance(a, Column) else [_eval(a, values)] for a in node.args]
        return FUNCTIONS[node.name].impl(args)
    return None  # a bare Column cannot be parsed outside a call


_BINARY: Mapping[str, Callable[[Decimal, Decimal], Decimal]] = MappingProxyType(
    {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
    }
)

_CONTEXT = decimal.Context(
    prec=28,
    rounding=_HALF_UP,
    Emax=200,
    Emin=-200,
    traps=[decimal.DivisionByZero, decimal.Overflow, decimal.InvalidOperation],
)


@dataclass(frozen=True)
class Expression:
    """A parsed expression; compare and store it by its source text."""

    source: str
    root: Node

    def references(self) -> set[str]:
        """Plain field keys used (group columns are in ``columns``)."""
        return {n.name for n in _walk(self.root) if isinstance(n, Ref)}

    def columns(self) -> set[tuple[str, str]]:
        """(group, sub-field) pairs used inside sum, min and max."""
        return {(n.group, n.field) for n in _walk(self.root) if isinstance(n, Column)}

    def evaluate(self, values: Mapping[str, Any]) -> Decimal | None:
        """The result, or None for an empty input, a division by zero or an overflow."""
        try:
            with decimal.localcontext(_CONTEXT):
                result = _eval(self.root, values)
                # Re-apply the context so results never carry more than 28 significant digits.
                return +result if result is not None else None
        except ArithmeticError:
            return None


def parse_expression(text: str) -> Expression:
    """Parse a calculated field's expression; raises ExpressionError with the position of the problem."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("Enter an expression, like price * quantity.")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"The expression is longer than {MAX_LENGTH} characters.")
    return Expression(text, _Parser(text).parse())
