"""Reading fold states and writing the rows a fold produced; the state kinds of case-type versions.

Plain Core statements on the session's connection: the live path runs inside a commit (cases.insight.live),
where ORM objects would need another flush.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Table, and_, bindparam, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from cases.insight.derive import Rows, state_of
from cases.models import Definition, DefinitionVersion, Handoff, InsightCase, SlaOutcome, StateVisit

CASES = cast(Table, InsightCase.__table__)
VISITS = cast(Table, StateVisit.__table__)
SLA = cast(Table, SlaOutcome.__table__)
HANDOFFS = cast(Table, Handoff.__table__)
TABLES = (CASES, VISITS, SLA, HANDOFFS)
KEYS = {CASES: ("case_id",), VISITS: ("case_id", "n"), SLA: ("case_id", "deadline_id"), HANDOFFS: ("case_id", "n")}

# Per engine (one database): versions never change, so nothing is invalidated; a new engine starts empty.
_kinds: WeakKeyDictionary[Engine, dict[tuple[str, int], dict[str, str]]] = WeakKeyDictionary()
_kinds_lock = threading.Lock()


def state_kinds(session: Session) -> Any:
    """A `Kinds` for this session: {state: kind} of a case-type version, read once per process and database."""
    engine = cast(Engine, session.get_bind())

    def kinds(slug: str, number: int) -> Mapping[str, str]:
        with _kinds_lock:
            known = _kinds.setdefault(engine, {})
            hit = known.get((slug, number))
        if hit is not None:
            return hit
        document = session.connection().execute(
            select(DefinitionVersion.document).join(Definition, Definition.id == DefinitionVersion.definition_id)
            .where(Definition.kind == "case_type", Definition.slug == slug, DefinitionVersion.number == number)
        ).scalar()
        found = {str(s["key"]): str(s.get("kind", "working")) for s in json.loads(document).get("states", [])} \
            if document else {}
        with _kinds_lock:
            _kinds.setdefault(engine, {})[(slug, number)] = found
        return found

    return kinds


def load_states(connection: Connection, case_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The stored fold states of these cases (those without a row are missing)."""
    if not case_ids:
        return {}
    columns = [c for c in CASES.c]
    rows = connection.execute(select(*columns).where(CASES.c.case_id.in_(sorted(case_ids)))).mappings()
    return {row["case_id"]: state_of(dict(row)) for row in rows}


def _update(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    keys = KEYS[table]
    names = [c.name for c in table.c if c.name not in keys]
    stmt = (update(table).where(and_(*(table.c[k] == bindparam(f"k_{k}") for k in keys)))
            .values({n: bindparam(f"v_{n}") for n in names}))
    connection.execute(stmt, [{**{f"k_{k}": r[k] for k in keys}, **{f"v_{n}": r[n] for n in names}} for r in rows])


def _insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        connection.execute(insert(table), rows)


def write(connection: Connection, batch: Iterable[Rows]) -> None:
    """Write what folds produced: new rows inserted, touched ones updated, a few statements per table."""
    new: dict[Table, list[dict[str, Any]]] = {t: [] for t in TABLES}
    changed: dict[Table, list[dict[str, Any]]] = {t: [] for t in TABLES}
    for rows in batch:
        (new if rows.case_new else changed)[CASES].append(rows.case)
        for row, is_new in rows.visits:
            (new if is_new else changed)[VISITS].append(row)
        for row, is_new in rows.sla:
            (new if is_new else changed)[SLA].append(row)
        new[HANDOFFS].extend(rows.handoffs)
    inserts = [(t, new[t]) for t in TABLES if new[t]]
    if connection.dialect.name == "postgresql" and len(inserts) > 1 and sum(len(r) for _t, r in inserts) <= 50:
        _insert_together(connection, inserts)  # a filing: one statement instead of one per table
    else:
        for table, table_rows in inserts:
            _insert(connection, table, table_rows)
    for table in TABLES:
        _update(connection, table, changed[table])


def _insert_together(connection: Connection, inserts: list[tuple[Table, list[dict[str, Any]]]]) -> None:
    """PostgreSQL: a few rows for several tables in one statement (data-modifying WITH clauses)."""
    *first, (last, rows) = inserts
    ctes = [insert(table).values(table_rows).cte(f"new_{table.name}") for table, table_rows in first]
    connection.execute(insert(last).values(rows).add_cte(*ctes))


def clear(connection: Connection) -> None:
    """Empty the read model (before a rebuild)."""
    for table in reversed(TABLES):
        connection.execute(table.delete())


def dump(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the read model in key order (tests compare the live and the rebuilt model with it)."""
    out = {}
    for table in TABLES:
        order = [table.c[k] for k in KEYS[table]]
        out[table.name] = [tuple(r) for r in connection.execute(select(*table.c).order_by(*order))]
    return out
