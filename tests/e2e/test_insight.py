"""A process owner in Chromium: the complaint dashboard over the last 30 days, the breached-SLA figure down
to exactly its cases, the process map and variants, version 1 against version 2 after a rule changed, and
the downloads; no console or CSP errors on the way."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from tests.conftest import make_config, migrate
from tests.support.browser import login

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def insight_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """The demo (packs and 60 cases over 90 days), then version 2 of the complaint case type with a changed
    rule and three complaints filed under it."""
    from app import create_app
    from app.extensions import db
    from cases import accounts, definitions, lifecycle, sla_sweep
    from cases.submissions import Uploader

    url = f"sqlite:///{tmp_path_factory.mktemp('e2e-insight') / 'casework.db'}"
    migrate(url)
    app = create_app(make_config(url))
    result = app.test_cli_runner().invoke(args=["demo", "--scope", "full", "--cases", "60"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        requester = accounts.find_user(db.session, "requester@example.com")
        case_type = definitions.find_definition(db.session, "case_type", "complaint")
        assert admin is not None and requester is not None and case_type is not None
        samples = json.loads((ROOT / "packs" / "complaint" / "samples.json").read_text())["samples"]
        # Under version 1, one complaint nobody answered for ten days: the demo's own breaches of the last
        # 30 days depend on the weekday and hour it is seeded at (business hours); this one always breaches.
        ten_days_ago = datetime.now(UTC) - timedelta(days=10)
        lifecycle.file_case(db.session, case_type, samples[3]["data"], uploader=Uploader(requester),
                            clock=lambda: ten_days_ago)
        db.session.commit()
        assert sla_sweep.sweep(db.session, clock=lambda: datetime.now(UTC))
        db.session.commit()
        document = definitions.draft_document(case_type)
        escalate = next(r for r in document["rules"]["rules"] if r["id"] == "escalate")
        escalate["name"] = "Escalate critical complaints (version 2: high, not urgent)"
        for action in escalate["actions"]:
            if action["type"] == "set_priority":
                action["priority"] = "high"
        definitions.save_draft(db.session, case_type, document, actor=admin)
        definitions.publish(db.session, case_type, actor=admin, change_note="Escalations are high, not urgent")
        for sample in samples[:3]:
            lifecycle.file_case(db.session, case_type, sample["data"], uploader=Uploader(requester))
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.engine.dispose()


def breached_cases(app: Any) -> set[int]:
    """The domain's list of the complaints behind the breached-SLA figure of the last 30 days."""
    from app.extensions import db
    from app.insight import source
    from app.insight.scope import parse_scope
    from cases import accounts

    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        assert admin is not None
        scope = parse_scope({"days": "30"}, now=datetime.now(UTC), case_type="complaint", queues=None)
        return set(source.case_ids(db.session, admin, scope, "sla_breached"))


@pytest.fixture
def owner(browser: Browser, insight_server: tuple[str, Any]) -> Iterator[Page]:
    """The process owner (an admin) signed in to the insight server, in a browser context of their own."""
    context = browser.new_context(base_url=insight_server[0], viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    page = context.new_page()
    login(page, "admin@example.com")
    yield page
    context.close()


def test_a_process_owner_reads_the_complaint_process(owner: Page, insight_server: tuple[str, Any]) -> None:
    page = owner
    base, app = insight_server
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "favicon" not in m.text else None)
    page.goto("/work/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Insight").click()
    page.get_by_role("navigation", name="Case types").get_by_role("link", name="Customer complaint").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Customer complaint")

    # The last 30 days: htmx swaps the figures and keeps the filter in the address.
    page.get_by_label("Period").select_option(label="Last 30 days")
    expect(page).to_have_url(re.compile(r"days=30"))
    breached = page.locator('li[data-figure="sla_breached"] a.kpi-value')
    expected = breached_cases(app)
    assert expected, "the demo's last 30 days hold no breached deadline"
    expect(breached).to_be_visible()
    breached.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("SLA deadlines breached")
    expect(page.locator("#drill-total")).to_contain_text(f"{len(expected)} case")
    shown = {int(i) for i in page.locator("#drill-cases tr[data-case]").evaluate_all(
        "rows => rows.map(r => r.dataset.case)")}
    assert shown == expected

    # The process map and the variants, happy path first.
    page.goto(base + "/insight/complaint?days=90")
    page.get_by_role("link", name="Process map and variants").click()
    expect(page.locator("svg.process-map")).to_be_visible()
    expect(page.locator("svg.process-map g.edge").first).to_be_attached()
    expect(page.locator("#variant-table tbody tr").first).to_have_attribute("data-happy", "yes")

    # Version 1 against version 2 after the rule changed.
    page.get_by_role("link", name="Before and after").click()
    page.get_by_label("Before: version").select_option("1")
    page.get_by_label("After: version").select_option("2")
    page.get_by_role("button", name="Compare").click()
    table = page.locator("#compare-table")
    expect(table).to_contain_text("Version 2")
    filed = table.locator('tr[data-figure="filed"] td')
    expect(filed.nth(3)).to_have_text("3")  # the three complaints filed under version 2
    assert int(filed.nth(1).inner_text().replace(",", "")) > 0

    # The downloads: the KPI report as CSV and PDF, the event log as XES and CSV.
    page.goto(base + "/insight/complaint?days=90")
    for name, start in (("KPI report (CSV)", b"section,"), ("KPI report (PDF)", b"%PDF"),
                        ("event log (XES)", b"<?xml"), ("event log (CSV)", b"case_id,")):
        with page.expect_download() as info:
            page.get_by_role("link", name=name).click()
        path = info.value.path()
        assert path is not None and Path(path).read_bytes().startswith(start), name
    assert problems == []
