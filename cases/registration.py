"""Open self-registration that never reveals which addresses have accounts.

Every registration gets the same answer and writes one e-mail: a new address a one-time link that
creates the account when it is used (so nobody can hold an account for a mailbox they cannot read),
an address that has an account a note to its owner (nothing about the account changes). Both paths
hash the password, so they also take about the same time.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from case_types.errors import NotFound, ValidationFailed
from cases import notifications
from cases.accounts import find_user, new_account_problems, registration_open
from cases.clock import Clock, utcnow
from cases.errors import PermissionDenied
from cases.models import PendingRegistration, Role, User, UserRole
from cases.passwords import hash_password
from cases.uow import transaction

LINK_LIFETIME = timedelta(hours=24)
CONFIRM_SUBJECT = "Confirm your new Casework account"
ATTEMPT_SUBJECT = "Someone tried to register with your e-mail address"
LINK_INVALID = ("This link cannot be used (any more): it was used already, it is older than 24 hours, or "
                "the address has an account now. Register again, or log in.")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_registration(session: Session, *, email: str, name: str, password: str,
                         link_for: Callable[[str], str], clock: Clock = utcnow) -> None:
    """Take a registration: e-mail a confirmation link to a new address, a note to an existing account.

    Returns nothing and raises only for problems a visitor can see without knowing any account (a bad
    address, name or password), so the caller answers every registration alike. `link_for(token)` is
    the absolute URL of the confirmation page for a token."""
    if not registration_open(session):
        raise PermissionDenied("Registration is closed. Ask an administrator for an account.")
    email, name, errors = new_account_problems(email, name, password)
    if errors:
        raise ValidationFailed("The account could not be created.", errors)
    password_hash = hash_password(password)  # on both paths, so the answer takes as long either way
    with transaction(session):
        existing = find_user(session, email)
        if existing is None:
            _add_pending(session, email=email, name=name, password_hash=password_hash,
                         link_for=link_for, clock=clock)
        else:
            notifications.queue_message(
                session, to=existing.email, subject=ATTEMPT_SUBJECT,
                body=("Someone (perhaps you) tried to register a new Casework account with this e-mail "
                      "address, which already has an account. If it was you, log in with your password; "
                      "if you have forgotten it, ask your administrator to reset it. If it was not you, "
                      "you can ignore this message: nothing was changed."),
                reason="account.registration_attempt", clock=clock)


def _add_pending(session: Session, *, email: str, name: str, password_hash: str,
                 link_for: Callable[[str], str], clock: Clock) -> None:
    now = clock()
    token = secrets.token_urlsafe(32)
    session.add(PendingRegistration(token_hash=_token_hash(token), email=email, name=name,
                                    password_hash=password_hash, created_at=now, expires_at=now + LINK_LIFETIME))
    notifications.queue_message(
        session, to=email, subject=CONFIRM_SUBJECT,
        body=(f"Hello {name},\n\nto finish creating your Casework account, open this link within 24 hours:\n\n"
              f"{link_for(token)}\n\nThe link works once. If you did not register, ignore this message: "
              "no account is created without it."),
        reason="account.registration_confirm", clock=clock)


def pending_registration(session: Session, token: str, *, clock: Clock = utcnow) -> PendingRegistration:
    """The registration a link's token confirms, while it still can; NotFound otherwise."""
    row = session.scalar(select(PendingRegistration).where(PendingRegistration.token_hash == _token_hash(token)))
    if row is None or row.used_at is not None or row.expires_at <= clock() or find_user(session, row.email):
        raise NotFound(LINK_INVALID)
    return row


def confirm_registration(session: Session, token: str, *, clock: Clock = utcnow) -> User:
    """Use a confirmation link once: create the requester account it stands for and return it.

    The link is spent by a conditional UPDATE, so of two simultaneous confirmations exactly one wins;
    the address's other pending links are spent with it."""
    with transaction(session):
        now = clock()
        row = pending_registration(session, token, clock=clock)
        spent = session.execute(
            update(PendingRegistration)
            .where(PendingRegistration.id == row.id, PendingRegistration.used_at.is_(None))
            .values(used_at=now).execution_options(synchronize_session=False))
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            raise NotFound(LINK_INVALID)
        session.execute(update(PendingRegistration)
                        .where(PendingRegistration.email == row.email, PendingRegistration.used_at.is_(None))
                        .values(used_at=now).execution_options(synchronize_session=False))
        user = User(email=row.email, name=row.name, password_hash=row.password_hash, active=True, created_at=now)
        user.role_rows = [UserRole(role=Role.REQUESTER.value)]
        session.add(user)
    return user
