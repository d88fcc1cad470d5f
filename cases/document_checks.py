"""Auditors' checks of stored documents: requested, run in the background, judged here.

A check answers two questions about a finished document: is the stored file the one that was delivered
(its SHA-256, its signature, its content), and does the case's audit chain still produce that content?
The web layer gathers the facts (it reads the file and renders again in the render child); this module
keeps the rows and judges the facts, so the rules of the verdict live in one place:

- "differs" (shown as "Does not match"): the stored file is missing or changed, its signature is
  missing or broken, or its content is not what the audit chain renders now;
- "match": the content is the chain's and rendering again gives the very bytes recorded;
- "toolchain": the content is identical but the bytes differ because another toolchain drew them
  (another WeasyPrint, Pango or HarfBuzz, or fonts subset by fontTools instead of HarfBuzz-Subset);
- "content": the content is identical but the bytes differ with the same toolchain (worth a look,
  not a tampering);
- "reanchored": the stored file is intact, but it was rendered before the case's chain was re-anchored
  (cases.privacy.reseal): the rewritten events render other content, and the reseal queued a rendering
  that supersedes it; the offline verifier checks the stored file against the checkpoint signed before;
- a check that could not run (the renderer failed) is "failed" with the reason, never a verdict.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from case_types.errors import Conflict
from cases.clock import Clock, utcnow
from cases.models import AuditEvent, Document, DocumentCheck, User
from cases.uow import transaction
from verifier.casework_verify import REANCHORED_KIND

VERDICTS = ("match", "toolchain", "content", "reanchored", "differs")
HEADLINES = {
    "match": "OK: stored file intact and reproduced by the audit chain",
    "toolchain": "Rendered with a different toolchain; content identical",
    "content": "Content identical; rendering again gave other bytes with the same toolchain",
    "reanchored": "Rendered before the chain was re-anchored; superseded by the re-rendering",
    "differs": "Does not match",
}


@dataclass(frozen=True)
class CheckFacts:
    """What the web layer found: the stored file and a fresh rendering from the audit chain."""

    stored_sha256: str  # "" when the file is missing
    stored_content_sha256: str  # "" when unreadable
    signature_present: bool
    signature_valid: bool
    signature_trusted: bool  # pyHanko: its certificate chains to this instance's (information only)
    signer: str
    signer_sha256: str
    again_unsigned_sha256: str
    again_content_sha256: str
    again_toolchain: dict[str, str | None]
    problems: list[str] = field(default_factory=list)
    reanchored_at: str = ""  # the date the case's chain was re-anchored after the events the document covers


def request_check(session: Session, document: Document, actor: User, *, clock: Clock = utcnow) -> DocumentCheck:
    """Queue a check of a finished document; one still waiting for the worker is returned instead."""
    if document.status != "done" or not document.storage_name:
        raise Conflict("Only a finished document can be checked.")
    waiting = session.scalar(select(DocumentCheck).where(
        DocumentCheck.document_id == document.id, DocumentCheck.status.in_(("queued", "running"))))
    if waiting is not None:
        return waiting
    with transaction(session):
        check = DocumentCheck(document_id=document.id, status="queued", requested_by_id=actor.id, created_at=clock())
        session.add(check)
    return check


def latest_check(session: Session, document: Document) -> DocumentCheck | None:
    return session.scalar(select(DocumentCheck).where(DocumentCheck.document_id == document.id)
                          .order_by(DocumentCheck.id.desc()).limit(1))


def claim_check(session: Session, check_id: int, *, clock: Clock = utcnow) -> DocumentCheck | None:
    """Take a queued check (None if another worker has it or it is not queued)."""
    with transaction(session):
        check = session.scalar(select(DocumentCheck).where(DocumentCheck.id == check_id,
                                                           DocumentCheck.status == "queued")
                               .with_for_update(of=DocumentCheck))
        if check is None:
            return None
        check.status, check.started_at = "running", clock()
    return check


def judge(document: Document, facts: CheckFacts) -> tuple[str, list[str]]:
    """The verdict on `facts` about `document`, and the findings that led to it (sentences)."""
    findings: list[str] = list(facts.problems)
    if not facts.stored_sha256:
        findings.append("The stored file is missing.")
    elif facts.stored_sha256 != document.sha256:
        findings.append("The stored file differs from the recorded SHA-256.")
    if document.signer_sha256:
        if not facts.signature_present:
            findings.append("The stored file carries no signature, but it was signed when it was made.")
        elif not facts.signature_valid:
            findings.append("The stored file's signature is not valid.")
        elif facts.signer_sha256 != document.signer_sha256:
            findings.append("The stored file was signed by another certificate than the one that signed it when "
                            "it was made.")
    # Documents made before content digests were recorded: the intact stored file stands for itself.
    recorded_content = document.content_sha256 or (facts.stored_content_sha256 if not findings else "")
    if facts.stored_sha256 and facts.stored_content_sha256 != recorded_content:
        findings.append("The stored file's content differs from the content recorded when it was made.")
    stale = facts.again_content_sha256 != recorded_content
    if stale and not findings and facts.reanchored_at:
        return "reanchored", [
            f"The case's audit chain was re-anchored on {facts.reanchored_at} (personal values sealed out of the "
            "hashed payloads) after this document was rendered, so its rewritten events render other content; "
            "the stored file is intact and was made from the events as they were (the offline verifier checks "
            "it against the checkpoint signed before). The reseal queued a fresh rendering that supersedes it."]
    if stale:
        findings.append("The audit chain now renders different content (text, layout or embedded files).")
    if findings:
        return "differs", findings
    if facts.again_unsigned_sha256 == (document.unsigned_sha256 or document.sha256):
        return "match", ["Rendering again gave the same bytes."]
    if facts.again_toolchain != document.toolchain:
        return "toolchain", [f"Recorded toolchain: {describe(document.toolchain)}; "
                             f"this one: {describe(facts.again_toolchain)}."]
    return "content", ["The toolchain is the same, yet the bytes differ; the content is identical."]


def describe(toolchain: dict[str, str | None]) -> str:
    if not any(toolchain.values()):
        return "not recorded"
    subsetter = {"harfbuzz": "HarfBuzz-Subset", "fonttools": "fontTools"}.get(toolchain.get("font_subsetter") or "",
                                                                             "unknown")
    return (f"WeasyPrint {toolchain.get('weasyprint')}, Pango {toolchain.get('pango')}, "
            f"HarfBuzz {toolchain.get('harfbuzz')}, fonts subset with {subsetter}")


def reanchored_after(session: Session, document: Document) -> str:
    """The date (YYYY-MM-DD) the case's chain was re-anchored after the events `document` covers, or ""."""
    at = session.scalar(select(AuditEvent.at).where(
        AuditEvent.stream == f"case:{document.case_id}", AuditEvent.kind == REANCHORED_KIND,
        AuditEvent.seq > (document.chain_seq or 0)).order_by(AuditEvent.seq).limit(1))
    return at.date().isoformat() if at is not None else ""


