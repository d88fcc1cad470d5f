"""The one place that maps errors to HTTP: pages for people, the JSON error shape under /api/.

No traceback ever reaches a user; unexpected exceptions are logged and answered with the 500 page.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db
from app.htmx import is_htmx
from case_types.errors import CasesError, Conflict, NotFound, ValidationFailed
from cases.errors import AuthenticationFailed, InvalidQuery, PermissionDenied, TooManyRequests

STATUS_BY_ERROR: dict[type[CasesError], int] = {
    InvalidQuery: 400,
    NotFound: 404,
    PermissionDenied: 403,
    Conflict: 409,
    ValidationFailed: 422,
    AuthenticationFailed: 401,
    TooManyRequests: 429,
}

TITLES = {
    400: "Bad request",
    401: "Please log in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Check your input",
    429: "Too many attempts",
    500: "Something went wrong",
}

MESSAGES = {
    400: "The request could not be understood.",
    401: "Log in to continue.",
    403: "You do not have permission to do this.",
    404: "There is nothing at this address. Check the link, or go back to your home page.",
    405: "This address does not accept that kind of request.",
    413: "The upload is larger than allowed.",
    429: "Too many attempts in a short time. Wait a minute and try again.",
    500: "The error has been logged. Try again; if it keeps happening, tell your administrator.",
}

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 422: "invalid", 429: "rate_limited", 500: "server_error",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, message: str, *, code: str | None = None,
               fields: dict[str, list[str]] | None = None) -> Response:
    """The API's error shape: {"error": {"code", "message", "fields"}}."""
    body: dict[str, Any] = {"code": code or CODES.get(status, "error"), "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify(error=body)
    response.status_code = status
    return response


def error_response(status: int, message: str | None = None, *, code: str | None = None,
                   fields: dict[str, list[str]] | None = None) -> Response | tuple[str, int]:
    message = message or MESSAGES.get(status, "")
    if wants_json():
        response = json_error(status, message, code=code, fields=fields)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="casework"'
        return response
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    return render_template(template, status=status, title=TITLES.get(status, "Error"), message=message), status


def _http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    # Werkzeug's stock descriptions are for developers; a description given on purpose is kept.
    custom = exc.description and exc.description != type(exc).description
    message = exc.description if custom and status in (400, 403, 409, 422) else MESSAGES.get(status, exc.description)
    response = error_response(status, message)
    if isinstance(exc, HTTPException) and exc.code == 405 and exc.valid_methods:
        response = _with_header(response, "Allow", ", ".join(exc.valid_methods))
    return response


def _with_header(response: Any, name: str, value: str) -> Any:
    if isinstance(response, tuple):
        body, status = response
        return body, status, {name: value}
    response.headers[name] = value
    return response


def _csrf_error(exc: CSRFError) -> Any:
    return error_response(
        400,
        "This form was sent without a valid security token (it may have expired). "
        "Reload the page and try again.",
        code="csrf_failed",
    )


def _domain_error(exc: CasesError) -> Any:
    db.session.rollback()
    # The first entry the error is an instance of; subclasses are listed before their bases.
    status = next((s for t, s in STATUS_BY_ERROR.items() if isinstance(exc, t)), 400)
    fields = exc.fields if isinstance(exc, ValidationFailed) else None
    return error_response(status, exc.message, code=exc.code, fields=fields)


def _unexpected(exc: Exception) -> Any:
    if isinstance(exc, HTTPException) and not isinstance(exc, InternalServerError):
        return _http_error(exc)
    db.session.rollback()
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    return error_response(500)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CasesError, _domain_error)
    app.register_error_handler(Exception, _unexpected)
