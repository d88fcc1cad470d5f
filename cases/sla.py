"""SLA deadlines follow a case through its states; a periodic sweep fires their warnings and breaches.

What the targets of a case type mean (`"sla": [{"state", "kind", "hours", "business_hours"}]`):

- **response** on state S starts each time the case enters S and is met when the case leaves S, by
  any move: a transition, a request for information (asking is responding), or closing. On the initial
  state that is "first response": met at the first move out of it. A new entry (the requester answered,
  the case was reopened) owes a new response.
- **resolution** on state S starts when the case enters S (unless one for S is still open) and runs
  through the following states until the case closes, when it is met. On the initial state it measures
  filing to closing; reopening starts a new one.
- **waiting states** stop the clock: entering one pauses every running deadline of the other states and
  keeps its remaining (business) time; entering an open, non-waiting state resumes them (due = now +
  remaining, counted in the calendar). Targets set on a waiting state itself run while the case waits
  (e.g. "the requester answers within 72 h") and end, met, when it leaves that state.
- **closing** (entering a final state): running deadlines are met; paused ones are cancelled (closed
  while waiting for the requester: the clock was stopped, there is nothing to measure); breached ones
  stay breached.
- **overdue is never undone**: a deadline already past due when its case moves on is not met, paused
  or cancelled. It ends, but stays `running` so the sweep records its breach (within a minute) through
  the one path that fires breaches, with the hooks.
- **date-based targets** (`"field": "end_date", "days_before": 60`) are due at the calendar's opening time
  that many days before the case's date, counted as elapsed time from entering the state (so a warning
  still comes at 80 %); a case without the date gets no deadline, one whose date is already too close
  starts overdue and the next sweep records its breach.
- **warnings** fire when 80 % of the target has elapsed (WARN_AT), i.e. when a fifth of it remains, in
  the same measure as the target (business or elapsed time); pausing moves the warning with the due time.
- `case.due_at` is the earliest due time the case still owes: its running deadlines and its breached
  ones not yet ended (an overdue case stays overdue in work lists, even while waiting). It is None when
  nothing is owed (all met, paused in a waiting state, closed). The sweep never changes the case row, so
  it never bumps `lock_version` under an agent's feet (a hook that changes the case does, on purpose).

`state_changed` runs inside the caller's transaction. The sweep that fires warnings and breaches, with the
case's `sla.*` rules, is cases.sla_sweep.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from case_types.calendar import BusinessCalendar
from case_types.workflow import CaseTypeSpec, SlaTarget
from cases import audit
from cases.clock import Clock
from cases.models import Case, Deadline

log = logging.getLogger(__name__)

RUNNING, PAUSED, MET, BREACHED, CANCELLED = "running", "paused", "met", "breached", "cancelled"
WARNING_EVENT, BREACHED_EVENT = "sla.warning", "sla.breached"
WARN_AT = 0.8
"""Warn when this fraction of a target has elapsed."""


# ---------------------------------------------------------------- reading


def deadlines_of(session: Session, case: Case) -> list[Deadline]:
    """Every deadline of a case, oldest first (for case pages and reports)."""
    return list(session.scalars(select(Deadline).where(Deadline.case_id == case.id).order_by(Deadline.id)))


def _open_deadlines(session: Session, case: Case) -> list[Deadline]:
    # Locked: a sweeper firing one of these finishes first, and we then see what it did.
    stmt = (select(Deadline).where(Deadline.case_id == case.id, Deadline.ended_at.is_(None))
            .order_by(Deadline.id).with_for_update().execution_options(populate_existing=True))
    return list(session.scalars(stmt))


# ---------------------------------------------------------------- following the case


def _seconds(hours: float) -> int:
    return round(hours * 3600)


def _overdue(deadline: Deadline, now: datetime) -> bool:
    return deadline.status == RUNNING and deadline.due_at is not None and deadline.due_at <= now


# Deadline changes of one state change, turned into audit events once the rows are written.
_Changes = list[tuple[str, Deadline]]


def dated_due(case: Case, target: SlaTarget, calendar: BusinessCalendar) -> datetime | None:
    """When a date-based target is due for this case: the calendar's opening time, `days_before` days
    before the case's date (None when the case has no such date)."""
    raw = json.loads(case.data or "{}").get(target.field or "")
    try:
        day = date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        day = None
    if day is None:
        return None
    local = datetime.combine(day - timedelta(days=target.days_before), calendar.start, tzinfo=calendar.zone)
    return local.astimezone(UTC)


