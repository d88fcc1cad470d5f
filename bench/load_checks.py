"""The load run's SMTP sink and its checks of the database after the load (see bench/load.py)."""

from __future__ import annotations

import hashlib
import json
import re
import socketserver
import threading
import time
from collections import Counter
from typing import Any

from sqlalchemy import create_engine, text

KEY_RE = re.compile(r"Load run ([0-9a-f]{32})\.")


# ---------------------------------------------------------------- the SMTP sink


class SmtpSink(socketserver.ThreadingTCPServer):
    """Just enough SMTP to take Casework's messages; counts each distinct message (its bytes)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpSession)
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()

    def take(self, message: bytes) -> None:
        # Headers a sender adds per attempt (Date, Message-ID) would hide a message sent twice.
        body = b"\n".join(line for line in message.splitlines()
                          if not line.lower().startswith((b"date:", b"message-id:")))
        with self.lock:
            self.received[hashlib.sha256(body).hexdigest()] += 1


class _SmtpSession(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 bench-sink ESMTP")
        while line := self.rfile.readline():
            verb = line.decode(errors="replace").strip().upper()
            if verb.startswith(("EHLO", "HELO")):
                self.reply("250 bench-sink")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                lines = []
                while (part := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    lines.append(part[1:] if part.startswith(b"..") else part)
                self.server.take(b"".join(lines))  # type: ignore[attr-defined]
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:  # MAIL FROM, RCPT TO, RSET, NOOP
                self.reply("250 ok")


# ---------------------------------------------------------------- the checks


def check_filings(conn: Any, accepted: dict[str, int], unknown: set[str]) -> list[str]:
    """Every accepted filing has exactly its one case; a filing of unknown outcome at most one."""
    found: Counter[str] = Counter()
    case_of: dict[str, int] = {}
    for case_id, data in conn.execute(text("SELECT id, data FROM cases")):
        match = KEY_RE.search(json.loads(data).get("description", ""))
        if match:
            found[match.group(1)] += 1
            case_of[match.group(1)] = case_id
    problems = [f"filing {key} accepted as case {case_id} has {found[key]} cases"
                for key, case_id in accepted.items() if found[key] != 1 or case_of.get(key) != case_id]
    problems += [f"filing {key} (outcome unknown to its client) has {found[key]} cases"
                 for key in unknown if found[key] > 1]
    strays = set(found) - set(accepted) - unknown
    problems += [f"{len(strays)} cases filed under keys no client used"] if strays else []
    return problems


def check_events(conn: Any) -> list[str]:
    missing = conn.execute(text("SELECT count(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM audit_events e "
                                "WHERE e.stream = 'case:' || c.id::text)")).scalar_one()
    return [f"{missing} cases without audit events"] if missing else []


def wait_for_documents(conn_url: str, settle: float) -> tuple[list[str], float, Counter[str]]:
    """Poll until every document of every closed case is done (or --settle passes)."""
    engine = create_engine(conn_url)
    started = time.monotonic()
    try:
        while True:
            with engine.connect() as conn:
                counts: Counter[str] = Counter(dict(conn.execute(text(
                    "SELECT d.status, count(*) FROM documents d JOIN cases c ON c.id = d.case_id "
                    "WHERE c.closed_at IS NOT NULL AND NOT d.draft GROUP BY d.status")).all()))
                bare = conn.execute(text("SELECT count(*) FROM cases c WHERE c.closed_at IS NOT NULL AND NOT EXISTS "
                                         "(SELECT 1 FROM documents d WHERE d.case_id = c.id)")).scalar_one()
            waited = time.monotonic() - started
            if not bare and set(counts) <= {"done"}:
                return [], waited, counts
            if waited > settle:
                problems = [f"documents of closed cases after {settle:g} s: {dict(counts)}"]
                return problems + ([f"{bare} closed cases without documents"] if bare else []), waited, counts
            time.sleep(1)
    finally:
        engine.dispose()


def check_mail(conn_url: str, sink: SmtpSink, settle: float) -> tuple[list[str], int]:
    """Wait for the outbox to drain, then: no message reached the sink twice, and each sent one arrived."""
    engine = create_engine(conn_url)
    started = time.monotonic()
    try:
        while True:
            with engine.connect() as conn:
                pending = conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL "
                                            "AND failed_at IS NULL")).scalar_one()
                sent = conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL")).scalar_one()
            if not pending or time.monotonic() - started > settle:
                break
            time.sleep(1)
    finally:
        engine.dispose()
    with sink.lock:
        twice = sum(n - 1 for n in sink.received.values() if n > 1)
        arrived = sum(sink.received.values())
    problems = [f"{twice} e-mails reached the sink more than once"] if twice else []
    problems += [f"{pending} e-mails still pending after the settle period"] if pending else []
    problems += [f"{sent} e-mails marked sent, {arrived} arrived"] if arrived < sent else []
    return problems, arrived
