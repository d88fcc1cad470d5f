"""The request and response bodies of the REST API as pydantic models: the routes parse and serialise
through them (app.api.openapi.operation), and the OpenAPI document is generated from them.

Request bodies are strict (a string is a string, a boolean a boolean) and refuse keys they do not know,
so a typo is a 422 naming it rather than silently ignored. Case data stays an open object here: its
fields are the form's and are validated by forms.validation (numbers may arrive as Decimal, never
rounded through a float); GET /case-types/<slug>/schema.json describes them per case type.
Response models forbid unknown keys too, so a route cannot answer anything its document does not say.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

Priority = Literal["low", "normal", "high", "urgent"]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"}, examples=["2026-12-01T09:30:00+00:00"])]
Email = Annotated[str, Field(examples=["agent@example.com"])]
# Query-string text: no control characters (a NUL would not even reach PostgreSQL).
QueryText = Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]*$")]
# What people write (comments, reasons): line breaks and tabs, no other control characters.
Prose = Annotated[str, Field(pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]


class Request(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- errors and lists


class ErrorDetail(Response):
    code: str = Field(examples=["invalid"], description="Machine-readable: bad_request, unauthorized, forbidden, "
                                                        "not_found, conflict, invalid, too_large, rate_limited, ...")
    message: str = Field(examples=["Some answers need attention."])
    fields: dict[str, list[str]] | None = Field(
        None, description="Per field (or parameter), what is wrong with it.",
        examples=[{"order_number": ["Enter the order number as ORD- followed by 6 digits, like ORD-123456."]}])


class Error(Response):
    """Every error of the API has this shape."""

    error: ErrorDetail


T = TypeVar("T")


class Page(Response, Generic[T]):
    """One page of a list: `?page=` (from 1) and `?per_page=` (1 to 100)."""

    items: list[T]
    total: int = Field(ge=0, description="How many items all pages hold together.")
    page: int = Field(ge=1)
    per_page: int = Field(ge=1, le=100)


class Items(Response, Generic[T]):
    items: list[T]


class Counted(Response, Generic[T]):
    items: list[T]
    total: int = Field(ge=0)


# ---------------------------------------------------------------- query strings


class PageQuery(BaseModel):
    """Pagination parameters (query strings are text; numbers are read from it)."""

    model_config = ConfigDict(extra="ignore")
    page: int = Field(1, ge=1, le=10**6, description="Page number, from 1.")
    per_page: int = Field(25, ge=1, le=100, description="Items per page, at most 100.")


class CaseFilterQuery(BaseModel):
    """The case-list filters (query strings)."""

    model_config = ConfigDict(extra="ignore")
    state: QueryText | None = Field(None, max_length=64, description="A state's key, e.g. `in_progress`.")
    queue: QueryText | None = Field(None, max_length=64, description="A queue's slug.")
    assignee: QueryText | None = Field(None, max_length=254, description="An e-mail address, `me` or `none`.")
    case_type: QueryText | None = Field(None, max_length=64, description="A case type's slug.")
    q: QueryText | None = Field(None, max_length=200, description="Text or a reference to search for.")
    status: Literal["open", "closed", "any"] | None = Field(None, description="Open and closed cases unless given.")
    priority: Priority | None = None
    sort: Literal["newest", "oldest", "due", "priority", "updated"] | None = None


class CaseListQuery(CaseFilterQuery, PageQuery):
    """Filters and pagination of GET /cases."""


class CheckpointQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    leaves: Literal["1", "true", "yes", "0", "false", "no"] | None = Field(
        None, description="Auditors and admins: download the checkpoint with every leaf.")


class VerifyQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    stream: QueryText | None = Field(None, max_length=200, description="One audit stream, e.g. `case:12`.")


class UploadQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    case_type: QueryText = Field(max_length=64, description="The case type whose form has the file field.",
                           examples=["complaint"])
    field: QueryText = Field(max_length=64, description="The key of the file field.", examples=["attachment"])


# ---------------------------------------------------------------- people


class UserOut(Response):
    id: int
    email: Email
    name: str
    roles: list[Literal["admin", "agent", "requester", "auditor"]]
    active: bool
    absent: bool


class Me(UserOut):
    queues: list[str] = Field(description="Slugs of the queues the caller belongs to.")


# ---------------------------------------------------------------- case types


class StateOut(Response):
    key: str
    label: str
    kind: Literal["initial", "working", "waiting", "final"]


class CaseTypeOut(Response):
    slug: str = Field(examples=["complaint"])
    name: str
    description: str
    prefix: str = Field(examples=["CMP"])
    version: int = Field(ge=1)
    form: str
    form_version: int = Field(ge=1)
    states: list[StateOut]


class CaseTypeDetail(CaseTypeOut):
    form_schema: dict[str, Any] = Field(description="The pinned form as designed (see also schema.json).")


# ---------------------------------------------------------------- cases


class FilingBody(Request):
    """Answers of the case type's form by field key; file fields take the ids from POST /uploads."""

    data: dict[str, Any] = Field(examples=[{"name": "Riley Requester", "email": "riley@example.com",
                                            "order_number": "ORD-123456", "category": "damaged",
                                            "severity": "high", "description": "The vase arrived broken.",
                                            "attachment": [17]}])


