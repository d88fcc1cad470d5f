"""API: the checklist tasks of a case, completed and reopened by the members of each task's queue."""

from __future__ import annotations

from typing import Any

from app.api.base import api_user, bp
from app.api.openapi import operation
from app.api.schemas import Items, TaskOut
from app.extensions import db
from cases import access, tasks
from cases.models import Task


def task_json(task: Task, *, hide_staff: bool = False) -> dict[str, Any]:
    """A checklist task; for a requester whoever completed it is "support"."""
    who = task.completed_by.email if task.completed_by else None
    return {
        "id": task.id, "key": task.key, "label": task.label, "queue": task.queue.slug, "required": task.required,
        "state": task.state, "status": task.status,
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
        "completed_by": "support" if who and hide_staff else who,
    }


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
