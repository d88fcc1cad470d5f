"""`casework privacy erase EMAIL --yes`: erase a person's personal values, subject to legal holds."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from app.extensions import db
from app.uploads import document_store, file_store
from case_types.errors import ValidationFailed
from cases.clock import utcnow
from cases.privacy import erasure
from cases.privacy.access_requests import cases_of, normalised_email
from cases.privacy.keeping import why_kept


@click.group("privacy")
def privacy_group() -> None:
    """Personal data: erasure requests."""


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
