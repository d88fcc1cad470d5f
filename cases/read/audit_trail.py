"""The auditors' read side of the audit chains: a case's history event by event, exports of one case or a
filtered set (CSV with spreadsheet formulas neutralised, JSON), the verification report with the broken
events named by case reference, and the change log of every definition.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases import audit, checkpoint_verify, definitions
from cases.case_versions import case_schema, case_spec
from cases.inputs import parse_id
from cases.models import AuditEvent, AuditStream, Case, Definition, DefinitionVersion
from cases.privacy.values import readable
from cases.read import timeline

CASE_STREAM_PREFIX = "case:"


# ---------------------------------------------------------------- one case's history


@dataclass(frozen=True)
class HistoryRow:
    """One event as an auditor reads it: the event itself (as the API shows it), what it means, the data
    changes (field label, before, after) and, for rule events, each decision."""

    event: dict[str, Any]
    text: str
    detail: str
    changes: tuple[tuple[str, str, str], ...] = ()
    decisions: tuple[str, ...] = ()


def _decisions(payload: Mapping[str, Any]) -> tuple[str, ...]:
    out = []
    for decision in payload.get("decisions", []):
        if isinstance(decision, Mapping):
            params = ", ".join(f"{k}={v}" for k, v in sorted(dict(decision.get("params") or {}).items()))
            out.append(f"{decision.get('action')}({params}) by rule {decision.get('rule_id')}")
    if payload.get("ruleset"):
        out.append(f"ruleset {payload.get('ruleset')} v{payload.get('ruleset_version')}, trigger "
                   f"{payload.get('trigger')}")
    return tuple(out)


def case_history(session: Session, case: Case) -> list[HistoryRow]:
    """Every event of the case's chain, oldest first, with its meaning (staff view: nothing left out)."""
    events = readable(session, audit.events(session, case.stream))
    entries = {e.seq: e for e in timeline.build(events, case_spec(session, case), schema=case_schema(case))}
    rows = []
    for event in events:
        entry = entries.get(event.seq)
        payload = json.loads(event.payload)
        rows.append(HistoryRow(
            event=audit.event_json(event), text=entry.text if entry else event.kind,
            detail=entry.detail if entry else "", changes=entry.changes if entry else (),
            decisions=_decisions(payload) if event.kind == "case.rule_applied" else ()))
    return rows


# ---------------------------------------------------------------- exports


def stream_refs(session: Session, streams: Iterable[str]) -> dict[str, str]:
    """Case references of the case streams among `streams` (`case:12` -> `CMP-000012`)."""
    ids = [i for i in (parse_id(s[len(CASE_STREAM_PREFIX):]) for s in streams if s.startswith(CASE_STREAM_PREFIX))
           if i is not None]
    refs: dict[str, str] = {}
    for chunk in range(0, len(ids), 500):
        for case_id, ref in session.execute(select(Case.id, Case.ref).where(Case.id.in_(ids[chunk:chunk + 500]))):
            refs[f"{CASE_STREAM_PREFIX}{case_id}"] = ref
    return refs


def _events_of(session: Session, streams: Sequence[str] | None) -> Iterator[AuditEvent]:
    """The events of `streams` (all streams when None), stream by stream, each chain in order, as people
    read them (personal values revealed or marked erased; bundles are the form that hashes)."""
    if streams is None:
        stmt = select(AuditEvent).order_by(AuditEvent.stream, AuditEvent.seq)
        batch: list[AuditEvent] = []
        for event in session.scalars(stmt.execution_options(yield_per=1000)):
            batch.append(event)
            if len(batch) == 1000:
                yield from readable(session, batch)
                batch = []
        yield from readable(session, batch)
        return
    for stream in streams:
        yield from readable(session, audit.events(session, stream))


