"""Engine set-up that the domain relies on, whoever creates the engine (the app, tests, benchmarks)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from cases.uow import IMMEDIATE


def configure_engine(engine: Engine) -> Engine:
    """SQLite: WAL, foreign keys, a busy timeout, and transactions begun by SQLAlchemy itself.

    Also installs the webhook fan-out on sessions (cases.webhooks), whatever the backend.
    """
    from cases import webhooks

    webhooks.install()
    if engine.dialect.name != "sqlite":
        return engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would defer BEGIN and hide it from us; take it over.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def make_engine(url: str, **options: Any) -> Engine:
    """An engine configured as the app configures its own (for CLI tools, tests and benchmarks)."""
    return configure_engine(create_engine(url, **options))
