"""Retention pages: each case type's schedule and exactly what the next sweep will do to its cases."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from app.extensions import db
from app.htmx import render
from app.privacy.blueprint import bp
from cases.clock import utcnow
from cases.privacy import retention


@bp.get("/retention")
def retention_preview() -> ResponseReturnValue:
    now = utcnow()
    schedules = retention.schedules(db.session)
    plans = {s.definition.id: retention.plan(db.session, now=now, case_type=s.definition) for s in schedules}
    return render("privacy/retention.html", schedules=schedules, plans=plans, now=now)
