"""Four-eyes review pages for every kind of definition: submitting a draft for review, the list of changes
waiting, the review page (readable changes and, for case types whose rules change, the back-test of the
new rules on recent cases), approving or rejecting with a comment, publishing and scheduling.

The designers show the review panel (`review_panel`) in their publishing area; every step goes through
cases.change_requests and answers with a flash and a 303, so reloading never posts twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, flash, request, url_for
from flask.typing import ResponseReturnValue

from app.auth import require_roles
from app.designer.drafts import DraftForm, actor, posted_revision
from app.extensions import db
from app.htmx import render, see_other
from case_types.errors import CasesError, NotFound
from cases import change_requests, definitions
from cases.models import ChangeRequest, Definition, Role
from rules import TRIGGERS

bp = Blueprint("designer_reviews", __name__, url_prefix="/designer/reviews")
require_roles(bp, Role.ADMIN)
DESIGNER_PAGES = {"form": ("designer_forms.versions", "form_id"),
                  "case_type": ("designer_case_types.edit", "definition_id")}


def designer_url(definition: Definition) -> str:
    """The page where the definition is published (the form's versions, the case type's editor)."""
    endpoint, name = DESIGNER_PAGES[definition.kind]
    return url_for(endpoint, **{name: definition.id}) + ("#publish" if definition.kind == "case_type" else "")


def _definition(definition_id: int) -> Definition:
    definition = db.session.get(Definition, definition_id)
    if definition is None or definition.kind not in DESIGNER_PAGES:
        raise NotFound("No such definition.")
    return definition


@bp.app_template_global()
def review_panel(definition: Definition) -> dict[str, Any]:
    """What a designer's publishing area shows about review: whether it is required, the change waiting."""
    return {"required": definitions.review_required(db.session, definition),
            "open": change_requests.open_change(db.session, definition),
            "form": DraftForm(formdata=None, data={"expected_revision": definition.draft_revision})}


def _done(change: ChangeRequest, message: str) -> ResponseReturnValue:
    flash(message, "success")
    return see_other(url_for("designer_reviews.review", change_id=change.id))


def _step(change_id: int, step: Any, message: str | Callable[[Any], str]) -> ResponseReturnValue:
    """Run one step on the change; a refusal (not the reviewer, draft changed...) is flashed as it is.
    `message` may say something about what the step returned."""
    change = change_requests.get(db.session, change_id)
    try:
        result = step(change)
    except CasesError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return see_other(url_for("designer_reviews.review", change_id=change_id))
    return _done(change, message(result) if callable(message) else message)


@bp.post("/submit/<int:definition_id>")
def submit(definition_id: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    try:
        change = change_requests.submit(db.session, definition, note=request.form.get("note", ""), actor=actor(),
                                        expected_revision=posted_revision())
    except CasesError as exc:
        db.session.rollback()
        flash(f"Not submitted for review: {exc.message}", "error")
        return see_other(designer_url(definition))
    return _done(change, "Submitted for review. Another admin reviews it here.")


@bp.get("/")
def index() -> ResponseReturnValue:
    return render("designer/reviews/index.html", waiting=change_requests.waiting(db.session))


@bp.get("/<int:change_id>")
def review(change_id: int) -> ResponseReturnValue:
    change = change_requests.get(db.session, change_id)
    me = actor()
    own = change.submitted_by_id == me.id and definitions.review_required(db.session, change.definition)
    return render("designer/reviews/review.html", change=change, definition=change.definition,
                  calendar=change_requests.publishing_calendar(change),
                  changes=change_requests.changes(change), report=change_requests.backtest(db.session, change), own=own,
                  stale=change.draft_revision != change.definition.draft_revision,
                  triggers=TRIGGERS, designer_url=designer_url(change.definition),
                  earlier=change_requests.changes_of(db.session, change.definition))


@bp.post("/<int:change_id>/approve")
def approve(change_id: int) -> ResponseReturnValue:
    comment = request.form.get("comment", "")
    return _step(change_id, lambda c: change_requests.approve(db.session, c, actor=actor(), comment=comment),
                 "Approved. It can be published now or at a time you choose.")


@bp.post("/<int:change_id>/reject")
def reject(change_id: int) -> ResponseReturnValue:
    comment = request.form.get("comment", "")
    return _step(change_id, lambda c: change_requests.reject(db.session, c, actor=actor(), comment=comment),
                 "Rejected. The draft is kept as it is, to be changed and submitted again.")


@bp.post("/<int:change_id>/withdraw")
def withdraw(change_id: int) -> ResponseReturnValue:
    return _step(change_id, lambda c: change_requests.withdraw(db.session, c, actor=actor()), "Withdrawn.")


@bp.post("/<int:change_id>/publish")
def publish(change_id: int) -> ResponseReturnValue:
    return _step(change_id, lambda c: change_requests.publish(db.session, c, actor=actor()),
                 "Published as a new version.")


def _posted_time() -> datetime | None:
    """The time the form names (an HTML date and time, in UTC as every time on these pages)."""
    try:
        return datetime.fromisoformat(request.form.get("publish_at", "").strip()).replace(tzinfo=UTC)
    except ValueError:
        return None


@bp.post("/<int:change_id>/schedule")
def schedule(change_id: int) -> ResponseReturnValue:
    next_day = request.form.get("when") == "next_business_day"
    at = None if next_day else _posted_time()
    if at is None and not next_day:
        flash("Enter the date and time (UTC) the change takes effect.", "error")
        return see_other(url_for("designer_reviews.review", change_id=change_id))
    outside = request.form.get("outside_hours", "refuse")
    return _step(change_id, lambda c: change_requests.schedule(
        db.session, c, at=at, next_business_day=next_day, outside_hours=outside, actor=actor()),
        lambda taking: f"Scheduled: it takes effect at {taking:%Y-%m-%d %H:%M} UTC.")


@bp.post("/<int:change_id>/cancel-schedule")
def cancel_schedule(change_id: int) -> ResponseReturnValue:
    return _step(change_id, lambda c: change_requests.cancel_schedule(db.session, c, actor=actor()),
                 "Schedule cancelled; the change is still approved.")


@bp.post("/restore/<int:definition_id>/<int:number>")
def restore(definition_id: int, number: int) -> ResponseReturnValue:
    """Rollback: an earlier version becomes the draft, published again as a new version (reviewed if required)."""
    definition = _definition(definition_id)
    try:
        change_requests.restore_version(db.session, definition, number, actor=actor(),
                                        expected_revision=posted_revision())
    except CasesError as exc:
        db.session.rollback()
        flash(f"Not restored: {exc.message}", "error")
    else:
        flash(f"Version {number} is the draft again: publish it (or submit it for review) as a new version.",
              "success")
    return see_other(designer_url(definition))


@bp.post("/setting/<int:definition_id>")
def setting(definition_id: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    required = request.form.get("review_required") == "1"
    change_requests.set_review_required(db.session, definition, required, actor=actor())
    flash("Review is now required for this definition." if required else "Review is no longer required for this "
          "definition alone.", "success")
    return see_other(designer_url(definition))
