"""Case references (`CMP-000123`): numbers that are never handed out twice and never make filings wait.

PostgreSQL: one sequence per prefix (`case_ref_cmp`), made on the first filing with that prefix and
started after the highest number already used (the prefix's counter row, or the references on file).
`nextval` takes no lock that lasts until commit, so concurrent filings of one case type no longer queue
behind each other; a filing that rolls back leaves a gap in the numbering (numbers are never reused).
The sequences are owned by `case_counters.last`, so `TRUNCATE ... RESTART IDENTITY` restarts them too.

SQLite: the write transaction is exclusive anyway; the counter row is bumped and read in one statement.
"""

from __future__ import annotations

import re
import threading
from typing import cast
from weakref import WeakKeyDictionary

from sqlalchemy import func, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cases.models import Case, CaseCounter

_PREFIX = re.compile(r"^[A-Z]{2,8}$")
_ready: WeakKeyDictionary[Engine, set[str]] = WeakKeyDictionary()
_lock = threading.Lock()


def format_ref(prefix: str, number: int) -> str:
    return f"{prefix}-{number:06d}"


def sequence_name(prefix: str) -> str:
    if not _PREFIX.match(prefix):
        raise ValueError(f"invalid case reference prefix {prefix!r}")
    return f"case_ref_{prefix.lower()}"


def _highest_used(conn: Connection, prefix: str) -> int:
    """The highest number handed out so far: the counter row (numbering before sequences) or a reference."""
    counter = conn.scalar(select(CaseCounter.last).where(CaseCounter.prefix == prefix)) or 0
    ref = conn.scalar(select(Case.ref).where(Case.ref.like(f"{prefix}-%"))
                      .order_by(func.length(Case.ref).desc(), Case.ref.desc()).limit(1))
    digits = ref.rsplit("-", 1)[1] if ref else ""
    return max(counter, int(digits) if digits.isdigit() else 0)


def _ensure_sequence(session: Session, prefix: str) -> str:
    """The prefix's sequence, made (outside the filing's transaction) the first time this process needs it."""
    name = sequence_name(prefix)
    engine = cast(Engine, session.get_bind())
    with _lock:
        if name in _ready.get(engine, set()):
            return name
    with engine.connect() as conn:
        exists = conn.scalar(text("SELECT to_regclass(:name)"), {"name": name})
        if exists is None:
            start = _highest_used(conn, prefix) + 1
            conn.rollback()
            try:
                with conn.begin():
                    conn.execute(text(f'CREATE SEQUENCE IF NOT EXISTS "{name}" START WITH {start} '
                                      f"OWNED BY case_counters.last"))
            except DBAPIError:
                # Another process made it at the same moment: theirs is as good as ours.
                conn.rollback()
                if conn.scalar(text("SELECT to_regclass(:name)"), {"name": name}) is None:
                    raise
        else:
            conn.rollback()
    with _lock:
        _ready.setdefault(engine, set()).add(name)
    return name


def next_ref(session: Session, prefix: str) -> str:
    """The next reference for `prefix` (one statement per filing)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        name = _ensure_sequence(session, prefix)
        number = session.scalar(text(f"SELECT nextval('\"{name}\"')"))
        return format_ref(prefix, int(number or 0))
    stmt = sqlite_insert(CaseCounter).values(prefix=prefix, last=1)
    stmt = stmt.on_conflict_do_update(index_elements=["prefix"], set_={"last": CaseCounter.last + 1})
    number = session.scalar(stmt.returning(CaseCounter.last))
    return format_ref(prefix, int(number or 0))
