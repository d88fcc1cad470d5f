"""What a case page shows, gathered in one place for the agent, requester and auditor pages."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import abort, current_app, request
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from app.documents.pages import DocumentSection, document_section
from app.errors import STATUS_BY_ERROR
from app.extensions import db
from app.htmx import is_htmx, see_other
from app.uploads import file_store
from case_types import stages
from case_types.errors import CasesError, ValidationFailed
from case_types.workflow import CaseTypeSpec, Transition
from cases import (
    access,
    accounts,
    approvals,
    audit,
    case_versions,
    conversation,
    discretionary,
    lifecycle,
    links,
    milestones,
    submissions,
    tasks,
)
from cases.errors import CaseChanged
from cases.models import Case, LegalHold, User
from cases.privacy import holds
from cases.privacy.values import erased_answers, readable
from cases.read import timeline
from cases.submissions import Uploader
from forms.display import Row, display_rows
from forms.wtf import build_form_class


@dataclass
class CasePage:
    case: Case
    spec: CaseTypeSpec
    rows: list[Row]
    entries: list[timeline.Entry]
    comments: list[Any]
    files: list[Any]
    transitions: list[Transition]
    staff: bool
    public: bool
    edit_form: Any
    editable: list[str]
    transition_forms: dict[str, Any]
    agents: list[User]
    queues: list[Any]
    state_label: str
    approval: Any = None
    may_decide: bool = False
    problem: str | None = None
    # The problem is that someone else changed the case: the page offers to reload it.
    offer_reload: bool = False
    # The checklist (cases.tasks) and the ids of the tasks this user may complete or reopen.
    tasks: list[Any] = field(default_factory=list)
    workable_tasks: set[int] = field(default_factory=set)
    # What this user may start from the case type's catalogue, and the linked cases as they may see them.
    available: list[Any] = field(default_factory=list)
    links: list[links.LinkView] = field(default_factory=list)
    documents: DocumentSection | None = None
    # Legal holds in force on the case (staff and auditors see them; the requester does not).
    holds: list[LegalHold] = field(default_factory=list)
    # How far the case has come through its case type's stages (none when it has no stages).
    progress: list[stages.Step] = field(default_factory=list)
    # The case type's milestones with when the case reached each (None: not yet).
    milestones: list[tuple[str, Any]] = field(default_factory=list)


def _fields_form(case: Case, keys: set[str], prefix: str) -> Any:
    """A WTForms form of the case's form version holding only `keys`, filled with the case data."""
    if not keys:
        return None
    schema = case_versions.case_schema(case)
    form_class = build_form_class(schema, base=FlaskForm)
    form = form_class(formdata=None, data=case_versions.case_data(case), prefix=prefix, meta={"csrf": False})
    form.visible_keys = [k for k in schema.order if k in keys]
    return form


