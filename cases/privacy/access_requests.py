"""Access requests: everything Casework holds about one person, found by their e-mail address only.

A person is their e-mail address: the cases they filed (as a logged-in requester or through a public form
with that contact address), what those cases hold (data, comments the requester may see, files) and their
account. Two people with the same name never mix; a case of someone else that merely mentions the address
is listed for the erasure page (`cases_mentioning`) but never exported, since it is the other person's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from case_types.errors import ValidationFailed
from cases.audit import jsonable
from cases.case_versions import case_data, case_schema, case_spec
from cases.models import Case, Comment, StoredFile, User
from forms.display import display_rows

MAX_EMAIL = 254


def normalised_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not email or "@" not in email or len(email) > MAX_EMAIL:
        raise ValidationFailed("Enter the person's e-mail address.", {"email": ["Enter an e-mail address."]})
    return email


def _account(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email))


def cases_of(session: Session, email: str) -> list[Case]:
    """The cases the person filed: as the logged-in requester or with this contact address."""
    account = _account(session, email)
    clauses = [Case.contact_email == email]
    if account is not None:
        clauses.append(Case.requester_id == account.id)
    return list(session.scalars(select(Case).where(or_(*clauses)).order_by(Case.created_at, Case.id)))


def mentions_address(text: str, email: str) -> bool:
    """Whether `text` holds the address as a whole address: ``o.riley@x.org`` or ``riley@x.org.au`` (a
    namesake's) do not mention ``riley@x.org``."""
    pattern = r"(?<![\w.%+-])" + re.escape(email) + r"(?![\w-]|\.\w)"
    return re.search(pattern, text, re.IGNORECASE) is not None


def cases_mentioning(session: Session, email: str) -> list[Case]:
    """Cases of other people whose data holds the address (the erasure page shows them for a decision).

    The database narrows by substring; the whole-address test then drops namesakes' similar addresses."""
    own = {c.id for c in cases_of(session, email)}
    term = email.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    found = session.scalars(select(Case).where(Case.data.ilike(f"%{term}%", escape="\\")).order_by(Case.id))
    return [c for c in found if c.id not in own and mentions_address(c.data, email)]


@dataclass(frozen=True)
class ExportedFile:
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    storage_name: str
    archive_name: str


@dataclass(frozen=True)
class ExportedCase:
    ref: str
    case_type: str
    state: str
    filed_at: datetime
    closed_at: datetime | None
    data: dict[str, Any]
    fields: list[tuple[str, str]]
    comments: list[dict[str, Any]]
    files: list[ExportedFile]


@dataclass(frozen=True)
class PersonExport:
    email: str
    generated_at: datetime
    account: dict[str, Any] | None
    cases: list[ExportedCase] = field(default_factory=list)

    @property
    def files(self) -> list[ExportedFile]:
        return [f for c in self.cases for f in c.files]

    def as_json(self) -> bytes:
        """The machine-readable part of the export (person.json)."""
        return json.dumps(jsonable({
            "email": self.email, "generated_at": self.generated_at, "account": self.account,
            "cases": [{"ref": c.ref, "case_type": c.case_type, "state": c.state, "filed_at": c.filed_at,
                       "closed_at": c.closed_at, "data": c.data, "comments": c.comments,
                       "files": [{"id": f.id, "name": f.name, "content_type": f.content_type, "size": f.size,
                                  "sha256": f.sha256, "in_archive": f.archive_name} for f in c.files]}
                      for c in self.cases]}), indent=2, ensure_ascii=False).encode()


def _comments(session: Session, case: Case, account: User | None) -> list[dict[str, Any]]:
    """What the requester sees on their case, plus anything they wrote (never staff-internal notes)."""
    rows = session.scalars(select(Comment).where(Comment.case_id == case.id).order_by(Comment.created_at,
                                                                                       Comment.id))
    mine = account.id if account is not None else None
    return [{"at": c.created_at, "by": "you" if mine is not None and c.author_id == mine else "support team",
             "body": c.body} for c in rows if not c.internal or (mine is not None and c.author_id == mine)]


def _files(session: Session, case: Case) -> list[ExportedFile]:
    rows = session.scalars(select(StoredFile).where(StoredFile.case_id == case.id, StoredFile.internal.is_(False))
                           .order_by(StoredFile.id))
    return [ExportedFile(f.id, f.original_name, f.content_type, f.size, f.sha256, f.storage_name,
                         f"files/{case.ref}/{f.id}-{_safe(f.original_name)}") for f in rows]


def _safe(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)[:100].lstrip(".")
    return cleaned or "file"


def export_person(session: Session, email: str, *, now: datetime) -> PersonExport:
    """Everything of one person (access request), by e-mail address."""
    email = normalised_email(email)
    account = _account(session, email)
    cases = []
    for case in cases_of(session, email):
        spec = case_spec(session, case)
        data = case_data(case)
        rows = display_rows(case_schema(case), data)
        cases.append(ExportedCase(
            ref=case.ref, case_type=spec.name, state=spec.state(case.state).label, filed_at=case.created_at,
            closed_at=case.closed_at, data=data, fields=[(r.label, r.text) for r in rows],
            comments=_comments(session, case, account), files=_files(session, case)))
    account_facts = None if account is None else {
        "name": account.name, "email": account.email, "roles": sorted(r.value for r in account.roles),
        "active": account.active}
    return PersonExport(email=email, generated_at=now, account=account_facts, cases=cases)
