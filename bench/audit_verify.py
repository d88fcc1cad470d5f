"""`casework audit verify` speed: events per second beside a bare SHA-256 loop over the same rows.

    .venv/bin/python bench/audit_verify.py                       # 1,000,000 events in 100,000 chains, both backends
    .venv/bin/python bench/audit_verify.py --events 100000 --backend sqlite
    TEST_DATABASE_URL=postgresql://... to choose the PostgreSQL server (default: the local `test` database)

Needs only what `make run` installs; imports nothing from tests/.

Per backend it makes a fresh database (SQLite file; PostgreSQL: a new schema, dropped afterwards) with
Casework's audit tables, writes valid chains quickly (hashes computed exactly as `cases.audit.append`
does, rows bulk-inserted: COPY on PostgreSQL, executemany on SQLite), then in a child process each:
- `cases.audit.verify` over the whole log (what `casework audit verify` runs), and
- the baseline: the same rows fetched with the same columns and one SHA-256 per row, nothing else.
It prints events/s of both and the child's peak memory; a run with a tenth of the events shows that
memory stays flat. Goal: >= 100,000 events/s.

Then (unless --no-proof) it runs bench/checkpoint.py with the same numbers on SQLite: signing a checkpoint
over every chain's head and the standalone offline verifier over an exported bundle, beside the same
bare SHA-256 loop (goal >= 100,000 events/s there too).

Figures (2 cores shared with other test runs, load average 17-20): `bench/audit_verify.py --events 200000
--rounds 2 --no-proof` gave SQLite 33-37k events/s against the bare loop's 65-80k (0.5x), PostgreSQL
50-69k against 94-126k (0.4-0.7x); peak memory 90-93 MB, the same as before the run started. The bare
loop itself stays under 100k/s on this machine under that load, so the absolute goal needs a quiet one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
KINDS = ("case.commented", "case.claimed", "case.prioritised", "case.transitioned", "sla.started")


def make_database(backend: str, workdir: Path) -> tuple[str, str | None]:
    """(url, schema to drop) of an empty database with the audit tables."""
    from app.config import database_url

    if backend == "sqlite":
        return f"sqlite:///{workdir / 'audit.db'}", None
    base = database_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG))
    schema = f"cw_bench_audit_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def drop_schema(schema: str) -> None:
    from app.config import database_url

    admin = create_engine(database_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def chains(events: int, streams: int, seed: int = 7):  # type: ignore[no-untyped-def]
    """Valid chains: rows for audit_events and audit_streams, hashed as cases.audit.append hashes them."""
    from cases.audit import canonical, compute_hash, format_time
    from cases.models import GENESIS_HASH

    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    per = [events // streams + (1 if i < events % streams else 0) for i in range(streams)]
    heads = []
    for index, count in enumerate(per):
        stream, prev = f"case:{index + 1}", GENESIS_HASH
        at = start + timedelta(minutes=index)
        batch = []
        for seq in range(1, count + 1):
            at += timedelta(seconds=rng.randint(1, 3600), microseconds=rng.randint(0, 999_999))
            kind = KINDS[seq % len(KINDS)] if seq > 1 else "case.filed"
            payload = canonical({"body": f"note {seq} on {stream}", "internal": seq % 3 == 0,
                                 "before": "normal", "after": rng.choice(["low", "high", "urgent"])})
            document = {"stream": stream, "seq": seq, "at": format_time(at), "actor": "agent@example.com",
                        "kind": kind, "payload": json.loads(payload)}
            digest = compute_hash(prev, document)
            batch.append({"stream": stream, "seq": seq, "at": at, "actor_id": None, "actor": "agent@example.com",
                          "kind": kind, "payload": payload, "prev_hash": prev, "hash": digest})
            prev = digest
        heads.append({"stream": stream, "head_seq": count, "head_hash": prev})
        yield batch
    yield heads


def seed(engine: Engine, events: int, streams: int) -> float:
    from cases.models import AuditEvent, AuditStream, Base, User

    Base.metadata.create_all(engine, tables=[User.__table__, AuditStream.__table__, AuditEvent.__table__])
    began = time.perf_counter()
    generated = chains(events, streams)
    pending: list[dict[str, object]] = []
    columns = ["stream", "seq", "at", "actor_id", "actor", "kind", "payload", "prev_hash", "hash"]

    def flush(conn: object) -> None:
        if not pending:
            return
        if engine.dialect.name == "postgresql":
            raw = conn.connection.driver_connection  # type: ignore[attr-defined]
            with raw.cursor().copy(f"COPY audit_events ({', '.join(columns)}) FROM STDIN") as copy:
                for row in pending:
                    copy.write_row([row[c] for c in columns])
        else:
            conn.execute(insert(AuditEvent.__table__), pending)  # type: ignore[attr-defined]
        pending.clear()

    with engine.begin() as conn:
        heads: list[dict[str, object]] = []
        for batch in generated:
            if batch and "head_seq" in batch[0]:
                heads = batch
                break
            pending.extend(batch)
            if len(pending) >= 20_000:
                flush(conn)
        flush(conn)
        conn.execute(insert(AuditStream.__table__), heads)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("ANALYZE audit_events"))
            conn.commit()
    return time.perf_counter() - began


BARE_SQL = "SELECT stream, seq, at, actor, kind, payload, prev_hash, hash FROM audit_events ORDER BY stream, seq"


def stored_rows(session: object, batch: int = 5000) -> object:
    """The baseline's rows: every stored column the hash covers, in chain order, on the driver's own cursor
    (a server-side cursor on PostgreSQL), as verification reads them."""
    connection = session.connection()  # type: ignore[attr-defined]
    raw = connection.connection.driver_connection
    postgresql = connection.dialect.name == "postgresql"
    cursor = raw.cursor(name="bench_bare") if postgresql else raw.cursor()
    if postgresql:
        cursor.itersize = batch
    cursor.execute(BARE_SQL)
    while rows := cursor.fetchmany(batch):
        yield from rows
    cursor.close()


def measure(url: str, what: str) -> None:
    """In a child process: run one side once warm and print `events seconds peak_kb`."""
    from sqlalchemy.orm import Session

    from cases import audit
    from cases.database import make_engine

    engine = make_engine(url)
    with Session(engine) as session:
        session.execute(text("SELECT count(*) FROM audit_events")).scalar()  # warm the cache
        before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        began = time.perf_counter()
        if what == "verify":
            result = audit.verify(session)
            assert result.ok, result.first_broken
            count = result.checked
        else:
            count = 0
            sha256 = hashlib.sha256
            for row in stored_rows(session):
                sha256((row[6] + row[5]).encode()).hexdigest()
                count += 1
        seconds = time.perf_counter() - began
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    engine.dispose()
    print(count, seconds, before_kb, peak_kb)


def child(url: str, what: str) -> tuple[int, float, int, int]:
    out = subprocess.run([sys.executable, __file__, "--measure", what, "--url", url], capture_output=True,
                         text=True, check=True).stdout.split()
    return int(out[0]), float(out[1]), int(out[2]), int(out[3])


def bench(backend: str, events: int, streams: int, rounds: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="cw-bench-audit-"))
    url, schema = make_database(backend, workdir)
    try:
        engine = create_engine(url)
        seconds = seed(engine, events, streams)
        engine.dispose()
        print(f"\n{backend}: {events:,} events in {streams:,} chains (seeded in {seconds:.0f} s)")
        for _ in range(rounds):
            for what in ("verify", "sha256"):
                count, took, before_kb, peak_kb = child(url, what)
                label = "audit.verify" if what == "verify" else "bare SHA-256 loop over the same rows"
                print(f"  {label:38s} {count / took:10,.0f} events/s  ({took:.2f} s; memory {before_kb / 1024:.0f} MB "
                      f"before, peak {peak_kb / 1024:.0f} MB)")
    finally:
        if schema:
            drop_schema(schema)
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--streams", type=int, default=None, help="chains (default: events / 10)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--measure", choices=["verify", "sha256"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--no-proof", action="store_true", help="skip the checkpoint and offline-verifier part")
    args = parser.parse_args()
    if args.measure:
        measure(args.url, args.measure)
        return
    streams = args.streams or max(1, args.events // 10)
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        bench(backend, args.events, streams, args.rounds)
    if not args.no_proof:
        print("\n== checkpoints and the offline verifier (bench/checkpoint.py)", flush=True)
        subprocess.run([sys.executable, str(Path(__file__).with_name("checkpoint.py")), "--events", str(args.events),
                        "--streams", str(streams)], check=True)


if __name__ == "__main__":
    main()
