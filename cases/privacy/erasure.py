"""Erasure: destroy a person's personal values (or one case's) without changing any audit hash.

What is destroyed: the sealed values and their salts (``personal_values``), the case's personal form
answers, comment texts, started tasks' reasons, file names, digests and contents, the rendered documents
(deleted; a dossier is queued again and shows where values were erased and when), mail and webhook bodies
about the case, and for a person also their account's name and e-mail. What stays: states, times, counts,
queues and every audit event, so the chains, checkpoints and KPI figures are what they were. The erasure
itself is an audit event that names no erased value. Cases under a legal hold are refused.

Staff e-mail addresses are personal data of staff, kept on purpose: the audit chains name the staff who
acted (event actors, assignees) by their address, and that record of who did what in their role is what the
audit trail is for (GDPR Art. 17(3)(b) and (e): legal obligations and legal claims). Erasing a staff
account therefore closes it (no sign-in, name erased) but keeps its address, and the completion record
says so (`staff_email_kept`). What staff write about people (comments, reasons, answers) is sealed and
erased with the case like any personal value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from case_types.errors import Conflict
from cases import audit
from cases.case_versions import case_schema
from cases.clock import Clock, utcnow
from cases.documents import queue_dossier
from cases.models import (
    DOSSIER,
    ApiToken,
    Case,
    Comment,
    Document,
    IdempotencyKey,
    LoginSession,
    OutboxMessage,
    PendingRegistration,
    PersonalValue,
    StoredFile,
    Submission,
    Task,
    User,
    UserIdentity,
    WebhookDelivery,
)
from cases.privacy.access_requests import cases_of, normalised_email
from cases.privacy.holds import active_hold
from cases.privacy.keeping import why_kept
from cases.privacy.values import ERASED_KIND, STAFF_ROLES, erased_text
from cases.storage import FileStorage
from cases.uow import transaction

__all__ = ["CaseOnHold", "ErasedCase", "ErasureRecord", "anonymise_case", "erase_person"]

ERASURE_STREAM = "privacy:erasures"
"""The chain of erasures of people (each case's own erasure is also on the case's chain)."""
ERASED_NAME = "Erased person"


class CaseOnHold(Conflict):
    """The case is under a legal hold: nothing of it may be erased."""


@dataclass
class ErasedCase:
    """What was erased of one case."""

    ref: str
    values: int = 0
    fields: list[str] = field(default_factory=list)
    comments: int = 0
    files: int = 0
    documents: int = 0


@dataclass
class ErasureRecord:
    """The completion record of an erasure: what was erased, what was refused and why."""

    at: datetime
    reason: str
    cases: list[ErasedCase] = field(default_factory=list)
    held: list[tuple[str, str]] = field(default_factory=list)
    """(case reference, why) of cases left untouched: a legal hold, or a retention schedule that keeps them."""
    account: bool = False
    account_values: int = 0
    staff_email_kept: bool = False
    """A staff account: its e-mail stays as the audit trail's record of what it did in its role."""
    submissions: int = 0
    """Form submissions (outside any case) whose answers and files were erased."""
    # Stored files and documents to remove from disk once the erasure has committed.
    _file_names: list[str] = field(default_factory=list, repr=False)
    _document_names: list[str] = field(default_factory=list, repr=False)
    _dossiers: list[int] = field(default_factory=list, repr=False)

    @property
    def values(self) -> int:
        return self.account_values + sum(c.values for c in self.cases)

    def as_json(self) -> dict[str, object]:
        """The record as a downloadable document (no erased value in it)."""
        return {"at": self.at.isoformat(), "reason": self.reason, "values": self.values,
                "account_erased": self.account, "staff_email_kept": self.staff_email_kept,
                "submissions": self.submissions,
                "held": [{"ref": r, "hold": h} for r, h in self.held],
                "cases": [{"ref": c.ref, "values": c.values, "fields": c.fields, "comments": c.comments,
                           "files": c.files, "documents": c.documents} for c in self.cases]}


