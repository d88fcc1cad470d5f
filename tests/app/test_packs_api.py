"""The four starter processes end to end through the REST API: main path and exception path to completion,
routing, SLA events (a sweep with a fixed later clock), the generated PDFs and a verifying audit chain.

Each test runs on the packs as shipped and on the packs after an export and an import into an empty
database: the same behaviour either way.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import make_config
from tests.support.web import token_for

PACKS = ["complaint", "contract", "invoice", "onboarding"]


@pytest.fixture(scope="session")
def exported_packs(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped packs loaded into a database of their own and exported from it with `casework packs export`."""
    from app import create_app
    from app.extensions import db

    folder = tmp_path_factory.mktemp("exported-packs")
    copy = folder / "source.db"
    shutil.copy(sqlite_template, copy)
    app = create_app(make_config(f"sqlite:///{copy}"))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "--scope", "full", "--cases", "0"]).exit_code == 0
    for slug in PACKS:
        result = runner.invoke(args=["packs", "export", slug, "-o", str(folder / "out")])
        assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()
    return folder / "out"


@pytest.fixture(params=["shipped", "exported"])
def packs_app(request: pytest.FixtureRequest, app: Any) -> Any:
    """The demo users and the four packs (as shipped, or exported and imported), the agent in every queue."""
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    if request.param == "shipped":
        result = runner.invoke(args=["packs", "import", "--all"])
        assert result.exit_code == 0, result.output
    else:
        source: Path = request.getfixturevalue("exported_packs")
        for slug in PACKS:
            result = runner.invoke(args=["packs", "import", str(source / slug)])
            assert result.exit_code == 0 and "imported" in result.output, result.output
    assert runner.invoke(args=["demo"]).exit_code == 0  # the demo agent joins the packs' queues
    return app


class Api:
    """The REST API as each user calls it."""

    def __init__(self, app: Any) -> None:
        self.app, self.client = app, app.test_client()
        self.tokens: dict[str, dict[str, str]] = {}

    def headers(self, who: str) -> dict[str, str]:
        if who not in self.tokens:
            self.tokens[who] = token_for(self.app, who if "@" in who else f"{who}@example.com")
        return self.tokens[who]

    def call(self, method: str, url: str, who: str, status: int = 200, **kw: Any) -> Any:
        response = self.client.open(f"/api/v1{url}", method=method, headers=self.headers(who), **kw)
        assert response.status_code == status, (url, response.status_code, response.get_json())
        return response.get_json()

    def file(self, case_type: str, data: dict[str, Any], who: str = "requester", status: int = 201) -> Any:
        return self.call("POST", f"/case-types/{case_type}/cases", who, status, json={"data": data})

    def case(self, case_id: int, who: str = "agent") -> Any:
        return self.call("GET", f"/cases/{case_id}", who)

    def fire(self, case_id: int, key: str, who: str = "agent", status: int = 200, comment: str = "",
             data: dict[str, Any] | None = None) -> Any:
        return self.call("POST", f"/cases/{case_id}/transitions", who, status,
                         json={"transition": key, "comment": comment, "data": data or {}})

    def walk(self, case_id: int, *keys: str, who: str = "agent") -> Any:
        body = None
        for key in keys:
            body = self.fire(case_id, key, who, comment=f"{key} done")
        return body

    def kinds(self, case_id: int) -> list[str]:
        return [e["kind"] for e in self.call("GET", f"/cases/{case_id}/events", "auditor")["items"]]

    def user(self, email: str, *queues: str, role: str = "agent") -> str:
        """A user with `role`, a member of `queues` only."""
        from app.extensions import db
        from cases import accounts

        with self.app.app_context():
            user = accounts.create_user(db.session, email=email, name=email.split("@")[0].title(),
                                        password="long enough pw", roles=[role])
            for slug in queues:
                queue = accounts.find_queue(db.session, slug)
                assert queue is not None
                accounts.add_queue_member(db.session, queue, user)
            db.session.remove()
        return email

    def sweep(self, at: datetime) -> int:
        """The SLA sweep as the server runs it, with the clock at `at`."""
        from app.extensions import db
        from cases import automation, sla_sweep
        from cases.clock import fixed

        with self.app.app_context():
            fired = sla_sweep.sweep(db.session, clock=fixed(at), on_fire=automation.sla_fired)
            db.session.remove()
        return fired

    def documents(self, case_id: int, *, render: bool = False) -> list[dict[str, Any]]:
        """The case's documents (rendered first when asked, as the background job does)."""
        if render:
            from app.documents.queue import render_documents
            from app.extensions import db
            from cases import documents

            with self.app.app_context():
                render_documents(documents.pending_ids(db.session))
                db.session.remove()
        items: list[dict[str, Any]] = self.call("GET", f"/cases/{case_id}/documents", "agent")["items"]
        return items

    def pdf(self, case_id: int, document: dict[str, Any]) -> bytes:
        response = self.client.get(f"/api/v1/cases/{case_id}/documents/{document['id']}", headers=self.headers("agent"))
        assert response.status_code == 200
        body: bytes = response.data
        return body

    def verified(self) -> bool:
        body = self.call("GET", "/audit/verify", "auditor")
        return bool(body["ok"]) and body["checked"] > 0


