"""Benchmark: signing checkpoints and verifying bundles offline, beside a bare SHA-256 loop in the same run.

    .venv/bin/python bench/checkpoint.py [--events 200000] [--streams 20000] [--database-url URL]

Fills a fresh database (SQLite in a temporary folder unless --database-url names an empty migrated one)
with N events in S hash chains, written in bulk with the real hashes, then times:
- the first checkpoint (every stream new: read every head, build and sign the tree),
- a second one after 10% of the streams advanced (the periodic case: the comparison, the "head only
  advances" lookups, the tree again),
- the quick "nothing changed" check the periodic sweep runs every minute,
- `casework audit verify`'s checkpoint half (every signed head looked up in its chain),
- the offline verifier (verifier/casework_verify.py) over a bundle of every case: every event's hash
  recomputed, every inclusion proof checked, the signature checked,
and a bare loop of sha256(prev + canonical JSON) over the same events as the baseline (the least any
verifier must do). The goal is at least 100,000 events per second for building and for verifying.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert
from sqlalchemy.orm import Session

from cases import audit, checkpoint_verify, checkpoints
from cases.clock import fixed
from cases.database import make_engine
from cases.models import GENESIS_HASH, AuditEvent, AuditStream, Base
from verifier import casework_verify as cv

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _chains(streams: int, events: int, start: int = 0, heads: dict[str, tuple[int, str]] | None = None
            ) -> tuple[list[dict[str, Any]], dict[str, tuple[int, str]]]:
    """`events` events spread over `streams` chains (continuing `heads`), with their real hashes."""
    heads = dict(heads or {})
    rows = []
    for n in range(events):
        stream = f"case:{(start + n) % streams + 1}"
        seq, prev = heads.get(stream, (0, GENESIS_HASH))
        at = T0 + timedelta(seconds=start + n)
        payload = {"field": "amount", "before": n, "after": f"{n}.50", "note": "bench"}
        document = {"stream": stream, "seq": seq + 1, "at": audit.format_time(at), "actor": "agent@example.com",
                    "kind": "case.updated", "payload": payload}
        digest = audit.compute_hash(prev, document)
        rows.append({"stream": stream, "seq": seq + 1, "at": at, "actor": "agent@example.com", "kind": "case.updated",
                     "payload": audit.canonical(payload), "prev_hash": prev, "hash": digest})
        heads[stream] = (seq + 1, digest)
    return rows, heads


def _write(session: Session, rows: list[dict[str, Any]], heads: dict[str, tuple[int, str]], *, fresh: bool) -> None:
    for start in range(0, len(rows), 20000):
        session.execute(insert(AuditEvent), rows[start:start + 20000])
    if fresh:
        session.execute(insert(AuditStream),
                        [{"stream": s, "head_seq": q, "head_hash": h} for s, (q, h) in heads.items()])
    else:
        for stream, (seq, head) in heads.items():
            session.query(AuditStream).filter_by(stream=stream).update({"head_seq": seq, "head_hash": head})
    session.commit()


def _timed(fn: Any) -> tuple[Any, float]:
    """CPU seconds of this process (robust on a shared machine; the database's own work on PostgreSQL is
    not in it, so run it on SQLite to count everything)."""
    started = time.process_time()
    out = fn()
    return out, time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--streams", type=int, default=20_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="casework-bench-")
    url = args.database_url or f"sqlite:///{folder}/bench.db"
    engine = make_engine(url)
    if args.database_url is None:
        Base.metadata.create_all(engine)
    signer = checkpoints.Ed25519Signer.from_pem(checkpoints.new_private_key_pem())
    with Session(engine, expire_on_commit=False) as session:
        rows, heads = _chains(args.streams, args.events)
        _write(session, rows, heads, fresh=True)
        print(f"{args.events:,} events in {args.streams:,} chains on {engine.dialect.name}")

        first, first_s = _timed(lambda: checkpoints.build(session, signer, clock=fixed(T0)))
        assert first.created and first.checkpoint is not None
        quick, quick_s = _timed(lambda: checkpoints.build(session, signer, clock=fixed(T0), quick=True))
        assert not quick.created
        more = args.streams // 10
        rows2, heads2 = _chains(args.streams, more, start=0, heads=heads)
        _write(session, rows2, {s: heads2[s] for s in {r["stream"] for r in rows2}}, fresh=False)
        second, second_s = _timed(lambda: checkpoints.build(session, signer, clock=fixed(T0 + timedelta(hours=1))))
        assert second.created and second.checkpoint is not None and not second.refused
        report, db_verify_s = _timed(lambda: checkpoint_verify.verify(session, signer.public_key))
        assert not report.broken, report.broken[:3]

        cases = [SimpleNamespace(id=i, ref=f"CMP-{i:06d}", stream=f"case:{i}") for i in range(1, args.streams + 1)]
        bundle, export_s = _timed(lambda: checkpoints.bundle(session, cases, second.checkpoint, complete=True))  # type: ignore[arg-type]
        text = json.dumps(bundle)
        parsed = json.loads(text)
        verified, offline_s = _timed(lambda: cv.verify_bundle(parsed))
        events = [e for case in parsed["cases"] for e in case["events"]]

        # Baseline: the bare hash loop over exactly these events (what any verifier must at least do).
        def bare() -> None:
            sha256, encode = hashlib.sha256, cv.canonical
            for e in events:
                sha256((e["prev_hash"] + encode({"stream": e["stream"], "seq": e["seq"], "at": e["at"],
                                                  "actor": e["actor"], "kind": e["kind"],
                                                  "payload": e["payload"]})).encode()).hexdigest()

        _none, bare_s = _timed(bare)
        raw = [(e["prev_hash"] + e["hash"]).encode() for e in events]
        _none, sha_s = _timed(lambda: [hashlib.sha256(b).digest() for b in raw])
        total = args.events + more
        assert verified.events == total

    def line(what: str, seconds: float, count: int, unit: str = "events") -> None:
        print(f"  {what:<58} {seconds * 1000:9.1f} ms  {count / seconds:>12,.0f} {unit}/s")

    print("baseline")
    line("bare sha256(prev + canonical JSON) over every event", bare_s, total)
    line("bare sha256 of pre-built bytes (no JSON at all)", sha_s, total)
    print("checkpoints")
    line(f"first checkpoint ({args.streams:,} new chains, {args.events:,} events)", first_s, args.events)
    line("nothing changed: the periodic sweep's quick check", quick_s, args.events)
    line(f"next checkpoint ({more:,} chains advanced)", second_s, total)
    line("audit verify: every signed head still in its chain", db_verify_s, report.heads, "heads")
    print("offline verifier")
    line(f"bundle of every case exported ({len(text) / 1e6:.0f} MB JSON)", export_s, total)
    line("verify_bundle: every hash, inclusion proof and signature", offline_s, total)
    print(f"(CPU time of this process; load average {os.getloadavg()[0]:.1f})")
    print(f"offline verification runs at {bare_s / offline_s:.2f}x the speed of the bare hash loop")
    engine.dispose()


if __name__ == "__main__":
    main()
