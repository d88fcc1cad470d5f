"""The case-type language: states, transitions and who may fire them, queues, SLA targets.

A case type is a JSON document (`schema_version` 1) designed in the browser and versioned like forms::

    {"schema_version": 1, "name": "Customer complaint", "description": "", "prefix": "CMP",
     "form": "complaint", "form_version": 3,
     "states": [{"key": "new", "label": "New", "kind": "initial", "color": "blue"}, ...],
     "transitions": [{"key": "start", "label": "Start work", "from": ["new"], "to": "in_progress",
                      "who": {"roles": ["agent"], "queue_members": true, "assignee_only": false,
                              "requester": false},
                      "required_fields": [], "comment_required": false, "confirm": ""}, ...],
     "default_queue": "general", "fallback_queue": "general",
     "request_info_state": "waiting_customer",
     "editable_fields": {"in_progress": ["description"]},
     "reopen": {"to": "in_progress", "within_days": 30},
     "sla": [{"state": "new", "kind": "response", "hours": 8, "business_hours": true}],
     "calendar": {"timezone": "Europe/Berlin", "days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00",
                  "holidays": ["2026-12-25"]}}

State kinds: `initial` (exactly one: where a filed case starts), `working`, `waiting` (the clock of the
SLA pauses; the requester is expected to act), `final` (the case is closed). An illegal move raises
`TransitionNotAllowed` with the reason, never passes silently.

The optional `retention` (see case_types.retention) says how long closed cases are kept and whether they are
then anonymised or lose their documents and files.

The optional `calendar` (see case_types.calendar) says what "business hours" mean for the SLA targets; without
it they count Monday to Friday, 09:00 to 17:00 UTC.

An SLA target is either a number of `hours` after the case enters the state, or a date of the case:
`{"state": "active", "kind": "response", "field": "end_date", "days_before": 60}` is due at the opening
time of the calendar (09:00 by default, in its time zone) 60 days before the case's `end_date` (a date
field of the form). A case whose date is empty gets no such deadline. Like every target, it pauses in
waiting states (the remaining time is kept, so the due time moves by the time spent waiting).

A transition may create checklist tasks that queues work in parallel::

    "tasks": [{"key": "it_setup", "label": "IT setup", "queue": "it", "required": true}]

The tasks belong to the state the transition leads to; the case cannot leave that state while one of
its required tasks is open (see cases.tasks). Members of a task's queue see the case and complete it.

Work beyond the modelled path (tasks agents or rules start, child cases, transitions that wait for the
child cases) is described in case_types.adaptive.

Reading and checking a document is case_types.loading (load_case_type); this module is the loaded model,
who may fire a transition, and the canonical dump, diff and starter document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from case_types.calendar import DEFAULT_CALENDAR, BusinessCalendar, dump_calendar
from case_types.errors import Conflict
from case_types.retention import Retention, dump_retention
from case_types.template_checks import diff_templates

if TYPE_CHECKING:
    from case_types.adaptive import ChildCaseType, Discretionary
    from case_types.stages import Milestone, Stage

SCHEMA_VERSION = 1
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
PREFIX_RE = re.compile(r"^[A-Z]{2,6}$")
STATE_KINDS = ("initial", "working", "waiting", "final")
COLORS = ("grey", "blue", "teal", "green", "amber", "orange", "red", "purple")
STAFF_ROLES = ("agent", "admin")
SLA_KINDS = ("response", "resolution")
PRIORITIES = ("low", "normal", "high", "urgent")
MAX_TASKS = 20
# Limits of a case type's size: far above any real process, low enough that every page drawing it (the
# designer with its diagram, the case page) stays fast. bench/definition_limits.py times them at the limit.
MAX_STATES = 100
MAX_TRANSITIONS = 300
MAX_SLA_TARGETS = 2 * MAX_STATES  # a response and a resolution target per state at most
MAX_DAYS_BEFORE = 3650
TOP_KEYS = {"schema_version", "name", "description", "prefix", "form", "form_version", "states", "transitions",
            "default_queue", "fallback_queue", "request_info_state", "editable_fields", "reopen", "sla",
            "documents", "rules", "calendar", "discretionary", "retention", "stages", "milestones"}


class TransitionNotAllowed(Conflict):
    """A transition that cannot be fired now; `reason` says why in words an agent understands."""

    code = "transition_not_allowed"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class State:
    key: str
    label: str
    kind: str
    color: str = "grey"
    description: str = ""

    @property
    def is_final(self) -> bool:
        return self.kind == "final"


@dataclass(frozen=True)
class Who:
    """Who may fire a transition: staff by role (optionally only the case's queue members or its
    assignee), and/or the case's requester."""

    roles: tuple[str, ...] = ("agent",)
    queue_members: bool = True
    assignee_only: bool = False
    requester: bool = False


