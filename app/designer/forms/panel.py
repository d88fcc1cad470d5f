"""The side panel's property inputs of the selected field, read from the field-type registry.

``FieldType.editable_properties()`` says which properties a type's panel edits, how (the ``kind``),
with which words and choices; this view model adds what only the page knows (the value to show, the
input's id and posted name, the choices of the moment, the problems), so the template loops over the
inputs and renders each by its kind instead of branching on the field type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.designer.forms.messages import field_type_title
from app.designer.forms.nodes import label
from app.designer.forms.posts import MEGABYTE
from app.designer.forms.problems import ProblemMap
from forms.editing import CONDITIONS
from forms.fieldtypes import FIELD_TYPES
from forms.fieldtypes.panel import EDITORS, PANEL_ORDER, EditableProperty
from forms.files import KNOWN_FILE_TYPES

CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "CZK", "INR", "CNY")
"""The currency codes the panel offers (a field keeps its own code when it is not one of them)."""

SHOWN = (*PANEL_ORDER, *CONDITIONS)
"""Properties some input of the panel shows; problems of any other are listed above the inputs."""

# (input type, HTML attributes) of the kinds typed into one box; "multiline" is a textarea.
_BOXES: Mapping[str, tuple[str, Mapping[str, Any]]] = {
    "text": ("text", {}),
    "multiline": ("text", {}),
    "code": ("text", {"spellcheck": "false", "autocomplete": "off"}),
    "number": ("text", {"inputmode": "decimal"}),
    "date": ("date", {}),
    "datetime": ("datetime-local", {}),
    "megabytes": ("text", {"inputmode": "decimal"}),
}
_LIST_CLASSES = {"file_types": "checks dz-types"}


@dataclass(frozen=True)
class OptionRow:
    """One option of a choice field as its two boxes show it."""

    index: int
    label: str
    value: str


@dataclass
class PropertyInput:
    """One property's input: what the template needs to render it by ``kind``."""

    prop: EditableProperty
    id: str
    name: str
    """The name the input is posted under (the property's, or ``<property>_mb`` for megabytes)."""
    value: str = ""
    checked: bool = False
    input_type: str = "text"
    attrs: dict[str, Any] = field(default_factory=dict)
    choices: list[tuple[str, str]] = field(default_factory=list)
    chosen: frozenset[str] = frozenset()
    options: list[OptionRow] = field(default_factory=list)
    list_class: str = "checks"
    errors: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.prop.kind

    @property
    def label(self) -> str:
        return self.prop.label

    @property
    def help(self) -> str:
        return self.prop.help


@dataclass
class Panel:
    """The selected field's heading, its inputs in the registry's order, and the problems no input shows."""

    title: str
    name: str
    inputs: list[PropertyInput]
    other_problems: list[str]
    takes_input: bool = False
    """Whether the field has a "required when" condition (fields requesters fill in)."""
    holds_fields: bool = False
    """Whether fields are added to each of its rows (a repeating group)."""


def _options(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    options = node.get("options")
    return [o for o in options if isinstance(o, Mapping)] if isinstance(options, list) else []


def _source_choices(source: str | None, node: Mapping[str, Any]) -> list[tuple[str, str]]:
    if source == "options":
        return [(o["value"], str(o.get("label") or o["value"])) for o in _options(node)
                if isinstance(o.get("value"), str)]
    if source == "currencies":
        return [(code, code) for code in CURRENCIES]
    if source == "file_types":
        return [(ctype, kind.label) for ctype, kind in KNOWN_FILE_TYPES.items()]
    return []


def _text(value: Any) -> str:
    """A stored value as the input shows it (True and False as the choices name them)."""
    if value is None or isinstance(value, Mapping):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _megabytes(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(round(value / MEGABYTE, 2)).removesuffix(".0")
    return _text(value or "")


def _choice(entry: PropertyInput, stored: Any, node: Mapping[str, Any]) -> None:
    prop = entry.prop
    entry.choices = list(prop.choices) or _source_choices(prop.choices_from, node)
    entry.value = _text(stored) if stored not in (None, "") else (prop.initial or "")
    if prop.choices_from == "currencies" and entry.value not in {v for v, _ in entry.choices}:
        entry.choices.append((entry.value, entry.value))
    if prop.blank is not None:
        entry.choices.insert(0, ("", prop.blank))


def _fill(entry: PropertyInput, stored: Any, node: Mapping[str, Any]) -> None:
    """Set what the input shows, by its kind."""
    kind = entry.kind
    if kind == "bool":
        entry.checked = stored is True
    elif kind == "choice":
        _choice(entry, stored, node)
    elif kind == "choices":
        entry.choices = _source_choices(entry.prop.choices_from, node)
        entry.chosen = frozenset(str(v) for v in stored) if isinstance(stored, list) else frozenset()
        entry.list_class = _LIST_CLASSES.get(entry.prop.choices_from or "", "checks")
    elif kind == "options":
        entry.options = [OptionRow(i, o["label"] if isinstance(o.get("label"), str) else "",
                                   o["value"] if isinstance(o.get("value"), str) else "")
                         for i, o in enumerate(_options(node))]
    elif kind == "whole":
        entry.input_type = "number"
        entry.attrs = {"min": entry.prop.minimum or 0, "step": 1, "inputmode": "numeric"}
        entry.value = _text(stored)
    elif kind == "megabytes":
        entry.name, entry.value = f"{entry.prop.name}_mb", _megabytes(stored)
        entry.attrs = dict(_BOXES[kind][1])
    elif kind in _BOXES:
        entry.input_type, attrs = _BOXES[kind]
        entry.attrs = dict(attrs)
        entry.value = _text(stored)[:16] if kind == "datetime" else _text(stored)
    else:  # "key"
        entry.value = _text(stored)


def property_panel(node: Mapping[str, Any], problems: ProblemMap) -> Panel:
    """The panel of a field node; a field of a type Casework does not know gets its short name only."""
    ftype = FIELD_TYPES.get(str(node.get("type")))
    key = str(node.get("key"))
    inputs = []
    for prop in ftype.editable_properties() if ftype is not None else (EDITORS["key"],):
        entry = PropertyInput(prop, id=f"fp-{key}-{prop.name}", name=prop.name, errors=problems.of(key, prop.name))
        _fill(entry, node.get(prop.name), node)
        inputs.append(entry)
    return Panel(title=field_type_title(str(node.get("type"))), name=label(node), inputs=inputs,
                 other_problems=problems.unplaced(key, SHOWN), takes_input=ftype is not None and ftype.takes_input,
                 holds_fields=ftype is not None and "fields" in ftype.allowed_properties)
