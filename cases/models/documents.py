"""Generated documents: one row per PDF a case has (or will have), from queued to stored or failed.

The file itself lives outside the database under `storage_name` (random, never from user input); the
row says what it is (the case dossier or a template of the case type, draft or final), what it covers
(the audit chain of the case up to `chain_seq` / `chain_head`) and how to check it (`sha256`).
Life of a row (cases/documents.py): queued -> rendering -> done, or -> failed with a `reason`; an admin's
retry puts a failed row back to queued.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.models.accounts import User
from cases.models.base import Base

DOCUMENT_STATUSES = ("queued", "rendering", "done", "failed")
DOSSIER = "dossier"


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'rendering', 'done', 'failed')", name="status_known"),
        Index("ix_documents_case_created", "case_id", "created_at"),
        Index("ix_documents_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    # "dossier", or the name of one of the case type's document templates.
    kind: Mapped[str] = mapped_column(String(100))
    # A draft is rendered on request from an open case and marked DRAFT on every page.
    draft: Mapped[bool] = mapped_column(Boolean, default=False)
    # Staff only: the dossier always, templates marked internal; requesters never see these rows.
    internal: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # What it was made from: the case's pinned case-type version and, for templates, the template's version.
    case_type_version: Mapped[int] = mapped_column(Integer)
    template_version: Mapped[int | None] = mapped_column(Integer)
    # The part of the case's audit chain it covers: events 1..chain_seq, the last one's hash.
    chain_seq: Mapped[int | None] = mapped_column(Integer)
    chain_head: Mapped[str | None] = mapped_column(String(64))
    storage_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The file as delivered (signed: it changes with every signature).
    sha256: Mapped[str | None] = mapped_column(String(64))
    # What a check compares instead: the unsigned rendering's bytes and the canonical content digest
    # (text, layout, embedded files; app.documents.content), and the certificate that signed it.
    unsigned_sha256: Mapped[str | None] = mapped_column(String(64))
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    signer_sha256: Mapped[str | None] = mapped_column(String(64))
    # The toolchain that drew it: same inputs and same toolchain give the same unsigned bytes.
    weasyprint_version: Mapped[str | None] = mapped_column(String(32))
    pango_version: Mapped[str | None] = mapped_column(String(32))
    harfbuzz_version: Mapped[str | None] = mapped_column(String(32))
    font_subsetter: Mapped[str | None] = mapped_column(String(16))
    size: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    rendered_at: Mapped[datetime | None]
    # Who asked for it; None when the case's closing queued it.
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    requested_by: Mapped[User | None] = relationship()

    @property
    def is_dossier(self) -> bool:
        return self.kind == DOSSIER

    @property
    def toolchain(self) -> dict[str, str | None]:
        return {"weasyprint": self.weasyprint_version, "pango": self.pango_version,
                "harfbuzz": self.harfbuzz_version, "font_subsetter": self.font_subsetter}


CHECK_STATUSES = ("queued", "running", "done", "failed")


class DocumentCheck(Base):
    """An auditor's check of a stored document, run as a background job (cases/document_checks.py).

    `verdict` once done: "match" (same bytes), "toolchain" (other bytes from another toolchain, same
    content), "content" (other bytes, same toolchain, same content) or "differs"; `result` the findings
    as JSON.
    """

    __tablename__ = "document_checks"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status_known"),
        Index("ix_document_checks_document", "document_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    verdict: Mapped[str | None] = mapped_column(String(16))
    result: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    requested_by: Mapped[User | None] = relationship()
