"""Request and response bodies of the case-work operations (app.api.work), beside app.api.schemas."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from app.api.schemas import Email, Priority, Request, Response, Timestamp

Visibility = Literal["public", "internal"]
# Ids fit the database's integer columns: larger numbers are refused (422) before any query runs.
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class AssignBody(Request):
    assignee: Email | None = Field(max_length=254, description="An active agent's e-mail address, or null.")


class QueueBody(Request):
    queue: str = Field(min_length=1, max_length=64, examples=["escalations"], description="An active queue's slug.")


class PriorityBody(Request):
    priority: Priority


class QuestionBody(Request):
    question: str = Field(min_length=1, max_length=20_000, examples=["Could you send a photo of the label?"])


class AnswerBody(Request):
    answer: str = Field(min_length=1, max_length=20_000, examples=["Attached."])


class DataEditBody(Request):
    """The changed fields: those staff may edit in the case's current state (422 names any other)."""

    data: dict[str, Any] = Field(min_length=1, examples=[{"customer_tier": "gold"}])


class DecisionBody(Request):
    decision: Literal["approve", "reject"]
    comment: str = Field("", max_length=5_000)


class ApprovalOut(Response):
    id: int
    status: Literal["pending", "approved", "rejected", "cancelled"]
    role: str | None = Field(description="Who may decide: holders of this role (or the one named user).")
    on_approve: str | None
    on_reject: str | None
    requested_at: Timestamp
    may_decide: bool = Field(description="Whether the caller may decide it.")


class ApprovalEnvelope(Response):
    approval: ApprovalOut | None


class AttachmentOut(Response):
    id: int
    name: str
    size: int = Field(ge=0)
    content_type: str
    sha256: str
    visibility: Visibility
    uploaded_at: Timestamp
    download: str = Field(description="Where to download it.")


class AttachUploadsBody(Request):
    uploads: list[RowId] = Field(min_length=1, max_length=50, description="Ids of your own pending uploads.")
    visibility: Visibility = "public"
