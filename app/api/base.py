"""The API blueprint and its plumbing: Bearer authentication, JSON bodies, pagination."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Blueprint, current_app, g, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError
from sqlalchemy import Select, func, select

from app.api.schemas import PageQuery
from app.errors import json_error
from app.extensions import csrf, db
from app.inputs import json_object
from case_types.errors import ValidationFailed
from cases import accounts
from cases.errors import InvalidQuery
from cases.inputs import parse_count
from cases.models import User

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# The API never reads the session cookie, so cross-site requests carry no credentials: no CSRF token needed.
csrf.exempt(bp)

MAX_PER_PAGE = 100


@bp.before_request
def authenticate() -> ResponseReturnValue | None:
    """Every API call needs `Authorization: Bearer <token>` of an active user with an unrevoked token
    (except the operations registered as public, like the OpenAPI document)."""
    operation = getattr(current_app.view_functions.get(request.endpoint or ""), "__openapi__", None)
    if operation is not None and operation.public:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = accounts.user_for_api_token(db.session, token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        message = "Send a valid API token as 'Authorization: Bearer <token>'." if not header else \
            "The API token is invalid, revoked, or belongs to an inactive user."
        response = json_error(401, message)
        response.headers["WWW-Authenticate"] = 'Bearer realm="casework"'
        return response
    g.api_user = user
    return None


def api_user() -> User:
    user: User = g.api_user
    return user


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], raw: Any, *, query: bool = False) -> M:
    """`raw` read through `model`; what does not fit is a 422 (a 400 for query strings) naming each field."""
    try:
        return model.model_validate(raw)
    except PydanticError as exc:
        fields: dict[str, list[str]] = {}
        for problem in exc.errors(include_url=False):
            name = ".".join(str(part) for part in problem["loc"]) or "body"
            fields.setdefault(name, []).append(str(problem["msg"]))
        if query:
            raise InvalidQuery("Invalid query parameters.", fields) from None
        raise ValidationFailed("The request body does not fit; see the fields.", fields) from None


def query_args(model: type[M]) -> M:
    """The query string read through `model` (repeated parameters: the first value)."""
    # "1_0", "+1" and other scripts' digits are not written in 0-9 (int() would take them).
    fields = {name: ["Use a whole number written in the digits 0-9."] for name in ("page", "per_page")
              if name in request.args and parse_count(request.args[name], high=10**6) is None}
    if fields:
        raise InvalidQuery("Invalid pagination parameters.", fields)
    return parse(model, request.args.to_dict(), query=True)


def page_args() -> tuple[int, int]:
    """`?page=&per_page=` as numbers; bad values are a 400 with the field named, never a 500."""
    page = query_args(PageQuery)
    return page.page, page.per_page


def paginate(stmt: Select[Any], serialize: Any) -> dict[str, Any]:
    """Run `stmt` for the requested page: {"items": [...], "total": n, "page": p, "per_page": k}."""
    page, per_page = page_args()
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [serialize(r) for r in rows], "total": total, "page": page, "per_page": per_page}


def json_body() -> dict[str, Any]:
    """The request's JSON object, read strictly (app/inputs.py); anything else is a 400 or 422 saying why."""
    return json_object()


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "roles": sorted(user.roles),
        "active": user.active,
        "absent": user.absent,
    }
