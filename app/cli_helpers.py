"""What the `casework` commands share: turning a domain error into a command error, finding a case by its
reference, and the admin recorded as the author of what a command imports."""

from __future__ import annotations

from typing import NoReturn

import click
from sqlalchemy import select

from app.extensions import db
from case_types.errors import CasesError, ValidationFailed
from cases import accounts
from cases.models import Case, Role, User


def fail(exc: CasesError) -> NoReturn:
    """Stop the command with the domain's message (and each field's problems)."""
    details = ""
    if isinstance(exc, ValidationFailed) and exc.fields:
        details = "\n" + "\n".join(f"  {field}: {' '.join(msgs)}" for field, msgs in exc.fields.items())
    raise click.ClickException(exc.message + details)


def case_by_ref(ref: str) -> Case:
    """The case with reference `ref` (any case, surrounding blanks ignored); stops the command if none has it."""
    case = db.session.scalar(select(Case).where(Case.ref == ref.strip().upper()))
    if case is None:
        raise click.ClickException(f"No case has the reference {ref}.")
    return case


def admin_actor(email: str | None) -> User:
    """The admin recorded as the author of an import: the one named, or else the first active admin."""
    if email:
        actor = accounts.find_user(db.session, email)
        if actor is None or not actor.has_role(Role.ADMIN):
            raise click.ClickException(f"No admin has the e-mail address {email}.")
        return actor
    admins = [u for u in accounts.users_with_role(db.session, Role.ADMIN) if u.active]
    if not admins:
        raise click.ClickException("There is no admin to record as the author: create one first "
                                   "(casework user create EMAIL --role admin).")
    return admins[0]
