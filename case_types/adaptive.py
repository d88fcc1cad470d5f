"""Adaptive case work in the case-type language: the catalogue of discretionary work an agent (or a rule)
starts when a case needs it, beyond the modelled path::

    "discretionary": [
      {"key": "safety_review", "label": "Product-safety review",
       "who": {"roles": ["agent"], "queues": ["safety"]}, "states": ["in_progress"],
       "reason_required": true, "queue": "safety", "sla_hours": 48, "blocks_closing": true},
      {"key": "refund", "label": "Refund invoice", "who": {"roles": ["agent"]}, "states": ["in_progress"],
       "case_type": "invoice", "fields": {"order_number": "order_number"}}]

An item is either a *task* worked by the members of `queue`, or a *child case* of another case type
(`case_type`), filed with the parent's answers copied by `fields` (the parent's key -> the child's key).
`who` says who may start it: staff with one of `roles` on the case (agents of its queue or its assignee;
admins always), or members of one of `queues`. `states` are the open states in which it can be started.
A blocking item (`blocks_closing`) keeps the case from closing while it is open.

A transition with `"after_children": true` waits for the child cases: it cannot be fired while one is
open, and fires by itself when the last one closes (see cases.links).

This module reads and checks the catalogue (every problem with its path, in an admin's words) and
dumps it back; it knows nothing of the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from case_types.keyed import keyed_items

MAX_DISCRETIONARY = 50
MAX_SLA_HOURS = 24 * 366
ITEM_KEYS = {"key", "label", "who", "states", "reason_required", "queue", "sla_hours", "blocks_closing",
             "case_type", "fields"}
STAFF_ROLES = ("agent", "admin")


@dataclass(frozen=True)
class StartWho:
    """Who may start an item: staff with one of `roles` on the case, or members of one of `queues`."""

    roles: tuple[str, ...] = ("agent",)
    queues: tuple[str, ...] = ()


@dataclass(frozen=True)
class Discretionary:
    """One entry of the catalogue: a task for a queue, or a child case of another case type."""

    key: str
    label: str
    states: tuple[str, ...]
    who: StartWho = StartWho()
    reason_required: bool = False
    queue: str = ""
    sla_hours: float | None = None
    blocks_closing: bool = False
    case_type: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def starts_case(self) -> bool:
        return self.case_type is not None

    def to_document(self) -> dict[str, Any]:
        """The canonical entry (reading it gives this item back)."""
        entry: dict[str, Any] = {"key": self.key, "label": self.label,
                                 "who": {"roles": list(self.who.roles), "queues": list(self.who.queues)},
                                 "states": list(self.states), "reason_required": self.reason_required,
                                 "blocks_closing": self.blocks_closing}
        if self.starts_case:
            entry.update(case_type=self.case_type, fields=dict(self.fields))
        else:
            entry["queue"] = self.queue
            if self.sla_hours is not None:
                entry["sla_hours"] = self.sla_hours
        return entry


@dataclass(frozen=True)
class StartActor:
    """The facts about the person starting something that the catalogue's `who` needs."""

    roles: frozenset[str]
    staff_on_case: bool  # an agent of the case's queue or its assignee, or an admin
    queues: frozenset[str]  # slugs of the queues they are a member of


def may_start(item: Discretionary, actor: StartActor) -> bool:
    """The `who` rule of an item: admins always; staff on the case by role; members of a named queue."""
    if "admin" in actor.roles:
        return True
    if "agent" not in actor.roles:
        return False
    if actor.staff_on_case and "agent" in item.who.roles:
        return True
    return bool(set(item.who.queues) & actor.queues)


@dataclass(frozen=True)
class Refusal:
    """Why something cannot be started: `kind` is who (not allowed), state (not now) or reason (missing)."""

    kind: str
    message: str


def start_refusal(item: Discretionary, *, state: str, state_label: str, actor: StartActor,
                  reason: str) -> Refusal | None:
    """Why `actor` cannot start `item` now (in words an agent understands), or None."""
    if not may_start(item, actor):
        return Refusal("who", f"You are not allowed to start '{item.label}' on this case.")
    if state not in item.states:
        return Refusal("state", f"'{item.label}' cannot be started while the case is {state_label}.")
    if item.reason_required and not reason.strip():
        return Refusal("reason", f"Give a reason to start '{item.label}'.")
    return None


@dataclass(frozen=True)
class ChildCaseType:
    """What the catalogue needs to know of another case type: its form's fields."""

    slug: str
    families: Mapping[str, str]


def read_discretionary(raw: Any, *, states: Mapping[str, bool], queues: frozenset[str],
                       form_fields: Mapping[str, str] | None,
                       case_types: Mapping[str, ChildCaseType] | None,
                       ) -> tuple[list[Discretionary], list[tuple[str, str | None, str]]]:
    """The catalogue and its problems as (path, item key, message).

    `states` maps each state key to whether it is final; `case_types` is None when other case types are
    not known (a published version is not checked against them again)."""
    reader = _Reader(states, queues, form_fields, case_types)
    return reader.items(raw), reader.problems


