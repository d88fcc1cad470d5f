"""Load and crash run: PostgreSQL + Redis, web processes and a worker killed under load, then the checks.

    .venv/bin/python bench/load.py                               # 200 clients, 60 s (the acceptance run)
    .venv/bin/python bench/load.py --clients 20 --seconds 15     # smoke run
    TEST_DATABASE_URL=postgresql://... and --redis-url redis://.../N choose the servers (defaults: the
    local `test` database and Redis database 7, which every run empties)

Two set-ups are run one after the other, each on a fresh PostgreSQL schema (dropped afterwards) with
the starter library (`casework demo --cases 0`), an emptied Redis database and a local SMTP sink:

- scale-out: `casework serve --workers 2` (gunicorn, as the README's *Deployment* says) and one
  `casework worker`; at a third of the run one gunicorn worker process is killed with SIGKILL (gunicorn
  starts a new one), at two thirds the `casework worker` (its process group: the job being run dies
  too), and the bench starts it again at once, as a supervisor would;
- baseline: the same load against one `casework serve` process (waitress) and one worker, killed at the
  same moments (the bench restarts the server too, as there is no second process to serve meanwhile).

Each client (a thread with its own connections) files a complaint as the demo requester with an
`Idempotency-Key`, then works it as the demo agent: reads it, claims it, moves it to triage, comments,
and closes (rejects) some of them (--closures in all, since each closure renders two PDFs on the same
cores). Timeouts, dropped connections, 502/503 are retried with the same key. Then the checks: every
accepted filing has exactly one case (found by the key written into the case's description), a filing
of unknown outcome at most one; no case without its audit events; `casework audit verify` passes;
every document of every closed case is `done` within --settle (120 s) of the end; no e-mail reached the
sink twice. Printed: throughput and p95 of each set-up and their ratios. Exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from load_checks import SmtpSink, check_events, check_filings, check_mail, wait_for_documents  # beside this file
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/7"  # the tests use 3 and 9-15
CASEWORK = str(Path(sys.executable).parent / "casework")  # the one beside the Python running this
RETRYABLE = {502, 503, 504}
# The watchdog's round and how long queued work may wait without a job: short here, so work a killed
# worker held is recovered within the settle period (the defaults are 60 s and 300 s).
INSTANCE_CONFIG = "WATCHDOG_INTERVAL_S = 10\nJOB_STUCK_AFTER_S = 60\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------- the processes


@dataclass
class Stack:
    """The Casework processes of one set-up, started and killed as a crash would."""

    env: dict[str, str]
    log_dir: Path
    port: int
    web_workers: int  # 1: one waitress process; more: gunicorn with that many worker processes
    web: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    restarts: list[str] = field(default_factory=list)

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - kept open by the child
        return subprocess.Popen([CASEWORK, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def start_web(self) -> None:
        args = ["serve", "--port", str(self.port)]
        if self.web_workers > 1:
            args += ["--workers", str(self.web_workers)]
        self.web = self._start("serve", *args)

    def start_worker(self) -> None:
        self.worker = self._start("worker", "worker")

    def web_children(self) -> list[int]:
        assert self.web is not None
        path = Path(f"/proc/{self.web.pid}/task/{self.web.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill_web(self) -> None:
        """SIGKILL one web process: a gunicorn worker (its master starts another), or the one server."""
        if self.web_workers > 1:
            victim = random.choice(self.web_children())
            os.kill(victim, signal.SIGKILL)
            started = time.monotonic()
            while victim in (children := self.web_children()) or len(children) < self.web_workers:
                if time.monotonic() - started > 60:
                    self.restarts.append("gunicorn did not replace its killed worker within 60 s")
                    return
                time.sleep(0.1)
            self.restarts.append(f"web worker {victim} killed, replaced in {time.monotonic() - started:.1f} s")
            return
        assert self.web is not None
        os.killpg(self.web.pid, signal.SIGKILL)
        self.web.wait()
        self.start_web()
        self.restarts.append("the web process killed and started again")

    def kill_worker(self) -> None:
        assert self.worker is not None
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait()
        self.start_worker()
        self.restarts.append("the worker (and the job it ran) killed and started again")

    def stop(self) -> None:
        for process in (self.web, self.worker):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


# ---------------------------------------------------------------- the clients


@dataclass
class Tally:
    """What the clients saw, shared by every client thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)
    finished: list[float] = field(default_factory=list)  # time.monotonic() of each answered request
    requests: int = 0
    retries: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    accepted: dict[str, int] = field(default_factory=dict)  # Idempotency-Key -> case id
    unknown: set[str] = field(default_factory=set)  # filings whose outcome the client never learnt
    filed: list[float] = field(default_factory=list)  # time.monotonic() of each accepted filing
    closures_left: int = 0
    closed: int = 0

    def took(self, seconds: float, retries: int) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.finished.append(time.monotonic())
            self.requests += 1
            self.retries += retries

    def take_closure(self) -> bool:
        with self.lock:
            if self.closures_left <= 0:
                return False
            self.closures_left -= 1
            return True


