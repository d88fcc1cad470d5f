"""Rendering the queued documents of cases: the background job, and the kick after a commit that queued some.

The domain (cases.documents) queues rows, claims them, builds what they print and records the outcome;
this module adds what needs the web process: the PDF engine (app.documents, in a child process with
a memory and time limit), the file store, and the configuration. A render that fails for any reason
marks its document failed with the reason and leaves the case as it is.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.checkpoints import cover_with_checkpoint
from app.documents import DocumentError, RenderFailed, RenderJob, block_document_job, dossier_job
from app.documents.certificate import SigningKey, signing_key
from app.documents.pipeline import MadeDocument, make_in_child
from app.extensions import db
from app.jobs import enqueue_once, job
from app.uploads import document_store, logo_folder
from app.watchdog import recoverer
from cases import documents
from cases.models import Document

log = logging.getLogger(__name__)
MAX_PDF_BYTES = 200 * 1024 * 1024
_QUEUED_KEY = "documents_queued"
_INLINE_KEY = "documents_inline"


def render_job_for(data: documents.RenderInput, app: Flask) -> RenderJob:
    """The engine's job for a render input: the dossier with its audit log attached, or a template."""
    if data.template is None:
        return dossier_job(data.context, audit_json=data.audit_json, audit_csv=data.audit_csv,
                           stable_id=data.stable_id, created_at=data.created_at, bundle_json=data.bundle_json)
    return block_document_job(data.template, data.context, stable_id=data.stable_id, created_at=data.created_at,
                              uploads_dir=logo_folder(app))


def limits(app: Flask) -> dict[str, Any]:
    return {"memory_mb": int(app.config["DOCUMENT_MEMORY_MB"]), "timeout_s": float(app.config["DOCUMENT_TIMEOUT_S"])}


def signing_key_for(app: Flask) -> SigningKey | None:
    """The instance's document-signing key (generated into instance/signing/ on first use), or None if off."""
    return signing_key(app.config, Path(app.instance_path))


def render_input_job(document: Document, app: Flask) -> RenderJob:
    """The render job of a claimed (or finished) document, from the part of the audit chain it covers."""
    data = documents.render_input(db.session, document, organisation=app.config["ORGANISATION_NAME"])
    return render_job_for(data, app)

def make_signed(document: Document, app: Flask) -> MadeDocument:
    """Render, sign (PAdES) and digest a claimed document in the render child; raises RenderFailed."""
    try:
        key = signing_key_for(app)
    except DocumentError as exc:
        raise RenderFailed(f"cannot be signed: {exc}") from None
    reason = f"{documents.display_kind(document)}, rendered by Casework from the case's audit chain"
    return make_in_child(render_input_job(document, app), key, reason=reason, **limits(app))
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


# ---------------------------------------------------------------- after-commit kick
@contextmanager
def rendering_inline() -> Iterator[None]:
    """Documents queued inside are rendered by the caller (e.g. the CLI), not by the after-commit kick."""
    db.session.info[_INLINE_KEY] = True
    try:
        yield
    finally:
        db.session.info.pop(_INLINE_KEY, None)
def init_document_jobs(app: Flask) -> None:
    """Once per process: documents queued by a transaction go to the renderer when it commits."""
    with _install_lock:
        if not _installed.is_set():
            _install_session_hooks()
            _installed.set()
_installed = threading.Event()
_install_lock = threading.Lock()
def _install_session_hooks() -> None:
    @event.listens_for(db.session, "after_flush")
    def _note_queued(session: Session, _ctx: Any) -> None:
        for obj in (*session.new, *session.dirty):
            if isinstance(obj, Document) and obj.status == "queued" and obj.id is not None:
                session.info.setdefault(_QUEUED_KEY, set()).add(obj.id)

    @event.listens_for(db.session, "after_commit")
    def _kick_renderer(session: Session) -> None:
        if session.in_nested_transaction():
            # A savepoint released (the rules run in one): the rows are not visible to the job until the
            # outer commit. Kicking now let the job find nothing on PostgreSQL and the rows stay queued.
            return
        queued = session.info.pop(_QUEUED_KEY, None)
        if not queued or session.info.get(_INLINE_KEY) or not has_app_context():
            return
        if current_app.config.get("DOCUMENTS_AUTO_RENDER", True):
            enqueue_documents(current_app._get_current_object(), queued)  # type: ignore[attr-defined]

    @event.listens_for(db.session, "after_rollback")
    def _forget_queued(session: Session) -> None:
        if not session.in_nested_transaction():  # a savepoint's rollback keeps what the outer queued
            session.info.pop(_QUEUED_KEY, None)

