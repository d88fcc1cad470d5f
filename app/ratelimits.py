"""Rate limits, all in one place, with one Flask-Limiter per app.

A module-level Limiter would keep the first app's storage and key prefix for every later app in the
same process; building it in the factory keeps apps (and tests) independent.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def _failed_login(response: Any) -> bool:
    """Only failed attempts count towards the login limit (a success answers 303)."""
    return getattr(response, "status_code", 200) != 303


def _login_account(*_args: Any) -> str:
    """The e-mail address a login post tries, normalised, as the key of the per-account limit."""
    return "login-account:" + (request.form.get("email") or "").strip().lower()[:254]


def _api_user_key() -> str:
    """API limits count per token holder (authentication ran before the view), not per address."""
    user = getattr(g, "api_user", None)
    return f"user:{user.id}" if user is not None else get_remote_address()


def init_rate_limits(app: Flask) -> Limiter:
    """Wrap the limited views of this app (call after the blueprints are registered)."""
    limiter = Limiter(key_func=get_remote_address, app=app, default_limits=[], headers_enabled=True)
    limits = {
        "auth.login": limiter.limit(app.config["LOGIN_RATE_LIMIT"], methods=["POST"], deduct_when=_failed_login),
        # Per account too, whatever the address: guessing one account's password from many machines.
        "auth.login#account": limiter.limit(app.config.get("LOGIN_ACCOUNT_RATE_LIMIT", "20 per hour"),
                                            key_func=_login_account, methods=["POST"], deduct_when=_failed_login),
        "auth.register": limiter.limit("20 per hour", methods=["POST"]),
        # Anonymous filing: enough for people paging through a wizard, too little for a flood.
        "public.request_form": limiter.limit(app.config.get("PUBLIC_FORM_RATE_LIMIT", "30 per minute"),
                                             methods=["POST"]),
        "api.upload": limiter.limit(app.config["UPLOAD_RATE_LIMIT"], key_func=_api_user_key, methods=["POST"]),
    }
    for name, limit in limits.items():
        endpoint = name.split("#", 1)[0]
        app.view_functions[endpoint] = limit(app.view_functions[endpoint])
    return limiter