class Client:
    """One person's connection to the server: requests with timeouts, retried with the same key."""

    def __init__(self, port: int, token: str, tally: Tally, timeout: float, attempts: int) -> None:
        self.port, self.token, self.tally = port, token, tally
        self.timeout, self.attempts = timeout, attempts
        self.conn: http.client.HTTPConnection | None = None

    def _once(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        self.conn.request(method, "/api/v1" + path, body=body or None, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw and raw[:1] in b"{[" else None

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *,
             key: str | None = None) -> tuple[int | None, Any]:
        """(status, JSON) of the first answer that is not a timeout or 502/503/504; (None, None) if none."""
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        payload = json.dumps(body).encode() if body is not None else b""
        started = time.monotonic()
        for attempt in range(self.attempts):
            try:
                status, answer = self._once(method, path, payload, headers)
            except (OSError, http.client.HTTPException):
                status, answer = None, None
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
            if status is not None and status not in RETRYABLE and not _still_running(status, answer):
                self.tally.took(time.monotonic() - started, attempt)
                return status, answer
            time.sleep(min(0.25 * 2 ** attempt, 4.0) * (0.5 + random.random()))
        with self.tally.lock:
            self.tally.failures[f"{method} gave up"] += 1
            self.tally.retries += self.attempts - 1
        return None, None


def _still_running(status: int, answer: Any) -> bool:
    """The first request with this key is still being worked on: the server says to retry in a moment."""
    error = answer.get("error") if isinstance(answer, dict) else None
    return status == 409 and isinstance(error, dict) and error.get("code") == "idempotency_in_progress"


def file_and_work(requester: Client, agent: Client, sample: dict[str, Any], tally: Tally) -> None:
    """One round of a client: file a complaint, then work it as the agent (perhaps closing it)."""
    key = uuid.uuid4().hex
    data = {**sample, "description": f"Load run {key}. {sample.get('description', '')}"}
    status, case = requester.call("POST", "/case-types/complaint/cases", {"data": data}, key=key)
    if status != 201:
        with tally.lock:
            tally.unknown.add(key)
            tally.failures[f"file {status}"] += 1
        return
    with tally.lock:
        tally.accepted[key] = int(case["id"])
        tally.filed.append(time.monotonic())
    case_id = case["id"]
    steps: list[tuple[str, str, dict[str, Any] | None, str | None]] = [
        ("GET", f"/cases/{case_id}", None, None),
        ("POST", f"/cases/{case_id}/claim", None, None),
        ("POST", f"/cases/{case_id}/transitions", {"transition": "triage"}, uuid.uuid4().hex),
        ("POST", f"/cases/{case_id}/comments", {"body": "Looking into it (load run)."}, uuid.uuid4().hex),
    ]
    if tally.take_closure():
        steps.append(("POST", f"/cases/{case_id}/transitions",
                      {"transition": "reject", "comment": "Closed by the load run."}, uuid.uuid4().hex))
    for method, path, body, step_key in steps:
        status, _ = agent.call(method, path, body, key=step_key)
        if status is None or status >= 400:
            with tally.lock:
                tally.failures[f"{path.split('/')[-1] if method == 'POST' else 'read'} {status}"] += 1
            return
    if len(steps) == 5:
        with tally.lock:
            tally.closed += 1


def drive(port: int, tokens: dict[str, str], sample: dict[str, Any], args: argparse.Namespace,
          stack: Stack) -> tuple[Tally, float, float]:
    """Run the clients for --seconds, killing a web process and the worker on schedule; returns the tally,
    when the load started and how long until the last client's last retry ended."""
    tally = Tally(closures_left=args.closures)
    stop_at = time.monotonic() + args.seconds

    def client_loop() -> None:
        requester = Client(port, tokens["requester"], tally, args.timeout, args.attempts)
        agent = Client(port, tokens["agent"], tally, args.timeout, args.attempts)
        while time.monotonic() < stop_at:
            file_and_work(requester, agent, sample, tally)

    started = time.monotonic()
    threads = [threading.Thread(target=client_loop, daemon=True) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    for at, kill in ((args.seconds / 3, stack.kill_web), (args.seconds * 2 / 3, stack.kill_worker)):
        time.sleep(max(0.0, started + at - time.monotonic()))
        print(f"  {time.monotonic() - started:5.1f} s: kill -9 ({kill.__name__})", flush=True)
        threading.Thread(target=kill, daemon=True).start()
    for thread in threads:
        thread.join()
    return tally, started, time.monotonic() - started


# ---------------------------------------------------------------- one set-up, start to finish


def prepare(url: str, env: dict[str, str]) -> tuple[dict[str, str], dict[str, Any]]:
    def casework(*args: str) -> str:
        return subprocess.run([CASEWORK, *args], env=env, capture_output=True, text=True, timeout=900,
                              check=True).stdout

    casework("init", "--no-packs")
    casework("demo", "--cases", "0")
    tokens = {who: casework("token", "create", f"{who}@example.com").split()[-1] for who in ("requester", "agent")}
    sample = json.loads((ROOT / "packs" / "complaint" / "samples.json").read_text())["samples"][0]["data"]
    return tokens, sample


def wait_until_up(port: int, token: str, stack: Stack) -> None:
    deadline = time.monotonic() + 300
    probe = Client(port, token, Tally(), timeout=5, attempts=1)
    while True:
        if (stack.web is not None and stack.web.poll() is not None) or time.monotonic() > deadline:
            raise SystemExit("casework serve did not start:\n" + (stack.log_dir / "serve.log").read_text()[-3000:])
        all_forked = stack.web_workers == 1 or len(stack.web_children()) == stack.web_workers
        if all_forked and probe.call("GET", "/me")[0] == 200:
            return
        time.sleep(0.5)


def run_setup(label: str, web_workers: int, args: argparse.Namespace) -> dict[str, Any]:
    """A fresh schema, Redis database and sink; the load with its kills; the checks. Returns the figures."""
    import redis

    load_before = os.getloadavg()[0]
    redis.Redis.from_url(args.redis_url).flushdb()
    sink = SmtpSink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    instance = Path(tempfile.mkdtemp(prefix="casework-load-"))
    (instance / "config.py").write_text(INSTANCE_CONFIG)
    with fresh_schema(args.database_url) as url:
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis_url, "CASEWORK_INSTANCE": str(instance),
               "SECRET_KEY": uuid.uuid4().hex, "SMTP_URL": f"smtp://127.0.0.1:{sink.server_address[1]}",
               "LOG_LEVEL": "WARNING"}
        tokens, sample = prepare(url, env)
        stack = Stack(env=env, log_dir=instance, port=free_port(), web_workers=web_workers)
        try:
            stack.start_web()
            stack.start_worker()
            wait_until_up(stack.port, tokens["agent"], stack)
            print(f"{label}: {args.clients} clients for {args.seconds:g} s ...", flush=True)
            tally, started, elapsed = drive(stack.port, tokens, sample, args, stack)
            problems, figures = verify(url, env, tally, sink, args)
        finally:
            stack.stop()
            sink.shutdown()
    figures.update(load_before=load_before, load_after=os.getloadavg()[0], label=label, started=started,
                   seconds=args.seconds, elapsed=elapsed, tally=tally,
                   problems=problems, restarts=stack.restarts, logs=str(instance))
    return figures


def verify(url: str, env: dict[str, str], tally: Tally, sink: SmtpSink,
           args: argparse.Namespace) -> tuple[list[str], dict[str, Any]]:
    print(f"  load over; waiting up to {args.settle:g} s for the documents and e-mail, then checking", flush=True)
    problems, documents_after, documents = wait_for_documents(url, args.settle)
    mail_problems, mails = check_mail(url, sink, max(10.0, args.settle - documents_after))
    engine = create_engine(url)
    with engine.connect() as conn:
        problems += check_filings(conn, tally.accepted, tally.unknown) + check_events(conn) + mail_problems
        cases = conn.execute(text("SELECT count(*) FROM cases")).scalar_one()
    engine.dispose()
    audit = subprocess.run([CASEWORK, "audit", "verify"], env=env, capture_output=True, text=True, timeout=900)
    if audit.returncode != 0:
        problems.append("casework audit verify: " + (audit.stdout + audit.stderr).strip()[-500:])
    return problems, {"cases": cases, "documents": sum(documents.values()), "documents_after": documents_after,
                      "mails": mails}


@contextmanager
def fresh_schema(base: str) -> Iterator[str]:
    """The URL of a new PostgreSQL schema for one set-up, dropped afterwards."""
    schema, engine = f"bench_{uuid.uuid4().hex[:10]}", create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


# ---------------------------------------------------------------- figures


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)] if ordered else float("nan")  # nearest rank


