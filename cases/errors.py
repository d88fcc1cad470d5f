"""The errors only the case services raise, on top of the base tree in case_types.errors (CasesError,
NotFound, Conflict, ValidationFailed); app/errors.py maps each to an HTTP status."""

from __future__ import annotations

from case_types.errors import CasesError, Conflict, ValidationFailed


class CaseChanged(Conflict):
    """Someone else changed the case since the caller read it: reloading shows their change."""


class PermissionDenied(CasesError):
    code = "forbidden"


class AuthenticationFailed(CasesError):
    """Wrong credentials; the message never says which part was wrong."""

    code = "unauthorized"


class TooManyRequests(CasesError):
    """Over a rate limit or a quota (HTTP 429); the message says what to wait for or clear up."""

    code = "rate_limited"


class InvalidQuery(ValidationFailed):
    """Bad filter, sort or page parameters of a read (HTTP 400 rather than 422)."""

    code = "bad_request"
