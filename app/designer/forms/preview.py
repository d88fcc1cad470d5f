"""The draft as requesters would see it: what has problems is left out, so a preview can always be shown."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.designer.forms.nodes import PATH_RE, label, node_at
from forms.definitions import load_definition
from forms.editing import CONDITIONS
from forms.errors import DefinitionError, DefinitionProblem


@dataclass
class Preview:
    """A loadable copy of the draft, and what had to be left out of it."""

    document: dict[str, Any] | None
    omitted: list[str] = field(default_factory=list)
    """Labels of fields left out because they have problems."""
    ignored_conditions: list[str] = field(default_factory=list)
    """Labels of fields shown although their condition has problems."""


def preview_document(document: Mapping[str, Any], *, rounds: int = 12) -> Preview:
    """The draft minus the fields (and conditions) with problems, so that it loads; None if it cannot."""
    doc: Any = copy.deepcopy(dict(document))
    preview = Preview(None)
    for _ in range(rounds):
        try:
            load_definition(doc)
        except DefinitionError as exc:
            problems = exc.errors
        else:
            preview.document = doc
            return preview
        if not _repair(doc, problems, preview):
            return preview
    return preview


def _repair(doc: dict[str, Any], problems: Sequence[DefinitionProblem], preview: Preview) -> bool:
    """One round of leaving out what has problems; False when nothing more can be done."""
    pages = doc.get("pages")
    if not isinstance(pages, list):
        return False
    drop: set[tuple[int, int, int | None]] = set()
    drop_pages: set[int] = set()
    progress = False
    for problem in problems:
        match = PATH_RE.match(problem.path or "")
        if match is None:
            name = (problem.path or "").split(".", 1)[0].split("[", 1)[0]
            if name == "title":
                doc["title"] = "Untitled form"
                progress = True
            elif name and name not in ("pages", "schema_version") and name in doc:
                doc.pop(name)
                progress = True
            continue
        page_s, index_s, sub_s, rest = match.groups()
        page = int(page_s)
        if page >= len(pages) or not isinstance(pages[page], dict):
            continue
        prop = re.split(r"[.\[]", rest or "", maxsplit=1)[0]
        if index_s is None:
            if prop == "title":
                pages[page]["title"] = f"Page {page + 1}"
            elif prop == "key":
                pages[page]["key"] = f"page_{page + 1}"
            elif prop == "fields":
                drop_pages.add(page)
            elif prop:
                pages[page].pop(prop, None)
            progress = True
            continue
        index, sub = int(index_s), int(sub_s) if sub_s is not None else None
        node = node_at(doc, page, index, sub)
        if prop in CONDITIONS and isinstance(node, dict) and prop in node:
            node.pop(prop)
            preview.ignored_conditions.append(label(node))
            progress = True
        elif node is not None:
            drop.add((page, index, sub))
    for page, index, sub in sorted(drop, reverse=True):
        container = pages[page]["fields"] if sub is None else pages[page]["fields"][index]["fields"]
        position = index if sub is None else sub
        preview.omitted.append(label(container[position]))
        del container[position]
        progress = True
    for page in sorted(drop_pages, reverse=True):
        if len(pages) > 1:
            del pages[page]
            progress = True
    if not pages:
        return False
    return progress
