"""The insight API on the demo data: KPIs in DESIGN.md's shape with the row-level rules, the event log as
XES (read by pm4py: the same directly-follows counts, variants and case durations as Casework's figures)
and CSV, and clear errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.web import token_for

pm4py = pytest.importorskip("pm4py", reason="pm4py is a dev dependency (pyproject.toml)")

ALL_TIME = "?from=2000-01-01&to=2100-01-01"


@pytest.fixture
def demo(app: Any) -> Any:
    result = app.test_cli_runner().invoke(args=["demo", "--scope", "full", "--cases", "200"])
    assert result.exit_code == 0, result.output
    return app


def test_the_demo_through_the_api_kpis_and_event_logs(demo: Any, tmp_path: Path) -> None:
    """One test, so the demo (200 cases over 90 days) is made once per backend."""
    _kpis_in_the_designs_shape_for_staff_and_none_for_requesters(demo)
    _pm4py_reads_the_demos_event_log_as_casework_counts_it(demo, tmp_path)


def _kpis_in_the_designs_shape_for_staff_and_none_for_requesters(demo: Any) -> None:
    client = demo.test_client()
    admin, agent = token_for(demo, "admin@example.com"), token_for(demo, "agent@example.com")
    body = client.get(f"/api/v1/case-types/complaint/kpis{ALL_TIME}", headers=admin).get_json()
    assert set(body) >= {"volume", "wip", "cycle_time", "sla", "exceptions", "states"}
    assert set(body["volume"]) >= {"filed", "closed"} and set(body["cycle_time"]) == {"median_s", "p90_s"}
    assert set(body["sla"]) >= {"due", "met", "breached", "compliance"}
    assert all(set(s) >= {"key", "median_s", "p90_s", "visits"} for s in body["states"])
    # The demo makes every figure show something real.
    assert body["volume"]["filed"] > 50 and body["volume"]["closed"] > 10 and body["wip"] > 0
    assert body["sla"]["breached"] > 0 and body["sla"]["met"] > 0 and body["exceptions"] > 0
    assert body["reopen"]["reopened"] > 0 and body["rework"]["visits"] > 0
    assert body["exception_detail"]["escalations"] > 0 and body["time"]["waiting_s"] > 0
    assert body["backlog"] and body["throughput"]["queues"]
    mine = client.get(f"/api/v1/case-types/complaint/kpis{ALL_TIME}", headers=agent)
    assert mine.status_code == 200 and mine.get_json()["volume"]["filed"] <= body["volume"]["filed"]
    requester = token_for(demo, "requester@example.com")
    assert client.get("/api/v1/case-types/complaint/kpis", headers=requester).status_code == 403
    assert client.get("/api/v1/case-types/complaint/event-log.xes", headers=requester).status_code == 403
    assert client.get("/api/v1/case-types/nothing/kpis", headers=admin).status_code == 404
    bad = client.get("/api/v1/case-types/complaint/kpis?from=soon", headers=admin)
    assert bad.status_code == 400 and "from" in bad.get_json()["error"]["fields"]
    personal = client.get("/api/v1/case-types/complaint/event-log.xes?personal=1", headers=agent)
    assert personal.status_code == 403


def _pm4py_reads_the_demos_event_log_as_casework_counts_it(demo: Any, tmp_path: Path) -> None:
    from app.extensions import db
    from cases import accounts
    from cases.insight import mining
    from cases.insight.filters import Filters
    from tests.support.insight import ours, read_with_pm4py

    client = demo.test_client()
    admin = token_for(demo, "admin@example.com")
    for slug in ("complaint", "invoice"):
        response = client.get(f"/api/v1/case-types/{slug}/event-log.xes{ALL_TIME}", headers=admin)
        assert response.status_code == 200 and response.mimetype == "application/xml"
        path = tmp_path / f"{slug}.xes"
        path.write_bytes(response.get_data())
        f = Filters(start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(2100, 1, 1, tzinfo=UTC), case_type=slug)
        with demo.app_context():
            user = accounts.find_user(db.session, "admin@example.com")
            assert read_with_pm4py(path) == ours(db.session, user, f)
            events = sum(e.count for e in mining.directly_follows(db.session, user, f) if e.source is None) + \
                sum(e.count for e in mining.directly_follows(db.session, user, f) if e.source and e.target)
            db.session.remove()
        csv = client.get(f"/api/v1/case-types/{slug}/event-log.csv{ALL_TIME}", headers=admin)
        assert csv.status_code == 200 and len(csv.get_data(as_text=True).splitlines()) == events + 1