def export_csv(session: Session, streams: Sequence[str] | None = None) -> Iterator[str]:
    """The events of `streams` (or the whole log) as CSV, chunk by chunk: a `case_ref` column, then the
    columns of `audit.CSV_COLUMNS`; every cell that a spreadsheet would run as a formula is neutralised."""
    refs = stream_refs(session, streams if streams is not None else list(audit.iter_streams(session)))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["case_ref", *audit.CSV_COLUMNS])
    for count, event in enumerate(_events_of(session, streams), start=1):
        writer.writerow([audit.csv_safe(refs.get(event.stream, "")), *audit.csv_row(event)])
        if count % 500 == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def export_json(session: Session, streams: Sequence[str] | None = None, *, exported_at: str = "") -> Iterator[str]:
    """The events of `streams` (or the whole log) as one JSON document, chunk by chunk:
    `{"exported_at", "cases": {stream: ref}, "items": [event as the events API shows it, ...]}`."""
    refs = stream_refs(session, streams if streams is not None else list(audit.iter_streams(session)))
    yield "{" + f'"exported_at": {json.dumps(exported_at)}, "cases": {json.dumps(refs, sort_keys=True)}, "items": ['
    for count, event in enumerate(_events_of(session, streams)):
        yield ("," if count else "") + "\n" + json.dumps(audit.event_json(event), ensure_ascii=False, sort_keys=True)
    yield "\n]}\n"


def case_streams(case_ids: Iterable[int]) -> list[str]:
    return [f"{CASE_STREAM_PREFIX}{case_id}" for case_id in case_ids]


# ---------------------------------------------------------------- verification


@dataclass(frozen=True)
class BrokenEvent:
    """A broken chain, named for people: the case reference (or the stream), the event and why."""

    stream: str
    label: str
    seq: int
    reason: str
    case_id: int | None = None


@dataclass
class VerificationReport:
    ok: bool
    checked: int
    streams: int
    broken: list[BrokenEvent] = field(default_factory=list)

    @property
    def first_broken(self) -> BrokenEvent | None:
        return self.broken[0] if self.broken else None


def verification_report(session: Session, stream: str | None = None, *,
                        public_key: str | None = None) -> VerificationReport:
    """Recompute the chains (all, or one stream) and name each broken one's first bad event; with the
    instance's `public_key`, also check every signed checkpoint against the chains (cases.checkpoint_verify)."""
    result = audit.verify(session, stream)
    problems = list(result.broken)
    if public_key is not None:
        named = {b.stream for b in problems}
        problems += [b for b in checkpoint_verify.verify(session, public_key, stream=stream).broken or []
                     if b.stream not in named]
    refs = stream_refs(session, [b.stream for b in problems])
    broken = []
    for item in problems:
        case_id = int(item.stream[len(CASE_STREAM_PREFIX):]) if item.stream in refs else None
        broken.append(BrokenEvent(stream=item.stream, label=refs.get(item.stream, item.stream), seq=item.seq,
                                  reason=item.reason, case_id=case_id))
    return VerificationReport(ok=not broken, checked=result.checked, streams=result.streams, broken=broken)


# ---------------------------------------------------------------- definitions


@dataclass(frozen=True)
class DefinitionLog:
    definition: Definition
    events: int


def definition_logs(session: Session) -> list[DefinitionLog]:
    """Every form and case type (archived ones too) with the length of its audit stream."""
    heads = {stream: seq for stream, seq in session.execute(select(AuditStream.stream, AuditStream.head_seq))}
    rows = session.scalars(select(Definition).order_by(Definition.kind, func.lower(Definition.title))).all()
    return [DefinitionLog(definition=d, events=heads.get(d.stream, 0)) for d in rows]


VersionChanges = list[tuple[DefinitionVersion, list[str] | None]]


def definition_changes(session: Session, definition: Definition) -> tuple[list[dict[str, Any]], VersionChanges]:
    """A definition's audit events (newest first, with their readable diffs) and its published versions,
    each with the changes from the one before (None for the first)."""
    versions = [(v, definitions.diff_versions(definition, v.number - 1, v.number) if v.number > 1 else None)
                for v in reversed(definition.versions)]
    return definitions.history(session, definition), versions
