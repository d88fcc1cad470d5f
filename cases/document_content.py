"""What a document prints, read from the audit chain it covers: the context of the PDF templates and the
audit log attachments, as plain data (`RenderInput`) that the web layer's renderer turns into a PDF.

Everything here is a function of the events 1..chain_seq and of the stored row, so rendering a stored
document again gives the same bytes whatever happened to the case since. The designer's previews and
sample documents are built the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from case_types.document_templates import AuditRow, BlockDocument, DossierContext, FieldRow, TimelineRow
from case_types.errors import Conflict, NotFound
from cases import audit, checkpoints
from cases.case_versions import case_schema, published, spec_of, version_of_case_type
from cases.clock import Clock, utcnow
from cases.documents import templates_of
from cases.links import KIND_LABELS
from cases.models import AuditEvent, Case, DefinitionVersion, Document
from cases.privacy.values import readable
from cases.read import timeline
from forms.display import EMPTY, display_rows
from forms.schema import FormSchema
from forms.validation import from_json_values

#: How much of an event's description the audit table of a document prints.
MAX_SUMMARY = 300


@dataclass(frozen=True)
class RenderInput:
    """Everything a renderer needs, as plain data: the context, the template (None: the dossier), the
    audit log attachments (dossier only), and the inputs of reproducibility."""

    document_id: int
    context: DossierContext
    template: BlockDocument | None
    audit_json: bytes
    audit_csv: bytes
    stable_id: str
    created_at: datetime
    bundle_json: bytes = b""  # dossier only: the proof bundle (cases.checkpoints), once a checkpoint covers it


def render_input(session: Session, document: Document, *, organisation: str) -> RenderInput:
    """The render input of a claimed (or finished) document, from the events it covers; deterministic."""
    if document.chain_seq is None:
        raise Conflict("The document has not been claimed for rendering yet.")
    case = session.get(Case, document.case_id)
    assert case is not None
    events = [e for e in audit.events(session, case.stream) if e.seq <= document.chain_seq]
    # The version the case was on as of the events it covers (recorded when it was claimed), never the
    # case's version now: a migration after the claim changes neither its content nor a re-rendering.
    version = version_of_case_type(session, case, document.case_type_version)
    template = None
    if not document.is_dossier:
        spec = spec_of(session, version)
        template = next((t for t in templates_of(spec) if t.template_name == document.kind), None)
        if template is None:
            raise NotFound(f"The case type version has no template '{document.kind}'.")
    shown = readable(session, events)  # what people read; bundle.json keeps the form that hashes
    context = build_context(session, case, shown, draft=document.draft,
                            generated_at=document.created_at, organisation=organisation,
                            public=template is not None and not template.internal, version=version)
    head = events[-1].hash if events else "0" * 64
    name = document.kind if template is None else f"{template.template_name}@v{template.version}"
    stable_id = (f"{case.ref}/{name}/case-type-v{document.case_type_version}/"
                 f"{'draft/' if document.draft else ''}{document.id}/{head}")
    bundle_json = b""
    if template is None:
        audit_json, audit_csv = audit_exports(shown)
        # A finished document embeds only what a checkpoint made before it was finished could give.
        made_by = document.rendered_at if document.status == "done" else None
        bundle = checkpoints.document_bundle(session, case, document.chain_seq, made_by=made_by)
        if bundle is not None:
            bundle_json = (json.dumps(bundle, indent=1, ensure_ascii=False) + "\n").encode()
    else:
        audit_json = audit_csv = b""
    return RenderInput(document_id=document.id, context=context, template=template, audit_json=audit_json,
                       audit_csv=audit_csv, stable_id=stable_id, created_at=document.created_at,
                       bundle_json=bundle_json)


def audit_exports(events: Sequence[AuditEvent]) -> tuple[bytes, bytes]:
    """audit.json (`{"items": [...]}` as the events API shows them) and audit.csv (formula-safe)."""
    as_json = json.dumps({"items": [audit.event_json(e) for e in events]}, indent=1, sort_keys=True,
                         ensure_ascii=False)
    return (as_json + "\n").encode(), audit.to_csv(list(events)).encode()


def data_as_of(events: Sequence[AuditEvent]) -> dict[str, Any]:
    """The case's data (JSON values) after `events`: what it was filed with, then each recorded change."""
    data: dict[str, Any] = {}
    for event in events:
        payload = json.loads(event.payload)
        if event.kind == "case.filed" and isinstance(payload.get("data"), Mapping):
            data = dict(payload["data"])
        elif event.kind in ("case.updated", "case.migrated"):
            for change in payload.get("changes", []):
                if change.get("after") is None:
                    data.pop(change["field"], None)
                else:
                    data[change["field"]] = change["after"]
    return data


def state_as_of(events: Sequence[AuditEvent], fallback: str) -> str:
    """The case's state after `events`: every event that moves a case records where it went (`to`, or the
    filed `state`, or a rule's `move_to_state` decision)."""
    state = fallback
    for event in events:
        if not event.kind.startswith("case."):
            continue
        payload = json.loads(event.payload)
        if event.kind == "case.filed" and isinstance(payload.get("state"), str):
            state = payload["state"]
        elif event.kind == "case.rule_applied":
            for decision in payload.get("decisions", []):
                if decision.get("action") == "move_to_state" and isinstance(decision.get("params"), Mapping):
                    state = str(decision["params"].get("state", state))
        elif isinstance(payload.get("to"), str):
            state = payload["to"]
    return state


