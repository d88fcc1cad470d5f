"""One transaction per use case: commit on success, roll back on any exception.

On SQLite the use case runs in a BEGIN IMMEDIATE transaction: it takes the write lock before reading,
so two writers never read the same state and then collide on upgrade (SQLite cannot retry that).
PostgreSQL needs nothing extra: the services lock the rows they depend on (FOR UPDATE).

Within one process, SQLite writers also queue on a lock of their own before BEGIN IMMEDIATE: SQLite's
busy handler polls with sleeps of up to 100 ms, so eight threads contending for the write lock spent most
of their time asleep; a waiting thread now starts the moment the one before it commits. Other processes
are still kept out by SQLite itself (busy timeout).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session

IMMEDIATE = "casework_sqlite_immediate"
WRITER_WAIT_S = 30.0  # then SQLite's own busy timeout takes over, as without the lock
_writers: WeakKeyDictionary[Engine, threading.RLock] = WeakKeyDictionary()
_writers_lock = threading.Lock()


def _writer_lock(session: Session) -> threading.RLock | None:
    """The in-process queue of SQLite writers on this database (None on PostgreSQL)."""
    engine = cast(Engine, session.get_bind())
    if engine.dialect.name != "sqlite":
        return None
    with _writers_lock:
        lock = _writers.get(engine)
        if lock is None:
            lock = _writers[engine] = threading.RLock()
        return lock


def _real(session: Session) -> Session:
    # The web layer passes a scoped_session proxy; work on the session it stands for.
    return session.registry() if isinstance(session, scoped_session) else session


@contextmanager
def _kept(session: Session, keep_loaded: bool) -> Iterator[None]:
    """Commit without expiring what is loaded (the objects of a use case that read them before the lock)."""
    if not keep_loaded or not session.expire_on_commit:
        yield
        return
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = True


def _begin_for_write(session: Session, keep_loaded: bool = False) -> None:
    session = _real(session)
    if session.get_bind().dialect.name != "sqlite":
        return
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            return  # changes already pending: their flush takes the write lock
        # End the read-only snapshot opened by earlier queries; loaded objects reload on next access,
        # unless the use case read only what may be read before the lock (keep_loaded).
        if keep_loaded:
            with _kept(session, True):
                session.commit()
        else:
            session.rollback()
    try:
        session.connection(execution_options={IMMEDIATE: True})
    except BaseException:
        # A failed BEGIN IMMEDIATE (e.g. "database is locked" after the busy timeout) must not leave the
        # session half-way through opening its connection: reset it so the caller can retry or report.
        session.rollback()
        raise


@contextmanager
def transaction(session: Session, *, keep_loaded: bool = False) -> Iterator[Session]:
    """Run a use case in one transaction; nothing of it survives an exception.

    `keep_loaded`: what the use case loaded stays loaded (on SQLite across the start of the write
    transaction, and after the commit), for use cases that check everything they need under the lock
    themselves and answer from the objects they wrote (filing); nothing is re-read for the response.
    """
    lock = _writer_lock(_real(session))
    held = lock.acquire(timeout=WRITER_WAIT_S) if lock is not None else False
    try:
        _begin_for_write(session, keep_loaded)
        try:
            yield session
            with _kept(_real(session), keep_loaded):
                session.commit()
        except BaseException:
            session.rollback()
            raise
    finally:
        if held:
            lock.release()  # type: ignore[union-attr]


def forget_rolled_back(session: Session, previous: Any, *keys: str) -> None:
    """Drop the work queued in ``session.info[key]`` as (transaction, row) pairs inside a rolled-back one.

    ``previous`` is the transaction or savepoint that rolled back (SQLAlchemy's ``after_soft_rollback``);
    work queued in it or in a savepoint nested inside it goes with it, the rest stays.
    """
    def inside(transaction: Any) -> bool:
        while transaction is not None:
            if transaction is previous:
                return True
            transaction = transaction.parent
        return False

    for key in keys:
        rows = session.info.get(key)
        if rows:
            session.info[key] = [(t, row) for t, row in rows if not inside(t)]
