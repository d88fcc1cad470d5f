"""Engine set-up that the domain relies on, whoever creates the engine (the app, tests, benchmarks)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from cases.uow import IMMEDIATE

BUSY_TIMEOUT_S = 30.0
_LAZY_BEGIN = "casework_sqlite_lazy_begin"  # a transaction begun, its BEGIN not yet sent


def configure_engine(engine: Engine, *, busy_timeout: float = BUSY_TIMEOUT_S) -> Engine:
    """SQLite: WAL, foreign keys, a bounded busy wait (seconds; past it SQLite answers "database is
    locked", which the web layer turns into 503 + Retry-After), and transactions begun by SQLAlchemy itself.

    Also installs the webhook fan-out on sessions (cases.webhooks), whatever the backend.
    """
    from cases import webhooks

    webhooks.install()
    if engine.dialect.name != "sqlite":
        return engine
    busy_ms = max(int(busy_timeout * 1000), 0)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would defer BEGIN and hide it from us; take it over.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # A transaction that only reads needs no BEGIN: each SELECT then reads the last committed state, as
    # PostgreSQL's READ COMMITTED does (writers take the write lock first anyway, cases.uow, and read again
    # under it). BEGIN goes out just before the first statement that is not a SELECT.
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(IMMEDIATE):
            conn.info[_LAZY_BEGIN] = False
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.info[_LAZY_BEGIN] = True

    @event.listens_for(engine, "before_cursor_execute")
    def _begin_before_writing(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if conn.info.get(_LAZY_BEGIN) and statement.lstrip()[:6].upper() != "SELECT":
            conn.info[_LAZY_BEGIN] = False
            conn.exec_driver_sql("BEGIN")

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _ended(conn: Any) -> None:
        conn.info[_LAZY_BEGIN] = False

    return engine


def is_busy(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" (the busy wait ran out): try again later, not a bug."""
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "database table is locked" in text or "database is busy" in text


def checkpoint(engine: Engine) -> tuple[int, int, int] | None:
    """SQLite: copy the WAL into the database and truncate it (it otherwise only ever grows under
    steady load); returns SQLite's (busy, wal pages, checkpointed pages), None on other backends."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    raw = engine.raw_connection()  # outside any transaction (SQLAlchemy would BEGIN first)
    try:
        cursor = raw.cursor()
        row = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
    finally:
        raw.close()
    return int(row[0]), int(row[1]), int(row[2])


def make_engine(url: str, **options: Any) -> Engine:
    """An engine configured as the app configures its own (for CLI tools, tests and benchmarks)."""
    return configure_engine(create_engine(url, **options))
