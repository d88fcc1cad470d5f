"""Demo data for the starter library: a few hundred cases of the four shipped processes, lived through.

Every case is filed and worked through the real services (cases.lifecycle, cases.tasks, the SLA sweep)
with back-dated fixed clocks, so each event, hash, rule decision, deadline and breach is genuine. The
run is a small discrete-event simulation: each case has its next step at some moment; the earliest step
of all cases runs next, and the SLA sweep runs with the clock of that moment before it, so breaches fire
in order, when they would have. Steps are chosen from the case's state when they run (rules may have
moved it), and a step the services refuse ends that case's story where it is. Nothing after `now`
happens, so recent cases are still open, in every state.

The run is seeded: the same database and the same `now` give the same cases.
"""

from __future__ import annotations

import heapq
import json
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from case_types.errors import CasesError
from cases import assignment, conversation, lifecycle, sla_sweep, tasks
from cases.case_versions import case_spec
from cases.clock import Clock, fixed
from cases.models import Case, Definition, User
from cases.submissions import Uploader

DAYS = 90
SWEEP_EVERY = timedelta(hours=2)
SHARES = {"complaint": 0.36, "invoice": 0.30, "contract": 0.18, "onboarding": 0.16}

_FIRST = ["Morgan", "Priya", "Jonas", "Alex", "Sam", "Kim", "Lena", "Tom", "Ines", "Ravi", "Mia", "Erik"]
_LAST = ["Lee", "Shah", "Berg"]
CUSTOMERS = [(f"{first.lower()}.{last.lower()}@example.org", f"{first} {last}") for last in _LAST for first in _FIRST]
"""Demo customers (requester accounts); the first three complain often enough to be escalated as repeaters."""
STALL = {"complaint": 0.035, "invoice": 0.03, "contract": 0.03, "onboarding": 0.025}
"""The chance, at each step, that nobody takes the next one: the case stays open where it is (and its SLA runs)."""


@dataclass
class Cast:
    """Who acts in the demo: the agent works every queue; requesters file and answer."""

    agent: User
    requester: User
    customers: Sequence[User]


@dataclass
class Story:
    """One demo case: when it is filed, by whom, with what, and how its life should go."""

    pack: str
    at: datetime
    filer: User
    data: dict[str, Any]
    plan: dict[str, Any] = field(default_factory=dict)
    case: Case | None = None


@dataclass
class Result:
    cases: int = 0
    steps: int = 0
    stopped: int = 0
    sweeps: int = 0
    fired: int = 0
    states: Counter[str] = field(default_factory=Counter)  # "pack:state" -> cases
    open: int = 0


# ---------------------------------------------------------------- what the cases say


def _order(rng: random.Random) -> str:
    return f"ORD-{rng.randint(100000, 999999)}"


COMPLAINTS = {
    "late_delivery": ["My parcel was due four days ago and the tracking page has not moved since.",
                      "The delivery was promised before the weekend; it came a week later."],
    "damaged": ["The box arrived soaked and the book inside is ruined.",
                "The screen of the monitor was cracked when I unpacked it."],
    "wrong_item": ["I ordered the blue kettle and received a red toaster.",
                   "Two of the three items in the parcel are not what I ordered."],
    "billing": ["I was charged for express delivery but chose the free option.",
                "The refund for my return has not reached my account after three weeks."],
    "other": ["Your hotline put me on hold for forty minutes and then hung up.",
              "The voucher code from your newsletter is refused at checkout."],
}
COUNTERPARTIES = ["Blitzblank GmbH", "Northwind Computers B.V.", "Fabrikam Software Ltd", "Contoso Analytics SAS",
                  "Tailspin Trading Inc.", "Adatum Consulting AG", "Litware Logistics", "Proseware Ltd",
                  "Wingtip Toys SE", "Coho Vineyard SARL"]
TITLES = ["Facility services", "Hardware supply", "Software licence", "Consulting framework", "Logistics services",
          "Marketing agency", "Data processing", "Maintenance and support"]
VENDORS = ["Paper & Co", "Brightlight Events", "Adatum Hardware", "Litware Logistics", "Proseware Ltd",
           "Graphic Design Institute", "Margie's Travel", "City Power & Light"]
