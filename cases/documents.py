"""Generated documents of cases: the case dossier and the case type's templates, queued, rendered, stored.

When a case enters a final state, `state_entered` queues its documents (the dossier and every template
of its pinned case-type version) in the same transaction as the change. After the commit the web layer
hands the queued ids to a background job, which `claim`s each row (fixing the part of the audit chain it
covers), builds its `RenderInput` (cases.document_content: plain data, the context the PDF templates print
and the audit log attachments), renders it in a child process and records the outcome with `finish` or `fail`.

A document is a function of the case's audit chain up to the event it covers: the data, the state, the
timeline and the audit table are all read from the events 1..chain_seq, and the dates and identifiers
from the stored row. So rendering a stored document again gives the same bytes (see
`document_content.render_input`),
whatever happened to the case since.

Who sees what: staff on the case, auditors and admins see every document; the requester sees only
finished, final documents of templates not marked internal (decision letters, contracts), never the
dossier (it holds internal notes, staff names and the routing of the case) and never a draft.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from case_types import workflow
from case_types.document_templates import (
    BlockDocument,
    parse_block_document,
)
from case_types.errors import Conflict, NotFound
from cases import access, audit
from cases.case_versions import spec_of, version_of_case_type
from cases.clock import Clock, utcnow
from cases.errors import PermissionDenied
from cases.models import DOSSIER, AuditEvent, AuditStream, Case, Document, Role, User
from cases.uow import transaction

#: A queued or rendering row older than this is presumed lost (its worker died) and may be retried.
STALE_AFTER = timedelta(minutes=15)
MAX_REASON = 1000
#: How many stuck documents one watchdog round looks at (the next round takes the rest).
STUCK_BATCH = 500


# ---------------------------------------------------------------- queueing


def _new_row(case: Case, kind: str, *, draft: bool, internal: bool, template_version: int | None,
             requested_by: User | None, clock: Clock) -> Document:
    return Document(case_id=case.id, kind=kind, draft=draft, internal=internal, status="queued", attempts=0,
                    case_type_version=case.case_type_version.number, template_version=template_version,
                    created_at=clock(), requested_by_id=requested_by.id if requested_by else None)


def templates_of(spec: workflow.CaseTypeSpec) -> list[BlockDocument]:
    """The document templates of a case-type version (validated when it was published)."""
    return [parse_block_document(stored) for stored in spec.documents]


def state_entered(session: Session, case: Case, spec: workflow.CaseTypeSpec, previous: str | None,
                  clock: Clock = utcnow) -> list[Document]:
    """Queue the closing documents when the case has just entered a final state (in the caller's transaction)."""
    if not spec.state(case.state).is_final:
        return []
    if previous is not None and previous in {s.key for s in spec.states} and spec.state(previous).is_final:
        return []
    rows = [_new_row(case, DOSSIER, draft=False, internal=True, template_version=None, requested_by=None,
                     clock=clock)]
    rows += [_new_row(case, template.template_name, draft=False, internal=template.internal,
                      template_version=template.version, requested_by=None, clock=clock)
             for template in templates_of(spec)]
    session.add_all(rows)
    return rows


def may_request_draft(session: Session, user: User, case: Case) -> bool:
    """Agents working the case, auditors and admins may have a draft dossier made of an open case."""
    if not case.is_open:
        return False
    return user.has_role(Role.AUDITOR, Role.ADMIN) or access.is_staff_on(session, user, case)


def request_draft(session: Session, case: Case, actor: User, *, clock: Clock = utcnow) -> Document:
    """Queue a DRAFT dossier of an open case; a draft still waiting for the renderer is returned instead."""
    if not case.is_open:
        raise Conflict("The case is closed: its final dossier is made when it closes.")
    if not may_request_draft(session, actor, case):
        raise PermissionDenied("Only the case's agents, auditors and admins can have a draft dossier made.")
    waiting = session.scalar(select(Document).where(
        Document.case_id == case.id, Document.draft.is_(True), Document.status.in_(("queued", "rendering"))))
    if waiting is not None:
        return waiting
    return queue_dossier(session, case, requested_by=actor, clock=clock)


def queue_dossier(session: Session, case: Case, *, requested_by: User | None = None,
                  clock: Clock = utcnow) -> Document:
    """Queue a dossier of the case as it stands: a DRAFT while it is open, final once it is closed."""
    with transaction(session):
        row = _new_row(case, DOSSIER, draft=case.is_open, internal=True, template_version=None,
                       requested_by=requested_by, clock=clock)
        session.add(row)
    return row


def render_again(session: Session, case: Case, *, clock: Clock = utcnow) -> list[Document]:
    """Queue a fresh rendering of each of the case's finished documents (one per kind, draft and template
    version), in the caller's transaction: its audit chain was rewritten (cases.privacy.reseal), so the
    finished ones were made from events as they were before and no longer match what the chain renders."""
    done = session.scalars(select(Document).where(Document.case_id == case.id, Document.status == "done")
                           .order_by(Document.id)).all()
    latest = {(d.kind, d.draft, d.template_version): d for d in done}
    rows = [Document(case_id=case.id, kind=d.kind, draft=d.draft, internal=d.internal, status="queued", attempts=0,
                     case_type_version=d.case_type_version, template_version=d.template_version, created_at=clock())
            for d in latest.values()]
    session.add_all(rows)
    return rows


def may_retry(document: Document, now: datetime) -> bool:
    """A failed document, or one whose renderer has been silent for too long."""
    if document.status == "failed":
        return True
    reference = document.rendered_at or document.created_at
    return document.status in ("queued", "rendering") and now - reference > STALE_AFTER


def retry(session: Session, document: Document, actor: User, *, clock: Clock = utcnow) -> Document:
    """An admin sends a failed document back to the renderer; the request is an audit event."""
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied("Only admins can retry a document.")
    if not may_retry(document, clock()):
        raise Conflict("Only a failed document (or one stuck for more than 15 minutes) can be retried.")
    case = session.get(Case, document.case_id)
    assert case is not None
    with transaction(session):
        previous = document.reason
        document.status, document.reason = "queued", None
        document.rendered_at = None
        audit.append(session, case.stream, "document.retried",
                     {"document": document.id, "kind": document.kind, "name": display_kind(document),
                      "previous_reason": previous}, actor=actor, clock=clock)
    return document


# ---------------------------------------------------------------- reading


def display_kind(document: Document) -> str:
    """What people call it: "Case dossier", "Draft case dossier", or the template's name."""
    if document.kind == DOSSIER:
        return "Draft case dossier" if document.draft else "Case dossier"
    return document.kind


def requester_may_see(document: Document) -> bool:
    """The requester's documents: finished, final, not internal (never the dossier, never a draft)."""
    return document.status == "done" and not document.internal and not document.draft


def documents_for(session: Session, case: Case, user: User) -> list[Document]:
    """The case's documents `user` may see, newest first, the dossier before the templates made with it
    (the caller has checked that `user` may see the case)."""
    rows = list(session.scalars(select(Document).where(Document.case_id == case.id)
                                .order_by(Document.created_at.desc(), Document.id.asc())))
    if access.sees_internal(session, user, case):
        return rows
    return [row for row in rows if requester_may_see(row)]


def document_for(session: Session, document_id: int, user: User) -> tuple[Document, Case]:
    """A document and its case if `user` may see it; otherwise NotFound, as if it did not exist."""
    document = session.get(Document, document_id)
    if document is None:
        raise NotFound("No such document.")
    case = access.get_case_for(session, document.case_id, user)
    if not access.sees_internal(session, user, case) and not requester_may_see(document):
        raise NotFound("No such document.")
    return document, case


def downloadable(document: Document) -> Document:
    if document.status != "done" or not document.storage_name:
        raise Conflict("This document is not ready yet." if document.status in ("queued", "rendering")
                       else "This document could not be made; an admin can retry it.")
    return document


def record_download(session: Session, document: Document, case: Case, user: User, *,
                    clock: Clock = utcnow) -> None:
    """Every download of a document is an event of its case's audit chain."""
    downloadable(document)
    with transaction(session):
        audit.append(session, case.stream, "document.downloaded",
                     {"document": document.id, "kind": document.kind, "name": display_kind(document),
                      "draft": document.draft, "sha256": document.sha256}, actor=user, clock=clock)


def download_name(document: Document, case: Case) -> str:
    """The file name offered for a download, built from the reference and the kind (never user input)."""
    stem = "".join(ch if ch.isalnum() else "-" for ch in document.kind.lower()).strip("-") or "document"
    return f"{case.ref}-{stem}{'-draft' if document.draft else ''}-{document.id}.pdf"


def document_json(document: Document) -> dict[str, Any]:
    """A document as the API shows it."""
    return {
        "id": document.id, "case_id": document.case_id, "kind": document.kind, "name": display_kind(document),
        "draft": document.draft, "internal": document.internal, "status": document.status,
        "reason": document.reason, "sha256": document.sha256, "size": document.size,
        "case_type_version": document.case_type_version, "template_version": document.template_version,
        "chain_seq": document.chain_seq, "chain_head": document.chain_head,
        "unsigned_sha256": document.unsigned_sha256, "content_sha256": document.content_sha256,
        "signer_sha256": document.signer_sha256, "toolchain": document.toolchain,
        "created_at": document.created_at.isoformat(),
        "rendered_at": document.rendered_at.isoformat() if document.rendered_at else None,
        "requested_by": document.requested_by.email if document.requested_by else None,
    }


def pending_ids(session: Session, case: Case | None = None) -> list[int]:
    """Ids of queued documents (of one case, or all), oldest first: what a renderer should pick up."""
    stmt = select(Document.id).where(Document.status == "queued").order_by(Document.id)
    if case is not None:
        stmt = stmt.where(Document.case_id == case.id)
    return list(session.scalars(stmt))


def requeue_stuck(session: Session, *, silent_since: datetime, max_attempts: int,
                  clock: Clock = utcnow) -> tuple[list[int], list[int]]:
    """Documents whose renderer went silent before `silent_since` (its process died mid-render) go back to
    the queue, or fail once they used `max_attempts`; each is an event of its case. Returns (requeued, failed).

    Rows another process is looking at are skipped (SKIP LOCKED), so any number of watchdogs is safe.
    """
    requeued: list[int] = []
    failed: list[int] = []
    with transaction(session):
        stuck = list(session.scalars(
            select(Document).where(Document.status == "rendering", Document.rendered_at < silent_since)
            .order_by(Document.id).limit(STUCK_BATCH).with_for_update(skip_locked=True)))
        for document in stuck:
            case = session.get(Case, document.case_id)
            assert case is not None
            payload = {"document": document.id, "kind": document.kind, "name": display_kind(document),
                       "attempt": document.attempts}
            if document.attempts >= max_attempts:
                reason = (f"The renderer stopped without finishing {document.attempts} times; "
                          "an admin can retry it.")
                document.status, document.reason, document.rendered_at = "failed", reason, clock()
                audit.append(session, case.stream, "document.failed", {**payload, "draft": document.draft,
                                                                       "reason": reason}, actor=None, clock=clock)
                failed.append(document.id)
            else:
                document.status, document.rendered_at = "queued", None
                audit.append(session, case.stream, "document.requeued",
                             {**payload, "reason": "the renderer stopped without finishing"}, actor=None, clock=clock)
                requeued.append(document.id)
    return requeued, failed


def waiting_since(session: Session, before: datetime) -> list[int]:
    """Ids of documents queued before `before` (by their last touch), oldest first: the ones a lost job
    may have left behind."""
    touched = func.coalesce(Document.rendered_at, Document.created_at)
    return list(session.scalars(select(Document.id).where(Document.status == "queued", touched < before)
                                .order_by(Document.id).limit(STUCK_BATCH)))


# ---------------------------------------------------------------- rendering


def claim(session: Session, document_id: int, *, clock: Clock = utcnow) -> Document | None:
    """Take a queued document for rendering (None if someone else has, or it is not queued).

    Fixes what it covers: the case's audit chain as it stands now. Each claim counts as an attempt.
    """
    with transaction(session):
        document = session.scalar(select(Document).where(Document.id == document_id, Document.status == "queued")
                                  .with_for_update(of=Document))
        if document is None:
            return None
        head = session.scalar(select(AuditStream).where(AuditStream.stream == f"case:{document.case_id}"))
        document.status = "rendering"
        document.attempts += 1
        document.rendered_at = clock()  # when the renderer last touched it; the final time on success
        document.chain_seq = head.head_seq if head else 0
        document.chain_head = head.head_hash if head else None
        _rendered_under(session, document)
    return document


def _rendered_under(session: Session, document: Document) -> None:
    """Record the case-type version the case is on as of the events the document covers: one queued before a
    migration and claimed after it is rendered under the new version (and its template of that name)."""
    moved = session.scalar(select(AuditEvent.payload).where(
        AuditEvent.stream == f"case:{document.case_id}", AuditEvent.kind == "case.migrated",
        AuditEvent.seq <= (document.chain_seq or 0)).order_by(AuditEvent.seq.desc()).limit(1))
    if moved is None:
        return
    number = int(json.loads(moved)["to_version"])
    if number == document.case_type_version:
        return
    document.case_type_version = number
    if not document.is_dossier:
        case = session.get(Case, document.case_id)
        assert case is not None
        spec = spec_of(session, version_of_case_type(session, case, number))
        template = next((t for t in templates_of(spec) if t.template_name == document.kind), None)
        document.template_version = template.version if template is not None else None


def finish(session: Session, document: Document, *, storage_name: str, sha256: str, size: int,
           made: Made | None = None, clock: Clock = utcnow) -> Document:
    """Record a stored PDF: done, with its hash and size (and what a check compares: `made`); the case's
    chain gets `document.generated`."""
    case = session.get(Case, document.case_id)
    assert case is not None
    made = made or Made()
    with transaction(session):
        document.status, document.reason = "done", None
        document.storage_name, document.sha256, document.size = storage_name, sha256, size
        document.unsigned_sha256, document.content_sha256 = made.unsigned_sha256, made.content_sha256
        document.signer_sha256 = made.signer_sha256
        document.weasyprint_version, document.pango_version = made.weasyprint, made.pango
        document.harfbuzz_version, document.font_subsetter = made.harfbuzz, made.font_subsetter
        document.rendered_at = clock()
        payload: dict[str, Any] = {
            "document": document.id, "kind": document.kind, "name": display_kind(document),
            "draft": document.draft, "sha256": sha256, "size": size,
            "case_type_version": document.case_type_version, "template_version": document.template_version,
            "covers_seq": document.chain_seq, "covers_hash": document.chain_head,
        }
        if made.content_sha256:
            payload.update(unsigned_sha256=made.unsigned_sha256, content_sha256=made.content_sha256,
                           signer_sha256=made.signer_sha256, toolchain=document.toolchain)
        audit.append(session, case.stream, "document.generated", payload, actor=None, clock=clock)
    return document


@dataclass(frozen=True)
class Made:
    """What the renderer reports besides the file: the digests a check compares and the toolchain."""

    unsigned_sha256: str | None = None
    content_sha256: str | None = None
    signer_sha256: str | None = None
    weasyprint: str | None = None
    pango: str | None = None
    harfbuzz: str | None = None
    font_subsetter: str | None = None


def fail(session: Session, document: Document, reason: str, *, clock: Clock = utcnow) -> Document:
    """Record a failed render with its reason; the case itself is left as it is."""
    case = session.get(Case, document.case_id)
    assert case is not None
    reason = (reason or "failed for an unknown reason")[:MAX_REASON]
    with transaction(session):
        document.status, document.reason = "failed", reason
        document.rendered_at = clock()
        audit.append(session, case.stream, "document.failed",
                     {"document": document.id, "kind": document.kind, "name": display_kind(document),
                      "draft": document.draft, "reason": reason, "attempt": document.attempts},
                     actor=None, clock=clock)
    return document


# ---------------------------------------------------------------- the context, from the audit chain
