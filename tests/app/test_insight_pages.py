"""The process-insight pages over the demo's cases: every number links to exactly the cases behind it (the
domain's own list), agents see only what their work lists show, requesters nothing; the exports."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from app.extensions import db
from app.insight import source
from app.insight.scope import parse_scope
from cases import accounts
from cases.read import queries
from tests.conftest import Web

PAGES = ["/insight/", "/insight/complaint", "/insight/cases?figure=sla_breached&type=complaint",
         "/insight/complaint/map", "/insight/complaint/bottlenecks", "/insight/complaint/compare",
         "/insight/complaint/report.csv", "/insight/report.csv", "/insight/complaint/event-log.xes",
         "/insight/complaint/event-log.csv"]


@pytest.fixture
def demo(app: Any) -> Any:
    result = app.test_cli_runner().invoke(args=["demo", "--scope", "full", "--cases", "40"])
    assert result.exit_code == 0, result.output
    return app


def signed_in(app: Any, email: str) -> Web:
    web = Web(app.test_client())
    web.login(email)
    return web


def drill_links(html: str) -> list[str]:
    return sorted({unescape(h) for h in re.findall(r'href="(/insight/cases\?[^"]+)"', html)})


def listed_ids(web: Web, url: str) -> tuple[int, set[int]]:
    """The total a drill-down list announces and the case ids on all its pages."""
    ids: set[int] = set()
    page, total = 1, -1
    while True:
        html = web.get(f"{url}&page={page}").get_data(as_text=True)
        found = re.search(r'id="drill-total">(\d+) case', html)
        assert found, url
        total = int(found.group(1))
        ids.update(int(i) for i in re.findall(r'<tr data-case="(\d+)"', html))
        if f"page {page + 1}" not in html.lower() and "Next →" not in html:
            return total, ids
        page += 1


def domain_ids(app: Any, email: str, url: str) -> set[int]:
    """What the domain says is behind the figure of a drill-down URL, limited to what the user may see."""
    args = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    with app.app_context():
        user = accounts.find_user(db.session, email)
        assert user is not None
        scope = parse_scope(args, now=datetime.now(UTC), case_type=args.get("type"), queues=None)
        ids = source.case_ids(db.session, user, scope, args["figure"])
        return {c.id for c in queries.cases_among(db.session, user, ids, per_page=100).items} if len(ids) <= 100 \
            else set(ids)


def test_every_number_of_the_dashboard_links_to_exactly_its_cases(demo: Any) -> None:
    admin = signed_in(demo, "admin@example.com")
    html = admin.get("/insight/complaint?days=90").get_data(as_text=True)
    assert 'data-figure="sla_breached"' in html and "<svg" in html
    links = drill_links(html)
    assert any("figure=sla_breached" in link for link in links)
    assert any("figure=state%3A" in link or "figure=state:" in link for link in links)
    for link in links:
        total, ids = listed_ids(admin, link)
        assert total == len(ids) and ids == domain_ids(demo, "admin@example.com", link), link
    # The headline figure says how many cases are behind it, and its list holds that many.
    breached = re.search(r'data-figure="sla_breached">.*?<a class="kpi-value" href="([^"]+)"[^>]*show the (\d+) cases',
                         html, re.S)
    assert breached is not None
    assert listed_ids(admin, unescape(breached.group(1)))[0] == int(breached.group(2))


def test_agents_see_their_cases_only_and_requesters_nothing(demo: Any) -> None:
    with demo.app_context():
        agent = accounts.create_user(db.session, email="billing.only@example.com", name="Bill",
                                     password="casework-demo", roles=["agent"])
        queue = accounts.find_queue(db.session, "billing")
        assert queue is not None
        accounts.add_queue_member(db.session, queue, agent)
        db.session.commit()
    for email in ("admin@example.com", "auditor@example.com", "billing.only@example.com", "agent@example.com"):
        web = signed_in(demo, email)
        for url in PAGES:
            assert web.get(url).status_code == 200, (email, url)
        html = web.get("/insight/complaint?days=90").get_data(as_text=True)
        with demo.app_context():
            user = accounts.find_user(db.session, email)
            assert user is not None
            visible = {c.id for c in queries.work_list(db.session, user, queries.parse_filters(
                {"scope": "all", "status": "any"}), per_page=100).items}
        for link in drill_links(html):
            _total, ids = listed_ids(web, link)
            assert ids <= visible, (email, link)
    narrow = signed_in(demo, "billing.only@example.com").get("/insight/complaint?days=90").get_data(as_text=True)
    wide = signed_in(demo, "admin@example.com").get("/insight/complaint?days=90").get_data(as_text=True)
    filed = re.compile(r'data-figure="filed">.*?class="kpi-value"[^>]*>([\d,]+)<', re.S)
    assert int(filed.search(narrow).group(1)) < int(filed.search(wide).group(1))  # type: ignore[union-attr]
    requester = signed_in(demo, "requester@example.com")
    for url in PAGES:
        assert requester.get(url).status_code == 403, url


def test_bad_filters_and_unknown_figures_are_clear_errors(demo: Any) -> None:
    admin = signed_in(demo, "admin@example.com")
    assert admin.get("/insight/complaint?days=abc").status_code == 400
    assert admin.get("/insight/cases?figure=nope").status_code == 404
    assert admin.get("/insight/cases?figure=state").status_code == 404  # a keyed figure needs its key
    assert admin.get("/insight/no-such-type").status_code == 404
    assert admin.get("/insight/complaint/compare?a=99&b=1").status_code == 404


def test_process_map_variants_and_before_after(demo: Any) -> None:
    admin = signed_in(demo, "admin@example.com")
    html = admin.get("/insight/complaint/map?days=90").get_data(as_text=True)
    assert 'class="process-map"' in html and 'class="edge"' in html
    rows = re.findall(r'<tr data-happy="(yes|no)">', html)
    assert rows and rows[0] == "yes" and rows.count("yes") == 1  # the happy path first
    for link in drill_links(html):
        total, ids = listed_ids(admin, link)
        assert total == len(ids) == len(domain_ids(demo, "admin@example.com", link)), link
    assert 'id="bottlenecks"' in admin.get("/insight/complaint/bottlenecks?days=90").get_data(as_text=True)


def test_kpi_report_as_csv_is_formula_safe_and_the_pdf_prints_the_charts(demo: Any) -> None:
    admin = signed_in(demo, "admin@example.com")
    response = admin.get("/insight/complaint/report.csv?days=90")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["section", "group", "measure", "value", "unit", "cases"]
    assert any(r[0] == "kpi" and r[2] == "SLA deadlines breached" for r in rows)
    assert not any(cell.startswith(("=", "+", "@")) for row in rows[1:] for cell in row)
    log = admin.get("/insight/complaint/event-log.xes?days=90")
    assert log.status_code == 200 and "attachment" in log.headers["Content-Disposition"]
    traces = ET.fromstring(log.data).findall("{http://www.xes-standard.org/}trace")  # noqa: S314 - our own export
    filed = domain_ids(demo, "admin@example.com", "/insight/cases?days=90&type=complaint&figure=filed")
    assert len(traces) == len(filed)
    assert admin.get("/insight/complaint/event-log.csv?days=90").data.startswith(b"case_id,")
    if shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    pdf = admin.get("/insight/complaint/report.pdf?days=90")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True).stdout.decode()
    assert "KPI report" in text and "SLA compliance" in text
    pages = subprocess.run(["pdftoppm", "-r", "60", "-png", "-"], input=pdf.data, capture_output=True,
                           check=True).stdout
    image = Image.open(io.BytesIO(pages)).convert("RGB")
    bars = sum(1 for pixel in image.getdata() if pixel == (0x1F, 0x5F, 0xBF))
    assert bars > 100  # the charts' bars are drawn on the first page, in their colour