def _entry_text(entry: timeline.Entry) -> str:
    parts = [entry.text]
    if entry.detail:
        parts.append(entry.detail)
    parts += [f"{label}: {before} → {after}" for label, before, after in entry.changes]
    return " · ".join(part.replace("\n", " ") for part in parts)


def _field_rows(schema: FormSchema, data: Mapping[str, Any]) -> list[FieldRow]:
    rows = []
    for row in display_rows(schema, from_json_values(schema, data), include_empty=True):
        value = "" if row.text == EMPTY else row.text
        if row.rows:
            value = "\n".join("; ".join(f"{cell.label}: {cell.text}" for cell in sub) for sub in row.rows)
        rows.append(FieldRow(label=row.label, value=value, key=row.key))
    return rows


def build_context(session: Session, case: Case, events: Sequence[AuditEvent], *, draft: bool,
                  generated_at: datetime, organisation: str, public: bool = False,
                  version: DefinitionVersion | None = None) -> DossierContext:
    """What a document of `case` prints, as of the last of `events` (its audit chain, oldest first), under
    case-type `version` (default: the case's own).

    `public` gives the requester's view of the timeline (for documents the requester receives).
    """
    own = version is None or version.id == case.case_type_version_id
    version = case.case_type_version if version is None else version
    pinned = published(session, version)
    spec = pinned.spec
    state_key = state_as_of(events, case.state)
    try:
        state = spec.state(state_key).label
    except KeyError:
        state = state_key
    requester = case.requester.email if case.requester else case.contact_email
    schema = case_schema(case) if own else pinned.schema
    steps = timeline.build(events, spec, public=public, requester_email=requester, schema=schema)
    described = {entry.seq: entry for entry in timeline.build(events, spec, schema=schema)}
    audit_rows = [AuditRow(seq=e.seq, at=e.at, actor=e.actor, kind=e.kind,
                           summary=_entry_text(described[e.seq])[:MAX_SUMMARY] if e.seq in described else "")
                  for e in events]
    return DossierContext(
        ref=case.ref, title=f"{spec.name} {case.ref}", case_type=f"{spec.name} v{version.number}",
        state=state, draft=draft, generated_at=generated_at, fields=_field_rows(schema, data_as_of(events)),
        timeline=[TimelineRow(at=entry.at, actor=entry.actor, text=_entry_text(entry)) for entry in steps],
        audit=audit_rows, chain_head=events[-1].hash if events else "0" * 64, audit_total=len(events),
        organisation=organisation, links=() if public else links_as_of(events),
    )


def links_as_of(events: Sequence[AuditEvent]) -> tuple[tuple[str, str], ...]:
    """The linked cases the chain records, in order: the parent a child was filed for, the children started,
    the cases linked by hand (the dossier lists them; the other cases' own data is theirs)."""
    found: list[tuple[str, str]] = []
    for event in events:
        if event.kind not in ("case.filed", "case.child_started", "case.linked"):
            continue
        payload = json.loads(event.payload)
        if event.kind == "case.filed" and payload.get("parent"):
            found.append(("Parent case", str(payload["parent"])))
        elif event.kind == "case.child_started":
            found.append(("Child case", str(payload.get("child"))))
        elif event.kind == "case.linked":
            kind = str(payload.get("kind"))
            found.append((KIND_LABELS.get(kind, kind), str(payload.get("other"))))
    return tuple(dict.fromkeys(found))


def preview_context(session: Session, case: Case, *, organisation: str, clock: Clock = utcnow,
                    public: bool = False) -> DossierContext:
    """The context of `case` as it stands now (for the designer's live preview; nothing is stored)."""
    events = readable(session, audit.events(session, case.stream))
    return build_context(session, case, events, draft=case.is_open, generated_at=clock(),
                         organisation=organisation, public=public)


def sample_context(schema: FormSchema | None, *, case_type: str, organisation: str, generated_at: datetime,
                   ref: str = "ABC-000123") -> DossierContext:
    """A made-up case of a form (every field answered with a sample), for previews without a real case."""
    fields = []
    for spec in schema.fields if schema is not None else ():
        if not spec.has_value:
            continue
        options = spec.option_labels()
        value = next(iter(options.values())) if options else f"Sample {spec.display_label.lower()}"
        fields.append(FieldRow(label=spec.display_label, value=value, key=spec.key))
    steps = [("requester@example.com", "Filed in New"), ("agent@example.com", "Claimed the case"),
             ("agent@example.com", "Resolve: In progress → Resolved")]
    at = [generated_at - timedelta(days=len(steps) - n) for n in range(len(steps))]
    return DossierContext(
        ref=ref, title=f"{case_type} {ref}", case_type=case_type, state="Resolved", draft=False,
        generated_at=generated_at, fields=fields,
        timeline=[TimelineRow(at=when, actor=who, text=what) for when, (who, what) in zip(at, steps, strict=True)],
        audit=[AuditRow(seq=n + 1, at=when, actor=who, kind="case.sample", summary=what)
               for n, (when, (who, what)) in enumerate(zip(at, steps, strict=True))],
        chain_head="0" * 64, audit_total=len(steps), organisation=organisation)
