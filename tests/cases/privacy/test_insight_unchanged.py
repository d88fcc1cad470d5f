"""The acceptance line "the KPI figures of the case type are unchanged" after an erasure: the analytics read
model the KPIs are computed from holds no personal value, an erasure leaves its rows and the case type's
KPIs as they were, and a rebuild from the (erased) chains gives the same figures again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from cases.insight import kpis, rebuild, store
from cases.insight.filters import Filters
from cases.models import User
from cases.privacy import erasure
from cases.storage import LocalFolder
from tests.support import insight
from tests.support.migration import START

EVERYTHING = Filters(start=START - timedelta(days=1), end=START + timedelta(days=10), case_type="complaint")
NOW = START + timedelta(days=10)

# Bookkeeping of the live fold (how far it has read each chain), not a figure: the erasure's own event moves it.
_BOOKKEEPING = {"last_seq", "fold"}


def _figures(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for table in store.TABLES:
        keep = [i for i, column in enumerate(table.c) if column.name not in _BOOKKEEPING]
        rows = store.dump(session.connection())[table.name]
        out[table.name] = [tuple(row[i] for i in keep) for row in rows]
    return out


def test_erasing_the_requester_leaves_the_read_model_figures_unchanged(session: Session, admin: User,
                                                                       requester: User, agent: User,
                                                                       general: Any, tmp_path: Path) -> None:
    case_type = insight.setup(session, admin, agent)
    cases = insight.run(session, admin, requester, agent, case_type)
    session.commit()
    before = _figures(session)
    dashboard = kpis.kpis(session, admin, EVERYTHING, now=NOW)
    assert dashboard["volume"]["filed"] == len(cases)
    assert sum(len(rows) for rows in before.values()) > len(cases)
    text = repr(store.dump(session.connection()))
    personal = (requester.email, requester.name, "Which parcel?", "The blue one.", "Still broken.")
    assert [v for v in personal if v in text] == []  # the read model holds no personal value

    record = erasure.erase_person(session, requester.email, admin, reason="Erasure request",
                                  files=LocalFolder(tmp_path / "files"), documents=LocalFolder(tmp_path / "documents"))
    assert len(record.cases) == len(cases) and record.account
    session.commit()
    assert _figures(session) == before and kpis.kpis(session, admin, EVERYTHING, now=NOW) == dashboard
    rebuild.rebuild(session)
    session.commit()
    assert _figures(session) == before and kpis.kpis(session, admin, EVERYTHING, now=NOW) == dashboard
