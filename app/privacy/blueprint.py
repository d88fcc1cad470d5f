"""The privacy pages' blueprint: admins only, under /admin/privacy."""

from __future__ import annotations

from flask import Blueprint

from app.auth import current_user, require_roles
from cases.models import Role, User

bp = Blueprint("privacy", __name__, url_prefix="/admin/privacy")
require_roles(bp, Role.ADMIN)


def admin() -> User:
    """The admin making the request (the blueprint lets nobody else in)."""
    user = current_user()
    assert user is not None
    return user