PEOPLE = ["Noa Fischer", "Lucas Silva", "Aisha Khan", "Mateo Rossi", "Hannah Becker", "Yuki Tanaka", "Omar Haddad",
          "Freya Larsen", "Daniel Kim", "Sofia Costa", "Liam Byrne", "Chloe Martin"]
JOBS = [("Software engineer", "engineering"), ("Account manager", "sales"), ("Campaign designer", "marketing"),
        ("Financial analyst", "finance"), ("Operations lead", "operations"), ("HR partner", "people")]


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _complaint(rng: random.Random, base: Mapping[str, Any], filer: User) -> dict[str, Any]:
    category = _pick(rng, {"late_delivery": 4, "damaged": 3, "wrong_item": 2, "billing": 3, "other": 1})
    data = {**base, "name": filer.name, "email": filer.email, "order_number": _order(rng), "category": category,
            "severity": _pick(rng, {"low": 4, "medium": 5, "high": 1.2, "critical": 0.3}),
            "customer_tier": _pick(rng, {"standard": 7, "silver": 2, "gold": 0.6}),
            "description": rng.choice(COMPLAINTS[category]),
            "desired_outcome": rng.choice(["refund", "replacement", "repair", "apology"])}
    if category == "other":
        data["other_category"] = "Customer service"
    else:
        data.pop("other_category", None)
    return data


