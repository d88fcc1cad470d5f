"""Milestones a case reaches (case_types.stages): each once, as a `case.milestone` event on the case's audit
stream in the transaction of the transition or task completion that reached it, so the timeline, the KPIs'
event log and the case page read them from the chain.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from case_types import workflow
from cases import audit
from cases.clock import Clock
from cases.models import AuditEvent, Case, User


def reached_in(events: Sequence[AuditEvent]) -> dict[str, datetime]:
    """Milestone key -> when the case reached it, from its chain."""
    found: dict[str, datetime] = {}
    for event in events:
        if event.kind == "case.milestone":
            found.setdefault(str(json.loads(event.payload).get("key")), event.at)
    return found


def reach(session: Session, case: Case, spec: workflow.CaseTypeSpec, *, actor: User | None, clock: Clock,
          transition: str | None = None, task: str | None = None) -> list[str]:
    """Record the milestones `transition` or `task` reaches that the case has not reached yet; their keys."""
    wanted = [m for m in spec.milestones if (transition and m.transition == transition) or (task and m.task == task)]
    if not wanted:
        return []
    done = reached_in(audit.events(session, case.stream))
    reached = []
    for milestone in wanted:
        if milestone.key in done:
            continue
        audit.append(session, case.stream, "case.milestone",
                     {"key": milestone.key, "label": milestone.label,
                      "by": {"transition": transition} if transition else {"task": task}}, actor=actor, clock=clock)
        reached.append(milestone.key)
    return reached
