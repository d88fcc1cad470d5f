"""Rebuilding the read model from the audit chain with the live path's own derivation (cases.insight.derive).

Streams the case events in chain order, folds each case from nothing and writes its rows in batches, all in
one transaction: readers see the old model or the new one, never half of either.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.insight import store
from cases.insight.derive import Event, Fold, Rows, iso
from cases.models import AuditEvent
from cases.uow import transaction

BATCH = 2000


@dataclass
class Rebuilt:
    cases: int = 0
    events: int = 0


def case_events(session: Session, *, batch: int = 5000) -> Iterator[Event]:
    """Every case event, grouped by case and in sequence (read `batch` rows at a time)."""
    stmt = (select(AuditEvent.stream, AuditEvent.seq, AuditEvent.at, AuditEvent.actor_id, AuditEvent.kind,
                   AuditEvent.payload)
            .where(AuditEvent.stream.like("case:%")).order_by(AuditEvent.stream, AuditEvent.seq)
            .execution_options(yield_per=batch))
    for stream, seq, at, actor_id, kind, payload in session.execute(stmt):
        yield Event(int(stream[5:]), seq, iso(at), actor_id, kind, json.loads(payload))


def rebuild(session: Session) -> Rebuilt:
    """Replace the read model with the one the audit chain gives; returns how many cases and events."""
    result = Rebuilt()
    with transaction(session):
        connection = session.connection()
        store.clear(connection)
        kinds = store.state_kinds(session)
        pending: list[Rows] = []
        fold: Fold | None = None
        current: int | None = None

        def finish(f: Fold | None) -> None:
            rows = f.rows() if f is not None else None
            if rows is not None:
                pending.append(rows)
                result.cases += 1
            if len(pending) >= BATCH:
                store.write(connection, pending)
                pending.clear()

        for event in case_events(session):
            result.events += 1
            if event.case_id != current:
                finish(fold)
                fold, current = Fold(kinds), event.case_id
            assert fold is not None
            fold.apply(event)
        finish(fold)
        store.write(connection, pending)
    return result
