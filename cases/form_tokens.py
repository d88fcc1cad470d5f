"""Filing a page form once: each rendered wizard carries a token, and the post that files claims it.

A repeated post (a double click, the browser's "resend", a retry after a slow answer) finds the token
claimed and is shown what the first one filed instead of filing again. The claim commits before the
filing starts, so two posts at once cannot both file: the second sees a claim without a result yet and
is told the form is being filed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from case_types.errors import Conflict
from cases.clock import Clock, utcnow
from cases.errors import InvalidQuery
from cases.models import Case, FormToken, Submission, User
from cases.uow import transaction

__all__ = ["new_token", "run_once"]

T = TypeVar("T")
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20,64}")


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _filed_object(result: object) -> object:
    return result[0] if isinstance(result, tuple) else result


def run_once(session: Session, token: str | None, user: User | None, file: Callable[[], T], *,
             clock: Clock = utcnow) -> T | FormToken:
    """`file()` once per token: its result the first time, the claimed FormToken (with what was filed)
    on every repeat. Without a token (a form rendered before tokens existed) it simply files."""
    if token is None:
        return file()
    if not _TOKEN_RE.fullmatch(token):
        raise InvalidQuery("This form is out of date. Reload the page and fill it in again.",
                           {"_once": ["Unknown form token."]})
    user_id = user.id if user is not None else None
    try:
        with transaction(session):
            session.add(FormToken(token=token, user_id=user_id, claimed_at=clock()))
    except IntegrityError:
        session.rollback()
        row = session.get(FormToken, token)
        if row is None or row.user_id != user_id:
            raise Conflict("This form was already used. Reload the page to start again.") from None
        if row.case_id is None and row.submission_id is None:
            raise Conflict("This form is being filed right now; it will be in your requests in a moment.") from None
        return row
    try:
        result = file()
    except BaseException:
        session.rollback()
        with transaction(session):  # not filed: the same page may be corrected and sent again
            session.execute(delete(FormToken).where(FormToken.token == token))
        raise
    filed = _filed_object(result)
    with transaction(session):
        row = session.get(FormToken, token)
        if row is not None:
            row.case_id = filed.id if isinstance(filed, Case) else None
            row.submission_id = filed.id if isinstance(filed, Submission) else None
    return result
