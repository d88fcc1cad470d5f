"""`casework privacy erase EMAIL --yes`: erase a person's personal values, subject to legal holds;
`casework privacy reseal --yes`: seal the personal values of chains written before they were sealed."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from app.checkpoints import make_checkpoint
from app.extensions import db
from app.uploads import document_store, file_store
from case_types.errors import CasesError, ValidationFailed
from cases.clock import utcnow
from cases.privacy import erasure, reseal
from cases.privacy.access_requests import cases_of, normalised_email
from cases.privacy.keeping import why_kept


@click.group("privacy")
def privacy_group() -> None:
    """Personal data: erasure requests, and re-sealing chains written before values were sealed."""


@privacy_group.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Erase now; without it the cases are only listed.")
@click.option("--reason", default="erasure request", show_default=True, help="Recorded with the erasure.")
@with_appcontext
def erase_command(email: str, yes: bool, reason: str) -> None:
    """Erase every personal value of EMAIL's cases and account; held cases are left as they are."""
    try:
        email = normalised_email(email)
    except ValidationFailed as exc:
        raise click.ClickException(exc.message) from None
    cases = cases_of(db.session, email)
    if not yes:
        click.echo(f"{len(cases)} case(s) of {email}:")
        for case in cases:
            kept = why_kept(db.session, case, now=utcnow())
            click.echo(f"  {case.ref}" + (f" (not erasable: {kept})" if kept else ""))
        raise click.ClickException("Nothing was erased: add --yes to erase.")
    record = erasure.erase_person(db.session, email, None, reason=reason, files=file_store(current_app),
                                  documents=document_store(current_app))
    for done in record.cases:
        click.echo(f"{done.ref}: erased {done.values} value(s), fields {', '.join(done.fields) or 'none'}, "
                   f"{done.comments} comment(s), {done.files} file(s), {done.documents} document(s)")
    for ref, hold in record.held:
        click.echo(f"{ref}: not erased ({hold})")
    click.echo(f"Account: {'erased' if record.account else 'kept' if record.held else 'none'}; "
               f"{record.values} value(s) erased in all.")
    if record.staff_email_kept:
        click.echo("A staff account: closed and its name erased; its e-mail address stays on the audit chains as "
                   "the record of what it did in its role.")


@privacy_group.command("reseal")
@click.option("--yes", is_flag=True, help="Rewrite now; without it the chains are only listed.")
@with_appcontext
def reseal_command(yes: bool) -> None:
    """Once, for a database from before personal values were sealed: seal them out of every chain.

    Signs a checkpoint before and after; each rewritten chain ends with a recorded re-anchoring event,
    so `casework audit verify` and the offline verifier explain the old checkpoints instead of refusing."""
    todo = reseal.pending(db.session)
    db.session.rollback()
    if not todo:
        click.echo("Nothing to reseal: every chain keeps its personal values out of the hashed payloads.")
        return
    if not yes:
        for found in todo:
            click.echo(f"  {found.stream}: {found.values} value(s) in {found.events} event(s)")
        raise click.ClickException(f"{len(todo)} chain(s) hold personal values; nothing was rewritten: add --yes.")
    try:
        before = make_checkpoint()
    except CasesError as exc:
        raise click.ClickException(exc.message) from None
    if before.refused:
        raise click.ClickException("Not resealing: " + "; ".join(f"{r.stream}: {r.reason}" for r in before.refused)
                                   + " (run casework audit verify).")
    assert before.checkpoint is not None
    click.echo(f"Before: checkpoint #{before.checkpoint.id}, root {before.checkpoint.root_hash}")
    report = reseal.reseal(db.session, before=before.checkpoint)
    for done in report.streams:
        click.echo(f"{done.stream}: {done.values} value(s) sealed, {done.events} event(s) re-anchored")
    for stream, why in report.refused:
        click.echo(f"{stream}: not rewritten, the chain does not verify ({why})", err=True)
    if report.documents:
        click.echo(f"{report.documents} document(s) of the re-anchored cases queued to render again "
                   "(the finished ones were made from the events as they were).")
    after = make_checkpoint()
    assert after.checkpoint is not None
    click.echo(f"After: checkpoint #{after.checkpoint.id}, root {after.checkpoint.root_hash}; "
               f"{report.values} value(s) sealed in {len(report.streams)} chain(s).")
    if report.refused or after.refused:
        raise SystemExit(1)
