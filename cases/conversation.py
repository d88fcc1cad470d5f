"""The conversation around a case: comments (public or internal), attached files, and the agent's
requests for information with the requester's answers; each one transaction with its audit events,
checked against the case's version like every other change (cases.lifecycle)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from case_types.errors import Conflict, NotFound, ValidationFailed
from cases import access, audit, automation, notifications
from cases.case_versions import case_spec
from cases.clock import Clock, utcnow
from cases.errors import PermissionDenied
from cases.lifecycle import MAX_COMMENT, case_change, notify_requester, require_staff, touch
from cases.models import (
    Case,
    Comment,
    StoredFile,
    User,
)
from cases.privacy.values import seal
from cases.uow import transaction
from forms.text import has_content, text_problem


def add_comment(session: Session, case: Case, actor: User, body: str, *, internal: bool = False,
                clock: Clock = utcnow) -> Comment:
    """A comment by staff (internal or visible to the requester) or by the requester while the case is open."""
    body = (body or "").strip()
    if not has_content(body):
        raise ValidationFailed("Write a comment first.", {"body": ["Write a comment first."]})
    problem = text_problem(body)
    if problem:
        raise ValidationFailed(problem, {"body": [problem]})
    if len(body) > MAX_COMMENT:
        raise ValidationFailed("The comment is too long.", {"body": [f"Use at most {MAX_COMMENT} characters."]})
    staff = access.is_staff_on(session, actor, case)
    if not staff:
        if case.requester_id != actor.id:
            raise PermissionDenied("You cannot comment on this case.")
        if not case.is_open:
            raise Conflict("The case is closed; reopen it to add a comment.")
        internal = False
    with transaction(session):
        comment = Comment(case_id=case.id, author_id=actor.id, body=body, internal=internal, created_at=clock())
        session.add(comment)
        session.flush()
        audit.append(session, case.stream, "case.commented",
                     {"comment_id": comment.id, "internal": internal,
                      "body": seal(session, body, path="body", case_id=case.id, clock=clock)}, actor=actor, clock=clock)
        if staff and not internal:
            notify_requester(session, case, "New message about your request",
                              f"{actor.name} wrote about {case.ref}:\n\n{body}", "case.commented", clock)
        elif not staff and case.assignee is not None:
            notifications.queue_message(session, to=case.assignee.email, subject=f"[{case.ref}] requester replied",
                                        body=body, reason="case.commented", case=case, clock=clock)
    return comment


def attach_files(session: Session, case: Case, actor: User, files: Sequence[StoredFile], *,
                 internal: bool = False, clock: Clock = utcnow) -> None:
    """Add already-stored uploads to an open case (staff, or its requester)."""
    staff = access.is_staff_on(session, actor, case)
    if not staff and case.requester_id != actor.id:
        raise PermissionDenied("You cannot add files to this case.")
    if not case.is_open:
        raise Conflict("The case is closed.")
    mine = [f for f in files if f.owner_id == actor.id and f.case_id is None and f.submission_id is None]
    if not mine:
        raise ValidationFailed("Choose a file to attach.", {"file": ["Choose a file to attach."]})
    with transaction(session):
        for stored in mine:
            stored.case_id = case.id
            stored.internal = internal and staff
        audit.append(session, case.stream, "case.file_attached",
                     {"files": [{"id": f.id, "size": f.size,
                                 "sha256": seal(session, f.sha256, path="file.sha256", case_id=case.id, clock=clock),
                                 "name": seal(session, f.original_name, path="file.name", case_id=case.id, clock=clock)}
                                for f in mine], "internal": internal and staff}, actor=actor, clock=clock)


def request_information(session: Session, case: Case, actor: User, question: str, *,
                        expected_version: int | None = None, clock: Clock = utcnow) -> Case:
    """Ask the requester something; the case waits (SLA paused) until they answer."""
    require_staff(session, actor, case)
    spec = case_spec(session, case)
    if spec.request_info_state is None:
        raise Conflict("This case type has no waiting state for requests for information.")
    if not case.is_open or case.state == spec.request_info_state:
        raise Conflict("The case is already waiting for the requester." if case.is_open else "The case is closed.")
    question = (question or "").strip()
    if not question:
        raise ValidationFailed("Write your question.", {"question": ["Write your question."]})
    source = case.state
    with case_change(session, case, expected_version):
        case.resume_state = source
        automation.enter_state(case, spec, spec.request_info_state, clock)
        touch(session, case, actor, clock)
        session.add(Comment(case_id=case.id, author_id=actor.id, body=question, internal=False, created_at=clock()))
        audit.append(session, case.stream, "case.info_requested",
                     {"question": seal(session, question, path="question", case_id=case.id, clock=clock),
                      "from": source, "to": case.state}, actor=actor, clock=clock)
        automation.state_entered(session, case, spec, source, clock)
        notify_requester(session, case, "We need more information",
                          f"{actor.name} asks about {case.ref}:\n\n{question}\n\nAnswer in the portal.",
                          "case.info_requested", clock)
    return case


def answer_information(session: Session, case: Case, actor: User, answer: str, *,
                       clock: Clock = utcnow) -> Case:
    """The requester answers; the case goes back to the state it was in when asked."""
    if case.requester_id != actor.id:
        raise PermissionDenied("Only the requester can answer.")
    spec = case_spec(session, case)
    if case.state != spec.request_info_state or not case.resume_state:
        raise Conflict("Nothing is waiting for your answer on this case.")
    answer = (answer or "").strip()
    if not answer:
        raise ValidationFailed("Write your answer.", {"answer": ["Write your answer."]})
    target = case.resume_state
    with case_change(session, case, None):
        waiting = case.state
        automation.enter_state(case, spec, target, clock)
        case.resume_state = None
        touch(session, case, actor, clock)
        session.add(Comment(case_id=case.id, author_id=actor.id, body=answer, internal=False, created_at=clock()))
        audit.append(session, case.stream, "case.info_provided",
                     {"answer": seal(session, answer, path="answer", case_id=case.id, clock=clock), "to": target},
                     actor=actor, clock=clock)
        automation.state_entered(session, case, spec, waiting, clock)
        if case.assignee is not None:
            notifications.queue_message(session, to=case.assignee.email, subject=f"[{case.ref}] requester answered",
                                        body=answer, reason="case.info_provided", case=case, clock=clock)
    return case


def comments_for(session: Session, case: Case, user: User) -> Sequence[Comment]:
    stmt = select(Comment).where(Comment.case_id == case.id).order_by(Comment.created_at, Comment.id)
    if not access.sees_internal(session, user, case):
        stmt = stmt.where(Comment.internal.is_(False))
    return session.scalars(stmt).all()


def files_for(session: Session, case: Case, user: User) -> Sequence[StoredFile]:
    stmt = select(StoredFile).where(StoredFile.case_id == case.id).order_by(StoredFile.id)
    if not access.sees_internal(session, user, case):
        stmt = stmt.where(StoredFile.internal.is_(False))
    return session.scalars(stmt).all()




def file_for(session: Session, file_id: int, user: User) -> StoredFile:
    """A case file `user` may download (internal ones only for staff and auditors); NotFound otherwise."""
    stored = session.get(StoredFile, file_id)
    if stored is None or stored.case_id is None:
        raise NotFound("No such file.")
    case = access.get_case_for(session, stored.case_id, user)
    if stored.internal and not access.sees_internal(session, user, case):
        raise NotFound("No such file.")
    return stored


def record_download(session: Session, case: Case, stored: StoredFile, user: User, *, clock: Clock = utcnow) -> None:
    """Downloads of case files are audit events too."""
    with transaction(session):
        audit.append(session, case.stream, "case.file_downloaded",
                     {"file": stored.id,
                      "sha256": seal(session, stored.sha256, path="file.sha256", case_id=case.id, clock=clock),
                      "name": seal(session, stored.original_name, path="file.name", case_id=case.id, clock=clock)},
                     actor=user, clock=clock)
