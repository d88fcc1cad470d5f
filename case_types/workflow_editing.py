"""Editing a case-type draft the way the designer does: pure functions from a document to a new document.

The designer never edits JSON: it adds, changes, moves and removes states and transitions, and sets the
fields, deadlines and settings around them. Each operation returns a new document (the input is never
changed) in the canonical shape `case_types.workflow.dump_case_type` gives a published version, so a draft
that was just published shows no spurious changes. Operations refuse only what would lose or tangle
data (an unknown item, a key that is taken or malformed); everything else is stored and reported by the
loader as a problem at the place it concerns (see `ProblemMap`).
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from case_types.calendar import dump_calendar, read_calendar
from case_types.errors import NotFound, ValidationFailed
from case_types.workflow import KEY_RE, MAX_STATES, MAX_TRANSITIONS, SLA_KINDS, STAFF_ROLES

Document = dict[str, Any]

KEY_MESSAGE = "Use lower-case letters, digits and '_', starting with a letter (at most 63 characters)."
DEFAULT_WHO: dict[str, Any] = {"roles": ["agent"], "queue_members": True, "assignee_only": False,
                               "requester": False}


@dataclass(frozen=True)
class StateInput:
    """What the state form gives; an empty key is made from the label."""

    label: str
    key: str = ""
    kind: str = "working"
    color: str = "grey"
    description: str = ""


@dataclass(frozen=True)
class TransitionInput:
    """What the transition form gives; `sources` holds state keys, or "*" for any state."""

    label: str
    target: str
    sources: Sequence[str] = ()
    key: str = ""
    roles: Sequence[str] = ("agent",)
    queue_members: bool = True
    assignee_only: bool = False
    requester: bool = False
    required_fields: Sequence[str] = ()
    comment_required: bool = False
    confirm: str = ""
    after_children: bool = False  # waits for the child cases and fires by itself when the last one closes


@dataclass(frozen=True)
class SlaInput:
    """One deadline of a state: hours, counted in business hours or around the clock."""

    hours: float
    business_hours: bool = True


@dataclass(frozen=True)
class GeneralInput:
    name: str
    prefix: str
    form: str
    form_version: int | None
    default_queue: str
    fallback_queue: str
    description: str = ""
    request_info_state: str | None = None
    reopen_to: str | None = None
    reopen_days: int | None = None
    # The retention setting as case_types.retention reads it; None: closed cases are kept until erased.
    retention: Mapping[str, Any] | None = None


# ---------------------------------------------------------------- shape


def normalized(document: Mapping[str, Any]) -> Document:
    """A deep copy with every state and transition in canonical shape (defaults filled in).

    Lenient: what cannot be read is kept as it is, so the loader still reports it.
    """
    doc: Document = copy.deepcopy(dict(document))
    if isinstance(doc.get("states"), list):
        doc["states"] = [_state_shape(s) if isinstance(s, Mapping) else s for s in doc["states"]]
    if isinstance(doc.get("transitions"), list):
        doc["transitions"] = [_transition_shape(t) if isinstance(t, Mapping) else t for t in doc["transitions"]]
    if isinstance(doc.get("sla"), list):
        doc["sla"] = [{**s, "business_hours": s.get("business_hours", True)}
                      if isinstance(s, Mapping) and "field" not in s else s for s in doc["sla"]]
    doc.setdefault("editable_fields", {})
    doc.setdefault("sla", [])
    doc.setdefault("description", "")
    return doc


def _state_shape(state: Mapping[str, Any]) -> dict[str, Any]:
    out = {"key": state.get("key"), "label": state.get("label", ""), "kind": state.get("kind", "working"),
           "color": state.get("color", "grey")}
    if state.get("description"):
        out["description"] = state["description"]
    out.update({k: v for k, v in state.items() if k not in out and k != "description"})
    return out


def _transition_shape(transition: Mapping[str, Any]) -> dict[str, Any]:
    sources = transition.get("from", [])
    who = transition.get("who", DEFAULT_WHO)
    if isinstance(who, Mapping):
        who = {**DEFAULT_WHO, **who}
    out = {"key": transition.get("key"), "label": transition.get("label", ""),
           "from": [sources] if isinstance(sources, str) else sources, "to": transition.get("to"),
           "who": copy.deepcopy(who), "required_fields": transition.get("required_fields", []),
           "comment_required": transition.get("comment_required", False), "confirm": transition.get("confirm", "")}
    out.update({k: v for k, v in transition.items() if k not in out})
    return out


def items(document: Mapping[str, Any], section: str) -> list[Any]:
    """The states or transitions list of a document (empty when missing or broken)."""
    value = document.get(section)
    return value if isinstance(value, list) else []


def item_ref(item: Any, index: int) -> str:
    """How the designer names a state or transition: its key, or `#<index>` when the key is unusable."""
    key = item.get("key") if isinstance(item, Mapping) else None
    return key if isinstance(key, str) and KEY_RE.match(key) else f"#{index}"


def state_keys(document: Mapping[str, Any]) -> list[str]:
    return [s["key"] for s in items(document, "states") if isinstance(s, Mapping) and isinstance(s.get("key"), str)]


def state_labels(document: Mapping[str, Any]) -> dict[str, str]:
    """State key -> label (the key when the label is empty)."""
    return {s["key"]: str(s.get("label") or s["key"]) for s in items(document, "states")
            if isinstance(s, Mapping) and isinstance(s.get("key"), str)}


def _find(document: Mapping[str, Any], section: str, key: str) -> int:
    for index, item in enumerate(items(document, section)):
        if isinstance(item, Mapping) and item.get("key") == key:
            return index
    noun = "state" if section == "states" else "transition"
    raise NotFound(f"This case type has no {noun} '{key}' (any more). Reload the page to see the current draft.")


def make_key(label: str, taken: Iterable[str], *, fallback: str) -> str:
    """A key made from a label: `Waiting for customer` -> `waiting_for_customer`, unique among `taken`."""
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", ascii_label.lower()).strip("_")[:56].strip("_")
    if not base:
        base = fallback
    elif not base[0].isalpha():
        base = f"{fallback}_{base}"[:56]
    used = set(taken)
    key, n = base, 2
    while key in used:
        key, n = f"{base}_{n}", n + 1
    return key


def suggest_slug(name: str) -> str:
    """A short name made from a case type's name: `Customer complaint` -> `customer-complaint`."""
    return make_key(name, (), fallback="case").replace("_", "-")[:63]


