"""Words for admins about a case-type draft: who may fire a transition and from where, and where each
problem the loader reports shows in the designer (the state, transition or setting it is about)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from case_types.workflow import STAFF_ROLES
from case_types.workflow_editing import item_ref, items
from forms.errors import DefinitionProblem


def describe_who(who: Any) -> str:
    """Who may fire a transition, in plain words: `agents of the case's queue or the requester`."""
    if not isinstance(who, Mapping):
        return "nobody yet"
    roles = [r for r in STAFF_ROLES if r in (who.get("roles") or [])]
    parts = []
    if roles and who.get("assignee_only"):
        parts.append(f"the assignee ({' or '.join(roles)})")
    elif roles:
        words = []
        if "agent" in roles:
            words.append("agents of the case's queue" if who.get("queue_members", True) else "any agent")
        if "admin" in roles:
            words.append("admins")
        parts.append(" and ".join(words))
    if who.get("requester"):
        parts.append("the requester")
    return " or ".join(parts) if parts else "nobody"


def describe_sources(sources: Any, labels: Mapping[str, str]) -> str:
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, list) or not sources:
        return "no state"
    if "*" in sources:
        return "any state"
    return ", ".join(labels.get(s, str(s)) for s in sources)


SETTING_LABELS = {
    "name": "Name", "description": "Description", "prefix": "Reference prefix", "form": "Form and version",
    "default_queue": "Default queue", "fallback_queue": "Fallback queue",
    "request_info_state": "Waiting state for requests for information", "reopen_to": "Reopen into",
    "reopen_days": "Reopen within (days)", "schema_version": "File format", "documents": "Documents",
    "rules": "Rules", "retention_keep": "Keep closed cases for", "retention_unit": "Unit",
    "retention_then": "Then", "retention_block": "Erasure waits for the period", "retention_reason": "Why",
}
PROP_LABELS = {
    "label": "label", "key": "key", "kind": "kind", "color": "colour", "description": "description",
    "from": "from", "to": "to", "who": "who may do it", "required_fields": "required fields",
    "comment_required": "comment required", "confirm": "confirmation question",
    "editable_fields": "editable fields", "sla": "deadlines", "after_children": "waits for the child cases",
    "states": "states it can be started in", "reason_required": "reason required", "queue": "queue",
    "sla_hours": "due within", "blocks_closing": "blocks closing", "case_type": "case type of the child case",
    "fields": "fields copied",
}
_SETTING_OF_PATH = {"form_version": "form", "reopen": "reopen_to", "reopen.to": "reopen_to",
                    "reopen.within_days": "reopen_days", "retention": "retention_keep",
                    "retention.keep": "retention_keep", "retention.unit": "retention_unit",
                    "retention.then": "retention_then", "retention.block_erasure": "retention_block",
                    "retention.reason": "retention_reason"}
_INDEXED = re.compile(r"^(states|transitions|sla|discretionary)\[(\d+)\](?:\.(.*))?$")
_NOUNS = {"states": ("state", "State"), "transitions": ("transition", "Transition"),
          "discretionary": ("task", "Task to start")}


@dataclass(frozen=True)
class PlacedProblem:
    """A loader problem at the place the designer shows it.

    area: `setting` (ref = setting name), `state`, `transition` or `task` (an entry of the catalogue of
    discretionary work; ref = item_ref, prop = what about it, '' for the item as a whole), `states` /
    `transitions` / `tasks` (the section), `rules` (prop = the path within
    the ruleset; the rule designer shows them in place), or `case_type` (the whole file).
    """

    area: str
    ref: str
    prop: str
    message: str
    where: str


def place(document: Mapping[str, Any], problem: DefinitionProblem) -> PlacedProblem:
    """Where a loader problem belongs in the designer (by its path; the indexes refer to `document`)."""
    path, message = problem.path, problem.message
    if path == "rules" or path.startswith("rules."):
        return PlacedProblem("rules", "", path.removeprefix("rules").removeprefix("."), message,
                             _rule_where(document, path))
    setting = _SETTING_OF_PATH.get(path, path)
    if setting in SETTING_LABELS and setting not in ("schema_version", "documents", "rules"):
        return PlacedProblem("setting", setting, "", message, f"Settings, {SETTING_LABELS[setting]}")
    match = _INDEXED.match(path)
    if match:
        section, index, rest = match.group(1), int(match.group(2)), match.group(3) or ""
        if section == "sla":
            entries = items(document, "sla")
            state = entries[index].get("state") if index < len(entries) and isinstance(entries[index], Mapping) \
                else None
            return _state_problem(document, state, "sla", message) or PlacedProblem(
                "states", "", "sla", message, f"Deadline {index + 1}")
        entries = items(document, section)
        item = entries[index] if index < len(entries) else None
        prop = rest.split(".", 1)[0].split("[", 1)[0]
        area, noun = _NOUNS[section]
        name = (item.get("label") or item.get("key")) if isinstance(item, Mapping) else None
        where = f"{noun} “{name}”" if name else f"{noun} {index + 1}"
        if prop:
            where += f", {PROP_LABELS.get(prop, prop)}"
        return PlacedProblem(area, item_ref(item, index), prop, message, where)
    if path.startswith("editable_fields."):
        state = path.split(".", 1)[1]
        return _state_problem(document, state, "editable_fields", message) or PlacedProblem(
            "states", "", "editable_fields", message, "Editable fields")
    if path in ("states", "transitions"):
        return PlacedProblem(path, "", "", message, path.capitalize())
    if path == "discretionary":
        return PlacedProblem("tasks", "", "", message, "Tasks agents may start")
    if path in ("sla", "editable_fields"):
        return PlacedProblem("states", "", path, message, PROP_LABELS[path].capitalize())
    where = SETTING_LABELS.get(path) or (f"Setting “{path}”" if path else "The case type")
    return PlacedProblem("case_type", "", path, message, where)


_RULE_INDEX = re.compile(r"^rules\.rules\[(\d+)\]")


def _rule_where(document: Mapping[str, Any], path: str) -> str:
    """"Rule “Large invoices”" for a problem of one rule (the rule designer shows it in place)."""
    match = _RULE_INDEX.match(path)
    ruleset = document.get("rules")
    rules = ruleset.get("rules") if isinstance(ruleset, Mapping) else None
    if match and isinstance(rules, list) and int(match.group(1)) < len(rules):
        rule = rules[int(match.group(1))]
        name = rule.get("name") if isinstance(rule, Mapping) else None
        return f"Rule “{name}”" if isinstance(name, str) and name.strip() else f"Rule {int(match.group(1)) + 1}"
    return "Rules"


def _state_problem(document: Mapping[str, Any], state: Any, prop: str, message: str) -> PlacedProblem | None:
    for index, item in enumerate(items(document, "states")):
        if isinstance(item, Mapping) and isinstance(state, str) and item.get("key") == state:
            name = item.get("label") or state
            return PlacedProblem("state", item_ref(item, index), prop, message,
                                 f"State “{name}”, {PROP_LABELS[prop]}")
    return None


@dataclass
class ProblemMap:
    """Every problem of a draft, placed; the designer asks it what to show where."""

    placed: list[PlacedProblem] = field(default_factory=list)

    @classmethod
    def of(cls, document: Mapping[str, Any], problems: Iterable[DefinitionProblem]) -> ProblemMap:
        return cls([place(document, p) for p in problems])

    def __len__(self) -> int:
        return len(self.placed)

    def __bool__(self) -> bool:
        return bool(self.placed)

    def at(self, area: str, ref: str = "", prop: str = "") -> list[str]:
        """Messages at exactly this place."""
        return [p.message for p in self.placed if (p.area, p.ref, p.prop) == (area, ref, prop)]

    def of_item(self, area: str, ref: str) -> list[PlacedProblem]:
        """Every problem of one state or transition, whatever it is about."""
        return [p for p in self.placed if p.area == area and p.ref == ref]

    def in_area(self, area: str) -> list[PlacedProblem]:
        return [p for p in self.placed if p.area == area]


def describe_path(path: str) -> str:
    """A loader path in words, for problems reported without the document (import, command line)."""
    placed = place({}, DefinitionProblem(path, None, ""))
    return placed.where