@dataclass(frozen=True)
class TaskSpec:
    """A checklist task a transition creates: worked by the members of `queue`."""

    key: str
    label: str
    queue: str
    required: bool = True


@dataclass(frozen=True)
class Transition:
    key: str
    label: str
    sources: tuple[str, ...]
    target: str
    who: Who = Who()
    required_fields: tuple[str, ...] = ()
    comment_required: bool = False
    confirm: str = ""
    tasks: tuple[TaskSpec, ...] = ()
    # Waits for the case's child cases: refused while one is open, fired by itself when the last closes.
    after_children: bool = False

    def leaves(self, state: str) -> bool:
        return "*" in self.sources or state in self.sources


@dataclass(frozen=True)
class SlaTarget:
    state: str
    kind: str
    hours: float
    business_hours: bool = True
    # A date-based target: due `days_before` days before the case's date `field` (then `hours` is 0).
    field: str | None = None
    days_before: int = 0


@dataclass(frozen=True)
class Reopen:
    to: str
    within_days: int


@dataclass(frozen=True)
class FormInfo:
    """What the case-type language needs to know of a form version: its fields and their families."""

    slug: str
    version: int
    families: Mapping[str, str]
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """What exists outside the definition: queues, and the published versions of forms."""

    queues: frozenset[str]
    forms: Mapping[tuple[str, int], FormInfo]
    latest_form_versions: Mapping[str, int] = field(default_factory=dict)
    # The published case types a child case may be of; None: not checked (a version already published).
    case_types: Mapping[str, ChildCaseType] | None = None


