"""Readable differences between two versions of a form, for the version history and the audit trail."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from forms.conditions import describe
from forms.definitions import dump_field, load_definition
from forms.properties import PROPERTIES
from forms.schema import FieldSpec, FormSchema

__all__ = ["Change", "diff_definitions"]


@dataclass(frozen=True)
class Change:
    """One change, with a sentence for people and structured parts for code."""

    kind: str
    """form_changed, page_added, page_removed, page_renamed, page_moved, field_added, field_removed,
    field_moved, field_relocated, type_changed, property_changed, option_added, option_removed,
    option_renamed, options_reordered."""
    message: str
    field: str | None = None
    page: str | None = None
    prop: str | None = None
    before: Any = None
    after: Any = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class _Place:
    spec: FieldSpec
    page: str
    page_title: str
    group: FieldSpec | None
    position: int  # 1-based within its page or group


def _places(schema: FormSchema) -> dict[str, _Place]:
    out: dict[str, _Place] = {}
    for page in schema.pages:
        for i, spec in enumerate(page.fields, 1):
            out[spec.key] = _Place(spec, page.key, page.title, None, i)
            for j, sub in enumerate(spec.fields, 1):
                out[sub.key] = _Place(sub, page.key, page.title, spec, j)
    return out


def _where(place: _Place) -> tuple[str, str | None]:
    """Identity of a field's container (page key, group key): titles may change without a move."""
    return place.page, place.group.key if place.group else None


def _container(place: _Place) -> str:
    return f"group '{place.group.display_label}'" if place.group else f"page '{place.page_title}'"


