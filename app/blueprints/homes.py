"""The home page of each role. Each area grows its own blueprint module as its issue lands."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from app.auth import require_roles
from app.extensions import db
from app.htmx import render
from cases import accounts
from cases.models import Role

designer = Blueprint("designer", __name__, url_prefix="/designer")
require_roles(designer, Role.ADMIN)

audit = Blueprint("audit", __name__, url_prefix="/audit")
require_roles(audit, Role.AUDITOR)


@designer.get("/")
def index() -> ResponseReturnValue:
    return render("designer/index.html", users=accounts.list_users(db.session),
                  queues=accounts.list_queues(db.session))


@audit.get("/", endpoint="index")
def audit_index() -> ResponseReturnValue:
    return render("audit/index.html")
