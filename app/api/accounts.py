"""API: who am I, and the user list for admins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.api.base import api_user, bp, paginate, user_json
from app.api.openapi import operation
from app.api.schemas import Me, Page, PageQuery, UserOut
from app.extensions import db
from cases import accounts
from cases.errors import PermissionDenied
from cases.models import User


@bp.get("/me")
@operation("Who am I", response=Me)
def me() -> Any:
    """The caller, with their roles and queues."""
    user = api_user()
    body = user_json(user)
    body["queues"] = [q.slug for q in accounts.queues_of(db.session, user)]
    return body


@bp.get("/users")
@operation("List users", query=PageQuery, response=Page[UserOut])
def users(query: PageQuery) -> Any:
    """Admins list users (paginated); everyone else is refused."""
    if not api_user().has_role("admin"):
        raise PermissionDenied("Only admins list users.")
    return paginate(select(User).order_by(User.id), user_json)
