"""A case type worth migrating: six open states in version 1; version 2 drops `escalated`, renames `review` to
`checking`, makes the account number required and gives `in_progress` a longer resolution target."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from cases import conversation, definitions, lifecycle
from cases.clock import fixed
from cases.models import Case, Definition, User
from cases.submissions import Uploader
from tests.support.complaint import GOOD, complaint_document

OPEN_STATES = ("new", "triage", "in_progress", "review", "waiting", "escalated")
MAPPING = {"escalated": "in_progress", "review": "checking"}
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
AGENT = {"roles": ["agent"], "queue_members": True, "assignee_only": False, "requester": False}
ACCOUNT = {"type": "short_text", "key": "account_id", "label": "Account number", "max_length": 40}


def _form(required: bool) -> dict[str, Any]:
    document = complaint_document()
    document["pages"][0]["fields"].append({**ACCOUNT, "required": required})
    return document


def _move(key: str, sources: list[str], to: str) -> dict[str, Any]:
    return {"key": key, "label": key.replace("_", " ").capitalize(), "from": sources, "to": to, "who": AGENT}


def title_for(slug: str) -> str:
    """The complaint's name, or another one for another short name: browser tests share one server, and
    a second "Customer complaint" on the requester's portal would make its link ambiguous."""
    return "Customer complaint" if slug == "complaint" else f"{slug.capitalize()} claim"


def version_one(form: str = "complaint") -> dict[str, Any]:
    state = [("new", "initial"), ("triage", "working"), ("in_progress", "working"), ("review", "working"),
             ("waiting", "waiting"), ("escalated", "working"), ("resolved", "final"), ("rejected", "final")]
    return {
        "schema_version": 1, "name": title_for(form), "description": "", "prefix": "CMP",
        "form": form, "form_version": 1,
        "states": [{"key": k, "label": k.replace("_", " ").capitalize(), "kind": kind} for k, kind in state],
        "transitions": [
            _move("sort", ["new"], "triage"), _move("start", ["new", "triage", "escalated"], "in_progress"),
            _move("check", ["in_progress"], "review"), _move("escalate", ["new", "in_progress"], "escalated"),
            _move("resolve", ["triage", "in_progress", "review", "escalated"], "resolved"),
            _move("reject", ["new", "triage"], "rejected")],
        "default_queue": "general", "fallback_queue": "general", "request_info_state": "waiting",
        "editable_fields": {}, "reopen": None,
        "sla": [{"state": "new", "kind": "response", "hours": 4, "business_hours": False},
                {"state": "in_progress", "kind": "resolution", "hours": 16, "business_hours": False}],
    }


def version_two(form: str = "complaint") -> dict[str, Any]:
    document = copy.deepcopy(version_one(form))
    document["form_version"] = 2
    document["states"] = [s for s in document["states"] if s["key"] != "escalated"]
    for s in document["states"]:
        if s["key"] == "review":
            s["key"], s["label"] = "checking", "Checking"
    document["transitions"] = [
        _move("sort", ["new"], "triage"), _move("start", ["new", "triage"], "in_progress"),
        _move("check", ["in_progress"], "checking"),
        _move("resolve", ["triage", "in_progress", "checking"], "resolved"),
        _move("reject", ["new", "triage"], "rejected")]
    document["sla"][1]["hours"] = 24
    return document


def publish_both(session: Session, admin: User, first: dict[str, Any] | None = None, *,
                 slug: str = "complaint") -> Definition:
    """The complaint form v1 (account number optional) and v2 (required), the case type at version 1 (or
    `first`), both named `slug`; version 2 is published by `publish_version_two`, after the cases are filed."""
    form = definitions.create(session, "form", slug=slug, title=title_for(slug), actor=admin,
                              document=_form(False))
    definitions.publish(session, form, actor=admin)
    definitions.save_draft(session, form, _form(True), actor=admin)
    definitions.publish(session, form, actor=admin)
    case_type = definitions.create(session, "case_type", slug=slug, title=title_for(slug), actor=admin,
                                   document=first or version_one(slug))
    assert definitions.draft_problems(session, case_type) == []
    definitions.publish(session, case_type, actor=admin)
    return case_type


def publish_version_two(session: Session, admin: User, case_type: Definition,
                        document: dict[str, Any] | None = None) -> None:
    problems = definitions.save_draft(session, case_type, document or version_two(case_type.slug), actor=admin)
    assert problems == [], problems
    definitions.publish(session, case_type, actor=admin)


def has_account(i: int) -> bool:
    return i % 5 != 0


def file_in_states(session: Session, case_type: Definition, requester: User, agent: User, count: int) -> list[Case]:
    """`count` cases, the i-th in OPEN_STATES[i % 6] (waiting ones asked from in_progress), every fifth
    without an account number; filed an hour apart from START, moved ten minutes after filing."""
    cases = []
    for i in range(count):
        at = START + timedelta(hours=i)
        data = {**GOOD, "account_id": f"AC-{i}"} if has_account(i) else dict(GOOD)
        case = lifecycle.file_case(session, case_type, data, uploader=Uploader(requester), clock=fixed(at))
        moved = fixed(at + timedelta(minutes=10))
        state = OPEN_STATES[i % len(OPEN_STATES)]
        if state in ("triage", "escalated"):
            lifecycle.transition(session, case, "sort" if state == "triage" else "escalate", agent, clock=moved)
        elif state in ("in_progress", "review", "waiting"):
            lifecycle.transition(session, case, "start", agent, clock=moved)
            if state == "review":
                lifecycle.transition(session, case, "check", agent, clock=moved)
            if state == "waiting":
                conversation.request_information(session, case, agent, "Which parcel?", clock=moved)
        cases.append(case)
    return cases


def expected(i: int) -> tuple[str, str | None]:
    """What the dry run says of the i-th case: its status and the state it goes to."""
    if not has_account(i):
        return "not_migratable", None
    state = OPEN_STATES[i % len(OPEN_STATES)]
    if state in MAPPING:
        return "mapped", MAPPING[state]
    return "kept", state


def six_cases_on_version_one(app: Any, slug: str = "complaint") -> list[str]:
    """In `app` (with the demo users): six complaints on version 1 of case type `slug`, one per open state
    (the first and the last, escalated, have no account number), and version 2 published; their references."""
    from app.extensions import db
    from cases import accounts

    with app.app_context():
        admin, agent, requester = (accounts.find_user(db.session, f"{who}@example.com")
                                   for who in ("admin", "agent", "requester"))
        assert admin is not None and agent is not None and requester is not None
        case_type = publish_both(db.session, admin, slug=slug)
        refs = [c.ref for c in file_in_states(db.session, case_type, requester, agent, 6)]
        publish_version_two(db.session, admin, case_type)
        db.session.remove()
        return refs
