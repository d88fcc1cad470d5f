"""Boolean normal forms of parsed conditions, shared by validation (dead rules) and compilation.

durable-rules handles a plain conjunction of tests well, and little else reliably: its ``$or`` groups are
capped per rule and fan out its matching stack. So conditions are brought to disjunctive normal form
(an OR of ANDs of literals), each AND becoming one engine rule, with negation pushed down to the clauses.
A literal is a clause with a *positive* operator (eq, in, contains, empty, ...) and a polarity; the
negated operators of the contract (neq, not_in, not_contains, not_empty) are exactly the negations of
their positive twins, empty values included, so they become negative literals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from forms.conditions import AllOf, Clause, Condition, Not

NEGATED_OPERATORS: Mapping[str, str] = MappingProxyType(
    {"neq": "eq", "not_in": "in", "not_contains": "contains", "not_empty": "empty"}
)


class TooComplex(Exception):
    """The normal form would need more alternatives than the limit."""


@dataclass(frozen=True)
class Literal:
    """A clause with a positive operator, asserted (positive) or denied."""

    clause: Clause
    positive: bool = True

    def negate(self) -> Literal:
        """The exact negation (empty values included, per the contract)."""
        return Literal(self.clause, not self.positive)

    @staticmethod
    def of(clause: Clause) -> Literal:
        """The literal a clause stands for (``neq`` is a denied ``eq``, and so on)."""
        base = NEGATED_OPERATORS.get(clause.op)
        if base is None:
            return Literal(clause, True)
        return Literal(replace(clause, op=base), False)


Conjunction = tuple[Literal, ...]
ALWAYS: list[Conjunction] = [()]
NEVER: list[Conjunction] = []


def _tidy(alternatives: list[Conjunction]) -> list[Conjunction]:
    """Drop repeated literals, contradictions (L and not L), duplicates and absorbed alternatives."""
    seen: list[frozenset[Literal]] = []
    kept: list[Conjunction] = []
    for conj in alternatives:
        literals = tuple(dict.fromkeys(conj))
        members = frozenset(literals)
        if any(lit.negate() in members for lit in literals):
            continue
        if members in seen:
            continue
        seen.append(members)
        kept.append(literals)
    if 1 < len(kept) <= 256:
        # A or (A and B) is A: the longer alternative can never be the only reason to match.
        kept = [c for i, c in enumerate(kept)
                if not any(j != i and seen[j] < seen[i] for j in range(len(kept)))]
    return kept


def _dnf(node: Condition, positive: bool, limit: int) -> list[Conjunction]:
    if isinstance(node, Not):
        return _dnf(node.item, not positive, limit)
    if isinstance(node, Clause):
        literal = Literal.of(node)
        return [(literal if positive else literal.negate(),)]
    conjunctive = isinstance(node, AllOf) == positive  # all(...) or not any(...)
    parts = [_dnf(item, positive, limit) for item in node.items]
    if conjunctive:
        result: list[Conjunction] = [()]
        for part in parts:
            result = _tidy([left + right for left in result for right in part])
            if len(result) > limit:
                raise TooComplex
        return result
    result = _tidy([conj for part in parts for conj in part])
    if len(result) > limit:
        raise TooComplex
    return result


def to_dnf(cond: Condition, limit: int = 64) -> list[Conjunction]:
    """The condition as alternatives of literal conjunctions; ``[()]`` is always true, ``[]`` never."""
    return _dnf(cond, True, limit)


def is_always(cond: Condition) -> bool | None:
    """True when the condition always holds, False when it never does, None when it depends on facts."""
    try:
        alternatives = to_dnf(cond)
    except TooComplex:
        return None
    if alternatives == ALWAYS:
        return True
    if alternatives == NEVER:
        return False
    return None


__all__ = ["ALWAYS", "NEVER", "Conjunction", "Literal", "TooComplex", "is_always", "to_dnf"]
