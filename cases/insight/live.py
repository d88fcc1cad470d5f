"""The live path: the case events a transaction writes become read-model rows in that same transaction.

cases.audit hands every batch of events it writes to `collect`; the events of a savepoint that rolls back
are dropped with it (as cases.audit drops its own); just before the commit, `before_commit` folds what is
left, per case, from the state stored with the case's facts, and writes the rows. A transaction that rolls
back never reaches that point, so it leaves no row. A case filed in this transaction needs no read at all;
a case changed needs one (its stored fold state). A case without rows yet (filed before the read model
existed) is folded from its whole chain first.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.insight import store
from cases.insight.derive import Event, Fold, iso
from cases.models import AuditEvent
from cases.uow import forget_rolled_back

_COLLECTED = "casework_insight_events"


def collect(session: Session, rows: Iterable[tuple[Any, dict[str, Any]]]) -> None:
    """Remember the written case events (with the transaction or savepoint each was appended in)."""
    mine = [(t, row) for t, row in rows if str(row["stream"]).startswith("case:") and str(row["stream"])[5:].isdigit()]
    if mine:
        session.info.setdefault(_COLLECTED, []).extend(mine)


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous: Any) -> None:
    """Case events of a transaction or savepoint that rolled back leave no analytics row."""
    forget_rolled_back(session, previous, _COLLECTED)


def _event(row: dict[str, Any]) -> Event:
    return Event(case_id=int(str(row["stream"])[5:]), seq=row["seq"], at=iso(row["at"]), actor_id=row["actor_id"],
                 kind=row["kind"], payload=json.loads(row["payload"]))


def before_commit(session: Session) -> None:
    """Fold this transaction's case events into the read model (called by cases.audit before the commit)."""
    session.flush()  # every pending event is written (and collected) first; the commit would flush anyway
    rows = session.info.pop(_COLLECTED, None)
    if not rows:
        return
    by_case: dict[int, list[Event]] = defaultdict(list)
    for _t, row in rows:
        event = _event(row)
        by_case[event.case_id].append(event)
    connection = session.connection()
    kinds = store.state_kinds(session)
    changed = [case_id for case_id, events in by_case.items() if min(e.seq for e in events) > 1]
    states = store.load_states(connection, changed)
    results = []
    for case_id, events in by_case.items():
        events.sort(key=lambda e: e.seq)
        state = states.get(case_id)
        if state is None and events[0].seq > 1:
            fold = Fold(kinds)  # no rows yet: the whole chain, including what this transaction wrote
            for earlier in chain(session, case_id):
                fold.apply(earlier)
        else:
            fold = Fold(kinds, state)
            for event in events:
                fold.apply(event)
        result = fold.rows()
        if result is not None:
            results.append(result)
    store.write(connection, results)


@sa_event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_COLLECTED, None)


def chain(session: Session, case_id: int) -> list[Event]:
    """A case's events from the audit chain, in order."""
    stmt = (select(AuditEvent.seq, AuditEvent.at, AuditEvent.actor_id, AuditEvent.kind, AuditEvent.payload)
            .where(AuditEvent.stream == f"case:{case_id}").order_by(AuditEvent.seq))
    return [Event(case_id, seq, iso(at), actor_id, kind, json.loads(payload))
            for seq, at, actor_id, kind, payload in session.connection().execute(stmt)]