def _start(session: Session, case: Case, target: SlaTarget, calendar: BusinessCalendar,
           now: datetime) -> Deadline | None:
    if target.field:
        due = dated_due(case, target, calendar)
        if due is None:
            return None
        seconds = max(0.0, (due - now).total_seconds())
        deadline = Deadline(
            case_id=case.id, kind=target.kind, state=target.state, status=RUNNING, target_seconds=round(seconds),
            business_hours=False, due_at=due, warn_at=now + timedelta(seconds=seconds * WARN_AT), attempts=0,
            created_at=now)
        session.add(deadline)
        return deadline
    deadline = Deadline(
        case_id=case.id, kind=target.kind, state=target.state, status=RUNNING,
        target_seconds=_seconds(target.hours), business_hours=target.business_hours,
        due_at=calendar.add(now, target.hours, business=target.business_hours),
        warn_at=calendar.add(now, target.hours * WARN_AT, business=target.business_hours),
        attempts=0, created_at=now,
    )
    session.add(deadline)
    return deadline


def _end(deadline: Deadline, outcome: str, now: datetime, changes: _Changes) -> None:
    deadline.ended_at = now
    deadline.warn_at = None  # nothing to warn about any more; an overdue one keeps due_at for its breach
    if deadline.status == BREACHED or _overdue(deadline, now):
        return
    deadline.status = outcome
    changes.append((f"sla.{outcome}", deadline))


def _pause(deadline: Deadline, calendar: BusinessCalendar, now: datetime, changes: _Changes) -> None:
    assert deadline.due_at is not None
    left = calendar.seconds_between(now, deadline.due_at, business=deadline.business_hours)
    deadline.remaining_seconds = round(left)
    deadline.status, deadline.paused_at = PAUSED, now
    deadline.due_at = deadline.warn_at = None
    changes.append(("sla.paused", deadline))


def _resume(deadline: Deadline, calendar: BusinessCalendar, now: datetime, changes: _Changes) -> None:
    left = deadline.remaining_seconds or 0
    deadline.due_at = calendar.add(now, left / 3600, business=deadline.business_hours)
    if deadline.warned_at is None:
        lead = deadline.target_seconds * (1 - WARN_AT)
        deadline.warn_at = calendar.add(now, max(0.0, left - lead) / 3600, business=deadline.business_hours)
    deadline.status, deadline.remaining_seconds, deadline.paused_at = RUNNING, None, None
    changes.append(("sla.resumed", deadline))


def _earliest_due(deadlines: Iterable[Deadline]) -> datetime | None:
    owed = [d.due_at for d in deadlines if d.ended_at is None and d.status in (RUNNING, BREACHED)
            and d.due_at is not None]
    return min(owed, default=None)


def event_payload(deadline: Deadline, kind: str) -> dict[str, Any]:
    payload: dict[str, Any] = {"deadline": deadline.id, "kind": deadline.kind, "state": deadline.state}
    if kind in ("sla.started", "sla.resumed", WARNING_EVENT, BREACHED_EVENT):
        payload["due_at"] = deadline.due_at
    if kind == "sla.paused":
        payload["remaining_seconds"] = deadline.remaining_seconds
    return payload


def state_changed(session: Session, case: Case, spec: CaseTypeSpec, *, previous_state: str | None,
                  clock: Clock) -> None:
    """Follow the case into the state it has just entered (`case.state`; `previous_state` None on filing).

    Runs inside the caller's transaction, after the case row was written (it needs `case.id`): starts,
    ends, pauses and resumes deadlines as the module docstring says, sets `case.due_at` (only when it
    changes) and records an audit event per deadline change. Entering the state the case was already in
    changes nothing.
    """
    now = clock()
    calendar = spec.calendar
    # A case being filed (no previous state) has no deadlines yet: nothing to read or lock.
    deadlines = _open_deadlines(session, case) if previous_state is not None else []
    changes: _Changes = []
    entered = spec.state(case.state)
    if previous_state != case.state:
        if entered.is_final:
            for deadline in deadlines:
                _end(deadline, CANCELLED if deadline.status == PAUSED else MET, now, changes)
        else:
            if previous_state is not None:
                left_waiting = _kind_of(spec, previous_state) == "waiting"
                for deadline in deadlines:
                    if deadline.state == previous_state and (deadline.kind == "response" or left_waiting):
                        _end(deadline, MET, now, changes)
            still_open = [d for d in deadlines if d.ended_at is None]
            if entered.kind == "waiting":
                for deadline in still_open:
                    if deadline.status == RUNNING and deadline.state != case.state and not _overdue(deadline, now):
                        _pause(deadline, calendar, now, changes)
            else:
                for deadline in still_open:
                    if deadline.status == PAUSED:
                        _resume(deadline, calendar, now, changes)
            for target in spec.sla_for(case.state):
                if target.kind == "resolution" and any(
                        d.kind == "resolution" and d.state == case.state for d in still_open):
                    continue
                started = _start(session, case, target, calendar, now)
                if started is not None:
                    deadlines.append(started)
                    changes.append(("sla.started", started))
    if changes:
        session.flush()  # new deadlines get their ids for the events
    # After the flush: the case's new due time goes out with its next write, not in an UPDATE of its own.
    due = _earliest_due(deadlines)
    if due != case.due_at:
        case.due_at = due
    for kind, deadline in changes:
        audit.append(session, case.stream, kind, event_payload(deadline, kind), actor=None, clock=clock)