@dataclass(frozen=True)
class CaseTypeSpec:
    name: str
    prefix: str
    form: FormInfo
    states: tuple[State, ...]
    transitions: tuple[Transition, ...]
    default_queue: str
    fallback_queue: str
    description: str = ""
    request_info_state: str | None = None
    editable_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    reopen: Reopen | None = None
    sla: tuple[SlaTarget, ...] = ()
    documents: tuple[Any, ...] = ()
    rules: Any = None
    # What "business hours" mean for this case type's targets; the default one when the document names none.
    calendar: BusinessCalendar = DEFAULT_CALENDAR
    # The work agents and rules may start beyond the modelled path (case_types.adaptive).
    discretionary: tuple[Discretionary, ...] = ()
    # How long closed cases are kept and what happens then (case_types.retention); None: until erased.
    retention: Retention | None = None
    # States grouped into the phases the case page and the portal show progress by (case_types.stages).
    stages: tuple[Stage, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    schema_version: int = SCHEMA_VERSION

    @property
    def initial(self) -> State:
        return next(s for s in self.states if s.kind == "initial")

    def state(self, key: str) -> State:
        for state in self.states:
            if state.key == key:
                return state
        raise KeyError(key)

    def transition(self, key: str) -> Transition:
        for transition in self.transitions:
            if transition.key == key:
                return transition
        raise TransitionNotAllowed(f"This case type has no transition '{key}'.")

    def transitions_from(self, state: str) -> list[Transition]:
        return [t for t in self.transitions if t.leaves(state) and t.target != state]

    def sla_for(self, state: str) -> list[SlaTarget]:
        return [t for t in self.sla if t.state == state]

    def discretionary_item(self, key: str) -> Discretionary | None:
        return next((item for item in self.discretionary if item.key == key), None)


@dataclass(frozen=True)
class Actor:
    """The facts about the person acting that the guards need (no database objects)."""

    user_id: int
    roles: frozenset[str]
    queue_member: bool  # member of the case's current queue
    is_assignee: bool
    is_requester: bool


def check_transition(spec: CaseTypeSpec, transition: Transition, *, state: str, actor: Actor,
                     filled: Iterable[str], comment: str) -> None:
    """Raise TransitionNotAllowed unless `actor` may fire `transition` now, with the inputs given."""
    if spec.state(state).is_final and not transition.leaves(state):
        raise TransitionNotAllowed("The case is closed.")
    if not transition.leaves(state):
        current = spec.state(state).label
        raise TransitionNotAllowed(f"'{transition.label}' is not possible while the case is {current}.")
    if not may_fire(transition, actor):
        raise TransitionNotAllowed(f"You are not allowed to '{transition.label}' on this case.")
    missing = [key for key in transition.required_fields if key not in set(filled)]
    if missing:
        labels = ", ".join(spec.form.labels.get(k, k) for k in missing)
        raise TransitionNotAllowed(f"Fill in {labels} before '{transition.label}'.")
    if transition.comment_required and not (comment or "").strip():
        raise TransitionNotAllowed(f"Add a comment to '{transition.label}'.")


def may_fire(transition: Transition, actor: Actor) -> bool:
    """The 'who' rule of a transition, applied to an actor."""
    who = transition.who
    if who.requester and actor.is_requester:
        return True
    if not actor.roles & set(who.roles):
        return False
    if who.assignee_only:
        return actor.is_assignee
    if who.queue_members and "admin" not in actor.roles:
        return actor.queue_member or actor.is_assignee
    return True


def dump_case_type(spec: CaseTypeSpec) -> dict[str, Any]:
    """The canonical document of a loaded case type (load(dump(x)) == x)."""
    document: dict[str, Any] = {
        "schema_version": spec.schema_version, "name": spec.name, "description": spec.description,
        "prefix": spec.prefix, "form": spec.form.slug, "form_version": spec.form.version,
        "states": [{"key": s.key, "label": s.label, "kind": s.kind, "color": s.color,
                    **({"description": s.description} if s.description else {})} for s in spec.states],
        "transitions": [{
            "key": t.key, "label": t.label, "from": list(t.sources), "to": t.target,
            "who": {"roles": list(t.who.roles), "queue_members": t.who.queue_members,
                    "assignee_only": t.who.assignee_only, "requester": t.who.requester},
            "required_fields": list(t.required_fields), "comment_required": t.comment_required,
            "confirm": t.confirm,
            **({"tasks": [{"key": k.key, "label": k.label, "queue": k.queue, "required": k.required}
                          for k in t.tasks]} if t.tasks else {}),
            **({"after_children": True} if t.after_children else {})} for t in spec.transitions],
        "default_queue": spec.default_queue, "fallback_queue": spec.fallback_queue,
        "editable_fields": {k: list(v) for k, v in spec.editable_fields.items()},
        "sla": [{"state": t.state, "kind": t.kind, "field": t.field, "days_before": t.days_before} if t.field
                else {"state": t.state, "kind": t.kind, "hours": t.hours, "business_hours": t.business_hours}
                for t in spec.sla],
    }
    if spec.request_info_state:
        document["request_info_state"] = spec.request_info_state
    if spec.reopen:
        document["reopen"] = {"to": spec.reopen.to, "within_days": spec.reopen.within_days}
    if spec.documents:
        document["documents"] = list(spec.documents)
    if spec.rules is not None:
        document["rules"] = spec.rules
    if spec.calendar != DEFAULT_CALENDAR:
        document["calendar"] = dump_calendar(spec.calendar)
    if spec.discretionary:
        document["discretionary"] = [item.to_document() for item in spec.discretionary]
    if spec.retention is not None:
        document["retention"] = dump_retention(spec.retention)
    if spec.stages:
        document["stages"] = [stage.to_document() for stage in spec.stages]
    if spec.milestones:
        document["milestones"] = [m.to_document() for m in spec.milestones]
    return document


def diff_case_types(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Readable changes between two case-type documents (by state, transition and setting)."""
    changes: list[str] = []
    for name in ("name", "description", "prefix", "form", "form_version", "default_queue", "fallback_queue",
                 "request_info_state", "reopen", "editable_fields", "sla", "calendar", "rules", "retention",
                 "stages", "milestones"):
        if before.get(name) != after.get(name):
            changes.append(f"{name.replace('_', ' ').capitalize()} changed from {before.get(name)!r} "
                           f"to {after.get(name)!r}.")
    for section, noun, plural in (("states", "State", "States"), ("transitions", "Transition", "Transitions"),
                                  ("discretionary", "Task to start", "Tasks to start")):
        old = {i.get("key"): i for i in before.get(section) or [] if isinstance(i, Mapping)}
        new = {i.get("key"): i for i in after.get(section) or [] if isinstance(i, Mapping)}
        for key in new.keys() - old.keys():
            changes.append(f"{noun} '{new[key].get('label', key)}' added.")
        for key in old.keys() - new.keys():
            changes.append(f"{noun} '{old[key].get('label', key)}' removed.")
        for key in sorted(old.keys() & new.keys(), key=str):
            for prop in sorted(set(old[key]) | set(new[key])):
                if old[key].get(prop) != new[key].get(prop):
                    changes.append(f"{noun} '{new[key].get('label', key)}': {prop.replace('_', ' ')} changed "
                                   f"from {old[key].get(prop)!r} to {new[key].get(prop)!r}.")
        if [k for k in old if k in new] != [k for k in new if k in old]:
            changes.append(f"{plural} reordered.")
    changes.extend(diff_templates(before.get("documents"), after.get("documents")))
    return changes


def starter_case_type(name: str, *, form: str = "", form_version: int | None = None,
                      queue: str = "") -> dict[str, Any]:
    """A small, sensible case type to start from: New, In progress, Waiting, Resolved, Rejected."""
    agent = {"roles": ["agent"], "queue_members": True, "assignee_only": False, "requester": False}
    return {
        "schema_version": SCHEMA_VERSION, "name": name, "description": "",
        "prefix": re.sub(r"[^A-Z]", "", name.upper())[:3].ljust(2, "X"),
        "form": form, "form_version": form_version,
        "states": [
            {"key": "new", "label": "New", "kind": "initial", "color": "blue"},
            {"key": "in_progress", "label": "In progress", "kind": "working", "color": "teal"},
            {"key": "waiting", "label": "Waiting for requester", "kind": "waiting", "color": "amber"},
            {"key": "resolved", "label": "Resolved", "kind": "final", "color": "green"},
            {"key": "rejected", "label": "Rejected", "kind": "final", "color": "red"},
        ],
        "transitions": [
            {"key": "start", "label": "Start work", "from": ["new"], "to": "in_progress", "who": agent},
            {"key": "resolve", "label": "Resolve", "from": ["in_progress"], "to": "resolved", "who": agent,
             "comment_required": True},
            {"key": "reject", "label": "Reject", "from": ["new", "in_progress"], "to": "rejected", "who": agent,
             "comment_required": True, "confirm": "Reject this case? The requester is told."},
        ],
        "default_queue": queue, "fallback_queue": queue, "request_info_state": "waiting",
        "editable_fields": {}, "reopen": {"to": "in_progress", "within_days": 30}, "sla": [],
    }


