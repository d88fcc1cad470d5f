"""The charts and pictures of the insight pages, built from the view model (app/insight/report.py)."""

from __future__ import annotations

from collections import OrderedDict
from datetime import date
from typing import Any

from flask import url_for
from markupsafe import Markup

from app.charts import Point, Series, bar_chart, line_chart
from app.insight.maps import duration, process_map
from app.insight.report import Mined, Report
from app.insight.scope import Scope


def shown(value: float | None, kind: str) -> str:
    """A figure as printed: counts with separators, durations in words, shares in percent."""
    if value is None:
        return "\u2013"
    if kind == "seconds":
        return duration(value)
    if kind == "percent":
        return f"{100 * value:.1f} %"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _weeks(report: Report) -> list[tuple[str, int, int]]:
    weeks: OrderedDict[str, list[int]] = OrderedDict()
    for day in report.days:
        year, week, _ = date.fromisoformat(day.day).isocalendar()
        totals = weeks.setdefault(f"{year}-W{week:02d}", [0, 0])
        totals[0] += day.filed
        totals[1] += day.closed
    return [(week, filed, closed) for week, (filed, closed) in weeks.items()]


def charts(report: Report, scope: Scope, *, for_print: bool = False) -> dict[str, Markup]:
    """Every chart of the dashboard; numbers in the tables link to their cases (not in print)."""

    def drill(figure: str) -> str | None:
        if for_print or not figure:
            return None
        return url_for("insight.cases", **scope.args(figure=figure, type=scope.case_type))  # type: ignore[arg-type]

    out: dict[str, Markup] = {}
    out["volume_day"] = line_chart(
        [Series("filed", [Point(d.day, d.filed, href=drill(f"filed-on:{d.day}") if d.filed else None)
                          for d in report.days]),
         Series("closed", [Point(d.day, d.closed, href=drill(f"closed-on:{d.day}") if d.closed else None)
                           for d in report.days])],
        title="Cases filed and closed per day", id_prefix="volume-day")
    weeks = _weeks(report)
    out["volume_week"] = line_chart(
        [Series("filed", [Point(w, f) for w, f, _ in weeks]), Series("closed", [Point(w, c) for w, _, c in weeks])],
        title="Cases filed and closed per week", id_prefix="volume-week")
    out["states"] = bar_chart(
        [Point(s.label, (s.median_s or 0) / 3600, shown=shown(s.median_s, "seconds"), href=drill(f"state:{s.key}"))
         for s in report.states], title="Median time per state (hours)", id_prefix="state-time",
        column="median time")
    out["sla_queue"] = bar_chart(
        [Point(r.label, 100 * (r.compliance or 0), shown=shown(r.compliance, "percent"), href=drill(r.figure_breached))
         for r in report.sla_by_queue], title="SLA compliance per queue", id_prefix="sla-queue",
        column="deadlines met")
    out["sla_week"] = line_chart(
        [Series("met %", [Point(r.label, 100 * (r.compliance or 0), shown=shown(r.compliance, "percent"))
                          for r in report.sla_by_week])], title="SLA compliance per week", id_prefix="sla-week")
    out["backlog"] = bar_chart(
        [Point(b.label, b.open, href=drill(f"backlog:{b.queue}")) for b in report.backlog],
        title="Open cases per queue", id_prefix="backlog", column="open cases")
    out["by_queue"] = bar_chart([Point(t.label, t.closed, href=drill(t.figure)) for t in report.by_queue],
                                title="Cases closed per queue", id_prefix="through-queue", column="closed")
    out["by_agent"] = bar_chart([Point(t.label, t.closed, href=drill(t.figure)) for t in report.by_agent],
                                title="Cases closed per agent", id_prefix="through-agent", column="closed")
    out["waiting"] = bar_chart(
        [Point("waiting", report.waiting_s / 3600, shown=duration(report.waiting_s)),
         Point("working", report.working_s / 3600, shown=duration(report.working_s))],
        title="Time waiting and working (hours, all visits)", id_prefix="waiting", column="time")
    return out


def map_picture(mined: Mined, scope: Scope) -> Markup | None:
    """The process map of a scope (None when Graphviz cannot draw it: the page shows the table)."""
    title = f"Process map of {scope.case_type or 'all case types'}, {scope.label}"
    return process_map(mined.edges, mined.labels, title=title, id_prefix="process-map")


def drill_args(scope: Scope, figure: str) -> dict[str, Any]:
    return scope.args(figure=figure, type=scope.case_type)