def _kind_of(spec: CaseTypeSpec, state: str) -> str | None:
    try:
        return spec.state(state).kind
    except KeyError:
        return None


# ---------------------------------------------------------------- the sweep


# ---------------------------------------------------------------- moving to another case-type version


def retarget(session: Session, case: Case, spec: CaseTypeSpec, *, renamed: Mapping[str, str],
             clock: Clock) -> list[dict[str, Any]]:
    """Put the case's open deadlines on the targets of `spec`, the version it was just moved to (a migration),
    inside the caller's transaction; returns what changed, for the migration's audit event.

    A deadline follows its state through `renamed` and keeps the time already used: it owes the new target
    less what it had used of the old one. One the new version has no target for is cancelled; a target the
    new version sets on the case's state that it does not owe yet starts now. Overdue and breached ones are
    left to the sweep (overdue is never undone)."""
    now, calendar = clock(), spec.calendar
    deadlines = _open_deadlines(session, case)
    changes: list[dict[str, Any]] = []
    for deadline in deadlines:
        before = (deadline.state, deadline.status, deadline.due_at, deadline.target_seconds)
        deadline.state = renamed.get(deadline.state, deadline.state)
        target = next((t for t in spec.sla_for(deadline.state) if t.kind == deadline.kind), None)
        if target is None:
            _end(deadline, CANCELLED, now, [])
        elif deadline.status != BREACHED and not _overdue(deadline, now):
            _rescale(case, deadline, target, calendar, now)
        if before != (deadline.state, deadline.status, deadline.due_at, deadline.target_seconds):
            changes.append(_change(deadline, before[2]))
    owed = {(d.state, d.kind) for d in deadlines if d.ended_at is None}
    started = [_start(session, case, t, calendar, now) for t in spec.sla_for(case.state)
               if (t.state, t.kind) not in owed]
    if any(started):
        session.flush()  # their ids, for the event
    for deadline in (d for d in started if d is not None):
        deadlines.append(deadline)
        changes.append(_change(deadline, None))
    due = _earliest_due(deadlines)
    if due != case.due_at:
        case.due_at = due
    return changes


def _change(deadline: Deadline, due_before: datetime | None) -> dict[str, Any]:
    return {"deadline": deadline.id, "kind": deadline.kind, "state": deadline.state, "status": deadline.status,
            "due_before": due_before, "due_at": deadline.due_at}


def _rescale(case: Case, deadline: Deadline, target: SlaTarget, calendar: BusinessCalendar, now: datetime) -> None:
    """Give a running or paused deadline the new target's length, less the time it has already used."""
    paused = deadline.status == PAUSED
    if target.field:  # due on the case's date, which the migration does not change
        due = dated_due(case, target, calendar)
        if due is not None and not paused:
            deadline.due_at = due
        return
    seconds, business = _seconds(target.hours), target.business_hours
    if seconds == deadline.target_seconds and business == deadline.business_hours:
        return
    if paused:
        left_before = float(deadline.remaining_seconds or 0)
    else:
        assert deadline.due_at is not None
        left_before = calendar.seconds_between(now, deadline.due_at, business=deadline.business_hours)
    left = max(0.0, seconds - max(0.0, deadline.target_seconds - left_before))
    deadline.target_seconds, deadline.business_hours = seconds, business
    if paused:
        deadline.remaining_seconds = round(left)
        return
    deadline.due_at = calendar.add(now, left / 3600, business=business)
    if deadline.warned_at is None:
        lead = seconds * (1 - WARN_AT)
        deadline.warn_at = calendar.add(now, max(0.0, left - lead) / 3600, business=business)
