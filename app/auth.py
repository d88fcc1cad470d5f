"""Who is asking: the logged-in user (server-side session) and role checks for blueprints and views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, redirect, request, session, url_for

from app.extensions import db
from cases import accounts
from cases.models import Role, User

F = TypeVar("F", bound=Callable[..., Any])

SESSION_KEY = "sid"

# Where each role lands after login; a user with several roles lands on the first that applies.
HOME_BY_ROLE = [
    (Role.ADMIN, "designer.index"),
    (Role.AGENT, "work.index"),
    (Role.AUDITOR, "audit.index"),
    (Role.REQUESTER, "portal.index"),
]


def current_user() -> User | None:
    return g.get("user")


def signed_in_user() -> User:
    """The user of a route that requires a login (the blueprint's role check has already made sure)."""
    user = current_user()
    assert user is not None
    return user


def load_logged_in_user() -> None:
    """Resolve the session cookie to a user once per request; a dead session is forgotten."""
    g.user = None
    if request.path.startswith(("/static/", "/api/")):
        return
    token = session.get(SESSION_KEY)
    if token:
        g.user = accounts.resolve_login_session(
            db.session, token, idle=current_app.config["LOGIN_IDLE_TIMEOUT"]
        )
        if g.user is None:
            session.clear()


def log_in(user: User) -> None:
    """Start a fresh session: the old cookie contents (and any fixated id) are dropped first."""
    session.clear()
    token = accounts.start_login_session(
        db.session, user,
        lifetime=current_app.config["PERMANENT_SESSION_LIFETIME"],
        user_agent=request.headers.get("User-Agent", ""),
    )
    session.permanent = True
    session[SESSION_KEY] = token


def log_out() -> None:
    token = session.get(SESSION_KEY)
    if token:
        accounts.end_login_session(db.session, token)
    session.clear()


def home_url(user: User) -> str:
    for role, endpoint in HOME_BY_ROLE:
        if user.has_role(role):
            return url_for(endpoint)
    return url_for("auth.profile")


def _login_redirect() -> Any:
    return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))


def check_roles(*roles: Role) -> Any:
    """None when the current user may go on; otherwise the response that stops them."""
    user = current_user()
    if user is None:
        return _login_redirect()
    if roles and not user.has_role(*roles):
        abort(403)
    return None


def require_roles(blueprint: Blueprint, *roles: Role) -> None:
    """Guard every view of a blueprint: logged in, and holding one of `roles` (any role if none given)."""
    blueprint.before_request(lambda: check_roles(*roles))


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return check_roles() or view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after login (no open redirects).

    The target is judged as a browser will read it: browsers drop tabs and line breaks anywhere in a
    URL (so "/<tab>/evil.example" is "//evil.example") and treat "\\" like "/"; any control character or
    space, and anything with a scheme or host once parsed, is refused.
    """
    if not target or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in target) or "\\" in target:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
