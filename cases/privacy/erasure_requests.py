"""Erasure requests: an admin records one for an e-mail address, reviews what mentions the person and what
must be kept (and why), erases, and keeps the completion record.

Recording and completing are audited on the request's own stream with no personal value in the payload;
once done the request keeps only the SHA-256 of the address, so the record names no erased value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from case_types.errors import NotFound, ValidationFailed
from cases import audit
from cases.clock import Clock, utcnow
from cases.errors import PermissionDenied
from cases.models import Case, ErasureRequest, Role, StoredFile, User
from cases.privacy.access_requests import cases_mentioning, cases_of, normalised_email
from cases.privacy.keeping import why_kept
from cases.uow import transaction

MAX_NOTE = 2000


def _stream(request: ErasureRequest) -> str:
    return f"erasure_request:{request.id}"


def _require_admin(actor: User) -> None:
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied("Only admins process erasure requests.")


def record_request(session: Session, email: str, *, note: str = "", actor: User,
                   clock: Clock = utcnow) -> ErasureRequest:
    """Record that the person with this address asked to be erased (how they asked goes in `note`)."""
    _require_admin(actor)
    email = normalised_email(email)
    if len(note) > MAX_NOTE:
        raise ValidationFailed("The note is too long.", {"note": [f"Use at most {MAX_NOTE} characters."]})
    with transaction(session):
        request = ErasureRequest(email=email, note=note.strip(), recorded_by_id=actor.id, recorded_at=clock())
        session.add(request)
        session.flush()
        audit.append(session, _stream(request), "erasure_request.recorded", {"request": request.id}, actor=actor,
                     clock=clock, fresh=True)
    return request


def list_requests(session: Session) -> Sequence[ErasureRequest]:
    """Open requests first, then done ones; newest first within each."""
    return session.scalars(select(ErasureRequest).order_by(ErasureRequest.done_at.is_not(None),
                                                           ErasureRequest.id.desc())).all()


def get_request(session: Session, request_id: int) -> ErasureRequest:
    request = session.get(ErasureRequest, request_id)
    if request is None:
        raise NotFound("No such erasure request.")
    return request


@dataclass(frozen=True)
class ReviewedCase:
    case: Case
    files: list[str]
    kept: str | None  # why it must be kept now; None: it will be erased


@dataclass(frozen=True)
class Review:
    """What an erasure would touch: the person's cases (with files and reasons to keep), and other people's
    cases that mention the address (shown for a decision, never erased with the person)."""

    cases: list[ReviewedCase]
    mentions: list[Case]

    @property
    def erasable(self) -> list[ReviewedCase]:
        return [c for c in self.cases if c.kept is None]

    @property
    def kept(self) -> list[ReviewedCase]:
        return [c for c in self.cases if c.kept is not None]


def review(session: Session, request: ErasureRequest, *, now: datetime) -> Review:
    if request.done:
        return Review([], [])
    cases = cases_of(session, request.email)
    names: dict[int, list[str]] = {}
    for case_id, name in session.execute(select(StoredFile.case_id, StoredFile.original_name)
                                         .where(StoredFile.case_id.in_([c.id for c in cases]))
                                         .order_by(StoredFile.id)):
        if case_id is not None:
            names.setdefault(case_id, []).append(name)
    return Review([ReviewedCase(c, names.get(c.id, []), why_kept(session, c, now=now)) for c in cases],
                  cases_mentioning(session, request.email))


def complete(session: Session, request: ErasureRequest, record: Mapping[str, Any], *, actor: User,
             clock: Clock = utcnow) -> ErasureRequest:
    """Keep the completion record and forget the address (only its SHA-256 stays)."""
    _require_admin(actor)
    with transaction(session):
        if request.done:
            raise ValidationFailed("This request was already processed.")
        request.email = "sha256:" + hashlib.sha256(request.email.encode()).hexdigest()
        request.done_at, request.done_by_id = clock(), actor.id
        request.record = json.dumps({"request": request.id, "recorded_at": request.recorded_at.isoformat(),
                                     "done_at": request.done_at.isoformat(), "by": actor.email, **record},
                                    indent=2, sort_keys=True)
        audit.append(session, _stream(request), "erasure_request.completed",
                     {"cases": len(record.get("cases", [])), "kept": len(record.get("held", []))},
                     actor=actor, clock=clock)
    return request
