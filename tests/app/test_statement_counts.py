"""SQL statements per request on the hot paths: one API filing of the starter complaint pack, and the
agent's case page. Counted with SQLAlchemy's `before_cursor_execute` event on both backends, so a change
that adds queries per request (an eager join, a reload after commit, a lookup repeated per event) fails here
instead of in production."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

from tests.support.web import token_for

PACK = Path(__file__).resolve().parents[2] / "packs" / "complaint"
MAX_FILING_STATEMENTS = 15
MAX_CASE_PAGE_STATEMENTS = 12


@contextmanager
def counting(app: Any) -> Iterator[list[str]]:
    from app.extensions import db

    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _pack_app(app: Any) -> Any:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    result = runner.invoke(args=["packs", "import", str(PACK)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["demo"]).exit_code == 0  # the demo agent joins the pack's queues
    return app


def _samples() -> list[dict[str, Any]]:
    return [s["data"] for s in json.loads((PACK / "samples.json").read_text())["samples"]]


def _file(client: Any, headers: dict[str, str], data: dict[str, Any]) -> Any:
    response = client.post("/api/v1/case-types/complaint/cases", json={"data": data}, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_one_api_filing_of_the_complaint_pack_takes_at_most_15_statements(app: Any, backend: str) -> None:
    _pack_app(app)
    client, headers = app.test_client(), token_for(app, "requester@example.com")
    samples = _samples()
    _file(client, headers, samples[0])  # the first filing compiles the ruleset and fills the caches
    counts = {}
    for sample in samples:  # routed and escalated complaints (an escalation also notifies a queue's agents)
        with counting(app) as seen:
            body = _file(client, headers, sample)
        counts[sample["name"]] = (body["queue"], len(seen))
    routed = {name: n for name, (queue, n) in counts.items() if queue != "escalations"}
    escalated = {name: n for name, (queue, n) in counts.items() if queue == "escalations"}
    assert routed and escalated, counts
    # PostgreSQL: 14 routed, 15 escalated (the queue's agents are read to notify them).
    # SQLite writes the same rows with more statements, each a limit of SQLite rather than work to remove:
    # BEGIN IMMEDIATE (the write lock; the reads before it need no BEGIN), rows whose new ids the ORM needs
    # are inserted one by one (SQLite cannot return several new rows' ids in order: the second deadline;
    # on an escalation also the second message), and the analytics read model takes one INSERT per table
    # where PostgreSQL uses data-modifying WITH clauses.
    sqlite_extra = {"routed": 2, "escalated": 4} if backend == "sqlite" else {"routed": 0, "escalated": 0}
    assert max(routed.values()) <= MAX_FILING_STATEMENTS + sqlite_extra["routed"], counts
    assert max(escalated.values()) <= MAX_FILING_STATEMENTS + sqlite_extra["escalated"], counts


def test_the_agents_case_page_takes_at_most_12_statements(app: Any, web: Any) -> None:
    _pack_app(app)
    client, headers = app.test_client(), token_for(app, "requester@example.com")
    case = _file(client, headers, _samples()[2])  # escalated: rule decisions, deadlines, a tag
    web.login("agent@example.com")
    assert web.get(f"/work/cases/{case['id']}").status_code == 200
    with counting(app) as seen:
        page = web.get(f"/work/cases/{case['id']}")
    assert page.status_code == 200 and case["ref"] in page.get_data(as_text=True)
    assert len(seen) <= MAX_CASE_PAGE_STATEMENTS, (len(seen), "\n".join(seen))
