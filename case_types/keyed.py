"""Reading a keyed list of a case-type document (states, transitions, tasks to start): each item an object
with a unique key; the loaders of the document and of its catalogue share this one reader."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from case_types.workflow import KEY_RE

Problem = Callable[..., None]


def keyed_items(raw: list[Any], section: str, problem: Problem, *, not_object: str,
                duplicate: Callable[[str], str]) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    """(path prefix, item, key) of each well-formed item; `problem(path, message[, key])` for the others.

    An item that is not an object, or whose key is not a key, is skipped; a repeated key is reported and
    kept, so its other settings are still checked.
    """
    seen: set[str] = set()
    for i, item in enumerate(raw):
        path = f"{section}[{i}]."
        if not isinstance(item, Mapping):
            problem(f"{section}[{i}]", not_object)
            continue
        key = item.get("key")
        if not isinstance(key, str) or not KEY_RE.match(key):
            problem(f"{path}key", "Use lower-case letters, digits and '_', starting with a letter.")
            continue
        if key in seen:
            problem(f"{path}key", duplicate(key), key)
        seen.add(key)
        yield path, item, key
