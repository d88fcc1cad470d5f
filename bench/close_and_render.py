"""Cases closed through the API right after a fresh start: how long until every document is `done`.

    .venv/bin/python bench/close_and_render.py                 # PostgreSQL, 50 cases
    .venv/bin/python bench/close_and_render.py --cases 20 --sqlite
    TEST_DATABASE_URL=postgresql://... to choose the server (default: the local `test` database)

A fresh schema (dropped afterwards) gets the starter library (`casework demo --cases 0`); then a real
`casework serve` starts on a free port, and N complaints are filed by the demo requester and rejected
by the demo agent through the REST API, one after the other. Rejecting closes the case; the complaint
case type runs its rules on the transition (in a savepoint: the path where, before the fix, PostgreSQL
left the documents queued) and queues two PDFs (the dossier and the resolution letter).

Printed: the seconds from the last closure to the last document done, the render rate in documents
per minute, the CPU seconds the server and its renderers spent per document (a shared machine's load
changes them little, unlike the wall clock) and what quiet cores would need, and the statuses after
a watchdog period (WATCHDOG_INTERVAL_S, set to 10 s here) past the deadline, when nothing may be
queued or rendering any more. Exit status 1 if a document is
still not done then, or the deadline (--deadline, 60 s) was missed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WATCHDOG_S = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(base: str, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - our own local server
        base + path, method=method, data=json.dumps(body or {}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - our own local server
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"{method} {path}: {exc.code} at {exc.url}: {exc.read()[:500]!r}") from None


def casework(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "casework"), *args], env=env, capture_output=True,
                            text=True, timeout=600, check=True)
    return result.stdout


def _stat(pid: int) -> tuple[int, list[str]] | None:
    """(parent pid, the fields after the command name) of a process from /proc, None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[1]), fields


def tree_cpu(root: int) -> tuple[float, float, float]:
    """CPU seconds (user + system), from /proc (Linux): of `root` itself; of its own children (the render
    forkserver, which imports WeasyPrint and pyHanko at start-up); and of the processes below them (the
    renderers, those still running and those already reaped)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {int(name): stat for name in os.listdir("/proc") if name.isdigit() and (stat := _stat(int(name)))}
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    # utime, stime, cutime, cstime are fields 14-17 of /proc/PID/stat (11-14 after the command name).
    own = {pid: int(fields[11]) + int(fields[12]) for pid, (_, fields) in stats.items()}
    reaped = {pid: int(fields[13]) + int(fields[14]) for pid, (_, fields) in stats.items()}
    buckets = [own.get(root, 0), reaped.get(root, 0), 0]
    pending = [(pid, 1) for pid in children.get(root, [])]
    while pending:
        pid, depth = pending.pop()
        buckets[1 if depth == 1 else 2] += own[pid]
        buckets[2] += reaped[pid]
        pending.extend((kid, depth + 1) for kid in children.get(pid, []))
    return buckets[0] / tick, buckets[1] / tick, buckets[2] / tick


def statuses(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT status, count(*) FROM documents GROUP BY status")).all()
    engine.dispose()
    return {status: count for status, count in rows}


def run(url: str, args: argparse.Namespace) -> int:
    instance = Path(tempfile.mkdtemp(prefix="casework-bench-instance-"))
    (instance / "config.py").write_text(f"WATCHDOG_INTERVAL_S = {WATCHDOG_S}\n")
    env = {**os.environ, "DATABASE_URL": url, "CASEWORK_INSTANCE": str(instance)}
    env.pop("REDIS_URL", None)
    print("Loading the starter library ...", flush=True)
    casework(env, "init", "--no-packs")
    casework(env, "demo", "--cases", "0")
    requester = casework(env, "token", "create", "requester@example.com").split()[-1]
    agent = casework(env, "token", "create", "agent@example.com").split()[-1]
    sample = json.loads((ROOT / "packs" / "complaint" / "samples.json").read_text())["samples"][0]["data"]

    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    log = open(instance / "serve.log", "wb")  # noqa: SIM115 - open while the server runs
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "casework"), "serve", "--port", str(port)], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("casework serve did not start:\n" + (instance / "serve.log").read_text()[-3000:])
            try:
                if call(base, "GET", "/me", agent).get("email") == "agent@example.com":
                    break
            except OSError:
                pass
            time.sleep(0.2)
        print(f"casework serve is up on port {port}; closing {args.cases} cases through the API ...", flush=True)
        cpu_start = tree_cpu(server.pid)
        first_close = 0.0
        for n in range(args.cases):
            case = call(base, "POST", "/case-types/complaint/cases", requester, {"data": {**sample}})
            call(base, "POST", f"/cases/{case['id']}/claim", agent)
            call(base, "POST", f"/cases/{case['id']}/transitions", agent,
                 {"transition": "reject", "comment": f"Bench closure {n}."})
            first_close = first_close or time.monotonic()
        closed = time.monotonic()
        print(f"{args.cases} cases closed in {closed - first_close:.1f} s", flush=True)
        total = 2 * args.cases
        done_at = None
        while time.monotonic() - closed < args.deadline + WATCHDOG_S * 3:
            counts = statuses(url)
            if counts.get("done", 0) + counts.get("failed", 0) >= total and done_at is None:
                done_at = time.monotonic()
                break
            time.sleep(0.25)
        web_cpu, start_cpu, render_cpu = (after - before for after, before
                                          in zip(tree_cpu(server.pid), cpu_start, strict=True))
        counts = statuses(url)
        end = done_at or time.monotonic()
        elapsed = end - closed
        print(f"documents: {counts} of {total}; the last one finished {elapsed:.1f} s after the last closure "
              f"(deadline {args.deadline:g} s), {end - first_close:.1f} s after the first")
        print(f"render rate: {counts.get('done', 0) / (end - first_close) * 60:.1f} documents/min from the first "
              f"closure, {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f})")
        spent = web_cpu + start_cpu + render_cpu
        cores = os.cpu_count() or 1
        print(f"CPU: {spent:.1f} s in all, {spent / total:.2f} s per document; the server process (API requests "
              f"included) {web_cpu:.1f} s, the renderers {render_cpu:.1f} s ({render_cpu / total:.2f} s per document), "
              f"the renderer's start-up {start_cpu:.1f} s; on {cores} quiet cores this run needs at least "
              f"{spent / cores:.0f} s ({60 * total * cores / spent:.0f} documents/min)")
        time.sleep(WATCHDOG_S + 2)
        after = statuses(url)
        print(f"after a watchdog period ({WATCHDOG_S} s) more: {after}")
        ok = after.get("done", 0) == total and done_at is not None and elapsed <= args.deadline
        print("OK" if ok else "NOT OK")
        return 0 if ok else 1
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--deadline", type=float, default=60.0)
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    if args.sqlite:
        with tempfile.TemporaryDirectory() as folder:
            raise SystemExit(run(f"sqlite:///{folder}/bench.db", args))
    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        code = run(f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}", args)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
    raise SystemExit(code)


if __name__ == "__main__":
    main()
