"""Editing operations on a form draft, one small step at a time, as the browser designer makes them.

Each operation takes a draft document (the JSON dict ``forms.definitions`` loads) and returns a new one; the
input is never changed. Drafts may have problems while they are being edited (a blank label, a
condition pointing at a deleted field): operations keep them as they are, and ``load_definition``
reports them where they are. An operation that cannot be done at all (an unknown field, a key that is taken)
raises ``EditError`` with a message for the admin, and changes nothing.

Keys are stable: a field keeps its key whatever its label becomes, unless it is renamed explicitly, and
then every condition and calculation that uses it is rewritten to the new key.

The steps live by what they change (``fields``, ``options``, ``pages``; ``drafts`` finds things in a
draft); this package is where callers take them from.
"""

from __future__ import annotations

from forms.editing.drafts import (
    CONDITIONS,
    EditError,
    Place,
    Removed,
    field_keys,
    find_field,
    find_page,
    fresh_key,
    place_of,
    value_from_label,
)
from forms.editing.fields import (
    add_field,
    delete_field,
    move_field,
    new_field,
    nudge_field,
    rename_field,
    restore_field,
    set_condition,
    set_form_properties,
    update_field,
)
from forms.editing.options import add_option, move_option, remove_option, set_options, update_option
from forms.editing.pages import add_page, delete_page, move_page, nudge_page, rename_page

__all__ = [
    "CONDITIONS",
    "EditError",
    "Place",
    "Removed",
    "add_field",
    "add_option",
    "add_page",
    "delete_field",
    "delete_page",
    "field_keys",
    "find_field",
    "find_page",
    "fresh_key",
    "move_field",
    "move_option",
    "move_page",
    "new_field",
    "nudge_field",
    "nudge_page",
    "place_of",
    "remove_option",
    "rename_field",
    "rename_page",
    "restore_field",
    "set_condition",
    "set_form_properties",
    "set_options",
    "update_field",
    "update_option",
    "value_from_label",
]
