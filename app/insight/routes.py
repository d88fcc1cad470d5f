"""Process insight pages: the dashboard (per case type and across all), the cases behind every figure,
bottlenecks, the process map with variants and conformance, before/after two versions, and the exports.

Admins and auditors see every figure; agents only those of their own queues (the scope carries the
queues, and the drill-down lists also apply the work lists' row-level rules); requesters nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, request, url_for
from flask.typing import ResponseReturnValue

from app.auth import require_roles, signed_in_user
from app.extensions import db
from app.htmx import render
from app.insight import exports, source, views
from app.insight.scope import PERIODS, REQUESTER_TYPES, Scope, parse_scope, visible_queues
from cases import accounts, definitions
from cases.clock import utcnow
from cases.inputs import parse_count
from cases.models import PRIORITIES, Role
from cases.read import queries

bp = Blueprint("insight", __name__, url_prefix="/insight")
require_roles(bp, Role.ADMIN, Role.AUDITOR, Role.AGENT)


def _scope(slug: str | None) -> Scope:
    if slug is not None and definitions.find_definition(db.session, "case_type", slug) is None:
        abort(404)
    return parse_scope(request.args, now=utcnow(), case_type=slug,
                       queues=visible_queues(db.session, signed_in_user()))


def _context(scope: Scope, **extra: Any) -> dict[str, Any]:
    case_types = list(definitions.list_definitions(db.session, "case_type"))
    queues = [q for q in accounts.list_queues(db.session) if scope.queues is None or q.slug in scope.queues]
    versions = source.versions(db.session, scope.case_type) if scope.case_type else []
    return {"scope": scope, "case_types": case_types, "queues": queues, "versions": versions,
            "periods": PERIODS, "shown": views.shown, "priorities": PRIORITIES,
            "event_log": lambda fmt: url_for("insight.event_log", slug=scope.case_type, fmt=fmt,
                                             **scope.args()),  # type: ignore[arg-type]
            "requester_types": REQUESTER_TYPES,
            "drill": lambda figure, **more: url_for(
                "insight.cases", **scope.args(figure=figure, type=scope.case_type, **more)),  # type: ignore[arg-type]
            **extra}


@bp.get("/")
def overview() -> ResponseReturnValue:
    """The dashboard across every case type."""
    return dashboard(None)


@bp.get("/<slug>")
def dashboard(slug: str | None) -> ResponseReturnValue:
    scope = _scope(slug)
    report = source.report(db.session, signed_in_user(), scope)
    return render("insight/dashboard.html", "insight/_figures.html",
                  **_context(scope, report=report, charts=views.charts(report, scope)))


@bp.get("/cases")
def cases() -> ResponseReturnValue:
    """The cases behind one figure of a dashboard, with the work lists' row-level rules."""
    scope = _scope(request.args.get("type") or None)
    figure = request.args.get("figure") or ""
    if not source.is_figure(figure):
        abort(404)
    page = parse_count(request.args.get("page", "1"), low=1) or 1
    ids = source.case_ids(db.session, signed_in_user(), scope, figure)
    result = queries.cases_among(db.session, signed_in_user(), ids, page=page, per_page=50)
    return render("insight/cases.html", "insight/_cases.html",
                  **_context(scope, figure=figure, figure_label=source.figure_label(figure), result=result,
                             behind=len(set(ids))))


@bp.get("/<slug>/bottlenecks")
def bottlenecks(slug: str) -> ResponseReturnValue:
    scope = _scope(slug)
    ranked = source.bottlenecks(db.session, signed_in_user(), scope)
    return render("insight/bottlenecks.html", **_context(scope, ranked=ranked))


@bp.get("/<slug>/map")
def process_map(slug: str) -> ResponseReturnValue:
    scope = _scope(slug)
    mined = source.mined(db.session, signed_in_user(), scope)
    return render("insight/map.html", **_context(scope, mined=mined, picture=views.map_picture(mined, scope)))


@bp.get("/<slug>/compare")
def compare(slug: str) -> ResponseReturnValue:
    scope = _scope(slug)
    versions = source.versions(db.session, slug)
    numbers = [v.number for v in versions]
    a = parse_count(request.args.get("a") or "", low=1, high=100000) or (numbers[-2] if len(numbers) > 1 else None)
    b = parse_count(request.args.get("b") or "", low=1, high=100000) or (numbers[-1] if numbers else None)
    if (a is not None and a not in numbers) or (b is not None and b not in numbers):
        abort(404)
    rows = source.compare(db.session, signed_in_user(), scope, a, b) if a and b else []
    return render("insight/compare.html", **_context(scope, a=a, b=b, rows=rows))


@bp.get("/report.<fmt>")
def report_all(fmt: str) -> ResponseReturnValue:
    """The report across every case type."""
    return report_file(None, fmt)


@bp.get("/<slug>/report.<fmt>")
def report_file(slug: str | None, fmt: str) -> ResponseReturnValue:
    """The dashboard's figures as CSV, or as a PDF with its charts (rendered like every document)."""
    if fmt not in ("csv", "pdf"):
        abort(404)
    scope = _scope(slug)
    report = source.report(db.session, signed_in_user(), scope)
    name = f"insight-{slug or 'all'}-{scope.start.date().isoformat()}-{scope.end.date().isoformat()}"
    if fmt == "csv":
        return Response(exports.report_csv(report, scope), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    pdf = exports.report_pdf(report, scope, views.charts(report, scope, for_print=True),
                             memory_mb=current_app.config.get("DOCUMENT_MEMORY_MB", 512),
                             timeout_s=current_app.config.get("DOCUMENT_TIMEOUT_S", 60))
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})


@bp.get("/<slug>/event-log.<fmt>")
def event_log(slug: str, fmt: str) -> ResponseReturnValue:
    """The scope's event log for process-mining tools, streamed (as the API's, for a signed-in browser)."""
    if fmt not in ("xes", "csv"):
        abort(404)
    scope = _scope(slug)
    return exports.event_log(db.session, signed_in_user(), source.filters(scope), fmt,
                             f"{slug}-event-log-{scope.start.date().isoformat()}-{scope.end.date().isoformat()}")
