"""Agents' work: lists of cases to filter and page through, and the case page where cases are worked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from app import case_pages
from app.auth import require_roles, signed_in_user
from app.extensions import db
from app.htmx import render, see_other
from case_types.errors import ValidationFailed
from cases import (
    access,
    accounts,
    approvals,
    assignment,
    case_versions,
    conversation,
    definitions,
    discretionary,
    lifecycle,
    links,
    tasks,
)
from cases.inputs import MAX_ID, parse_count, parse_id
from cases.models import PRIORITIES, Case, Role, User
from cases.read import queries
from cases.read.states import state_names

bp = Blueprint("work", __name__, url_prefix="/work")
require_roles(bp, Role.AGENT, Role.ADMIN)



def _me() -> User:
    user = signed_in_user()
    return user


@bp.get("/")
def index() -> ResponseReturnValue:
    user = _me()
    default_scope = "queues" if user.has_role(Role.AGENT) else "all"
    filters = queries.parse_filters(request.args, default_scope=default_scope)
    page = parse_count(request.args.get("page", "1"), low=1) or 1
    result = queries.work_list(db.session, user, filters, page=page)
    case_types = list(definitions.list_definitions(db.session, "case_type"))
    return render("work/index.html", "work/_list.html", filters=filters, result=result,
                  counts=queries.counts(db.session, user), queues=accounts.list_queues(db.session),
                  case_types=case_types, priorities=PRIORITIES, agents=accounts.users_with_role(db.session, Role.AGENT),
                  args=request.args, bulk_form=FlaskForm(), states=state_names(db.session))


@bp.post("/bulk-assign")
def bulk_assign() -> ResponseReturnValue:
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    email = (request.form.get("assignee") or "").strip()
    assignee = accounts.find_user(db.session, email) if email and email != "none" else None
    if email and email != "none" and assignee is None:
        raise ValidationFailed("No agent has this e-mail address.", {"assignee": ["Choose an agent."]})
    ids = [i for i in map(parse_id, request.form.getlist("case")) if i is not None][:200]
    if not ids:
        raise ValidationFailed("Select the cases to assign.", {"case": ["Select at least one case."]})
    done, problems = assignment.bulk_assign(db.session, ids, assignee, _me())
    flash(f"{len(done)} case(s) assigned" + (f"; {len(problems)} not: " + "; ".join(
        f"#{k}: {v}" for k, v in problems.items()) if problems else "."), "success" if not problems else "error")
    return see_other(request.referrer if request.referrer and request.referrer.startswith(request.host_url)
                     else url_for("work.index"))


# ---------------------------------------------------------------- the case page


def _case(case_id: int) -> Case:
    return access.get_case_for(db.session, case_id, _me())


def _case_response(case: Case, *, problem: str | None = None, offer_reload: bool = False,
                   status: int = 200) -> ResponseReturnValue:
    page = case_pages.build(db.session, case, _me(), problem=problem, offer_reload=offer_reload)
    return render("work/case.html", "work/_case.html", page=page, status=status, priorities=PRIORITIES,
                  form=FlaskForm())


@bp.get("/cases/<int:case_id>")
def case(case_id: int) -> ResponseReturnValue:
    return _case_response(_case(case_id))


def _version() -> int | None:
    return parse_count(request.form.get("version", ""), high=MAX_ID)


def _act(case_id: int, action: Callable[[Case, User], Any]) -> ResponseReturnValue:
    return case_pages.act(lambda: _case(case_id), _me(), action, show=_case_response,
                          done_url=lambda c: url_for("work.case", case_id=c.id))


@bp.post("/cases/<int:case_id>/claim")
def claim(case_id: int) -> ResponseReturnValue:
    return _act(case_id, lambda c, u: assignment.claim(db.session, c, u, expected_version=_version()))


@bp.post("/cases/<int:case_id>/release")
def release(case_id: int) -> ResponseReturnValue:
    return _act(case_id, lambda c, u: assignment.release(db.session, c, u, expected_version=_version()))


@bp.post("/cases/<int:case_id>/assign")
def assign(case_id: int) -> ResponseReturnValue:
    def run(c: Case, u: User) -> Any:
        email = (request.form.get("assignee") or "").strip()
        assignee = accounts.find_user(db.session, email) if email else None
        if email and assignee is None:
            raise ValidationFailed("No agent has this e-mail address.")
        return assignment.assign(db.session, c, assignee, u, expected_version=_version())
    return _act(case_id, run)


@bp.post("/cases/<int:case_id>/queue")
def move_queue(case_id: int) -> ResponseReturnValue:
    def run(c: Case, u: User) -> Any:
        queue = accounts.find_queue(db.session, request.form.get("queue", ""))
        if queue is None:
            raise ValidationFailed("Choose a queue.")
        return assignment.move_to_queue(db.session, c, queue, u, expected_version=_version())
    return _act(case_id, run)


@bp.post("/cases/<int:case_id>/priority")
def priority(case_id: int) -> ResponseReturnValue:
    return _act(case_id, lambda c, u: assignment.set_priority(db.session, c, request.form.get("priority", ""), u,
                                                             expected_version=_version()))


@bp.post("/cases/<int:case_id>/transitions/<key>")
def fire(case_id: int, key: str) -> ResponseReturnValue:
    return _act(case_id, lambda c, u: case_pages.fire_posted(c, u, key, expected_version=_version()))


@bp.post("/cases/<int:case_id>/edit")
def edit(case_id: int) -> ResponseReturnValue:
    def run(c: Case, u: User) -> Any:
        spec = case_versions.case_spec(db.session, c)
        data = case_pages.posted_values(c, set(spec.editable_fields.get(c.state, ())), "edit")
        return lifecycle.edit_fields(db.session, c, data, u, expected_version=_version())
    return _act(case_id, run)


@bp.post("/cases/<int:case_id>/comments")
def comment(case_id: int) -> ResponseReturnValue:
    return _act(case_id, lambda c, u: conversation.add_comment(
        db.session, c, u, request.form.get("body", ""), internal=request.form.get("internal") == "y"))


@bp.post("/cases/<int:case_id>/request-info")
def request_info(case_id: int) -> ResponseReturnValue:
    return _act(case_id, lambda c, u: conversation.request_information(
        db.session, c, u, request.form.get("question", ""), expected_version=_version()))


@bp.post("/cases/<int:case_id>/approval")
def decide(case_id: int) -> ResponseReturnValue:
    return _act(case_id, lambda c, u: approvals.decide_approval(
        db.session, c, u, approve=request.form.get("decision") == "approve", comment=request.form.get("comment", "")))


@bp.post("/cases/<int:case_id>/tasks/<int:task_id>/complete")
def complete_task(case_id: int, task_id: int) -> ResponseReturnValue:
    return _act(case_id, lambda c, u: tasks.complete(db.session, c, task_id, u))


@bp.post("/cases/<int:case_id>/tasks")
def start_task(case_id: int) -> ResponseReturnValue:
    return _act(case_id, lambda c, u: discretionary.start_task(
        db.session, c, request.form.get("task", ""), u, reason=request.form.get("reason", "")))


@bp.post("/cases/<int:case_id>/links")
def link_case(case_id: int) -> ResponseReturnValue:
    return _act(case_id, lambda c, u: links.link(db.session, c, request.form.get("case", ""), request.form.get(
        "kind", ""), u))


@bp.post("/cases/<int:case_id>/tasks/<int:task_id>/cancel")
def cancel_task(case_id: int, task_id: int) -> ResponseReturnValue:
    return _act(case_id, lambda c, u: discretionary.cancel(db.session, c, task_id, u))


@bp.post("/cases/<int:case_id>/tasks/<int:task_id>/reopen")
def reopen_task(case_id: int, task_id: int) -> ResponseReturnValue:
    return _act(case_id, lambda c, u: tasks.reopen(db.session, c, task_id, u))


@bp.post("/cases/<int:case_id>/reopen")
def reopen(case_id: int) -> ResponseReturnValue:
    return _act(case_id, lambda c, u: lifecycle.reopen(db.session, c, u, reason=request.form.get("reason", "")))


@bp.post("/cases/<int:case_id>/files")
def attach(case_id: int) -> ResponseReturnValue:
    return _act(case_id, lambda c, u: case_pages.attach_upload(c, u, internal=request.form.get("internal") == "y"))