def build(session: Session, case: Case, user: User, *, problem: str | None = None,
          offer_reload: bool = False) -> CasePage:
    spec = case_versions.case_spec(session, case)
    staff = access.is_staff_on(session, user, case)
    public = not access.sees_internal(session, user, case)
    # One query serves the timeline's queue names and the staff's queue picker (active queues only).
    known_queues = list(accounts.list_queues(session)) if not public else []
    transitions = lifecycle.allowed_transitions(session, case, user)
    editable = list(spec.editable_fields.get(case.state, ())) if staff and case.is_open else []
    requester_email = case.requester.email if case.requester else case.contact_email
    chain = audit.events(session, case.stream)
    reached = milestones.reached_in(chain) if spec.milestones else {}
    return CasePage(
        case=case, spec=spec,
        rows=display_rows(case_versions.case_schema(case), case_versions.case_data(case),
                          erased=erased_answers(chain)),
        entries=timeline.build(readable(session, chain), spec, public=public,
                               requester_email=requester_email, schema=case_versions.case_schema(case),
                               queue_names={q.slug: q.name for q in known_queues}),
        comments=list(conversation.comments_for(session, case, user)),
        files=list(conversation.files_for(session, case, user)),
        transitions=transitions, staff=staff, public=public,
        edit_form=_fields_form(case, set(editable), "edit"), editable=editable,
        transition_forms={t.key: _fields_form(case, set(t.required_fields), f"t-{t.key}") for t in transitions},
        agents=[m for m in case.queue.members if m.active] if staff else [],
        queues=[q for q in known_queues if q.active] if staff else [],
        state_label=spec.state(case.state).label, problem=problem, offer_reload=offer_reload,
        approval=(approval := approvals.pending_approval(session, case)),
        may_decide=approval is not None and approvals.may_decide(approval, user),
        tasks=(checklist := tasks.tasks_of(session, case)),
        workable_tasks=tasks.workable(session, user, checklist) if case.is_open else set(),
        available=discretionary.tasks_available(session, case, user),
        links=links.links_for(session, case, user),
        documents=document_section(session, case, user),
        holds=holds.holds_of(session, case) if not public else [],
        progress=stages.progress(spec.stages, case.state, final=not case.is_open, visited=_visited(chain)),
        milestones=[(m.label, reached.get(m.key)) for m in spec.milestones],
    )


def _visited(chain: Any) -> tuple[str, ...]:
    """The states the case was moved into, oldest first (for the progress by stage)."""
    return tuple(str(json.loads(e.payload).get("to")) for e in chain if e.kind == "case.transitioned")



ActionResult = Any


def act(load: Callable[[], Case], actor: User, action: Callable[[Case, User], Any], *,
        show: Callable[..., ActionResult], done_url: Callable[[Case], str]) -> ActionResult:
    """Run one action on a case from a posted form; a refusal shows the case again with the reason.

    `show(case, problem=, status=)` renders the case page (its partial under htmx); success answers the
    htmx request with the refreshed case and a plain form post with a redirect, so nothing is lost.
    """
    if not FlaskForm().validate_on_submit():
        abort(400)
    case = load()
    try:
        action(case, actor)
    except CasesError as exc:
        db.session.rollback()
        details = [f"{k}: {' '.join(v)}" for k, v in getattr(exc, "fields", {}).items()]
        return show(load(), problem=" ".join([exc.message, *details]), offer_reload=isinstance(exc, CaseChanged),
                    status=error_status(exc))
    if is_htmx():
        return show(case)
    return see_other(done_url(case))


def posted_values(case: Case, keys: set[str], prefix: str) -> dict[str, Any]:
    """The posted values of some of the case's form fields (a transition's required fields, the edit form),
    as the form language reads raw input."""
    if not keys:
        return {}
    schema = case_versions.case_schema(case)
    form = build_form_class(schema, base=FlaskForm)(formdata=request.form, prefix=prefix, meta={"csrf": False})
    values = form.submitted_values()
    return {k: values[k] for k in keys if k in values}


def fire_posted(case: Case, actor: User, key: str, *, expected_version: int | None = None) -> Any:
    """Fire transition `key` with the posted comment and required fields (the agent's and the requester's pages)."""
    move = case_versions.case_spec(db.session, case).transition(key)
    data = posted_values(case, set(move.required_fields), f"t-{key}")
    return lifecycle.transition(db.session, case, key, actor, comment=request.form.get("comment", ""), data=data,
                                expected_version=expected_version)


def error_status(exc: CasesError) -> int:
    return next((s for t, s in STATUS_BY_ERROR.items() if isinstance(exc, t)), 400)


def attach_upload(case: Case, actor: User, *, internal: bool = False) -> None:
    """Store the posted file (judged by content) and attach it to the case."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed("Choose a file to attach.")
    stored = submissions.store_case_file(db.session, file_store(current_app), filename=upload.filename,
                                         stream=upload.stream, uploader=Uploader(actor))
    conversation.attach_files(db.session, case, actor, [stored], internal=internal)
