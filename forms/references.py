"""The second pass of loading a definition: what ties fields together.

A condition or calculation may only use fields whose values are known where it is evaluated: fields of
this page or earlier ones, outside repeating groups unless it sits in the same row, and with a value to
test; nothing may depend on itself in a loop. Checked over the drafts ``forms.loading`` leaves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from forms import conditions
from forms.conditions import referenced_fields, validate_condition
from forms.expressions import Expression
from forms.loading import Draft, Problem, Reporter
from forms.schema import topological_order

__all__ = ["References"]


class References(Reporter):
    """Checks the conditions, calculations and dependency loops of every draft; parses valid conditions."""

    def __init__(self, problems: list[Problem], drafts: Sequence[Draft]) -> None:
        super().__init__(problems)
        self.drafts = drafts

    def check(self) -> None:
        top = [d for d in self.drafts if d.group is None and d.key]
        families = {d.key: d.ftype.family for d in top if d.key and d.ftype.family}
        page_of = {d.key: d.page for d in top if d.key}
        owner = {d.key: d.group.key for d in self.drafts if d.group is not None and d.key and d.group.key}
        no_value = {d.key: d.ftype.title for d in self.drafts if d.key and d.ftype.family is None}
        options = {
            d.key: [o.value for o in d.kwargs["options"]] for d in self.drafts if d.key and "options" in d.kwargs
        }
        for draft in self.drafts:
            scope = self.scope(draft, families, page_of)
            later = {k for k, p in page_of.items() if p > draft.page}
            for name, raw in draft.raw_conditions.items():
                self.condition(draft, name, raw, scope, later, owner, no_value, options)
            expression = draft.kwargs.get("expression")
            if expression is not None:
                self.expression(draft, expression, scope, later, owner, top)
        self.cycles(top)
        for group in top:
            if group.children:
                self.cycles(group.children)

    def scope(self, draft: Draft, families: Mapping[str, str], page_of: Mapping[str, int]) -> dict[str, str]:
        """Fields a condition or expression of ``draft`` may use."""
        scope = {k: f for k, f in families.items() if page_of[k] <= draft.page and k != draft.key}
        if draft.group is not None:
            scope.pop(draft.group.key or "", None)
            for sibling in draft.group.children:
                if sibling.key and sibling.ftype.family and sibling.key != draft.key:
                    scope[sibling.key] = sibling.ftype.family
        return scope

    def condition(
        self,
        draft: Draft,
        name: str,
        raw: Any,
        scope: Mapping[str, str],
        later: set[str],
        owner: Mapping[str, str],
        no_value: Mapping[str, str],
        options: Mapping[str, Sequence[str]],
    ) -> None:
        path = f"{draft.path}.{name}"
        reported: set[str] = set()
        for ref in sorted(referenced_fields(raw)):
            message = None
            if ref == draft.key:
                message = "A condition cannot use the field it belongs to."
            elif ref in later:
                message = f"The condition uses {ref!r}, which is on a later page; use fields on this page or earlier."
            elif ref in owner and ref not in scope:
                message = (
                    f"The condition uses {ref!r}, which is inside the repeating group {owner[ref]!r}; only "
                    "fields of the same group row can use it."
                )
            elif ref in no_value:
                message = f"The condition uses {ref!r}, a {no_value[ref]}, which has no value to test."
            if message:
                self.add(path, draft.key, message)
                reported.add(ref)
        errors = validate_condition(raw, scope, options)
        for error in errors:
            if error.message.startswith("Unknown field") and any(repr(r) in error.message for r in reported):
                continue
            self.add(f"{path}.{error.path}" if error.path else path, draft.key, error.message)
        if not errors and not reported:
            draft.kwargs[name] = conditions.parse_condition(raw, scope, options)

    def expression(
        self,
        draft: Draft,
        expression: Expression,
        scope: Mapping[str, str],
        later: set[str],
        owner: Mapping[str, str],
        top: Sequence[Draft],
    ) -> None:
        path = f"{draft.path}.expression"
        for ref in sorted(expression.references()):
            if ref == draft.key:
                self.add(path, draft.key, "The expression cannot use the field itself.")
            elif ref in later:
                self.add(path, draft.key, f"The expression uses {ref!r}, which is on a later page.")
            elif ref not in scope:
                if ref in owner:
                    g = owner[ref]
                    hint = f"use sum({g}.{ref}), min({g}.{ref}) or max({g}.{ref})"
                    self.add(path, draft.key, f"{ref!r} is inside the repeating group {g!r}; {hint}.")
                else:
                    self.add(path, draft.key, f"The expression uses {ref!r}, which is not a field of this form.")
            elif scope[ref] != "number":
                self.add(path, draft.key, f"{ref!r} is not a number field, so it cannot be used in a calculation.")
        groups = {d.key: d for d in top if d.ftype.name == "group"}
        for group_key, sub_key in sorted(expression.columns()):
            group = groups.get(group_key)
            if group is None or group_key not in scope:
                where = "is on a later page" if group_key in later else "is not a repeating group of this form"
                if draft.group is not None and draft.group.key == group_key:
                    where = "is the group this field belongs to; use the row's fields directly"
                self.add(path, draft.key, f"{group_key!r} {where}.")
                continue
            sub = next((c for c in group.children if c.key == sub_key), None)
            if sub is None:
                self.add(path, draft.key, f"{sub_key!r} is not a field of the group {group_key!r}.")
            elif sub.ftype.family != "number":
                self.add(path, draft.key, f"{group_key}.{sub_key} is not a number field.")

    def cycles(self, drafts: Sequence[Draft]) -> None:
        keys = [d.key for d in drafts if d.key]
        deps = {d.key: self.deps(d) for d in drafts if d.key}
        while True:
            # Report every loop: after one is found its fields are set aside and the rest checked again.
            remaining = set(keys)
            _, cycle = topological_order(keys, {k: v & remaining for k, v in deps.items()})
            if not cycle:
                return
            first = next(d for d in drafts if d.key == cycle[0])
            self.add(
                first.path,
                first.key,
                "These fields depend on each other in a loop: " + " → ".join(cycle) + "; break the loop.",
            )
            keys = [k for k in keys if k not in cycle]

    def deps(self, draft: Draft) -> set[str]:
        deps: set[str] = set()
        raw_visible = draft.raw_conditions.get("visible_if")
        if raw_visible is not None:
            deps |= referenced_fields(raw_visible)
        expression = draft.kwargs.get("expression")
        if isinstance(expression, Expression):
            deps |= expression.references() | {g for g, _ in expression.columns()}
        for child in draft.children:
            deps |= self.deps(child)
        deps.discard(draft.key or "")
        return deps
