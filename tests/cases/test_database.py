"""The engine set-up the domain relies on: on SQLite, reads need no BEGIN, writes are still atomic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cases.models import Setting
from cases.uow import transaction


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = session.get_bind()

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_reads_send_no_begin_and_a_write_begins_before_its_first_statement(session: Session) -> None:
    sqlite = session.get_bind().dialect.name == "sqlite"
    session.rollback()
    with statements(session) as seen:
        session.scalars(select(Setting)).all()
        session.scalars(select(Setting).where(Setting.key == "x")).all()
        session.rollback()
    assert [s.split()[0] for s in seen] == ["SELECT", "SELECT"]
    with statements(session) as seen:
        session.scalars(select(Setting)).all()  # a read first, then a write in the same session transaction
        session.add(Setting(key="a", value="1"))
        session.commit()
    assert [s.split()[0] for s in seen] == (["SELECT", "BEGIN", "INSERT"] if sqlite else ["SELECT", "INSERT"])
    with statements(session) as seen, transaction(session):
        session.add(Setting(key="b", value="2"))
    assert [s.split()[0] for s in seen][:2] == (["BEGIN", "INSERT"] if sqlite else ["INSERT"])[:2]
    if sqlite:
        assert seen[0] == "BEGIN IMMEDIATE"


def test_a_failed_write_leaves_nothing(session: Session) -> None:
    with transaction(session):
        session.add(Setting(key="kept", value="1"))
    session.scalars(select(Setting)).all()  # reads before the write, outside any BEGIN on SQLite
    session.add_all([Setting(key="new", value="1")])
    session.flush()
    session.add(Setting(key="kept", value="2"))  # the same key again: the second INSERT fails
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    assert sorted(session.scalars(select(Setting.key))) == ["kept"]
