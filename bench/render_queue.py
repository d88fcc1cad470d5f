"""Render throughput of the document queue: documents per minute, and page latency while it renders.

    .venv/bin/python bench/render_queue.py                  # SQLite, 60 demo cases
    .venv/bin/python bench/render_queue.py --postgresql     # PostgreSQL (TEST_DATABASE_URL or the local `test` db)
    .venv/bin/python bench/render_queue.py --cases 100 --workers 2

Seeds a fresh database (a temporary SQLite file, or a PostgreSQL schema dropped afterwards) with the
starter library's demo (`casework demo --cases N`, whose closed cases queue their PDFs), then renders
every queued document twice, resetting them to `queued` in between:

- baseline: the queue as it was, one job rendering the documents one after the other, a fresh child
  process per document (the warm child is stopped after each render);
- queue: one job per document through `enqueue_documents`, DOCUMENT_WORKERS threads (default: one
  per core) with warm renderer children reused across documents.

Both print documents per minute (wall clock, first queued to last finished). While the queue runs,
a client thread asks for the login page over and over: its p50/p95 beside the same page on an idle
server shows whether pages keep answering while documents render.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def make_app(url: str, folder: Path, workers: int | None) -> Any:
    from flask_migrate import upgrade

    from app import create_app
    from cases.passwords import set_work_factor

    set_work_factor(2**10)
    app = create_app({
        "DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-of-sufficient-length", "TESTING": True,
        "RATELIMIT_STORAGE_URI": "memory://", "DOCUMENTS_AUTO_RENDER": False, "DOCUMENT_FOLDER": str(folder),
        "DOCUMENT_WORKERS": workers, "WTF_CSRF_ENABLED": False,
    })
    with app.app_context():
        upgrade()
    return app


def queued_ids(app: Any) -> list[int]:
    from app.extensions import db
    from cases import documents

    with app.app_context():
        ids = documents.pending_ids(db.session)
        db.session.remove()
    return ids


def _only(ids: list[int]) -> str:
    return "id IN (" + ", ".join(str(int(i)) for i in ids) + ")"


def reset(app: Any, ids: list[int]) -> None:
    """The documents back to queued, as if just closed (the bench only: the rows' audit stays as it is)."""
    from app.extensions import db

    with app.app_context():
        db.session.execute(text("UPDATE documents SET status = 'queued', storage_name = NULL, sha256 = NULL, "
                                f"size = NULL, rendered_at = NULL, reason = NULL WHERE {_only(ids)}"))
        db.session.commit()
        db.session.remove()


def statuses(app: Any, ids: list[int]) -> dict[str, int]:
    from app.extensions import db

    with app.app_context():
        query = f"SELECT status, count(*) FROM documents WHERE {_only(ids)} GROUP BY status"
        rows = db.session.execute(text(query)).all()
        db.session.remove()
    return {status: count for status, count in rows}


def baseline(app: Any, ids: list[int]) -> float:
    """One job, one document after the other, a new child process for each: seconds for all."""
    from app.documents.child import stop_renderers
    from app.documents.queue import render_document
    from app.extensions import db

    started = time.perf_counter()
    with app.app_context():
        for document_id in ids:
            render_document(document_id)
            stop_renderers()
        db.session.remove()
    return time.perf_counter() - started


def queue(app: Any, ids: list[int], timeout: float) -> float:
    """One job per document in the pool with warm children: seconds until none is queued or rendering."""
    from app.documents.queue import enqueue_documents

    started = time.perf_counter()
    enqueue_documents(app, ids)
    while time.perf_counter() - started < timeout:
        counts = statuses(app, ids)
        if not counts.get("queued") and not counts.get("rendering"):
            break
        time.sleep(0.2)
    return time.perf_counter() - started


def page_latencies(app: Any, stop: threading.Event, out: list[float]) -> None:
    client = app.test_client()
    while not stop.is_set():
        start = time.perf_counter()
        assert client.get("/login").status_code == 200
        out.append((time.perf_counter() - start) * 1000)
        time.sleep(0.05)


def idle_latencies(app: Any, n: int = 40) -> list[float]:
    stop, out = threading.Event(), []  # type: ignore[var-annotated]
    client = app.test_client()
    for _ in range(5):
        client.get("/login")
    for _ in range(n):
        start = time.perf_counter()
        client.get("/login")
        out.append((time.perf_counter() - start) * 1000)
        time.sleep(0.05)
    stop.set()
    return out


def run(url: str, args: argparse.Namespace) -> None:
    from app.documents.child import start_renderer
    from app.jobs import pool_size, shutdown_pools

    folder = Path(tempfile.mkdtemp(prefix="casework-bench-docs-"))
    app = make_app(url, folder, args.workers)
    print(f"Seeding the demo with {args.cases} cases ...", flush=True)
    result = app.test_cli_runner().invoke(args=["demo", "--cases", str(args.cases)])
    assert result.exit_code == 0, result.output
    ids = queued_ids(app)[: args.limit or None]
    if not ids:
        raise SystemExit("the demo queued no documents")
    start_renderer()
    print(f"{len(ids)} documents, {os.cpu_count()} cores, queue pool of {pool_size(app, 'documents')} threads",
          flush=True)

    base_s = baseline(app, ids)
    print(f"baseline (one job, a new child per document): {len(ids) / base_s * 60:6.1f} documents/min "
          f"({base_s:.1f} s)", flush=True)
    reset(app, ids)

    idle = idle_latencies(app)
    stop, busy = threading.Event(), []  # type: ignore[var-annotated]
    reader = threading.Thread(target=page_latencies, args=(app, stop, busy), daemon=True)
    reader.start()
    queue_s = queue(app, ids, timeout=max(600.0, base_s * 3))
    stop.set()
    reader.join()
    counts = statuses(app, ids)
    print(f"queue (a job per document, warm children):    {len(ids) / queue_s * 60:6.1f} documents/min "
          f"({queue_s:.1f} s, {queue_s and base_s / queue_s:.2f}x the baseline); statuses {counts}", flush=True)
    print(f"login page while idle:     p50 {statistics.median(idle):6.1f} ms  p95 {percentile(idle, 95):6.1f} ms")
    print(f"login page while rendering: p50 {statistics.median(busy):6.1f} ms  p95 {percentile(busy, 95):6.1f} ms "
          f"({len(busy)} requests)")
    shutdown_pools(app)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=60, help="demo cases to file (some are closed)")
    parser.add_argument("--limit", type=int, default=0, help="render at most this many documents")
    parser.add_argument("--workers", type=int, default=None, help="DOCUMENT_WORKERS (default: one per core)")
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args()
    if not args.postgresql:
        with tempfile.TemporaryDirectory() as folder:
            run(f"sqlite:///{folder}/bench.db", args)
        return
    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        run(f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}", args)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


if __name__ == "__main__":
    main()
