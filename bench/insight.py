"""Process insight at scale: the KPI dashboard of one case type, its process map and the XES export.

    .venv/bin/python bench/insight.py                         # 50,000 cases, SQLite and PostgreSQL
    .venv/bin/python bench/insight.py --cases 1000000 --backend postgresql
    TEST_DATABASE_URL=postgresql://... to choose the server (default: the local `test` database)

Seeds a fresh database (a temporary SQLite file, a fresh PostgreSQL schema dropped afterwards): the
complaint form and the starter case type through the real services, then N cases with their audit-like
events (filing, claim, SLA start, transitions, a request for information, SLA met or breached) spread over
90 days, folded into read-model rows by cases.insight.derive (the live path's own derivation) and inserted
in batches, with a minimal cases row each (what the event log joins for the answers). Then, on warm caches:

- the dashboard: cases.insight.kpis.kpis over the last 30 days (every figure of the page), p50/p95;
- the process map: cases.insight.mining.directly_follows over the last 30 days, p50/p95;
- the XES export of the whole case type: events per second, and tracemalloc's peak for the whole export
  against the peak for a tenth of it (flat memory: about the same);
- a bare primary-key select of the read model as the baseline of the same run.

Goals (issue 15): dashboard p95 <= 300 ms at 200,000 cases of one type, map <= 1 s, XES >= 100,000 events/s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BATCH = 5000


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    for _ in range(2):
        fn()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _events(case_id: int, filed: datetime, rng: random.Random, agents: list[int], version: int) -> Iterator[Any]:
    """A plausible life of one case as the events the services would write."""
    from cases.insight.derive import Event, iso

    at, seq = filed, 0

    def event(kind: str, payload: dict[str, Any], actor: int | None = None) -> Any:
        nonlocal seq
        seq += 1
        return Event(case_id, seq, iso(at), actor, kind, payload)

    agent = rng.choice(agents)
    yield event("case.filed", {"ref": f"CMP-{case_id:07d}", "case_type": "complaint", "case_type_version": version,
                               "state": "new", "queue": "general", "priority": "normal"}, 1)
    yield event("sla.started", {"deadline": case_id, "kind": "response", "state": "new",
                                "due_at": iso(at + timedelta(hours=8))})
    at += timedelta(minutes=rng.uniform(5, 600))
    yield event("case.claimed", {"assignee": f"agent{agent}@example.com"}, agent)
    if rng.random() < 0.1:
        yield event("case.transitioned", {"transition": "reject", "from": "new", "to": "rejected"}, agent)
        yield event("sla.met", {"deadline": case_id, "kind": "response", "state": "new"})
        return
    if at > filed + timedelta(hours=8):
        yield event("sla.breached", {"deadline": case_id, "kind": "response", "state": "new",
                                     "due_at": iso(filed + timedelta(hours=8))})
    yield event("case.transitioned", {"transition": "start", "from": "new", "to": "in_progress"}, agent)
    if rng.random() < 0.25:
        at += timedelta(hours=rng.uniform(1, 24))
        yield event("case.info_requested", {"from": "in_progress", "to": "waiting"}, agent)
        at += timedelta(hours=rng.uniform(1, 72))
        yield event("case.info_provided", {"to": "in_progress"}, 1)
    if rng.random() < 0.8:
        at += timedelta(hours=rng.uniform(1, 120))
        yield event("case.transitioned", {"transition": "resolve", "from": "in_progress", "to": "resolved"}, agent)


def seed(url: str, cases: int, now: datetime) -> tuple[Any, float, int]:
    """The database with N cases of the complaint type; returns (app, seconds, events)."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from case_types.workflow import starter_case_type
    from cases import accounts, definitions
    from cases.insight import store
    from cases.insight.derive import Fold
    from cases.models import Case
    from cases.passwords import set_work_factor

    set_work_factor(2**10)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        s = db.session
        admin = accounts.create_user(s, email="admin@example.com", name="Admin", password="bench password",
                                     roles=["admin"])
        queue = accounts.create_queue(s, slug="general", name="General")
        agents = []
        for a in range(10):
            agent = accounts.create_user(s, email=f"agent{a + 3}@example.com", name=f"Agent {a}",
                                         password="bench password", roles=["agent"])
            accounts.add_queue_member(s, queue, agent)
            agents.append(agent.id)
        form = definitions.create(s, "form", slug="complaint", title="Customer complaint", actor=admin,
                                  document=json.loads((ROOT / "packs/complaint/form.json").read_text()))
        form_version = definitions.publish(s, form, actor=admin)
        document = starter_case_type("Customer complaint", form="complaint", form_version=1, queue="general")
        document["prefix"] = "CMP"
        case_type = definitions.create(s, "case_type", slug="complaint", title="Customer complaint", actor=admin,
                                       document=document)
        version = definitions.publish(s, case_type, actor=admin)
        s.commit()
        data = json.dumps({"name": "Riley Requester", "email": "riley@example.com", "order_number": "ORD-123456",
                           "severity": "high", "customer_tier": "gold", "category": "damaged",
                           "description": "The parcel arrived crushed."})
        kinds = store.state_kinds(s)
        rng = random.Random(15)
        started, events = time.perf_counter(), 0
        connection = s.connection()
        for first in range(1, cases + 1, BATCH):
            rows, batch = [], []
            for case_id in range(first, min(first + BATCH, cases + 1)):
                filed = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
                fold = Fold(kinds)
                for event in _events(case_id, filed, rng, agents, version.number):
                    fold.apply(event)
                    events += 1
                result = fold.rows()
                assert result is not None
                rows.append(result)
                batch.append({"id": case_id, "ref": f"CMP-{case_id:07d}", "case_type_id": case_type.id,
                              "case_type_version_id": version.id, "form_version_id": form_version.id,
                              "summary": "", "data": data, "state": result.case["state"],
                              "is_open": result.case["is_open"], "queue_id": queue.id, "priority": "normal",
                              "tags": "[]", "contact_email": "riley@example.com", "created_at": filed,
                              "updated_at": filed, "lock_version": 1})
            connection.execute(insert(Case), batch)
            store.write(connection, rows)
        s.commit()
        seconds = time.perf_counter() - started
        if connection.dialect.name == "postgresql":
            engine = create_engine(url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text("VACUUM ANALYZE"))
            engine.dispose()
        else:
            s.execute(text("ANALYZE"))
            s.commit()
    return app, seconds, events


