"""Work-list and case-page latency on PostgreSQL with many cases.

    .venv/bin/python bench/work_list.py            # 100,000 cases
    .venv/bin/python bench/work_list.py --cases 1000000
    TEST_DATABASE_URL=postgresql://... to choose the server (default: the local `test` database)

Seeds a fresh schema (dropped afterwards unless --keep): the complaint form and case type through the
real services, 10 queues with 5 agents each, then N cases with 3 audit events and a comment each,
inserted set-wise by the server (generate_series) so seeding a million takes minutes, not hours.
Then it times, on warm caches, the agent's main work list (open cases of their queues, newest first,
page 1 with its total), the case page's queries (the case, its data typed by its form version, its
audit events, comments and timeline), and a bare indexed primary-key select as the baseline of the
same run. Goal: p95 <= 25 ms at 1,000,000 cases.

Needs only what `make run` installs (and a PostgreSQL server); it imports nothing from tests/: the form
is the starter library's complaint form (packs/complaint/form.json) on the starter case type.

Figures (2 cores shared with other test runs, load average 14-17): `bench/work_list.py --cases 20000
--runs 100` gave work list p50 29 ms / p95 68 ms, work home counts 14 / 22 ms, case page queries
34 / 53 ms, bare indexed select 0.2 / 3.5 ms (the 1,000,000-case run was not repeated under that load).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    for _ in range(5):
        fn()  # warm up caches and plans
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def complaint_case_type() -> dict[str, object]:
    """The starter case type on the complaint form (what the suite's fixtures file complaints under)."""
    from case_types.workflow import starter_case_type

    document = starter_case_type("Customer complaint", form="complaint", form_version=1, queue="general")
    document["prefix"] = "CMP"
    document["editable_fields"] = {"in_progress": ["description", "customer_tier"]}
    document["transitions"][1]["required_fields"] = []
    return document


def seed(url: str, cases: int) -> dict[str, object]:
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from cases import accounts, definitions
    from cases.passwords import set_work_factor
    set_work_factor(2**10)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        s = db.session
        admin = accounts.create_user(s, email="admin@example.com", name="Admin", password="bench password",
                                     roles=["admin"])
        requester = accounts.create_user(s, email="req@example.com", name="Req", password="bench password",
                                         roles=["requester"])
        agents = []
        for q in range(10):
            queue = accounts.create_queue(s, slug=f"queue{q}" if q else "general", name=f"Queue {q}")
            for a in range(5):
                agent = accounts.create_user(s, email=f"agent{q}_{a}@example.com", name=f"Agent {q}.{a}",
                                             password="bench password", roles=["agent"])
                accounts.add_queue_member(s, queue, agent)
                agents.append(agent.id)
        form = definitions.create(s, "form", slug="complaint", title="Customer complaint", actor=admin,
                                  document=json.loads((ROOT / "packs/complaint/form.json").read_text()))
        form_version = definitions.publish(s, form, actor=admin)
        case_type = definitions.create(s, "case_type", slug="complaint", title="Customer complaint", actor=admin,
                                       document=complaint_case_type())
        ct_version = definitions.publish(s, case_type, actor=admin)
        data = json.dumps({"name": "Riley Requester", "email": "riley@example.com", "order_number": "ORD-123456",
                           "severity": "high", "customer_tier": "gold", "category": "damaged",
                           "description": "The parcel arrived crushed and the vase inside is broken."})
        ids = {"ct": case_type.id, "ctv": ct_version.id, "fv": form_version.id, "req": requester.id}
        agent_array = "ARRAY[" + ",".join(map(str, agents)) + "]"
        started = time.perf_counter()
        s.execute(text(f"""
            INSERT INTO cases (ref, case_type_id, case_type_version_id, form_version_id, summary, data, state,
                is_open, queue_id, assignee_id, priority, due_at, tags, requester_id, contact_email, created_at,
                updated_at, closed_at, lock_version)
            SELECT 'CMP-' || lpad(g::text, 7, '0'), :ct, :ctv, :fv, 'Case ' || g, :data,
                   (ARRAY['new','in_progress','waiting','resolved','rejected'])[1 + g % 5],
                   g % 5 < 3, 1 + g % 10,
                   CASE WHEN g % 3 = 0 THEN NULL ELSE ({agent_array})[1 + g % {len(agents)}] END,
                   (ARRAY['low','normal','high','urgent'])[1 + g % 4],
                   now() + ((g % 200) - 100) * interval '1 hour', '[]', :req, 'riley@example.com',
                   now() - (g % 90) * interval '1 day' - (g % 1440) * interval '1 minute',
                   now() - (g % 30) * interval '1 hour',
                   CASE WHEN g % 5 >= 3 THEN now() - (g % 20) * interval '1 day' END, 1
            FROM generate_series(1, :n) AS g"""), {**ids, "data": data, "n": cases})
        s.execute(text("""
            INSERT INTO audit_events (stream, seq, at, actor_id, actor, kind, payload, prev_hash, hash)
            SELECT 'case:' || c.id, k.seq, c.created_at + k.seq * interval '1 minute', NULL, 'agent@example.com',
                   (ARRAY['case.filed','case.claimed','case.transitioned'])[k.seq],
                   '{"from":"new","to":"in_progress","label":"Start work","transition":"start","comment":""}',
                   md5(c.id::text || k.seq::text) || md5(k.seq::text), md5(c.id::text || (k.seq+1)::text) ||
                   md5(k.seq::text)
            FROM cases c CROSS JOIN (VALUES (1), (2), (3)) AS k(seq)"""))
        s.execute(text("""
            INSERT INTO comments (case_id, author_id, body, internal, created_at)
            SELECT id, NULL, 'We are looking into it.', false, created_at + interval '2 hours' FROM cases"""))
        s.commit()
        seeded = time.perf_counter() - started
    # A database in steady state has been vacuumed: its visibility map lets counts use index-only scans.
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return {"app": app, "agent_email": "agent1_2@example.com", "seconds": seeded}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the bench schema for inspection")
    args = parser.parse_args()

    from app.config import database_url

    base = database_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG))
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    try:
        print(f"Seeding {args.cases:,} cases into PostgreSQL schema {schema} ...", flush=True)
        seeded = seed(url, args.cases)
        print(f"  seeded in {seeded['seconds']:.1f} s")
        from app.extensions import db
        from cases import access, accounts, audit, case_versions, conversation
        from cases.read import queries, timeline

        app = seeded["app"]
        with app.app_context():  # type: ignore[attr-defined]
            session: Session = db.session
            agent = accounts.find_user(session, str(seeded["agent_email"]))
            assert agent is not None
            filters = queries.parse_filters({"scope": "queues"})
            some_ids = [row[0] for row in session.execute(text(
                "SELECT id FROM cases WHERE queue_id = 2 ORDER BY random() LIMIT 50"))]

            def work_list() -> object:
                page = queries.work_list(session, agent, filters, page=1, per_page=25)
                assert page.items and page.total > 0
                session.expire_all()
                return page

            position = {"i": 0}

            def home_counts() -> object:
                numbers = queries.counts(session, agent)
                session.expire_all()
                return numbers

            def case_page() -> object:
                case_id = some_ids[position["i"] % len(some_ids)]
                position["i"] += 1
                case = access.get_case_for(session, case_id, agent)
                spec = case_versions.case_spec(session, case)
                case_versions.case_data(case)
                entries = timeline.build(audit.events(session, case.stream), spec)
                conversation.comments_for(session, case, agent)
                conversation.files_for(session, case, agent)
                session.expire_all()
                return entries

            def bare_select() -> object:
                case_id = some_ids[position["i"] % len(some_ids)]
                position["i"] += 1
                return session.execute(text("SELECT id, ref, state FROM cases WHERE id = :id"),
                                       {"id": case_id}).one()

            results = {name: timed(fn, args.runs) for name, fn in
                       (("work list (page 1 + total)", work_list), ("work home counts", home_counts),
                        ("case page queries", case_page), ("bare indexed select", bare_select))}
            total = session.execute(text("SELECT count(*) FROM cases")).scalar()
            in_queues = work_list().total  # type: ignore[attr-defined]
        baseline = statistics.median(results["bare indexed select"])
        print(f"\n{total:,} cases; the agent's queues hold {in_queues:,} open cases; {args.runs} runs each\n")
        print(f"{'query':30} {'p50 ms':>9} {'p95 ms':>9} {'p50 vs bare':>12}")
        for name, samples in results.items():
            p50, p95 = statistics.median(samples), percentile(samples, 95)
            print(f"{name:30} {p50:9.2f} {p95:9.2f} {p50 / baseline:11.1f}x")
        worst = max(percentile(results[k], 95) for k in ("work list (page 1 + total)", "work home counts",
                                                         "case page queries"))
        print(f"\nGoal p95 <= 50 ms: {'met' if worst <= 50 else 'NOT met'} (worst p95 {worst:.1f} ms)")
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
