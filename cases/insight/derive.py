"""The one derivation of the read model from a case's audit events, shared by the live path and the rebuild.

A `Fold` holds what one case's events have said so far (its facts, the open state visit, the open SLA
deadlines) as plain JSON values, so the live path can store it beside the facts and continue from it in a
later transaction. Applying events marks the rows they touched; `rows()` hands those back for writing.
Nothing here reads the database: `Kinds` answers which kind a state of a case-type version has.

What counts as what (README, Insight):
- a visit starts with every change of state: filing, transition (or children closed), a request for
  information and its answer, an approval's decision, a rule's `move_to_state`, reopening, a migration;
- an escalation is a rule's `route_to_queue` on an `sla.*` trigger or together with `set_priority: urgent`;
- a handoff is a queue change after the filing's own routing (rules on `case.submitted` are the filing's);
- first response: the case first leaves the state it was filed in (as the SLA's response target counts).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Kinds = Callable[[str, int], Mapping[str, str]]
"""(case-type slug, version number) -> {state key: kind}."""

STATE_CHANGES = frozenset({
    "case.filed", "case.transitioned", "case.info_requested", "case.info_provided", "case.approval_decided",
    "case.reopened", "case.migrated", "case.rule_applied",
})


@dataclass(frozen=True, slots=True)
class Event:
    """An audit event of a case stream as the fold needs it."""

    case_id: int
    seq: int
    at: str  # ISO 8601 UTC with microseconds (cases.audit.format_time)
    actor_id: int | None
    kind: str
    payload: Mapping[str, Any]


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def parse(at: str | None) -> datetime | None:
    return datetime.fromisoformat(at) if at is not None else None


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


@dataclass
class Rows:
    """The rows one batch of events touched: (row, new) pairs; handoffs are always new."""

    case: dict[str, Any]
    case_new: bool
    visits: list[tuple[dict[str, Any], bool]]
    sla: list[tuple[dict[str, Any], bool]]
    handoffs: list[dict[str, Any]]


CASE_TIMES = ("filed_at", "closed_at", "first_response_at", "escalated_at", "rule_failed_at", "exception_at")
VISIT_TIMES = ("entered_at", "left_at")
SLA_TIMES = ("started_at", "due_at", "warned_at", "breached_at", "ended_at", "paused_at")
HANDOFF_TIMES = ("at",)


def _timed(row: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    out = dict(row)
    for name in names:
        out[name] = parse(out[name])
    return out


class Fold:
    """One case's read-model state, continued event by event."""

    def __init__(self, kinds: Kinds, state: Mapping[str, Any] | None = None) -> None:
        self.kinds = kinds
        self.state: dict[str, Any] = json.loads(json.dumps(state)) if state is not None else {}
        self.fresh = state is None
        self._visits: dict[int, dict[str, Any]] = {}   # n -> row touched in this batch
        self._new_visits: set[int] = set()
        self._sla: dict[int, dict[str, Any]] = {}  # decided deadlines: written once, never updated
        self._handoffs: list[dict[str, Any]] = []
        self.touched = False

    # ------------------------------------------------------------ the events

    def apply(self, event: Event) -> None:
        if not self.state:
            if event.kind != "case.filed":
                return  # a stream the read model cannot start from (never written by the services)
            self._filed(event)
            return
        if event.seq <= self.state["case"]["last_seq"]:
            return  # already folded in
        self.touched = True
        handler = _HANDLERS.get(event.kind)
        if handler is not None:
            handler(self, event)
        elif event.kind.startswith("sla."):
            self._sla_event(event)
        self.state["case"]["last_seq"] = event.seq

    def _filed(self, e: Event) -> None:
        p = e.payload
        requester = "internal" if p.get("parent") else ("account" if e.actor_id is not None else "anonymous")
        self.state = {
            "case": {"case_id": e.case_id, "case_type": p["case_type"], "version": int(p["case_type_version"]),
                     "ref": p["ref"], "filed_at": e.at, "closed_at": None, "cycle_seconds": None, "is_open": True,
                     "state": p["state"], "queue": p["queue"], "assignee": None,
                     "priority": p.get("priority", "normal"),
                     "requester": requester, "first_response_at": None, "first_response_seconds": None,
                     "reopens": 0, "escalations": 0, "escalated_at": None, "rule_failures": 0,
                     "rule_failed_at": None, "exception_at": None, "path": "", "last_seq": e.seq},
            "visit": None, "n": 0, "h": 0, "counts": {}, "sla": {},
        }
        self.touched = True
        self._enter(e, p["state"], "filing", p.get("rule"))

    def _enter(self, e: Event, state: str, by: str, via: str | None) -> None:
        """Close the open visit (if any) and open one of `state`."""
        case = self.state["case"]
        previous = self.state["visit"]
        if previous is not None:
            previous["left_at"] = e.at
            previous["seconds"] = _seconds(previous["entered_at"], e.at)
            self._touch_visit(previous)
            if case["first_response_at"] is None:
                case["first_response_at"] = e.at
                case["first_response_seconds"] = _seconds(case["filed_at"], e.at)
        kind = self.kinds(case["case_type"], case["version"]).get(state, "unknown")
        counts = self.state["counts"]
        counts[state] = counts.get(state, 0) + 1
        self.state["n"] += 1
        visit = {
            "case_id": case["case_id"], "n": self.state["n"], "case_type": case["case_type"],
            "version": case["version"], "state": state, "state_kind": kind, "entered_at": e.at, "left_at": None,
            "seconds": None, "queue": case["queue"], "assignee": case["assignee"], "entered_by": by,
            "via": (str(via)[:64] if via else None), "actor_id": e.actor_id, "visit_no": counts[state],
            "previous": previous["state"] if previous is not None else None,
            "edge_seconds": previous["seconds"] if previous is not None else None,
        }
        self._new_visits.add(visit["n"])
        self._touch_visit(visit)
        self.state["visit"] = visit
        case["state"] = state
        case["path"] = f"{case['path']}>{state}" if case["path"] else state
        if kind == "final":
            case["is_open"], case["closed_at"] = False, e.at
            case["cycle_seconds"] = _seconds(case["filed_at"], e.at)
        else:
            case["is_open"], case["closed_at"], case["cycle_seconds"] = True, None, None
        if by == "rule":
            self._exception(e.at)

    def _touch_visit(self, visit: dict[str, Any]) -> None:
        self._visits[visit["n"]] = visit

    def _exception(self, at: str) -> None:
        if self.state["case"]["exception_at"] is None:
            self.state["case"]["exception_at"] = at

    def _set_queue(self, e: Event, queue: str, by: str, rule: str | None, handoff: bool) -> None:
        case = self.state["case"]
        if queue == case["queue"]:
            return
        if handoff:
            self.state["h"] += 1
            self._handoffs.append({
                "case_id": case["case_id"], "n": self.state["h"], "case_type": case["case_type"], "at": e.at,
                "state": case["state"], "from_queue": case["queue"], "to_queue": queue, "by": by,
                "rule": (str(rule)[:64] if rule else None), "actor_id": e.actor_id})
        case["queue"] = queue
        self._on_visit(queue=queue)

    def _set_assignee(self, email: str | None) -> None:
        self.state["case"]["assignee"] = email
        self._on_visit(assignee=email)

    def _on_visit(self, **values: Any) -> None:
        visit = self.state["visit"]
        if visit is not None:
            visit.update(values)
            self._touch_visit(visit)

    def _transitioned(self, e: Event) -> None:
        by = "children" if e.payload.get("by") == "children_closed" else "transition"
        self._enter(e, e.payload["to"], by, e.payload.get("transition"))

    def _information(self, e: Event) -> None:
        self._enter(e, e.payload["to"], "information", None)

    def _approval(self, e: Event) -> None:
        if e.payload.get("to") != e.payload.get("from"):
            self._enter(e, e.payload["to"], "approval", e.payload.get("rule"))

    def _reopened(self, e: Event) -> None:
        self.state["case"]["reopens"] += 1
        self._enter(e, e.payload["to"], "reopen", None)

    def _migrated(self, e: Event) -> None:
        self.state["case"]["version"] = int(e.payload["to_version"])
        if e.payload.get("to") != self.state["case"]["state"]:
            self._enter(e, e.payload["to"], "migration", None)
        for change in e.payload.get("deadlines") or []:
            self._migrated_deadline(e, change)

    def _rule_applied(self, e: Event) -> None:
        p = e.payload
        trigger, rule = str(p.get("trigger") or ""), p.get("rule")
        decisions = list(p.get("decisions") or [])
        urgent = any(d.get("action") == "set_priority" and (d.get("params") or {}).get("priority") == "urgent"
                     for d in decisions)
        for decision in decisions:
            action, params = decision.get("action"), decision.get("params") or {}
            if action == "move_to_state" and params.get("state") != self.state["case"]["state"]:
                self._enter(e, str(params["state"]), "rule", rule)
            elif action == "route_to_queue":
                if trigger.startswith("sla.") or urgent:
                    case = self.state["case"]
                    case["escalations"] += 1
                    if case["escalated_at"] is None:
                        case["escalated_at"] = e.at
                    self._exception(e.at)
                self._set_queue(e, str(params["queue"]), "rule", rule, handoff=trigger != "case.submitted")
            elif action == "set_priority":
                self.state["case"]["priority"] = str(params["priority"])
        if "assignee" in p:
            self._set_assignee(p["assignee"])

    def _rule_failed(self, e: Event) -> None:
        case = self.state["case"]
        case["rule_failures"] += 1
        if case["rule_failed_at"] is None:
            case["rule_failed_at"] = e.at
        self._exception(e.at)
        queue = e.payload.get("fallback_queue")
        if queue:
            self._set_queue(e, str(queue), "fallback", None,
                            handoff=str(e.payload.get("trigger")) != "case.submitted")

    def _routed(self, e: Event) -> None:
        self._set_queue(e, str(e.payload["after"]), "hand", None, handoff=True)

    def _claimed(self, e: Event) -> None:
        self._set_assignee(e.payload.get("assignee"))

    def _assigned(self, e: Event) -> None:
        self._set_assignee(e.payload.get("after"))

    def _released(self, e: Event) -> None:
        self._set_assignee(None)

    def _prioritised(self, e: Event) -> None:
        self.state["case"]["priority"] = str(e.payload["after"])

    # ------------------------------------------------------------ SLA deadlines

    def _sla_event(self, e: Event) -> None:
        p = e.payload
        if "deadline" not in p:
            return
        key = str(p["deadline"])
        open_sla = self.state["sla"]
        if e.kind == "sla.started":
            case = self.state["case"]
            row = {"case_id": case["case_id"], "deadline_id": int(p["deadline"]), "case_type": case["case_type"],
                   "version": case["version"], "kind": p["kind"], "state": p["state"], "queue": case["queue"],
                   "started_at": e.at, "due_at": p.get("due_at"), "status": "running", "warned_at": None,
                   "breached_at": None, "ended_at": None, "paused_seconds": 0.0, "paused_at": None}
            open_sla[key] = row  # kept in the fold until decided: its row is written once, then
            return
        row = open_sla.get(key)
        if row is None:
            return
        if e.kind == "sla.paused":
            row["status"], row["paused_at"], row["due_at"] = "paused", e.at, None
        elif e.kind == "sla.resumed":
            self._unpause(row, e.at)
            row["status"], row["due_at"] = "running", p.get("due_at")
        elif e.kind == "sla.warning":
            row["warned_at"] = row["warned_at"] or e.at
        elif e.kind == "sla.breached":
            row["status"], row["breached_at"], row["queue"] = "breached", e.at, self.state["case"]["queue"]
            row["due_at"] = p.get("due_at", row["due_at"])
            del open_sla[key]
        elif e.kind in ("sla.met", "sla.cancelled"):
            self._unpause(row, e.at)
            row["status"], row["ended_at"], row["queue"] = e.kind[4:], e.at, self.state["case"]["queue"]
            del open_sla[key]
        if key not in open_sla:
            self._decided(row)

    def _unpause(self, row: dict[str, Any], at: str) -> None:
        if row["paused_at"] is not None:
            row["paused_seconds"] += _seconds(row["paused_at"], at)
            row["paused_at"] = None

    def _migrated_deadline(self, e: Event, change: Mapping[str, Any]) -> None:
        key = str(change.get("deadline"))
        row = self.state["sla"].get(key)
        if row is None:
            if change.get("due_before") is None and change.get("status") == "running":
                self._sla_event(Event(e.case_id, e.seq, e.at, e.actor_id, "sla.started", change))
            return
        row["state"], row["due_at"] = change.get("state", row["state"]), change.get("due_at")
        if change.get("status") == "cancelled":
            self._unpause(row, e.at)
            row["status"], row["ended_at"], row["queue"] = "cancelled", e.at, self.state["case"]["queue"]
            del self.state["sla"][key]
            self._decided(row)

    def _decided(self, row: dict[str, Any]) -> None:
        """A deadline met, breached or cancelled: its row is written now, once (open ones live in the fold)."""
        self._sla[row["deadline_id"]] = row

    # ------------------------------------------------------------ the result

    def rows(self) -> Rows | None:
        """The rows this batch touched (times as datetimes), None when nothing changed."""
        if not self.touched or not self.state:
            return None
        case = _timed(self.state["case"], CASE_TIMES)
        case["fold"] = json.dumps({k: v for k, v in self.state.items() if k != "case"}, sort_keys=True,
                                  separators=(",", ":"))
        return Rows(
            case=case, case_new=self.fresh,
            visits=[(_timed(v, VISIT_TIMES), n in self._new_visits) for n, v in sorted(self._visits.items())],
            sla=[(_timed(s, SLA_TIMES), True) for _d, s in sorted(self._sla.items())],
            handoffs=[_timed(h, HANDOFF_TIMES) for h in self._handoffs],
        )


def state_of(case_row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored case row (with its `fold`) back into a fold state."""
    state: dict[str, Any] = json.loads(case_row["fold"])
    case = {k: v for k, v in case_row.items() if k != "fold"}
    for name in CASE_TIMES:
        if case[name] is not None and not isinstance(case[name], str):
            case[name] = iso(case[name])
    state["case"] = case
    return state


_HANDLERS: dict[str, Callable[[Fold, Event], None]] = {
    "case.transitioned": Fold._transitioned,
    "case.info_requested": Fold._information,
    "case.info_provided": Fold._information,
    "case.approval_decided": Fold._approval,
    "case.reopened": Fold._reopened,
    "case.migrated": Fold._migrated,
    "case.rule_applied": Fold._rule_applied,
    "case.rule_failed": Fold._rule_failed,
    "case.routed": Fold._routed,
    "case.claimed": Fold._claimed,
    "case.assigned": Fold._assigned,
    "case.released": Fold._released,
    "case.prioritised": Fold._prioritised,
}
