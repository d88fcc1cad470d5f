"""The home page of each role. Each area grows its own blueprint module as its issue lands (the auditors'
workspace lives in app/blueprints/audit.py)."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from app.auth import require_roles
from app.extensions import db
from app.htmx import render
from cases import accounts
from cases.models import Role
from cases.read import notices

designer = Blueprint("designer", __name__, url_prefix="/designer")
require_roles(designer, Role.ADMIN)


@designer.get("/")
def index() -> ResponseReturnValue:
    return render("designer/index.html", users=accounts.list_users(db.session),
                  queues=accounts.list_queues(db.session), rule_failures=notices.recent_rule_failures(db.session))