def finish_check(session: Session, check: DocumentCheck, document: Document, facts: CheckFacts, *,
                 clock: Clock = utcnow) -> DocumentCheck:
    """Record the verdict on `facts` and the facts themselves."""
    verdict, findings = judge(document, facts)
    with transaction(session):
        check.status, check.verdict, check.finished_at = "done", verdict, clock()
        check.result = json.dumps({"findings": findings, "facts": asdict(facts)}, sort_keys=True)
    return check


def fail_check(session: Session, check: DocumentCheck, reason: str, *, clock: Clock = utcnow) -> DocumentCheck:
    """The check could not run (the renderer failed): no verdict, the reason."""
    with transaction(session):
        check.status, check.reason, check.finished_at = "failed", reason[:1000], clock()
    return check


def check_view(check: DocumentCheck | None) -> dict[str, Any] | None:
    """A check as the page and the API show it."""
    if check is None:
        return None
    result = json.loads(check.result) if check.result else {}
    return {"id": check.id, "status": check.status, "verdict": check.verdict,
            "headline": HEADLINES.get(check.verdict or "", ""), "reason": check.reason,
            "findings": result.get("findings", []), "facts": result.get("facts", {}),
            "created_at": check.created_at, "finished_at": check.finished_at,
            "pending": check.status in ("queued", "running")}