def checked_key(wanted: str, label: str, taken: Iterable[str], *, fallback: str, noun: str) -> str:
    wanted = (wanted or "").strip()
    if not wanted:
        return make_key(label, taken, fallback=fallback)
    if not KEY_RE.match(wanted):
        raise ValidationFailed(f"The {noun} could not be saved.", {"key": [KEY_MESSAGE]})
    if wanted in set(taken):
        raise ValidationFailed(f"The {noun} could not be saved.", {"key": [f"Another {noun} already uses this key."]})
    return wanted


def label_of(value: str, noun: str) -> str:
    label = (value or "").strip()
    if not label:
        raise ValidationFailed(f"The {noun} could not be saved.", {"label": ["Enter a label."]})
    return label


# ---------------------------------------------------------------- general settings


def set_general(document: Mapping[str, Any], data: GeneralInput) -> Document:
    """Name, description, reference prefix, form version, queues, request-for-information, reopening and
    retention."""
    doc = normalized(document)
    doc.update({
        "name": data.name.strip(), "description": data.description.strip(), "prefix": data.prefix.strip().upper(),
        "form": data.form, "form_version": data.form_version,
        "default_queue": data.default_queue, "fallback_queue": data.fallback_queue,
    })
    if data.request_info_state:
        doc["request_info_state"] = data.request_info_state
    else:
        doc.pop("request_info_state", None)
    if data.reopen_to:
        doc["reopen"] = {"to": data.reopen_to, "within_days": data.reopen_days if data.reopen_days else 30}
    else:
        doc.pop("reopen", None)
    if data.retention:
        doc["retention"] = dict(data.retention)
    else:
        doc.pop("retention", None)
    return doc


def set_calendar(document: Mapping[str, Any], raw: Mapping[str, Any]) -> Document:
    """The business calendar (time zone, working days and hours, holidays) its SLAs count in; refused with
    each problem at its part (`timezone`, `days`, `start`, `end`, `holidays`)."""
    calendar, problems = read_calendar(dict(raw))
    if problems or calendar is None:
        fields: dict[str, list[str]] = {}
        for path, message in problems:
            part = path.removeprefix("calendar.").split("[", 1)[0] or "timezone"
            fields.setdefault(part, []).append(message)
        raise ValidationFailed("The business hours could not be saved.", fields)
    doc = normalized(document)
    doc["calendar"] = dump_calendar(calendar)
    return doc


# ---------------------------------------------------------------- states


def _state_dict(data: StateInput, key: str) -> dict[str, Any]:
    out = {"key": key, "label": label_of(data.label, "state"), "kind": data.kind, "color": data.color}
    if data.description.strip():
        out["description"] = data.description.strip()
    return out


def add_state(document: Mapping[str, Any], data: StateInput) -> tuple[Document, str]:
    """Append a state; returns the new document and the state's key."""
    doc = normalized(document)
    if len(items(doc, "states")) >= MAX_STATES:
        raise ValidationFailed(f"A case type has at most {MAX_STATES} states: remove or merge one before adding "
                               "another.", {"label": [f"This case type already has {MAX_STATES} states."]})
    label_of(data.label, "state")
    key = checked_key(data.key, data.label, state_keys(doc), fallback="state", noun="state")
    doc["states"] = [*items(doc, "states"), _state_dict(data, key)]
    return doc, key


