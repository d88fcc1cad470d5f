"""Notices for admins: what went wrong lately that someone should look at (read side, no writes)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import AuditEvent, Case

RULE_FAILED = "case.rule_failed"


@dataclass(frozen=True)
class RuleFailure:
    """A case whose rules failed: it went to the fallback queue instead of where a rule would send it."""

    case_id: int
    ref: str
    case_type: str
    at: datetime
    trigger: str
    error: str
    fallback_queue: str


def recent_rule_failures(session: Session, *, limit: int = 10) -> list[RuleFailure]:
    """The latest rule failures, newest first (one query for the events, one for their cases)."""
    rows = session.execute(select(AuditEvent.stream, AuditEvent.at, AuditEvent.payload)
                           .where(AuditEvent.kind == RULE_FAILED)
                           .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)).all()
    ids = {int(stream.split(":", 1)[1]) for stream, _at, _p in rows if stream.startswith("case:")}
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(ids)))} if ids else {}
    out = []
    for stream, at, payload in rows:
        case = cases.get(int(stream.split(":", 1)[1])) if stream.startswith("case:") else None
        if case is None:
            continue
        data = json.loads(payload)
        data = data if isinstance(data, dict) else {}
        out.append(RuleFailure(case_id=case.id, ref=case.ref, case_type=case.case_type.title, at=at,
                               trigger=str(data.get("trigger") or ""), error=str(data.get("error") or ""),
                               fallback_queue=str(data.get("fallback_queue") or "")))
    return out
