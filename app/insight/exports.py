"""The dashboard's KPI report as CSV (spreadsheet-formula safe) and as PDF (the document renderer, with the
SVG charts printed in it, in a renderer child under the documents' memory and time limits)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping

from flask import Response, stream_with_context
from markupsafe import Markup
from sqlalchemy.orm import Session

from app.documents.child import render_in_child
from app.documents.render_request import PdfMetadata, RenderRequest
from app.documents.templating import environment, format_when
from app.insight.report import Report
from app.insight.scope import Scope
from app.insight.views import shown
from cases.audit import csv_safe
from cases.clock import utcnow
from cases.insight import eventlog
from cases.insight.filters import Filters
from cases.models import User

COLUMNS = ["section", "group", "measure", "value", "unit", "cases"]


def report_rows(report: Report, scope: Scope) -> Iterator[list[str]]:
    """The report as rows of COLUMNS: durations in seconds, shares from 0 to 1."""
    yield ["scope", "period", "from", scope.start.date().isoformat(), "date", ""]
    yield ["scope", "period", "to", scope.end.date().isoformat(), "date (exclusive)", ""]
    for name in ("case_type", "version", "queue", "priority", "requester"):
        if getattr(scope, name) is not None:
            yield ["scope", "filter", name, str(getattr(scope, name)), "", ""]
    units = {"count": "cases", "seconds": "seconds", "percent": "share"}
    for f in report.figures:
        yield ["kpi", "", f.label, "" if f.value is None else f"{f.value:g}", units.get(f.kind, ""),
               "" if f.cases is None else str(f.cases)]
    for d in report.days:
        yield ["volume", d.day, "filed", str(d.filed), "cases", str(d.filed)]
        yield ["volume", d.day, "closed", str(d.closed), "cases", str(d.closed)]
    for s in report.states:
        for measure, value in (("median", s.median_s), ("p90", s.p90_s)):
            yield ["time in state", s.label, measure, "" if value is None else f"{value:g}", "seconds", str(s.visits)]
        yield ["time in state", s.label, "share", "" if s.share is None else f"{s.share:.4f}", "share", ""]
    for section, rows in (("sla per target", report.sla_by_kind), ("sla per queue", report.sla_by_queue),
                          ("sla per week", report.sla_by_week)):
        for r in rows:
            yield [section, r.label, "due", str(r.due), "deadlines", ""]
            yield [section, r.label, "met", str(r.met), "deadlines", ""]
            yield [section, r.label, "breached", str(r.breached), "deadlines", ""]
    for b in report.backlog:
        yield ["backlog", b.label, "open", str(b.open), "cases", str(b.open)]
        yield ["backlog", b.label, "median age", "" if b.median_age_s is None else f"{b.median_age_s:g}", "seconds", ""]
    for section, through in (("throughput per queue", report.by_queue), ("throughput per agent", report.by_agent)):
        for t in through:
            yield [section, t.label, "closed", str(t.closed), "cases", str(t.closed)]
    yield ["time", "", "waiting", f"{report.waiting_s:g}", "seconds", ""]
    yield ["time", "", "working", f"{report.working_s:g}", "seconds", ""]


def report_csv(report: Report, scope: Scope) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in report_rows(report, scope):
        writer.writerow([csv_safe(cell) for cell in row])
    return out.getvalue()


def report_pdf(report: Report, scope: Scope, charts: Mapping[str, Markup], *, memory_mb: int,
               timeout_s: float) -> bytes:
    """The KPI report with its charts as a PDF/A-3b, rendered like every other document."""
    now = utcnow()
    html = environment().get_template("insight_report.html").render(
        report=report, scope=scope, charts=charts, shown=shown, lang="en", generated_label=format_when(now))
    metadata = PdfMetadata(title=report.title, author="Casework", subject="Process insight report",
                           keywords=("process insight", "KPI"),
                           stable_id=f"insight/{scope.case_type or 'all'}/{scope.label}/{now.isoformat()}",
                           created_at=now)
    return render_in_child(RenderRequest(html=html, metadata=metadata), memory_mb=memory_mb, timeout_s=timeout_s)


def event_log(session: Session, user: User, f: Filters, fmt: str, name: str) -> Response:
    """The event log as XES or CSV, streamed; refusals happen before the answer starts."""
    chunks = eventlog.xes(session, user, f) if fmt == "xes" else eventlog.csv_log(session, user, f)
    first = next(chunks)

    def body() -> Iterator[str]:
        yield first
        yield from chunks

    return Response(stream_with_context(body()), mimetype="application/xml" if fmt == "xes" else "text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})