@pytest.fixture
def api(packs_app: Any) -> Iterator[Api]:
    yield Api(packs_app)


def _closing_documents(api: Api, case_id: int, template: str) -> None:
    """A closed case's dossier and template are queued, render to PDFs and are listed with their SHA-256."""
    queued = api.documents(case_id)
    assert sorted(d["kind"] for d in queued) == sorted(["dossier", template])
    done = api.documents(case_id, render=True)
    assert {d["status"] for d in done} == {"done"}, done
    letter = next(d for d in done if d["kind"] == template)
    assert len(letter["sha256"]) == 64 and api.pdf(case_id, letter).startswith(b"%PDF-")


def _soon(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


# ---------------------------------------------------------------- complaints

CALM = {"name": "Morgan Lee", "email": "morgan.lee@example.org", "order_number": "ORD-204518",
        "category": "late_delivery", "severity": "low", "customer_tier": "standard",
        "description": "My order was promised for Tuesday and has still not arrived on Friday."}


def test_complaint_routing_escalation_sla_and_resolution(api: Api) -> None:
    now = datetime.now(UTC)
    customers = [api.user(f"customer{i}@example.org", role="requester") for i in range(5)]
    calm = api.file("complaint", CALM)
    assert (calm["state"], calm["queue"], calm["priority"]) == ("new", "logistics", "normal")
    assert api.file("complaint", {**CALM, "category": "billing"}, who=customers[0])["queue"] == "billing"
    other = {**CALM, "category": "other", "other_category": "Web"}
    assert api.file("complaint", other, who=customers[1])["queue"] == "complaints"
    # Escalation: severe, gold tier, or the third complaint of one e-mail within 90 days.
    severe = api.file("complaint", {**CALM, "severity": "critical"}, who=customers[2])
    assert (severe["queue"], severe["priority"]) == ("escalations", "urgent")
    escalated_due = datetime.fromisoformat(severe["due_at"])
    assert escalated_due < datetime.fromisoformat(calm["due_at"])  # 4 business hours, not 1 business day
    assert "escalated" in api.case(severe["id"])["tags"]
    assert api.file("complaint", {**CALM, "customer_tier": "gold"}, who=customers[3])["queue"] == "escalations"
    # Boundary: an unknown severity is refused by the form, not routed.
    assert api.file("complaint", {**CALM, "severity": "apocalyptic"}, status=422)["error"]["fields"]["severity"]
    queues = [api.file("complaint", CALM, who=customers[4])["queue"] for _ in range(3)]
    assert queues == ["logistics", "logistics", "escalations"]

    # Main path: triage, investigation, resolution; waiting for the customer's feedback pauses the SLA.
    case_id = calm["id"]
    api.call("POST", f"/cases/{case_id}/claim", "agent")
    api.walk(case_id, "triage", "investigate", "resolve", "send_resolution")
    assert api.case(case_id)["state"] == "feedback"
    api.fire(case_id, "close", who="requester", status=409)  # only staff close without feedback
    fired = api.sweep(now + timedelta(days=60))  # everything else breaches; the paused complaint does not
    assert fired > 0
    kinds = api.kinds(case_id)
    assert "sla.paused" in kinds and "sla.breached" not in kinds
    assert api.fire(case_id, "accept", who="requester")["state"] == "closed"
    _closing_documents(api, case_id, "Resolution letter")

    # Exception path: nobody answers within a business day; the supervisors get it; then it is rejected.
    late = api.case(severe["id"])
    assert (late["queue"], late["priority"]) == ("supervisors", "urgent")
    assert "first_response_late" in late["tags"] and "sla.breached" in api.kinds(severe["id"])
    rejected = api.fire(severe["id"], "reject", comment="We have no record of this order.")
    assert rejected["state"] == "rejected"
    assert api.verified()


# ---------------------------------------------------------------- contracts

CONTRACT = {"title": "Laptop supply", "counterparty": "Northwind Computers B.V.", "contract_type": "supply",
            "value": "100000.00", "currency": "EUR", "liability": "standard", "governing_law": "netherlands"}


def _contract(api: Api, **changes: Any) -> int:
    data = {**CONTRACT, "start_date": _soon(10), "end_date": _soon(400), **changes}
    case = api.file("contract", data)
    assert (case["state"], case["queue"]) == ("request", "contracts")
    api.walk(case["id"], "start_drafting", "submit_review")
    return int(case["id"])


def test_contract_reviews_approval_signature_renewal_and_cancellation(api: Api) -> None:
    lawyer = api.user("lawyer@example.com", "legal")
    treasurer = api.user("treasurer@example.com", "finance")
    # Boundaries: exactly 100,000 on standard terms skips legal review; a cent more does not.
    exact = api.case(_contract(api))
    assert (exact["state"], exact["queue"]) == ("negotiation", "contracts")
    above = api.case(_contract(api, value="100000.01"))
    assert (above["state"], above["queue"]) == ("legal_review", "legal")
    assert api.case(_contract(api, value="5000", liability="non_standard"))["state"] == "legal_review"
    foreign = api.case(_contract(api, value="5000", governing_law="new_york"))
    assert (foreign["state"], foreign["queue"]) == ("compliance_review", "compliance")

    # Main path: 450,000 under English law: legal review, negotiation, finance approval, signature, active.
    big = _contract(api, value="450000.00", governing_law="england_wales")
    assert api.case(big)["queue"] == "legal"
    api.walk(big, "legal_cleared", who=lawyer)
    after_legal = api.case(big)
    assert (after_legal["state"], after_legal["queue"]) == ("negotiation", "contracts")
    approval = api.fire(big, "agree_terms")
    assert (approval["state"], approval["queue"], approval["priority"]) == ("approval", "finance", "high")
    api.fire(big, "approve", who=lawyer, status=404)  # not Legal's business: they do not even see it now
    signed = api.walk(big, "approve", who=treasurer)
    assert (signed["state"], signed["queue"]) == ("signature", "contracts")
    active = api.fire(big, "sign")
    assert active["state"] == "active"
    # The renewal decision is due 60 days before the end date, at 09:00 in Berlin.
    end = date.fromisoformat(_soon(400))
    due = datetime.combine(end - timedelta(days=60), datetime.min.time().replace(hour=9),
                           tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
    assert datetime.fromisoformat(active["due_at"]) == due
    api.sweep(due - timedelta(days=30))  # the reminder (80 % of the time to the deadline has passed)
    assert "renewal_due" in api.case(big)["tags"]
    api.sweep(due + timedelta(hours=1))
    overdue = api.case(big)
    assert "renewal_overdue" in overdue["tags"] and overdue["priority"] == "urgent"
    renewed = api.fire(big, "renew", comment="Renewed for two more years.")
    assert renewed["state"] == "renewed"
    _closing_documents(api, big, "Contract summary")

    # Exception path: Legal sends a draft back; the request is then cancelled.
    back = api.fire(above["id"], "legal_changes", who=lawyer, comment="Cap the liability.")
    assert (back["state"], back["queue"]) == ("drafting", "contracts")
    assert api.fire(above["id"], "cancel", comment="Withdrawn by the business.")["state"] == "cancelled"
    kinds = api.kinds(big)
    assert kinds.count("case.rule_applied") >= 4 and "sla.warning" in kinds and "sla.breached" in kinds
    assert api.verified()


# ---------------------------------------------------------------- invoices

INVOICE = {"vendor": "Brightlight Events", "invoice_number": "BE-5531", "invoice_date": "2027-01-20",
           "amount": "10000.00", "po_number": "PO-100877", "cost_center": "sales"}


def test_invoice_thresholds_po_mismatch_approval_and_payment(api: Api) -> None:
    now = datetime.now(UTC)
    manager = api.file("invoice", INVOICE)
    cfo = api.file("invoice", {**INVOICE, "amount": "10000.01", "invoice_number": "BE-5532"})
    assert {manager["queue"], cfo["queue"]} == {"accounts_payable"}
    # Boundaries: 10,000.00 goes to a budget manager, 10,000.01 to the CFO.
    to_manager = api.fire(manager["id"], "verify")
    assert (to_manager["state"], to_manager["queue"]) == ("manager_approval", "budget_managers")
    assert api.file("invoice", {**INVOICE, "amount": "ten"}, status=422)["error"]["fields"]["amount"]

    # Main path: the manager approves, accounts payable pays.
    api.walk(manager["id"], "manager_approve")
    scheduled = api.case(manager["id"])
    assert (scheduled["state"], scheduled["queue"]) == ("payment_scheduled", "accounts_payable")
    assert api.fire(manager["id"], "pay")["state"] == "paid"
    _closing_documents(api, manager["id"], "Approval record")

    # Exception path: the PO does not match; the requester corrects it (the SLA waits meanwhile).
    mismatch = api.fire(cfo["id"], "flag_mismatch", comment="PO-100878 belongs to another supplier.")
    assert mismatch["state"] == "po_mismatch"
    assert [t["key"] for t in api.case(cfo["id"], "requester")["transitions"]] == ["correct_po"]
    api.fire(cfo["id"], "correct_po", who="requester", status=422, data={"po_number": "100878"})
    stuck = api.file("invoice", {**INVOICE, "invoice_number": "BE-9"})  # left alone: its SLA breaches
    api.sweep(now + timedelta(days=30))
    assert "sla.breached" not in api.kinds(cfo["id"]) and "sla.paused" in api.kinds(cfo["id"])
    late = api.case(stuck["id"])
    assert late["priority"] == "high" and "late" in late["tags"]
    corrected = api.fire(cfo["id"], "correct_po", who="requester", data={"po_number": "PO-100879"})
    assert (corrected["state"], corrected["queue"]) == ("submitted", "accounts_payable")
    to_cfo = api.fire(cfo["id"], "verify")
    assert (to_cfo["state"], to_cfo["queue"]) == ("cfo_approval", "cfo_office")
    api.walk(cfo["id"], "cfo_approve", "pay")
    paid = api.case(cfo["id"])
    assert paid["state"] == "paid" and paid["data"]["po_number"] == "PO-100879"
    assert api.fire(stuck["id"], "reject", comment="Duplicate invoice.")["state"] == "rejected"
    assert api.verified()


# ---------------------------------------------------------------- onboarding

HIRE = {"employee_name": "Noa Fischer", "job_title": "Software engineer", "department": "engineering",
        "manager_email": "requester@example.com", "employment_type": "permanent", "equipment": ["laptop"]}


def test_onboarding_parallel_tasks_start_date_sla_and_welcome_pack(api: Api) -> None:
    it_agent = api.user("ivy@example.com", "it")
    payroll_agent = api.user("pat@example.com", "payroll")
    start = date.today() + timedelta(days=20)
    hire = api.file("onboarding", {**HIRE, "start_date": start.isoformat()})
    assert (hire["state"], hire["queue"]) == ("requested", "people")
    ready_by = datetime.combine(start, datetime.min.time().replace(hour=9), tzinfo=ZoneInfo("Europe/Dublin"))
    deadlines = [e["payload"] for e in api.call("GET", f"/cases/{hire['id']}/events", "auditor")["items"]
                 if e["kind"] == "sla.started"]
    assert {d["kind"]: datetime.fromisoformat(d["due_at"]) for d in deadlines}["resolution"] == ready_by
    other = api.file("onboarding", {**HIRE, "employee_name": "Lucas Silva", "start_date": _soon(3)})
    assert api.call("GET", "/cases", it_agent)["total"] == 0

    # Main path: HR profile, then IT and payroll set up in parallel; the case waits for both.
    api.walk(hire["id"], "start_profile", "start_setup")
    checklist = api.call("GET", f"/cases/{hire['id']}/tasks", "agent")["items"]
    assert [(t["key"], t["queue"], t["required"], t["status"]) for t in checklist] == [
        ("it_setup", "it", True, "open"), ("payroll_setup", "payroll", True, "open"),
        ("buddy", "people", False, "open")]
    tasks = {t["key"]: t["id"] for t in checklist}
    assert [c["id"] for c in api.call("GET", "/cases", it_agent)["items"]] == [hire["id"]]
    refused = api.fire(hire["id"], "setup_done", status=409)["error"]["message"]
    assert "IT setup" in refused and "Payroll setup" in refused
    api.call("POST", f"/cases/{hire['id']}/tasks/{tasks['payroll_setup']}/complete", it_agent, status=403)
    done = api.call("POST", f"/cases/{hire['id']}/tasks/{tasks['it_setup']}/complete", it_agent)
    assert (done["status"], done["completed_by"]) == ("done", it_agent)
    assert "Payroll setup" in api.fire(hire["id"], "setup_done", status=409)["error"]["message"]
    api.call("POST", f"/cases/{hire['id']}/tasks/{tasks['payroll_setup']}/complete", payroll_agent)
    assert api.fire(hire["id"], "setup_done")["state"] == "induction"
    assert api.fire(hire["id"], "induction_done", who="requester")["state"] == "done"
    _closing_documents(api, hire["id"], "Welcome pack")
    kinds = api.kinds(hire["id"])
    assert kinds.count("task.created") == 3 and kinds.count("task.completed") == 2

    # Exception path: the second hire is not ready on the start date; then the candidate withdraws.
    api.sweep(datetime.now(UTC) + timedelta(days=4))
    late = api.case(other["id"])
    assert late["priority"] == "urgent" and "not_ready" in late["tags"]
    withdrawn = api.fire(other["id"], "withdraw", who="requester", comment="Accepted another offer.")
    assert withdrawn["state"] == "withdrawn"
    assert api.verified()