def report(figures: dict[str, Any]) -> None:
    tally: Tally = figures["tally"]
    # Throughput counts what was answered within the load's --seconds; p95 covers every answer.
    seconds, end = figures["seconds"], figures["started"] + figures["seconds"]
    figures["filings_per_s"] = sum(1 for at in tally.filed if at <= end) / seconds
    figures["requests_per_s"] = sum(1 for at in tally.finished if at <= end) / seconds
    figures["p95_ms"] = p95(tally.latencies) * 1000
    print(f"{figures['label']}: {len(tally.accepted)} filings accepted ({figures['filings_per_s']:.1f}/s), "
          f"{len(tally.unknown)} of unknown outcome, {tally.closed} closed; {tally.requests} requests "
          f"({figures['requests_per_s']:.1f}/s answered within the {seconds:g} s; the last retry ended after "
          f"{figures['elapsed']:.0f} s), "
          f"p95 {figures['p95_ms']:.0f} ms, {tally.retries} retries")
    print(f"  crashes: {'; '.join(figures['restarts']) or 'none'}")
    late = figures["elapsed"] - seconds  # the clients' retries ran past the load's end by this much
    print(f"  {figures['cases']} cases, {figures['documents']} documents of closed cases done "
          f"{figures['documents_after']:.0f} s after the last retry ({figures['documents_after'] + late:.0f} s after "
          f"the {seconds:g} s of load), {figures['mails']} e-mails at the sink; load average "
          f"{figures['load_before']:.1f} before, {figures['load_after']:.1f} after")
    if tally.failures:
        print(f"  answers that stopped a round: {dict(tally.failures)}")
    for problem in figures["problems"]:
        print(f"  CHECK FAILED: {problem}")
    print(f"  checks: {'all passed' if not figures['problems'] else 'FAILED'} (logs in {figures['logs']})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes of the scale-out run")
    parser.add_argument("--closures", type=int, help="cases closed in all, each rendering two PDFs on the "
                        "same cores (default: one per 10 clients)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a client waits for one answer")
    parser.add_argument("--attempts", type=int, default=8, help="tries of one request (timeouts, 502/503/504)")
    parser.add_argument("--settle", type=float, default=120.0, help="seconds after the end for documents and mail")
    parser.add_argument("--no-baseline", action="store_true", help="skip the one-process run")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help="a Redis database this run may empty")
    args = parser.parse_args()
    args.database_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    args.closures = max(1, args.clients // 10) if args.closures is None else args.closures
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    runs = [run_setup(f"scale-out ({args.web_workers} web processes + 1 worker)", args.web_workers, args)]
    report(runs[0])  # at once: a failure of the second set-up must not lose the first one's figures
    if not args.no_baseline:
        runs.append(run_setup("baseline (1 web process + 1 worker)", 1, args))
        report(runs[1])
    if len(runs) == 2:
        scale, single = runs
        print(f"scale-out vs baseline: throughput {scale['requests_per_s'] / single['requests_per_s']:.2f}x "
              f"(filings {scale['filings_per_s'] / single['filings_per_s']:.2f}x), "
              f"p95 {scale['p95_ms'] / single['p95_ms']:.2f}x; load average now {os.getloadavg()[0]:.1f}")
        faster = scale["requests_per_s"] > single["requests_per_s"]
        print(f"scale-out faster than one process: {'yes' if faster else 'NO'} (on a machine other work shares, "
              "compare only runs with similar load averages)")
    raise SystemExit(1 if any(figures["problems"] for figures in runs) else 0)


if __name__ == "__main__":
    main()
