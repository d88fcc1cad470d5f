"""A case's history as people read it, built from its audit events (the single source of what happened).

Requesters get the public timeline: no internal comments or files, no routing or assignment details.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from case_types.workflow import CaseTypeSpec
from cases.audit import event_json
from cases.models import AuditEvent
from forms.display import display_value
from forms.schema import FormSchema


@dataclass(frozen=True)
class Entry:
    seq: int
    at: datetime
    actor: str
    kind: str
    text: str
    detail: str = ""
    changes: tuple[tuple[str, str, str], ...] = ()  # (field label, before, after)


def _value(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "(empty)"
    if isinstance(value, list):
        return ", ".join(_value(v) if not isinstance(v, Mapping) else str(v.get("name", v)) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _state(spec: CaseTypeSpec, key: Any) -> str:
    try:
        return spec.state(str(key)).label
    except KeyError:
        return str(key)


def _due(payload: Mapping[str, Any]) -> str:
    due = payload.get("due_at")
    return f"due {str(due)[:16].replace('T', ' ')} UTC" if due else ""


Describer = Callable[[CaseTypeSpec, Mapping[str, Any]], tuple[str, str]]

# How a case.linked event names the other case (cases.links keeps the same words for its pages).
LINK_WORDS = {"related": "related to", "duplicate_of": "a duplicate of", "duplicated_by": "duplicated by",
              "caused_by": "caused by", "causes": "the cause of"}

_TEXTS: dict[str, Describer] = {
    "case.filed": lambda s, p: (f"Filed in {_state(s, p.get('state'))}", f"into the queue {p.get('queue')}"),
    "case.claimed": lambda s, p: ("Claimed the case", ""),
    "case.files_deleted": lambda s, p: ("Documents and files deleted under the retention schedule",
                                        f"{p.get('documents', 0)} document(s), {p.get('files', 0)} file(s)"),
    "case.released": lambda s, p: ("Released the case to the queue", ""),
    "case.assigned": lambda s, p: (f"Assigned to {p.get('after') or 'nobody'}", ""),
    "case.routed": lambda s, p: (f"Moved to the queue {p.get('after')}", f"from {p.get('before')}"),
    "case.prioritised": lambda s, p: (f"Priority set to {p.get('after')}", f"was {p.get('before')}"),
    "case.transitioned": lambda s, p: (
        f"{p.get('label')}: {_state(s, p.get('from'))} → {_state(s, p.get('to'))}", str(p.get("comment") or "")),
    "case.updated": lambda s, p: ("Changed the case data", ""),
    "case.commented": lambda s, p: ("Internal note" if p.get("internal") else "Comment", str(p.get("body", ""))),
    "case.file_attached": lambda s, p: (
        "Attached " + ", ".join(str(f.get("name")) for f in p.get("files", [])), ""),
    "case.info_requested": lambda s, p: ("Asked the requester for information", str(p.get("question", ""))),
    "case.info_provided": lambda s, p: ("Answered the request for information", str(p.get("answer", ""))),
    "case.reopened": lambda s, p: (f"Reopened: back to {_state(s, p.get('to'))}", str(p.get("reason") or "")),
    "case.rule_applied": lambda s, p: (f"Rule '{p.get('rule_name', p.get('rule'))}' applied",
                                       "; ".join(str(d) for d in p.get("summary", []))),
    "case.approval_decided": lambda s, p: (("Approved" if p.get("approved") else "Rejected") +
                                           f": {_state(s, p.get('from'))} → {_state(s, p.get('to'))}",
                                           str(p.get("comment") or "")),
    "case.migrated": lambda s, p: (f"Moved to version {p.get('to_version')} of the case type",
                                   f"from version {p.get('from_version')}; {p.get('from')} → {_state(s, p.get('to'))}"),
    "case.file_downloaded": lambda s, p: (f"Downloaded {p.get('name')}", ""),
    "case.rule_failed": lambda s, p: ("A rule failed; the case went to the fallback queue", str(p.get("error", ""))),
    "sla.started": lambda s, p: (f"{str(p.get('kind', '')).capitalize()} deadline set", _due(p)),
    "sla.paused": lambda s, p: (f"{str(p.get('kind', '')).capitalize()} deadline paused (waiting)", ""),
    "sla.resumed": lambda s, p: (f"{str(p.get('kind', '')).capitalize()} deadline resumed", _due(p)),
    "sla.met": lambda s, p: (f"{str(p.get('kind', '')).capitalize()} deadline met", ""),
    "sla.cancelled": lambda s, p: (f"{str(p.get('kind', '')).capitalize()} deadline cancelled", ""),
    "sla.warning": lambda s, p: (f"SLA warning: {p.get('kind')} due soon", str(p.get("due_at", ""))),
    "sla.breached": lambda s, p: (f"SLA breached: {p.get('kind')} target missed", str(p.get("due_at", ""))),
    "task.created": lambda s, p: (f"Task for {p.get('queue')}: {p.get('label')}",
                                  "required" if p.get("required", True) else "optional"),
    "task.completed": lambda s, p: (f"Task done: {p.get('label')}", ""),
    "task.reopened": lambda s, p: (f"Task reopened: {p.get('label')}", ""),
    "task.started": lambda s, p: (f"Started: {p.get('label')} (for {p.get('queue')})",
                                  " · ".join(x for x in (str(p.get("reason") or ""),
                                                         f"by the rule {p['rule']}" if p.get("rule") else "") if x)),
    "case.milestone": lambda s, p: (f"Milestone reached: {p.get('label')}", ""),
    "task.overdue": lambda s, p: (f"Task overdue: {p.get('label')}", f"was due {p.get('due_at')}"),
    "task.cancelled": lambda s, p: (f"Task cancelled: {p.get('label')}", str(p.get("reason") or "")),
    "case.child_started": lambda s, p: (f"Started {p.get('label')}: child case {p.get('child')}",
                                        " · ".join(x for x in (str(p.get("reason") or ""),
                                                               f"by the rule {p['rule']}" if p.get("rule") else "")
                                                   if x)),
    "case.linked": lambda s, p: (f"Linked: {LINK_WORDS.get(str(p.get('kind')), p.get('kind'))} {p.get('other')}", ""),
    "document.generated": lambda s, p: (f"Document generated: {p.get('name', p.get('kind'))}", ""),
    "document.downloaded": lambda s, p: (f"Document downloaded: {p.get('name', p.get('kind'))}", ""),
    "document.failed": lambda s, p: (f"Document failed: {p.get('name', p.get('kind'))}", str(p.get("reason", ""))),
    "document.retried": lambda s, p: (f"Document retry requested: {p.get('name', p.get('kind'))}", ""),
    "document.requeued": lambda s, p: (f"Document queued again: {p.get('name', p.get('kind'))}",
                                       str(p.get("reason", ""))),
}

# Payload values that name a queue by its short name; entries show the queue's name instead.
_QUEUE_VALUES = {"case.filed": ("queue",), "case.routed": ("before", "after"), "task.created": ("queue",),
                 "task.started": ("queue",)}

# What a requester sees; everything else is staff business.
PUBLIC_KINDS = {"case.filed", "case.transitioned", "case.info_requested", "case.info_provided", "case.reopened",
                "case.commented", "case.file_attached", "case.updated", "case.approval_decided", "case.milestone"}


STAFF = "support"  # how the API names staff to a requester (DESIGN.md: staff are never identified)


def public_actor(actor: str, requester_email: str) -> str:
    """The requester is themselves; everyone else (agents, admins, rules) is the support team."""
    return actor if requester_email and actor == requester_email else STAFF


def is_public(event: AuditEvent) -> bool:
    """Whether a requester may see this event at all (the same choice as their web timeline)."""
    return event.kind in PUBLIC_KINDS and not json.loads(event.payload).get("internal")


def public_events(events: Sequence[AuditEvent], requester_email: str) -> list[dict[str, Any]]:
    """The events as a requester reads them through the API: public kinds only, staff named "support"."""
    out = []
    for event in events:
        if is_public(event):
            body = event_json(event)
            body["actor"] = public_actor(event.actor, requester_email)
            out.append(body)
    return out


def _named_queues(kind: str, payload: dict[str, Any], queue_names: Mapping[str, str]) -> dict[str, Any]:
    named = dict(payload)
    for key in _QUEUE_VALUES.get(kind, ()):
        if isinstance(named.get(key), str):
            named[key] = queue_names.get(named[key], named[key])
    return named


def build(events: Sequence[AuditEvent], spec: CaseTypeSpec, *, public: bool = False, requester_email: str = "",
          schema: FormSchema | None = None, queue_names: Mapping[str, str] | None = None) -> list[Entry]:
    """Readable entries, oldest first. Unknown kinds are shown by name rather than hidden.

    On the public timeline staff appear as "Support team": requesters see what happened, not who inside,
    and not which queue. Queues are named as people know them (`queue_names`: short name to name).
    """
    labels = spec.form.labels

    def show(key: str, value: Any) -> str:
        if schema is not None and key in schema.by_key:
            return display_value(schema.by_key[key], value)
        return _value(value)

    out = []
    for event in events:
        payload = json.loads(event.payload)
        if public and not is_public(event):
            continue
        describe = _TEXTS.get(event.kind)
        text, detail = describe(spec, _named_queues(event.kind, payload, queue_names or {})) if describe else (
            event.kind, "")
        if public and event.kind == "case.filed":
            detail = ""
        changes: tuple[tuple[str, str, str], ...] = ()
        if event.kind in ("case.updated", "case.migrated"):
            changes = tuple((labels.get(c["field"], c["field"]), show(c["field"], c.get("before")),
                             show(c["field"], c.get("after"))) for c in payload.get("changes", []))
        actor = event.actor
        if public:
            actor = "You" if requester_email and actor == requester_email else "Support team"
        out.append(Entry(event.seq, event.at, actor, event.kind, text, detail, changes))
    return out