def update_state(document: Mapping[str, Any], key: str, data: StateInput) -> tuple[Document, str]:
    """Change a state; a new key is written everywhere the old one was used. Returns the document and key."""
    doc = normalized(document)
    index = _find(doc, "states", key)
    new_key = (data.key or "").strip() or key
    if new_key != key:
        new_key = checked_key(new_key, data.label, [k for k in state_keys(doc) if k != key],
                               fallback="state", noun="state")
    states = items(doc, "states")
    extras = {k: v for k, v in states[index].items() if k not in ("key", "label", "kind", "color", "description")}
    states[index] = {**_state_dict(data, new_key), **extras}
    if new_key != key:
        _rename_state(doc, key, new_key)
    return doc, new_key


def _rename_state(doc: Document, old: str, new: str) -> None:
    for transition in items(doc, "transitions"):
        if not isinstance(transition, dict):
            continue
        if isinstance(transition.get("from"), list):
            transition["from"] = [new if s == old else s for s in transition["from"]]
        if transition.get("to") == old:
            transition["to"] = new
    if doc.get("request_info_state") == old:
        doc["request_info_state"] = new
    reopen = doc.get("reopen")
    if isinstance(reopen, dict) and reopen.get("to") == old:
        reopen["to"] = new
    editable = doc.get("editable_fields")
    if isinstance(editable, dict) and old in editable:
        doc["editable_fields"] = {(new if k == old else k): v for k, v in editable.items()}
    for target in items(doc, "sla"):
        if isinstance(target, dict) and target.get("state") == old:
            target["state"] = new
    for item in items(doc, "discretionary"):  # the states a started task is offered in
        if isinstance(item, dict) and isinstance(item.get("states"), list):
            item["states"] = [new if s == old else s for s in item["states"]]


def removal_effects(document: Mapping[str, Any], key: str) -> list[str]:
    """What else goes when the state `key` is removed, in words (for the confirmation question)."""
    effects = []
    gone = [t for t in items(document, "transitions") if isinstance(t, Mapping) and _loses_transition(t, key)]
    if gone:
        names = ", ".join(f"“{t.get('label') or t.get('key')}”" for t in gone)
        effects.append(f"the transition{'s' if len(gone) > 1 else ''} {names}")
    if any(isinstance(t, Mapping) and t.get("state") == key for t in items(document, "sla")):
        effects.append("its deadlines")
    editable = document.get("editable_fields")
    if isinstance(editable, Mapping) and editable.get(key):
        effects.append("its editable fields")
    if document.get("request_info_state") == key:
        effects.append("the waiting state for requests for information")
    reopen = document.get("reopen")
    if isinstance(reopen, Mapping) and reopen.get("to") == key:
        effects.append("reopening of closed cases")
    return effects


def _loses_transition(transition: Mapping[str, Any], key: str) -> bool:
    sources = transition.get("from")
    sources = [sources] if isinstance(sources, str) else sources if isinstance(sources, list) else []
    return transition.get("to") == key or (bool(sources) and all(s == key for s in sources))


def remove_state(document: Mapping[str, Any], key: str) -> Document:
    """Remove a state and what only made sense with it: transitions into it (or only out of it), its
    deadlines and editable fields; settings that named it are cleared."""
    doc = normalized(document)
    index = _find(doc, "states", key)
    del doc["states"][index]
    kept = []
    for transition in items(doc, "transitions"):
        if isinstance(transition, dict):
            if _loses_transition(transition, key):
                continue
            if isinstance(transition.get("from"), list):
                transition["from"] = [s for s in transition["from"] if s != key]
        kept.append(transition)
    doc["transitions"] = kept
    doc["sla"] = [t for t in items(doc, "sla") if not (isinstance(t, Mapping) and t.get("state") == key)]
    editable = doc.get("editable_fields")
    if isinstance(editable, dict):
        editable.pop(key, None)
    if doc.get("request_info_state") == key:
        doc.pop("request_info_state")
    reopen = doc.get("reopen")
    if isinstance(reopen, Mapping) and reopen.get("to") == key:
        doc.pop("reopen")
    for item in items(doc, "discretionary"):
        if isinstance(item, dict) and isinstance(item.get("states"), list):
            item["states"] = [s for s in item["states"] if s != key]
    return doc


def move(document: Mapping[str, Any], section: str, key: str, offset: int) -> Document:
    """Move a state or transition up (-1) or down (+1) in its list; at either end nothing changes."""
    if section not in ("states", "transitions"):
        raise ValueError(section)
    doc = normalized(document)
    index = _find(doc, section, key)
    other = index + (1 if offset > 0 else -1)
    entries = items(doc, section)
    if 0 <= other < len(entries):
        entries[index], entries[other] = entries[other], entries[index]
    return doc