class _Reader:
    def __init__(self, states: Mapping[str, bool], queues: frozenset[str], form_fields: Mapping[str, str] | None,
                 case_types: Mapping[str, ChildCaseType] | None) -> None:
        self.states, self.queues, self.form_fields, self.case_types = states, queues, form_fields, case_types
        self.problems: list[tuple[str, str | None, str]] = []

    def problem(self, path: str, message: str, key: str | None = None) -> None:
        self.problems.append((path, key, message))

    def items(self, raw: Any) -> list[Discretionary]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problem("discretionary", "The tasks agents may start are a list.")
            return []
        if len(raw) > MAX_DISCRETIONARY:
            self.problem("discretionary", f"A case type offers at most {MAX_DISCRETIONARY} tasks to start; "
                                          f"this one has {len(raw):,}.")
            return []
        return [self.item(item, path, key) for path, item, key in keyed_items(
            raw, "discretionary", self.problem, not_object="Each task to start is an object with a key and a label.",
            duplicate=lambda key: f"Two tasks to start use the key '{key}'.")]

    def item(self, item: Mapping[str, Any], path: str, key: str) -> Discretionary:
        for extra in sorted(set(item) - ITEM_KEYS):
            self.problem(f"{path}{extra}", f"Unknown setting '{extra}'.", key)
        label = item.get("label")
        if not isinstance(label, str) or not label.strip() or len(label) > 200:
            self.problem(f"{path}label", "Name it in at most 200 characters, like 'Product-safety review'.", key)
            label = key
        case_type = item.get("case_type")
        if case_type is not None:
            fields = self.child(item, path, key)
            for name in ("queue", "sla_hours"):
                if name in item:
                    self.problem(f"{path}{name}", "A child case is worked by the queue of its own case type; "
                                                  f"leave '{name}' out.", key)
            queue = ""
        else:
            fields = {}
            named = item.get("queue")
            queue = named if isinstance(named, str) and named in self.queues else ""
            if not queue:
                self.problem(f"{path}queue", "Choose the queue whose members work this task.", key)
        return Discretionary(
            key=key, label=label.strip(), states=self.open_states(item.get("states"), path, key),
            who=self.who(item.get("who", {}), f"{path}who", key),
            reason_required=self.flag(item, "reason_required", path, key),
            queue=queue, sla_hours=self.sla_hours(item.get("sla_hours"), path, key),
            blocks_closing=self.flag(item, "blocks_closing", path, key),
            case_type=case_type if isinstance(case_type, str) else None, fields=fields)

    def flag(self, item: Mapping[str, Any], name: str, path: str, key: str) -> bool:
        value = item.get(name, False)
        if not isinstance(value, bool):
            self.problem(f"{path}{name}", "Choose yes or no.", key)
            return False
        return value

    def open_states(self, raw: Any, path: str, key: str) -> tuple[str, ...]:
        if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
            self.problem(f"{path}states", "Choose the states in which it can be started.", key)
            return ()
        for state in raw:
            if state not in self.states:
                self.problem(f"{path}states", f"'{state}' is not one of the states.", key)
            elif self.states[state]:
                self.problem(f"{path}states", f"'{state}' is a final state; nothing is started on a closed case.",
                             key)
        return tuple(dict.fromkeys(raw))

    def who(self, raw: Any, path: str, key: str) -> StartWho:
        if not isinstance(raw, Mapping):
            self.problem(path, "Say who may start it: roles, queues or both.", key)
            return StartWho()
        roles, queues = raw.get("roles", ["agent"]), raw.get("queues", [])
        for extra in sorted(set(raw) - {"roles", "queues"}):
            self.problem(f"{path}.{extra}", f"Unknown setting '{extra}'.", key)
        if not isinstance(roles, list) or any(r not in STAFF_ROLES for r in roles):
            self.problem(f"{path}.roles", "Staff roles are agent and admin (auditors and requesters start "
                                          "nothing).", key)
            roles = ["agent"]
        if not isinstance(queues, list) or any(not isinstance(q, str) or q not in self.queues for q in queues):
            self.problem(f"{path}.queues", "Choose queues whose members may start it.", key)
            queues = []
        if not roles and not queues:
            self.problem(path, "Nobody could start it; choose a role or a queue.", key)
        return StartWho(roles=tuple(roles), queues=tuple(queues))

    def sla_hours(self, raw: Any, path: str, key: str) -> float | None:
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw <= MAX_SLA_HOURS:
            self.problem(f"{path}sla_hours", f"Enter a number of hours above 0 and at most {MAX_SLA_HOURS}.", key)
            return None
        return float(raw)

    def child(self, item: Mapping[str, Any], path: str, key: str) -> dict[str, str]:
        """The child case type exists and the mapped fields exist on both sides."""
        slug, raw = item.get("case_type"), item.get("fields", {})
        child: ChildCaseType | None = None
        if not isinstance(slug, str) or not slug:
            self.problem(f"{path}case_type", "Choose the case type of the child case.", key)
        elif self.case_types is not None:
            child = self.case_types.get(slug)
            if child is None:
                self.problem(f"{path}case_type", f"There is no published case type '{slug}'.", key)
        if not isinstance(raw, Mapping) or not all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in raw.items()):
            self.problem(f"{path}fields", "Map fields of this case to fields of the child case "
                                          "(this case's key -> the child's key).", key)
            return {}
        for mine, theirs in raw.items():
            if self.form_fields is not None and mine not in self.form_fields:
                self.problem(f"{path}fields", f"This case's form has no field '{mine}'.", key)
            if child is not None and theirs not in child.families:
                self.problem(f"{path}fields", f"The form of '{child.slug}' has no field '{theirs}'.", key)
        return dict(raw)




def queues_of(document: Mapping[str, Any]) -> set[str]:
    """Queues a case-type document's catalogue names (a published version stays loadable with them)."""
    found: set[str] = set()
    items = document.get("discretionary")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping):
            if isinstance(item.get("queue"), str):
                found.add(item["queue"])
            who = item.get("who")
            if isinstance(who, Mapping) and isinstance(who.get("queues"), list):
                found.update(q for q in who["queues"] if isinstance(q, str))
    return found
