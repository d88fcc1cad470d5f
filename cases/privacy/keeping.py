"""Why a case must be kept now: a legal hold, or its case type's retention forbidding erasure before the end.

Erasure (cases.privacy.erasure), the retention sweep and the erasure page all ask here, so they give the
same answer and the same reason.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from case_types.retention import Retention
from cases.case_versions import spec_of
from cases.models import Case, Definition
from cases.privacy.holds import holds_of


def schedule_of(session: Session, definition: Definition) -> Retention | None:
    """The retention of a case type's latest published version (None: kept until erased).

    A schedule is a policy about records, so a new version's schedule applies to the cases closed before."""
    version = definition.latest_version
    return spec_of(session, version).retention if version is not None else None


def retention_refusal(session: Session, case: Case, *, now: datetime) -> str | None:
    """Why the case type's schedule forbids erasing `case` before the end of its period, or None."""
    retention = schedule_of(session, case.case_type)
    if retention is None or not retention.block_erasure:
        return None
    if case.closed_at is None:
        return f"Kept for {retention.keep} {retention.unit} after it closes: {retention.reason}"
    until = retention.due(case.closed_at)
    if until <= now:
        return None
    return f"Kept until {until.date().isoformat()}: {retention.reason}"


def why_kept(session: Session, case: Case, *, now: datetime) -> str | None:
    """The reason nothing of `case` may be erased now (a hold first), or None."""
    held = holds_of(session, case)
    if held:
        return f"Legal hold: {held[0].reason}"
    return retention_refusal(session, case, now=now)
