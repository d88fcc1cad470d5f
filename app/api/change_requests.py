"""API: four-eyes change requests, as the review pages do them (admins): submit a draft for review with a
note, list and read them (with the readable diff and the back-test of changed rules), approve or reject with
a comment, publish, schedule (business-calendar aware) and cancel the schedule, withdraw."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy import select

from app.api.base import api_user, bp, paginate
from app.api.openapi import operation
from app.api.schemas import Page, PageQuery, Prose, Request, Response, Timestamp
from app.extensions import db
from case_types.errors import NotFound, ValidationFailed
from cases import change_requests, definitions
from cases.models import ChangeRequest
from cases.rule_backtest import Backtest

Slug = Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Status = Literal["pending", "approved", "rejected", "withdrawn", "published"]
TAGS = ["change-requests"]
ERRORS = (403, 404, 409, 422)


class ChangeListQuery(PageQuery):
    status: Literal["open", "any", "pending", "approved", "rejected", "withdrawn", "published"] = Field(
        "open", description="`open` (waiting for review or publishing, the default), `any`, or one status.")


class SubmitBody(Request):
    kind: Literal["form", "case_type"]
    slug: Slug
    note: Prose = Field("", max_length=change_requests.MAX_NOTE, description="What changes and why.")
    expected_revision: int | None = Field(None, ge=0, le=2**31 - 1, description="The draft revision you reviewed "
                                                                                "yourself; 409 if it changed since.")


class CommentBody(Request):
    comment: Prose = Field("", max_length=change_requests.MAX_NOTE,
                           description="The reviewer's comment (required to reject).")


class ScheduleBody(Request):
    publish_at: Timestamp | None = Field(None, description="When it takes effect (ISO 8601 with offset).")
    next_business_day: bool = Field(False, description="Instead: at the opening of the case type's next "
                                                       "business day.")
    outside_hours: Literal["refuse", "next_opening"] = Field(
        "refuse", description="A time outside the case type's working hours is refused, or moved to the next "
                              "opening.")


class ChangeOut(Response):
    id: int
    kind: Literal["form", "case_type"]
    slug: str
    title: str
    status: Status
    note: str
    draft_revision: int
    submitted_by: str | None
    submitted_at: Timestamp
    decided_by: str | None
    decided_at: Timestamp | None
    comment: str
    publish_at: Timestamp | None
    version: int | None = Field(description="The version it was published as.")
    changes: list[str] = Field(description="What it changes, in words, against the latest published version.")


class BacktestCaseOut(Response):
    ref: str
    before: list[str]
    after: list[str]


class BacktestOut(Response):
    trigger: str
    basis: str
    blocked: str
    published_version: int | None
    evaluated: int
    changed: int
    unchanged: int
    cases: list[BacktestCaseOut] = Field(description="The cases the new rules decide differently.")
    notes: list[str]


class ChangeDetail(ChangeOut):
    review_required: bool
    stale: bool = Field(description="The draft was edited since it was submitted: it can no longer be published.")
    backtest: BacktestOut | None = Field(description="For a case type whose rules change: the new rules against "
                                                     "the published ones on recent cases.")


class ScheduledOut(ChangeOut):
    local: str | None = Field(description="When it takes effect in the case type's calendar, in words.")


def _time(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _change_json(change: ChangeRequest) -> dict[str, Any]:
    definition = change.definition
    return {"id": change.id, "kind": definition.kind, "slug": definition.slug, "title": definition.title,
            "status": change.status, "note": change.note, "draft_revision": change.draft_revision,
            "submitted_by": change.submitted_by.email if change.submitted_by else None,
            "submitted_at": change.submitted_at.isoformat(),
            "decided_by": change.decided_by.email if change.decided_by else None,
            "decided_at": _time(change.decided_at), "comment": change.decision_comment,
            "publish_at": _time(change.publish_at), "version": change.version_number,
            "changes": change_requests.changes(change)}


def _backtest_json(report: Backtest | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {"trigger": report.trigger, "basis": report.basis, "blocked": report.blocked,
            "published_version": report.published_version, "evaluated": report.evaluated,
            "changed": report.changed, "unchanged": report.unchanged, "notes": list(report.notes),
            "cases": [{"ref": c.ref, "before": list(c.before.decisions), "after": list(c.after.decisions)}
                      for c in report.changes]}


def _detail(change: ChangeRequest) -> dict[str, Any]:
    return {**_change_json(change), "review_required": definitions.review_required(db.session, change.definition),
            "stale": change.is_open and change.draft_revision != change.definition.draft_revision,
            "backtest": _backtest_json(change_requests.backtest(db.session, change))}


@bp.get("/change-requests")
@operation("List change requests", query=ChangeListQuery, response=Page[ChangeOut], errors=(400, 403), tags=TAGS,
           only="admin")
def list_change_requests(query: ChangeListQuery) -> Any:
    """Admins: change requests, newest first; by default the ones waiting for review or publishing."""
    stmt = select(ChangeRequest).order_by(ChangeRequest.id.desc())
    if query.status == "open":
        stmt = stmt.where(ChangeRequest.status.in_(("pending", "approved")))
    elif query.status != "any":
        stmt = stmt.where(ChangeRequest.status == query.status)
    return paginate(stmt, _change_json)


@bp.post("/change-requests")
@operation("Submit a draft for review", body=SubmitBody, response=ChangeDetail, status=201, errors=ERRORS,
           tags=TAGS, only="admin")
def submit_change_request(body: SubmitBody) -> Any:
    """Admins: a snapshot of the definition's draft goes to review; another admin approves it when review
    is required."""
    definition = definitions.find_definition(db.session, body.kind, body.slug)
    if definition is None:
        raise NotFound(f"No {body.kind.replace('_', ' ')} has the short name {body.slug!r}.")
    change = change_requests.submit(db.session, definition, note=body.note, actor=api_user(),
                                    expected_revision=body.expected_revision)
    return _detail(change)


@bp.get("/change-requests/<int:change_id>")
@operation("Read a change request", response=ChangeDetail, errors=(403, 404), tags=TAGS, only="admin")
def get_change_request(change_id: int) -> Any:
    """Admins: the change with what it changes in words and, for changed rules, the back-test."""
    return _detail(change_requests.get(db.session, change_id))


@bp.post("/change-requests/<int:change_id>/approve")
@operation("Approve a change request", body=CommentBody, response=ChangeOut, errors=ERRORS, tags=TAGS,
           only="admin")
def approve_change_request(change_id: int, body: CommentBody) -> Any:
    """Admins: approve (not your own change while review is required); it can then be published or scheduled."""
    change = change_requests.get(db.session, change_id)
    change_requests.approve(db.session, change, actor=api_user(), comment=body.comment)
    return _change_json(change)


@bp.post("/change-requests/<int:change_id>/reject")
@operation("Reject a change request", body=CommentBody, response=ChangeOut, errors=ERRORS, tags=TAGS,
           only="admin")
def reject_change_request(change_id: int, body: CommentBody) -> Any:
    """Admins: reject with a comment saying why; the draft is kept as it is."""
    change = change_requests.get(db.session, change_id)
    change_requests.reject(db.session, change, actor=api_user(), comment=body.comment)
    return _change_json(change)


@bp.post("/change-requests/<int:change_id>/publish")
@operation("Publish an approved change request", response=ChangeOut, errors=(403, 404, 409), tags=TAGS,
           only="admin")
def publish_change_request(change_id: int) -> Any:
    """Admins: publish exactly the approved snapshot as a new version now."""
    change = change_requests.get(db.session, change_id)
    change_requests.publish(db.session, change, actor=api_user())
    return _change_json(change)


def _publish_at(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise ValidationFailed("Give the time with its offset, like 2026-12-07T09:00:00+00:00.",
                               {"publish_at": ["Give an ISO 8601 date and time with its offset."]})
    return at


@bp.post("/change-requests/<int:change_id>/schedule")
@operation("Schedule an approved change request", body=ScheduleBody, response=ScheduledOut, errors=ERRORS,
           tags=TAGS, only="admin")
def schedule_change_request(change_id: int, body: ScheduleBody) -> Any:
    """Admins: the approved change takes effect at the time given (or the next business day's opening); the
    periodic sweep publishes it then. A case type's times follow its business calendar."""
    change = change_requests.get(db.session, change_id)
    at = change_requests.schedule(db.session, change, at=_publish_at(body.publish_at),
                                  next_business_day=body.next_business_day, outside_hours=body.outside_hours,
                                  actor=api_user())
    calendar = change_requests.publishing_calendar(change)
    return {**_change_json(change), "local": calendar.local(at) if calendar else None}


@bp.post("/change-requests/<int:change_id>/cancel-schedule")
@operation("Cancel the schedule of a change request", response=ChangeOut, errors=(403, 404, 409), tags=TAGS,
           only="admin")
def cancel_change_request_schedule(change_id: int) -> Any:
    """Admins: the change stays approved, to be published or scheduled again."""
    change = change_requests.get(db.session, change_id)
    change_requests.cancel_schedule(db.session, change, actor=api_user())
    return _change_json(change)


@bp.post("/change-requests/<int:change_id>/withdraw")
@operation("Withdraw a change request", response=ChangeOut, errors=(403, 404, 409), tags=TAGS, only="admin")
def withdraw_change_request(change_id: int) -> Any:
    """Admins: take back a change waiting for review or publishing (its schedule goes with it)."""
    change = change_requests.get(db.session, change_id)
    change_requests.withdraw(db.session, change, actor=api_user())
    return _change_json(change)

