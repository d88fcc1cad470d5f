"""API: the tasks of a case: its checklist, completed and reopened by the members of each task's queue, the
tasks (or child cases) of the case type's catalogue that people start, and the links to other cases."""

from __future__ import annotations

from typing import Any

from app.api.base import api_user, bp
from app.api.openapi import operation
from app.api.schemas import Items, LinkBody, LinkDetail, StartTaskBody, TaskOut
from app.extensions import db
from cases import access, discretionary, links, tasks
from cases.models import Case, Task


def task_json(task: Task, *, hide_staff: bool = False) -> dict[str, Any]:
    """A checklist task; for a requester whoever completed it is "support"."""
    who = task.completed_by.email if task.completed_by else None
    return {
        "id": task.id, "key": task.key, "label": task.label, "queue": task.queue.slug, "required": task.required,
        "state": task.state, "status": task.status,
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
        "completed_by": "support" if who and hide_staff else who, "reason": "" if hide_staff else task.reason,
    }


def _child_json(parent: Case, child: Case, key: str, label: str) -> dict[str, Any]:
    return {"id": child.id, "key": key, "label": label, "queue": child.queue.slug, "required": False,
            "state": parent.state, "status": "open", "completed_at": None, "completed_by": None, "child_case": child.id}


@bp.post("/cases/<int:case_id>/tasks")
@operation("Start a task or child case of the catalogue", body=StartTaskBody, response=TaskOut, status=201,
           errors=(409,))
def start_task(case_id: int, body: StartTaskBody) -> Any:
    """403 when the caller may not start it, 409 when not in this state (or already open), 422 without a
    required reason. An entry that starts a child case answers with `child_case`."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    started = discretionary.start_task(db.session, case, body.task, user, reason=body.reason)
    if isinstance(started, Case):
        item = discretionary.item_of(db.session, case, body.task)
        return _child_json(case, started, body.task, item.label if item else body.task), 201
    return task_json(started), 201


@bp.get("/cases/<int:case_id>/tasks")
@operation("List a case's checklist tasks", response=Items[TaskOut])
def case_tasks(case_id: int) -> Any:
    """The case's checklist, oldest first."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    hide = not access.sees_internal(db.session, user, case)
    return {"items": [task_json(t, hide_staff=hide) for t in tasks.tasks_of(db.session, case)]}


@bp.post("/cases/<int:case_id>/tasks/<int:task_id>/complete")
@operation("Complete a checklist task", response=TaskOut, errors=(409,))
def complete_task(case_id: int, task_id: int) -> Any:
    """Members of the task's queue complete it."""
    case = access.get_case_for(db.session, case_id, api_user())
    return task_json(tasks.complete(db.session, case, task_id, api_user()))


@bp.post("/cases/<int:case_id>/tasks/<int:task_id>/reopen")
@operation("Reopen a checklist task", response=TaskOut, errors=(409,))
def reopen_task(case_id: int, task_id: int) -> Any:
    """Members of the task's queue reopen it while the case is in the task's state."""
    case = access.get_case_for(db.session, case_id, api_user())
    return task_json(tasks.reopen(db.session, case, task_id, api_user()))


def _link_json(view: links.LinkView) -> dict[str, Any]:
    return {"kind": view.kind, "id": view.id, "ref": view.ref, "case_type": view.case_type, "visible": view.visible,
            "summary": view.summary, "state": view.state}


@bp.get("/cases/<int:case_id>/links")
@operation("List a case's linked cases", response=Items[LinkDetail])
def case_links(case_id: int) -> Any:
    """A requester sees only their own linked cases; staff of the case every link, with the summary and state
    of those they may open."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    return {"items": [_link_json(v) for v in links.links_for(db.session, case, user)]}


@bp.post("/cases/<int:case_id>/links")
@operation("Link the case to another existing case", body=LinkBody, response=LinkDetail, status=201,
           errors=(409,))
def link_case(case_id: int, body: LinkBody) -> Any:
    """Staff of the case link it to a case they may see (422 for one they may not: the same as for none);
    409 when the two are linked already."""
    user = api_user()
    case = access.get_case_for(db.session, case_id, user)
    other = links.link(db.session, case, body.case, body.kind, user)
    view = next(v for v in links.links_for(db.session, case, user) if v.id == other.id)
    return _link_json(view), 201