def set_editable_fields(document: Mapping[str, Any], state: str, fields: Sequence[str]) -> Document:
    """The form fields agents may change while a case is in `state` (none: the entry is dropped)."""
    doc = normalized(document)
    _find(doc, "states", state)
    editable = doc.get("editable_fields")
    editable = dict(editable) if isinstance(editable, Mapping) else {}
    if fields:
        editable[state] = list(dict.fromkeys(fields))
    else:
        editable.pop(state, None)
    doc["editable_fields"] = editable
    return doc


def set_deadlines(document: Mapping[str, Any], state: str, targets: Mapping[str, SlaInput | None]) -> Document:
    """Set or clear the response and resolution deadlines of a state (None clears one)."""
    doc = normalized(document)
    _find(doc, "states", state)
    sla = list(items(doc, "sla"))
    for kind in SLA_KINDS:
        if kind not in targets:
            continue
        target = targets[kind]
        at = next((i for i, t in enumerate(sla) if isinstance(t, Mapping) and t.get("state") == state
                   and t.get("kind", "resolution") == kind), None)
        if target is None:
            # A date-based target (written in the case-type file) is not shown in the hours form: keep it.
            if at is not None and "field" not in sla[at]:
                del sla[at]
            continue
        entry = {"state": state, "kind": kind, "hours": float(target.hours), "business_hours": target.business_hours}
        if at is None:
            sla.append(entry)
        else:
            sla[at] = entry
    doc["sla"] = sla
    return doc


def deadlines(document: Mapping[str, Any], state: str) -> dict[str, SlaInput]:
    """The deadlines a state has now, by kind (only readable ones)."""
    out = {}
    for target in items(document, "sla"):
        if not isinstance(target, Mapping) or target.get("state") != state:
            continue
        hours, kind = target.get("hours"), target.get("kind", "resolution")
        if kind in SLA_KINDS and isinstance(hours, int | float) and not isinstance(hours, bool):
            out[kind] = SlaInput(float(hours), bool(target.get("business_hours", True)))
    return out


# ---------------------------------------------------------------- transitions


def _transition_dict(data: TransitionInput, key: str) -> dict[str, Any]:
    sources = list(dict.fromkeys(s for s in data.sources if s))
    if "*" in sources:
        sources = ["*"]
    return {
        "key": key, "label": label_of(data.label, "transition"), "from": sources, "to": data.target,
        "who": {"roles": [r for r in STAFF_ROLES if r in data.roles], "queue_members": data.queue_members,
                "assignee_only": data.assignee_only, "requester": data.requester},
        "required_fields": list(dict.fromkeys(data.required_fields)), "comment_required": data.comment_required,
        "confirm": data.confirm.strip(), **({"after_children": True} if data.after_children else {}),
    }


def _transition_keys(doc: Mapping[str, Any]) -> list[str]:
    return [t["key"] for t in items(doc, "transitions") if isinstance(t, Mapping) and isinstance(t.get("key"), str)]


def add_transition(document: Mapping[str, Any], data: TransitionInput) -> tuple[Document, str]:
    """Append a transition; returns the new document and the transition's key."""
    doc = normalized(document)
    if len(items(doc, "transitions")) >= MAX_TRANSITIONS:
        raise ValidationFailed(f"A case type has at most {MAX_TRANSITIONS} transitions: remove one, or let one "
                               "transition start from several states.",
                               {"label": [f"This case type already has {MAX_TRANSITIONS} transitions."]})
    label_of(data.label, "transition")
    key = checked_key(data.key, data.label, _transition_keys(doc), fallback="move", noun="transition")
    doc["transitions"] = [*items(doc, "transitions"), _transition_dict(data, key)]
    return doc, key


def update_transition(document: Mapping[str, Any], key: str, data: TransitionInput) -> tuple[Document, str]:
    """Change a transition (its key too); returns the document and the key."""
    doc = normalized(document)
    index = _find(doc, "transitions", key)
    new_key = (data.key or "").strip() or key
    if new_key != key:
        new_key = checked_key(new_key, data.label, [k for k in _transition_keys(doc) if k != key],
                               fallback="move", noun="transition")
    changed = _transition_dict(data, new_key)
    # The form does not edit checklist tasks (they are written in the case-type file); keep them.
    if "tasks" in doc["transitions"][index]:
        changed["tasks"] = doc["transitions"][index]["tasks"]
    doc["transitions"][index] = changed
    return doc, new_key


def remove_transition(document: Mapping[str, Any], key: str) -> Document:
    doc = normalized(document)
    del doc["transitions"][_find(doc, "transitions", key)]
    return doc
