"""Values in conditions and facts: emptiness, and coercion of JSON or text to each family's python type."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

__all__ = [
    "DATETIME_RE",
    "DATE_RE",
    "MAX_LIST_VALUES",
    "VALUE_MESSAGES",
    "coerce_value",
    "comparand",
    "is_empty",
    "value_message",
]

# --- value coercion ----------------------------------------------------------------------------

MAX_LIST_VALUES = 1000
"""Values an ``in`` / ``not_in`` condition may list."""
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?")
_MAX_NUMBER_CHARS = 400
_TRUE_WORDS = frozenset({"true", "on", "yes", "1", "y"})
_FALSE_WORDS = frozenset({"false", "off", "no", "0", "n"})


def is_empty(value: Any) -> bool:
    """The contract's emptiness: None, blank text or an empty list (a missing key is handled by callers)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple):
        return len(value) == 0
    return False


def _to_number(raw: Any) -> int | Decimal:
    msg = "Enter a number, like 10000 or 10000.01."
    if isinstance(raw, bool):
        raise ValueError(msg)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise ValueError(msg)
        return raw
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise ValueError(msg)
        return Decimal(repr(raw))
    if isinstance(raw, str):
        text = raw.strip()
        if len(text) > _MAX_NUMBER_CHARS or not _NUMBER_RE.fullmatch(text):
            raise ValueError(msg)
        if "." in text:
            return Decimal(text)
        return int(text)
    raise ValueError(msg)


def _to_date(raw: Any) -> dt.date:
    msg = "Enter a date as YYYY-MM-DD."
    if isinstance(raw, dt.datetime):
        raise ValueError(msg)
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str) and DATE_RE.fullmatch(raw.strip()):
        try:
            return dt.date.fromisoformat(raw.strip())
        except ValueError:
            raise ValueError("This date does not exist; enter a real date as YYYY-MM-DD.") from None
    raise ValueError(msg)


def _to_datetime(raw: Any) -> dt.datetime:
    msg = "Enter a date and time with a time zone offset, like 2024-05-01T14:30:00+02:00."
    value: dt.datetime
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, str) and DATETIME_RE.fullmatch(raw.strip()):
        try:
            value = dt.datetime.fromisoformat(raw.strip())
        except ValueError:
            raise ValueError(msg) from None
    else:
        raise ValueError(msg)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(msg)
    return value


def _to_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | Decimal) and not isinstance(raw, bool):
        return str(raw)
    raise ValueError("Enter text.")


def _to_option(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    raise ValueError("Choose an option value.")


def _to_options(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [raw] if raw.strip() else []
    if isinstance(raw, list | tuple):
        return [_to_option(item) for item in raw]
    raise ValueError("Choose option values as a list.")


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        word = raw.strip().casefold()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise ValueError("Answer yes or no.")


def _to_list(raw: Any) -> list[Any]:
    if isinstance(raw, list | tuple):
        return list(raw)
    raise ValueError("Expected a list.")


_COERCERS: Mapping[str, Callable[[Any], Any]] = MappingProxyType(
    {
        "text": _to_text,
        "number": _to_number,
        "date": _to_date,
        "datetime": _to_datetime,
        "choice": _to_option,
        "multi": _to_options,
        "bool": _to_bool,
        "file": _to_list,
        "group": _to_list,
    }
)


def coerce_value(family: str, raw: Any) -> Any:
    """JSON or text to the python type of the family; None or blank text gives None."""
    try:
        coercer = _COERCERS[family]
    except KeyError:
        raise ValueError(f"Unknown field family {family!r}.") from None
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return coercer(raw)


def comparand(family: str, raw: Any) -> Any:
    """Coerce one value written in a condition (stricter than facts: no blanks, one option for multi)."""
    if family == "text":
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError("Enter the text to compare with.")
        return raw
    if family == "multi":
        if not isinstance(raw, str) or not raw:
            raise ValueError("Give one option value.")
        return raw
    if family == "choice":
        if not isinstance(raw, str) or not raw:
            raise ValueError("Choose an option value.")
        return raw
    if raw is None or isinstance(raw, bool):
        # bool would pass as int 0/1 and None would mean "empty": both are mistakes in a condition.
        raise ValueError(VALUE_MESSAGES.get(family, "Enter a value."))
    return _COERCERS[family](raw)



VALUE_MESSAGES = {
    "number": "Enter a number, like 10000 or 10000.01.",
    "date": "Enter a date as YYYY-MM-DD.",
    "datetime": "Enter a date and time with a time zone offset, like 2024-05-01T14:30:00+02:00.",
}


def value_message(family: str, exc: ValueError) -> str:
    message = str(exc)
    if family in VALUE_MESSAGES and not message.startswith(("Enter", "This")):
        return VALUE_MESSAGES[family]
    return message
