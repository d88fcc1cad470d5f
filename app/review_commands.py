"""`casework reviews ...`: the four-eyes review from the command line, as the review pages and the API do it.

The commands obey the instance's review setting exactly as the pages do: while review is required nobody
approves their own change and only an approved change is published. Approving and rejecting name the
reviewer (`--as`), so a decision is never recorded under a default admin.
"""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import with_appcontext

from app.cli_helpers import admin_actor, fail
from app.extensions import db
from case_types.errors import CasesError
from cases import change_requests, definitions
from cases.models import ChangeRequest

STATUS_WORDS = {"pending": "waiting for review", "approved": "approved", "rejected": "rejected",
                "withdrawn": "withdrawn", "published": "published"}


def _change(change_id: int) -> ChangeRequest:
    try:
        return change_requests.get(db.session, change_id)
    except CasesError as exc:
        fail(exc)


def _line(change: ChangeRequest) -> str:
    definition = change.definition
    status = STATUS_WORDS[change.status]
    if change.status == "published" and change.version_number:
        status += f" as version {change.version_number}"
    if change.publish_at is not None:
        status += f", takes effect at {change.publish_at:%Y-%m-%d %H:%M} UTC"
    who = change.submitted_by.email if change.submitted_by else "someone"
    kind = definition.kind.replace("_", " ")
    return f"#{change.id} {kind} {definition.slug}: {status} (by {who}) {change.note}".rstrip()


@click.group("reviews")
def reviews_group() -> None:
    """Four-eyes review of definition changes: list, show, approve, reject, schedule, publish."""


@reviews_group.command("list")
@click.option("--all", "everything", is_flag=True, help="Every change request, not only those still waiting.")
@with_appcontext
def list_command(everything: bool) -> None:
    """The change requests waiting for review or publishing (one line each)."""
    if everything:
        from sqlalchemy import select

        changes = db.session.scalars(select(ChangeRequest).order_by(ChangeRequest.id)).all()
    else:
        changes = change_requests.waiting(db.session)
    for change in changes:
        click.echo(_line(change))
    required = change_requests.instance_review_required(db.session)
    click.echo(f"{len(changes)} change {'request' if len(changes) == 1 else 'requests'}; review is "
               f"{'required' if required else 'not required'} instance-wide.")


@reviews_group.command("show")
@click.argument("change_id", type=int)
@with_appcontext
def show_command(change_id: int) -> None:
    """What change CHANGE_ID does, in words, and the back-test of changed rules."""
    change = _change(change_id)
    click.echo(_line(change))
    if change.decided_at is not None:
        reviewer = change.decided_by.email if change.decided_by else "someone"
        click.echo(f"Reviewed by {reviewer}: {change.decision_comment or '(no comment)'}")
    if definitions.review_required(db.session, change.definition):
        click.echo("Review is required: another admin than its author approves it.")
    click.echo("Changes:")
    for line in change_requests.changes(change) or ["(cannot be listed)"]:
        click.echo(f"  - {line}")
    report = change_requests.backtest(db.session, change)
    if report is not None:
        click.echo(f"Back-test: {report.changed} of {report.evaluated} recent cases would be decided differently.")
        for case in report.changes:
            click.echo(f"  {case.ref}: {'; '.join(case.before.decisions) or 'nothing'} -> "
                       f"{'; '.join(case.after.decisions) or 'nothing'}")


def _run(step: str, change_id: int, actor_email: str | None, **kwargs: object) -> ChangeRequest:
    change = _change(change_id)
    actor = admin_actor(actor_email)
    try:
        getattr(change_requests, step)(db.session, change, actor=actor, **kwargs)
    except CasesError as exc:
        db.session.rollback()
        fail(exc)
    return change


REVIEWER = click.option("--as", "actor_email", required=True, help="The reviewing admin's e-mail address.")
AUTHOR = click.option("--as", "actor_email", default=None, help="The admin recorded (default: the first admin).")