def anonymise_case(session: Session, case: Case, actor: User | None, *, clock: Clock = utcnow, reason: str,
                   files: FileStorage | None = None, documents: FileStorage | None = None) -> ErasedCase:
    """Erase every personal value of one case (the retention sweep's anonymisation); CaseOnHold if held."""
    record = ErasureRecord(at=clock(), reason=reason)
    with transaction(session):
        erased = _anonymise(session, case, actor, clock=clock, reason=reason, record=record)
    _after_commit(session, record, files=files, documents=documents, clock=clock)
    return erased


def erase_person(session: Session, email: str, actor: User | None, *, clock: Clock = utcnow, reason: str,
                 files: FileStorage, documents: FileStorage) -> ErasureRecord:
    """Erase the personal values of every case of `email` and their account, in one transaction.

    Cases under a legal hold or kept by their case type's retention schedule are left untouched and
    listed; the account is then kept too (those cases still name it). Returns the completion record."""
    email = normalised_email(email)
    record = ErasureRecord(at=clock(), reason=reason)
    with transaction(session):
        cases = cases_of(session, email)
        for case in cases:
            kept = why_kept(session, case, now=record.at)
            if kept is not None:
                record.held.append((case.ref, kept))
                continue
            record.cases.append(_anonymise(session, case, actor, clock=clock, reason=reason, record=record))
        user = session.scalar(select(User).where(User.email == email))
        record.submissions = _erase_submissions(session, email, user, record, reason=reason)
        if user is not None and not record.held:
            record.account_values = _erase_account(session, user, clock=clock, reason=reason)
            record.staff_email_kept = bool(user.roles & STAFF_ROLES)
            record.account = True
        session.execute(delete(PendingRegistration).where(func.lower(PendingRegistration.email) == email))
        session.execute(delete(OutboxMessage).where(func.lower(OutboxMessage.to) == email))
        audit.append(session, ERASURE_STREAM, "privacy.person_erased",
                     {"cases": [c.ref for c in record.cases], "held": [r for r, _ in record.held],
                      "account": user.id if user is not None and record.account else None,
                      "values": record.values, "reason": reason}, actor=actor, clock=clock)
    _after_commit(session, record, files=files, documents=documents, clock=clock)
    return record


def _erase_values(session: Session, *, now: datetime, reason: str, case_id: int | None = None,
                  user_id: int | None = None) -> list[str]:
    """Clear value and salt of the matching sealed values; the paths of those erased."""
    whose = PersonalValue.case_id == case_id if case_id is not None else PersonalValue.user_id == user_id
    where: list[ColumnElement[bool]] = [PersonalValue.erased_at.is_(None), whose]
    paths = list(session.scalars(select(PersonalValue.path).where(*where)))
    session.execute(update(PersonalValue).where(*where)
                    .values(value=None, salt=None, erased_at=now, erasure_reason=reason[:200]))
    return paths


def _anonymise(session: Session, case: Case, actor: User | None, *, clock: Clock, reason: str,
               record: ErasureRecord) -> ErasedCase:
    hold = active_hold(session, case)
    if hold is not None:
        raise CaseOnHold(f"{case.ref} is under a legal hold ({hold.reason}); nothing of it was erased.")
    now = record.at
    erased = ErasedCase(case.ref)
    paths = _erase_values(session, now=now, reason=reason, case_id=case.id)
    erased.values = len(paths)
    erased.fields = _erase_case_data(case)
    erased.comments = _erase_comments(session, case, now)
    session.execute(update(Task).where(Task.case_id == case.id, Task.reason != "").values(reason=erased_text(now)))
    erased.files = _erase_files(session, case, record)
    erased.documents = _erase_documents(session, case, record, now)
    session.execute(delete(OutboxMessage).where(OutboxMessage.case_id == case.id))
    session.execute(update(WebhookDelivery).where(WebhookDelivery.case_id == case.id)
                    .values(payload=json.dumps({"erased": erased_text(now)})))
    if case.requester_id is not None:
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == case.requester_id))
    case.contact_email = ""
    audit.append(session, case.stream, ERASED_KIND,
                 {"values": erased.values, "fields": erased.fields, "comments": erased.comments,
                  "files": erased.files, "documents": erased.documents, "reason": reason},
                 actor=actor, clock=clock)
    return erased