def measure(app: Any, now: datetime, runs: int) -> dict[str, float]:
    from app.extensions import db
    from cases import accounts
    from cases.insight import eventlog, kpis, mining
    from cases.insight.filters import Filters

    with app.app_context():
        s = db.session
        admin = accounts.find_user(s, "admin@example.com")
        month = Filters(start=now - timedelta(days=30), end=now, case_type="complaint")
        everything = Filters(start=now - timedelta(days=91), end=now + timedelta(days=1), case_type="complaint")
        tenth = Filters(start=now - timedelta(days=9), end=now + timedelta(days=1), case_type="complaint")
        dashboard = timed(lambda: kpis.kpis(s, admin, month, now=now), runs)
        process_map = timed(lambda: mining.directly_follows(s, admin, month), runs)
        baseline = timed(lambda: s.execute(text("SELECT case_id, state FROM insight_cases WHERE case_id = 7")).one(),
                         runs)

        def export(f: Filters) -> tuple[int, float, float]:
            tracemalloc.start()
            started = time.perf_counter()
            size = sum(len(chunk) for chunk in eventlog.xes(s, admin, f))
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            return size, seconds, peak

        visits = s.execute(text("SELECT count(*) FROM insight_state_visits")).scalar_one()
        _size, seconds, peak = export(everything)
        _small, _s, small_peak = export(tenth)
        # tracemalloc slows Python down; the rate is measured again without it.
        started = time.perf_counter()
        for _chunk in eventlog.xes(s, admin, everything):
            pass
        rate = visits / (time.perf_counter() - started)
        s.rollback()
    return {"dashboard_p50": statistics.median(dashboard), "dashboard_p95": percentile(dashboard, 95),
            "map_p50": statistics.median(process_map), "map_p95": percentile(process_map, 95),
            "baseline_p95": percentile(baseline, 95), "xes_events": visits, "xes_rate": rate,
            "xes_traced_s": seconds, "xes_peak_mb": peak, "xes_tenth_peak_mb": small_peak}


def run(backend: str, cases: int, runs: int) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    from app.config import database_url

    if backend == "sqlite":
        folder = tempfile.mkdtemp(prefix="insight-bench-")
        url, cleanup = f"sqlite:///{folder}/bench.db", (lambda: None)
    else:
        base = database_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG))
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"

        def cleanup() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
    try:
        load = os.getloadavg()[0]
        print(f"{backend}: seeding {cases:,} cases of one type (load average {load:.1f} on "
              f"{os.cpu_count()} cores: figures on a shared machine are upper bounds) ...", flush=True)
        app, seconds, events = seed(url, cases, now)
        print(f"  seeded {events:,} events into the read model in {seconds:.1f} s")
        m = measure(app, now, runs)
        print(f"  dashboard (30 days, every figure): p50 {m['dashboard_p50']:.1f} ms, p95 {m['dashboard_p95']:.1f} ms"
              f" (goal <= 300 ms at 200,000 cases)")
        print(f"  process map (30 days): p50 {m['map_p50']:.1f} ms, p95 {m['map_p95']:.1f} ms (goal <= 1000 ms)")
        print(f"  baseline primary-key select: p95 {m['baseline_p95']:.2f} ms "
              f"(dashboard = {m['dashboard_p95'] / max(m['baseline_p95'], 1e-6):.0f}x)")
        print(f"  XES export: {m['xes_events']:,} events at {m['xes_rate']:,.0f} events/s (goal >= 100,000); "
              f"tracemalloc peak {m['xes_peak_mb']:.1f} MiB for all, {m['xes_tenth_peak_mb']:.1f} MiB for a tenth")
    finally:
        cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        run(backend, args.cases, args.runs)


if __name__ == "__main__":
    main()
