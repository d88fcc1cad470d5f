"""API filing throughput over HTTP: Casework against a bare Flask + Flask-SQLAlchemy insert endpoint.

    .venv/bin/python bench/filing.py                        # SQLite and PostgreSQL, 8 and 32 clients, 3 rounds
    .venv/bin/python bench/filing.py --backend sqlite --seconds 5 --rounds 1
    TEST_DATABASE_URL=postgresql://... to choose the PostgreSQL server (default: the local `test` database)

Needs only what `make run` installs (Casework's runtime dependencies: Flask, Flask-SQLAlchemy, waitress,
psycopg); it imports nothing from tests/.

Per backend it makes two fresh databases with the same settings (SQLite: WAL, synchronous=NORMAL, busy
timeout, through `cases.database.configure_engine`; PostgreSQL: two new databases on the same server):
- Casework, set up with `casework demo --cases 0` (the demo users and the starter library) and served by
  `casework serve` (waitress, --threads); the requester's API token files complaints of the starter pack
  (`POST /api/v1/case-types/complaint/cases`, the pack's sample answers in turn);
- the baseline: a minimal Flask + Flask-SQLAlchemy app with one JSON insert endpoint, served by waitress
  with the same thread count.
The same client (threads with keep-alive connections) drives both at each concurrency, alternating
subject and baseline for --rounds rounds; it prints cases/s, p50/p95 latency and the ratio. Then, in
process, CPU time and SQL statements per request of each. Afterwards it asserts that every 201 has its
case (and every baseline 201 its row) and that `casework audit verify` passes.

Figures (2 cores shared with other test runs, load average 9-12 during the run; each ratio is against the
baseline of the same run): `bench/filing.py --seconds 5 --rounds 3 --clients 8,32 --cpu-filings 200`
- SQLite: 8 clients 16.4/s (p95 1.09 s) vs bare 423/s, 0.04x; 32 clients 19.9/s vs 472/s, 0.04x;
  in process CPU 15.1 ms per filing vs bare 1.09 ms (13.8x), 19.0 SQL statements (routed 17, escalated 19).
- PostgreSQL: 8 clients 15.2/s (p95 1.45 s) vs bare 236/s, 0.06x; 32 clients 17.4/s vs 287/s, 0.06x;
  in process CPU 23.5 ms vs 2.15 ms (10.9x), 15.0 statements (routed 14, escalated 15).
On a saturated machine both servers get about the same CPU share, so the HTTP ratio follows the CPU ratio;
the in-process CPU figure moves least with the load and is the one to compare across changes.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CASEWORK = str(Path(sys.executable).with_name("casework"))
FILING_PATH = "/api/v1/case-types/complaint/cases"
BARE_PATH = "/items"


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def samples() -> list[dict[str, Any]]:
    """The complaint pack's sample answers: a realistic mix of routed, escalated and plain complaints."""
    document = json.loads((ROOT / "packs" / "complaint" / "samples.json").read_text())
    return [dict(sample["data"]) for sample in document["samples"]]


# ---------------------------------------------------------------- the baseline app


def bare_app(url: str) -> Any:
    """One JSON insert endpoint on Flask + Flask-SQLAlchemy: the least a filing over HTTP can cost."""
    from flask import Flask, jsonify, request
    from flask_sqlalchemy import SQLAlchemy

    from app.config import DEFAULTS, database_url
    from cases.database import configure_engine

    class Base(DeclarativeBase):
        pass

    db = SQLAlchemy(model_class=Base)

    class Item(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "bench_items"
        id: Mapped[int] = mapped_column(primary_key=True)
        data: Mapped[str] = mapped_column(Text)
        created_at: Mapped[datetime]

    app = Flask("bare")
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(url)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = dict(DEFAULTS["SQLALCHEMY_ENGINE_OPTIONS"])
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)  # the same SQLite pragmas as Casework
        db.create_all()

    @app.post(BARE_PATH)
    def insert() -> Any:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            return jsonify(error="send {'data': {...}}"), 400
        item = Item(data=json.dumps(body["data"]), created_at=datetime.now(UTC).replace(tzinfo=None))
        db.session.add(item)
        db.session.flush()
        item_id = item.id
        db.session.commit()
        return jsonify(id=item_id), 201

    app.extensions["bench_item"] = Item
    return app


def serve_bare(url: str, port: int, threads: int) -> None:
    from waitress import serve

    serve(bare_app(url), host="127.0.0.1", port=port, threads=threads, ident="bare")


# ---------------------------------------------------------------- databases and servers


@dataclass
class Backend:
    name: str
    casework_url: str
    bare_url: str
    cleanup: list[Any] = field(default_factory=list)


