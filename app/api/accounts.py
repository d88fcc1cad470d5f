"""API: who am I, and the user list for admins."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app.api.base import api_user, bp, paginate, user_json
from app.errors import error_response
from app.extensions import db
from cases import accounts
from cases.models import User


@bp.get("/me")
def me() -> ResponseReturnValue:
    user = api_user()
    body = user_json(user)
    body["queues"] = [q.slug for q in accounts.queues_of(db.session, user)]
    return jsonify(body)


@bp.get("/users")
def users() -> ResponseReturnValue:
    """Admins list users (paginated); everyone else is refused."""
    if not api_user().has_role("admin"):
        return error_response(403)
    return jsonify(paginate(select(User).order_by(User.id), user_json))
