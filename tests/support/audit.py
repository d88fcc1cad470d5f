"""Inspecting and breaking the audit trail the way only a database owner could."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def tamper(session: Session, sql: str) -> None:
    """Change a row the way a database owner could: switch the trigger off, edit, switch it on."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change"))
        session.connection().exec_driver_sql(sql)
        session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change"))
    else:
        triggers = session.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'")).all()
        for name, _sql in triggers:
            session.execute(text(f"DROP TRIGGER {name}"))
        session.connection().exec_driver_sql(sql)
        for _name, ddl in triggers:
            session.execute(text(ddl))
    session.commit()
