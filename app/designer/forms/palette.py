"""The palette of field types, and where a click on it adds the new field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forms.editing import find_page, place_of

PALETTE: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Text", (("short_text", "One line of text"), ("long_text", "Several lines"), ("email", "An e-mail address"),
              ("phone", "A phone number"), ("url", "A web address"))),
    ("Numbers", (("integer", "A whole number"), ("decimal", "A number with decimals"),
                 ("currency", "An amount of money"), ("calculated", "Computed from other fields"))),
    ("Dates", (("date", "A calendar date"), ("datetime", "A date and a time"))),
    ("Choices", (("single_choice", "Pick one option"), ("multi_choice", "Pick several options"),
                 ("yes_no", "Yes or no"))),
    ("Other", (("file", "Attach files"), ("group", "Repeating rows of fields"),
               ("heading", "A section title"), ("info", "Text to read"))),
)
"""The palette of field types, in groups, with a hint of what each is for."""


def add_target(document: Mapping[str, Any], *, field: str | None = None, page: str | None = None) -> dict[str, Any]:
    """Where a click on the palette adds a field: right after the selected field (after its group, for a
    sub-field), else at the end of the selected page, else at the end of the last page."""
    place = place_of(document, field) if field else None
    if place is not None and place.group is not None:
        place = place_of(document, place.group)
    page_key = place.page if place is not None else page
    found = find_page(document, page_key) if page_key else None
    if found is None:
        pages = [p for p in document.get("pages") or [] if isinstance(p, dict)]
        found = pages[-1] if pages else {}
        place = None
    return {"page": found.get("key", ""), "title": found.get("title") or found.get("key", ""),
            "index": place.index + 1 if place is not None else None}
