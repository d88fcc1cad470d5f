"""API: a case type's KPIs (DESIGN.md's shape) and its event log as XES or CSV, streamed."""

from __future__ import annotations

from typing import Any

from flask import Response, request, stream_with_context
from pydantic import BaseModel, ConfigDict, Field

from app.api.base import api_user, bp
from app.api.cases import _case_type
from app.api.openapi import operation
from app.api.schemas import QueryText
from app.extensions import db
from cases.clock import utcnow
from cases.errors import PermissionDenied
from cases.insight import eventlog, kpis
from cases.insight.filters import Filters, may_see_insight, parse_filters


class InsightQuery(BaseModel):
    """The period and filters of a figure (read again, with their checks, by cases.insight.filters)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    from_: QueryText | None = Field(None, alias="from", max_length=40,
                                    description="Start (inclusive): a date or an ISO 8601 time; default 30 days "
                                                "before `to`.")
    to: QueryText | None = Field(None, max_length=40, description="End: a date (that whole day) or an ISO 8601 "
                                                                  "time (exclusive); default now.")
    version: QueryText | None = Field(None, max_length=9, description="Only cases on this case-type version.")
    queue: QueryText | None = Field(None, max_length=64, description="Only cases now in this queue (slug).")
    priority: QueryText | None = Field(None, max_length=10, description="low, normal, high or urgent.")
    requester: QueryText | None = Field(None, max_length=16, description="account, anonymous or internal.")


class EventLogQuery(InsightQuery):
    personal: QueryText | None = Field(None, max_length=5, description="`1`: include answers marked personal "
                                                                      "(admins and auditors only).")


class Volume(BaseModel):
    filed: int
    closed: int


class CycleTime(BaseModel):
    median_s: float | None
    p90_s: float | None


class Sla(BaseModel):
    model_config = ConfigDict(extra="allow")
    due: int
    met: int
    breached: int
    compliance: float | None


class StateTime(BaseModel):
    model_config = ConfigDict(extra="allow")
    key: str
    median_s: float | None
    p90_s: float | None
    visits: int


class KpisOut(BaseModel):
    """DESIGN.md's KPI shape; the dashboard's further figures (series, backlog, throughput...) beside it."""

    model_config = ConfigDict(extra="allow")
    volume: Volume
    wip: int
    cycle_time: CycleTime
    sla: Sla
    exceptions: int
    states: list[StateTime]


def _filters(slug: str) -> Filters:
    if not may_see_insight(api_user()):
        raise PermissionDenied("Only staff see process figures.")
    _case_type(slug)
    return parse_filters(request.args, now=utcnow(), case_type=slug)


@bp.get("/case-types/<slug>/kpis")
@operation("A case type's KPIs", query=InsightQuery, response=KpisOut, tags=["insight"])
def insight_kpis(slug: str, query: InsightQuery) -> Any:
    """Volume, WIP, cycle time, SLA compliance, exceptions and time per state over `from`..`to` (durations in
    seconds, percentiles by nearest rank; see DESIGN.md). Admins and auditors: every case; agents: the cases
    their work lists show; requesters: 403."""
    return kpis.kpis(db.session, api_user(), _filters(slug), now=utcnow())


def _download(chunks: Any, mimetype: str, name: str) -> Response:
    response = Response(stream_with_context(chunks), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/case-types/<slug>/event-log.xes")
@operation("A case type's event log as XES", query=EventLogQuery, produces="application/xml", tags=["insight"])
def insight_event_log_xes(slug: str, query: EventLogQuery) -> Any:
    """XES (IEEE 1849-2016), one trace per case filed in the period, one event per state change, streamed.
    Answers marked personal only with `personal=1`, for admins and auditors."""
    f = _filters(slug)
    chunks = eventlog.xes(db.session, api_user(), f, personal=query.personal in ("1", "true", "yes"))
    first = next(chunks)  # refusals (a personal export for an agent) happen before the answer starts
    return _download(_then(first, chunks), "application/xml", f"{slug}-event-log.xes")


@bp.get("/case-types/<slug>/event-log.csv")
@operation("A case type's event log as CSV", query=InsightQuery, produces="text/csv", tags=["insight"])
def insight_event_log_csv(slug: str, query: InsightQuery) -> Any:
    """The same events as the XES export, one row each (cells neutralised for spreadsheets), streamed."""
    f = _filters(slug)
    chunks = eventlog.csv_log(db.session, api_user(), f)
    first = next(chunks)
    return _download(_then(first, chunks), "text/csv", f"{slug}-event-log.csv")


def _then(first: str, rest: Any) -> Any:
    yield first
    yield from rest