def _lcs(a: Sequence[str], b: Sequence[str]) -> set[str]:
    """Keys in a longest common subsequence: the ones that did not move relative to the others."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if a[i] == b[j] else max(table[i + 1][j], table[i][j + 1])
    keep: set[str] = set()
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            keep.add(a[i])
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return keep


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value) if not isinstance(value, int | float) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _prop_name(name: str) -> str:
    title = PROPERTIES[name].title if name in PROPERTIES else name
    title = title.removeprefix("The ")
    return title[:1].upper() + title[1:]


class _Differ:
    def __init__(self, old: FormSchema, new: FormSchema) -> None:
        self.old, self.new = old, new
        self.changes: list[Change] = []
        self.labels = {**old.labels(), **new.labels()}
        self.option_labels = {**old.option_labels(), **new.option_labels()}
        self.families = {**old.families, **new.families}

    def add(self, kind: str, message: str, **parts: Any) -> None:
        self.changes.append(Change(kind, message, **parts))

    def run(self) -> list[Change]:
        self.form()
        self.pages()
        self.fields()
        return self.changes

    def form(self) -> None:
        old, new = self.old, self.new
        if old.title != new.title:
            self.add("form_changed", f"Title changed from '{old.title}' to '{new.title}'", prop="title",
                     before=old.title, after=new.title)
        if old.description != new.description:
            self.add("form_changed", "Description changed", prop="description", before=old.description,
                     after=new.description)

    def pages(self) -> None:
        old = {p.key: p for p in self.old.pages}
        new = {p.key: p for p in self.new.pages}
        for key, page in new.items():
            if key not in old:
                self.add("page_added", f"Page '{page.title}' added", page=key)
            elif old[key].title != page.title:
                self.add("page_renamed", f"Page '{old[key].title}' renamed to '{page.title}'", page=key,
                         before=old[key].title, after=page.title)
        for key, page in old.items():
            if key not in new:
                self.add("page_removed", f"Page '{page.title}' removed", page=key)
        old_order = [p.key for p in self.old.pages if p.key in new]
        new_order = [p.key for p in self.new.pages if p.key in old]
        still = _lcs(old_order, new_order)
        for key in new_order:
            if key not in still:
                before, after = old_order.index(key) + 1, new_order.index(key) + 1
                self.add("page_moved", f"Page '{new[key].title}' moved from position {before} to {after}",
                         page=key, before=before, after=after)

    def fields(self) -> None:
        old, new = _places(self.old), _places(self.new)
        moved = self.moved(old, new)
        for key, place in new.items():
            label = place.spec.display_label
            if key not in old:
                where = f"to {_container(place)}" if place.group else f"on {_container(place)}"
                self.add("field_added", f"Field '{label}' added {where}", field=key, page=place.page)
                continue
            before = old[key]
            if _where(before) != _where(place):
                self.add("field_relocated", f"Field '{key}' moved from {_container(before)} to {_container(place)}",
                         field=key, page=place.page, before=before.page, after=place.page)
            elif key in moved:
                self.add("field_moved", f"Field '{key}' moved from position {before.position} to {place.position}",
                         field=key, page=place.page, before=before.position, after=place.position)
            self.properties(before.spec, place.spec, place.page)
        for key, place in old.items():
            if key not in new:
                where = f"from {_container(place)}"
                self.add("field_removed", f"Field '{place.spec.display_label}' removed {where}", field=key,
                         page=place.page)

    def moved(self, old: Mapping[str, _Place], new: Mapping[str, _Place]) -> set[str]:
        """Keys whose order changed among the fields that stayed in the same page or group."""
        moved: set[str] = set()
        for container in {_where(p) for p in new.values()}:
            stay = [k for k, p in new.items() if _where(p) == container and k in old and _where(old[k]) == container]
            before = sorted(stay, key=lambda k: old[k].position)
            after = sorted(stay, key=lambda k: new[k].position)
            moved |= set(stay) - _lcs(before, after)
        return moved

    def properties(self, old: FieldSpec, new: FieldSpec, page: str) -> None:
        key = new.key
        if old.type != new.type:
            self.add("type_changed", f"Type of '{key}' changed from {old.field_type.title} to {new.field_type.title}",
                     field=key, page=page, prop="type", before=old.type, after=new.type)
        before, after = dump_field(old), dump_field(new)
        for name in PROPERTIES:
            if name in ("type", "key", "fields", "options"):
                continue
            a, b = before.get(name), after.get(name)
            if a == b:
                continue
            self.add("property_changed", self.sentence(key, name, a, b), field=key, page=page, prop=name,
                     before=a, after=b)
        self.options(old, new, page)

    def sentence(self, key: str, name: str, before: Any, after: Any) -> str:
        if name == "required":
            return f"'{key}' is now required" if after else f"'{key}' is no longer required"
        if name in ("visible_if", "required_if"):
            what = "shown only when" if name == "visible_if" else "required when"
            if after is None and name == "visible_if":
                return f"'{key}' is now always shown"
            if after is None:
                return f"'{key}' is no longer required when {self.text(before)}"
            return f"'{key}' is now {what} {self.text(after)}"
        title = _prop_name(name)
        if before is None:
            return f"{title} of '{key}' set to '{_short(after)}'"
        if after is None:
            return f"{title} of '{key}' removed (was '{_short(before)}')"
        return f"{title} of '{key}' changed from '{_short(before)}' to '{_short(after)}'"

    def text(self, condition: Any) -> str:
        return describe(condition, self.labels, self.option_labels, families=self.families)

    def options(self, old: FieldSpec, new: FieldSpec, page: str) -> None:
        key, label = new.key, new.display_label
        before = {o.value: o.label for o in old.options}
        after = {o.value: o.label for o in new.options}
        for value, text in after.items():
            if value not in before:
                self.add("option_added", f"Option '{text}' added to '{label}'", field=key, page=page, after=value)
            elif before[value] != text:
                self.add("option_renamed", f"Option '{before[value]}' of '{label}' renamed to '{text}'", field=key,
                         page=page, before=before[value], after=text)
        for value, text in before.items():
            if value not in after:
                self.add("option_removed", f"Option '{text}' removed from '{label}'", field=key, page=page,
                         before=value)
        common_before = [v for v in before if v in after]
        common_after = [v for v in after if v in before]
        if common_before != common_after:
            self.add("options_reordered", f"Options of '{label}' reordered", field=key, page=page,
                     before=common_before, after=common_after)


def _schema(value: FormSchema | Mapping[str, Any]) -> FormSchema:
    return value if isinstance(value, FormSchema) else load_definition(value)


def diff_definitions(old: FormSchema | Mapping[str, Any], new: FormSchema | Mapping[str, Any]) -> list[Change]:
    """What changed from ``old`` to ``new``, as readable changes (empty when nothing did)."""
    return _Differ(_schema(old), _schema(new)).run()
