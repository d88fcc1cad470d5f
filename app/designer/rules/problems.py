"""Where a problem of ``rules.validate.check_ruleset`` belongs in the rule designer, and the problems of each
rule sorted onto the parts of its editor."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field


@dataclass(frozen=True)
class Place:
    """Where a validator problem belongs in the rule designer.

    ``rule`` is the index in the document's rules list (None: the ruleset as a whole); ``part`` is what
    about the rule ("" for the rule as a whole, or name, trigger, condition, actions, ...); ``row`` the
    condition builder's row; ``action`` and ``setting`` the action and its input.
    """

    rule: int | None
    part: str = ""
    row: int | None = None
    action: int | None = None
    setting: str = ""


_RULE_PATH = re.compile(r"^rules\[(\d+)\](?:\.([A-Za-z_]+)(?:\[(\d+)\])?(?:\.(.*))?)?$")
_ROW_PATH = re.compile(r"^(?:all|any)\[(\d+)\]")
_CLAUSE_PARTS = frozenset({"field", "op", "value", "days"})


def place(path: str) -> Place:
    """The place of a problem path of ``check_ruleset`` (e.g. ``rules[2].actions[0].queue``)."""
    match = _RULE_PATH.match(path or "")
    if not match:
        return Place(None)
    index, part, sub, rest = int(match.group(1)), match.group(2) or "", match.group(3), match.group(4) or ""
    if part == "condition":
        row_match = _ROW_PATH.match(rest)
        if row_match:
            return Place(index, "condition", row=int(row_match.group(1)))
        head = rest.split(".", 1)[0].split("[", 1)[0]
        return Place(index, "condition", row=0 if head in _CLAUSE_PARTS else None)
    if part == "actions":
        if sub is None:
            return Place(index, "actions")
        setting = rest.split(".", 1)[0].split("[", 1)[0]
        return Place(index, "actions", action=int(sub), setting=setting)
    return Place(index, part)


@dataclass
class RuleProblems:
    """The problems of one rule, sorted onto the parts of its editor."""

    rule: list[str] = dc_field(default_factory=list)
    """About the rule as a whole (or parts the admin does not edit, like its id or priority)."""
    settings: dict[str, list[str]] = dc_field(default_factory=dict)
    condition: list[str] = dc_field(default_factory=list)
    rows: dict[int, list[str]] = dc_field(default_factory=dict)
    actions: list[str] = dc_field(default_factory=list)
    per_action: dict[int, dict[str, list[str]]] = dc_field(default_factory=dict)

    def count(self) -> int:
        return (len(self.rule) + sum(map(len, self.settings.values())) + len(self.condition)
                + sum(map(len, self.rows.values())) + len(self.actions)
                + sum(len(m) for a in self.per_action.values() for m in a.values()))

    def of_action(self, index: int, setting: str = "") -> list[str]:
        return self.per_action.get(index, {}).get(setting, [])

    def all_messages(self) -> list[str]:
        out = [*self.rule, *(m for ms in self.settings.values() for m in ms), *self.condition]
        out += [m for ms in self.rows.values() for m in ms] + self.actions
        out += [m for a in self.per_action.values() for ms in a.values() for m in ms]
        return out


EDITED_SETTINGS = frozenset({"name", "trigger", "enabled", "description"})


def sort_problems(problems: Sequence[tuple[str, str]]) -> tuple[list[str], dict[int, RuleProblems]]:
    """(problems of the ruleset as a whole, problems per rule index) from (path, message) pairs."""
    overall: list[str] = []
    by_rule: dict[int, RuleProblems] = {}
    for path, message in problems:
        where = place(path)
        if where.rule is None:
            overall.append(message)
            continue
        target = by_rule.setdefault(where.rule, RuleProblems())
        if where.part == "condition":
            if where.row is None:
                target.condition.append(message)
            else:
                target.rows.setdefault(where.row, []).append(message)
        elif where.part == "actions":
            if where.action is None:
                target.actions.append(message)
            else:
                setting = "" if where.setting == "type" else where.setting
                target.per_action.setdefault(where.action, {}).setdefault(setting, []).append(message)
        elif where.part in EDITED_SETTINGS:
            target.settings.setdefault(where.part, []).append(message)
        else:
            target.rule.append(message)
    return overall, by_rule
