"""Checking a stored document against the audit chain, as a background job (`check_document`).

The job gathers the facts cases.document_checks judges: the stored file's SHA-256, its canonical
content digest and its signature (read in the render child: the file may have been tampered with), and
a fresh rendering from the events the document covers (unsigned, in the render child: its bytes, its
content digest and the toolchain that drew it). Nothing here renders inside a request.
"""

from __future__ import annotations

import hashlib
import logging

from flask import Flask, current_app

from app.documents.errors import DocumentError, RenderFailed
from app.documents.pipeline import Reproduction, inspect_in_child, reproduce_in_child
from app.documents.queue import limits, signing_key_for, stored_render_request
from app.extensions import db
from app.jobs import enqueue, job
from app.uploads import document_store
from cases import document_checks
from cases.document_checks import CheckFacts
from cases.models import Document, DocumentCheck, User
from cases.storage import StorageError

log = logging.getLogger(__name__)


def gather_facts(document: Document, app: Flask) -> CheckFacts:
    """What the stored file and a fresh rendering of `document` show; raises RenderFailed if it cannot render."""
    problems: list[str] = []
    try:
        stored = document_store(app).read(document.storage_name or "")
    except (OSError, ValueError, StorageError):
        stored = b""
    try:
        key = signing_key_for(app)
    except DocumentError as exc:
        key = None
        problems.append(f"The instance's signing certificate cannot be read: {exc}")
    facts = inspect_in_child(stored, key.cert_pem if key else None, **limits(app)) if stored else None
    if facts is not None and facts.problem and document.signer_sha256:
        problems.append(f"Stored file: {facts.problem}.")
    again = _reproduce(document, app)
    return CheckFacts(
        stored_sha256=hashlib.sha256(stored).hexdigest() if stored else "",
        stored_content_sha256=facts.content_sha256 if facts else "",
        signature_present=bool(facts and facts.signature_present),
        signature_valid=bool(facts and facts.signature_valid),
        signature_trusted=bool(facts and facts.signature_trusted),
        signer=facts.signer if facts else "", signer_sha256=facts.signer_sha256 if facts else "",
        again_unsigned_sha256=again.unsigned_sha256, again_content_sha256=again.content_sha256,
        again_toolchain={"weasyprint": again.toolchain.weasyprint, "pango": again.toolchain.pango,
                         "harfbuzz": again.toolchain.harfbuzz, "font_subsetter": again.toolchain.font_subsetter},
        problems=problems, reanchored_at=document_checks.reanchored_after(db.session, document))


def _reproduce(document: Document, app: Flask) -> Reproduction:
    return reproduce_in_child(stored_render_request(document, app), **limits(app))


def request_check(document: Document, user: User, app: Flask) -> DocumentCheck:
    """Queue a check of `document` and hand it to the job queue (after the row is committed)."""
    check = document_checks.request_check(db.session, document, user)
    if check.status == "queued":
        enqueue(app, "check_document", check.id)
    return check


@job("check_document")
def check_document(check_id: int) -> str | None:
    """Run one queued check; returns its verdict (None when it could not run or was not queued)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    check = document_checks.claim_check(db.session, int(check_id))
    if check is None:
        return None
    document = db.session.get(Document, check.document_id)
    assert document is not None
    try:
        facts = gather_facts(document, app)
    except RenderFailed as exc:
        document_checks.fail_check(db.session, check, f"The document could not be rendered again: {exc.reason}")
        return None
    except Exception as exc:  # the row must not stay "running" forever
        log.exception("Check %s of document %s failed unexpectedly", check.id, document.id)
        db.session.rollback()
        document_checks.fail_check(db.session, check, f"The check failed ({exc.__class__.__name__}); it was logged.")
        return None
    return document_checks.finish_check(db.session, check, document, facts).verdict

