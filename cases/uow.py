"""One transaction per use case: commit on success, roll back on any exception.

On SQLite the use case runs in a BEGIN IMMEDIATE transaction: it takes the write lock before reading,
so two writers never read the same state and then collide on upgrade (SQLite cannot retry that).
PostgreSQL needs nothing extra: the services lock the rows they depend on (FOR UPDATE).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, scoped_session

IMMEDIATE = "casework_sqlite_immediate"


def _begin_for_write(session: Session) -> None:
    # The web layer passes a scoped_session proxy; work on the session it stands for.
    session = session.registry() if isinstance(session, scoped_session) else session
    if session.get_bind().dialect.name != "sqlite":
        return
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            return  # changes already pending: their flush takes the write lock
        # End the read-only snapshot opened by earlier queries; loaded objects reload on next access.
        session.rollback()
    try:
        session.connection(execution_options={IMMEDIATE: True})
    except BaseException:
        # A failed BEGIN IMMEDIATE (e.g. "database is locked" after the busy timeout) must not leave the
        # session half-way through opening its connection: reset it so the caller can retry or report.
        session.rollback()
        raise


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Run a use case in one transaction; nothing of it survives an exception."""
    _begin_for_write(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
