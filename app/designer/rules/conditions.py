"""The rule designer's condition builder: the form designer's pickers plus the case's attributes and the
window (``days``) of windowed attributes; "always" is ``{"all": []}``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.designer.forms.builder import BuilderRow, BuilderState, CondField, operators_for, state_from_condition
from app.designer.forms.builder import condition_from_builder as forms_condition_from_builder
from rules.editing import ALWAYS
from rules.model import CASE_ATTRIBUTES, ValidationContext


@dataclass
class RuleRow(BuilderRow):
    """A builder row of a rule: a form field or case attribute, plus the window of windowed attributes."""

    days: str = ""


def _grouped(condition: Any) -> tuple[str, list[Any]] | None:
    if isinstance(condition, Mapping) and "field" in condition:
        return "all", [condition]
    if isinstance(condition, Mapping) and len(condition) == 1:
        mode = next(iter(condition))
        items = condition[mode]
        if mode in ("all", "any") and isinstance(items, list):
            return mode, items
    return None


def is_always(condition: Any) -> bool:
    """True for a missing condition and for ``{"all": []}``."""
    return condition is None or (isinstance(condition, Mapping) and dict(condition) == {"all": []})


def condition_fields(ctx: ValidationContext, trigger: str) -> list[CondField]:
    """What a rule of this trigger can test: the form's fields, then the case's attributes."""
    out: list[CondField] = []
    for key, family in ctx.fields.items():
        if not operators_for(family):
            continue
        labels = ctx.option_labels.get(key, {})
        options = tuple((value, labels.get(value, value)) for value in ctx.options.get(key, ()))
        out.append(CondField(key, ctx.field_labels.get(key, key), family, options))
    for attr in CASE_ATTRIBUTES.values():
        if attr.triggers is not None and trigger not in attr.triggers:
            continue
        values = attr.options(ctx)
        labels = attr.option_labels(ctx)
        options = tuple((value, labels.get(value, value)) for value in values or ())
        out.append(CondField(attr.key, attr.label, attr.family, options))
    return out


def is_attribute(key: str) -> bool:
    return key in CASE_ATTRIBUTES


def is_windowed(key: str) -> bool:
    attr = CASE_ATTRIBUTES.get(key)
    return attr is not None and attr.windowed


def rule_rows(state: BuilderState, days: Sequence[str]) -> list[RuleRow]:
    out = []
    for i, row in enumerate(state.rows):
        out.append(RuleRow(field=row.field, op=row.op, values=list(row.values), low=row.low, high=row.high,
                           days=days[i] if i < len(days) else ""))
    return out


def builder_state(condition: Any) -> BuilderState:
    """The builder's rows for a stored condition (switched off for "always")."""
    if is_always(condition):
        return BuilderState()
    state = state_from_condition(condition)
    grouped = _grouped(condition)
    days = []
    for item in grouped[1] if grouped else []:
        raw = item.get("days") if isinstance(item, Mapping) else None
        days.append("" if raw is None or isinstance(raw, bool) else str(raw))
    state.rows = list(rule_rows(state, days))
    return state


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")


def _plain_number(value: Any) -> Any:
    """``10,000`` -> 10000: numbers are often typed with thousands separators."""
    if isinstance(value, str) and _THOUSANDS.fullmatch(value.strip()):
        text = value.strip().replace(",", "")
        return int(text) if "." not in text else text
    return value


def condition_from_builder(state: BuilderState, fields: Sequence[CondField]) -> dict[str, Any]:
    """The stored condition the rows describe (``{"all": []}``, "always", when the builder is off)."""
    condition = forms_condition_from_builder(state, fields)
    if condition is None:
        return dict(ALWAYS)
    families = {f.key: f.family for f in fields}
    grouped = _grouped(condition)
    clauses = grouped[1] if grouped else []
    for row, clause in zip(state.rows, clauses, strict=False):
        if not isinstance(clause, dict):
            continue
        if families.get(str(clause.get("field"))) == "number" and "value" in clause:
            value = clause["value"]
            clause["value"] = [_plain_number(v) for v in value] if isinstance(value, list) else _plain_number(value)
        if is_windowed(str(clause.get("field"))):
            text = (row.days if isinstance(row, RuleRow) else "").strip()
            if text:
                clause["days"] = int(text) if text.isdigit() and len(text) < 7 else text
    return condition


@dataclass
class ConditionEditor:
    state: BuilderState
    fields: list[CondField]
    problems: list[str]
    rows: dict[int, list[str]]

    @property
    def form_fields(self) -> list[CondField]:
        return [f for f in self.fields if not is_attribute(f.key)]

    @property
    def case_fields(self) -> list[CondField]:
        return [f for f in self.fields if is_attribute(f.key)]

    def field(self, key: str) -> CondField | None:
        return next((f for f in self.fields if f.key == key), None)

    def operators(self, key: str, current: str) -> list[tuple[str, str]]:
        found = self.field(key)
        return operators_for(found.family) if found else [(current, current)]

    @staticmethod
    def windowed(key: str) -> bool:
        return is_windowed(key)
