"""How the form designer's property panel edits each property of a field type.

``FieldType.editable_properties()`` lists, in the panel's order, one ``EditableProperty`` per property a
type's panel edits: the common description of ``EDITORS`` unless the type's ``editors`` say otherwise.
A view model renders each by its ``kind`` (``PROPERTY_KINDS``), filling dynamic choices from the source
``choices_from`` names (``CHOICE_SOURCES``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["CHOICE_SOURCES", "EDITORS", "PANEL_EDITS_ELSEWHERE", "PANEL_ORDER", "PROPERTY_KINDS",
           "EditableProperty", "property_editors"]

PROPERTY_KINDS: Mapping[str, str] = {
    "text": "one line of text",
    "multiline": "text of several lines (line breaks kept)",
    "code": "one line a machine reads (a pattern, a calculation): no spell checking or autocompletion",
    "number": "a number typed as text (decimals allowed)",
    "whole": "a whole number, at least ``minimum``",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a date and time in UTC (YYYY-MM-DDTHH:MM)",
    "bool": "a check box; ticked stores true",
    "choice": "one value of ``choices`` (or of ``choices_from``); ``blank`` labels the empty choice",
    "choices": "several values of ``choices_from`` (check boxes); none ticked removes the property",
    "options": "the field's option list (label and stored value per option), edited option by option",
    "megabytes": "a size in bytes, shown and typed in megabytes",
    "key": "the field's short name; changing it renames the field everywhere in the form",
}
"""Every ``EditableProperty.kind``, with what a view model renders for it."""

CHOICE_SOURCES: Mapping[str, str] = {
    "options": "the field's own options, as (value, label) in their order",
    "currencies": "the currency codes the server offers (plus the field's current one)",
    "file_types": "forms.files.KNOWN_FILE_TYPES, as (content type, label)",
}
"""Every ``EditableProperty.choices_from``: choices known only when the panel is shown."""


@dataclass(frozen=True)
class EditableProperty:
    """One property as the designer's panel edits it: enough for a view model to render the control.

    ``name`` is the property in the definition JSON (and the name the panel posts it under); ``kind``
    is one of ``PROPERTY_KINDS``; ``label`` and ``help`` are what the admin reads. For ``choice`` and
    ``choices``: fixed ``choices`` as (value, words), or ``choices_from`` naming one of
    ``CHOICE_SOURCES``; ``blank`` labels an empty first choice (None: no empty choice) and ``initial`` is
    the value shown while the property is unset. ``minimum`` bounds a ``whole`` number.
    """

    name: str
    kind: str
    label: str
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    choices_from: str | None = None
    blank: str | None = None
    initial: str | None = None
    minimum: int | None = None


PANEL_ORDER: tuple[str, ...] = (
    "label", "text", "help", "placeholder", "required", "options", "display", "default", "min", "max",
    "min_length", "max_length", "pattern", "pattern_message", "currency", "allowed_types", "max_size",
    "max_count", "expression", "decimals", "min_rows", "max_rows", "personal", "width", "key",
)  # fmt: skip
"""The order the panel shows properties in (a type shows those it allows)."""

PANEL_EDITS_ELSEWHERE = frozenset({"type", "fields", "visible_if", "required_if"})
"""Allowed properties the panel's property list does not edit: the type never changes, sub-fields are
added as fields of their own, and the two conditions have the condition builder."""


def property_editors(*props: EditableProperty) -> dict[str, EditableProperty]:
    return {p.name: p for p in props}


EDITORS: Mapping[str, EditableProperty] = property_editors(
    EditableProperty("label", "text", "Label", "The question as requesters read it."),
    EditableProperty("text", "multiline", "Text", "Plain text; line breaks are kept."),
    EditableProperty("help", "multiline", "Help text", "Shown under the question, e.g. where to find the answer."),
    EditableProperty("placeholder", "text", "Placeholder", "An example shown inside the empty box, like ORD-123456."),
    EditableProperty("required", "bool", "Always required", "Conditional requirements are set further down."),
    EditableProperty("options", "options", "Options",
                     "“Stored as” is what rules, exports and the API see; it follows the label until you change it."),
    EditableProperty("display", "choice", "Show the options as", initial="dropdown",
                     choices=(("dropdown", "A drop-down list"), ("radio", "Radio buttons, all visible"))),
    EditableProperty("default", "text", "Pre-filled value"),
    EditableProperty("min", "number", "Smallest value"),
    EditableProperty("max", "number", "Largest value"),
    EditableProperty("min_length", "whole", "Shortest answer (characters)", minimum=0),
    EditableProperty("max_length", "whole", "Longest answer (characters)", minimum=1),
    EditableProperty("pattern", "code", "Format the answer must have (pattern)",
                     "An example with # for each digit, e.g. ORD-###### for ORD- and six digits, or a regular "
                     "expression the whole answer must match. Leave empty for any text."),
    EditableProperty("pattern_message", "text", "Message when the format is wrong",
                     "Tell people what to type, e.g. “Enter the order number as ORD- and 6 digits”."),
    EditableProperty("currency", "choice", "Currency", choices_from="currencies", initial="EUR"),
    EditableProperty("allowed_types", "choices", "Allowed kinds of file",
                     "None ticked: every kind listed is accepted. Files are recognised by their content, not their "
                     "name.", choices_from="file_types"),
    EditableProperty("max_size", "megabytes", "Largest file (MB)", "Empty: the server's upload limit."),
    EditableProperty("max_count", "whole", "How many files at most", "Empty: one file.", minimum=1),
    EditableProperty("expression", "code", "Calculation",
                     "Use the short names of number fields with + - * / and round(), min(), max(), abs(); "
                     "sum(rows.amount) adds up a column of a repeating group. Example: price * quantity."),
    EditableProperty("decimals", "whole", "Round to decimals", minimum=0),
    EditableProperty("min_rows", "whole", "Fewest rows", minimum=0),
    EditableProperty("max_rows", "whole", "Most rows", minimum=1),
    EditableProperty("personal", "bool", "Personal data",
                     "The answer identifies or describes the requester: it can be erased on request or after the "
                     "retention period without breaking the audit trail."),
    EditableProperty("width", "choice", "Width", "Narrow fields sit side by side on wide screens.", initial="full",
                     choices=(("full", "Full width"), ("half", "Half width"), ("third", "One third"))),
    EditableProperty("key", "key", "Short name",
                     "Renaming updates the conditions and calculations of this form; rules of case types keep "
                     "using the published versions."),
)
"""How the panel edits each property unless a type says otherwise (``FieldType.editors``)."""
