"""One transaction per use case: commit on success, roll back on any exception."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Run a use case in one transaction; nothing of it survives an exception."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
