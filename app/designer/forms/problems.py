"""The draft's problems sorted onto the field, page or form they concern, so each is shown at its input."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.designer.forms.nodes import PATH_RE, node_at
from forms.errors import DefinitionProblem


@dataclass(frozen=True)
class FieldProblem:
    """A problem of one field: the property it is about (None: the field as a whole) and the message."""

    prop: str | None
    message: str
    detail: str = ""
    """The rest of the path after the property, e.g. ``all[1].value`` of a condition."""


@dataclass
class ProblemMap:
    """The draft's problems, sorted onto what they concern."""

    fields: dict[str, list[FieldProblem]] = field(default_factory=dict)
    pages: dict[int, list[str]] = field(default_factory=dict)
    form: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.form) + sum(map(len, self.pages.values())) + sum(map(len, self.fields.values()))

    def of(self, key: str, prop: str | None = None) -> list[str]:
        """Messages of a field, or of one of its properties."""
        return [p.message for p in self.fields.get(key, []) if prop is None or p.prop == prop]

    def unplaced(self, key: str, props: Sequence[str]) -> list[str]:
        """Messages of a field that no input among ``props`` shows."""
        return [p.message for p in self.fields.get(key, []) if p.prop not in props]


def problems_by_place(document: Mapping[str, Any], problems: Sequence[DefinitionProblem]) -> ProblemMap:
    """Sort problems onto fields (by key), pages (by position) and the form as a whole."""
    out = ProblemMap()
    for problem in problems:
        match = PATH_RE.match(problem.path or "")
        if match is None:
            out.form.append(problem.message)
            continue
        page, index, sub, rest = match.groups()
        if index is None:
            out.pages.setdefault(int(page), []).append(problem.message)
            continue
        node = node_at(document, int(page), int(index), int(sub) if sub is not None else None)
        key = node.get("key") if isinstance(node, dict) and isinstance(node.get("key"), str) else problem.field
        if not key:
            out.pages.setdefault(int(page), []).append(problem.message)
            continue
        prop, detail = None, ""
        if rest:
            name = re.match(r"[A-Za-z_0-9]+", rest)
            prop = name.group() if name else None
            detail = rest[len(prop or ""):].lstrip(".")
        out.fields.setdefault(key, []).append(FieldProblem(prop, problem.message, detail))
    return out