@contextmanager
def backend(name: str, workdir: Path) -> Iterator[Backend]:
    """Two fresh databases (Casework's and the baseline's) on one backend, dropped afterwards."""
    if name == "sqlite":
        yield Backend(name, f"sqlite:///{workdir / 'casework.db'}", f"sqlite:///{workdir / 'bare.db'}")
        return
    from sqlalchemy import create_engine, text

    from app.config import database_url

    base = database_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG))
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    names = [f"cw_bench_filing_{uuid.uuid4().hex[:8]}", f"cw_bench_bare_{uuid.uuid4().hex[:8]}"]
    with admin.connect() as conn:
        for db_name in names:
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    root = base.rsplit("/", 1)[0]
    try:
        yield Backend(name, f"{root}/{names[0]}", f"{root}/{names[1]}")
    finally:
        with admin.connect() as conn:
            for db_name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()


def casework_env(url: str, instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SMTP_URL")}
    env.update(DATABASE_URL=url, CASEWORK_INSTANCE=str(instance))
    return env


def run_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([CASEWORK, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"casework {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def wait_for(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start")


@contextmanager
def servers(target: Backend, workdir: Path, threads: int) -> Iterator[tuple[int, int, str, dict[str, str]]]:
    """Casework (`casework serve`) and the bare app, both on waitress with `threads` threads."""
    instance = workdir / f"instance-{target.name}"
    env = casework_env(target.casework_url, instance)
    run_cli(env, "init", "--no-packs")
    run_cli(env, "demo", "--cases", "0")
    token = run_cli(env, "token", "create", "requester@example.com").split()[-1]
    cw_port, bare_port = free_port(), free_port()
    log = open(workdir / f"serve-{target.name}.log", "wb")  # noqa: SIM115 - closed below
    casework = subprocess.Popen([CASEWORK, "serve", "--port", str(cw_port), "--threads", str(threads),
                                 "--sla-interval", "0"], env=env, stdout=log, stderr=subprocess.STDOUT)
    bare = subprocess.Popen([sys.executable, __file__, "--serve-bare", target.bare_url, "--port", str(bare_port),
                             "--threads", str(threads)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(cw_port, casework)
        wait_for(bare_port, bare)
        yield cw_port, bare_port, token, env
    finally:
        for proc in (casework, bare):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


# ---------------------------------------------------------------- the client


@dataclass
class Phase:
    ok: int = 0
    errors: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    ids: list[tuple[int, str]] = field(default_factory=list)


def drive(port: int, path: str, headers: dict[str, str], bodies: list[bytes], clients: int,
          seconds: float) -> Phase:
    """`clients` threads, each on its own keep-alive connection, posting until the time is up."""
    phase = Phase()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine: list[float] = []
        ids: list[tuple[int, str]] = []
        errors: dict[int, int] = {}
        n = index
        start.wait()
        while time.perf_counter() < stop_at[0]:
            body = bodies[n % len(bodies)]
            n += clients
            began = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                status, payload = 599, b""
            mine.append(time.perf_counter() - began)
            if status == 201:
                answer = json.loads(payload)
                ids.append((int(answer["id"]), str(answer.get("ref", ""))))
            else:
                errors[status] = errors.get(status, 0) + 1
        conn.close()
        with lock:
            phase.latencies.extend(mine)
            phase.ids.extend(ids)
            for status, count in errors.items():
                phase.errors[status] = phase.errors.get(status, 0) + count

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - began
    phase.ok = len(phase.ids)
    return phase


@dataclass
class Totals:
    ok: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    ids: list[tuple[int, str]] = field(default_factory=list)

    def add(self, phase: Phase) -> None:
        self.ok += phase.ok
        self.seconds += phase.seconds
        self.latencies += phase.latencies
        self.ids += phase.ids
        for status, count in phase.errors.items():
            self.errors[status] = self.errors.get(status, 0) + count

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        errors = f", errors {self.errors}" if self.errors else ""
        return (f"{self.rate:7.1f}/s  p50 {percentile(self.latencies, 50) * 1000:7.1f} ms  "
                f"p95 {percentile(self.latencies, 95) * 1000:7.1f} ms{errors}")


# ---------------------------------------------------------------- checks and in-process figures


def check_casework(env: dict[str, str], url: str, filed: list[tuple[int, str]]) -> None:
    """Every 201 has its case (same id and reference), references are unique, and every chain verifies."""
    from sqlalchemy import create_engine, text

    from app.config import database_url

    engine = create_engine(database_url(url))
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT id, ref FROM cases")).all())
    engine.dispose()
    missing = [(i, ref) for i, ref in filed if stored.get(i) != ref]
    assert not missing, f"{len(missing)} answered 201 without their case, e.g. {missing[:3]}"
    assert len(set(stored.values())) == len(stored), "duplicate case references"
    out = run_cli(env, "audit", "verify")
    print(f"  check: {len(filed)} filings answered 201, each has its case; {out.strip()}")


def check_bare(url: str, filed: list[tuple[int, str]]) -> None:
    from sqlalchemy import create_engine, text

    from app.config import database_url

    engine = create_engine(database_url(url))
    with engine.connect() as conn:
        stored = set(conn.execute(text("SELECT id FROM bench_items")).scalars())
    engine.dispose()
    missing = [i for i, _ in filed if i not in stored]
    assert not missing, f"{len(missing)} baseline 201s without their row"


def in_process(target: Backend, env: dict[str, str], token: str, bodies: list[bytes], count: int) -> None:
    """CPU time and SQL statements per request, one request at a time through each app's test client."""
    from sqlalchemy import event

    os.environ["CASEWORK_INSTANCE"] = env["CASEWORK_INSTANCE"]
    os.environ["DATABASE_URL"] = target.casework_url
    from app import create_app
    from app.extensions import db

    casework = create_app()
    bare = bare_app(target.bare_url)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    figures = {}
    for label, application, path, extra in (("casework", casework, FILING_PATH, headers),
                                            ("bare", bare, BARE_PATH, {"Content-Type": "application/json"})):
        client = application.test_client()
        with application.app_context():
            engine = db.engine if label == "casework" else application.extensions["sqlalchemy"].engine
        statements = [0]

        def count_statement(*_args: Any, statements: list[int] = statements) -> None:
            statements[0] += 1

        for i in range(5):  # warm-up: rules compiled, definitions cached
            assert client.post(path, data=bodies[i % len(bodies)], headers=extra).status_code == 201
        event.listen(engine, "before_cursor_execute", count_statement)
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(count):
            response = client.post(path, data=bodies[i % len(bodies)], headers=extra)
            assert response.status_code == 201, response.get_data(as_text=True)[:300]
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        event.remove(engine, "before_cursor_execute", count_statement)
        figures[label] = (cpu / count * 1000, wall / count * 1000, statements[0] / count)
    cw, base = figures["casework"], figures["bare"]
    print(f"  in process, {count} filings one at a time: CPU {cw[0]:.1f} ms per filing vs bare {base[0]:.2f} ms "
          f"({cw[0] / base[0]:.1f}x); wall {cw[1]:.1f} vs {base[1]:.2f} ms; "
          f"SQL statements {cw[2]:.1f} vs {base[2]:.1f}")


# ---------------------------------------------------------------- main


def bench_backend(name: str, args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix=f"cw-bench-filing-{name}-"))
    bodies = [json.dumps({"data": data}).encode() for data in samples()]
    try:
        with backend(name, workdir) as target:
            with servers(target, workdir, args.threads) as (cw_port, bare_port, token, env):
                cw_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                bare_headers = {"Content-Type": "application/json"}
                # Warm-up: the first filing compiles the ruleset, the first requests fill the pools.
                drive(cw_port, FILING_PATH, cw_headers, bodies, 2, 2.0)
                drive(bare_port, BARE_PATH, bare_headers, bodies, 2, 1.0)
                results: dict[tuple[str, int], Totals] = {}
                filed: list[tuple[int, str]] = []
                bare_filed: list[tuple[int, str]] = []
                for round_no in range(args.rounds):
                    for clients in args.clients:
                        order = [("casework", cw_port, FILING_PATH, cw_headers),
                                 ("bare", bare_port, BARE_PATH, bare_headers)]
                        if round_no % 2:
                            order.reverse()
                        for label, port, path, headers in order:
                            phase = drive(port, path, headers, bodies, clients, args.seconds)
                            results.setdefault((label, clients), Totals()).add(phase)
                            (filed if label == "casework" else bare_filed).extend(phase.ids)
                print(f"\n{name}: waitress {args.threads} threads, {args.rounds} rounds of {args.seconds:g} s "
                      f"per side and concurrency, alternating")
                for clients in args.clients:
                    cw, bare = results[("casework", clients)], results[("bare", clients)]
                    ratio = cw.rate / bare.rate if bare.rate else float("nan")
                    print(f"  {clients:3d} clients  Casework {cw.line()}")
                    print(f"               bare     {bare.line()}")
                    print(f"               ratio    {ratio:.2f}x")
            every = [pair for pair in filed]
            check_casework(env, target.casework_url, every)
            check_bare(target.bare_url, bare_filed)
            if args.cpu_filings:
                in_process(target, env, token, bodies, args.cpu_filings)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[8, 32],
                        help="comma-separated concurrencies (default 8,32)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per side, concurrency and round")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads of both servers")
    parser.add_argument("--cpu-filings", type=int, default=200,
                        help="filings for the in-process CPU and statement figures (0: skip)")
    parser.add_argument("--serve-bare", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare, args.port, args.threads)
        return
    for name in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        bench_backend(name, args)


if __name__ == "__main__":
    main()