@reviews_group.command("approve")
@click.argument("change_id", type=int)
@click.option("--comment", default="", help="The reviewer's comment.")
@REVIEWER
@with_appcontext
def approve_command(change_id: int, comment: str, actor_email: str) -> None:
    """Approve CHANGE_ID (refused for its own author while review is required)."""
    change = _run("approve", change_id, actor_email, comment=comment)
    click.echo(f"Approved change #{change.id}: publish it now or schedule it.")


@reviews_group.command("reject")
@click.argument("change_id", type=int)
@click.option("--comment", required=True, help="Why it is rejected (its author reads it).")
@REVIEWER
@with_appcontext
def reject_command(change_id: int, comment: str, actor_email: str) -> None:
    """Reject CHANGE_ID; the draft is kept as it is."""
    change = _run("reject", change_id, actor_email, comment=comment)
    click.echo(f"Rejected change #{change.id}; the draft is kept.")


@reviews_group.command("publish")
@click.argument("change_id", type=int)
@AUTHOR
@with_appcontext
def publish_command(change_id: int, actor_email: str | None) -> None:
    """Publish the approved change CHANGE_ID as a new version now."""
    change = _run("publish", change_id, actor_email)
    click.echo(f"Published change #{change.id} as version {change.version_number}.")


@reviews_group.command("schedule")
@click.argument("change_id", type=int)
@click.option("--at", "at_text", default=None, metavar="ISO-TIME", help="When it takes effect, with its offset "
              "(2026-12-07T09:00+00:00).")
@click.option("--next-business-day", is_flag=True, help="At the opening of the case type's next business day.")
@click.option("--move-outside-hours", is_flag=True, help="Move a time outside working hours to the next opening "
              "(default: refuse it).")
@AUTHOR
@with_appcontext
def schedule_command(change_id: int, at_text: str | None, next_business_day: bool, move_outside_hours: bool,
                     actor_email: str | None) -> None:
    """Schedule the approved change CHANGE_ID: the periodic sweep publishes it at that time."""
    if (at_text is None) == (not next_business_day):
        raise click.UsageError("Say --at TIME or --next-business-day.")
    at = None
    if at_text is not None:
        try:
            at = datetime.fromisoformat(at_text)
        except ValueError:
            at = None
        if at is None or at.tzinfo is None:
            raise click.BadParameter("write the time with its offset, like 2026-12-07T09:00+00:00.",
                                     param_hint="--at")
    change = _run("schedule", change_id, actor_email, at=at, next_business_day=next_business_day,
                  outside_hours="next_opening" if move_outside_hours else "refuse")
    assert change.publish_at is not None
    calendar = change_requests.publishing_calendar(change)
    local = f" ({calendar.local(change.publish_at)})" if calendar else ""
    click.echo(f"Scheduled change #{change.id}: it takes effect at {change.publish_at:%Y-%m-%d %H:%M} UTC{local}.")


@reviews_group.command("cancel")
@click.argument("change_id", type=int)
@AUTHOR
@with_appcontext
def cancel_command(change_id: int, actor_email: str | None) -> None:
    """Cancel the schedule of CHANGE_ID; it stays approved."""
    change = _run("cancel_schedule", change_id, actor_email)
    click.echo(f"Cancelled the schedule of change #{change.id}; it is still approved.")


@reviews_group.command("require")
@click.argument("switch", type=click.Choice(["on", "off"]))
@AUTHOR
@with_appcontext
def require_command(switch: str, actor_email: str | None) -> None:
    """Turn four-eyes review on or off for every definition (the switch is itself an audit event)."""
    actor = admin_actor(actor_email)
    try:
        changed = change_requests.set_instance_review_required(db.session, switch == "on", actor=actor)
    except CasesError as exc:
        db.session.rollback()
        fail(exc)
    state = "required" if switch == "on" else "not required"
    click.echo(f"Review is now {state} for every definition." if changed else f"Review was already {state}.")
