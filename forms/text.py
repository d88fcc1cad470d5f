"""The one rule for text anyone types: valid Unicode, no NUL or other control characters.

Every text Casework stores or looks up (answers, comments, labels, imported definitions, filters, slugs,
stream names) follows it, so no database write or audit hash fails on a lone surrogate or a NUL, and
SQLite and PostgreSQL keep the same text. Invisible format characters (zero-width spaces, joiners, the
byte-order mark) are allowed inside text but never count as content: a required answer of only those
is empty.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

__all__ = ["check_text", "find_bad_text", "has_content", "text_problem"]

# C0 and C1 controls and DEL, except tab, line feed and carriage return (those only where lines are allowed).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_CONTROL = re.compile(r"[\t\n\r]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def text_problem(text: str, *, multiline: bool = True) -> str | None:
    """What is wrong with `text` in words people understand, or None when it may be stored."""
    if _SURROGATE.search(text):
        return "Contains characters that are not valid text (broken Unicode); type it again."
    if _CONTROL.search(text) or (not multiline and _LINE_CONTROL.search(text)):
        return "Remove the control characters from this text."
    return None


def check_text(text: str, *, multiline: bool = True) -> str:
    """`text` itself when it follows the rule; otherwise ValueError with the reason."""
    problem = text_problem(text, multiline=multiline)
    if problem:
        raise ValueError(problem)
    return text


def has_content(text: str) -> bool:
    """Whether `text` has anything visible: white space and format characters (Cf) do not count."""
    return any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in text)


def find_bad_text(value: Any, path: str = "", *, limit: int = 10_000_000) -> tuple[str, str] | None:
    """The first (path, problem) of a JSON-like value's strings (keys included), or None.

    One pass over the value, no recursion (bodies are depth-limited anyway); `limit` bounds the nodes.
    """
    stack: list[tuple[str, Any]] = [(path, value)]
    seen = 0
    while stack and seen < limit:
        where, item = stack.pop()
        seen += 1
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return where or "body", problem
        elif isinstance(item, dict):
            for key, sub in item.items():
                name = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and text_problem(key):
                    return (where or "body"), "A name in this object is not valid text."
                stack.append((name, sub))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", sub) for i, sub in enumerate(item))
    return None
