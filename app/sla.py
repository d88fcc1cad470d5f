"""The web layer's side of SLAs: what runs when a deadline fires, and one sweep with the app's session.

The sweep itself (claiming due deadlines, firing each once, audit events) is cases.sla.sweep; this
module only supplies the app's session, the real clock and the hook.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.extensions import db
from cases import automation, sla
from cases.clock import utcnow
from cases.models import Case, Deadline


def on_fire(session: Session, case: Case, deadline: Deadline, event: str) -> None:
    """Runs in the sweep's transaction for each `sla.warning` / `sla.breached`, after its audit event:
    the case's `sla.*` rules (escalate, reassign, notify). Whatever they change commits with the event;
    if this raises, this firing alone is rolled back and retried on the next sweep (see cases.sla.sweep).
    """
    automation.sla_fired(session, case, deadline, event)


def sweep_now() -> int:
    """One sweep (needs an app context); returns how many warnings and breaches fired."""
    return sla.sweep(db.session, clock=utcnow, on_fire=on_fire)
