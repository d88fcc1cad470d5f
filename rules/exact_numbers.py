"""Numbers, dates and times as the engine compares them: exactly, or through a stand-in.

The engine compares numbers as C doubles read from JSON text, and cannot read exponents. A number is
posted as itself when that is exact; otherwise as a *stand-in* that compares with every constant of
the ruleset exactly as the number does. Constants are kept coarse enough (12 significant digits, 0 or
at least 0.001, below 10^15) that a stand-in always exists between two of them.
"""

from __future__ import annotations

import bisect
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "EPOCH",
    "MAX_SAFE_INT",
    "MICRO",
    "constant_problem",
    "number_key",
    "post_decimal",
    "post_micros",
    "post_number",
    "stand_in",
]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_SAFE_INT = 2**53
_SMALLEST = 0.0001
_LARGEST = 1e15
_SMALLEST_CONSTANT = Decimal("0.001")
_LARGEST_CONSTANT = Decimal(10) ** 15
_CONSTANT_DIGITS = 12
_DATETIME_MICROS = 2**32 * 10**6
MICRO = dt.timedelta(microseconds=1)


def post_decimal(number: Decimal) -> int | float | None:
    """The exact JSON number for a decimal, or None when a double cannot carry it exactly.

    A decimal that is the shortest text of its double (and that text has no exponent) is exact: all such
    decimals map to distinct doubles in the same order, so every comparison with a constant is kept.
    """
    if number.is_zero():
        return 0
    value = float(number)
    if not _SMALLEST <= abs(value) < _LARGEST:
        if abs(value) >= _LARGEST and number == number.to_integral_value() and abs(number) < MAX_SAFE_INT:
            return int(number)
        return None
    if value.is_integer():
        return int(value) if number == int(value) else None
    return value if Decimal(repr(value)) == number else None


def post_micros(micros: int) -> int | float | None:
    """Epoch seconds of a microsecond instant: exact (distinct, ordered doubles) until 2106."""
    if abs(micros) >= _DATETIME_MICROS:
        return None
    seconds, rest = divmod(micros, 10**6)
    return seconds if rest == 0 else micros / 10**6


def post_number(family: str, number: Decimal) -> int | float | None:
    """Exact posted form of a number, ordinal or epoch-seconds value given as a Decimal, or None."""
    if family == "date":
        return int(number)
    if family == "datetime":
        return post_micros(int(number.scaleb(6)))
    return post_decimal(number)


def _digits(number: Decimal) -> int:
    return len(number.normalize().as_tuple().digits)


def constant_problem(family: str, number: Decimal) -> str | None:
    if family == "date":
        return None
    if family == "datetime":
        exact = post_number(family, number) is not None
        return None if exact else "dates and times in rules must lie between 1834 and 2106"
    if number.is_zero() or (_SMALLEST_CONSTANT <= abs(number) < _LARGEST_CONSTANT
                            and _digits(number) <= _CONSTANT_DIGITS):
        return None
    return (f"numbers in rules need at most {_CONSTANT_DIGITS} significant digits and must be 0 or between "
            "0.001 and 10^15 in size")


def _round15(number: Decimal) -> Decimal:
    try:
        return number.quantize(Decimal(1).scaleb(number.adjusted() - 14))
    except InvalidOperation:
        return number


def number_key(family: str, value: Any) -> Decimal:
    """The exact comparable number of a number, date (ordinal) or datetime (epoch seconds)."""
    if family == "date":
        return Decimal(value.toordinal())
    if family == "datetime":
        return Decimal((value - EPOCH) // MICRO).scaleb(-6)
    return value if isinstance(value, Decimal) else Decimal(int(value))


def stand_in(family: str, number: Decimal, constants: tuple[Decimal, ...]) -> int | float | None:
    """An exactly posted number that compares with every constant as ``number`` does (None if none exists)."""
    i = bisect.bisect_left(constants, number)
    if i < len(constants) and constants[i] == number:
        return post_number(family, number)
    low = constants[i - 1] if i > 0 else None
    high = constants[i] if i < len(constants) else None
    candidates = [_round15(number)]
    if low is not None and high is not None:
        candidates.append(_round15((low + high) / 2))
    elif low is not None:
        candidates.append(low.to_integral_value(rounding="ROUND_FLOOR") + 1)
    elif high is not None:
        candidates.append(high.to_integral_value(rounding="ROUND_CEILING") - 1)
    else:
        candidates.append(Decimal(0))
    for candidate in candidates:
        if (low is None or candidate > low) and (high is None or candidate < high):
            posted = post_number(family, candidate)
            if posted is not None:
                return posted
    return None
