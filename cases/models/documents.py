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
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    rendered_at: Mapped[datetime | None]
    # Who asked for it; None when the case's closing queued it.
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    requested_by: Mapped[User | None] = relationship()

    @property
    def is_dossier(self) -> bool:
        return self.kind == DOSSIER