class TransitionBody(Request):
    transition: str = Field(max_length=64, pattern=r"^[a-z][a-z0-9_]*$", examples=["resolve"],
                            description="The key of the transition.")
    comment: Prose = Field("", max_length=20_000, description="Required by some transitions.")
    data: dict[str, Any] | None = Field(None, description="Fields to fill with the transition: its required "
                                                          "fields, and for staff the fields editable in this state.")
    version: int | None = Field(None, description="The case version the change was made against (409 if stale).")


class CommentBody(Request):
    body: Prose = Field(min_length=1, max_length=20_000, examples=["We have sent a replacement."])
    visibility: Literal["public", "internal"] | None = Field(
        None, description="`internal`: a note for staff the requester never sees (the case's agents only; "
                          "403 for requesters). Default public.")
    internal: bool = Field(False, description="The older spelling of `visibility: internal`.")


class CaseOut(Response):
    """A case as lists show it. For a requester, `assignee` is "support" (staff are never identified)."""

    id: int
    ref: str = Field(examples=["CMP-000123"])
    case_type: str
    summary: str
    state: str = Field(examples=["in_progress"])
    queue: str = Field(examples=["escalations"])
    assignee: Email | None
    priority: Priority
    due_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp
    closed_at: Timestamp | None
    requester: str | None
    version: int = Field(description="Increases with every change (optimistic locking).")


class TransitionOut(Response):
    key: str
    label: str
    to: str
    comment_required: bool
    required_fields: list[str]


class TaskAvailableOut(Response):
    key: str
    label: str
    requires_reason: bool


class LinkOut(Response):
    kind: Literal["child", "parent", "related", "duplicate_of", "duplicated_by", "caused_by", "causes"] = Field(
        description="How this case names the link: the other side of duplicate_of is duplicated_by, of "
                    "caused_by causes, of child parent.")
    id: int
    ref: str


class LinkDetail(LinkOut):
    case_type: str = Field(description="The title of the linked case's type.")
    visible: bool = Field(description="Whether the caller may open the linked case; if not, only its reference "
                                      "and type are given.")
    summary: str = ""
    state: str = Field("", description="The linked case's state label, when visible.")


class LinkBody(Request):
    case: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$", examples=["CMP-000123"],
                      description="The reference of an existing case the caller may see.")
    kind: Literal["related", "duplicate_of", "caused_by"] = Field(
        description="What this case is to the other: related to it, a duplicate of it, caused by it.")


class CaseDetail(CaseOut):
    data: dict[str, Any]
    state_label: str
    case_type_version: int
    form_version: int
    tags: list[str]
    transitions: list[TransitionOut] = Field(description="What the caller may fire now.")
    tasks_available: list[TaskAvailableOut] = Field(
        description="The tasks and child cases of the case type's catalogue the caller may start now.")
    links: list[LinkOut] = Field(description="Linked cases the caller may know of: a requester only their own, "
                                             "staff of the case every link (opening it needs its own access).")


class StartTaskBody(Request):
    task: str = Field(max_length=64, pattern=r"^[a-z][a-z0-9_]*$", examples=["safety_review"],
                      description="The key of an entry of the case type's catalogue.")
    reason: Prose = Field("", max_length=2000, description="Required by some entries.")


class UploadOut(Response):
    id: int = Field(description="Pass it in the file field of a filing's data.")
    name: str
    size: int = Field(ge=0)
    content_type: str


class CommentOut(Response):
    """A comment. For a requester, staff authors read "support"."""

    id: int
    body: str
    visibility: Literal["public", "internal"]
    internal: bool
    author: str | None
    created_at: Timestamp


class EventOut(Response):
    """An audit event. For a requester, staff actors read "support"."""

    stream: str
    seq: int = Field(ge=1)
    at: Timestamp
    actor: str
    kind: str = Field(examples=["case.transitioned"])
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class BrokenEvent(Response):
    stream: str
    seq: int
    reason: str


class VerifyOut(Response):
    ok: bool
    checked: int = Field(ge=0)
    streams: int = Field(ge=0)
    first_broken: BrokenEvent | None = None


class DocumentOut(Response):
    id: int
    case_id: int
    kind: str
    name: str
    draft: bool
    internal: bool
    status: str = Field(examples=["ready"], description="queued, rendering, ready or failed.")
    reason: str | None
    sha256: str | None
    size: int | None
    case_type_version: int
    template_version: int | None
    chain_seq: int | None
    chain_head: str | None
    unsigned_sha256: str | None
    content_sha256: str | None
    signer_sha256: str | None
    toolchain: dict[str, Any] | None
    created_at: Timestamp
    rendered_at: Timestamp | None
    requested_by: str | None


class TaskOut(Response):
    id: int
    key: str
    label: str
    queue: str
    required: bool
    state: str
    status: str
    completed_at: Timestamp | None
    completed_by: str | None
    reason: str = Field("", description="Why it was started (tasks started from the catalogue).")
    child_case: int | None = Field(None, description="The id of the child case, when the entry started one "
                                                     "(then `id` is that case's id too).")
