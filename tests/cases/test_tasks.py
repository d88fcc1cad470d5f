"""Parallel checklist tasks: declared on transitions, worked by queues, holding the case in its state."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from case_types import workflow, workflow_editing
from case_types.errors import Conflict, NotFound
from case_types.workflow import TransitionNotAllowed
from cases import access, accounts, assignment, audit, definitions, lifecycle, tasks
from cases.errors import PermissionDenied
from cases.kinds import kind_of
from cases.models import Definition, OutboxMessage, User
from cases.read import queries
from cases.submissions import Uploader
from forms.errors import DefinitionError
from tests.support.complaint import GOOD, complaint_case_type_document

SETUP_TASKS = [
    {"key": "it_setup", "label": "IT setup", "queue": "it", "required": True},
    {"key": "payroll_setup", "label": "Payroll setup", "queue": "payroll", "required": True},
    {"key": "buddy", "label": "Find a buddy", "queue": "general", "required": False},
]


def _document(**changes: Any) -> dict[str, Any]:
    document = complaint_case_type_document()
    document["transitions"][0]["tasks"] = changes.pop("tasks", SETUP_TASKS)  # "start": new -> in_progress
    document.update(changes)
    return document


def _agent_of(session: Session, email: str, queue_slug: str) -> User:
    user = accounts.create_user(session, email=email, name=email.split("@")[0].capitalize(),
                                password="long enough pw", roles=["agent"])
    queue = accounts.find_queue(session, queue_slug) or accounts.create_queue(session, slug=queue_slug,
                                                                              name=queue_slug.upper())
    accounts.add_queue_member(session, queue, user)
    return user


@pytest.fixture
def it_agent(session: Session) -> User:
    return _agent_of(session, "ivy@example.com", "it")


@pytest.fixture
def payroll_agent(session: Session) -> User:
    return _agent_of(session, "pat@example.com", "payroll")


@pytest.fixture
def with_tasks(session: Session, admin: User, complaint: Definition, general: Any, it_agent: User,
               payroll_agent: User) -> Definition:
    definition = definitions.create(session, "case_type", slug="complaint", title="Customer complaint", actor=admin,
                                    document=_document())
    definitions.publish(session, definition, actor=admin)
    return definition


def _started(session: Session, case_type: Definition, requester: User, agent: User) -> Any:
    case = lifecycle.file_case(session, case_type, GOOD, uploader=Uploader(requester))
    lifecycle.transition(session, case, "start", agent)
    return case


def _problems(session: Session, document: dict[str, Any]) -> dict[str, str]:
    """What the designer and the import say about a case-type document, by path."""
    try:
        kind_of("case_type").load(session, document)
    except DefinitionError as exc:
        return {p.path: p.message for p in exc.errors}
    return {}


# ---------------------------------------------------------------- the case-type language


def test_tasks_load_dump_and_diff(session: Session, with_tasks: Definition) -> None:
    spec = definitions.load_version(session, with_tasks.latest_version)
    start = spec.transition("start")
    assert [(t.key, t.queue, t.required) for t in start.tasks] == [
        ("it_setup", "it", True), ("payroll_setup", "payroll", True), ("buddy", "general", False)]
    dumped = workflow.dump_case_type(spec)
    assert dumped["transitions"][0]["tasks"] == SETUP_TASKS
    assert "tasks" not in dumped["transitions"][1]  # transitions without tasks dump as before
    changed = json.loads(json.dumps(dumped))
    changed["transitions"][0]["tasks"] = SETUP_TASKS[:2]
    assert any("Start work" in line and "tasks" in line for line in workflow.diff_case_types(dumped, changed))


def test_task_problems_are_reported_where_they_are(session: Session, admin: User, complaint: Definition,
                                                   general: Any, it_agent: User) -> None:
    problems = _problems(session, _document(tasks=[
        {"key": "it_setup", "label": "IT setup", "queue": "it"},
        {"key": "it_setup", "label": "", "queue": "nowhere", "required": "yes", "owner": "bob"},
        "a task",
        {"key": "Bad Key", "label": "x", "queue": "it"},
    ]))
    assert problems["transitions[0].tasks[1].key"].startswith("Two tasks")
    assert problems["transitions[0].tasks[1].label"] == "This cannot be empty."
    assert problems["transitions[0].tasks[1].queue"].startswith("Choose one of the queues")
    assert problems["transitions[0].tasks[1].required"] == "Choose yes or no."
    assert problems["transitions[0].tasks[1].owner"] == "Unknown setting 'owner'."
    assert "transitions[0].tasks[2]" in problems
    assert "transitions[0].tasks[3].key" in problems
    assert "transitions[0].tasks[0].queue" not in problems
    assert _problems(session, _document(tasks="it"))["transitions[0].tasks"] == "Tasks are a list."


def test_the_designer_keeps_tasks_when_it_edits_a_transition(with_tasks: Definition, session: Session) -> None:
    document = definitions.version_document(with_tasks.latest_version)
    edited, _key = workflow_editing.update_transition(document, "start", workflow_editing.TransitionInput(
        label="Begin", target="in_progress", sources=["new"]))
    assert edited["transitions"][0]["label"] == "Begin"
    assert edited["transitions"][0]["tasks"] == SETUP_TASKS


# ---------------------------------------------------------------- working them


def test_required_tasks_hold_the_case_until_their_queues_finish_them(
        session: Session, with_tasks: Definition, requester: User, agent: User, it_agent: User,
        payroll_agent: User) -> None:
    case = _started(session, with_tasks, requester, agent)
    checklist = tasks.tasks_of(session, case)
    assert [(t.key, t.queue.slug, t.state, t.status) for t in checklist] == [
        ("it_setup", "it", "in_progress", "open"), ("payroll_setup", "payroll", "in_progress", "open"),
        ("buddy", "general", "in_progress", "open")]
    it_task, payroll_task, buddy = checklist

    with pytest.raises(TransitionNotAllowed, match=r"these tasks are still open: IT setup \(IT\), Payroll setup"):
        lifecycle.transition(session, case, "resolve", agent, comment="Done")
    with pytest.raises(PermissionDenied, match="Only members of PAYROLL"):
        tasks.complete(session, case, payroll_task.id, it_agent)
    with pytest.raises(PermissionDenied):
        tasks.complete(session, case, it_task.id, requester)

    tasks.complete(session, case, it_task.id, it_agent)
    with pytest.raises(Conflict, match="already completed by Ivy"):
        tasks.complete(session, case, it_task.id, it_agent)
    with pytest.raises(TransitionNotAllowed, match=r"this task is still open: Payroll setup \(PAYROLL\)\."):
        lifecycle.transition(session, case, "resolve", agent, comment="Done")

    assignment.claim(session, case, agent)
    tasks.complete(session, case, payroll_task.id, payroll_agent)
    # The optional buddy task does not hold the case; the assignee hears that the last required task is done.
    assert session.scalars(select(OutboxMessage.to).where(OutboxMessage.reason == "task.completed")).all() == [
        "alex@example.com"]
    lifecycle.transition(session, case, "resolve", agent, comment="Done")
    assert case.state == "resolved"
    assert buddy.is_open
    kinds = [e.kind for e in audit.events(session, case.stream)]
    assert kinds.count("task.created") == 3 and kinds.count("task.completed") == 2
    assert audit.verify(session).ok


def test_reopening_a_task_holds_the_case_again_and_stale_pages_conflict(
        session: Session, with_tasks: Definition, requester: User, agent: User, it_agent: User,
        payroll_agent: User) -> None:
    case = _started(session, with_tasks, requester, agent)
    it_task, payroll_task, _buddy = tasks.tasks_of(session, case)
    tasks.complete(session, case, it_task.id, it_agent)
    tasks.complete(session, case, payroll_task.id, payroll_agent)
    seen = case.lock_version
    tasks.reopen(session, case, it_task.id, it_agent)
    with pytest.raises(Conflict, match="is open"):
        tasks.reopen(session, case, it_task.id, it_agent)
    # A page shown before the reopening carries the old version: its transition is refused, not fired.
    with pytest.raises(Conflict):
        lifecycle.transition(session, case, "resolve", agent, comment="Done", expected_version=seen)
    with pytest.raises(TransitionNotAllowed, match="IT setup"):
        lifecycle.transition(session, case, "resolve", agent, comment="Done")
    tasks.complete(session, case, it_task.id, it_agent)
    lifecycle.transition(session, case, "resolve", agent, comment="Done")
    with pytest.raises(Conflict, match="moved on"):
        tasks.reopen(session, case, it_task.id, it_agent)
    kinds = [e.kind for e in audit.events(session, case.stream)]
    assert kinds.count("task.reopened") == 1
    assert audit.verify(session).ok


def test_members_of_a_task_queue_see_the_case_and_others_do_not(
        session: Session, with_tasks: Definition, requester: User, agent: User, it_agent: User) -> None:
    mine = _started(session, with_tasks, requester, agent)
    untouched = lifecycle.file_case(session, with_tasks, GOOD, uploader=Uploader(requester))
    outsider = _agent_of(session, "otto@example.com", "sales")
    everything = queries.parse_filters({"scope": "all", "status": "any"})
    seen = {c.id for c in queries.work_list(session, it_agent, everything).items}
    assert mine.id in seen and untouched.id not in seen
    assert access.can_view(session, it_agent, mine) and not access.can_view(session, it_agent, untouched)
    assert not access.is_staff_on(session, it_agent, mine)  # seeing the case is not working it
    assert mine.id not in {c.id for c in queries.work_list(session, outsider, everything).items}
    assert not access.can_view(session, outsider, mine)
    # "my queues" stays the queues' own cases
    mine_only = queries.parse_filters({"scope": "queues", "status": "any"})
    assert mine.id not in {c.id for c in queries.work_list(session, it_agent, mine_only).items}


def test_a_closed_case_takes_no_task_changes(session: Session, with_tasks: Definition, requester: User,
                                             agent: User, admin: User) -> None:
    case = _started(session, with_tasks, requester, agent)
    for task in tasks.tasks_of(session, case):
        if task.required:
            tasks.complete(session, case, task.id, admin)  # admins may complete any task
    lifecycle.transition(session, case, "resolve", agent, comment="Done")
    buddy = tasks.tasks_of(session, case)[2]
    with pytest.raises(Conflict, match="closed"):
        tasks.complete(session, case, buddy.id, admin)
    other = lifecycle.file_case(session, with_tasks, GOOD, uploader=Uploader(requester))
    with pytest.raises(NotFound):  # a task of another case
        tasks.complete(session, other, buddy.id, admin)
