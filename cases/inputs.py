"""Ids and counters people and clients send: the rule, in one place, for pages, the API and the CLI.

An id is a whole number from 1 to MAX_ID, written with the ASCII digits 0-9 only: ``str.isdigit()``
also says yes to "²" (superscript two) and to Arabic-Indic digits, which ``int()`` then reads.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MAX_ID", "is_id", "parse_count", "parse_id"]

MAX_ID = 2**31 - 1
"""The largest id the id columns hold on both backends (INTEGER on PostgreSQL); larger ones are refused
before any query, so ids >= 2**63 (and >= 2**31) are a 404 or a field error, never a database error."""
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(text: Any) -> int | None:
    """The id written in `text`, or None when it is not one (wrong characters, 0, too large)."""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def parse_count(text: Any, *, low: int = 0, high: int = 10**6) -> int | None:
    """A small whole number (a page, a row index) written in ASCII digits, within [low, high], or None."""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def is_id(value: Any) -> bool:
    """Whether a JSON value is an id: an integer (not true/false) from 1 to MAX_ID."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID
