"""The four starter processes in Chromium, on one live server loaded by `casework demo` (packs and demo cases):
each walks its main path and its exception path to the end, as requesters and agents do it in the browser,
with an SLA sweep at a fixed later moment, the PDFs the closed case gets, and the audit chain verified.

The screenshots of the README's five-minute tour are taken here; they are written to docs/tour/ when
CASEWORK_TOUR_DIR=docs/tour is set (so an ordinary test run leaves the repository as it was), else to a
temporary folder.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from tests.conftest import make_config, migrate
from tests.support.browser import login

ROOT = Path(__file__).resolve().parents[2]
REF = re.compile(r"[A-Z]{3}-\d{6}")


@dataclass
class Server:
    url: str
    app: Any

    def sweep(self, at: datetime) -> int:
        """The SLA sweep as the server runs it, with its clock at `at`."""
        from app.extensions import db
        from cases import automation, sla_sweep
        from cases.clock import fixed

        with self.app.app_context():
            fired = sla_sweep.sweep(db.session, clock=fixed(at), on_fire=automation.sla_fired)
            db.session.remove()
        return fired

    def chain_verifies(self) -> bool:
        from app.extensions import db
        from cases import audit

        with self.app.app_context():
            result = audit.verify(db.session)
            db.session.remove()
        return result.ok and result.checked > 0


@pytest.fixture(scope="module")
def packs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One live server for the packs' tests: demo users, the four packs and 60 demo cases; PDFs of the cases
    the tests close are rendered in the background, as in production."""
    from app import create_app
    from app.extensions import db

    path = tmp_path_factory.mktemp("e2e-packs") / "casework.db"
    url = f"sqlite:///{path}"
    migrate(url)
    app = create_app(make_config(url, DOCUMENTS_AUTO_RENDER=True))
    result = app.test_cli_runner().invoke(args=["demo", "--scope", "full", "--cases", "60"])
    assert result.exit_code == 0, result.output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Server(f"http://127.0.0.1:{server.server_port}", app)
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def people(browser: Browser, packs_server: Server) -> Iterator[dict[str, Page]]:
    """The requester and the agent, each logged in in a browser context of their own."""
    contexts = []
    pages = {}
    for who in ("requester", "agent"):
        context = browser.new_context(base_url=packs_server.url, viewport={"width": 1280, "height": 860})
        contexts.append(context)
        pages[who] = context.new_page()
        login(pages[who], f"{who}@example.com")
    yield pages
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tour's screenshots go: CASEWORK_TOUR_DIR (relative to the repository), or a temporary folder."""
    chosen = os.environ.get("CASEWORK_TOUR_DIR")
    folder = ROOT / chosen if chosen else tmp_path_factory.mktemp("tour")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"))
    assert (folder / f"{name}.png").stat().st_size > 10_000


def file_case(requester: Page, process: str, answers: dict[str, str], *, choices: dict[str, str] | None = None,
              checks: tuple[str, ...] = (), screenshot: tuple[Path, str] | None = None) -> str:
    """The requester files a case from the portal; returns its reference."""
    requester.goto("/portal/")
    requester.get_by_role("link", name=process, exact=True).click()
    for label, value in answers.items():
        requester.get_by_label(label, exact=True).fill(value)
    for label, value in (choices or {}).items():
        requester.get_by_label(label, exact=True).select_option(value)
    for label in checks:
        requester.get_by_label(label, exact=True).check()
    if screenshot:
        shot(requester, *screenshot)
    requester.get_by_role("button", name="Submit").click()
    confirmation = requester.get_by_role("status").filter(has_text="was received")
    expect(confirmation).to_contain_text(REF)
    found = REF.search(confirmation.inner_text())
    assert found
    return found.group(0)


def open_case(agent: Page, ref: str) -> None:
    agent.goto(f"/work/?scope=all&status=any&q={ref}")
    agent.get_by_role("link", name=ref).click()
    expect(agent.get_by_role("heading", level=1)).to_contain_text(ref)


def head(page: Page) -> Any:
    return page.locator(".case-head")


def step(agent: Page, label: str, *, comment: str = "", confirm: bool = False) -> None:
    """The agent fires a transition from the case page (with its comment, and its confirmation)."""
    form = agent.locator("form.transition", has=agent.get_by_role("button", name=label, exact=True))
    if comment:
        form.get_by_label(re.compile("^Comment")).fill(comment)
    if confirm:
        agent.once("dialog", lambda dialog: dialog.accept())
    form.get_by_role("button", name=label, exact=True).click()


def pdf_ready(page: Page, name: str) -> None:
    """The closed case's document `name` is rendered in the background, listed as ready, and is a PDF."""
    link = page.locator("#documents").get_by_role("link", name=name)
    for _ in range(60):  # staff pages refresh the list themselves; the requester's page is reloaded
        if link.count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    assert Path(info.value.path()).read_bytes().startswith(b"%PDF-")


def requester_step(requester: Page, ref: str, label: str, *, comment: str = "", confirm: bool = False,
                   fields: dict[str, str] | None = None) -> None:
    requester.goto("/portal/")
    requester.get_by_role("link", name=ref).click()
    form = requester.locator("form.transition", has=requester.get_by_role("button", name=label, exact=True))
    for field_label, value in (fields or {}).items():
        form.get_by_label(field_label, exact=True).fill(value)
    if comment:
        form.get_by_label(re.compile("^Comment")).fill(comment)
    if confirm:
        requester.once("dialog", lambda dialog: dialog.accept())
    form.get_by_role("button", name=label, exact=True).click()


def test_tour_starter_library_and_work_list(browser: Browser, packs_server: Server, people: dict[str, Page],
                                            tour: Path) -> None:
    admin = browser.new_context(base_url=packs_server.url, viewport={"width": 1280, "height": 860}).new_page()
    login(admin, "admin@example.com")
    admin.get_by_role("link", name="Starter library").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Starter library")
    expect(admin.locator("#packs tbody tr")).to_have_count(4)
    expect(admin.locator("#pack-onboarding")).to_contain_text("Loaded: version 1")
    shot(admin, tour, "01-starter-library")
    admin.context.close()
    agent = people["agent"]
    agent.goto("/work/?scope=all&sort=due")
    expect(agent.locator("table")).to_contain_text(re.compile(r"CMP-\d{6}"))
    shot(agent, tour, "02-work-list")


def test_complaint_escalation_resolution_and_rejection(people: dict[str, Page], packs_server: Server,
                                                      tour: Path) -> None:
    requester, agent = people["requester"], people["agent"]
    answers = {"Your name": "Riley Requester", "Email address": "riley@example.com", "Order number": "ORD-204518",
               "What happened?": "The parcel arrived crushed and the glass vase inside is in pieces."}
    ref = file_case(requester, "Customer complaint", answers, choices={"Category": "late_delivery"},
                    checks=("Low",), screenshot=(tour, "03-portal-complaint-form"))
    # Main path: routed by category, triaged, investigated, resolved; the customer confirms.
    open_case(agent, ref)
    expect(head(agent)).to_contain_text("Delivery and returns")
    agent.get_by_role("button", name="Claim").click()
    expect(agent.get_by_role("button", name="Release")).to_be_visible()
    for label in ("Start triage", "Investigate"):
        step(agent, label)
        expect(head(agent)).to_contain_text("Triage" if label == "Start triage" else "Investigation")
    step(agent, "Propose resolution", comment="A replacement vase is on its way; the courier is told.")
    expect(head(agent)).to_contain_text("Resolution")
    step(agent, "Send resolution letter")
    expect(head(agent)).to_contain_text("Awaiting feedback")
    requester_step(requester, ref, "Confirm resolution")
    expect(head(requester)).to_contain_text("Closed")
    expect(requester.locator(".timeline")).to_contain_text("Send resolution letter")
    open_case(agent, ref)
    pdf_ready(agent, "Resolution letter")

    # Exception path: a critical complaint is escalated (urgent, Escalations) and then rejected.
    severe = file_case(requester, "Customer complaint", answers, choices={"Category": "damaged"},
                       checks=("Critical",))
    open_case(agent, severe)
    expect(head(agent)).to_contain_text("Escalations")
    expect(head(agent).locator(".priority-urgent")).to_be_visible()
    expect(agent.locator(".timeline")).to_contain_text("Escalate severe, gold-tier and repeated complaints")
    shot(agent, tour, "04-escalated-complaint")
    # Nobody answers within a business day: the sweep escalates the breach to the supervisors.
    assert packs_server.sweep(datetime.now(UTC) + timedelta(days=5)) > 0
    agent.reload()
    expect(agent.locator(".timeline")).to_contain_text("SLA breached: response target missed")
    expect(head(agent)).to_contain_text("Supervisors")
    step(agent, "Reject", comment="This order was placed with another shop.", confirm=True)
    expect(head(agent)).to_contain_text("Rejected")
    assert packs_server.chain_verifies()


def test_contract_boundary_signature_and_cancellation(people: dict[str, Page], packs_server: Server) -> None:
    requester, agent = people["requester"], people["agent"]
    start, end = date.today() + timedelta(days=14), date.today() + timedelta(days=380)
    answers = {"Contract title": "Laptop supply", "Counterparty": "Northwind Computers B.V.",
               "Total contract value": "100000.00", "Start date": start.isoformat(), "End date": end.isoformat()}
    ref = file_case(requester, "Contract", answers, choices={"Type of contract": "supply",
                                                             "Governing law": "netherlands"})
    # Main path: exactly 100,000 on standard terms skips legal review and needs no finance approval.
    open_case(agent, ref)
    for label, state in (("Start drafting", "Drafting"), ("Draft ready", "Negotiation"),
                         ("Terms agreed", "Signature"), ("Signed by both parties", "Active")):
        step(agent, label)
        expect(head(agent)).to_contain_text(state)
    expect(head(agent)).to_contain_text("Due")  # the renewal decision, 60 days before the end
    assert packs_server.sweep(datetime.combine(end - timedelta(days=59), datetime.min.time(), UTC)) > 0
    agent.reload()
    expect(agent.locator(".timeline")).to_contain_text("A missed renewal decision is urgent")
    expect(head(agent).locator(".priority-urgent")).to_be_visible()
    step(agent, "Renewed", comment="Renewed for another year.")
    expect(head(agent)).to_contain_text("Renewed")
    pdf_ready(agent, "Contract summary")

    # Exception path: one cent more goes to Legal, who send it back; then it is cancelled.
    above = file_case(requester, "Contract", {**answers, "Total contract value": "100000.01"},
                      choices={"Type of contract": "supply", "Governing law": "netherlands"})
    open_case(agent, above)
    step(agent, "Start drafting")
    expect(head(agent)).to_contain_text("Drafting")
    step(agent, "Draft ready")
    expect(head(agent)).to_contain_text("Legal review")
    expect(head(agent)).to_contain_text("Legal")
    step(agent, "Back to drafting", comment="Cap the liability at the contract value.")
    expect(head(agent)).to_contain_text("Drafting")
    step(agent, "Cancel", comment="The business case was withdrawn.", confirm=True)
    expect(head(agent)).to_contain_text("Cancelled")
    assert packs_server.chain_verifies()