def _erase_case_data(case: Case) -> list[str]:
    """Remove the personal answers from the case's data; the keys removed."""
    schema = case_schema(case)
    data = json.loads(case.data)
    removed = sorted(k for k in schema.personal_keys if data.get(k) not in (None, "", []))
    for key in removed:
        data.pop(key, None)
    case.data = json.dumps(data)
    case.summary = next((str(data[s.key]).strip().splitlines()[0][:200] for s in schema.fields
                         if s.family == "text" and s.type != "email" and not s.personal
                         and isinstance(data.get(s.key), str) and data[s.key].strip()), "")
    return removed


def _erase_comments(session: Session, case: Case, now: datetime) -> int:
    result = session.execute(update(Comment).where(Comment.case_id == case.id).values(body=erased_text(now)))
    return int(getattr(result, "rowcount", 0) or 0)


def _erase_files(session: Session, case: Case, record: ErasureRecord) -> int:
    submission_ids = select(StoredFile.submission_id).where(StoredFile.case_id == case.id)
    stored = list(session.scalars(select(StoredFile).where(
        or_(StoredFile.case_id == case.id, StoredFile.submission_id.in_(submission_ids)))))
    for row in stored:
        if row.original_name != "erased":
            record._file_names.append(row.storage_name)
        row.original_name, row.sha256 = "erased", ""  # a small file's digest identifies it
    for submission in session.scalars(select(Submission).where(Submission.id.in_(submission_ids))):
        submission.data, submission.contact_email = "{}", ""
    return len(stored)


def _erase_documents(session: Session, case: Case, record: ErasureRecord, now: datetime) -> int:
    rows: Sequence[Document] = session.scalars(select(Document).where(Document.case_id == case.id)).all()
    count = 0
    for document in rows:
        if document.storage_name:
            record._document_names.append(document.storage_name)
            count += 1
        if document.kind == DOSSIER and document.status == "done" and case.id not in record._dossiers:
            record._dossiers.append(case.id)
        document.storage_name = None
        document.status = "failed"
        document.reason = f"Deleted when the case's personal data was erased ({erased_text(now)})."
    return count


def _erase_submissions(session: Session, email: str, user: User | None, record: ErasureRecord, *,
                       reason: str) -> int:
    """Erase the person's plain form submissions: their sealed answers, stored data and files."""
    whose = func.lower(Submission.contact_email) == email
    if user is not None:
        whose = or_(whose, Submission.requester_id == user.id)
    rows = list(session.scalars(select(Submission).where(whose)))
    for submission in rows:
        session.execute(update(PersonalValue)
                        .where(PersonalValue.path.startswith(f"{submission.stream}."),
                               PersonalValue.erased_at.is_(None))
                        .values(value=None, salt=None, erased_at=record.at, erasure_reason=reason[:200]))
        submission.data, submission.contact_email = "{}", ""
        for stored in session.scalars(select(StoredFile).where(StoredFile.submission_id == submission.id)):
            if stored.original_name != "erased":
                record._file_names.append(stored.storage_name)
            stored.original_name, stored.sha256 = "erased", ""
    return len(rows)


def _erase_account(session: Session, user: User, *, clock: Clock, reason: str) -> int:
    count = len(_erase_values(session, now=clock(), reason=reason, user_id=user.id))
    if not user.roles & STAFF_ROLES:  # staff keep their address: the chains name them by it (module docstring)
        user.email = f"erased-{user.id}@erased.invalid"
    user.name = ERASED_NAME
    user.password_hash = "!"  # noqa: S105 - no password hash matches it: the account cannot sign in
    user.active = False
    for model in (LoginSession, ApiToken, UserIdentity):
        session.execute(delete(model).where(model.user_id == user.id))
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == user.id))
    return count


def _after_commit(session: Session, record: ErasureRecord, *, files: FileStorage | None,
                  documents: FileStorage | None, clock: Clock) -> None:
    """Remove the erased files and documents from disk and queue fresh dossiers (without the values).

    Without a store (a caller that has none) the rows already name no file: the bytes stay until the
    store's own sweep; every caller in Casework passes both."""
    if files is not None:
        for name in record._file_names:
            files.delete(name)
    if documents is not None:
        for name in record._document_names:
            documents.delete(name)
    for case_id in record._dossiers:
        case = session.get(Case, case_id)
        if case is not None:
            queue_dossier(session, case, clock=clock)