def _contract(rng: random.Random, base: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    value = rng.choice([Decimal(rng.randrange(5, 95) * 1000), Decimal(rng.randrange(101, 240) * 1000),
                        Decimal(rng.randrange(260, 900) * 1000), Decimal(100000)])
    start = at.date() + timedelta(days=rng.randint(10, 40))
    # Some contracts are short, so the demo has renewal reminders due now.
    months = rng.choice([3, 4, 6, 12, 24, 36])
    return {**base, "title": f"{rng.choice(TITLES)} {start.year}", "counterparty": rng.choice(COUNTERPARTIES),
            "contract_type": rng.choice(["services", "supply", "licence", "services", "other"]),
            "value": f"{value:.2f}", "currency": _pick(rng, {"EUR": 6, "GBP": 2, "USD": 1, "CHF": 1}),
            "liability": _pick(rng, {"standard": 4, "non_standard": 1}),
            "governing_law": _pick(rng, {"germany": 4, "england_wales": 2, "netherlands": 2, "france": 1,
                                         "new_york": 1, "switzerland": 0.5}),
            "start_date": start.isoformat(), "end_date": (start + timedelta(days=30 * months - 1)).isoformat()}


def _invoice(rng: random.Random, base: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    amount = rng.choice([Decimal(rng.randrange(15000, 900000)) / 100, Decimal(rng.randrange(15000, 900000)) / 100,
                         Decimal(rng.randrange(1000001, 6000000)) / 100, Decimal("10000.00"), Decimal("10000.01")])
    data = {**base, "vendor": rng.choice(VENDORS), "invoice_number": f"{rng.randint(1000, 99999)}",
            "invoice_date": (at.date() - timedelta(days=rng.randint(1, 10))).isoformat(),
            "amount": f"{amount:.2f}", "po_number": f"PO-{rng.randint(100000, 999999)}",
            "cost_center": rng.choice(["operations", "sales", "research", "admin"])}
    data.pop("payment_due", None)
    return data


def _hire(rng: random.Random, base: Mapping[str, Any], at: datetime, filer: User) -> dict[str, Any]:
    job, department = rng.choice(JOBS)
    data = {**base, "employee_name": rng.choice(PEOPLE), "job_title": job, "department": department,
            "manager_email": filer.email, "start_date": (at.date() + timedelta(days=rng.randint(12, 40))).isoformat(),
            "employment_type": _pick(rng, {"permanent": 6, "fixed_term": 2, "contractor": 1}),
            "equipment": rng.sample(["laptop", "phone", "monitor", "badge"], k=rng.randint(1, 3))}
    data.pop("notes", None)
    data.pop("personal_email", None)
    return data


# ---------------------------------------------------------------- how the cases live

Step = tuple[float | datetime, Callable[[Session, Case, Clock], Any]] | None
"""(business hours until the step, or the moment of it; what it does), or None when the story ends here."""


def _fire(key: str, who: User, comment: str = "", data: Mapping[str, Any] | None = None
          ) -> Callable[[Session, Case, Clock], Any]:
    return lambda s, c, clock: lifecycle.transition(s, c, key, who, comment=comment, data=data, clock=clock)


def _complete(task_id: int, who: User) -> Callable[[Session, Case, Clock], Any]:
    return lambda s, c, clock: tasks.complete(s, c, task_id, who, clock=clock)


def _claim(who: User) -> Callable[[Session, Case, Clock], Any]:
    return lambda s, c, clock: assignment.claim(s, c, who, clock=clock)


REOPENED = 0.12
"""The share of closed complaints whose customer comes back (so reopen rates and rework show something)."""


def _after_closing(story: Story, rng: random.Random) -> Step:
    """A closed complaint's customer may reopen it once, a day or two later (the pack allows 30 days)."""
    if story.pack != "complaint" or story.plan.get("reopened") or rng.random() >= REOPENED:
        return None
    story.plan["reopened"] = True
    return rng.uniform(8, 24), lambda s, c, clock: lifecycle.reopen(
        s, c, story.filer, reason="The problem came back; please look at it again.", clock=clock)


def _complaint_step(story: Story, case: Case, cast: Cast, rng: random.Random) -> Step:
    plan, agent, customer = story.plan, cast.agent, story.filer
    state = case.state
    if state == "new":
        if case.assignee_id is None:
            return rng.uniform(0.2, 2), _claim(agent)
        if plan["path"] == "reject":
            return rng.uniform(1, 4), _fire("reject", agent, "This order was placed with another shop; we have "
                                                          "no record of it.")
        late = rng.uniform(10, 20) if plan["late_response"] else rng.uniform(0.5, 6)
        return late, _fire("triage", agent)
    if state == "triage":
        if plan["path"] == "ask" and not plan.get("asked"):
            plan["asked"] = True
            return rng.uniform(1, 6), lambda s, c, clock: conversation.request_information(
                s, c, agent, "Could you send us a photo of the parcel and its label?", clock=clock)
        return rng.uniform(1, 8), _fire("investigate", agent)
    if state == "waiting_customer":
        return rng.uniform(6, 30), lambda s, c, clock: conversation.answer_information(
            s, c, customer, "Photo attached to my e-mail; the label shows the wrong house number.", clock=clock)
    if state == "investigation":
        return rng.uniform(4, 30), _fire("resolve", agent, rng.choice([
            "We refund the full amount and have spoken to the courier.",
            "A replacement is on its way by express delivery, at no cost.",
            "We corrected the invoice and refunded the difference."]))
    if state == "resolution":
        return rng.uniform(1, 6), _fire("send_resolution", agent)
    if state == "feedback":
        if plan["path"] == "unhappy" and not plan.get("looked_again"):
            plan["looked_again"] = True
            return rng.uniform(4, 20), _fire("reinvestigate", customer, "The replacement has the same fault.")
        if rng.random() < 0.75:
            return rng.uniform(2, 20), _fire("accept", customer)
        return rng.uniform(30, 45), _fire("close", agent)
    return None


def _contract_step(story: Story, case: Case, cast: Cast, rng: random.Random) -> Step:
    agent, state = cast.agent, case.state
    if state == "request":
        if case.assignee_id is None:
            return rng.uniform(0.5, 4), _claim(agent)
        if story.plan["path"] == "cancel":
            return rng.uniform(2, 10), _fire("cancel", agent, "The business case was withdrawn.")
        return rng.uniform(2, 14), _fire("start_drafting", agent)
    if state == "drafting":
        return rng.uniform(8, 30), _fire("submit_review", agent)
    if state == "legal_review":
        if story.plan["path"] == "legal_changes" and not story.plan.get("changed"):
            story.plan["changed"] = True
            return rng.uniform(4, 20), _fire("legal_changes", agent, "Cap the liability at the contract value.")
        return rng.uniform(6, 30), _fire("legal_cleared", agent)
    if state == "compliance_review":
        return rng.uniform(6, 24), _fire("compliance_cleared", agent)
    if state == "negotiation":
        return rng.uniform(10, 50), _fire("agree_terms", agent)
    if state == "approval":
        return rng.uniform(2, 20), _fire("approve", agent)
    if state == "signature":
        return rng.uniform(6, 30), _fire("sign", agent)
    if state == "active":
        if story.plan["path"] == "forget":
            return None  # nobody decides: the renewal reminder warns, then breaches
        # Most owners decide before the reminder is due (60 days before the end), a few after it.
        end = date.fromisoformat(json.loads(case.data)["end_date"])
        before = rng.randint(20, 45) if story.plan["path"] == "late_renewal" else rng.randint(62, 90)
        decide = datetime.combine(end - timedelta(days=before), time(10, 0), tzinfo=UTC)
        return decide, (_fire("renew", agent, "Renewed for another term on the same conditions.")
                        if rng.random() < 0.7 else _fire("end", agent))
    return None


def _invoice_step(story: Story, case: Case, cast: Cast, rng: random.Random) -> Step:
    agent, plan, state = cast.agent, story.plan, case.state
    if state == "submitted":
        if case.assignee_id is None:
            return rng.uniform(0.2, 2), _claim(agent)
        if plan["path"] == "mismatch" and not plan.get("flagged"):
            plan["flagged"] = True
            return rng.uniform(1, 6), _fire("flag_mismatch", agent, "The purchase order number belongs to another "
                                                                    "supplier; please check it.")
        late = rng.uniform(9, 16) if plan["late"] else rng.uniform(1, 7)
        return late, _fire("verify", agent)
    if state == "po_mismatch":
        corrected = {"po_number": f"PO-{rng.randint(100000, 999999)}"}
        return rng.uniform(4, 24), _fire("correct_po", story.filer, data=corrected)
    if state in ("manager_approval", "cfo_approval"):
        if plan["path"] == "reject":
            return rng.uniform(2, 12), _fire("reject", agent, "Not budgeted this year.")
        key = "manager_approve" if state == "manager_approval" else "cfo_approve"
        late = rng.uniform(20, 40) if plan["late"] else rng.uniform(1, 14)
        return late, _fire(key, agent)
    if state == "payment_scheduled":
        return rng.uniform(8, 40), _fire("pay", agent)
    return None


def _onboarding_step(story: Story, case: Case, cast: Cast, rng: random.Random, session: Session) -> Step:
    agent, state = cast.agent, case.state
    if state == "requested":
        if case.assignee_id is None:
            return rng.uniform(0.5, 4), _claim(agent)
        if story.plan["path"] == "withdraw":
            return rng.uniform(2, 12), _fire("withdraw", story.filer, "The candidate accepted another offer.")
        return rng.uniform(1, 8), _fire("start_profile", agent)
    if state == "hr_profile":
        return rng.uniform(4, 16), _fire("start_setup", agent)
    if state == "setup":
        slow = 3 if story.plan["path"] == "slow" else 1
        todo = [t for t in tasks.tasks_of(session, case) if t.is_open and (t.required or rng.random() < 0.6)]
        if todo:
            return rng.uniform(2, 20) * slow, _complete(todo[0].id, agent)
        return rng.uniform(1, 6), _fire("setup_done", agent)
    if state == "induction":
        return rng.uniform(4, 24), _fire("induction_done", story.filer)
    return None


# ---------------------------------------------------------------- the run


def has_demo_cases(session: Session, case_types: Mapping[str, Definition]) -> bool:
    """Whether cases of the starter processes exist already (the demo then adds none)."""
    ids = [d.id for d in case_types.values()]
    return bool(ids) and (session.scalar(select(func.count()).select_from(Case)
                                         .where(Case.case_type_id.in_(ids))) or 0) > 0


def stories(case_types: Mapping[str, Definition], samples: Mapping[str, Sequence[Mapping[str, Any]]],
            cast: Cast, *, count: int, now: datetime, rng: random.Random) -> list[Story]:
    """The cases to file: when, by whom, with what data, and the path each should take."""
    packs = [p for p in SHARES if p in case_types]
    out = []
    for _ in range(count):
        pack = rng.choices(packs, weights=[SHARES[p] for p in packs])[0]
        at = now - timedelta(days=DAYS) + timedelta(seconds=rng.uniform(0, DAYS * 86400))
        base = dict(rng.choice(list(samples.get(pack) or [{}])))
        if pack == "complaint":
            # Three customers complain a lot (their third complaint within 90 days is escalated); the rest rarely.
            filer = cast.customers[rng.randrange(3)] if rng.random() < 0.2 else rng.choice(cast.customers[3:])
            data = _complaint(rng, base, filer)
            plan = {"path": _pick(rng, {"main": 12, "ask": 3, "reject": 1.5, "unhappy": 1.5}),
                    "late_response": rng.random() < 0.15}
        elif pack == "contract":
            filer, data = cast.requester, _contract(rng, base, at)
            plan = {"path": _pick(rng, {"main": 8, "legal_changes": 1, "cancel": 1, "forget": 1, "late_renewal": 1})}
        elif pack == "invoice":
            filer, data = cast.requester, _invoice(rng, base, at)
            plan = {"path": _pick(rng, {"main": 14, "mismatch": 2, "reject": 1}), "late": rng.random() < 0.12}
        else:
            filer, data = cast.requester, _hire(rng, base, at, cast.requester)
            plan = {"path": _pick(rng, {"main": 8, "slow": 2, "withdraw": 1})}
        plan["pace"] = rng.lognormvariate(0, 0.45)
        out.append(Story(pack=pack, at=at, filer=filer, data=data, plan=plan))
    return sorted(out, key=lambda s: s.at)


def run(session: Session, case_types: Mapping[str, Definition], samples: Mapping[str, Sequence[Mapping[str, Any]]],
        cast: Cast, *, count: int, now: datetime, seed: int = 7) -> Result:
    """File `count` cases spread over the last 90 days and live their lives up to `now`."""
    rng = random.Random(seed)
    reopen_rng = random.Random(seed + 1)  # its own draws: the other cases live exactly as before
    result = Result()
    plan = stories(case_types, samples, cast, count=count, now=now, rng=rng)
    pending: dict[int, Callable[[Session, Case, Clock], Any]] = {}
    queue: list[tuple[datetime, int, int]] = [(story.at, i, i) for i, story in enumerate(plan)]
    heapq.heapify(queue)
    tick = len(queue)
    last_sweep: datetime | None = None
    while queue:
        at, _, i = heapq.heappop(queue)
        if last_sweep is None or at - last_sweep >= SWEEP_EVERY:
            _sweep(session, at, result)
            last_sweep = at
        story, clock = plan[i], fixed(at)
        try:
            if story.case is None:
                story.case = lifecycle.file_case(session, case_types[story.pack], story.data,
                                                 uploader=Uploader(story.filer), clock=clock)
                result.cases += 1
            else:
                pending.pop(i)(session, story.case, clock)
                result.steps += 1
        except CasesError:
            session.rollback()
            result.stopped += 1
            continue
        step = _next(session, story, story.case, cast, rng) if story.case.is_open else \
            _after_closing(story, reopen_rng)
        if step is None or rng.random() < STALL[story.pack]:
            continue
        after, action = step
        when = max(at, after) if isinstance(after, datetime) else \
            case_spec(session, story.case).calendar.add(at, after * story.plan["pace"], business=True)
        if when <= now:
            pending[i] = action
            tick += 1
            heapq.heappush(queue, (when, tick, i))
    _sweep(session, now, result)
    for story in plan:
        if story.case is not None:
            result.states[f"{story.pack}:{story.case.state}"] += 1
            result.open += story.case.is_open
    return result


def _sweep(session: Session, at: datetime, result: Result) -> None:
    """The SLA sweep as the server runs it, at `at`: breaches and warnings fire with their rules."""
    clock = fixed(at)
    result.fired += sla_sweep.sweep(session, clock=clock)
    result.sweeps += 1


def _next(session: Session, story: Story, case: Case, cast: Cast, rng: random.Random) -> Step:
    if story.pack == "complaint":
        return _complaint_step(story, case, cast, rng)
    if story.pack == "contract":
        return _contract_step(story, case, cast, rng)
    if story.pack == "invoice":
        return _invoice_step(story, case, cast, rng)
    return _onboarding_step(story, case, cast, rng, session)


