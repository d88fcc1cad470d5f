"""Reading the form designer's posted inputs: the side panel's properties and the condition builder's rows.

Input names (``option_label``, ``max_size_mb``, ``field-<i>``...) are the templates' business, so they are
read here and nowhere in the form language.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from app.designer.forms.builder import (
    BuilderRow,
    BuilderState,
    CondField,
    fresh_row,
    operators_for,
    typed_number,
    utc_datetime,
)
from forms.conditions import OPERATORS
from forms.editing import CONDITIONS
from forms.fieldtypes import FIELD_TYPES
from forms.fieldtypes.panel import EDITORS
from forms.files import KNOWN_FILE_TYPES
from forms.patterns import pattern_from_mask


class Post(Protocol):
    """What a form post looks like (werkzeug's MultiDict fits)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def getlist(self, key: str) -> list[Any]: ...

    def __contains__(self, key: object) -> bool: ...


def builder_from_post(post: Post, fields: Sequence[CondField]) -> BuilderState:
    """The builder as posted; ``action`` adds or removes a row, and operators are kept fitting their field.

    Rows are posted as ``field-<i>``, ``op-<i>``, ``value-<i>`` (several for a list), ``low-<i>``,
    ``high-<i>``; ``rows`` says how many.
    """
    families = {f.key: f.family for f in fields}
    try:
        count = max(0, min(int(post.get("rows") or 0), 50))
    except (TypeError, ValueError):
        count = 0
    state = BuilderState(enabled=post.get("enabled") == "1", mode="any" if post.get("mode") == "any" else "all")
    for i in range(count):
        row = BuilderRow(
            field=str(post.get(f"field-{i}") or ""),
            op=str(post.get(f"op-{i}") or ""),
            values=[str(v) for v in post.getlist(f"value-{i}")],
            low=str(post.get(f"low-{i}") or ""),
            high=str(post.get(f"high-{i}") or ""),
        )
        allowed = [op for op, _ in operators_for(families.get(row.field))]
        if row.field in families and row.op not in allowed:
            row.op, row.values, row.low, row.high = allowed[0], [], "", ""
        elif _arity(str(post.get(f"drawn-{i}") or row.op)) != _arity(row.op):
            # The value inputs were drawn for another kind of operator: a single picker always holds a
            # value (its first option), which must not become a ticked "is one of" nobody chose.
            row.values, row.low, row.high = [], "", ""
        state.rows.append(row)
    action = str(post.get("action") or "")
    if action == "add":
        state.rows.append(fresh_row(fields))
    elif action.startswith("remove-"):
        index = action.removeprefix("remove-")
        if index.isdigit() and int(index) < len(state.rows):
            del state.rows[int(index)]
    if state.enabled and not state.rows and not state.complex:
        state.rows.append(fresh_row(fields))
    return state


def _arity(op: str) -> str:
    return OPERATORS[op].arity if op in OPERATORS else "one"


# Check boxes of the panel (required, personal): ticked means True, unticked removes the property.
_CHECKBOX_PROPS = frozenset(name for name, editor in EDITORS.items() if editor.kind == "bool")
_TEXT_PROPS = ("label", "help", "placeholder", "text", "pattern", "pattern_message", "expression")
_WHOLE_PROPS = ("min_length", "max_length", "max_count", "decimals", "min_rows", "max_rows")
_NO_DEFAULT = {"width": "full", "display": "dropdown"}
MEGABYTE = 1024 * 1024


def _whole(text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    return int(text) if re.fullmatch(r"\d{1,12}", text) else text


def _megabytes(text: str) -> Any:
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    if value != value or value in (float("inf"), float("-inf")):
        return text
    return max(1, round(value * MEGABYTE))


def _default(family: str | None, post: Post) -> Any:
    if family == "multi":
        values = [str(v) for v in post.getlist("default") if str(v).strip()]
        return values or None
    raw = str(post.get("default") or "").strip()
    if not raw:
        return None
    if family == "bool":
        return {"true": True, "false": False}.get(raw, raw)
    if family == "number":
        return typed_number(raw)
    if family == "datetime":
        return utc_datetime(raw)
    return raw


def _one_prop(name: str, family: str | None, post: Post) -> Any:
    """One property's value from the post; None removes it."""
    if name in _CHECKBOX_PROPS:
        return True if post.get(name) in ("1", "on", "true", "y") else None
    if name == "default":
        return _default(family, post)
    if name == "options":
        labels = [str(v) for v in post.getlist("option_label")]
        values = [str(v) for v in post.getlist("option_value")]
        return [{"label": label, "value": values[i] if i < len(values) else ""} for i, label in enumerate(labels)]
    if name == "allowed_types":
        chosen = [str(v) for v in post.getlist("allowed_types") if str(v) in KNOWN_FILE_TYPES]
        return chosen or None
    if name == "max_size":
        return _megabytes(str(post.get("max_size_mb") or ""))
    raw = str(post.get(name) or "")
    if name == "pattern" and (mask := pattern_from_mask(raw)):
        return mask  # an example like ORD-##### (# for a digit) is understood, not matched literally
    if name in _TEXT_PROPS:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
        return raw if raw.strip() else None
    if name in _WHOLE_PROPS:
        return _whole(raw)
    if name in ("min", "max"):
        raw = raw.strip()
        return None if not raw else (typed_number(raw) if family == "number" else raw)
    if name == "currency":
        return raw.strip().upper() or None
    if name in _NO_DEFAULT:
        return None if raw.strip() in ("", _NO_DEFAULT[name]) else raw.strip()
    return raw.strip() or None


def props_from_post(type_name: str, post: Post) -> dict[str, Any]:
    """The properties the side panel posted for a field of this type (``present`` lists which it showed).

    Empty inputs remove their property; values that do not fit are kept as typed, so the draft shows the
    problem at the input. ``key`` is included when posted (a rename).
    """
    ftype = FIELD_TYPES.get(type_name)
    if ftype is None:
        return {}
    allowed = ftype.allowed_properties - {"type", "key", "fields", *CONDITIONS}
    present = {str(p) for p in post.getlist("present")}
    props: dict[str, Any] = {}
    for name in sorted(allowed & present):
        props[name] = _one_prop(name, ftype.family, post)
    key = post.get("key")
    if isinstance(key, str) and key.strip():
        props["key"] = key.strip()
    return props
