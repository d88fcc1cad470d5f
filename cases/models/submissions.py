"""What requesters filed, and the files they uploaded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.models.accounts import User
from cases.models.base import Base
from cases.models.definitions import Definition, DefinitionVersion


class Submission(Base):
    """One filed form: clean data validated against the pinned version, never edited afterwards."""

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_requester_id", "requester_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The form (a definition of kind "form") and the published version it was validated against.
    form_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    form_version_id: Mapped[int] = mapped_column(ForeignKey("definition_versions.id"))
    data: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime]
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # For anonymous (public) submissions: the e-mail they gave, and the hash of their tracking token.
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    tracking_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    form: Mapped[Definition] = relationship(lazy="joined")
    version: Mapped[DefinitionVersion] = relationship(lazy="joined")
    requester: Mapped[User | None] = relationship(lazy="joined")
    files: Mapped[list[StoredFile]] = relationship(back_populates="submission", lazy="selectin")

    @property
    def stream(self) -> str:
        """The submission's audit stream."""
        return f"submission:{self.id}"


class StoredFile(Base):
    """An uploaded file. Stored under `storage_name` (random); the original name is metadata only."""

    __tablename__ = "stored_files"
    __table_args__ = (
        Index("ix_stored_files_submission_id", "submission_id"),
        # The upload quota counts a person's pending files; the sweep finds old pending files.
        Index("ix_stored_files_owner_id", "owner_id"),
        Index("ix_stored_files_pending", "uploaded_at", sqlite_where=text("case_id IS NULL AND submission_id IS NULL"),
              postgresql_where=text("case_id IS NULL AND submission_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime]
    # Who may attach it while it is pending: a user, or an anonymous visitor's session key.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    owner_key: Mapped[str] = mapped_column(String(64), default="")
    field_key: Mapped[str] = mapped_column(String(64), default="")
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    # Files added to a case after filing (by agents or the requester).
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # Internal attachments are for staff only.
    internal: Mapped[bool] = mapped_column(default=False, server_default=false())

    submission: Mapped[Submission | None] = relationship(back_populates="files")

    def ref(self) -> dict[str, object]:
        """The reference kept in form data (what forms.validation expects for file fields)."""
        return {"id": self.id, "name": self.original_name, "size": self.size, "content_type": self.content_type}
