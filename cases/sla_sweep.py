"""The SLA sweep: claims the due deadlines and fires each warning and breach exactly once, with its rules.

Firing records `sla.warning` / `sla.breached` on the case's audit stream and runs the case's `sla.*` rules
(escalate, reassign, notify: cases.automation) in the same savepoint, so the mark, the event and what the
rules changed commit together or not at all. The deadlines themselves (when they start, pause, end) are
cases.sla. The web layer only schedules the sweep (app.jobs, every minute) with its session and clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cases import audit, automation, sla
from cases.clock import Clock
from cases.models import Case, Deadline
from cases.uow import transaction

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
"""After this many failed hooks a deadline fires without its hook, so the breach is never lost."""

OnFire = Callable[[Session, Case, Deadline, str], None]
"""What runs when a deadline fires: (session, case, deadline, "sla.warning" | "sla.breached")."""


def run_sla_rules(clock: Clock) -> OnFire:
    """The hook of the real sweep: the case's `sla.*` rules, on the sweep's clock."""
    def fire(session: Session, case: Case, deadline: Deadline, event: str) -> None:
        automation.sla_fired(session, case, deadline, event, clock=clock)
    return fire


def _due_now(deadline: Deadline, now: datetime) -> str | None:
    """What a claimed deadline fires now, if anything (checked again on the locked, fresh row)."""
    if deadline.status != sla.RUNNING:
        return None
    if deadline.due_at is not None and deadline.due_at <= now:
        # A sweep that finds a deadline already past due fires only the breach: a warning after the
        # fact helps nobody.
        return sla.BREACHED_EVENT
    if deadline.warn_at is not None and deadline.warn_at <= now and deadline.warned_at is None:
        return sla.WARNING_EVENT
    return None


def _mark(deadline: Deadline, event: str, now: datetime) -> None:
    deadline.warn_at = None
    deadline.attempts = 0
    if event == sla.BREACHED_EVENT:
        deadline.status, deadline.breached_at = sla.BREACHED, now
    else:
        deadline.warned_at = now


def _fire(session: Session, case: Case, deadline: Deadline, event: str, *, now: datetime, clock: Clock,
          on_fire: OnFire) -> bool:
    """Fire one deadline in a savepoint; False when the hook failed and it is to be retried later."""
    try:
        with session.begin_nested():
            _mark(deadline, event, now)
            audit.append(session, case.stream, event, sla.event_payload(deadline, event), actor=None, clock=clock)
            on_fire(session, case, deadline, event)
            session.flush()
        return True
    except Exception as exc:
        # The savepoint is gone: no mark, no event, none of the hook's changes. Count the failure.
        deadline.attempts += 1
        deadline.last_error = f"{exc.__class__.__name__}: {exc}"[:1000]
        log.warning("SLA hook failed for %s on case %s (attempt %s of %s): %s", event, case.id,
                    deadline.attempts, MAX_ATTEMPTS, deadline.last_error)
    if deadline.attempts < MAX_ATTEMPTS:
        return False
    error = deadline.last_error
    with session.begin_nested():
        _mark(deadline, event, now)
        audit.append(session, case.stream, event, {**sla.event_payload(deadline, event), "hook_error": error},
                     actor=None, clock=clock)
    return True


def _sweep_batch(session: Session, *, clock: Clock, on_fire: OnFire, limit: int,
                 retry_later: set[int]) -> tuple[int, int]:
    """One transaction: claim up to `limit` due deadlines, fire them; returns (claimed, fired)."""
    fired = 0
    with transaction(session):
        now = clock()
        # PostgreSQL: FOR UPDATE OF both rows SKIP LOCKED, so concurrent sweepers take disjoint deadlines
        # and disjoint cases (no two sweepers wait on one case's audit chain), and a case being changed
        # right now is left for the next sweep. SQLite renders no FOR UPDATE: the IMMEDIATE transaction
        # of cases.uow already lets one sweeper at a time in.
        stmt = (select(Deadline).join(Case, Case.id == Deadline.case_id)
                .where(Deadline.status == sla.RUNNING, or_(Deadline.due_at <= now, Deadline.warn_at <= now))
                .order_by(Deadline.case_id, Deadline.id).limit(limit)
                .with_for_update(skip_locked=True, of=[Deadline, Case])
                .execution_options(populate_existing=True))
        if retry_later:
            stmt = stmt.where(Deadline.id.not_in(retry_later))
        claimed = list(session.scalars(stmt))
        if not claimed:
            return 0, 0
        ids = {d.case_id for d in claimed}
        cases = {c.id: c for c in session.scalars(
            select(Case).where(Case.id.in_(ids)).execution_options(populate_existing=True))}
        for deadline in claimed:
            event = _due_now(deadline, now)
            if event is None:  # cannot happen given the query; never claim it again in this sweep either
                retry_later.add(deadline.id)
                continue
            if _fire(session, cases[deadline.case_id], deadline, event, now=now, clock=clock, on_fire=on_fire):
                fired += 1
            else:
                retry_later.add(deadline.id)
    return len(claimed), fired


def sweep(session: Session, *, clock: Clock, on_fire: OnFire | None = None, limit: int = 100) -> int:
    """Fire every due warning and breach exactly once, in batches of `limit`; returns how many fired.

    Each firing records `sla.warning` / `sla.breached` on the case's audit stream and calls `on_fire`
    (by default the case's `sla.*` rules; tests pass their own) in the same savepoint: the mark, the event
    and the hook's changes commit together or not at all.
    A hook that raises leaves that deadline for the next sweep (attempts and last_error are recorded)
    and the others go on; after MAX_ATTEMPTS failures the deadline fires without its hook, the event
    carrying `hook_error`, so a broken rule can neither lose a breach nor retry it forever.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    on_fire = on_fire or run_sla_rules(clock)
    total = 0
    retry_later: set[int] = set()
    while True:
        claimed, fired = _sweep_batch(session, clock=clock, on_fire=on_fire, limit=limit, retry_later=retry_later)
        total += fired
        if claimed < limit:
            return total
