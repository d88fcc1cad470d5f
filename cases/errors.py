"""One exception tree for the cases package; app/errors.py maps each to an HTTP status."""

from __future__ import annotations


class CasesError(Exception):
    """Base of every error the case services raise on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(CasesError):
    code = "not_found"


class PermissionDenied(CasesError):
    code = "forbidden"


class Conflict(CasesError):
    """The change lost a race or no longer fits the current state (stale page, taken claim)."""

    code = "conflict"


class ValidationFailed(CasesError):
    """Input that does not fit; `fields` maps a field name to its messages."""

    code = "invalid"

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class AuthenticationFailed(CasesError):
    """Wrong credentials; the message never says which part was wrong."""

    code = "unauthorized"


class TooManyRequests(CasesError):
    """Over a rate limit or a quota (HTTP 429); the message says what to wait for or clear up."""

    code = "rate_limited"


class InvalidQuery(ValidationFailed):
    """Bad filter, sort or page parameters of a read (HTTP 400 rather than 422)."""

    code = "bad_request"
