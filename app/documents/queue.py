"""Rendering the queued documents of cases: the background job, and the kick after a commit that queued some.

The domain (cases.documents) queues rows, claims them, builds what they print and records the outcome;
this module adds what needs the web process: the PDF engine (app.documents, in a child process with
a memory and time limit), the file store, and the configuration. A render that fails for any reason
marks its document failed with the reason and leaves the case as it is.
"""

from __future__ import annotations

import io
import logging
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from app.checkpoints import cover_with_checkpoint
from app.documents.certificate import SigningKey, signing_key
from app.documents.dossier import block_document_request, dossier_request
from app.documents.errors import DocumentError, RenderFailed
from app.documents.pipeline import MadeDocument, make_in_child
from app.documents.render_request import RenderRequest
from app.extensions import db
from app.jobs import after_commit, enqueue_once, held, job
from app.uploads import document_store, logo_store
from app.watchdog import recoverer
from cases import document_content, documents
from cases.models import Document

log = logging.getLogger(__name__)
MAX_PDF_BYTES = 200 * 1024 * 1024


def render_request_for(data: document_content.RenderInput, app: Flask) -> RenderRequest:
    """The engine's job for a render input: the dossier with its audit log attached, or a template."""
    if data.template is None:
        return dossier_request(data.context, audit_json=data.audit_json, audit_csv=data.audit_csv,
                           stable_id=data.stable_id, created_at=data.created_at, bundle_json=data.bundle_json)
    return block_document_request(data.template, data.context, stable_id=data.stable_id, created_at=data.created_at,
                              logos=logo_store(app))


def limits(app: Flask) -> dict[str, Any]:
    return {"memory_mb": int(app.config["DOCUMENT_MEMORY_MB"]), "timeout_s": float(app.config["DOCUMENT_TIMEOUT_S"])}


def signing_key_for(app: Flask) -> SigningKey | None:
    """The instance's document-signing key (generated into instance/signing/ on first use), or None if off."""
    return signing_key(app.config, Path(app.instance_path))


def stored_render_request(document: Document, app: Flask) -> RenderRequest:
    """The render job of a claimed (or finished) document, from the part of the audit chain it covers."""
    data = document_content.render_input(db.session, document, organisation=app.config["ORGANISATION_NAME"])
    return render_request_for(data, app)

def make_signed(document: Document, app: Flask) -> MadeDocument:
    """Render, sign (PAdES) and digest a claimed document in the render child; raises RenderFailed."""
    try:
        key = signing_key_for(app)
    except DocumentError as exc:
        raise RenderFailed(f"cannot be signed: {exc}") from None
    reason = f"{documents.display_kind(document)}, rendered by Casework from the case's audit chain"
    return make_in_child(stored_render_request(document, app), key, reason=reason, **limits(app))
def render_document(document_id: int) -> Document | None:
    """Claim, render, sign, store and record one queued document; None if it was not queued."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    document = documents.claim(db.session, document_id)
    if document is None:
        return None
    if document.is_dossier:
        cover_with_checkpoint(document)
    try:
        made = make_signed(document, app)
    except RenderFailed as exc:
        log.warning("Document %s of case %s failed: %s", document.id, document.case_id, exc.reason)
        return _fail(document_id, exc.reason)
    except Exception as exc:  # whatever went wrong, the row must not stay "rendering" forever
        log.exception("Document %s of case %s failed unexpectedly", document.id, document.case_id)
        return _fail(document_id, f"could not be rendered ({exc.__class__.__name__}); the error was logged")
    name, size, sha256, _head = document_store(app).write(io.BytesIO(made.pdf), max_bytes=MAX_PDF_BYTES)
    toolchain = made.toolchain
    recorded = documents.Made(unsigned_sha256=made.unsigned_sha256, content_sha256=made.content_sha256,
                              signer_sha256=made.signer_sha256, weasyprint=toolchain.weasyprint,
                              pango=toolchain.pango, harfbuzz=toolchain.harfbuzz,
                              font_subsetter=toolchain.font_subsetter)
    return documents.finish(db.session, document, storage_name=name, sha256=sha256, size=size, made=recorded)
def _fail(document_id: int, reason: str) -> Document | None:
    db.session.rollback()
    document = db.session.get(Document, document_id)
    return documents.fail(db.session, document, reason) if document is not None else None
@job("render_documents")
def render_documents(document_ids: list[int]) -> int:
    """Render the given queued documents one after the other; returns how many were made."""
    made = 0
    for document_id in document_ids:
        result = render_document(int(document_id))
        made += result is not None and result.status == "done"
    return made


@job("render_document", pool="documents")
def render_one(document_id: int) -> str:
    """The job of one queued document (one job each, so the pool's threads render side by side)."""
    result = render_document(int(document_id))
    if result is None:
        log.info("Document %s was not queued any more (another renderer has it, or it is finished)", document_id)
        return "skipped"
    return result.status


def enqueue_documents(app: Flask, document_ids: list[int] | set[int]) -> int:
    """Queue one render job per document, skipping those already waiting; how many were queued."""
    timeout = int(float(app.config["DOCUMENT_TIMEOUT_S"])) + 60
    return sum(enqueue_once(app, "render_document", f"document-{int(i)}", int(i), timeout_s=timeout)
               for i in sorted(document_ids))


@recoverer("documents")
def recover_documents(app: Flask, now: datetime) -> int:
    """Documents a dead renderer left `rendering` go back to the queue; queued ones without a job get one."""
    stuck_after = timedelta(seconds=max(float(app.config["JOB_STUCK_AFTER_S"]),
                                        float(app.config["DOCUMENT_TIMEOUT_S"]) + 30))
    requeued, failed = documents.requeue_stuck(db.session, silent_since=now - stuck_after,
                                               max_attempts=int(app.config["DOCUMENT_MAX_ATTEMPTS"]))
    if requeued or failed:
        log.warning("Watchdog: %s documents stuck rendering queued again, %s failed after too many attempts",
                    len(requeued), len(failed))
    waiting = documents.waiting_since(db.session, now - timedelta(seconds=float(app.config["JOB_STUCK_AFTER_S"])))
    db.session.rollback()  # end the read; the jobs open their own transactions
    if not app.config.get("DOCUMENTS_AUTO_RENDER", True):
        return len(requeued) + len(failed)
    queued = enqueue_documents(app, set(waiting) | set(requeued))
    if queued:
        log.warning("Watchdog: %s queued documents had no render job; queued them again", queued)
    return len(requeued) + len(failed) + queued


# ---------------------------------------------------------------- after commit
def init_document_queue(app: Flask) -> None:
    """Documents queued by a transaction go to the renderer when it commits (app.jobs dispatches)."""
    after_commit("documents", Document, pick=_queued_id, kick=_kick_renderer, changed_rows=True)


def rendering_inline() -> AbstractContextManager[None]:
    """Documents queued inside are rendered by the caller (e.g. the CLI), not after the commit."""
    return held("documents")


def _queued_id(document: Document) -> int | None:
    return document.id if document.status == "queued" else None


def _kick_renderer(app: Flask, document_ids: set[int]) -> None:
    if app.config.get("DOCUMENTS_AUTO_RENDER", True):
        enqueue_documents(app, document_ids)