def test_invoice_thresholds_and_po_mismatch(people: dict[str, Page], packs_server: Server) -> None:
    requester, agent = people["requester"], people["agent"]
    answers = {"Vendor": "Brightlight Events", "Invoice number": "BE-5531", "Invoice date": "2027-01-20",
               "Amount (gross)": "10,000.00", "Purchase order": "PO-100877"}
    ref = file_case(requester, "Invoice approval", answers, choices={"Cost centre": "sales"})
    # Main path: 10,000.00 goes to a budget manager, is approved and paid.
    open_case(agent, ref)
    step(agent, "PO matches: send for approval")
    expect(head(agent)).to_contain_text("Manager approval")
    expect(head(agent)).to_contain_text("Budget managers")
    step(agent, "Approve")
    expect(head(agent)).to_contain_text("Payment scheduled")
    step(agent, "Mark as paid")
    expect(head(agent)).to_contain_text("Paid")
    pdf_ready(agent, "Approval record")

    # Exception path: 10,000.01 with a wrong PO goes back to the requester, who corrects it; the CFO approves.
    cfo = file_case(requester, "Invoice approval", {**answers, "Amount (gross)": "10,000.01"},
                    choices={"Cost centre": "sales"})
    open_case(agent, cfo)
    step(agent, "PO mismatch: back to requester", comment="PO-100877 is already fully invoiced.")
    expect(head(agent)).to_contain_text("PO mismatch")
    packs_server.sweep(datetime.now(UTC) + timedelta(days=30))  # waiting for the requester: nothing is late
    agent.reload()
    expect(agent.locator(".timeline")).to_contain_text("Resolution deadline paused (waiting)")
    expect(agent.locator(".timeline")).not_to_contain_text("SLA breached")
    requester_step(requester, cfo, "Submit corrected purchase order", fields={"Purchase order": "PO-100878"})
    expect(head(requester)).to_contain_text("Submitted")
    open_case(agent, cfo)
    step(agent, "PO matches: send for approval")
    expect(head(agent)).to_contain_text("CFO approval")
    step(agent, "Approve as CFO")
    expect(head(agent)).to_contain_text("Payment scheduled")
    step(agent, "Mark as paid")
    expect(head(agent)).to_contain_text("Paid")
    expect(agent.locator(".data")).to_contain_text("PO-100878")
    assert packs_server.chain_verifies()


def test_onboarding_checklist_in_parallel_and_withdrawal(people: dict[str, Page], packs_server: Server,
                                                        tour: Path) -> None:
    requester, agent = people["requester"], people["agent"]
    answers = {"Name of the new hire": "Noa Fischer", "Job title": "Software engineer",
               "Manager's e-mail": "requester@example.com",
               "Start date": (date.today() + timedelta(days=21)).isoformat()}
    ref = file_case(requester, "New hire onboarding", answers, choices={"Department": "engineering"},
                    checks=("Laptop",))
    # Main path: the profile, then IT and payroll in parallel; the case waits for both tasks.
    open_case(agent, ref)
    step(agent, "Start HR profile")
    expect(head(agent)).to_contain_text("HR profile")
    step(agent, "Profile done: start IT and payroll setup")
    checklist = agent.locator("#tasks-h + ul.tasks")
    expect(checklist.locator("li")).to_have_count(3)
    step(agent, "Setup complete: hand over to the manager")
    expect(agent.get_by_role("alert")).to_contain_text("still open: IT setup")
    agent.get_by_role("button", name="Complete IT setup: laptop, accounts and access").click()
    expect(checklist.locator("li.done")).to_have_count(1)
    shot(agent, tour, "05-onboarding-checklist")
    agent.get_by_role("button", name="Complete Payroll setup: salary, tax and pension").click()
    expect(checklist.locator("li.done")).to_have_count(2)
    step(agent, "Setup complete: hand over to the manager")
    expect(head(agent)).to_contain_text("Manager induction")
    requester_step(requester, ref, "Induction plan ready")
    expect(head(requester)).to_contain_text("Ready for day one")
    pdf_ready(requester, "Welcome pack")  # the new hire's manager gets the welcome pack

    # Exception path: the candidate withdraws before the profile is done.
    # Exception path: nobody starts the second hire; it is not ready on the start date; then it is withdrawn.
    start = date.today() + timedelta(days=21)
    other = file_case(requester, "New hire onboarding", {**answers, "Name of the new hire": "Lucas Silva"},
                      choices={"Department": "marketing"})
    packs_server.sweep(datetime.combine(start + timedelta(days=1), datetime.min.time(), UTC))
    open_case(agent, other)
    expect(agent.locator(".timeline")).to_contain_text("SLA breached: resolution target missed")
    expect(head(agent).locator(".priority-urgent")).to_be_visible()
    requester_step(requester, other, "Withdraw", comment="The candidate accepted another offer.", confirm=True)
    expect(head(requester)).to_contain_text("Withdrawn")
    open_case(agent, other)
    expect(head(agent)).to_contain_text("Withdrawn")
    assert packs_server.chain_verifies()
