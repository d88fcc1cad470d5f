"""Made-up but realistic case contexts: the designer's live preview, the benchmark and the tests use them."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from case_types.document_templates import AuditRow, DossierContext, FieldRow, TimelineRow

_LABELS = (
    "Applicant name", "E-mail", "Phone", "Street", "Postcode", "City", "Country", "Customer number",
    "Order number", "Product", "Purchase date", "Amount claimed", "Currency", "Category", "Channel",
    "Description", "Desired outcome", "Previous contact", "Preferred language", "Consent to contact",
)  # fmt: skip
_KINDS = ("case.submitted", "case.claimed", "data.changed", "case.commented", "case.transitioned", "sla.warning")
START = datetime(2025, 3, 3, 8, 30, tzinfo=UTC)


def sample_fields(count: int) -> list[FieldRow]:
    """`count` labelled fields with plausible values (keys `f01_applicant_name`, ...)."""
    rows = []
    for index in range(count):
        label = _LABELS[index % len(_LABELS)]
        key = f"f{index + 1:02d}_{label.lower().replace(' ', '_').replace('-', '_')}"
        value = f"{label} value {index + 1}" if index % 7 else f"{label} value {index + 1}\nsecond line of the answer"
        rows.append(FieldRow(label=label, value=value, key=key))
    return rows


def sample_audit(count: int) -> list[AuditRow]:
    """`count` audit events, one every 37 minutes from `START`."""
    return [
        AuditRow(
            seq=seq,
            at=START + timedelta(minutes=37 * seq),
            actor=f"agent{seq % 5}@example.org" if seq % 3 else "system",
            kind=_KINDS[seq % len(_KINDS)],
            summary=f"field_{seq % 40:02d}: 'old value {seq}' -> 'new value {seq}'",
        )
        for seq in range(1, count + 1)
    ]


def sample_timeline(count: int) -> list[TimelineRow]:
    """`count` timeline steps, one a day from `START`."""
    steps = ("Submitted through the public form", "Claimed by Ana Diaz", "Information requested from requester",
             "Requester answered", "Moved to CFO approval: amount above 10,000", "Approved", "Closed: upheld")
    return [
        TimelineRow(at=START + timedelta(days=index), actor="Ana Diaz" if index % 2 else "system",
                    text=steps[index % len(steps)])
        for index in range(count)
    ]


def chain_head_of(rows: list[AuditRow]) -> str:
    """A stand-in chain head: the hash over the sample rows (real ones come from the audit chain)."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(f"{row.seq}|{row.at.isoformat()}|{row.actor}|{row.kind}|{row.summary}".encode())
    return digest.hexdigest()


def sample_dossier_context(fields: int = 40, events: int = 200, steps: int = 7, *, draft: bool = False,
                           ref: str = "CMP-000123") -> DossierContext:
    """A complete dossier context of the given size."""
    audit = sample_audit(events)
    return DossierContext(
        ref=ref,
        title=f"Complaint about a damaged delivery ({ref})",
        case_type="Complaint v3",
        state="Closed: upheld" if not draft else "Triage",
        draft=draft,
        generated_at=START + timedelta(days=30),
        fields=sample_fields(fields),
        timeline=sample_timeline(steps),
        audit=audit,
        chain_head=chain_head_of(audit),
        audit_total=events,
        organisation="Example Municipality",
    )


def sample_audit_exports(rows: list[AuditRow]) -> tuple[bytes, bytes]:
    """Stand-in audit.json and audit.csv bytes for the sample rows (real ones come from the audit export)."""
    items = [{"seq": r.seq, "at": r.at.isoformat(), "actor": r.actor, "kind": r.kind, "summary": r.summary}
             for r in rows]
    as_json = json.dumps({"items": items}, indent=1, sort_keys=True).encode()
    lines = ["seq,at,actor,kind,summary"] + [
        ",".join([str(r.seq), r.at.isoformat(), r.actor, r.kind, '"' + r.summary.replace('"', '""') + '"'])
        for r in rows
    ]
    return as_json, ("\r\n".join(lines) + "\r\n").encode()
